/*
 * file.c - small kernel files.  See file.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "parse.h"
#include "trace.h"

/* The largest value tuna writes: a cgroup.subtree_control line, a uid_map. */
#define WRITE_MAX 4096

int file_read(const char *path, char *buf, size_t size)
{
	size_t used = 0;
	int fd, err = 0;

	if (size == 0)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + used, size - 1 - used);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used == size - 1) {
			char probe;

			/* Full: only fine if the file ends exactly here. */
			if (read(fd, &probe, 1) > 0)
				err = -EFBIG;
			break;
		}
	}
	close(fd);
	if (err)
		return err;
	buf[used] = '\0';
	if (used > 0 && buf[used - 1] == '\n')
		buf[--used] = '\0';
	return (int)used;
}

int file_read_u64(const char *path, uint64_t *value)
{
	char buf[64];
	int r = file_read(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	return parse_u64(buf, 0, UINT64_MAX, value) < 0 ? -EINVAL : 0;
}

int file_write(const char *path, const char *text)
{
	return traced_write_file(NULL, path, text);
}

int file_writef(const char *path, const char *fmt, ...)
{
	char text[WRITE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -E2BIG;
	return file_write(path, text);
}

int file_read_key_u64(const char *path, const char *key, uint64_t *value)
{
	char line[512];
	size_t key_len = strlen(key);
	FILE *f = fopen(path, "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + key_len;

		if (strncmp(line, key, key_len) != 0)
			continue;
		/* "key value", or /proc/PID/status's "Key:\tvalue kB" */
		if (*p == ':')
			p++;
		if (*p != ' ' && *p != '\t')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, " \t\n")] = '\0';
		r = parse_u64(p, 0, UINT64_MAX, value) < 0 ? -EINVAL : 0;
		break;
	}
	fclose(f);
	return r;
}

int path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}
