/*
 * mountinfo.c - /proc/self/mountinfo, one mount at a time.  See mountinfo.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"
#include "trace.h"

#define MOUNTINFO "/proc/self/mountinfo"
#define FIELDS_MAX 64               /* the fixed ten, and the optional tags */

/* "\040" -> ' ': the kernel's octal escapes, undone in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Split one LINE of mountinfo in place into M.  0, or -EINVAL if it is not one. */
static int mountinfo_parse_line(char *line, struct mount_entry *m)
{
	char *field[FIELDS_MAX], *save = NULL;
	int n = 0, dash = -1;

	for (char *t = strtok_r(line, " \n", &save); t && n < FIELDS_MAX;
	     t = strtok_r(NULL, " \n", &save)) {
		/* The optional tags end at a lone "-", after the sixth field. */
		if (dash < 0 && n >= 6 && strcmp(t, "-") == 0)
			dash = n;
		field[n++] = t;
	}
	if (dash < 0 || dash + 2 >= n)
		return -EINVAL;
	for (int i = 3; i < n; i++)
		unescape_octal(field[i]);
	*m = (struct mount_entry){
		.root = field[3], .mount_point = field[4], .options = field[5],
		.fstype = field[dash + 1], .source = field[dash + 2],
		.super_options = dash + 3 < n ? field[dash + 3] : "",
	};
	return 0;
}

int mountinfo_each(const char *shell, int (*fn)(const struct mount_entry *m, void *ctx),
		   void *ctx)
{
	int fd = shell ? traced_open(shell, MOUNTINFO, O_RDONLY | O_CLOEXEC, 0) :
			 open(MOUNTINFO, O_RDONLY | O_CLOEXEC);
	char *line = NULL;
	size_t size = 0;
	int r = 0;
	FILE *f;

	if (fd < 0)
		return shell ? fd : -errno;
	f = fdopen(fd, "re");
	if (!f) {
		r = -errno;
		close(fd);
		return r;
	}
	/* getline: an overlay's super options can be longer than any fixed line. */
	while (r == 0 && getline(&line, &size, f) > 0) {
		struct mount_entry m;

		if (mountinfo_parse_line(line, &m) == 0)
			r = fn(&m, ctx);
	}
	free(line);
	fclose(f);
	return r;
}

static int names_path(const struct mount_entry *m, void *path)
{
	return strcmp(m->mount_point, path) == 0;
}

int mountinfo_has_mount_point(const char *path)
{
	return mountinfo_each(NULL, names_path, (void *)path) == 1;
}
