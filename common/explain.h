/*
 * explain.h - the -x/--explain trace.
 *
 * With --explain a step prints, on stderr, one line per kernel interaction:
 * the call with its arguments decoded (flag names, not numbers), its result,
 * and, where the blog post ran a shell command for the same thing, that
 * command as a comment:
 *
 *   unshare(CLONE_NEWNS|CLONE_NEWPID) = 0   # unshare --mount --pid
 *   write("/sys/fs/cgroup/cpu/lab/cpu.cfs_quota_us", "20000") = 0   # echo 20000 > ...
 *   unshare(CLONE_NEWPID) = -1 EPERM (Operation not permitted)
 *
 * The lines come from the calls themselves: the traced_*() wrappers of
 * trace.h and common/nl.c's netlink decoder print them from the very
 * arguments and bytes they pass to the kernel.  explain_call() is what they
 * print with; a step writes only "# ..." notes (explain_note), never a
 * second description of a call (style.md 11).
 */
#ifndef TUNA_EXPLAIN_H
#define TUNA_EXPLAIN_H

#include <stddef.h>

/* Set by a step's -x/--explain option. */
extern int explain_enabled;

/*
 * One trace line.  RESULT is what the call returned; ERR is 0 on success or
 * the positive errno on failure (then the line shows "= -1 ENAME (text)").
 * SHELL is the post's equivalent command, or NULL.  FMT describes the call.
 */
__attribute__((format(printf, 4, 5)))
void explain_call(long result, int err, const char *shell, const char *fmt, ...);

/* A free-form trace line ("# ..." notes, commands run by a step). */
__attribute__((format(printf, 1, 2)))
void explain_note(const char *fmt, ...);

/* A flag's name, for decoding bit masks. */
struct flag_name {
	unsigned long value;
	const char *name;
};

/*
 * Decode VALUE into "NAME1|NAME2|0x40" in BUF (always NUL-terminated).
 * TABLE ends with a {0, NULL} entry.  Returns BUF.  0 becomes "0".
 */
char *flags_to_string(char *buf, size_t size, unsigned long value,
		      const struct flag_name *table);

/* The name of VALUE (not a mask: one of an enumeration) in TABLE, or NULL. */
const char *value_name(unsigned long value, const struct flag_name *table);

#endif
