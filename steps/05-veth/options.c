/*
 * options.c - 05-veth's command line: usage(), getopt_long, and every value
 * checked before any message is sent (names, addresses, the PID).  A part
 * of the step a first reading can skip; the lesson is in veth.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tuna.h"
#include "veth.h"

#define DEFAULT_CONTAINER_IF "eth0"   /* the post's name inside */
#define HOST_IF_PREFIX "h"            /* the post's h$CPID ... */
#define PEER_IF_PREFIX "c"            /* ... and c$CPID */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " add --pid PID --host-addr CIDR --container-addr CIDR\n"
		"                [--host-if NAME] [--container-if NAME] [--gateway ADDR]\n"
		"                [--bridge NAME]\n"
		"       " PROG " del --pid PID | --host-if NAME\n"
		"       " PROG " show [--pid PID] [--json]\n"
		"Connect the network namespace of process PID to this one with a veth\n"
		"pair, over rtnetlink, as the post does with ip(8).\n"
		"\n"
		"      --pid PID             the container (its /proc/PID/ns/net)\n"
		"      --host-if NAME        the host end (default h<PID>)\n"
		"      --container-if NAME   the end inside, renamed (default eth0)\n"
		"      --host-addr CIDR      the host end's address, e.g. 172.17.0.1/16\n"
		"      --container-addr CIDR the container's, e.g. 172.17.0.2/16\n"
		"      --gateway ADDR        default route inside, e.g. 172.17.0.1\n"
		"      --bridge NAME         create or reuse bridge NAME, give it the host\n"
		"                            address, and plug the host end into it\n"
		"      --json                show as JSON\n"
		"  -x, --explain             trace each netlink message on stderr\n"
		"  -h, --help                show this help\n"
		"      --version             show the version\n"
		"\n"
		"Exit status: 0 ok, 1 the kernel refused, 2 bad usage.\n"
		"Example: " PROG " add --pid 1234 --host-addr 172.17.0.1/16 \\\n"
		"           --container-addr 172.17.0.2/16 --gateway 172.17.0.1\n");
}

static void copy_ifname(char *dst, const char *option, const char *name)
{
	int r = parse_ifname(name);

	if (r == -ERANGE)
		die_usage("%s '%s': interface names are at most %d bytes", option,
			  name, IFNAMSIZ - 1);
	if (r < 0)
		die_usage("%s '%s': not a valid interface name", option, name);
	snprintf(dst, IFNAMSIZ, "%s", name);
}

static void parse_cidr(const char *option, const char *text, struct in_addr *addr,
		       unsigned *prefix)
{
	if (parse_ipv4_cidr(text, addr, prefix) < 0)
		die_usage("%s '%s': not an IPv4 address with a prefix (e.g. 172.17.0.2/16)",
			  option, text);
}

/* Everything the user typed is checked here, before any message is sent. */
void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_PID = 256, OPT_HOST_IF, OPT_CONTAINER_IF, OPT_HOST_ADDR,
	       OPT_CONTAINER_ADDR, OPT_GATEWAY, OPT_BRIDGE, OPT_JSON, OPT_VERSION };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, OPT_PID },
		{ "host-if", required_argument, NULL, OPT_HOST_IF },
		{ "container-if", required_argument, NULL, OPT_CONTAINER_IF },
		{ "host-addr", required_argument, NULL, OPT_HOST_ADDR },
		{ "container-addr", required_argument, NULL, OPT_CONTAINER_ADDR },
		{ "gateway", required_argument, NULL, OPT_GATEWAY },
		{ "bridge", required_argument, NULL, OPT_BRIDGE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":xh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PID:
			if (parse_pid(optarg, &opt->pid) < 0)
				die_usage("--pid '%s': not a process ID", optarg);
			break;
		case OPT_HOST_IF: copy_ifname(opt->host_if, "--host-if", optarg); break;
		case OPT_CONTAINER_IF:
			copy_ifname(opt->container_if, "--container-if", optarg);
			break;
		case OPT_HOST_ADDR: opt->host_cidr = optarg; break;
		case OPT_CONTAINER_ADDR: opt->container_cidr = optarg; break;
		case OPT_GATEWAY: opt->gateway_text = optarg; break;
		case OPT_BRIDGE: opt->bridge = optarg; break;
		case OPT_JSON: opt->json = 1; break;
		case 'x': explain_enabled = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf(PROG " (tuna) " TUNA_VERSION "\n"); exit(0);
		case ':': die_usage("%s needs a value (see --help)", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		die_usage("expected one command: add, del or show (see --help)");
	opt->command = argv[optind];

	if (strcmp(opt->command, "add") == 0) {
		if (!opt->pid || !opt->host_cidr || !opt->container_cidr)
			die_usage("add needs --pid, --host-addr and --container-addr");
		parse_cidr("--host-addr", opt->host_cidr, &opt->host_addr, &opt->host_prefix);
		parse_cidr("--container-addr", opt->container_cidr, &opt->container_addr,
			   &opt->container_prefix);
		if (opt->gateway_text && parse_ipv4(opt->gateway_text, &opt->gateway) < 0)
			die_usage("--gateway '%s': not an IPv4 address", opt->gateway_text);
		if (opt->bridge)
			copy_ifname((char[IFNAMSIZ]){ 0 }, "--bridge", opt->bridge);
	} else if (strcmp(opt->command, "del") == 0) {
		if (!opt->pid == !opt->host_if[0])
			die_usage("del needs --pid PID or --host-if NAME");
	} else if (strcmp(opt->command, "show") != 0) {
		die_usage("unknown command '%s': add, del or show", opt->command);
	}
	/* The post's names: h$CPID outside, c$CPID until it becomes eth0. */
	if (!opt->host_if[0] && opt->pid)
		snprintf(opt->host_if, IFNAMSIZ, HOST_IF_PREFIX "%d", (int)opt->pid);
	snprintf(opt->peer_if, IFNAMSIZ, PEER_IF_PREFIX "%d", (int)opt->pid);
	if (!opt->container_if[0])
		snprintf(opt->container_if, IFNAMSIZ, DEFAULT_CONTAINER_IF);
}
