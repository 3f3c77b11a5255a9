/*
 * syscalls.h - one-line wrappers for system calls glibc 2.36 does not wrap.
 *
 * Each returns what syscall(2) returns: -1 with errno set on failure.
 */
#ifndef TUNA_SYSCALLS_H
#define TUNA_SYSCALLS_H

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* pivot_root(2): "glibc does not provide a wrapper for this system call" */
static inline int sys_pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }

/* pidfd_open(2) and pidfd_send_signal(2): signal a process without PID reuse races */
static inline int sys_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static inline int sys_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags); }

#endif
