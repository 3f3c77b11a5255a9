/*
 * explain.c - the --explain trace.  See explain.h.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "explain.h"

int explain_enabled;

void explain_call(long result, int err, const char *shell, const char *fmt, ...)
{
	va_list ap;

	if (!explain_enabled)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, " = -1 %s (%s)", errno_name(err), strerror(err));
	else
		fprintf(stderr, " = %ld", result);
	if (shell)
		fprintf(stderr, "   # %s", shell);
	fputc('\n', stderr);
}

void explain_note(const char *fmt, ...)
{
	va_list ap;

	if (!explain_enabled)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
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
