/*
 * nl.c - netlink in one place.  See nl.h.
 *
 * The reply loop follows what iproute2 (lib/libnetlink.c) and libmnl
 * (src/callback.c) check: the port id and sequence number of every
 * message, MSG_TRUNC, NLMSG_ERROR as a negative errno, and the extended
 * ACK attributes after the echoed request.  Man pages: netlink(7),
 * rtnetlink(7); kernel: Documentation/userspace-api/netlink/intro.rst.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "explain.h"
#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/*
 * Big enough for any one datagram the kernel sends us.  A dump fills each
 * datagram up to the size of the buffer we read with (netlink(7)), and 32
 * KiB is what iproute2 uses.  A datagram larger than this is refused
 * (MSG_TRUNC), never half-read.
 */
#define NL_RECEIVE_MAX 32768

/* The largest errno, as the kernel's include/linux/err.h defines it. */
#define MAX_ERRNO 4095

/* One message in words (nl_describe), for its --explain line. */
#define NL_DESCRIBE_MAX 3072

static const char *protocol_name(int protocol)
{
	return protocol == NETLINK_ROUTE ? "NETLINK_ROUTE" :
	       protocol == NETLINK_NETFILTER ? "NETLINK_NETFILTER" : "NETLINK_?";
}

/* --- the socket --------------------------------------------------------- */

int nl_open(struct nl_socket *nl, int protocol)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	socklen_t addr_len = sizeof(addr);
	int one = 1, err;

	memset(nl, 0, sizeof(*nl));
	nl->protocol = protocol;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (nl->fd < 0)
		goto fail;
	/* Ask the kernel to say *why* when it refuses (NLMSGERR_ATTR_MSG). */
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) < 0)
		goto fail;
	/* nl_pid 0: the kernel picks our port id; getsockname() tells us which,
	 * so replies can be checked against it. */
	if (bind(nl->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    getsockname(nl->fd, (struct sockaddr *)&addr, &addr_len) < 0)
		goto fail;
	nl->portid = addr.nl_pid;
	/* Sequence numbers start somewhere recognisable in strace output. */
	nl->seq = (uint32_t)getpid() << 8;
	explain_call(nl->fd, 0, NULL, "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, %s)",
		     protocol_name(protocol));
	return 0;
fail:
	err = -errno;
	explain_call(-1, -err, NULL, "socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, %s)",
		     protocol_name(protocol));
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
	return err;
}

/* --- building a request ------------------------------------------------- */

void nl_request_init(struct nl_request *req, uint16_t type, uint16_t flags,
		     const void *header, size_t header_len)
{
	memset(req, 0, sizeof(*req));
	req->hdr.nlmsg_len = NLMSG_HDRLEN;
	req->hdr.nlmsg_type = type;
	req->hdr.nlmsg_flags = NLM_F_REQUEST | flags;
	nl_put_bytes(req, header, header_len);
}

/*
 * The end of what is written so far, where the next bytes go.  Counted
 * from the whole request (hdr is its first member), so the compiler knows
 * the room is data[], not the 16 bytes of hdr.
 */
static unsigned char *request_tail(struct nl_request *req)
{
	return (unsigned char *)req + req->hdr.nlmsg_len;
}

/* Is there room for LEN more bytes (padded)?  If not, remember it. */
static int request_room(struct nl_request *req, size_t len)
{
	if (req->overflow ||
	    req->hdr.nlmsg_len + NLMSG_ALIGN(len) > sizeof(req->hdr) + sizeof(req->data)) {
		req->overflow = 1;
		return -EMSGSIZE;
	}
	return 0;
}

int nl_put_bytes(struct nl_request *req, const void *data, size_t len)
{
	if (request_room(req, len) < 0)
		return -EMSGSIZE;
	/* NULL DATA leaves zeroes, as is the padding: init zeroed it all. */
	if (data)
		memcpy(request_tail(req), data, len);
	req->hdr.nlmsg_len += NLMSG_ALIGN(len);
	return 0;
}

int nl_put_attr(struct nl_request *req, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a;

	if (len > UINT16_MAX - NLA_HDRLEN || request_room(req, NLA_HDRLEN + len) < 0) {
		req->overflow = 1;
		return -EMSGSIZE;
	}
	a = (struct nlattr *)request_tail(req);
	/* nla_len counts the header and the payload, not the padding. */
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	a->nla_type = type;
	if (len)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
	req->hdr.nlmsg_len += NLA_ALIGN(a->nla_len);
	return 0;
}

int nl_put_u32(struct nl_request *req, uint16_t type, uint32_t value)
{
	return nl_put_attr(req, type, &value, sizeof(value));
}

int nl_put_be32(struct nl_request *req, uint16_t type, uint32_t value)
{
	uint32_t be = htonl(value);

	return nl_put_attr(req, type, &be, sizeof(be));
}

int nl_put_string(struct nl_request *req, uint16_t type, const char *s)
{
	/* With its NUL: the kernel's NLA_NUL_STRING / NLA_STRING take it. */
	return nl_put_attr(req, type, s, strlen(s) + 1);
}

struct nlattr *nl_nest_start(struct nl_request *req, uint16_t type)
{
	struct nlattr *nest = (struct nlattr *)request_tail(req);

	/*
	 * NLA_F_NESTED tells a strict parser the payload is attributes.  The
	 * length is fixed up by nl_nest_end, once the payload is known.
	 */
	if (nl_put_attr(req, type | NLA_F_NESTED, NULL, 0) < 0)
		return NULL;
	return nest;
}

void nl_nest_end(struct nl_request *req, struct nlattr *nest)
{
	if (!nest || req->overflow)
		return;
	nest->nla_len = (uint16_t)(request_tail(req) - (unsigned char *)nest);
}

/* --- reading attributes ------------------------------------------------- */

int nl_parse_attrs(const void *start, size_t len, const struct nlattr **tb, int max)
{
	const unsigned char *p = start;

	memset(tb, 0, sizeof(*tb) * (size_t)(max + 1));
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		int type = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return -EINVAL;
		if (type <= max)
			tb[type] = a;
		if ((size_t)NLA_ALIGN(a->nla_len) >= len)
			break;
		p += NLA_ALIGN(a->nla_len);
		len -= NLA_ALIGN(a->nla_len);
	}
	return 0;
}

int nl_parse_msg(const struct nlmsghdr *msg, size_t header_len,
		 const struct nlattr **tb, int max)
{
	size_t skip = NLMSG_HDRLEN + NLMSG_ALIGN(header_len);

	if (msg->nlmsg_len < skip)
		return -EINVAL;
	return nl_parse_attrs((const unsigned char *)msg + skip, msg->nlmsg_len - skip,
			      tb, max);
}

int nl_parse_nest(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	return nl_parse_attrs(nl_attr_data(nest), nl_attr_len(nest), tb, max);
}

const struct nlattr *nl_nest_next(const struct nlattr *nest, const struct nlattr *prev)
{
	const unsigned char *end = (const unsigned char *)nest + nest->nla_len;
	const unsigned char *p = prev ? (const unsigned char *)prev + NLA_ALIGN(prev->nla_len)
				      : (const unsigned char *)nl_attr_data(nest);
	const struct nlattr *a = (const struct nlattr *)p;

	if (p + NLA_HDRLEN > end || a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
		return NULL;
	return a;
}

const void *nl_attr_data(const struct nlattr *a)
{
	return (const unsigned char *)a + NLA_HDRLEN;
}

size_t nl_attr_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

uint32_t nl_attr_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	if (a && nl_attr_len(a) >= sizeof(v))
		memcpy(&v, nl_attr_data(a), sizeof(v));
	return v;
}

uint32_t nl_attr_be32(const struct nlattr *a)
{
	return ntohl(nl_attr_u32(a));
}

uint64_t nl_attr_be64(const struct nlattr *a)
{
	uint64_t v = 0;

	if (a && nl_attr_len(a) >= sizeof(v))
		memcpy(&v, nl_attr_data(a), sizeof(v));
	return be64toh(v);
}

const char *nl_attr_string(const struct nlattr *a)
{
	const char *s;

	if (!a || nl_attr_len(a) == 0)
		return "";
	s = nl_attr_data(a);
	return memchr(s, '\0', nl_attr_len(a)) ? s : "";
}

/* --- the reply loop ----------------------------------------------------- */

/*
 * Keep what the kernel said about an error.  After struct nlmsgerr comes
 * the request we sent, whole unless NLM_F_CAPPED says the kernel left its
 * payload out (it always does for an ACK; for an error only with
 * NETLINK_CAP_ACK, which we do not set), then, with NLM_F_ACK_TLVS, the
 * NLMSGERR_ATTR_* attributes.  The same walk as iproute2's nl_dump_ext_ack.
 */
static void keep_extended_ack(struct nl_socket *nl, const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t skip = sizeof(*e), payload = h->nlmsg_len - NLMSG_HDRLEN;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		skip += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	if (skip >= payload ||
	    nl_parse_attrs((const unsigned char *)e + skip, payload - skip, tb,
			   NLMSGERR_ATTR_MAX) < 0)
		return;
	snprintf(nl->error_text, sizeof(nl->error_text), "%s",
		 nl_attr_string(tb[NLMSGERR_ATTR_MSG]));
	/* OFFS: the byte offset of the culprit attribute in our request. */
	nl->error_offset = nl_attr_u32(tb[NLMSGERR_ATTR_OFFS]);
}

/*
 * An error code from the kernel is -errno.  Anything else in that field
 * (positive, or below -MAX_ERRNO, INT_MIN whose negation overflows) is not
 * one, and must not reach strerror(-err): call it a protocol error.
 */
static int kernel_errno(int err)
{
	return err < 0 && err >= -MAX_ERRNO ? err : -EPROTO;
}

/*
 * One datagram of an answer: check and dispatch each message in it.  The
 * walk is NLMSG_OK's, but the step is taken by hand: NLMSG_NEXT steps by
 * the *aligned* length, which may be up to 3 bytes more than what is left,
 * and the negative remainder, cast to size_t, would let NLMSG_OK read past
 * the datagram.  The kernel always pads; this loop does not rely on it.
 */
int nl_reply_datagram(struct nl_socket *nl, struct nl_reply *reply,
		      const void *datagram, size_t len)
{
	const struct nlmsghdr *h = datagram;

	while (NLMSG_OK(h, len)) {
		size_t step = NLMSG_ALIGN(h->nlmsg_len);

		/* Replies carry our port id and the seq of their request. */
		if (h->nlmsg_pid != nl->portid)
			return -ESRCH;
		if (h->nlmsg_seq < reply->first_seq || h->nlmsg_seq > reply->last_seq)
			return -EPROTO;

		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			if (e->error && reply->result == 0) {
				reply->result = kernel_errno(e->error);
				nl->error_seq = h->nlmsg_seq;
				keep_extended_ack(nl, h);
			}
			if (reply->expected)
				reply->expected--;
			reply->done = 1;            /* a dump that fails ends here */
		} else if (h->nlmsg_type == NLMSG_DONE) {
			/* A dump may end with an error in DONE's payload. */
			int err = 0;

			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(err)))
				memcpy(&err, NLMSG_DATA(h), sizeof(err));
			if (err < 0 && reply->result == 0)
				reply->result = kernel_errno(err);
			reply->done = 1;
		} else if (h->nlmsg_type == NLMSG_NOOP ||
			   h->nlmsg_type == NLMSG_OVERRUN) {
			/* nothing to do */
		} else {
			reply->messages++;
			/* Keep reading after a failed callback, so the
			 * socket holds no leftovers of this answer. */
			if (reply->cb && reply->result == 0) {
				int r = reply->cb(h, reply->arg);

				if (r < 0)
					reply->result = r;
			}
		}
		if (step >= len)
			break;
		len -= step;
		h = (const struct nlmsghdr *)((const unsigned char *)h + step);
	}
	return 0;
}

/*
 * Read until every message in [FIRST_SEQ, LAST_SEQ] that must answer has
 * answered: EXPECTED ACKs (or errors), or NLMSG_DONE for a dump.  Other
 * messages go to CB.  Returns 0 or the first error.
 */
static int receive(struct nl_socket *nl, uint32_t first_seq, uint32_t last_seq,
		   uint32_t expected, int dump, nl_callback cb, void *arg, uint32_t *messages)
{
	union {
		struct nlmsghdr align;
		unsigned char bytes[NL_RECEIVE_MAX];
	} buf;
	struct nl_reply reply = {
		.first_seq = first_seq, .last_seq = last_seq,
		.expected = expected, .cb = cb, .arg = arg,
	};

	while (dump ? !reply.done : reply.expected > 0) {
		struct sockaddr_nl from;
		struct iovec iov = { &buf, sizeof(buf) };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t n;
		int err;

		/*
		 * The kernel answers while we are still in sendmsg(), so
		 * after an error whatever else it had to say is already
		 * queued: drain it without waiting, never block forever on
		 * an answer that will not come (a batch refused at BEGIN).
		 */
		n = recvmsg(nl->fd, &msg, reply.result < 0 ? MSG_DONTWAIT : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && reply.result < 0)
			break;
		if (n < 0)
			return -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;   /* a lost tail would be a lost answer */
		if (from.nl_pid != 0)
			continue;           /* not from the kernel */
		err = nl_reply_datagram(nl, &reply, &buf, (size_t)n);
		if (err < 0)
			return err;
	}
	if (messages)
		*messages = reply.messages;
	return reply.result;
}

/* The --explain line of one message sent: decoded from its bytes, with
 * its result and the post's command.  INDENT: a member of a batch. */
static void explain_message(const struct nl_socket *nl, const struct nlmsghdr *msg,
			    int in_batch, long result, int err, const char *note,
			    const char *shell)
{
	char words[NL_DESCRIBE_MAX];

	if (!explain_enabled)
		return;
	nl_describe(words, sizeof(words), nl->protocol, msg, msg->nlmsg_len, in_batch);
	explain_call(result, err, shell, "%s%s%s%s", in_batch ? "  " : "",
		     nl->explain_tag ? nl->explain_tag : "", words, note);
}

int nl_talk(struct nl_socket *nl, struct nl_request *req, nl_callback cb, void *arg)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int dump = (req->hdr.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP, r;
	uint32_t messages = 0;
	ssize_t n;

	if (req->overflow)
		return -EMSGSIZE;
	/* A dump ends with NLMSG_DONE; anything else must be ACKed. */
	if (!dump)
		req->hdr.nlmsg_flags |= NLM_F_ACK;
	req->hdr.nlmsg_seq = ++nl->seq;
	req->hdr.nlmsg_pid = 0;         /* the kernel fills in who sent it */
	nl->error_text[0] = '\0';
	nl->error_offset = 0;
	nl->error_seq = 0;

	n = sendto(nl->fd, &req->hdr, req->hdr.nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != req->hdr.nlmsg_len)
		r = -EMSGSIZE;
	else
		r = receive(nl, nl->seq, nl->seq, 1, dump, cb, arg, &messages);
	/* A dump's result is how many messages it brought. */
	explain_message(nl, &req->hdr, 0, r < 0 ? -1 : dump ? (long)messages : 0, -r, "",
			req->shell);
	return r;
}

const char *nl_strerror(const struct nl_socket *nl, int err)
{
	static char text[NL_ERROR_TEXT_MAX + 128];

	if (nl->error_text[0])
		snprintf(text, sizeof(text), "%s (kernel: %s)", strerror(-err),
			 nl->error_text);
	else if (nl->error_offset)
		snprintf(text, sizeof(text), "%s (kernel: the attribute at byte %u)",
			 strerror(-err), nl->error_offset);
	else
		snprintf(text, sizeof(text), "%s", strerror(-err));
	return text;
}

char *nl_flags_string(char *buf, size_t size, uint16_t flags, int is_get)
{
	static const struct flag_name get[] = {
		{ NLM_F_REQUEST, "NLM_F_REQUEST" }, { NLM_F_ACK, "NLM_F_ACK" },
		{ NLM_F_DUMP, "NLM_F_DUMP" }, { NLM_F_ATOMIC, "NLM_F_ATOMIC" },
		{ 0, NULL },
	};
	static const struct flag_name new[] = {
		{ NLM_F_REQUEST, "NLM_F_REQUEST" }, { NLM_F_ACK, "NLM_F_ACK" },
		{ NLM_F_REPLACE, "NLM_F_REPLACE" }, { NLM_F_CREATE, "NLM_F_CREATE" },
		{ NLM_F_EXCL, "NLM_F_EXCL" }, { NLM_F_APPEND, "NLM_F_APPEND" },
		{ 0, NULL },
	};

	return flags_to_string(buf, size, flags, is_get ? get : new);
}

/* --- nfnetlink batches -------------------------------------------------- */

/* BATCH_BEGIN and BATCH_END: an nfgenmsg naming the subsystem in res_id. */
static void batch_put_marker(struct nl_socket *nl, struct nl_batch *batch, uint16_t type)
{
	struct nl_request marker;
	struct nfgenmsg nfg = {
		.nfgen_family = AF_UNSPEC,
		.version = NFNETLINK_V0,
		.res_id = htons(NFNL_SUBSYS_NFTABLES),
	};

	nl_request_init(&marker, type, 0, &nfg, sizeof(nfg));
	marker.hdr.nlmsg_seq = ++nl->seq;
	if (batch->len + marker.hdr.nlmsg_len > sizeof(batch->buf)) {
		batch->overflow = 1;
		return;
	}
	memcpy(batch->buf.bytes + batch->len, &marker.hdr, marker.hdr.nlmsg_len);
	batch->len += marker.hdr.nlmsg_len;
}

void nl_batch_begin(struct nl_socket *nl, struct nl_batch *batch)
{
	batch->len = 0;
	batch->count = 0;
	batch->overflow = 0;
	batch_put_marker(nl, batch, NFNL_MSG_BATCH_BEGIN);
	batch->first_seq = nl->seq;
}

uint32_t nl_batch_add(struct nl_socket *nl, struct nl_batch *batch, struct nl_request *req)
{
	if (req->overflow || batch->len + req->hdr.nlmsg_len > sizeof(batch->buf)) {
		batch->overflow = 1;
		return 0;
	}
	/* An ACK for each message: without it a good batch says nothing. */
	if (batch->count == NL_BATCH_MESSAGES_MAX) {
		batch->overflow = 1;
		return 0;
	}
	req->hdr.nlmsg_flags |= NLM_F_ACK;
	req->hdr.nlmsg_seq = ++nl->seq;
	memcpy(batch->buf.bytes + batch->len, &req->hdr, req->hdr.nlmsg_len);
	batch->len += req->hdr.nlmsg_len;
	batch->shell[batch->count++] = req->shell;
	return nl->seq;
}

/*
 * The batch as sent, message by message from its bytes.  The kernel
 * answers a refused batch for the message that failed; it applied none of
 * the others, so they show "[rolled back]".  BEGIN and END answer only when
 * they are what failed.
 */
static void explain_batch(const struct nl_socket *nl, const struct nl_batch *batch, int r)
{
	size_t offset = 0;
	uint32_t index = 0;

	while (offset + NLMSG_HDRLEN <= batch->len) {
		const struct nlmsghdr *h = (const void *)(batch->buf.bytes + offset);
		int marker = h->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
			     h->nlmsg_type == NFNL_MSG_BATCH_END;
		int failed = r < 0 && h->nlmsg_seq == nl->error_seq;
		const char *shell = marker ? NULL : batch->shell[index++];

		if (failed) {
			explain_message(nl, h, 1, -1, -r, "", shell);
		} else if (marker) {
			char words[NL_DESCRIBE_MAX];

			nl_describe(words, sizeof(words), nl->protocol, h, h->nlmsg_len, 1);
			explain_note("  %s%s", nl->explain_tag ? nl->explain_tag : "", words);
		} else {
			explain_message(nl, h, 1, 0, 0, r < 0 ? " [rolled back]" : "", shell);
		}
		if (h->nlmsg_len < NLMSG_HDRLEN)
			break;
		offset += NLMSG_ALIGN(h->nlmsg_len);
	}
}

int nl_batch_commit(struct nl_socket *nl, struct nl_batch *batch)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;
	int r;

	batch_put_marker(nl, batch, NFNL_MSG_BATCH_END);
	if (batch->overflow)
		return -EMSGSIZE;
	nl->error_text[0] = '\0';
	nl->error_offset = 0;
	nl->error_seq = 0;

	/* One datagram: the kernel applies it as one transaction. */
	n = sendto(nl->fd, batch->buf.bytes, batch->len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel));
	explain_call(n, n < 0 ? errno : 0, NULL, "sendmsg(%s, batch of %u message%s, %zu bytes)",
		     protocol_name(nl->protocol), batch->count, batch->count == 1 ? "" : "s",
		     batch->len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != batch->len)
		r = -EMSGSIZE;
	else  /* BEGIN and END answer only if refused; each message always does. */
		r = receive(nl, batch->first_seq, nl->seq, batch->count, 0, NULL, NULL, NULL);
	explain_batch(nl, batch, r);
	return r;
}
