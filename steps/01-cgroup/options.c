/*
 * options.c - 01-cgroup's command line, checked whole before anything is
 * touched: every option, every LIMIT (a size, a percentage, a count), the
 * group's name and what each command may be given.  Bad input exits 2 here
 * with one line.  A first reading can skip this file: it only turns words
 * into the numbers of struct options.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tuna.h"
#include "cgroup.h"

#define MAX_NAME_LEN 1024                /* room under PATH_MAX for the mount */
#define DEFAULT_CPU_PERIOD_US 100000ull  /* the kernel's default period */
#define MAX_CPUS 1024                    /* --cpu above 102400% is a typo */
#define MAX_CPU_QUOTA_US UINT32_MAX      /* beyond it is a typo, not a limit */

enum {
	OPT_CPU = 256, OPT_CPU_QUOTA, OPT_CPU_PERIOD, OPT_MEMORY, OPT_SWAP, OPT_PIDS,
	OPT_DEVICES, OPT_ROOT, OPT_JSON, OPT_KILL, OPT_VERSION,
};

static const char *const command_names[CMD_COUNT] = {
	"info", "create", "set", "add", "exec", "stat", "delete",
};

/* "max" is every limit's way back to unlimited, as v2 spells it. */
static int is_max(const char *arg)
{
	return strcmp(arg, "max") == 0;
}

/* One LIMITS option.  Bad input exits 2 here, before anything is touched. */
static void parse_limit_option(int opt, const char *arg, struct limits *lim)
{
	switch (opt) {
	case OPT_CPU:
		lim->has_cpu = 1;
		lim->cpu_milli_percent = 0;
		if (is_max(arg))
			lim->cpu_quota_us = LIMIT_MAX;
		else if (parse_percent(arg, &lim->cpu_milli_percent) < 0)
			die_usage("--cpu '%s': not a percentage (e.g. 20%%, 150%%, max)", arg);
		else if (lim->cpu_milli_percent == 0 ||
			 lim->cpu_milli_percent > MAX_CPUS * ONE_CPU_MILLI_PERCENT)
			die_usage("--cpu '%s': must be more than 0%% and at most %d%%", arg,
				  MAX_CPUS * 100);
		break;
	case OPT_CPU_QUOTA:
		lim->has_cpu = 1;
		if (is_max(arg))
			lim->cpu_quota_us = LIMIT_MAX;
		else if (parse_u64(arg, 1, MAX_CPU_QUOTA_US, &lim->cpu_quota_us) < 0)
			die_usage("--cpu-quota '%s': not a number of microseconds", arg);
		break;
	case OPT_CPU_PERIOD:
		if (parse_u64(arg, 1, MAX_CPU_QUOTA_US, &lim->cpu_period_us) < 0)
			die_usage("--cpu-period '%s': not a number of microseconds", arg);
		break;
	case OPT_MEMORY:
		lim->has_memory = 1;
		if (is_max(arg))
			lim->memory_bytes = LIMIT_MAX;
		else if (parse_size(arg, &lim->memory_bytes) < 0 || lim->memory_bytes == 0)
			die_usage("--memory '%s': not a size (e.g. 200M, 1G, max)", arg);
		break;
	case OPT_SWAP:
		lim->has_swap = 1;
		if (is_max(arg))
			lim->swap_bytes = LIMIT_MAX;
		else if (parse_size(arg, &lim->swap_bytes) < 0)
			die_usage("--swap '%s': not a size (e.g. 0, 100M, max)", arg);
		break;
	case OPT_PIDS:
		lim->has_pids = 1;
		if (is_max(arg))
			lim->pids = LIMIT_MAX;
		else if (parse_u64(arg, 0, PID_MAX_LIMIT, &lim->pids) < 0)
			die_usage("--pids '%s': not a number of processes (0..%d, or max)", arg,
				  PID_MAX_LIMIT);
		break;
	case OPT_DEVICES:
		lim->has_devices = 1;
		lim->devices = strcmp(arg, "default") == 0 ? DEVICES_DEFAULT :
			       strcmp(arg, "all") == 0 ? DEVICES_ALL : 0;
		if (!lim->devices)
			die_usage("--devices '%s': default (null, zero, full, random, urandom, "
				  "tty, ptmx, pts) or all", arg);
		break;
	}
}

/* After the last option: the period (--cpu's percentage of it is cgroup.c's). */
static void finish_limits(struct limits *lim)
{
	if (lim->cpu_period_us && !lim->has_cpu)
		die_usage("--cpu-period needs --cpu or --cpu-quota");
	if (!lim->cpu_period_us)
		lim->cpu_period_us = DEFAULT_CPU_PERIOD_US;
}

static int limits_given(const struct limits *lim)
{
	return lim->has_cpu || lim->has_memory || lim->has_swap || lim->has_pids ||
	       lim->has_devices;
}

/* The options, wherever they stand; the LIMITS among them are parsed above. */
static void parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
		{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "swap", required_argument, NULL, OPT_SWAP },
		{ "pids", required_argument, NULL, OPT_PIDS },
		{ "devices", required_argument, NULL, OPT_DEVICES },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "kill", no_argument, NULL, OPT_KILL },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c, percent_given = 0, quota_given = 0;

	opt->root = DEFAULT_ROOT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":xh", longopts, NULL)) != -1) {
		if (c >= OPT_CPU && c <= OPT_DEVICES) {
			percent_given |= c == OPT_CPU;
			quota_given |= c == OPT_CPU_QUOTA;
			if (percent_given && quota_given)
				die_usage("--cpu and --cpu-quota say the same thing: give one");
			parse_limit_option(c, optarg, &opt->lim);
			continue;
		}
		switch (c) {
		case OPT_ROOT:
			opt->root = optarg;
			opt->root_given = 1;
			break;
		case OPT_JSON:
			opt->json = 1;
			break;
		case OPT_KILL:
			opt->kill = 1;
			break;
		case 'x':
			explain_enabled = 1;
			break;
		case 'h':
			opt->help = 1;    /* main() prints it: --help ends the parsing */
			return;
		case OPT_VERSION:
			opt->version = 1;
			return;
		case ':':
			die_usage("option '%s' needs an argument", argv[optind - 1]);
		default:
			die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
}

/*
 * NAME is a path below each hierarchy's root, and must stay there: no
 * absolute path, no "." or "..", no empty component ("a//b", "a/").
 */
static void check_group_name(const char *name)
{
	const char *p = name;

	if (*name == '\0')
		die_usage("the group name is empty");
	/* Not printed: a newline in it would split this one-line error.  The
	 * kernel refuses '\n' in a cgroup name (cgroup_mkdir), and the other
	 * control characters would garble every listing. */
	for (p = name; *p; p++)
		if (iscntrl((unsigned char)*p))
			die_usage("the group name has a control character (a newline, a tab...)");
	p = name;
	if (*name == '/')
		die_usage("group '%s': give a path relative to the hierarchy root (e.g. lab/ctr)",
			  name);
	if (strlen(name) > MAX_NAME_LEN)
		die_usage("group '%.40s...': longer than %d bytes", name, MAX_NAME_LEN);
	for (;;) {
		size_t len = strcspn(p, "/");

		if (len == 0)
			die_usage("group '%s': empty path component", name);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			die_usage("group '%s': '.' and '..' are not group names", name);
		if (len > NAME_MAX)
			die_usage("group '%s': a component is longer than %d bytes", name, NAME_MAX);
		if (p[len] == '\0')
			return;
		p += len + 1;
	}
}

/* The command, its group and its operands; what each command may be given. */
void parse_command_line(int argc, char **argv, struct options *opt)
{
	int dashdash = 0, cmd, limits;

	parse_options(argc, argv, opt);
	if (opt->help || opt->version)
		return;
	finish_limits(&opt->lim);
	limits = limits_given(&opt->lim);
	for (int i = 1; i < argc && !dashdash; i++)
		dashdash = strcmp(argv[i], "--") == 0;
	if (optind >= argc)
		die_usage("no command given (see --help)");
	for (cmd = 0; cmd < CMD_COUNT && strcmp(argv[optind], command_names[cmd]); cmd++)
		;
	if (cmd == CMD_COUNT)
		die_usage("unknown command '%s' (see --help)", argv[optind]);
	opt->command = cmd;
	opt->args = argv + optind + 1;
	opt->nargs = argc - optind - 1;
	if (cmd != CMD_INFO) {
		if (opt->nargs < 1)
			die_usage("%s: which group? (a NAME such as lab/ctr)", command_names[cmd]);
		opt->name = opt->args[0];
		check_group_name(opt->name);
		opt->args++;
		opt->nargs--;
	}
	if (limits && cmd != CMD_CREATE && cmd != CMD_SET)
		die_usage("%s takes no limits: they go with create or set", command_names[cmd]);
	if (cmd == CMD_SET && !limits)
		die_usage("set: which limits? (--cpu, --memory, --swap, --pids, --devices)");
	if (opt->json && cmd != CMD_INFO && cmd != CMD_STAT)
		die_usage("--json goes with info or stat");
	if (opt->kill && cmd != CMD_DELETE)
		die_usage("--kill goes with delete");
	if (cmd == CMD_EXEC && (!dashdash || opt->nargs < 1))
		die_usage("exec: give the command after --: exec NAME -- CMD [ARGS]");
	if (cmd == CMD_ADD && opt->nargs < 1)
		die_usage("add: which PIDs?");
	if (cmd != CMD_EXEC && cmd != CMD_ADD && opt->nargs > 0)
		die_usage("unexpected argument '%s' (see --help)", opt->args[0]);
	for (int i = 0; cmd == CMD_ADD && i < opt->nargs; i++) {
		pid_t pid;

		if (parse_pid(opt->args[i], &pid) < 0)
			die_usage("add: '%s' is not a PID", opt->args[i]);
	}
}
