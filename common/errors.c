/*
 * errors.c - die(), hint(), exit statuses and the undo stack.  See errors.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "trace.h"

/* More than any step makes in one run; a push past it is a bug in a step. */
#define UNDO_MAX 32
/* The longest value undo_write_file puts back ("-cpu -memory -pids", "0"). */
#define UNDO_VALUE_MAX 128

static const char *prog_name = "tuna";

/* An entry runs FN(ARG), or, for the kinds that own their data, the call
 * on PATH / FD kept in the entry itself. */
enum undo_kind { UNDO_FN, UNDO_RMDIR, UNDO_UNLINK, UNDO_UMOUNT, UNDO_CLOSE, UNDO_WRITE };

static struct undo_entry {
	enum undo_kind kind;
	undo_fn fn;
	void *arg;
	int fd;
	char path[PATH_MAX];
	char value[UNDO_VALUE_MAX];   /* UNDO_WRITE's */
} undo_stack[UNDO_MAX];
static int undo_depth;

void tuna_set_prog(const char *name)
{
	prog_name = name;
}

void put_escaped(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

/* "prog: MESSAGE[: strerror(ERR)]", one line whatever MESSAGE holds. */
static void vreport(const char *fmt, va_list ap, int err)
{
	char message[1024];

	vsnprintf(message, sizeof(message), fmt, ap);
	fprintf(stderr, "%s: ", prog_name);
	put_escaped(stderr, message);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

/* --- exit statuses ------------------------------------------------------ */

int exit_status_from_signal(int sig)
{
	return EXIT_SIGNAL_BASE + sig;
}

int exit_status_from_wait(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return exit_status_from_signal(WTERMSIG(wstatus));
	return WEXITSTATUS(wstatus);
}

int exit_status_from_exec_error(int err)
{
	return err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

/* --- the undo stack ----------------------------------------------------- */

static struct undo_entry *undo_new(enum undo_kind kind)
{
	struct undo_entry *e;

	if (undo_depth == UNDO_MAX) {
		fprintf(stderr, "%s: internal error: undo stack full\n", prog_name);
		abort();
	}
	e = &undo_stack[undo_depth++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->fd = -1;
	return e;
}

static void undo_path(enum undo_kind kind, const char *path)
{
	struct undo_entry *e = undo_new(kind);

	/* A path longer than PATH_MAX was never made by a syscall. */
	snprintf(e->path, sizeof(e->path), "%s", path);
}

void undo_push(undo_fn fn, void *arg)
{
	struct undo_entry *e = undo_new(UNDO_FN);

	e->fn = fn;
	e->arg = arg;
}

void undo_rmdir(const char *path)
{
	undo_path(UNDO_RMDIR, path);
}

void undo_unlink(const char *path)
{
	undo_path(UNDO_UNLINK, path);
}

void undo_umount(const char *path)
{
	undo_path(UNDO_UMOUNT, path);
}

void undo_close(int fd)
{
	undo_new(UNDO_CLOSE)->fd = fd;
}

void undo_write_file(const char *path, const char *value)
{
	struct undo_entry *e = undo_new(UNDO_WRITE);

	snprintf(e->path, sizeof(e->path), "%s", path);
	if (snprintf(e->value, sizeof(e->value), "%s", value) >= (int)sizeof(e->value)) {
		fprintf(stderr, "%s: internal error: undo value too long\n", prog_name);
		abort();
	}
}

void undo_run(void)
{
	/* Newest first: the reverse of the order things were made in. */
	while (undo_depth > 0) {
		struct undo_entry *e = &undo_stack[--undo_depth];

		switch (e->kind) {
		case UNDO_FN: e->fn(e->arg); break;
		case UNDO_RMDIR: traced_rmdir("undo", e->path); break;
		case UNDO_UNLINK: traced_unlink("undo", e->path); break;
		/* MNT_DETACH: a mount this run made may be busy with what it
		 * mounted on top of it, also being undone */
		case UNDO_UMOUNT: traced_umount2("undo", e->path, MNT_DETACH); break;
		case UNDO_CLOSE: close(e->fd); break;
		case UNDO_WRITE: traced_write_file("undo", e->path, e->value); break;
		}
	}
}

void undo_forget(void)
{
	undo_depth = 0;
}

/* --- dying -------------------------------------------------------------- */

/*
 * The one implementation of every die*(): the message (with strerror(ERR)
 * when ERR is not 0), the hint line, the undo stack, exit(STATUS).
 */
static void __attribute__((noreturn))
vdie(int status, int err, const char *hint_text, const char *fmt, va_list ap)
{
	vreport(fmt, ap, err);
	if (hint_text)
		hint("%s", hint_text);
	undo_run();
	exit(status);
}

void die_status(int status, int err, const char *hint_text, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(status, err, hint_text, fmt, ap);
	va_end(ap);   /* not reached: as glibc's err(3) */
}

void die_hint(int err, const char *hint_text, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_REFUSED, err, hint_text, fmt, ap);
	va_end(ap);   /* not reached: as glibc's err(3) */
}

void die_errno(const char *fmt, ...)
{
	int err = errno; /* before anything else can change it */
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_REFUSED, err, NULL, fmt, ap);
	va_end(ap);   /* not reached: as glibc's err(3) */
}

void die_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_REFUSED, err, NULL, fmt, ap);
	va_end(ap);   /* not reached: as glibc's err(3) */
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_REFUSED, 0, NULL, fmt, ap);
	va_end(ap);   /* not reached: as glibc's err(3) */
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(EXIT_USAGE, 0, NULL, fmt, ap);
	va_end(ap);   /* not reached: as glibc's err(3) */
}

void warn_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fputs("hint: ", stderr);
	put_escaped(stderr, message);
	fputc('\n', stderr);
}

const char *errno_name(int err)
{
	/* glibc >= 2.32; NULL for a number it does not know. */
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}
