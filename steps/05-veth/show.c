/*
 * show.c - 05-veth show: the links of one network namespace, with their
 * kind, state, bridge and IPv4 addresses, like `ip -br addr`.
 *
 * Two dumps (NLM_F_DUMP): RTM_GETLINK for the links, RTM_GETADDR for the
 * addresses; the kernel answers each with a series of RTM_NEWLINK /
 * RTM_NEWADDR messages and NLMSG_DONE.  A part of the step you can skip:
 * it reads what veth.c made.  Man page: rtnetlink(7).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"
#include "tuna.h"
#include "veth.h"

#define SHOW_MAX_LINKS 256    /* more is not a lesson */
#define SHOW_MAX_ADDRS 512

struct link_row { int index, master; unsigned flags; char name[IFNAMSIZ], kind[16]; };
struct addr_row { int index; unsigned prefix; struct in_addr addr; };
struct table {
	struct link_row links[SHOW_MAX_LINKS];
	struct addr_row addrs[SHOW_MAX_ADDRS];
	int nr_links, nr_addrs;
};

static int show_link_reply(const struct nlmsghdr *msg, void *arg)
{
	struct table *t = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(msg);
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	struct link_row *row;

	if (msg->nlmsg_type != RTM_NEWLINK || t->nr_links == SHOW_MAX_LINKS ||
	    nl_parse_msg(msg, sizeof(*ifi), tb, IFLA_MAX) < 0)
		return 0;
	row = &t->links[t->nr_links++];
	row->index = ifi->ifi_index;
	row->flags = ifi->ifi_flags;
	row->master = (int)nl_attr_u32(tb[IFLA_MASTER]);
	snprintf(row->name, sizeof(row->name), "%s", nl_attr_string(tb[IFLA_IFNAME]));
	row->kind[0] = '\0';
	if (tb[IFLA_LINKINFO] && nl_parse_nest(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX) == 0)
		snprintf(row->kind, sizeof(row->kind), "%s",
			 nl_attr_string(info[IFLA_INFO_KIND]));
	return 0;
}

static int show_addr_reply(const struct nlmsghdr *msg, void *arg)
{
	struct table *t = arg;
	const struct ifaddrmsg *ifa = NLMSG_DATA(msg);
	const struct nlattr *tb[IFA_MAX + 1];
	struct addr_row *row;

	if (msg->nlmsg_type != RTM_NEWADDR || t->nr_addrs == SHOW_MAX_ADDRS ||
	    nl_parse_msg(msg, sizeof(*ifa), tb, IFA_MAX) < 0 || !tb[IFA_LOCAL])
		return 0;
	row = &t->addrs[t->nr_addrs++];
	row->index = (int)ifa->ifa_index;
	row->prefix = ifa->ifa_prefixlen;
	memcpy(&row->addr, nl_attr_data(tb[IFA_LOCAL]), sizeof(row->addr));
	return 0;
}

static const char *link_state(unsigned flags)
{
	if (!(flags & IFF_UP))
		return "DOWN";
	return (flags & IFF_LOWER_UP) ? "UP" : "NO-CARRIER";
}

static const char *link_name(const struct table *t, int index)
{
	for (int i = 0; i < t->nr_links; i++)
		if (t->links[i].index == index)
			return t->links[i].name;
	return "";
}

void veth_show(struct nl_socket *nl, int json)
{
	static struct table t;
	struct nl_request req;
	struct rtgenmsg family = { .rtgen_family = AF_INET };
	struct json j;
	int r;

	/* 1. Dump the links, then the IPv4 addresses. */
	nl_request_init(&req, RTM_GETLINK, NLM_F_DUMP, NULL, sizeof(struct ifinfomsg));
	req.shell = "ip -j link";
	if ((r = nl_talk(nl, &req, show_link_reply, &t)) < 0)
		die("RTM_GETLINK dump: %s", nl_strerror(nl, r));
	nl_request_init(&req, RTM_GETADDR, NLM_F_DUMP, &family, sizeof(family));
	req.shell = "ip -j -4 addr";
	if ((r = nl_talk(nl, &req, show_addr_reply, &t)) < 0)
		die("RTM_GETADDR dump: %s", nl_strerror(nl, r));

	/* 2. Print them, one link a line (or one JSON array). */
	if (json) {
		json_init(&j, stdout);
		json_begin_array(&j);
	} else {
		printf("%-16s %-8s %-10s %-16s %s\n", "NAME", "KIND", "STATE", "MASTER",
		       "ADDRESSES");
	}
	for (int i = 0; i < t.nr_links; i++) {
		const struct link_row *l = &t.links[i];

		if (json) {
			json_begin_object(&j);
			json_key(&j, "name"); json_string(&j, l->name);
			json_key(&j, "index"); json_i64(&j, l->index);
			json_key(&j, "kind"); json_string(&j, l->kind);
			json_key(&j, "state"); json_string(&j, link_state(l->flags));
			json_key(&j, "master"); json_string(&j, link_name(&t, l->master));
			json_key(&j, "addresses");
			json_begin_array(&j);
		} else {
			printf("%-16s %-8s %-10s %-16s", l->name, l->kind[0] ? l->kind : "-",
			       link_state(l->flags), l->master ? link_name(&t, l->master) : "-");
		}
		for (int a = 0; a < t.nr_addrs; a++) {
			char cidr[INET_ADDRSTRLEN + 4];

			if (t.addrs[a].index != l->index)
				continue;
			snprintf(cidr, sizeof(cidr), "%s/%u", inet_ntoa(t.addrs[a].addr),
				 t.addrs[a].prefix);
			if (json)
				json_string(&j, cidr);
			else
				printf(" %s", cidr);
		}
		if (json) {
			json_end_array(&j);
			json_end_object(&j);
		} else {
			putchar('\n');
		}
	}
	if (json) {
		json_end_array(&j);
		json_finish(&j);
	}
}
