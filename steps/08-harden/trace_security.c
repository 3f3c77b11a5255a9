/*
 * trace_security.c - prctl, capset and seccomp, each tracing itself.  See
 * trace_security.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "caps.h"
#include "tuna.h"
#include "trace_security.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47                 /* Linux 4.3 */
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U  /* Linux 4.14 */
#endif

/* The room for one capability mask's names: 41 names, ~20 bytes each. */
#define CAP_NAMES_MAX 1024

static const struct flag_name prctl_names[] = {
	{ PR_CAPBSET_DROP, "PR_CAPBSET_DROP" }, { PR_SET_NO_NEW_PRIVS, "PR_SET_NO_NEW_PRIVS" },
	{ PR_CAP_AMBIENT, "PR_CAP_AMBIENT" },   { PR_CAPBSET_READ, "PR_CAPBSET_READ" },
	{ 0, NULL },
};

static const struct flag_name seccomp_flag_names[] = {
	{ SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC" },
	{ SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG" },
	{ 0, NULL },
};

static int result_of(long r, int *err)
{
	*err = r < 0 ? errno : 0;
	return r < 0 ? -*err : (int)r;
}

int traced_prctl(const char *shell, int option, unsigned long arg2, unsigned long arg3)
{
	const char *name = value_name((unsigned long)option, prctl_names);
	int err, r = result_of(prctl(option, arg2, arg3, 0, 0), &err);
	char args[64];

	if ((option == PR_CAPBSET_DROP || option == PR_CAPBSET_READ) && cap_name((unsigned)arg2))
		snprintf(args, sizeof(args), "%s", cap_name((unsigned)arg2));
	else if (option == PR_CAP_AMBIENT && arg2 == PR_CAP_AMBIENT_CLEAR_ALL)
		snprintf(args, sizeof(args), "PR_CAP_AMBIENT_CLEAR_ALL");
	else
		snprintf(args, sizeof(args), "%lu", arg2);
	if (name)
		explain_call(r, err, shell, "prctl(%s, %s)", name, args);
	else
		explain_call(r, err, shell, "prctl(%d, %s)", option, args);
	return r;
}

static uint64_t mask_of(const struct __user_cap_data_struct data[2], size_t field)
{
	const __u32 *lo = (const __u32 *)((const char *)&data[0] + field);
	const __u32 *hi = (const __u32 *)((const char *)&data[1] + field);

	return (uint64_t)*lo | (uint64_t)*hi << 32;
}

int traced_capset(const char *shell, struct __user_cap_header_struct *header,
		  struct __user_cap_data_struct data[2])
{
	uint64_t eff = mask_of(data, offsetof(struct __user_cap_data_struct, effective));
	uint64_t perm = mask_of(data, offsetof(struct __user_cap_data_struct, permitted));
	uint64_t inh = mask_of(data, offsetof(struct __user_cap_data_struct, inheritable));
	int err, r = result_of(sys_capset(header, data), &err);
	char e[CAP_NAMES_MAX], p[CAP_NAMES_MAX], i[CAP_NAMES_MAX];
	const char *version = header->version == _LINUX_CAPABILITY_VERSION_3 ?
			      "_LINUX_CAPABILITY_VERSION_3" : "?";

	cap_mask_names(e, sizeof(e), eff);
	if (eff == perm && perm == inh)
		explain_call(r, err, shell, "capset({%s, %d}, {effective=permitted=inheritable=%s})",
			     version, header->pid, e);
	else
		explain_call(r, err, shell, "capset({%s, %d}, {effective=%s, permitted=%s, "
			     "inheritable=%s})", version, header->pid, e,
			     cap_mask_names(p, sizeof(p), perm), cap_mask_names(i, sizeof(i), inh));
	return r;
}

int traced_seccomp_filter(const char *shell, unsigned flags, struct sock_fprog *prog,
			  syscall_namer name_of)
{
	char names[128];
	int err, r;

	if (explain_enabled)
		seccomp_filter_print(prog, name_of);
	r = result_of(sys_seccomp(SECCOMP_SET_MODE_FILTER, flags, prog), &err);
	explain_call(r, err, shell, "seccomp(SECCOMP_SET_MODE_FILTER, %s, {len=%u, filter=%p})",
		     flags_to_string(names, sizeof(names), flags, seccomp_flag_names),
		     (unsigned)prog->len, (void *)prog->filter);
	return r;
}

/* --- the listing ------------------------------------------------------- */

/* What the accumulator A holds after "ld [K]" (struct seccomp_data). */
enum loaded { LOADED_NOTHING, LOADED_NR, LOADED_ARCH, LOADED_ARG0_LOW, LOADED_OTHER };

static enum loaded field_at(unsigned k)
{
	return k == offsetof(struct seccomp_data, nr) ? LOADED_NR :
	       k == offsetof(struct seccomp_data, arch) ? LOADED_ARCH :
	       k == offsetof(struct seccomp_data, args[0]) ? LOADED_ARG0_LOW : LOADED_OTHER;
}

static const char *field_meaning(enum loaded f)
{
	return f == LOADED_NR ? "seccomp_data.nr (the system call's number)" :
	       f == LOADED_ARCH ? "seccomp_data.arch (the calling convention's AUDIT_ARCH_*)" :
	       f == LOADED_ARG0_LOW ? "seccomp_data.args[0], low 32 bits (clone's flags)" :
	       "a field of seccomp_data";
}

/* "ERRNO(EPERM)", "KILL_PROCESS", "ALLOW" */
static void action_meaning(char *buf, size_t size, unsigned k)
{
	unsigned action = k & SECCOMP_RET_ACTION_FULL;

	if (action == SECCOMP_RET_ALLOW)
		snprintf(buf, size, "allow the call");
	else if (action == SECCOMP_RET_KILL_PROCESS)
		snprintf(buf, size, "kill the process (SIGSYS)");
	else if (action == SECCOMP_RET_ERRNO)
		snprintf(buf, size, "fail the call with %s, never running it",
			 errno_name((int)(k & SECCOMP_RET_DATA)));
	else
		snprintf(buf, size, "action 0x%x", k);
}

/* What a constant compared with A stands for. */
static void constant_meaning(char *buf, size_t size, enum loaded f, unsigned k,
			     syscall_namer name_of)
{
	const char *name = f == LOADED_NR && name_of ? name_of(k) : NULL;

	if (f == LOADED_ARCH && k == AUDIT_ARCH_X86_64)
		snprintf(buf, size, "AUDIT_ARCH_X86_64");
	else if (f == LOADED_NR && k == 0x40000000U)
		snprintf(buf, size, "__X32_SYSCALL_BIT");
	else if (name)
		snprintf(buf, size, "%s", name);
	else if (f == LOADED_ARG0_LOW)
		trace_clone_flags(buf, size, k);
	else
		snprintf(buf, size, "%u", k);
}

void seccomp_filter_print(const struct sock_fprog *prog, syscall_namer name_of)
{
	enum loaded a = LOADED_NOTHING;

	for (unsigned pc = 0; pc < prog->len; pc++) {
		const struct sock_filter *in = &prog->filter[pc];
		char what[160], meaning[200];
		unsigned t = pc + 1 + in->jt, f = pc + 1 + in->jf;

		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			a = field_at(in->k);
			snprintf(what, sizeof(what), "ld  [%u]", in->k);
			snprintf(meaning, sizeof(meaning), "A = %s", field_meaning(a));
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K: {
			int op = BPF_OP(in->code);
			char c[160];

			constant_meaning(c, sizeof(c), a, in->k, name_of);
			snprintf(what, sizeof(what), "%s #0x%x, %u, %u",
				 op == BPF_JEQ ? "jeq" : op == BPF_JGE ? "jge" : "jset",
				 in->k, t, f);
			snprintf(meaning, sizeof(meaning), "if A %s %s goto %u else %u",
				 op == BPF_JEQ ? "==" : op == BPF_JGE ? ">=" : "has a bit of", c, t, f);
			break;
		}
		case BPF_RET | BPF_K:
			snprintf(what, sizeof(what), "ret #0x%08x", in->k);
			action_meaning(meaning, sizeof(meaning), in->k);
			break;
		default:
			snprintf(what, sizeof(what), "code 0x%04x k 0x%x", in->code, in->k);
			snprintf(meaning, sizeof(meaning), "(not decoded here)");
		}
		explain_note("# %3u: %-26s %s", pc, what, meaning);
	}
}
