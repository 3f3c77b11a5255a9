/*
 * explain.c - the --explain trace.  See explain.h.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "explain.h"

/* The longest call a line shows: a decoded nf_tables rule, an argv. */
#define EXPLAIN_LINE_MAX 4096

int explain_enabled;

void explain_call(long result, int err, const char *shell, const char *fmt, ...)
{
	char call[EXPLAIN_LINE_MAX];
	va_list ap;

	if (!explain_enabled)
		return;
	va_start(ap, fmt);
	vsnprintf(call, sizeof(call), fmt, ap);
	va_end(ap);
	/* Paths and names come from the user: keep the line one line. */
	put_escaped(stderr, call);
	if (err)
		fprintf(stderr, " = -1 %s (%s)", errno_name(err), strerror(err));
	else
		fprintf(stderr, " = %ld", result);
	if (shell) {
		fputs("   # ", stderr);
		put_escaped(stderr, shell);
	}
	fputc('\n', stderr);
}

void explain_note(const char *fmt, ...)
{
	char note[EXPLAIN_LINE_MAX];
	va_list ap;

	if (!explain_enabled)
		return;
	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	put_escaped(stderr, note);
	fputc('\n', stderr);
}

char *flags_to_string(char *buf, size_t size, unsigned long value,
		      const struct flag_name *table)
{
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (value == 0) {
		snprintf(buf, size, "0");
		return buf;
	}
	for (const struct flag_name *f = table; f->name; f++) {
		if ((value & f->value) != f->value || f->value == 0)
			continue;
		used += snprintf(buf + used, used < size ? size - used : 0, "%s%s",
				 used ? "|" : "", f->name);
		value &= ~f->value;
	}
	if (value)
		used += snprintf(buf + used, used < size ? size - used : 0, "%s%#lx",
				 used ? "|" : "", value);
	if (used >= size)
		buf[size - 1] = '\0';
	return buf;
}

const char *value_name(unsigned long value, const struct flag_name *table)
{
	for (const struct flag_name *f = table; f->name; f++)
		if (f->value == value)
			return f->name;
	return NULL;
}
