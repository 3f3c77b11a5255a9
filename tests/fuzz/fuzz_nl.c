/*
 * fuzz_nl.c - a libFuzzer harness for the netlink reply parser in
 * common/nl.c: arbitrary bytes handed to nl_reply_datagram() as if the
 * kernel had sent them in answer to our request, with a callback that
 * reads every message the way 05-veth and 06-nat do (attributes, nests,
 * lists, strings, integers).
 *
 * The first 4 bytes of the input choose how the reply is expected (ACK
 * count, dump or not); the rest is the datagram, copied into a heap buffer
 * of exactly its size so ASan sees a read one byte past it.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Icommon \
 *         tests/fuzz/fuzz_nl.c common/(all).c -o build/fuzz/nl
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"

/* The port id and sequence numbers a real socket would have used. */
#define FUZZ_PORTID 4242
#define FUZZ_FIRST_SEQ 100
#define FUZZ_SEQ_SPAN 4
#define FUZZ_ATTR_MAX 64

#define must(cond) do { if (!(cond)) abort(); } while (0)

/* Touch every byte an attribute claims, so a wrong length is an overread. */
static unsigned read_attr(const struct nlattr *a)
{
	const unsigned char *p = nl_attr_data(a);
	size_t n = nl_attr_len(a);
	unsigned sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += p[i];
	sum += nl_attr_u32(a) + nl_attr_be32(a) + (unsigned)nl_attr_be64(a);
	sum += (unsigned)strlen(nl_attr_string(a));
	return sum;
}

/* Walk a nest both ways: indexed by type, and as a list. */
static unsigned read_nest(const struct nlattr *nest, int depth)
{
	const struct nlattr *tb[FUZZ_ATTR_MAX + 1];
	const struct nlattr *a = NULL;
	unsigned sum = 0;

	if (depth > 3 || nl_parse_nest(nest, tb, FUZZ_ATTR_MAX) < 0)
		return 0;
	for (int t = 0; t <= FUZZ_ATTR_MAX; t++)
		if (tb[t])
			sum += read_attr(tb[t]) + read_nest(tb[t], depth + 1);
	while ((a = nl_nest_next(nest, a)) != NULL)
		sum += read_attr(a);
	return sum;
}

/* What a step's callback does with each message of a dump. */
static int read_message(const struct nlmsghdr *msg, void *arg)
{
	const struct nlattr *tb[FUZZ_ATTR_MAX + 1];
	unsigned *sum = arg;

	/* The family headers our steps parse: ifinfomsg, ifaddrmsg, nfgenmsg. */
	static const size_t headers[] = {
		sizeof(struct ifinfomsg), sizeof(struct ifaddrmsg), sizeof(struct nfgenmsg),
	};
	for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
		if (nl_parse_msg(msg, headers[h], tb, FUZZ_ATTR_MAX) < 0)
			continue;
		for (int t = 0; t <= FUZZ_ATTR_MAX; t++)
			if (tb[t])
				*sum += read_attr(tb[t]) + read_nest(tb[t], 0);
	}
	/* A callback may refuse a message: the loop must carry on safely. */
	return msg->nlmsg_type == RTM_DELLINK ? -EINVAL : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nl_socket nl;
	struct nl_reply reply;
	unsigned sum = 0;
	void *datagram;
	int r;

	if (size < 4)
		return 0;
	memset(&nl, 0, sizeof(nl));
	nl.fd = -1;
	nl.portid = FUZZ_PORTID;
	memset(&reply, 0, sizeof(reply));
	reply.first_seq = FUZZ_FIRST_SEQ;
	reply.last_seq = FUZZ_FIRST_SEQ + data[0] % FUZZ_SEQ_SPAN;
	reply.expected = data[1] % 8;
	reply.cb = data[2] & 1 ? read_message : NULL;
	reply.arg = &sum;
	data += 4;
	size -= 4;

	/* malloc(0) may return NULL; one byte keeps the pointer valid. */
	datagram = malloc(size ? size : 1);
	if (!datagram)
		return 0;
	memcpy(datagram, data, size);
	r = nl_reply_datagram(&nl, &reply, datagram, size);
	free(datagram);

	/* The contract: 0 or one of three protocol errors; a result that is
	 * an errno the kernel could send, with printable text to go with it. */
	must(r == 0 || r == -ESRCH || r == -EPROTO || r == -EBADMSG);
	must(reply.result <= 0 && reply.result >= -4095);
	must(memchr(nl.error_text, '\0', sizeof(nl.error_text)) != NULL);
	if (reply.result < 0)
		must(strlen(nl_strerror(&nl, reply.result)) > 0);
	return 0;
}
