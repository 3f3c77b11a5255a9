/*
 * populate.c - put programs into an image with exactly the shared
 * libraries they need: what ld.so would load, and nothing else.
 *
 * The post copies its programs into bin/ and then all of /lib, /usr/lib and
 * /usr/lib64 (605M) so that they run.  A dynamically linked program says
 * itself what it needs, in its ELF headers (elf(5)):
 *
 *   PT_INTERP    the program interpreter, the dynamic loader ld.so itself
 *                (/lib64/ld-linux-x86-64.so.2)
 *   DT_NEEDED    each library by name ("libc.so.6"), in the PT_DYNAMIC
 *                segment, as offsets into its string table DT_STRTAB
 *   DT_RUNPATH   where to look first (DT_RPATH, older, when there is no
 *   DT_RPATH     RUNPATH); "$ORIGIN" is the object's own directory
 *
 * Libraries need libraries too, so the closure is followed until nothing
 * new appears.  A name is found as ld.so(8) finds it: RPATH (if no
 * RUNPATH), RUNPATH, the directories of /etc/ld.so.conf (what ldconfig
 * puts in ld.so.cache), then the default directories; the first file that
 * is an ELF of the same class and machine wins.  (LD_LIBRARY_PATH is the
 * caller's environment, not the image's, and is ignored.)  Paths are
 * copied as they are, symlinks included: /lib64/ld-linux-x86-64.so.2 is a
 * symlink here, /lib a symlink to usr/lib, and the image gets the same.
 *
 * Everything is resolved before the first byte is copied: a missing
 * library or a program that is not a 64-bit ELF changes nothing.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tuna.h"
#include "zfs-image.h"

#define MAX_FILES 1024           /* programs + libraries + symlinks to copy */
#define MAX_NEEDED 128           /* DT_NEEDED entries of one object */
#define MAX_SEARCH_DIRS 64
#define MAX_SYMLINK_HOPS 40      /* as the kernel's path walk (path_resolution(7)) */
#define COPY_BUFFER (128 * 1024)
#define LD_SO_CONF "/etc/ld.so.conf"
#define BUSYBOX "busybox"

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#define MULTIARCH "unknown-linux-gnu"
#endif

/* glibc's trusted directories on a Debian multiarch system. */
static const char *const default_dirs[] = {
	"/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/lib64", "/usr/lib64", "/lib", "/usr/lib",
};

struct elf_info {
	unsigned char class;
	uint16_t machine;
	char interp[PATH_MAX];
	char needed[MAX_NEEDED][NAME_MAX + 1];
	int nr_needed;
	char rpath[PATH_MAX];
	char runpath[PATH_MAX];
};

/* The file offset of virtual address VADDR, through the PT_LOAD segments. */
static int vaddr_to_offset(const Elf64_Phdr *ph, int n, uint64_t vaddr, uint64_t *offset)
{
	for (int i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr &&
		    vaddr < ph[i].p_vaddr + ph[i].p_filesz) {
			*offset = vaddr - ph[i].p_vaddr + ph[i].p_offset;
			return 0;
		}
	return -1;
}

/* A NUL-terminated string at OFFSET inside [0, SIZE), or NULL. */
static const char *string_at(const char *base, uint64_t size, uint64_t offset)
{
	if (offset >= size || !memchr(base + offset, '\0', size - offset))
		return NULL;
	return base + offset;
}

/*
 * Read PATH's ELF header, PT_INTERP and PT_DYNAMIC.  Returns 0, -ENOEXEC
 * (not ELF), -EPROTONOSUPPORT (not a 64-bit little-endian ELF), -EINVAL
 * (malformed) or -errno.  Every offset is checked against the file size.
 */
static int elf_read(const char *path, struct elf_info *info)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	uint64_t size, nr_dyn = 0, strtab = 0, strsz = 0, strtab_off;
	const char *base;
	struct stat st;
	int fd, r = 0;

	memset(info, 0, sizeof(*info));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)EI_NIDENT) {
		close(fd);
		return -ENOEXEC;
	}
	size = (uint64_t)st.st_size;
	base = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -errno;
	eh = (const Elf64_Ehdr *)base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) {
		r = -ENOEXEC;
		goto out;
	}
	info->class = eh->e_ident[EI_CLASS];
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		r = -EPROTONOSUPPORT;
		goto out;
	}
	if (size < sizeof(*eh) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    eh->e_phoff > size || eh->e_phnum > (size - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		r = -EINVAL;
		goto out;
	}
	info->machine = eh->e_machine;
	ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_offset > size || ph[i].p_filesz > size - ph[i].p_offset)
			continue;
		if (ph[i].p_type == PT_INTERP) {
			const char *s = string_at(base, ph[i].p_offset + ph[i].p_filesz, ph[i].p_offset);

			if (s)
				snprintf(info->interp, sizeof(info->interp), "%s", s);
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
			nr_dyn = ph[i].p_filesz / sizeof(Elf64_Dyn);
		}
	}
	/* The string table first: DT_NEEDED and friends are offsets into it. */
	for (uint64_t i = 0; i < nr_dyn && dyn[i].d_tag != DT_NULL; i++) {
		if (dyn[i].d_tag == DT_STRTAB)
			strtab = dyn[i].d_un.d_ptr;
		else if (dyn[i].d_tag == DT_STRSZ)
			strsz = dyn[i].d_un.d_val;
	}
	if (nr_dyn == 0)
		goto out; /* static: nothing more needed */
	if (vaddr_to_offset(ph, eh->e_phnum, strtab, &strtab_off) < 0 || strtab_off > size ||
	    strsz > size - strtab_off) {
		r = -EINVAL;
		goto out;
	}
	for (uint64_t i = 0; i < nr_dyn && dyn[i].d_tag != DT_NULL; i++) {
		const char *s = (dyn[i].d_tag == DT_NEEDED || dyn[i].d_tag == DT_RPATH ||
				 dyn[i].d_tag == DT_RUNPATH) ?
					string_at(base + strtab_off, strsz, dyn[i].d_un.d_val) : NULL;

		if (!s)
			continue;
		if (dyn[i].d_tag == DT_RPATH)
			snprintf(info->rpath, sizeof(info->rpath), "%s", s);
		else if (dyn[i].d_tag == DT_RUNPATH)
			snprintf(info->runpath, sizeof(info->runpath), "%s", s);
		else if (info->nr_needed < MAX_NEEDED)
			snprintf(info->needed[info->nr_needed++], NAME_MAX + 1, "%s", s);
	}
out:
	munmap((void *)base, size);
	return r;
}

/* --- where ld.so looks ---------------------------------------------------------- */

static char *conf_dirs[MAX_SEARCH_DIRS];
static int nr_conf_dirs;

static void read_ld_so_conf(const char *path, int depth);

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * "include /etc/ld.so.conf.d/ *.conf": the files matching the last
 * component, in sorted order as glob(3) gives them to ldconfig.  (Not
 * glob(3) itself: its "~user" support drags NSS into a static binary.)
 */
static void read_ld_so_conf_include(const char *pattern, int depth)
{
	char dir[PATH_MAX], path[PATH_MAX], *names[MAX_SEARCH_DIRS];
	const char *file_pattern = strrchr(pattern, '/');
	struct dirent *de;
	int n = 0;
	DIR *dp;

	if (!file_pattern)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(file_pattern - pattern), pattern);
	file_pattern++;
	if (!(dp = opendir(dir[0] ? dir : "/")))
		return;
	while ((de = readdir(dp)) && n < MAX_SEARCH_DIRS)
		if (de->d_name[0] != '.' && fnmatch(file_pattern, de->d_name, 0) == 0)
			names[n++] = strdup(de->d_name);
	closedir(dp);
	qsort(names, (size_t)n, sizeof(names[0]), compare_names);
	for (int i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < sizeof(path))
			read_ld_so_conf(path, depth + 1);
		free(names[i]);
	}
}

/* /etc/ld.so.conf: directories, and "include GLOB" lines (ldconfig(8)). */
static void read_ld_so_conf(const char *path, int depth)
{
	char line[PATH_MAX];
	FILE *f;

	if (depth > 4 || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");

		s[strcspn(s, "#\n")] = '\0';
		while (*s && strchr(" \t", s[strlen(s) - 1]))
			s[strlen(s) - 1] = '\0';
		if (strncmp(s, "include", 7) == 0 && s[7] && strchr(" \t", s[7])) {
			s += 8 + strspn(s + 8, " \t");
			read_ld_so_conf_include(s, depth);
		} else if (s[0] == '/' && nr_conf_dirs < MAX_SEARCH_DIRS) {
			conf_dirs[nr_conf_dirs++] = strdup(s);
		}
	}
	fclose(f);
}

/* Is CANDIDATE a library ld.so would take for an object of INFO's kind? */
static int library_matches(const char *candidate, const struct elf_info *info)
{
	struct elf_info lib;

	return elf_read(candidate, &lib) == 0 && lib.class == info->class &&
	       lib.machine == info->machine;
}

/* Try NAME in each directory of a ':' list; $ORIGIN is ORIGIN. */
static int search_path_list(const char *list, const char *origin, const char *name,
			    const struct elf_info *info, char *found)
{
	char copy[PATH_MAX], dir[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", list);
	for (char *save, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (strncmp(d, "$ORIGIN", 7) == 0)
			snprintf(dir, sizeof(dir), "%s%s", origin, d + 7);
		else if (strncmp(d, "${ORIGIN}", 9) == 0)
			snprintf(dir, sizeof(dir), "%s%s", origin, d + 9);
		else
			snprintf(dir, sizeof(dir), "%s", d);
		if ((size_t)snprintf(found, PATH_MAX, "%s/%s", dir, name) < PATH_MAX &&
		    library_matches(found, info))
			return 1;
	}
	return 0;
}

/* ld.so's order: RPATH (without RUNPATH), RUNPATH, ld.so.conf, defaults. */
static void find_library(const char *name, const char *needed_by, const struct elf_info *info,
			 char *found)
{
	char origin[PATH_MAX];

	snprintf(origin, sizeof(origin), "%s", needed_by);
	snprintf(origin, sizeof(origin), "%s", dirname(origin));
	if (strchr(name, '/')) {
		snprintf(found, PATH_MAX, "%s", name);
		return;
	}
	if (!info->runpath[0] && info->rpath[0] &&
	    search_path_list(info->rpath, origin, name, info, found))
		return;
	if (info->runpath[0] && search_path_list(info->runpath, origin, name, info, found))
		return;
	for (int i = 0; i < nr_conf_dirs; i++)
		if (search_path_list(conf_dirs[i], origin, name, info, found))
			return;
	for (size_t i = 0; i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++)
		if (search_path_list(default_dirs[i], origin, name, info, found))
			return;
	die("%s needs %s, which ld.so would not find either", needed_by, name);
}

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
	read_ld_so_conf(LD_SO_CONF, 0);
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
