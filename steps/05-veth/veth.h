/*
 * veth.h - what veth.c shares with its siblings, options.c (the command
 * line, checked before any message is sent) and show.c (`show`).  Both
 * are parts of the step a first reading can skip.
 */
#ifndef VETH_H
#define VETH_H

#include <linux/if.h>
#include <netinet/in.h>
#include <sys/types.h>

#include "nl.h"

#define PROG "05-veth"

/* The command line, every value checked (options.c). */
struct options {
	const char *command;
	pid_t pid;
	char host_if[IFNAMSIZ], peer_if[IFNAMSIZ], container_if[IFNAMSIZ];
	const char *host_cidr, *container_cidr, *gateway_text, *bridge;
	struct in_addr host_addr, container_addr, gateway;
	unsigned host_prefix, container_prefix;
	int json;
};

/* Parse and check ARGV into OPT, or die_usage(): nothing is sent before. */
void parse_options(int argc, char **argv, struct options *opt);

/* Print the links and IPv4 addresses of NL's network namespace (or JSON). */
void veth_show(struct nl_socket *nl, int json);

#endif
