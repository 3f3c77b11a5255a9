/*
 * errors.h - how every tuna step reports failure.
 *
 * One line on stderr, "NN-name: what was being done: why", then an exit
 * status a script can act on:
 *
 *   0    success
 *   1    the kernel or the system refused (die_errno, die_err, die, die_hint)
 *   2    bad usage or bad input            (die_usage)
 *   126  a command was found but could not be run   } for the steps that
 *   127  a command was not found                    } run one (02, 04, 01
 *   128+N  the command was killed by signal N       } exec), as the shell
 *
 * A known pitfall gets a second line, "hint: ...", that says what is going
 * on and what to do: die_hint() prints both.
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
#include <stdio.h>

enum {
	EXIT_REFUSED = 1,       /* the kernel or the system said no */
	EXIT_USAGE = 2,         /* the user said something we cannot do */
	EXIT_CANNOT_EXEC = 126, /* the shell's: found, but exec failed */
	EXIT_NOT_FOUND = 127,   /* the shell's: no such command */
	EXIT_SIGNAL_BASE = 128, /* the shell's: 128 + the signal's number */
};

/* A waited-for child's status as the shell reports it: its exit code, or
 * 128 + the signal that killed it.  WSTATUS is what waitpid(2) stored. */
int exit_status_from_wait(int wstatus);

/* 128 + SIG: how a tool stopped by SIG reports it, as the shell would. */
int exit_status_from_signal(int sig);

/* A failed exec's status, as the shell's: 127 for ENOENT, else 126. */
int exit_status_from_exec_error(int err);

/* The name errors start with ("07-stress"); set once at the top of main(). */
void tuna_set_prog(const char *name);

/* "prog: MESSAGE: strerror(errno)" then exit 1.  errno is saved first. */
__attribute__((noreturn, format(printf, 1, 2)))
void die_errno(const char *fmt, ...);

/* The same with an explicit errno (positive), for common/'s -errno returns. */
__attribute__((noreturn, format(printf, 2, 3)))
void die_err(int err, const char *fmt, ...);

/*
 * "prog: MESSAGE: strerror(ERR)", then "hint: HINT_TEXT", then exit 1.
 * ERR 0: no errno to name (the message says why, e.g. a netlink error
 * with the kernel's own text).  HINT_TEXT NULL: no hint line.  The one
 * way a step reports a known pitfall.
 */
__attribute__((noreturn, format(printf, 3, 4)))
void die_hint(int err, const char *hint_text, const char *fmt, ...);

/*
 * What every die*() does: the message (with strerror(ERR) when ERR is not
 * 0), the hint when HINT_TEXT is not NULL, the undo stack, exit(STATUS).
 * For a status other than 1 or 2: 127 when exec found no command.
 */
__attribute__((noreturn, format(printf, 4, 5)))
void die_status(int status, int err, const char *hint_text, const char *fmt, ...);

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
 *
 * The common cases own their data: undo_rmdir() and the others copy PATH
 * into the entry, so the caller's buffer may go away; each runs the traced
 * call (traced_rmdir ...) with "undo" as its comment.  undo_push() is for
 * anything else: FN(ARG) must find ARG still alive when it runs.
 */
typedef void (*undo_fn)(void *arg);
void undo_push(undo_fn fn, void *arg);
void undo_rmdir(const char *path);        /* rmdir(PATH) */
void undo_unlink(const char *path);       /* unlink(PATH) */
void undo_umount(const char *path);       /* umount2(PATH, MNT_DETACH) */
void undo_close(int fd);                  /* close(FD) */
/* echo VALUE > PATH: a kernel file put back as it was (VALUE < 128 bytes). */
void undo_write_file(const char *path, const char *value);
void undo_run(void);
void undo_forget(void);

/* The symbolic name of an errno ("EINVAL"), for --explain and hints. */
const char *errno_name(int err);

/* Write S to OUT with control characters escaped (\n, \t, \xNN), so a
 * line that echoes user input stays one line.  For errors and --explain. */
void put_escaped(FILE *out, const char *s);

#endif
