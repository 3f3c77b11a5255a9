/*
 * trace_security.h - the security calls of 08-harden, each printing its own
 * --explain line, as common/trace.h's wrappers do (style.md 11).  A sibling
 * of harden.c a first reading can skip: each is the call plus its line.
 *
 * Each returns 0 (or the call's result) or -errno, and never exits.
 */
#ifndef TUNA_TRACE_SECURITY_H
#define TUNA_TRACE_SECURITY_H

#include <linux/capability.h>
#include <linux/filter.h>

/*
 *   prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN) = 0
 *   prctl(PR_SET_NO_NEW_PRIVS, 1) = 0
 *   prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL) = 0
 */
int traced_prctl(const char *shell, int option, unsigned long arg2, unsigned long arg3);

/* capset({_LINUX_CAPABILITY_VERSION_3, 0}, {effective=..., permitted=..., inheritable=...}) */
int traced_capset(const char *shell, struct __user_cap_header_struct *header,
		  struct __user_cap_data_struct data[2]);

/*
 * seccomp(SECCOMP_SET_MODE_FILTER, 0, {len=N, filter=...}) = 0.  With
 * --explain the filter is printed first, one line per instruction, decoded
 * from the very instructions passed (seccomp_filter_print).
 */
typedef const char *(*syscall_namer)(unsigned nr);
int traced_seccomp_filter(const char *shell, unsigned flags, struct sock_fprog *prog,
			  syscall_namer name_of);

/*
 * The listing, on stderr, one instruction a line with what it means:
 *
 *    3: ld  [0]                 A = seccomp_data.nr (the system call's number)
 *    6: jeq #165, 27, 0         mount? then to 27
 *
 * NAME_OF names the numbers compared with seccomp_data.nr (NULL: numbers).
 */
void seccomp_filter_print(const struct sock_fprog *prog, syscall_namer name_of);

#endif
