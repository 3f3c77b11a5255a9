/*
 * nl.h - netlink in one place: the socket, the request builder, the ACK
 * loop, dumps and nfnetlink batches, for 05-veth (rtnetlink) and 06-nat
 * (nftables).  Steps include it directly: #include "nl.h".
 *
 * A netlink message is a struct nlmsghdr, a family header (struct
 * ifinfomsg, ifaddrmsg, rtmsg, nfgenmsg) and attributes, each a struct
 * nlattr (length, type) and its payload, padded to 4 bytes.  See
 * netlink(7), rtnetlink(7) and Documentation/userspace-api/netlink/intro.rst.
 *
 * The rules this file keeps, so no step has to remember them:
 *   - every request asks for an ACK and waits for it: a request whose
 *     answer is not read may have failed without anyone knowing;
 *   - replies are checked: our port id, the sequence number we sent,
 *     never a truncated datagram (MSG_TRUNC);
 *   - NETLINK_EXT_ACK is on, and the kernel's own text for an error is
 *     kept (nl_strerror) so the step can print it.
 *
 * With --explain, every message sent is printed decoded from its bytes
 * (nl_describe), with its result and the post's command (req->shell):
 *
 *   RTM_NEWADDR(NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL) family=AF_INET
 *     prefixlen=16 index=7 local=172.17.0.1 address=172.17.0.1 = 0   # ip addr add ...
 *
 * so a step never writes a description of a message of its own.
 *
 * Like all of common/, these functions return 0 or -errno and never exit.
 */
#ifndef TUNA_NL_H
#define TUNA_NL_H

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

/* Room for the largest request a step builds (a veth with its peer is ~100 bytes). */
#define NL_REQUEST_MAX 1024
/* A whole nfnetlink batch: BEGIN, a few messages, END. */
#define NL_BATCH_MAX 4096
/* The kernel's extended-ack text, e.g. "ipv4: Address already assigned". */
#define NL_ERROR_TEXT_MAX 256
/* Messages between BATCH_BEGIN and BATCH_END, at most. */
#define NL_BATCH_MESSAGES_MAX 16

/* The nf_tables message types carry the subsystem in the high byte. */
#define NFT_TYPE(msg) ((uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | (msg)))

struct nl_socket {
	int fd;
	int protocol;               /* NETLINK_ROUTE, NETLINK_NETFILTER */
	uint32_t portid;            /* our address, as the kernel bound it */
	uint32_t seq;               /* last sequence number used */
	/* About the last error the kernel reported: */
	uint32_t error_seq;         /* which message it answered */
	uint32_t error_offset;      /* NLMSGERR_ATTR_OFFS, 0 if none */
	char error_text[NL_ERROR_TEXT_MAX]; /* NLMSGERR_ATTR_MSG, "" if none */
	/* Printed before each of its --explain lines, e.g. "[container] " for
	 * a socket made in another network namespace; NULL for none. */
	const char *explain_tag;
};

/*
 * One request: the header, then the family header and attributes in
 * data[].  nlmsg_len is always the number of bytes used so far.  An
 * attribute that does not fit sets overflow; nl_talk() then refuses to
 * send (-EMSGSIZE) rather than send half a request.
 */
struct nl_request {
	struct nlmsghdr hdr;
	unsigned char data[NL_REQUEST_MAX];
	int overflow;
	/* The post's command for the same thing, the comment of its --explain
	 * line ("ip link add ..."), or NULL: set it after nl_request_init. */
	const char *shell;
};

/* Called for every message of a reply or dump that is not an ACK or DONE. */
typedef int (*nl_callback)(const struct nlmsghdr *msg, void *arg);

/* --- the socket --------------------------------------------------------- */

/* socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, PROTOCOL), extended ACKs on,
 * bound.  Traced: the socket(2) line. */
/* The socket lives until the step exits, which closes it. */
int nl_open(struct nl_socket *nl, int protocol);

/* --- building a request ------------------------------------------------- */

/* Start a request of TYPE with FLAGS (NLM_F_REQUEST is added) and a copy
 * of the family header (HEADER may be NULL for zeroes). */
void nl_request_init(struct nl_request *req, uint16_t type, uint16_t flags,
		     const void *header, size_t header_len);

/* Append raw bytes (zeroes if DATA is NULL), padded to 4: the
 * ifinfomsg that starts VETH_INFO_PEER. */
int nl_put_bytes(struct nl_request *req, const void *data, size_t len);

/* Attributes.  Each returns 0 or -EMSGSIZE (and sets req->overflow). */
int nl_put_attr(struct nl_request *req, uint16_t type, const void *data, size_t len);
int nl_put_u32(struct nl_request *req, uint16_t type, uint32_t value);
/* nf_tables integers are big-endian ("network order"), rtnetlink's are not. */
int nl_put_be32(struct nl_request *req, uint16_t type, uint32_t value);
int nl_put_string(struct nl_request *req, uint16_t type, const char *s);

/* A nest: attributes added between start and end are its payload.
 * Returns NULL on overflow; nl_nest_end() accepts that NULL. */
struct nlattr *nl_nest_start(struct nl_request *req, uint16_t type);
void nl_nest_end(struct nl_request *req, struct nlattr *nest);

/* --- talking to the kernel ---------------------------------------------- */

/*
 * Send REQ and read the answer.  A normal request gets NLM_F_ACK and waits
 * for its ACK; replies before the ACK (a GET) go to CB.  A request with
 * NLM_F_DUMP reads every part of the dump into CB until NLMSG_DONE.  CB may
 * be NULL.  A CB that returns < 0 stops the loop with that value.
 *
 * Returns 0, or -errno: the kernel's (NLMSG_ERROR) with nl->error_text
 * filled in when it gave one, or the socket's.  Traced: the request
 * decoded, "= 0" or the error, for a dump "= N" messages received.
 */
int nl_talk(struct nl_socket *nl, struct nl_request *req, nl_callback cb, void *arg);

/*
 * The reply loop's parsing, apart from the socket, so tests/fuzz can feed
 * it arbitrary bytes as if the kernel had sent them.  nl_talk and
 * nl_batch_commit set up a struct nl_reply and call nl_reply_datagram()
 * for each datagram recvmsg() returns, until the answer is complete.
 */
struct nl_reply {
	uint32_t first_seq, last_seq;   /* the requests being answered */
	uint32_t expected;              /* ACKs (or errors) still to come */
	int done;                       /* NLMSG_DONE or an error seen */
	int result;                     /* 0, or the first error (-errno) */
	uint32_t messages;              /* other than ACK/DONE: a dump's entries */
	nl_callback cb;                 /* for every other message */
	void *arg;
};

/* Check and dispatch the messages in one datagram of LEN bytes.  Returns 0,
 * or -ESRCH / -EPROTO / -EBADMSG for a message that cannot be ours. */
int nl_reply_datagram(struct nl_socket *nl, struct nl_reply *reply,
		      const void *datagram, size_t len);

/* "File exists" or "File exists (kernel: ipv4: Address already assigned)",
 * for an ERR (negative) that nl_talk or nl_batch_commit returned. */
const char *nl_strerror(const struct nl_socket *nl, int err);

/*
 * One message of PROTOCOL (NETLINK_ROUTE or NETLINK_NETFILTER) in words,
 * from its first LEN bytes, into BUF (always NUL-terminated): its type and
 * flags by name, [seq=N when SHOW_SEQ,] the family header's fields, then
 * its attributes by name, nests in braces, nf_tables expressions as nft
 * --debug=netlink shows them.  Any bytes at all are safe to describe
 * (tests/fuzz).  Returns BUF.
 *
 *   RTM_NEWLINK(NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_EXCL) ifname="h42"
 *     linkinfo={kind="veth" data={peer={ifname="c42" net_ns_fd=5}}}
 *   NFT_MSG_NEWRULE(...) family=ip table="tuna" chain="postrouting"
 *     expressions=[payload load 2b @ network header + 12 => reg 1, cmp eq reg 1 0xac11, counter, masq]
 */
char *nl_describe(char *buf, size_t size, int protocol, const void *message, size_t len,
		  int show_seq);

/*
 * The NLM_F_* names in FLAGS, for --explain.  The bits above 0x80 mean
 * different things for a GET (IS_GET 1: DUMP) and a NEW (0: CREATE, EXCL).
 */
char *nl_flags_string(char *buf, size_t size, uint16_t flags, int is_get);

/* --- reading attributes ------------------------------------------------- */

/*
 * Index the attributes in [START, START+LEN) by type into TB[0..MAX]
 * (NULL where absent; later duplicates win; types above MAX ignored).
 * -EINVAL if an attribute runs past the end.
 */
int nl_parse_attrs(const void *start, size_t len, const struct nlattr **tb, int max);
/* The same for the attributes after a message's family header. */
int nl_parse_msg(const struct nlmsghdr *msg, size_t header_len,
		 const struct nlattr **tb, int max);
/* And for the payload of a nest. */
int nl_parse_nest(const struct nlattr *nest, const struct nlattr **tb, int max);

/*
 * The attribute after PREV inside NEST (the first if PREV is NULL), or
 * NULL at the end.  For lists, whose elements all share one type
 * (NFTA_LIST_ELEM), so a table by type would keep only the last.
 */
const struct nlattr *nl_nest_next(const struct nlattr *nest, const struct nlattr *prev);

const void *nl_attr_data(const struct nlattr *a);
size_t nl_attr_len(const struct nlattr *a);
/* 0 when A is NULL or too short, so a missing value reads as zero. */
uint32_t nl_attr_u32(const struct nlattr *a);
uint32_t nl_attr_be32(const struct nlattr *a);
uint64_t nl_attr_be64(const struct nlattr *a);
/* The string, or "" when absent or not NUL-terminated. */
const char *nl_attr_string(const struct nlattr *a);

/* --- nfnetlink batches (nf_tables changes) ------------------------------ */

/*
 * nf_tables takes changes only inside a batch: BATCH_BEGIN, the messages,
 * BATCH_END in one datagram, applied all or nothing.  Each message is sent
 * with NLM_F_ACK, because a successful batch is otherwise silent; so there
 * is exactly one answer per message and "every answer was 0" means it
 * committed.
 */
struct nl_batch {
	union {
		struct nlmsghdr first;             /* for alignment */
		unsigned char bytes[NL_BATCH_MAX];
	} buf;
	size_t len;
	uint32_t first_seq;     /* BATCH_BEGIN's */
	uint32_t count;         /* messages between BEGIN and END */
	int overflow;
	const char *shell[NL_BATCH_MESSAGES_MAX];   /* each message's req->shell */
};

void nl_batch_begin(struct nl_socket *nl, struct nl_batch *batch);
/* Copy REQ into the batch with NLM_F_ACK and the next seq; returns the seq
 * (so a step can tell which message an error was about), 0 on overflow. */
uint32_t nl_batch_add(struct nl_socket *nl, struct nl_batch *batch, struct nl_request *req);
/* Close with BATCH_END, send, read one answer per message.  Returns 0, or
 * the first error (-errno) with nl->error_seq naming its message.  Traced:
 * the sendmsg(2), then every message of the batch decoded, each with its
 * answer; after a refusal the others show "[rolled back]". */
int nl_batch_commit(struct nl_socket *nl, struct nl_batch *batch);

#endif
