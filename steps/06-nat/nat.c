/*
 * 06-nat - the way out: forwarding and a masquerade rule over nfnetlink.
 *
 * The container's 172.17.0.2 means nothing outside the host.  The post lets
 * it out with two commands on the host:
 *
 *   sysctl -w net.ipv4.ip_forward=1          route packets between links
 *   iptables -t nat -A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE
 *                                            give them the host's address
 *
 * This tool writes the same sysctl file, then installs the nftables form of
 * that rule in one nfnetlink batch, the way nft(8) does, so the kernel
 * applies all of it or none:
 *
 *   NFT_MSG_NEWTABLE  table ip tuna
 *   NFT_MSG_NEWCHAIN  chain postrouting { type nat hook postrouting
 *                                         priority srcnat; policy accept; }
 *   NFT_MSG_NEWRULE   ip saddr 172.17.0.0/16 [oifname NAME] counter masquerade
 *
 * A rule is a list of expressions run on registers: payload loads the
 * source address, cmp compares it, counter counts, masq rewrites.  `show`
 * reads the rule back and prints the counter; `disable` deletes the table.
 *
 * Man pages: nft(8), iptables-extensions(8) (MASQUERADE), netlink(7);
 * kernel: include/uapi/linux/netfilter/nf_tables.h, net/netfilter/nfnetlink.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter_ipv4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"
#include "show.h"
#include "tuna.h"

#define PROG "06-nat"
#define DEFAULT_TABLE "tuna"
/* The bytes nft's scanner takes in a name: first, then the rest. */
#define NFT_NAME_FIRST "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_."
#define NFT_NAME_REST "0123456789/-"
#define CHAIN "postrouting"
#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define HINT_ROOT "nftables and net.ipv4.ip_forward need root (CAP_NET_ADMIN in this " \
	"network namespace)"

struct options {
	const char *command, *table, *source_text, *out_if;
	struct in_addr source;
	unsigned prefix;
	int json;
};

static struct nl_socket nl;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: " PROG " enable --source CIDR [--out-if NAME] [--table NAME]\n"
		"       " PROG " disable [--table NAME]\n"
		"       " PROG " show [--table NAME] [--json]\n"
		"Let a container network out: turn on IPv4 forwarding in this network\n"
		"namespace and masquerade its packets with an nftables rule.\n"
		"\n"
		"      --source CIDR    the containers' network, e.g. 172.17.0.0/16\n"
		"      --out-if NAME    masquerade only packets leaving by NAME\n"
		"      --table NAME     the nftables table (family ip; default " DEFAULT_TABLE ")\n"
		"      --json           show as JSON\n"
		"  -x, --explain        trace each netlink message on stderr\n"
		"  -h, --help           show this help\n"
		"      --version        show the version\n"
		"\n"
		"Exit status: 0 ok, 1 the kernel refused, 2 bad usage.\n"
		"Example: " PROG " enable --source 172.17.0.0/16\n");
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	enum { OPT_SOURCE = 256, OPT_OUT_IF, OPT_TABLE, OPT_JSON, OPT_VERSION };
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, OPT_SOURCE },
		{ "out-if", required_argument, NULL, OPT_OUT_IF },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "explain", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opt->table = DEFAULT_TABLE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":xh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SOURCE: opt->source_text = optarg; break;
		case OPT_OUT_IF: opt->out_if = optarg; break;
		case OPT_TABLE: opt->table = optarg; break;
		case OPT_JSON: opt->json = 1; break;
		case 'x': explain_enabled = 1; break;
		case 'h': usage(stdout); exit(0);
		case OPT_VERSION: printf(PROG " (tuna) " TUNA_VERSION "\n"); exit(0);
		case ':': die_usage("%s needs a value (see --help)", argv[optind - 1]);
		default: die_usage("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		die_usage("expected one command: enable, disable or show (see --help)");
	opt->command = argv[optind];
	if (strcmp(opt->command, "enable") != 0 && strcmp(opt->command, "disable") != 0 &&
	    strcmp(opt->command, "show") != 0)
		die_usage("unknown command '%s': enable, disable or show", opt->command);
	if (opt->table[0] == '\0' || strlen(opt->table) >= NFT_NAME_MAXLEN)
		die_usage("--table '%s': names are 1..%d bytes", opt->table, NFT_NAME_MAXLEN - 1);
	/* The kernel takes any bytes, but a table nft(8) cannot type back
	 * ("a b", "1x", a newline) could only be removed by us: keep to the
	 * identifiers of nft's scanner (src/scanner.l, "string"). */
	if (!strchr(NFT_NAME_FIRST, opt->table[0]) ||
	    strspn(opt->table, NFT_NAME_FIRST NFT_NAME_REST) != strlen(opt->table))
		die_usage("--table: not a name nft can type (a letter, '_' or '.', then "
			  "letters, digits, '_', '.', '/' or '-')");
	if (strcmp(opt->command, "enable") != 0)
		return;
	if (!opt->source_text)
		die_usage("enable needs --source CIDR (e.g. 172.17.0.0/16)");
	if (parse_ipv4_cidr(opt->source_text, &opt->source, &opt->prefix) < 0)
		die_usage("--source '%s': not an IPv4 network (e.g. 172.17.0.0/16)",
			  opt->source_text);
	/* The kernel compares only the prefix's bytes with what we send, so
	 * 172.17.0.1/16 would never match; iptables and nft quietly fix it. */
	if (ipv4_has_host_bits(opt->source, opt->prefix))
		die_usage("--source '%s': host bits are set; the network is %s/%u",
			  opt->source_text,
			  inet_ntoa((struct in_addr){ htonl(ntohl(opt->source.s_addr) &
						    (opt->prefix ? ~0u << (32 - opt->prefix) : 0)) }),
			  opt->prefix);
	if (opt->out_if && parse_ifname(opt->out_if) < 0)
		die_usage("--out-if '%s': not an interface name (1..%d bytes)", opt->out_if,
			  IFNAMSIZ - 1);
}

/* --- building nf_tables messages ---------------------------------------- */

/* Every nf_tables message starts with an nfgenmsg naming the family. */
static void nft_request(struct nl_request *req, uint16_t msg, uint16_t flags)
{
	struct nfgenmsg nfg = { .nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0 };

	nl_request_init(req, NFT_TYPE(msg), flags, &nfg, sizeof(nfg));
}

/* One expression in the rule's list: its name, then its own attributes. */
static struct nlattr *expr_start(struct nl_request *req, const char *name)
{
	struct nlattr *elem = nl_nest_start(req, NFTA_LIST_ELEM);

	nl_put_string(req, NFTA_EXPR_NAME, name);
	return elem;
}

/* Constants (cmp data, bitwise mask) are a nest holding NFTA_DATA_VALUE. */
static void put_data(struct nl_request *req, uint16_t type, const void *bytes, size_t len)
{
	struct nlattr *data = nl_nest_start(req, type);

	nl_put_attr(req, NFTA_DATA_VALUE, bytes, len);
	nl_nest_end(req, data);
}

/* cmp eq: register 1 against the LEN bytes at BYTES. */
static void put_cmp_eq(struct nl_request *req, const void *bytes, size_t len)
{
	struct nlattr *elem = expr_start(req, "cmp"), *data = nl_nest_start(req, NFTA_EXPR_DATA);

	nl_put_be32(req, NFTA_CMP_SREG, NFT_REG_1);
	nl_put_be32(req, NFTA_CMP_OP, NFT_CMP_EQ);
	put_data(req, NFTA_CMP_DATA, bytes, len);
	nl_nest_end(req, data);
	nl_nest_end(req, elem);
}

/*
 * ip saddr CIDR: load the source address into register 1, compare.  As
 * nft does, a prefix on a byte boundary (/16) loads just those bytes and
 * needs no mask; any other (/12) loads all four and masks them (bitwise).
 */
static void put_saddr_match(struct nl_request *req, struct in_addr net, unsigned prefix)
{
	uint32_t mask = htonl(prefix ? ~0u << (32 - prefix) : 0), zero = 0;
	uint32_t len = prefix % 8 ? IPV4_ADDR_LEN : prefix / 8;
	struct nlattr *elem, *data;

	if (prefix == 0)
		return;     /* 0.0.0.0/0 matches everything: no test at all */
	elem = expr_start(req, "payload");
	data = nl_nest_start(req, NFTA_EXPR_DATA);
	nl_put_be32(req, NFTA_PAYLOAD_DREG, NFT_REG_1);
	nl_put_be32(req, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nl_put_be32(req, NFTA_PAYLOAD_OFFSET, IPV4_SADDR_OFFSET);
	nl_put_be32(req, NFTA_PAYLOAD_LEN, len);
	nl_nest_end(req, data);
	nl_nest_end(req, elem);

	if (prefix % 8) {
		elem = expr_start(req, "bitwise");
		data = nl_nest_start(req, NFTA_EXPR_DATA);
		nl_put_be32(req, NFTA_BITWISE_SREG, NFT_REG_1);
		nl_put_be32(req, NFTA_BITWISE_DREG, NFT_REG_1);
		nl_put_be32(req, NFTA_BITWISE_LEN, IPV4_ADDR_LEN);
		put_data(req, NFTA_BITWISE_MASK, &mask, sizeof(mask));
		put_data(req, NFTA_BITWISE_XOR, &zero, sizeof(zero));
		nl_nest_end(req, data);
		nl_nest_end(req, elem);
	}

	put_cmp_eq(req, &net.s_addr, len);   /* network order already */
}

/* oifname NAME: meta loads the outgoing device's name (IFNAMSIZ bytes,
 * zero-padded), cmp compares all of it. */
static void put_oifname_match(struct nl_request *req, const char *name)
{
	char padded[IFNAMSIZ] = { 0 };
	struct nlattr *elem, *data;

	strncpy(padded, name, sizeof(padded) - 1);
	elem = expr_start(req, "meta");
	data = nl_nest_start(req, NFTA_EXPR_DATA);
	nl_put_be32(req, NFTA_META_KEY, NFT_META_OIFNAME);
	nl_put_be32(req, NFTA_META_DREG, NFT_REG_1);
	nl_nest_end(req, data);
	nl_nest_end(req, elem);

	put_cmp_eq(req, padded, sizeof(padded));
}

/* An expression with no options (counter, masq): name and an empty nest. */
static void put_plain_expr(struct nl_request *req, const char *name)
{
	struct nlattr *elem = expr_start(req, name);

	nl_nest_end(req, nl_nest_start(req, NFTA_EXPR_DATA));
	nl_nest_end(req, elem);
}

static void open_socket(void)
{
	int r = nl_open(&nl, NETLINK_NETFILTER);

	if (r < 0)
		die_err(-r, "netlink socket (NETLINK_NETFILTER)");
}

static int command_enable(const struct options *opt)
{
	char old_forward[16];
	struct nl_request table, chain, rule;
	struct nl_batch batch;
	struct nlattr *hook, *exprs;
	char source[INET_ADDRSTRLEN + 4], shell[3][256];
	uint32_t seq;
	int r;

	snprintf(source, sizeof(source), "%s/%u", inet_ntoa(opt->source), opt->prefix);

	/* 1. Forwarding, in this network namespace only (it is per netns). */
	r = traced_read_file("sysctl net.ipv4.ip_forward", IP_FORWARD, old_forward,
			     sizeof(old_forward));
	if (r < 0)
		snprintf(old_forward, sizeof(old_forward), "0");
	r = traced_write_file("sysctl -w net.ipv4.ip_forward=1", IP_FORWARD, "1");
	if (r < 0)
		die_hint(-r, r == -EACCES || r == -EPERM ? HINT_ROOT : NULL, "write %s",
			 IP_FORWARD);
	if (strcmp(old_forward, "1") != 0)   /* put back if the batch fails */
		undo_write_file(IP_FORWARD, old_forward);

	/* 2. The table, new (EXCL: enabling twice would add a second rule). */
	nft_request(&table, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	nl_put_string(&table, NFTA_TABLE_NAME, opt->table);
	snprintf(shell[0], sizeof(shell[0]), "nft add table ip %s", opt->table);
	table.shell = shell[0];

	/* 3. The base chain: type nat, at the postrouting hook, priority srcnat. */
	nft_request(&chain, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nl_put_string(&chain, NFTA_CHAIN_TABLE, opt->table);
	nl_put_string(&chain, NFTA_CHAIN_NAME, CHAIN);
	hook = nl_nest_start(&chain, NFTA_CHAIN_HOOK);
	nl_put_be32(&chain, NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING);
	nl_put_be32(&chain, NFTA_HOOK_PRIORITY, NF_IP_PRI_NAT_SRC);
	nl_nest_end(&chain, hook);
	nl_put_be32(&chain, NFTA_CHAIN_POLICY, NF_ACCEPT);
	nl_put_string(&chain, NFTA_CHAIN_TYPE, "nat");
	snprintf(shell[1], sizeof(shell[1]), "nft add chain ip %s " CHAIN " '{ type nat hook "
		 "postrouting priority srcnat; policy accept; }'", opt->table);
	chain.shell = shell[1];

	/* 4. The rule: ip saddr CIDR [oifname NAME] counter masquerade. */
	nft_request(&rule, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	nl_put_string(&rule, NFTA_RULE_TABLE, opt->table);
	nl_put_string(&rule, NFTA_RULE_CHAIN, CHAIN);
	exprs = nl_nest_start(&rule, NFTA_RULE_EXPRESSIONS);
	put_saddr_match(&rule, opt->source, opt->prefix);
	if (opt->out_if)
		put_oifname_match(&rule, opt->out_if);
	put_plain_expr(&rule, "counter");   /* for show's packet count */
	put_plain_expr(&rule, "masq");
	nl_nest_end(&rule, exprs);
	snprintf(shell[2], sizeof(shell[2]),
		 "nft add rule ip %s " CHAIN " ip saddr %s%s%s counter masquerade"
		 "   # the post: iptables -t nat -A POSTROUTING -s %s%s%s -j MASQUERADE",
		 opt->table, source, opt->out_if ? " oifname " : "",
		 opt->out_if ? opt->out_if : "", source, opt->out_if ? " -o " : "",
		 opt->out_if ? opt->out_if : "");
	rule.shell = shell[2];

	/* 5. One batch, one datagram, one answer per message. */
	open_socket();
	nl_batch_begin(&nl, &batch);
	seq = nl_batch_add(&nl, &batch, &table);
	nl_batch_add(&nl, &batch, &chain);
	nl_batch_add(&nl, &batch, &rule);
	r = nl_batch_commit(&nl, &batch);

	if (r == -EEXIST && nl.error_seq == seq) {
		char again[NFT_NAME_MAXLEN + 96];

		snprintf(again, sizeof(again), "it is there already: run " PROG " disable "
			 "--table %s first, or pick another --table", opt->table);
		die_hint(0, again, "creating table ip %s: %s", opt->table, nl_strerror(&nl, r));
	}
	if (r < 0)
		die_hint(0, r == -EPERM ? HINT_ROOT : NULL, "installing table ip %s (batch, "
			 "message seq %u): %s", opt->table, nl.error_seq, nl_strerror(&nl, r));
	undo_forget();
	return 0;
}

static int command_disable(const struct options *opt)
{
	struct nl_request table;
	struct nl_batch batch;
	char shell[128];
	int r;

	nft_request(&table, NFT_MSG_DELTABLE, 0);
	nl_put_string(&table, NFTA_TABLE_NAME, opt->table);
	snprintf(shell, sizeof(shell), "nft delete table ip %s", opt->table);
	table.shell = shell;
	open_socket();
	nl_batch_begin(&nl, &batch);
	nl_batch_add(&nl, &batch, &table);
	r = nl_batch_commit(&nl, &batch);
	if (r == -ENOENT)
		die("deleting table ip %s: no such table (nothing to disable)", opt->table);
	if (r < 0)
		die_hint(0, r == -EPERM ? HINT_ROOT : NULL, "deleting table ip %s: %s", opt->table,
			 nl_strerror(&nl, r));
	return 0;
}

static int command_show(const struct options *opt)
{
	struct nl_request req;
	int r;

	open_socket();
	/* 1. Is the table there?  A GET of one object answers ENOENT if not. */
	nft_request(&req, NFT_MSG_GETTABLE, 0);
	nl_put_string(&req, NFTA_TABLE_NAME, opt->table);
	r = nl_talk(&nl, &req, NULL, NULL);
	if (r == -ENOENT)
		die("table ip %s: no such table (" PROG " enable makes it)", opt->table);
	if (r < 0)
		die("reading table ip %s: %s", opt->table, nl_strerror(&nl, r));

	/* 2. Its rules, decoded back into nft's words (show.c). */
	r = nat_show_rules(&nl, opt->table, opt->json);
	if (r < 0)
		die("reading the rules of table ip %s: %s", opt->table, nl_strerror(&nl, r));
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };

	tuna_set_prog(PROG);
	/* 1. Check every option before touching anything. */
	parse_options(argc, argv, &opt);

	/* 2. Do the command. */
	if (strcmp(opt.command, "enable") == 0)
		return command_enable(&opt);
	if (strcmp(opt.command, "disable") == 0)
		return command_disable(&opt);
	return command_show(&opt);
}
