/*
 * 05-veth - give a container a network: a veth pair over raw rtnetlink.
 *
 * A veth pair is a virtual cable: what goes in one end comes out of the
 * other.  The post makes one with `ip link add name hPID type veth peer
 * name cPID`, moves cPID into the container's network namespace (`ip link
 * set cPID netns PID`), and gives both ends an address.  This tool sends
 * the rtnetlink messages ip sends, one at a time, and shows them with
 * --explain:
 *
 *   RTM_NEWLINK  the pair (kind "veth"), its peer born in the container:
 *                IFLA_NET_NS_FD = /proc/PID/ns/net inside VETH_INFO_PEER
 *   RTM_NEWADDR  the host's address      RTM_NEWLINK  host end up
 *   inside:  RTM_NEWLINK lo up, rename cPID to eth0 and up,
 *            RTM_NEWADDR its address, RTM_NEWROUTE the default route
 *
 * Creating the peer in place is the post's first two commands in one
 * message (`ip link add ... peer name cPID netns PID`).  Moving an existing
 * link instead costs ~20 ms here (the kernel waits for every CPU to stop
 * using the device, synchronize_net()) and downs the link and drops its
 * addresses, so either way the container end is configured afterwards.
 *
 * Inside means through a netlink socket that lives in the container's
 * namespace: setns(2) into it, socket(2), setns(2) back.  A socket keeps
 * the namespace it was made in, so one process talks to both sides and no
 * program has to run in the container.
 *
 * ifi_change is always IFF_UP when setting a link up: 0 would replace every
 * flag, whatever rtnetlink(7) says (docs/05-veth.md).
 *
 * Two siblings a first reading can skip: options.c (the command line,
 * checked before any message is sent) and show.c (`show`, two dumps).
 *
 * Man pages: rtnetlink(7), netlink(7), veth(4), setns(2), ip-link(8).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nl.h"
#include "tuna.h"
#include "veth.h"

#define HINT_ROOT "links and other network namespaces need root (CAP_NET_ADMIN, " \
	"and CAP_SYS_ADMIN for setns)"

/* The two sockets: one in our namespace, one in the container's. */
static struct nl_socket host_nl, container_nl;

/* --- talking rtnetlink -------------------------------------------------- */

/*
 * Send one request and wait for its ACK.  nl_talk traces it with --explain,
 * decoded from the bytes sent; SHELL is the post's command for it.
 */
static int rtnl_do(struct nl_socket *nl, struct nl_request *req, const char *shell)
{
	req->shell = shell;
	return nl_talk(nl, req, NULL, NULL);
}

/* RTM_GETLINK by name: the ifindex, as ip's ll_name_to_index() finds it. */
static int link_index_reply(const struct nlmsghdr *msg, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(msg);

	*(int *)arg = ifi->ifi_index;
	return 0;
}

static int link_index(struct nl_socket *nl, const char *name)
{
	struct nl_request req;
	int index = 0, r;

	nl_request_init(&req, RTM_GETLINK, 0, NULL, sizeof(struct ifinfomsg));
	nl_put_string(&req, IFLA_IFNAME, name);
	r = nl_talk(nl, &req, link_index_reply, &index);
	return r < 0 ? r : index;
}

/* RTM_DELLINK by name.  A veth end takes its peer with it. */
static int link_delete(struct nl_socket *nl, const char *name)
{
	struct nl_request req;
	char shell[64];

	nl_request_init(&req, RTM_DELLINK, 0, NULL, sizeof(struct ifinfomsg));
	nl_put_string(&req, IFLA_IFNAME, name);
	snprintf(shell, sizeof(shell), "ip link del %s", name);
	return rtnl_do(nl, &req, shell);
}

/* What undo_push runs when a later step fails. */
static void undo_delete_link(void *name)
{
	link_delete(&host_nl, name);
}

/* --- add, in the order it happens --------------------------------------- */

/* 1. The container's namespace, by the file that names it. */
static int open_container_netns(pid_t pid)
{
	char path[64];
	struct stat ours, theirs;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = traced_open(NULL, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd == -ENOENT)
		die("open %s: no process %d", path, (int)pid);
	if (fd < 0)
		die_hint(-fd, fd == -EACCES || fd == -EPERM ? HINT_ROOT : NULL, "open %s", path);
	/* Connecting a namespace to itself would rename our own links. */
	if (stat("/proc/self/ns/net", &ours) == 0 && fstat(fd, &theirs) == 0 &&
	    ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev)
		die_usage("--pid %d: that process is in this network namespace",
			  (int)pid);
	return fd;
}

/* 1. And a socket inside the container: setns there, socket(), setns back. */
static void open_container_socket(int netns_fd, pid_t pid)
{
	int self = traced_open(NULL, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC, 0), r;

	if (self < 0)
		die_err(-self, "open /proc/self/ns/net");
	if ((r = traced_setns(NULL, netns_fd, CLONE_NEWNET)) < 0)
		die_hint(-r, r == -EPERM ? HINT_ROOT : NULL, "setns /proc/%d/ns/net", (int)pid);
	r = nl_open(&container_nl, NETLINK_ROUTE);
	container_nl.explain_tag = "[container] ";
	if (traced_setns(NULL, self, CLONE_NEWNET) < 0)
		die_errno("setns back to /proc/self/ns/net");
	close(self);
	if (r < 0)
		die_err(-r, "netlink socket in the namespace of %d", (int)pid);
}

/*
 * 2. RTM_NEWLINK kind "veth".  The peer is an ifinfomsg plus attributes,
 * IFLA_NET_NS_FD among them: the peer is created in the container.
 */
static void veth_create(const char *host_if, const char *peer_if, int netns_fd, pid_t pid)
{
	struct nl_request req;
	struct nlattr *linkinfo, *data, *peer;
	char shell[96];
	int r;

	nl_request_init(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, NULL,
			sizeof(struct ifinfomsg));
	nl_put_string(&req, IFLA_IFNAME, host_if);
	linkinfo = nl_nest_start(&req, IFLA_LINKINFO);
	nl_put_string(&req, IFLA_INFO_KIND, "veth");
	data = nl_nest_start(&req, IFLA_INFO_DATA);
	peer = nl_nest_start(&req, VETH_INFO_PEER);
	nl_put_bytes(&req, NULL, sizeof(struct ifinfomsg));   /* veth.h: peer's header */
	nl_put_string(&req, IFLA_IFNAME, peer_if);
	nl_put_u32(&req, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	nl_nest_end(&req, peer);
	nl_nest_end(&req, data);
	nl_nest_end(&req, linkinfo);

	explain_note("# the post: ip link add name %s type veth peer name %s; "
		     "ip link set %s netns %d", host_if, peer_if, peer_if, (int)pid);
	snprintf(shell, sizeof(shell), "ip link add name %s type veth peer name %s netns %d",
		 host_if, peer_if, (int)pid);
	r = rtnl_do(&host_nl, &req, shell);
	if (r < 0) {
		char taken[160];

		snprintf(taken, sizeof(taken), "%s exists here or %s in the container: choose "
			 "--host-if, or remove it with " PROG " del --host-if NAME",
			 host_if, peer_if);
		die_hint(0, r == -EEXIST ? taken : r == -EPERM ? HINT_ROOT : NULL,
			 "creating veth %s/%s: %s", host_if, peer_if, nl_strerror(&host_nl, r));
	}
	/* From here on a failure must remove the pair: deleting the host end
	 * deletes the peer in the container too. */
	undo_push(undo_delete_link, (void *)host_if);
}

/*
 * RTM_NEWLINK on an existing link (ifi_index): any of rename to NEW_NAME,
 * plug into MASTER, and bring up.  ifi_change says which flags we mean; 0
 * there would overwrite all of them.
 */
static int link_set(struct nl_socket *nl, int index, const char *new_name, int master,
		    int up, const char *shell)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
	struct nl_request req;

	if (up) {
		ifi.ifi_flags = IFF_UP;
		ifi.ifi_change = IFF_UP;
	}
	nl_request_init(&req, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	if (new_name)
		nl_put_string(&req, IFLA_IFNAME, new_name);
	if (master)
		nl_put_u32(&req, IFLA_MASTER, (uint32_t)master);
	return rtnl_do(nl, &req, shell);
}

/* RTM_NEWADDR: IFA_LOCAL is the address, IFA_ADDRESS the same on a
 * broadcast link (if_addr.h); iproute2 sends both. */
static int address_add(struct nl_socket *nl, int index, const char *name,
		       struct in_addr addr, unsigned prefix)
{
	struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (uint8_t)prefix,
				 .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (uint32_t)index };
	struct nl_request req;
	char shell[96];

	nl_request_init(&req, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	nl_put_attr(&req, IFA_LOCAL, &addr, sizeof(addr));
	nl_put_attr(&req, IFA_ADDRESS, &addr, sizeof(addr));
	snprintf(shell, sizeof(shell), "ip addr add %s/%u dev %s", inet_ntoa(addr), prefix, name);
	return rtnl_do(nl, &req, shell);
}

/* RTM_NEWROUTE 0.0.0.0/0 via GATEWAY, with ip route add's defaults. */
static int default_route_add(struct nl_socket *nl, struct in_addr gateway)
{
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN,
			     .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE,
			     .rtm_type = RTN_UNICAST };
	struct nl_request req;
	char shell[64];

	nl_request_init(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	nl_put_attr(&req, RTA_GATEWAY, &gateway, sizeof(gateway));
	snprintf(shell, sizeof(shell), "ip route add default via %s", inet_ntoa(gateway));
	return rtnl_do(nl, &req, shell);
}

/* Stop here if R failed: the step, the kernel's reason; die_hint undoes. */
static void check(struct nl_socket *nl, int r, const char *what, const char *name)
{
	char taken[96];

	if (r >= 0)
		return;
	snprintf(taken, sizeof(taken), "%s already exists there: pick another name or address",
		 name);
	die_hint(0, r == -EEXIST ? taken : r == -EPERM ? HINT_ROOT : NULL, "%s %s: %s", what,
		 name, nl_strerror(nl, r));
}

/* The index of NAME, or die saying which side lacks it. */
static int must_find(struct nl_socket *nl, const char *name)
{
	int index = link_index(nl, name);

	check(nl, index, "finding link", name);
	return index;
}

/* 3. --bridge: reuse it, or make it and give it the host address.  A bridge
 * made by this run is removed again if the run fails later. */
static int bridge_prepare(const struct options *opt)
{
	struct nl_request req;
	struct nlattr *linkinfo;
	char shell[64];
	int index = link_index(&host_nl, opt->bridge), r;

	if (index != -ENODEV) {
		check(&host_nl, index, "finding bridge", opt->bridge);
		return index;
	}
	nl_request_init(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, NULL,
			sizeof(struct ifinfomsg));
	nl_put_string(&req, IFLA_IFNAME, opt->bridge);
	linkinfo = nl_nest_start(&req, IFLA_LINKINFO);
	nl_put_string(&req, IFLA_INFO_KIND, "bridge");
	nl_nest_end(&req, linkinfo);
	snprintf(shell, sizeof(shell), "ip link add name %s type bridge", opt->bridge);
	r = rtnl_do(&host_nl, &req, shell);
	check(&host_nl, r, "creating bridge", opt->bridge);
	undo_push(undo_delete_link, (void *)opt->bridge);
	index = must_find(&host_nl, opt->bridge);
	r = address_add(&host_nl, index, opt->bridge, opt->host_addr, opt->host_prefix);
	check(&host_nl, r, "adding the host address to", opt->bridge);
	snprintf(shell, sizeof(shell), "ip link set dev %s up", opt->bridge);
	r = link_set(&host_nl, index, NULL, 0, 1, shell);
	check(&host_nl, r, "bringing up", opt->bridge);
	return index;
}

static int command_add(struct options *opt)
{
	char shell[96];
	int netns_fd, index, bridge = 0, r;

	/* 1. The container's network namespace, and a socket in each. */
	netns_fd = open_container_netns(opt->pid);
	r = nl_open(&host_nl, NETLINK_ROUTE);
	if (r < 0)
		die_err(-r, "netlink socket");
	open_container_socket(netns_fd, opt->pid);

	/* 2. The pair: the host end here, the peer born in the container. */
	veth_create(opt->host_if, opt->peer_if, netns_fd, opt->pid);

	/* 3. The host side: an address on the host end, or on the bridge. */
	if (opt->bridge)
		bridge = bridge_prepare(opt);
	index = must_find(&host_nl, opt->host_if);
	if (!opt->bridge) {
		r = address_add(&host_nl, index, opt->host_if, opt->host_addr, opt->host_prefix);
		check(&host_nl, r, "adding the host address to", opt->host_if);
		snprintf(shell, sizeof(shell), "ip link set dev %s up", opt->host_if);
	} else {
		snprintf(shell, sizeof(shell), "ip link set %s master %s up", opt->host_if,
			 opt->bridge);
	}
	r = link_set(&host_nl, index, NULL, bridge, 1, shell);
	check(&host_nl, r, "bringing up", opt->host_if);

	/* 4. Inside: lo up, the peer renamed and up, its address, the route. */
	index = must_find(&container_nl, "lo");
	r = link_set(&container_nl, index, NULL, 0, 1, "ip link set dev lo up");
	check(&container_nl, r, "bringing up", "lo");
	index = must_find(&container_nl, opt->peer_if);
	snprintf(shell, sizeof(shell), "ip link set %s name %s up", opt->peer_if,
		 opt->container_if);
	r = link_set(&container_nl, index, opt->container_if, 0, 1, shell);
	check(&container_nl, r, "renaming the container end to", opt->container_if);
	r = address_add(&container_nl, index, opt->container_if, opt->container_addr,
			opt->container_prefix);
	check(&container_nl, r, "adding the container address to", opt->container_if);
	if (opt->gateway_text) {
		r = default_route_add(&container_nl, opt->gateway);
		check(&container_nl, r, "adding the default route via", opt->gateway_text);
	}

	/* 5. Done: keep what was made. */
	undo_forget();
	close(netns_fd);
	return 0;
}

static int command_del(struct options *opt)
{
	int r = nl_open(&host_nl, NETLINK_ROUTE);

	if (r < 0)
		die_err(-r, "netlink socket");
	r = link_delete(&host_nl, opt->host_if);
	if (r == -ENODEV)
		die("deleting %s: no such interface in this network namespace", opt->host_if);
	if (r < 0)
		die("deleting %s: %s", opt->host_if, nl_strerror(&host_nl, r));
	return 0;
}

/* show: the namespace to look at, ours or the container's; show.c prints it. */
static int command_show(struct options *opt)
{
	int r;

	if (opt->pid) {
		open_container_socket(open_container_netns(opt->pid), opt->pid);
		veth_show(&container_nl, opt->json);
	} else {
		if ((r = nl_open(&host_nl, NETLINK_ROUTE)) < 0)
			die_err(-r, "netlink socket");
		veth_show(&host_nl, opt->json);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };

	tuna_set_prog(PROG);
	/* 1. Check every option before any message is sent. */
	parse_options(argc, argv, &opt);

	/* 2. Do the command. */
	if (strcmp(opt.command, "add") == 0)
		return command_add(&opt);
	if (strcmp(opt.command, "del") == 0)
		return command_del(&opt);
	return command_show(&opt);
}
