/*
 * populate.c - put programs into an image with exactly the shared
 * libraries they need: what ld.so would load, and nothing else.
 *
 * The post copies its programs into bin/ and then all of /lib, /usr/lib and
 * /usr/lib64 (605M) so that they run.  A dynamically linked program says
 * itself what it needs, in its ELF headers; elf-libraries.c reads them
 * (PT_INTERP, DT_NEEDED, RUNPATH) and finds each library where ld.so(8)
 * would.  Libraries need libraries too, so the closure is followed here
 * until nothing new appears.  (LD_LIBRARY_PATH is the caller's
 * environment, not the image's, and is ignored.)  Paths are copied as they
 * are, symlinks included: /lib64/ld-linux-x86-64.so.2 is a symlink here,
 * /lib a symlink to usr/lib, and the image gets the same.
 *
 * Everything is resolved before the first byte is copied: a missing
 * library or a program that is not a 64-bit ELF changes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define MAX_FILES 1024           /* programs + libraries + symlinks to copy */
#define MAX_SYMLINK_HOPS 40      /* as the kernel's path walk (path_resolution(7)) */
#define COPY_BUFFER (128 * 1024)
#define BUSYBOX "busybox"

/* --- the closure ------------------------------------------------------------------ */

static char *copy_list[MAX_FILES];       /* paths to copy, as ld.so opens them */
static int nr_copy;
static char *elf_done[MAX_FILES];        /* real paths already read */
static int nr_elf_done;

static int in_list(char *const list[], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static void add_to_copy(const char *path)
{
	if (in_list(copy_list, nr_copy, path))
		return;
	if (nr_copy == MAX_FILES)
		die("populate: more than %d files", MAX_FILES);
	copy_list[nr_copy++] = strdup(path);
}

/* Read PATH's needs and follow them (depth first). */
static void closure_add(const char *path, const char *needed_by)
{
	char real[PATH_MAX], found[PATH_MAX];
	struct elf_info *info;
	int r;

	if (!realpath(path, real))
		die_errno("%s (needed by %s)", path, needed_by);
	if (in_list(elf_done, nr_elf_done, real))
		return;
	if (nr_elf_done == MAX_FILES)
		die("populate: more than %d files", MAX_FILES);
	elf_done[nr_elf_done++] = strdup(real);
	info = malloc(sizeof(*info));
	if (!info)
		die_errno("malloc");
	r = elf_read(real, info);
	if (r == -ENOEXEC)
		die_usage("%s is not an ELF file (a script?): copy its interpreter instead", path);
	if (r == -EPROTONOSUPPORT)
		die_usage("%s: only 64-bit little-endian ELF files are supported", path);
	if (r < 0)
		die_err(-r, "read ELF headers of %s", path);
	if (info->interp[0]) {
		add_to_copy(info->interp);
		closure_add(info->interp, real);
	}
	for (int i = 0; i < info->nr_needed; i++) {
		find_library(info->needed[i], real, info, found);
		add_to_copy(found);
		closure_add(found, real);
	}
	free(info);
}

/* --- copying ------------------------------------------------------------------------- */

static uint64_t bytes_copied;
static int files_copied;

static void copy_file(const char *src, const char *dst, mode_t mode)
{
	static char buf[COPY_BUFFER];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		die_errno("open %s", src);
	unlink(dst); /* never write through an old link */
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (out < 0)
		die_errno("create %s", dst);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die_errno("write %s", dst);
	if (n < 0)
		die_errno("read %s", src);
	if (fchmod(out, mode & 07777) < 0 || close(out) < 0)
		die_errno("close %s", dst);
	close(in);
	files_copied++;
}

/*
 * Copy host PATH to ROOT/PATH walking it one component at a time as the
 * kernel does: a symlink on the way is recreated in the image as it is,
 * then followed on the host.  So /lib64/ld-linux-x86-64.so.2 gives the
 * image lib64 -> usr/lib64, the loader's symlink, and the file it names.
 */
static void copy_keeping_symlinks(const char *root, const char *path)
{
	char rest[PATH_MAX], done[PATH_MAX] = "", host[PATH_MAX], image[PATH_MAX];
	int hops = 0;

	snprintf(rest, sizeof(rest), "%s", path);
	while (rest[0]) {
		char component[NAME_MAX + 1], target[PATH_MAX], next[PATH_MAX];
		size_t len = strcspn(rest, "/");
		struct stat st;

		snprintf(component, sizeof(component), "%.*s", (int)len, rest);
		memmove(rest, rest + len + (rest[len] == '/'), strlen(rest + len + (rest[len] == '/')) + 1);
		if (!component[0] || strcmp(component, ".") == 0)
			continue;
		if (strcmp(component, "..") == 0) {
			if (done[0])
				*strrchr(done, '/') = '\0';
			continue;
		}
		path_format(host, "%s/%s", done, component);
		path_format(image, "%s%s", root, host);
		if (lstat(host, &st) < 0)
			die_errno("lstat %s", host);
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(host, target, sizeof(target) - 1);

			if (n < 0 || ++hops > MAX_SYMLINK_HOPS)
				die_errno("readlink %s", host);
			target[n] = '\0';
			if (symlink(target, image) < 0 && errno != EEXIST)
				die_errno("symlink %s", image);
			/* Go on from the link's target, then the rest of the path. */
			path_format(next, "%s%s%s", target, rest[0] ? "/" : "", rest);
			snprintf(rest, sizeof(rest), "%s", next);
			if (target[0] == '/')
				done[0] = '\0';
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdir(image, st.st_mode & 07777) < 0 && errno != EEXIST)
				die_errno("mkdir %s", image);
			snprintf(done, sizeof(done), "%s", host);
		} else {
			copy_file(host, image, st.st_mode);
			bytes_copied += (uint64_t)st.st_size;
			explain_note("# cp %s %s (%lld bytes)", host, image, (long long)st.st_size);
			return;
		}
	}
}

static void make_dirs(const char *root)
{
	static const char *const dirs[] = { "bin", "usr", "usr/bin" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path_format(path, "%s/%s", root, dirs[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			die_errno("mkdir %s", path);
	}
}

/* A program: usr/bin/NAME, and bin/NAME as a hard link to it (the post copies both). */
static void install_program(const char *root, const char *name, const char *host_path)
{
	char real[PATH_MAX], usr_bin[PATH_MAX], bin[PATH_MAX];
	struct stat st;

	if (!realpath(host_path, real) || stat(real, &st) < 0)
		die_errno("%s", host_path);
	path_format(usr_bin, "%s/usr/bin/%s", root, name);
	path_format(bin, "%s/bin/%s", root, name);
	copy_file(real, usr_bin, st.st_mode);
	bytes_copied += (uint64_t)st.st_size;
	unlink(bin);
	if (link(usr_bin, bin) < 0)
		die_errno("link %s", bin);
	explain_note("# cp %s %s; ln %s %s (%lld bytes)", real, usr_bin, usr_bin, bin,
		     (long long)st.st_size);
}

/* busybox --list: one applet name a line; each becomes bin/NAME -> busybox. */
static void install_busybox_links(const char *root)
{
	static char out[64 * 1024];
	char link_path[PATH_MAX], err[512];
	int links = 0;

	if (run_program((char *[]){ BUSYBOX, "--list", NULL }, "busybox --install -s", out,
			sizeof(out), err, sizeof(err)) != 0)
		die("busybox --list failed");
	for (char *save, *name = strtok_r(out, "\n", &save); name;
	     name = strtok_r(NULL, "\n", &save)) {
		if (strchr(name, '/') || strcmp(name, BUSYBOX) == 0 || name[0] == '.')
			continue;
		path_format(link_path, "%s/bin/%s", root, name);
		if (symlink(BUSYBOX, link_path) == 0)
			links++;
		else if (errno != EEXIST)
			die_errno("symlink %s", link_path);
	}
	explain_note("# %d busybox applet links in %s/bin", links, root);
}

void populate(const char *root, int busybox, char *const progs[], int nprogs)
{
	char (*paths)[PATH_MAX] = calloc((size_t)nprogs + 1, PATH_MAX);
	char busybox_path[PATH_MAX];

	if (!paths)
		die_errno("calloc");
	/* 1. Find every program and its whole closure before copying anything. */
	ld_so_conf_load();
	if (busybox) {
		if (find_program(BUSYBOX, busybox_path, sizeof(busybox_path)) < 0)
			die("busybox not found (apt-get install busybox-static)");
		closure_add(busybox_path, "--busybox");
	}
	for (int i = 0; i < nprogs; i++) {
		const char *base = strrchr(progs[i], '/') ? strrchr(progs[i], '/') + 1 : progs[i];

		if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
			die_usage("--from-host '%s': not a program name", progs[i]);
		if (strchr(progs[i], '/'))
			snprintf(paths[i], PATH_MAX, "%s", progs[i]);
		else if (find_program(progs[i], paths[i], PATH_MAX) < 0)
			die_usage("--from-host %s: no such program in $PATH", progs[i]);
		closure_add(paths[i], "--from-host");
	}

	/* 2. Copy: programs into usr/bin and bin, then the libraries. */
	make_dirs(root);
	if (busybox) {
		install_program(root, BUSYBOX, busybox_path);
		install_busybox_links(root);
	}
	for (int i = 0; i < nprogs; i++) {
		const char *base = strrchr(progs[i], '/') ? strrchr(progs[i], '/') + 1 : progs[i];
		char link_path[PATH_MAX];

		path_format(link_path, "%s/bin/%s", root, base);
		unlink(link_path); /* a busybox applet link gives way to the real program */
		install_program(root, base, paths[i]);
	}
	for (int i = 0; i < nr_copy; i++)
		copy_keeping_symlinks(root, copy_list[i]);
	explain_note("# populate %s: %d files, %llu bytes (the post copied /lib and /usr/lib: 605M)",
		     root, files_copied, (unsigned long long)bytes_copied);
	free(paths);
}
