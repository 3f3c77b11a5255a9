/*
 * nl_decode.c - a netlink message, in words, from its bytes: what --explain
 * prints for each message nl_talk() and nl_batch_commit() send.  See
 * nl_describe() in nl.h.
 *
 * The words are the kernel's own: message types and flags by their macro
 * names (RTM_NEWLINK, NLM_F_CREATE), header fields and attributes by the
 * name after their prefix (IFLA_IFNAME is "ifname", NFTA_CHAIN_HOOK is
 * "hook"), nests in braces, lists in brackets, nf_tables expressions the
 * way `nft --debug=netlink` prints them.  What it does not know it still
 * shows, as "attr7[4 bytes]".
 *
 * The bytes may be anything (tests/fuzz/fuzz_nl_decode.c feeds it garbage):
 * every length is checked against what is left before it is used, and a
 * nest deeper than DEPTH_MAX is not followed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "nl.h"

/* Nests this deep are shown as "{...}": no request of ours goes past 5. */
#define DEPTH_MAX 8
/* Bytes of an unknown or binary payload shown in hex before "...". */
#define HEX_SHOWN_MAX 16

/* --- a bounded text writer ---------------------------------------------- */

struct text {
	char *buf;
	size_t size, used;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->used >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->used, t->size - t->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used += (size_t)n < t->size - t->used ? (size_t)n : t->size - t->used - 1;
}

/* The payload as a string when it is one (NUL-terminated, printable). */
static int is_string(const unsigned char *p, size_t len)
{
	if (len == 0 || p[len - 1] != '\0')
		return 0;
	for (size_t i = 0; i + 1 < len; i++)
		if (p[i] < 0x20 || p[i] >= 0x7f)
			return 0;
	return 1;
}

static void put_hex(struct text *t, const unsigned char *p, size_t len)
{
	put(t, "0x");
	for (size_t i = 0; i < len && i < HEX_SHOWN_MAX; i++)
		put(t, "%02x", p[i]);
	if (len > HEX_SHOWN_MAX)
		put(t, "...");
}

static void put_string(struct text *t, const unsigned char *p, size_t len)
{
	if (is_string(p, len))
		put(t, "\"%s\"", (const char *)p);
	else
		put_hex(t, p, len);
}

static void put_address(struct text *t, const unsigned char *p, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	if (len == 4 || len == 16)
		put(t, "%s", inet_ntop(len == 4 ? AF_INET : AF_INET6, p, text, sizeof(text)));
	else
		put_hex(t, p, len);
}

static void put_mac(struct text *t, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len && i < HEX_SHOWN_MAX; i++)
		put(t, "%s%02x", i ? ":" : "", p[i]);
}

static uint32_t get_u32(const unsigned char *p, size_t len)
{
	uint32_t v = 0;

	if (len >= sizeof(v))
		memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get_be64(const unsigned char *p, size_t len)
{
	uint64_t v = 0;

	if (len >= sizeof(v))
		memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* A constant by name, or its number. */
static void put_name(struct text *t, unsigned long value, const struct flag_name *names)
{
	const char *name = value_name(value, names);

	if (name)
		put(t, "%s", name);
	else
		put(t, "%lu", value);
}

/* --- the kernel's names ------------------------------------------------- */

static const struct flag_name address_families[] = {
	{ AF_UNSPEC, "AF_UNSPEC" }, { AF_INET, "AF_INET" }, { AF_INET6, "AF_INET6" },
	{ AF_BRIDGE, "AF_BRIDGE" }, { AF_PACKET, "AF_PACKET" }, { AF_NETLINK, "AF_NETLINK" },
	{ 0, NULL },
};

static const struct flag_name interface_flags[] = {
	{ IFF_UP, "IFF_UP" }, { IFF_BROADCAST, "IFF_BROADCAST" },
	{ IFF_DEBUG, "IFF_DEBUG" }, { IFF_LOOPBACK, "IFF_LOOPBACK" },
	{ IFF_POINTOPOINT, "IFF_POINTOPOINT" }, { IFF_NOTRAILERS, "IFF_NOTRAILERS" },
	{ IFF_RUNNING, "IFF_RUNNING" }, { IFF_NOARP, "IFF_NOARP" },
	{ IFF_PROMISC, "IFF_PROMISC" }, { IFF_ALLMULTI, "IFF_ALLMULTI" },
	{ IFF_MASTER, "IFF_MASTER" }, { IFF_SLAVE, "IFF_SLAVE" },
	{ IFF_MULTICAST, "IFF_MULTICAST" }, { IFF_PORTSEL, "IFF_PORTSEL" },
	{ IFF_AUTOMEDIA, "IFF_AUTOMEDIA" }, { IFF_DYNAMIC, "IFF_DYNAMIC" },
	{ IFF_LOWER_UP, "IFF_LOWER_UP" }, { IFF_DORMANT, "IFF_DORMANT" },
	{ IFF_ECHO, "IFF_ECHO" }, { 0, NULL },
};

static const struct flag_name route_tables[] = {
	{ RT_TABLE_UNSPEC, "RT_TABLE_UNSPEC" }, { RT_TABLE_DEFAULT, "RT_TABLE_DEFAULT" },
	{ RT_TABLE_MAIN, "RT_TABLE_MAIN" }, { RT_TABLE_LOCAL, "RT_TABLE_LOCAL" },
	{ 0, NULL },
};

static const struct flag_name route_protocols[] = {
	{ RTPROT_UNSPEC, "RTPROT_UNSPEC" }, { RTPROT_REDIRECT, "RTPROT_REDIRECT" },
	{ RTPROT_KERNEL, "RTPROT_KERNEL" }, { RTPROT_BOOT, "RTPROT_BOOT" },
	{ RTPROT_STATIC, "RTPROT_STATIC" }, { 0, NULL },
};

static const struct flag_name route_scopes[] = {
	{ RT_SCOPE_UNIVERSE, "RT_SCOPE_UNIVERSE" }, { RT_SCOPE_SITE, "RT_SCOPE_SITE" },
	{ RT_SCOPE_LINK, "RT_SCOPE_LINK" }, { RT_SCOPE_HOST, "RT_SCOPE_HOST" },
	{ RT_SCOPE_NOWHERE, "RT_SCOPE_NOWHERE" }, { 0, NULL },
};

static const struct flag_name route_types[] = {
	{ RTN_UNSPEC, "RTN_UNSPEC" }, { RTN_UNICAST, "RTN_UNICAST" },
	{ RTN_LOCAL, "RTN_LOCAL" }, { RTN_BROADCAST, "RTN_BROADCAST" },
	{ RTN_ANYCAST, "RTN_ANYCAST" }, { RTN_MULTICAST, "RTN_MULTICAST" },
	{ RTN_BLACKHOLE, "RTN_BLACKHOLE" }, { RTN_UNREACHABLE, "RTN_UNREACHABLE" },
	{ RTN_PROHIBIT, "RTN_PROHIBIT" }, { 0, NULL },
};

/* nft's names for the families (NFPROTO_*), as in "table ip tuna". */
static const struct flag_name nf_families[] = {
	{ NFPROTO_UNSPEC, "unspec" }, { NFPROTO_INET, "inet" }, { NFPROTO_IPV4, "ip" },
	{ NFPROTO_ARP, "arp" }, { NFPROTO_NETDEV, "netdev" }, { NFPROTO_BRIDGE, "bridge" },
	{ NFPROTO_IPV6, "ip6" }, { 0, NULL },
};

static const struct flag_name nf_hooks[] = {
	{ NF_INET_PRE_ROUTING, "NF_INET_PRE_ROUTING" }, { NF_INET_LOCAL_IN, "NF_INET_LOCAL_IN" },
	{ NF_INET_FORWARD, "NF_INET_FORWARD" }, { NF_INET_LOCAL_OUT, "NF_INET_LOCAL_OUT" },
	{ NF_INET_POST_ROUTING, "NF_INET_POST_ROUTING" }, { 0, NULL },
};

static const struct flag_name nf_verdicts[] = {
	{ NF_DROP, "NF_DROP" }, { NF_ACCEPT, "NF_ACCEPT" }, { 0, NULL },
};

static const struct flag_name nf_subsystems[] = {
	{ NFNL_SUBSYS_NONE, "NFNL_SUBSYS_NONE" }, { NFNL_SUBSYS_NFTABLES, "NFNL_SUBSYS_NFTABLES" },
	{ 0, NULL },
};

/* --- attribute tables --------------------------------------------------- */

enum attr_kind {
	A_BINARY,   /* hex */
	A_STRING,   /* "text" */
	A_U8,
	A_U32,      /* host order (rtnetlink) */
	A_BE32,     /* network order (nf_tables) */
	A_BE32_SIGNED,
	A_BE64,
	A_ADDRESS,  /* IPv4 or IPv6, by length */
	A_MAC,
	A_NEST,     /* attributes of the table in .nest */
	A_LINKINFO, /* IFLA_LINKINFO: its DATA depends on its KIND */
	A_EXPRS,    /* NFTA_RULE_EXPRESSIONS: a list of expressions */
};

struct attr_desc {
	uint16_t type;
	const char *name;
	enum attr_kind kind;
	const struct attr_desc *nest;        /* A_NEST */
	const struct flag_name *values;      /* A_U32/A_BE32: names of values */
};

#define ATTR_END { 0, NULL, A_BINARY, NULL, NULL }

static const struct attr_desc ifla_attrs[] = {
	{ IFLA_ADDRESS, "address", A_MAC, NULL, NULL },
	{ IFLA_BROADCAST, "broadcast", A_MAC, NULL, NULL },
	{ IFLA_IFNAME, "ifname", A_STRING, NULL, NULL },
	{ IFLA_MTU, "mtu", A_U32, NULL, NULL },
	{ IFLA_LINK, "link", A_U32, NULL, NULL },
	{ IFLA_QDISC, "qdisc", A_STRING, NULL, NULL },
	{ IFLA_MASTER, "master", A_U32, NULL, NULL },
	{ IFLA_TXQLEN, "txqlen", A_U32, NULL, NULL },
	{ IFLA_OPERSTATE, "operstate", A_U8, NULL, NULL },
	{ IFLA_LINKMODE, "linkmode", A_U8, NULL, NULL },
	{ IFLA_LINKINFO, "linkinfo", A_LINKINFO, NULL, NULL },
	{ IFLA_NET_NS_PID, "net_ns_pid", A_U32, NULL, NULL },
	{ IFLA_IFALIAS, "ifalias", A_STRING, NULL, NULL },
	{ IFLA_GROUP, "group", A_U32, NULL, NULL },
	{ IFLA_NET_NS_FD, "net_ns_fd", A_U32, NULL, NULL },
	{ IFLA_CARRIER, "carrier", A_U8, NULL, NULL },
	ATTR_END,
};

static const struct attr_desc ifa_attrs[] = {
	{ IFA_ADDRESS, "address", A_ADDRESS, NULL, NULL },
	{ IFA_LOCAL, "local", A_ADDRESS, NULL, NULL },
	{ IFA_LABEL, "label", A_STRING, NULL, NULL },
	{ IFA_BROADCAST, "broadcast", A_ADDRESS, NULL, NULL },
	{ IFA_ANYCAST, "anycast", A_ADDRESS, NULL, NULL },
	{ IFA_FLAGS, "flags", A_U32, NULL, NULL },
	ATTR_END,
};

static const struct attr_desc rta_attrs[] = {
	{ RTA_DST, "dst", A_ADDRESS, NULL, NULL },
	{ RTA_SRC, "src", A_ADDRESS, NULL, NULL },
	{ RTA_IIF, "iif", A_U32, NULL, NULL },
	{ RTA_OIF, "oif", A_U32, NULL, NULL },
	{ RTA_GATEWAY, "gateway", A_ADDRESS, NULL, NULL },
	{ RTA_PRIORITY, "priority", A_U32, NULL, NULL },
	{ RTA_PREFSRC, "prefsrc", A_ADDRESS, NULL, NULL },
	{ RTA_TABLE, "table", A_U32, NULL, route_tables },
	{ RTA_MARK, "mark", A_U32, NULL, NULL },
	ATTR_END,
};

static const struct attr_desc nft_hook_attrs[] = {
	{ NFTA_HOOK_HOOKNUM, "hooknum", A_BE32, NULL, nf_hooks },
	{ NFTA_HOOK_PRIORITY, "priority", A_BE32_SIGNED, NULL, NULL },
	{ NFTA_HOOK_DEV, "dev", A_STRING, NULL, NULL },
	ATTR_END,
};

static const struct attr_desc nft_table_attrs[] = {
	{ NFTA_TABLE_NAME, "name", A_STRING, NULL, NULL },
	{ NFTA_TABLE_FLAGS, "flags", A_BE32, NULL, NULL },
	{ NFTA_TABLE_USE, "use", A_BE32, NULL, NULL },
	{ NFTA_TABLE_HANDLE, "handle", A_BE64, NULL, NULL },
	ATTR_END,
};

static const struct attr_desc nft_chain_attrs[] = {
	{ NFTA_CHAIN_TABLE, "table", A_STRING, NULL, NULL },
	{ NFTA_CHAIN_HANDLE, "handle", A_BE64, NULL, NULL },
	{ NFTA_CHAIN_NAME, "name", A_STRING, NULL, NULL },
	{ NFTA_CHAIN_HOOK, "hook", A_NEST, nft_hook_attrs, NULL },
	{ NFTA_CHAIN_POLICY, "policy", A_BE32, NULL, nf_verdicts },
	{ NFTA_CHAIN_USE, "use", A_BE32, NULL, NULL },
	{ NFTA_CHAIN_TYPE, "type", A_STRING, NULL, NULL },
	ATTR_END,
};

static const struct attr_desc nft_rule_attrs[] = {
	{ NFTA_RULE_TABLE, "table", A_STRING, NULL, NULL },
	{ NFTA_RULE_CHAIN, "chain", A_STRING, NULL, NULL },
	{ NFTA_RULE_HANDLE, "handle", A_BE64, NULL, NULL },
	{ NFTA_RULE_EXPRESSIONS, "expressions", A_EXPRS, NULL, NULL },
	{ NFTA_RULE_POSITION, "position", A_BE64, NULL, NULL },
	ATTR_END,
};

static void put_attrs(struct text *t, const unsigned char *p, size_t len,
		      const struct attr_desc *table, int depth);

static const struct attr_desc *find_attr(const struct attr_desc *table, uint16_t type)
{
	for (; table && table->name; table++)
		if (table->type == type)
			return table;
	return NULL;
}

/* --- rtnetlink's family headers ------------------------------------------ */

/*
 * struct ifinfomsg: the family, and the fields that are not 0.  A header
 * shorter than the struct (rtgenmsg: one byte) shows what it has.
 */
static size_t put_ifinfomsg(struct text *t, const unsigned char *p, size_t len)
{
	struct ifinfomsg ifi = { 0 };
	char flags[256];

	memcpy(&ifi, p, len < sizeof(ifi) ? len : sizeof(ifi));
	if (len == 0)
		return 0;
	if (ifi.ifi_family != AF_UNSPEC) {
		put(t, " family=");
		put_name(t, ifi.ifi_family, address_families);
	}
	if (ifi.ifi_index)
		put(t, " index=%d", ifi.ifi_index);
	if (ifi.ifi_flags)
		put(t, " flags=%s", flags_to_string(flags, sizeof(flags), ifi.ifi_flags,
						     interface_flags));
	if (ifi.ifi_change)
		put(t, " change=%s", flags_to_string(flags, sizeof(flags), ifi.ifi_change,
						      interface_flags));
	return NLMSG_ALIGN(sizeof(ifi));
}

static size_t put_ifaddrmsg(struct text *t, const unsigned char *p, size_t len)
{
	struct ifaddrmsg ifa = { 0 };

	memcpy(&ifa, p, len < sizeof(ifa) ? len : sizeof(ifa));
	if (len == 0)
		return 0;
	put(t, " family=");
	put_name(t, ifa.ifa_family, address_families);
	if (len < sizeof(ifa))
		return len;
	if (ifa.ifa_prefixlen)
		put(t, " prefixlen=%u", ifa.ifa_prefixlen);
	if (ifa.ifa_scope) {
		put(t, " scope=");
		put_name(t, ifa.ifa_scope, route_scopes);
	}
	if (ifa.ifa_index)
		put(t, " index=%u", ifa.ifa_index);
	return NLMSG_ALIGN(sizeof(ifa));
}

static size_t put_rtmsg(struct text *t, const unsigned char *p, size_t len)
{
	struct rtmsg rtm = { 0 };

	memcpy(&rtm, p, len < sizeof(rtm) ? len : sizeof(rtm));
	if (len == 0)
		return 0;
	put(t, " family=");
	put_name(t, rtm.rtm_family, address_families);
	if (len < sizeof(rtm))
		return len;
	put(t, " dst_len=%u", rtm.rtm_dst_len);
	put(t, " table=");
	put_name(t, rtm.rtm_table, route_tables);
	put(t, " protocol=");
	put_name(t, rtm.rtm_protocol, route_protocols);
	put(t, " scope=");
	put_name(t, rtm.rtm_scope, route_scopes);
	put(t, " type=");
	put_name(t, rtm.rtm_type, route_types);
	return NLMSG_ALIGN(sizeof(rtm));
}

/* --- attributes ---------------------------------------------------------- */

/*
 * IFLA_LINKINFO: kind="veth" data={peer={...}}.  The data of a veth is its
 * peer (VETH_INFO_PEER), which is an ifinfomsg and IFLA_* attributes of its
 * own (veth.h); other kinds' data is shown by number.
 */
static void put_linkinfo(struct text *t, const unsigned char *p, size_t len, int depth)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1];
	const char *kind = "";
	const char *sep = "";

	if (nl_parse_attrs(p, len, tb, IFLA_INFO_MAX) < 0) {
		put_hex(t, p, len);
		return;
	}
	put(t, "{");
	if (tb[IFLA_INFO_KIND]) {
		put(t, "kind=");
		put_string(t, nl_attr_data(tb[IFLA_INFO_KIND]), nl_attr_len(tb[IFLA_INFO_KIND]));
		kind = nl_attr_string(tb[IFLA_INFO_KIND]);
		sep = " ";
	}
	if (tb[IFLA_INFO_DATA]) {
		const unsigned char *d = nl_attr_data(tb[IFLA_INFO_DATA]);
		size_t dlen = nl_attr_len(tb[IFLA_INFO_DATA]);

		put(t, "%sdata=", sep);
		if (strcmp(kind, "veth") == 0) {
			const struct nlattr *veth[VETH_INFO_MAX + 1];

			put(t, "{");
			if (nl_parse_attrs(d, dlen, veth, VETH_INFO_MAX) == 0 &&
			    veth[VETH_INFO_PEER]) {
				const unsigned char *peer = nl_attr_data(veth[VETH_INFO_PEER]);
				size_t plen = nl_attr_len(veth[VETH_INFO_PEER]), skip;
				struct text head = { 0 };
				char fields[256];

				head.buf = fields;
				head.size = sizeof(fields);
				fields[0] = '\0';
				skip = plen >= sizeof(struct ifinfomsg) ?
				       put_ifinfomsg(&head, peer, plen) : plen;
				put(t, "peer={%s", fields[0] ? fields + 1 : "");
				if (skip < plen)
					put_attrs(t, peer + skip, plen - skip, ifla_attrs, depth + 1);
				put(t, "}");
			}
			put(t, "}");
		} else {
			put_attrs(t, d, dlen, NULL, depth + 1);
		}
		sep = " ";
	}
	if (tb[IFLA_INFO_SLAVE_KIND]) {
		put(t, "%sslave_kind=", sep);
		put_string(t, nl_attr_data(tb[IFLA_INFO_SLAVE_KIND]),
			   nl_attr_len(tb[IFLA_INFO_SLAVE_KIND]));
	}
	put(t, "}");
}

/* nf_tables' NFTA_DATA_VALUE inside a nest (cmp's data, bitwise's mask). */
static void put_nft_data(struct text *t, const struct nlattr *nest)
{
	const struct nlattr *tb[NFTA_DATA_MAX + 1];
	const unsigned char *v;
	size_t len;

	if (!nest || nl_parse_nest(nest, tb, NFTA_DATA_MAX) < 0 || !tb[NFTA_DATA_VALUE]) {
		put(t, "?");
		return;
	}
	v = nl_attr_data(tb[NFTA_DATA_VALUE]);
	len = nl_attr_len(tb[NFTA_DATA_VALUE]);
	put_hex(t, v, len);
	/* an interface name, zero-padded to IFNAMSIZ: say which */
	if (len > 0 && v[0] >= 0x20 && v[0] < 0x7f && memchr(v, '\0', len) &&
	    is_string(v, strnlen((const char *)v, len) + 1))
		put(t, " (\"%s\")", (const char *)v);
}

static uint32_t be32_of(const struct nlattr *a)
{
	return a ? nl_attr_be32(a) : 0;
}

/*
 * One nf_tables expression, as nft --debug=netlink shows it:
 *   payload load 2b @ network header + 12 => reg 1
 *   cmp eq reg 1 0xac11
 *   meta load oifname => reg 1
 */
static void put_expression(struct text *t, const struct nlattr *elem)
{
	static const char *const bases[] = { "link", "network", "transport", "inner" };
	static const char *const ops[] = { "eq", "neq", "lt", "lte", "gt", "gte" };
	static const struct flag_name meta_keys[] = {
		{ NFT_META_LEN, "len" }, { NFT_META_PROTOCOL, "protocol" },
		{ NFT_META_MARK, "mark" }, { NFT_META_IIF, "iif" }, { NFT_META_OIF, "oif" },
		{ NFT_META_IIFNAME, "iifname" }, { NFT_META_OIFNAME, "oifname" },
		{ NFT_META_NFPROTO, "nfproto" }, { NFT_META_L4PROTO, "l4proto" },
		{ 0, NULL },
	};
	const struct nlattr *tb[NFTA_EXPR_MAX + 1], *d[16 + 1];
	const char *name;

	if (nl_parse_nest(elem, tb, NFTA_EXPR_MAX) < 0 || !tb[NFTA_EXPR_NAME]) {
		put(t, "?");
		return;
	}
	name = nl_attr_string(tb[NFTA_EXPR_NAME]);
	if (!is_string(nl_attr_data(tb[NFTA_EXPR_NAME]), nl_attr_len(tb[NFTA_EXPR_NAME])))
		name = "?";
	put(t, "%s", name);
	if (!tb[NFTA_EXPR_DATA] || nl_parse_nest(tb[NFTA_EXPR_DATA], d, 16) < 0)
		return;
	if (strcmp(name, "payload") == 0) {
		uint32_t base = be32_of(d[NFTA_PAYLOAD_BASE]);

		put(t, " load %ub @ %s header + %u => reg %u", be32_of(d[NFTA_PAYLOAD_LEN]),
		    base < 4 ? bases[base] : "?", be32_of(d[NFTA_PAYLOAD_OFFSET]),
		    be32_of(d[NFTA_PAYLOAD_DREG]));
	} else if (strcmp(name, "cmp") == 0) {
		uint32_t op = be32_of(d[NFTA_CMP_OP]);

		put(t, " %s reg %u ", op < 6 ? ops[op] : "?", be32_of(d[NFTA_CMP_SREG]));
		put_nft_data(t, d[NFTA_CMP_DATA]);
	} else if (strcmp(name, "bitwise") == 0) {
		put(t, " reg %u = (reg %u & ", be32_of(d[NFTA_BITWISE_DREG]),
		    be32_of(d[NFTA_BITWISE_SREG]));
		put_nft_data(t, d[NFTA_BITWISE_MASK]);
		put(t, ") ^ ");
		put_nft_data(t, d[NFTA_BITWISE_XOR]);
	} else if (strcmp(name, "meta") == 0) {
		put(t, " load ");
		put_name(t, be32_of(d[NFTA_META_KEY]), meta_keys);
		put(t, " => reg %u", be32_of(d[NFTA_META_DREG]));
	} else if (strcmp(name, "counter") == 0 && d[NFTA_COUNTER_PACKETS]) {
		put(t, " pkts %llu bytes %llu",
		    (unsigned long long)nl_attr_be64(d[NFTA_COUNTER_PACKETS]),
		    (unsigned long long)nl_attr_be64(d[NFTA_COUNTER_BYTES]));
	}
}

/* NFTA_RULE_EXPRESSIONS: [payload ..., cmp ..., counter, masq] */
static void put_expressions(struct text *t, const struct nlattr *list)
{
	int n = 0;

	put(t, "[");
	for (const struct nlattr *e = nl_nest_next(list, NULL); e; e = nl_nest_next(list, e))
		if ((e->nla_type & NLA_TYPE_MASK) == NFTA_LIST_ELEM) {
			put(t, "%s", n++ ? ", " : "");
			put_expression(t, e);
		}
	put(t, "]");
}

static void put_value(struct text *t, const struct nlattr *a, const struct attr_desc *desc,
		      int depth)
{
	const unsigned char *p = nl_attr_data(a);
	size_t len = nl_attr_len(a);
	enum attr_kind kind = desc ? desc->kind : A_BINARY;

	switch (kind) {
	case A_STRING: put_string(t, p, len); return;
	case A_U8:
		if (len >= 1) {
			put(t, "%u", p[0]);
			return;
		}
		break;
	case A_U32:
	case A_BE32:
	case A_BE32_SIGNED:
		if (len == 4) {
			uint32_t v = kind == A_U32 ? get_u32(p, len) : ntohl(get_u32(p, len));

			if (kind == A_BE32_SIGNED)
				put(t, "%d", (int32_t)v);
			else if (desc->values)
				put_name(t, v, desc->values);
			else
				put(t, "%u", v);
			return;
		}
		break;
	case A_BE64:
		if (len == 8) {
			put(t, "%llu", (unsigned long long)get_be64(p, len));
			return;
		}
		break;
	case A_ADDRESS: put_address(t, p, len); return;
	case A_MAC: put_mac(t, p, len); return;
	case A_NEST:
		put(t, "{");
		put_attrs(t, p, len, desc->nest, depth + 1);
		put(t, "}");
		return;
	case A_LINKINFO: put_linkinfo(t, p, len, depth + 1); return;
	case A_EXPRS: put_expressions(t, a); return;
	case A_BINARY: break;
	}
	put_hex(t, p, len);
}

/*
 * The attributes in [P, P+LEN), space-separated, by TABLE's names.  A
 * nest not in the table is followed when it says NLA_F_NESTED; an
 * attribute that runs past the end stops the walk with "<truncated>".
 */
static void put_attrs(struct text *t, const unsigned char *p, size_t len,
		      const struct attr_desc *table, int depth)
{
	int n = 0;

	if (depth > DEPTH_MAX) {
		put(t, "...");
		return;
	}
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		uint16_t type = a->nla_type & NLA_TYPE_MASK;
		const struct attr_desc *desc = find_attr(table, type);
		size_t step;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len) {
			put(t, "%s<truncated>", n ? " " : "");
			return;
		}
		put(t, "%s", n++ ? " " : "");
		if (desc)
			put(t, "%s=", desc->name);
		else
			put(t, "attr%u=", type);
		if (!desc && (a->nla_type & NLA_F_NESTED)) {
			put(t, "{");
			put_attrs(t, (const unsigned char *)nl_attr_data(a), nl_attr_len(a), NULL,
				  depth + 1);
			put(t, "}");
		} else if (!desc) {
			put(t, "[%zu bytes]", nl_attr_len(a));
		} else {
			put_value(t, a, desc, depth);
		}
		step = NLA_ALIGN(a->nla_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
}

/* --- messages ------------------------------------------------------------ */

struct message_kind {
	uint16_t type;
	const char *name;
	int is_get;                            /* NLM_F_DUMP, not CREATE|EXCL */
	size_t (*header)(struct text *, const unsigned char *, size_t);
	const struct attr_desc *attrs;
};

static const struct message_kind rtnl_kinds[] = {
	{ RTM_NEWLINK, "RTM_NEWLINK", 0, put_ifinfomsg, ifla_attrs },
	{ RTM_DELLINK, "RTM_DELLINK", 0, put_ifinfomsg, ifla_attrs },
	{ RTM_GETLINK, "RTM_GETLINK", 1, put_ifinfomsg, ifla_attrs },
	{ RTM_SETLINK, "RTM_SETLINK", 0, put_ifinfomsg, ifla_attrs },
	{ RTM_NEWADDR, "RTM_NEWADDR", 0, put_ifaddrmsg, ifa_attrs },
	{ RTM_DELADDR, "RTM_DELADDR", 0, put_ifaddrmsg, ifa_attrs },
	{ RTM_GETADDR, "RTM_GETADDR", 1, put_ifaddrmsg, ifa_attrs },
	{ RTM_NEWROUTE, "RTM_NEWROUTE", 0, put_rtmsg, rta_attrs },
	{ RTM_DELROUTE, "RTM_DELROUTE", 0, put_rtmsg, rta_attrs },
	{ RTM_GETROUTE, "RTM_GETROUTE", 1, put_rtmsg, rta_attrs },
	{ 0, NULL, 0, NULL, NULL },
};

/* struct nfgenmsg: nft's family name, and for a batch marker its subsystem. */
static size_t put_nfgenmsg(struct text *t, const unsigned char *p, size_t len)
{
	struct nfgenmsg nfg = { 0 };

	if (len < sizeof(nfg))
		return len;
	memcpy(&nfg, p, sizeof(nfg));
	put(t, " family=");
	put_name(t, nfg.nfgen_family, nf_families);
	return NLMSG_ALIGN(sizeof(nfg));
}

static size_t put_batch_marker(struct text *t, const unsigned char *p, size_t len)
{
	struct nfgenmsg nfg = { 0 };

	if (len < sizeof(nfg))
		return len;
	memcpy(&nfg, p, sizeof(nfg));
	put(t, " res_id=");
	put_name(t, ntohs(nfg.res_id), nf_subsystems);
	return NLMSG_ALIGN(sizeof(nfg));
}

#define NFT(msg) NFT_TYPE(msg)

static const struct message_kind nfnl_kinds[] = {
	{ NFNL_MSG_BATCH_BEGIN, "NFNL_MSG_BATCH_BEGIN", 0, put_batch_marker, NULL },
	{ NFNL_MSG_BATCH_END, "NFNL_MSG_BATCH_END", 0, put_batch_marker, NULL },
	{ NFT(NFT_MSG_NEWTABLE), "NFT_MSG_NEWTABLE", 0, put_nfgenmsg, nft_table_attrs },
	{ NFT(NFT_MSG_GETTABLE), "NFT_MSG_GETTABLE", 1, put_nfgenmsg, nft_table_attrs },
	{ NFT(NFT_MSG_DELTABLE), "NFT_MSG_DELTABLE", 0, put_nfgenmsg, nft_table_attrs },
	{ NFT(NFT_MSG_NEWCHAIN), "NFT_MSG_NEWCHAIN", 0, put_nfgenmsg, nft_chain_attrs },
	{ NFT(NFT_MSG_GETCHAIN), "NFT_MSG_GETCHAIN", 1, put_nfgenmsg, nft_chain_attrs },
	{ NFT(NFT_MSG_DELCHAIN), "NFT_MSG_DELCHAIN", 0, put_nfgenmsg, nft_chain_attrs },
	{ NFT(NFT_MSG_NEWRULE), "NFT_MSG_NEWRULE", 0, put_nfgenmsg, nft_rule_attrs },
	{ NFT(NFT_MSG_GETRULE), "NFT_MSG_GETRULE", 1, put_nfgenmsg, nft_rule_attrs },
	{ NFT(NFT_MSG_DELRULE), "NFT_MSG_DELRULE", 0, put_nfgenmsg, nft_rule_attrs },
	{ 0, NULL, 0, NULL, NULL },
};

/* NLMSG_ERROR and NLMSG_DONE: the error (0 for an ACK); the rest is ours. */
static size_t put_error(struct text *t, const unsigned char *p, size_t len)
{
	int err;

	if (len < sizeof(err))
		return len;
	memcpy(&err, p, sizeof(err));
	put(t, " error=%d", err);
	return len;
}

static const struct message_kind control_kinds[] = {
	{ NLMSG_NOOP, "NLMSG_NOOP", 0, NULL, NULL },
	{ NLMSG_ERROR, "NLMSG_ERROR", 0, put_error, NULL },
	{ NLMSG_DONE, "NLMSG_DONE", 0, put_error, NULL },
	{ NLMSG_OVERRUN, "NLMSG_OVERRUN", 0, NULL, NULL },
	{ 0, NULL, 0, NULL, NULL },
};

static const struct message_kind *find_kind(const struct message_kind *kinds, uint16_t type)
{
	for (; kinds->name; kinds++)
		if (kinds->type == type)
			return kinds;
	return NULL;
}

char *nl_describe(char *buf, size_t size, int protocol, const void *message, size_t len,
		  int show_seq)
{
	struct text t = { buf, size, 0 };
	const struct nlmsghdr *h = message;
	const struct message_kind *kind;
	const unsigned char *payload;
	size_t payload_len, skip = 0, have = len;
	char flags[128];

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (len < NLMSG_HDRLEN || h->nlmsg_len < NLMSG_HDRLEN) {
		put(&t, "<%zu bytes: not a netlink message>", len);
		return buf;
	}
	if (h->nlmsg_len < len)
		len = h->nlmsg_len;    /* this message only, not the next */
	kind = h->nlmsg_type < NLMSG_MIN_TYPE ? find_kind(control_kinds, h->nlmsg_type) :
	       find_kind(protocol == NETLINK_NETFILTER ? nfnl_kinds : rtnl_kinds,
			 h->nlmsg_type);
	if (kind)
		put(&t, "%s", kind->name);
	else
		put(&t, "%s%u", protocol == NETLINK_NETFILTER ? "NFNL_MSG_" : "RTM_",
		    h->nlmsg_type);
	put(&t, "(%s)", nl_flags_string(flags, sizeof(flags), h->nlmsg_flags,
					 kind ? kind->is_get : 0));
	if (show_seq)
		put(&t, " seq=%u", h->nlmsg_seq);

	payload = (const unsigned char *)message + NLMSG_HDRLEN;
	payload_len = len - NLMSG_HDRLEN;
	if (kind && kind->header)
		skip = kind->header(&t, payload, payload_len);
	if (skip < payload_len) {
		put(&t, " ");
		put_attrs(&t, payload + skip, payload_len - skip, kind ? kind->attrs : NULL, 0);
	}
	if (h->nlmsg_len > have)
		put(&t, " <truncated: %zu of %u bytes>", have, h->nlmsg_len);
	return buf;
}
