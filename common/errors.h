/*
 * errors.h - how every tuna step reports failure.
 *
 * One line on stderr, "NN-name: what was being done: why", then an exit
 * status a script can act on:
 *
 *   0  success
 *   1  the kernel or the system refused (die_errno, die_err, die)
 *   2  bad usage or bad input            (die_usage)
 *
 * A known pitfall gets a second line, "hint: ...", that says what is going
 * on and what to do.
 *
 * Steps die; common/ never does.  common/ returns -errno and the step decides
 * what to say.  Before exiting, die*() runs the undo stack (undo_push) in
 * reverse order, so a step that fails half-way removes what this run
 * created: the one unwind path the style guide asks for, written where the
 * thing is made.
 */
#ifndef TUNA_ERRORS_H
#define TUNA_ERRORS_H

#include <stdarg.h>

enum {
	EXIT_REFUSED = 1, /* the kernel or the system said no */
	EXIT_USAGE = 2,   /* the user said something we cannot do */
};

/* The name errors start with ("07-stress"); set once at the top of main(). */
void tuna_set_prog(const char *name);
const char *tuna_prog(void);

/* "prog: MESSAGE: strerror(errno)" then exit 1.  errno is saved first. */
__attribute__((noreturn, format(printf, 1, 2)))
void die_errno(const char *fmt, ...);

/* The same with an explicit errno (positive), for common/'s -errno returns. */
__attribute__((noreturn, format(printf, 2, 3)))
void die_err(int err, const char *fmt, ...);

/* "prog: MESSAGE" then exit 1: a refusal with no errno to name. */
__attribute__((noreturn, format(printf, 1, 2)))
void die(const char *fmt, ...);

/* "prog: MESSAGE" then exit 2: bad usage or bad input. */
__attribute__((noreturn, format(printf, 1, 2)))
void die_usage(const char *fmt, ...);

/* "prog: MESSAGE" and carry on. */
__attribute__((format(printf, 1, 2)))
void warn_msg(const char *fmt, ...);

/* "hint: MESSAGE": the second line for a known pitfall. */
__attribute__((format(printf, 1, 2)))
void hint(const char *fmt, ...);

/*
 * The undo stack.  After making something the run must not leave behind
 * when it fails later (a veth, a cgroup, a mount), push how to remove it.
 * die*() pops and runs every entry, newest first.  On success, call
 * undo_forget() so the things made are kept.
 */
typedef void (*undo_fn)(void *arg);
void undo_push(undo_fn fn, void *arg);
void undo_run(void);
void undo_forget(void);

/* The symbolic name of an errno ("EINVAL"), for --explain and hints. */
const char *errno_name(int err);

#endif
