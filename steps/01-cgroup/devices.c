/*
 * devices.c - --devices default|all: which device nodes a group's
 * processes may open or make (mknod), v1 and v2.
 *
 * A container root may mknod any device (CAP_MKNOD is among Docker's
 * default capabilities) and open it: a block node of the host's disk reads
 * the host's file systems below every mount and permission.  The device
 * controller is what stops it: open(2) and mknod(2) ask it first
 * (devcgroup_check_permission) and fail with EPERM.
 *
 * v1 has files: "a" into devices.deny takes everything away, then each
 * allowed node goes into devices.allow as "TYPE MAJOR:MINOR ACCESS"
 * (admin-guide/cgroup-v1/devices.rst).  v2 has no file for it: the policy
 * is a program of type BPF_PROG_TYPE_CGROUP_DEVICE that the kernel runs at
 * each access with {access_type, major, minor} and that returns 1 (allow)
 * or 0 (EPERM); bpf(BPF_PROG_LOAD) loads it, bpf(BPF_PROG_ATTACH) attaches
 * it to the group's directory (admin-guide/cgroup-v2.rst, "Device
 * controller").  runc writes the same program from the same list.
 *
 * The default list is runc's (libcontainer/specconv AllowedDevices),
 * without its "c *:* m" and "b *:* m" that let any node be made (though not
 * opened): here mknod of anything else fails too.
 *
 * Syscalls: write(2) to devices.allow/deny, bpf(2) (raw: glibc has no
 * wrapper).  Man page: bpf(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tuna.h"
#include "cgroup.h"

#define ANY_MINOR -1
#define PROG_NAME "tuna_devices"     /* bpftool cgroup list shows it */
#define PROG_LICENSE "GPL"
#define VERIFIER_LOG_SIZE 4096
#define MAX_ATTACHED 8
#define INSNS_MAX 64

/* runc's default: what every program expects in /dev, all rwm. */
static const struct allowed_device {
	char type;             /* 'c' character, 'b' block */
	unsigned major;
	int minor;             /* ANY_MINOR: every minor */
	const char *what;
} default_devices[] = {
	{ 'c', 1, 3, "null" },      { 'c', 1, 5, "zero" },     { 'c', 1, 7, "full" },
	{ 'c', 1, 8, "random" },    { 'c', 1, 9, "urandom" },  { 'c', 5, 0, "tty" },
	{ 'c', 5, 2, "ptmx" },      { 'c', 136, ANY_MINOR, "pts/*" },
};
#define DEFAULT_COUNT (sizeof(default_devices) / sizeof(default_devices[0]))

/* --- bpf(2), traced ------------------------------------------------------ */

static const struct flag_name bpf_cmd_names[] = {
	{ BPF_PROG_LOAD, "BPF_PROG_LOAD" },     { BPF_PROG_ATTACH, "BPF_PROG_ATTACH" },
	{ BPF_PROG_DETACH, "BPF_PROG_DETACH" }, { BPF_PROG_QUERY, "BPF_PROG_QUERY" },
	{ BPF_PROG_GET_FD_BY_ID, "BPF_PROG_GET_FD_BY_ID" },
	{ BPF_OBJ_GET_INFO_BY_FD, "BPF_OBJ_GET_INFO_BY_FD" }, { 0, NULL },
};

/* bpf(CMD, ATTR): the descriptor or 0, or -errno; the line shows what the
 * attr holds for CMD, from the attr itself. */
static int traced_bpf(const char *shell, int cmd, union bpf_attr *attr)
{
	char args[PATH_MAX + 128], fd1[PATH_MAX], fd2[64];
	int r = sys_bpf(cmd, attr, sizeof(*attr)), err = r < 0 ? errno : 0;

	if (cmd == BPF_PROG_LOAD)
		snprintf(args, sizeof(args), "{prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=%u, "
			 "license=\"%s\", prog_name=\"%s\"}", attr->insn_cnt,
			 (const char *)(uintptr_t)attr->license, attr->prog_name);
	else if (cmd == BPF_PROG_ATTACH || cmd == BPF_PROG_DETACH)
		snprintf(args, sizeof(args), "{target_fd=%s, attach_bpf_fd=%s, "
			 "attach_type=BPF_CGROUP_DEVICE}",
			 trace_fd(fd1, sizeof(fd1), (int)attr->target_fd),
			 trace_fd(fd2, sizeof(fd2), (int)attr->attach_bpf_fd));
	else if (cmd == BPF_PROG_QUERY)
		snprintf(args, sizeof(args), "{target_fd=%s, attach_type=BPF_CGROUP_DEVICE, "
			 "prog_cnt=%u}", trace_fd(fd1, sizeof(fd1), (int)attr->query.target_fd),
			 attr->query.prog_cnt);
	else if (cmd == BPF_PROG_GET_FD_BY_ID)
		snprintf(args, sizeof(args), "{prog_id=%u}", attr->prog_id);
	else
		snprintf(args, sizeof(args), "{...}");
	explain_call(r, err, shell, "bpf(%s, %s)", value_name((unsigned long)cmd, bpf_cmd_names),
		     args);
	return r < 0 ? -err : r;
}

/* --- the program ----------------------------------------------------------- */

static struct bpf_insn insn(__u8 code, __u8 dst, __s16 off, __s32 imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = 0, .off = off,
				  .imm = imm };
}

/* rDST = *(u32 *)(r1 + OFF): a field of struct bpf_cgroup_dev_ctx */
static struct bpf_insn load_ctx_field(__u8 dst, __s16 off)
{
	return (struct bpf_insn){ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = dst,
				  .src_reg = BPF_REG_1, .off = off, .imm = 0 };
}

/*
 * The program, one rule after another, as runc's devicefilter writes it:
 *
 *   r2 = ctx->access_type & 0xffff      the device's type (char or block)
 *   r3 = ctx->major;  r4 = ctx->minor
 *   per rule: if r2 != TYPE skip the rule; if r3 != MAJOR skip it;
 *             if r4 != MINOR skip it (not for the pts, any minor); r0 = 1; exit
 *   r0 = 0; exit                        nothing matched: EPERM
 */
static size_t build_device_program(struct bpf_insn *p)
{
	size_t n = 0;

	p[n++] = load_ctx_field(BPF_REG_2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	p[n++] = insn(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0xffff);
	p[n++] = load_ctx_field(BPF_REG_3, offsetof(struct bpf_cgroup_dev_ctx, major));
	p[n++] = load_ctx_field(BPF_REG_4, offsetof(struct bpf_cgroup_dev_ctx, minor));
	for (size_t i = 0; i < DEFAULT_COUNT; i++) {
		const struct allowed_device *d = &default_devices[i];
		__s16 rest = d->minor == ANY_MINOR ? 3 : 4;   /* what follows the type test */

		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, rest,
			      d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, (__s16)(rest - 1),
			      (__s32)d->major);
		if (d->minor != ANY_MINOR)
			p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 2, d->minor);
		p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 1);
		p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0);
	}
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0);
	return n;
}

/* With --explain, the program as the kernel gets it, one line each. */
static void print_device_program(const struct bpf_insn *p, size_t n)
{
	static const char *const field[] = { "access_type", "major", "minor" };

	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *in = &p[pc];

		switch (in->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			explain_note("# %2zu: r%d = *(u32 *)(r1 + %d)      ctx->%s", pc, in->dst_reg,
				     in->off, field[in->off / 4 % 3]);
			break;
		case BPF_ALU64 | BPF_AND | BPF_K:
			explain_note("# %2zu: r%d &= 0x%x               the type: 1 block, 2 char",
				     pc, in->dst_reg, (unsigned)in->imm);
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			explain_note("# %2zu: if r%d != %-4d goto %-3zu   %s differs: the next rule", pc,
				     in->dst_reg, in->imm, pc + 1 + (size_t)in->off,
				     in->dst_reg == BPF_REG_2 ? "the type" :
				     in->dst_reg == BPF_REG_3 ? "the major" : "the minor");
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			explain_note("# %2zu: r0 = %d                   %s", pc, in->imm,
				     in->imm ? "allow" : "deny: the access fails with EPERM");
			break;
		case BPF_JMP | BPF_EXIT:
			explain_note("# %2zu: exit", pc);
			break;
		}
	}
}

/* The group's directory in the v2 hierarchy, opened for bpf(2). */
static int open_group_dir(const struct layout *l, int hier, const char *name)
{
	char dir[PATH_MAX];
	int fd;

	group_dir(l, hier, name, dir);
	if ((fd = traced_open(NULL, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)) < 0)
		die_err(-fd, "open %s", dir);
	return fd;
}

/* The IDs of the device programs attached to DIR_FD: how many. */
static unsigned attached_programs(int dir_fd, __u32 *ids)
{
	union bpf_attr attr;
	int r;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (__u32)dir_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (__u64)(uintptr_t)ids;
	attr.query.prog_cnt = MAX_ATTACHED;
	if ((r = traced_bpf(NULL, BPF_PROG_QUERY, &attr)) < 0)
		die_hint(-r, r == -EINVAL ? "this kernel has no cgroup BPF "
			 "(CONFIG_CGROUP_BPF)" : NULL, "bpf BPF_PROG_QUERY");
	return attr.query.prog_cnt;
}

/* Detach every device program from DIR_FD (the kernel frees it after). */
static void detach_programs(int dir_fd)
{
	__u32 ids[MAX_ATTACHED];
	unsigned n = attached_programs(dir_fd, ids);
	union bpf_attr attr;
	int r, prog_fd;

	for (unsigned i = 0; i < n && i < MAX_ATTACHED; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = ids[i];
		if ((prog_fd = traced_bpf(NULL, BPF_PROG_GET_FD_BY_ID, &attr)) < 0)
			die_err(-prog_fd, "bpf BPF_PROG_GET_FD_BY_ID %u", ids[i]);
		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (__u32)dir_fd;
		attr.attach_bpf_fd = (__u32)prog_fd;
		attr.attach_type = BPF_CGROUP_DEVICE;
		r = traced_bpf(NULL, BPF_PROG_DETACH, &attr);
		close(prog_fd);
		if (r < 0)
			die_err(-r, "bpf BPF_PROG_DETACH");
	}
}

/* v2: load the program and attach it, replacing one attached before. */
static void attach_default_program(const struct layout *l, int hier, const char *name)
{
	struct bpf_insn program[INSNS_MAX];
	char log[VERIFIER_LOG_SIZE] = "";
	size_t n = build_device_program(program);
	union bpf_attr attr;
	int prog_fd, dir_fd, r;

	print_device_program(program, n);
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (__u64)(uintptr_t)program;
	attr.insn_cnt = (__u32)n;
	attr.license = (__u64)(uintptr_t)PROG_LICENSE;
	attr.log_buf = (__u64)(uintptr_t)log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", PROG_NAME);
	if ((prog_fd = traced_bpf(NULL, BPF_PROG_LOAD, &attr)) < 0)
		die_hint(-prog_fd, prog_fd == -EPERM ? "loading a BPF program needs root "
			 "(CAP_BPF and CAP_SYS_ADMIN)" : log[0] ? log : NULL, "bpf BPF_PROG_LOAD");
	dir_fd = open_group_dir(l, hier, name);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (__u32)dir_fd;
	attr.attach_bpf_fd = (__u32)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	r = traced_bpf("bpftool cgroup attach DIR device id ...", BPF_PROG_ATTACH, &attr);
	close(prog_fd);   /* the attachment holds the program now */
	close(dir_fd);
	if (r < 0)
		die_hint(-r, r == -EINVAL ? "only a cgroup2 directory takes a device program" :
			 NULL, "bpf BPF_PROG_ATTACH to %s", name);
}

/* v1: deny everything, then allow the list ("a" is all; devices.rst). */
static void write_v1_policy(const struct layout *l, int hier, const char *name, int policy)
{
	char path[PATH_MAX], rule[32];
	int r;

	group_file(l, hier, name, policy == DEVICES_ALL ? "devices.allow" : "devices.deny", path);
	if ((r = traced_write_file(NULL, path, "a")) < 0)
		die_err(-r, "write a to %s", path);
	if (policy == DEVICES_ALL)
		return;
	group_file(l, hier, name, "devices.allow", path);
	for (size_t i = 0; i < DEFAULT_COUNT; i++) {
		const struct allowed_device *d = &default_devices[i];

		if (d->minor == ANY_MINOR)
			snprintf(rule, sizeof(rule), "%c %u:* rwm", d->type, d->major);
		else
			snprintf(rule, sizeof(rule), "%c %u:%d rwm", d->type, d->major, d->minor);
		if ((r = traced_write_file(NULL, path, rule)) < 0)
			die_hint(-r, r == -EPERM ? "a v1 group may not allow more than its parent "
				 "does (devices.list of the parent)" : NULL,
				 "write %s to %s", rule, path);
	}
}

void devices_apply(const struct layout *l, const char *name, int policy)
{
	int hier = l->where[CTRL_DEVICES];

	if (l->h[hier].version == 1) {
		write_v1_policy(l, hier, name, policy);
		return;
	}
	if (l->plain_directory)
		die_hint(0, "a device program attaches to a real cgroup2 directory",
			 "--devices: %s is a plain directory", l->root);
	if (policy == DEVICES_DEFAULT) {
		attach_default_program(l, hier, name);
	} else {
		int dir_fd = open_group_dir(l, hier, name);

		detach_programs(dir_fd);  /* no program: every device, as for the parent */
		close(dir_fd);
	}
}

void devices_detach(const struct layout *l, const char *name)
{
	int hier = l->where[CTRL_DEVICES], dir_fd;
	char dir[PATH_MAX];

	if (hier < 0 || l->h[hier].version != 2 || l->plain_directory)
		return;
	group_dir(l, hier, name, dir);
	if (!path_exists(dir))
		return;
	dir_fd = open_group_dir(l, hier, name);
	detach_programs(dir_fd);
	close(dir_fd);
}

/* What stat shows: "default", "all", "custom", or a v2 program's name. */
const char *devices_policy(const struct layout *l, const char *name, char *buf, size_t size)
{
	int hier = l->where[CTRL_DEVICES];
	char path[PATH_MAX], list[1024];
	__u32 ids[MAX_ATTACHED];
	struct bpf_prog_info info;
	union bpf_attr attr;
	int dir_fd, prog_fd;
	unsigned n;

	if (hier < 0 || l->plain_directory)
		return "-";
	if (l->h[hier].version == 1) {
		group_file(l, hier, name, "devices.list", path);
		if (file_read(path, list, sizeof(list)) < 0)
			return "-";
		snprintf(buf, size, "%s", strcmp(list, "a *:* rwm") == 0 ? "all" :
			 strncmp(list, "c 1:3 rwm\n", 10) == 0 ? "default" : "custom");
		return buf;
	}
	dir_fd = open_group_dir(l, hier, name);
	n = attached_programs(dir_fd, ids);
	close(dir_fd);
	if (n == 0)
		return "all";
	memset(&attr, 0, sizeof(attr));
	attr.prog_id = ids[0];
	if ((prog_fd = traced_bpf(NULL, BPF_PROG_GET_FD_BY_ID, &attr)) < 0)
		die_err(-prog_fd, "bpf BPF_PROG_GET_FD_BY_ID %u", ids[0]);
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (__u32)prog_fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (__u64)(uintptr_t)&info;
	if (traced_bpf(NULL, BPF_OBJ_GET_INFO_BY_FD, &attr) < 0)
		info.name[0] = '\0';
	close(prog_fd);
	snprintf(buf, size, "%s (bpf program id %u%s%s)", strcmp(info.name, PROG_NAME) == 0 ?
		 "default" : "custom", ids[0], info.name[0] ? ", " : "", info.name);
	return buf;
}
