/*
 * elf-libraries.c - what a program needs, read from its own ELF headers,
 * and where ld.so(8) would find each library: the half of `image populate`
 * that reads (populate.c copies).
 *
 * A dynamically linked program says itself what it needs (elf(5)):
 *
 *   PT_INTERP    the program interpreter, the dynamic loader ld.so itself
 *   DT_NEEDED    each library by name ("libc.so.6"), in the PT_DYNAMIC
 *                segment, as offsets into its string table DT_STRTAB
 *   DT_RUNPATH   where to look first (DT_RPATH, older, when there is no
 *   DT_RPATH     RUNPATH); "$ORIGIN" is the object's own directory
 *
 * A name is found as ld.so finds it: RPATH (if no RUNPATH), RUNPATH, the
 * directories of /etc/ld.so.conf (what ldconfig puts in ld.so.cache), then
 * the default directories; the first file that is an ELF of the same class
 * and machine wins.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
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

#define MAX_SEARCH_DIRS 64
#define LD_SO_CONF "/etc/ld.so.conf"

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
int elf_read(const char *path, struct elf_info *info)
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
void find_library(const char *name, const char *needed_by, const struct elf_info *info,
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

void ld_so_conf_load(void)
{
	read_ld_so_conf(LD_SO_CONF, 0);
}
