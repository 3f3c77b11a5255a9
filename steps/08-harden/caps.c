/*
 * caps.c - capability names and the --caps parser.  See caps.h.
 *
 * The numbers are <linux/capability.h>'s; the names capabilities(7)'s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "caps.h"

/* The longest name (CAP_CHECKPOINT_RESTORE) and then some: a longer item
 * cannot be a name, and is shown cut. */
#define CAP_NAME_MAX 32

static const char *const cap_names[CAP_TABLE_LAST + 1] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

/*
 * Docker's default fourteen, in the order moby lists them
 * (oci/caps/defaults.go); runc's example spec (`runc spec`) keeps only
 * three of them (AUDIT_WRITE, KILL, NET_BIND_SERVICE).
 */
static const char *const docker_default[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
};

const char *cap_name(unsigned cap)
{
	return cap <= CAP_TABLE_LAST ? cap_names[cap] : NULL;
}

/* The number of NAME ("sys_admin" or "CAP_SYS_ADMIN"), or -1. */
static int cap_number(const char *name)
{
	const char *bare = strncasecmp(name, "CAP_", 4) == 0 ? name + 4 : name;

	for (unsigned i = 0; i <= CAP_TABLE_LAST; i++)
		if (strcasecmp(bare, cap_names[i] + 4) == 0)
			return (int)i;
	return -1;
}

uint64_t cap_docker_default(void)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < sizeof(docker_default) / sizeof(docker_default[0]); i++)
		mask |= UINT64_C(1) << cap_number(docker_default[i]);
	return mask;
}

int cap_parse_list(const char *text, uint64_t *mask, char *bad, size_t bad_size)
{
	const char *p = text;
	uint64_t m = 0;

	if (bad_size)
		bad[0] = '\0';
	if (strcmp(text, "default") == 0) {
		*mask = cap_docker_default();
		return 0;
	}
	if (strcmp(text, "none") == 0) {
		*mask = 0;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		char item[CAP_NAME_MAX + 1];
		int cap = -1;

		if (len > 0 && len <= CAP_NAME_MAX) {
			memcpy(item, p, len);
			item[len] = '\0';
			cap = cap_number(item);
		}
		if (cap < 0) {
			if (bad_size)
				snprintf(bad, bad_size, "%.*s", (int)(len < CAP_NAME_MAX ? len :
								       CAP_NAME_MAX), p);
			return -EINVAL;
		}
		m |= UINT64_C(1) << cap;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*mask = m;
	return 0;
}

char *cap_mask_names(char *buf, size_t size, uint64_t mask)
{
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (mask == 0)
		snprintf(buf, size, "0");
	for (unsigned i = 0; i < 64 && used < size; i++) {
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		if (i <= CAP_TABLE_LAST)
			used += (size_t)snprintf(buf + used, size - used, "%s%s",
						 used ? "|" : "", cap_names[i]);
		else
			used += (size_t)snprintf(buf + used, size - used, "%s%u",
						 used ? "|" : "", i);
	}
	return buf;
}
