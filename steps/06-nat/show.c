/*
 * show.c - 06-nat show: read the rules of our table back from the kernel
 * and say them in nft's words, with the counter's packets and bytes.
 *
 * NFT_MSG_GETRULE with NLM_F_DUMP (not in a batch: reading changes
 * nothing) and NFTA_RULE_TABLE to ask for one table's rules.  Each answer
 * is an NFT_MSG_NEWRULE whose NFTA_RULE_EXPRESSIONS list is the program
 * enable wrote: payload, [bitwise,] cmp, [meta, cmp,] counter, masq.  A
 * part of the step you can skip; the counter is the proof that packets
 * went through the rule.  Integers are big-endian (be32, be64).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nl.h"
#include "show.h"
#include "tuna.h"

#define RULE_TEXT_MAX 512
#define EXPR_ATTR_MAX 16            /* above every NFTA_<expr>_MAX decoded here */

struct rule_text {
	char text[RULE_TEXT_MAX];
	size_t len;
	uint32_t payload_offset, payload_len;   /* what the next cmp compares */
	int meta_key, mask_prefix;              /* -1: none */
	uint64_t packets, bytes;
};

static void append(struct rule_text *rt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct rule_text *rt, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (rt->len >= sizeof(rt->text))
		return;
	va_start(ap, fmt);
	n = vsnprintf(rt->text + rt->len, sizeof(rt->text) - rt->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		rt->len += (size_t)n;
}

/* One expression, turned back into nft's words. */
static void decode_expression(struct rule_text *rt, const char *name, const struct nlattr *data)
{
	const struct nlattr *tb[EXPR_ATTR_MAX + 1], *value[NFTA_DATA_MAX + 1];

	if (!data || nl_parse_nest(data, tb, EXPR_ATTR_MAX) < 0)
		memset(tb, 0, sizeof(tb));
	if (strcmp(name, "payload") == 0) {
		rt->payload_offset = nl_attr_be32(tb[NFTA_PAYLOAD_OFFSET]);
		rt->payload_len = nl_attr_be32(tb[NFTA_PAYLOAD_LEN]);
		rt->meta_key = -1;
	} else if (strcmp(name, "bitwise") == 0 && tb[NFTA_BITWISE_MASK] &&
		   nl_parse_nest(tb[NFTA_BITWISE_MASK], value, NFTA_DATA_MAX) == 0) {
		rt->mask_prefix = __builtin_popcount(nl_attr_u32(value[NFTA_DATA_VALUE]));
	} else if (strcmp(name, "meta") == 0) {
		rt->meta_key = (int)nl_attr_be32(tb[NFTA_META_KEY]);
	} else if (strcmp(name, "cmp") == 0 && tb[NFTA_CMP_DATA] &&
		   nl_parse_nest(tb[NFTA_CMP_DATA], value, NFTA_DATA_MAX) == 0 &&
		   value[NFTA_DATA_VALUE]) {
		const char *op = nl_attr_be32(tb[NFTA_CMP_OP]) == NFT_CMP_NEQ ? "!= " : "";
		const struct nlattr *v = value[NFTA_DATA_VALUE];

		if (rt->meta_key == NFT_META_OIFNAME) {
			char ifname[IFNAMSIZ] = { 0 };

			memcpy(ifname, nl_attr_data(v), nl_attr_len(v) < IFNAMSIZ - 1 ?
			       nl_attr_len(v) : IFNAMSIZ - 1);
			append(rt, "oifname %s\"%s\" ", op, ifname);
		} else if (rt->payload_offset == IPV4_SADDR_OFFSET &&
			   nl_attr_len(v) <= IPV4_ADDR_LEN) {
			struct in_addr a = { 0 };
			int prefix = rt->mask_prefix >= 0 ? rt->mask_prefix
							  : (int)nl_attr_len(v) * 8;

			memcpy(&a, nl_attr_data(v), nl_attr_len(v));
			append(rt, "ip saddr %s%s/%d ", op, inet_ntoa(a), prefix);
		} else {
			append(rt, "[cmp] ");
		}
		rt->mask_prefix = -1;
	} else if (strcmp(name, "counter") == 0) {
		rt->packets = nl_attr_be64(tb[NFTA_COUNTER_PACKETS]);
		rt->bytes = nl_attr_be64(tb[NFTA_COUNTER_BYTES]);
		append(rt, "counter packets %llu bytes %llu ", (unsigned long long)rt->packets,
		       (unsigned long long)rt->bytes);
	} else if (strcmp(name, "masq") == 0) {
		append(rt, "masquerade ");
	} else {
		append(rt, "[%s] ", name);
	}
}

struct show_state {
	const char *table;
	int json;
	struct json j;
	int rules;
};

/* One NFT_MSG_NEWRULE of the dump: decode its expressions and print. */
static int show_rule(const struct nlmsghdr *msg, void *arg)
{
	struct show_state *st = arg;
	const struct nlattr *tb[NFTA_RULE_MAX + 1], *e = NULL;
	struct rule_text rt = { .meta_key = -1, .mask_prefix = -1 };
	uint64_t handle;

	if (msg->nlmsg_type != NFT_TYPE(NFT_MSG_NEWRULE) ||
	    nl_parse_msg(msg, sizeof(struct nfgenmsg), tb, NFTA_RULE_MAX) < 0 ||
	    strcmp(nl_attr_string(tb[NFTA_RULE_TABLE]), st->table) != 0)
		return 0;
	handle = nl_attr_be64(tb[NFTA_RULE_HANDLE]);
	while (tb[NFTA_RULE_EXPRESSIONS] && (e = nl_nest_next(tb[NFTA_RULE_EXPRESSIONS], e))) {
		const struct nlattr *expr[NFTA_EXPR_MAX + 1];

		if (nl_parse_nest(e, expr, NFTA_EXPR_MAX) == 0)
			decode_expression(&rt, nl_attr_string(expr[NFTA_EXPR_NAME]),
					  expr[NFTA_EXPR_DATA]);
	}
	if (rt.len)
		rt.text[--rt.len] = '\0';       /* the last space */
	st->rules++;
	if (st->json) {
		json_begin_object(&st->j);
		json_key(&st->j, "chain"); json_string(&st->j, nl_attr_string(tb[NFTA_RULE_CHAIN]));
		json_key(&st->j, "handle"); json_u64(&st->j, handle);
		json_key(&st->j, "rule"); json_string(&st->j, rt.text);
		json_key(&st->j, "packets"); json_u64(&st->j, rt.packets);
		json_key(&st->j, "bytes"); json_u64(&st->j, rt.bytes);
		json_end_object(&st->j);
	} else {
		printf("table ip %s chain %s handle %llu: %s\n", st->table,
		       nl_attr_string(tb[NFTA_RULE_CHAIN]), (unsigned long long)handle, rt.text);
	}
	return 0;
}

int nat_show_rules(struct nl_socket *nl, const char *table, int json)
{
	struct show_state st = { .table = table, .json = json };
	struct nl_request req;
	struct nfgenmsg nfg = { .nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0 };
	char shell[NFT_NAME_MAXLEN + 32];
	int r;

	if (json) {
		json_init(&st.j, stdout);
		json_begin_object(&st.j);
		json_key(&st.j, "table"); json_string(&st.j, table);
		json_key(&st.j, "family"); json_string(&st.j, "ip");
		json_key(&st.j, "rules");
		json_begin_array(&st.j);
	}
	nl_request_init(&req, NFT_TYPE(NFT_MSG_GETRULE), NLM_F_DUMP, &nfg, sizeof(nfg));
	nl_put_string(&req, NFTA_RULE_TABLE, table);
	snprintf(shell, sizeof(shell), "nft -a list table ip %s", table);
	req.shell = shell;
	r = nl_talk(nl, &req, show_rule, &st);
	if (r < 0)
		return r;
	if (json) {
		json_end_array(&st.j);
		json_end_object(&st.j);
		json_finish(&st.j);
	}
	return 0;
}

