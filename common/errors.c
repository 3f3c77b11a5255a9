/*
 * errors.c - die(), hint() and the undo stack.  See errors.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

/* More than any step makes in one run; a push past it is a bug in a step. */
#define UNDO_MAX 32

static const char *prog_name = "tuna";

static struct {
	undo_fn fn;
	void *arg;
} undo_stack[UNDO_MAX];
static int undo_depth;

void tuna_set_prog(const char *name)
{
	prog_name = name;
}

const char *tuna_prog(void)
{
	return prog_name;
}

/*
 * Write S to stderr with control characters escaped ("\n" as \n, others as
 * \xNN): a message that echoes user input must still be one line.
 */
static void put_escaped(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", stderr);
		else if (*p == '\t')
			fputs("\\t", stderr);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
}

static void vreport(const char *fmt, va_list ap, int err)
{
	char message[1024];

	vsnprintf(message, sizeof(message), fmt, ap);
	fprintf(stderr, "%s: ", prog_name);
	put_escaped(message);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
}

void undo_push(undo_fn fn, void *arg)
{
	if (undo_depth == UNDO_MAX) {
		fprintf(stderr, "%s: internal error: undo stack full\n", prog_name);
		abort();
	}
	undo_stack[undo_depth].fn = fn;
	undo_stack[undo_depth].arg = arg;
	undo_depth++;
}

void undo_run(void)
{
	/* Newest first: the reverse of the order things were made in. */
	while (undo_depth > 0) {
		undo_depth--;
		undo_stack[undo_depth].fn(undo_stack[undo_depth].arg);
	}
}

void undo_forget(void)
{
	undo_depth = 0;
}

void die_errno(const char *fmt, ...)
{
	int err = errno; /* before anything else can change it */
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, err);
	va_end(ap);
	undo_run();
	exit(EXIT_REFUSED);
}

void die_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, err);
	va_end(ap);
	undo_run();
	exit(EXIT_REFUSED);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
	undo_run();
	exit(EXIT_REFUSED);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
	undo_run();
	exit(EXIT_USAGE);
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
	va_list ap;

	fputs("hint: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *errno_name(int err)
{
	/* glibc >= 2.32; NULL for a number it does not know. */
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}
