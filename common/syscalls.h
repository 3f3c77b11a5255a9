/*
 * syscalls.h - one-line wrappers for system calls glibc 2.36 does not wrap.
 *
 * Each returns what syscall(2) returns: -1 with errno set on failure.
 */
#ifndef TUNA_SYSCALLS_H
#define TUNA_SYSCALLS_H

#include <linux/capability.h> /* cap_user_header_t, cap_user_data_t */
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* pivot_root(2): "glibc does not provide a wrapper for this system call" */
static inline int sys_pivot_root(const char *new_root, const char *put_old) { return (int)syscall(SYS_pivot_root, new_root, put_old); }

/* pidfd_open(2) and pidfd_send_signal(2): signal a process without PID reuse races */
static inline int sys_pidfd_open(pid_t pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static inline int sys_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags); }

/* capset(2): "glibc does not provide a wrapper"; libcap's cap_set_proc() is the library way */
static inline int sys_capset(cap_user_header_t header, const cap_user_data_t data) { return (int)syscall(SYS_capset, header, data); }

/* seccomp(2): glibc 2.36 has no wrapper (prctl(PR_SET_SECCOMP) is the older way, without flags) */
static inline int sys_seccomp(unsigned int operation, unsigned int flags, void *args) { return (int)syscall(SYS_seccomp, operation, flags, args); }

/* bpf(2): "glibc does not provide a wrapper" (libbpf is the library way) */
static inline int sys_bpf(int cmd, void *attr, unsigned int size) { return (int)syscall(SYS_bpf, cmd, attr, size); }

/* keyctl(2) and init_module(2): libkeyutils and kmod wrap them; 08-harden only knocks */
static inline long sys_keyctl(int operation, unsigned long arg2, unsigned long arg3) { return syscall(SYS_keyctl, operation, arg2, arg3, 0, 0); }
static inline int sys_init_module(void *image, unsigned long len, const char *params) { return (int)syscall(SYS_init_module, image, len, params); }

#endif
