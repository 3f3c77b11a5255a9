/*
 * fuzz_nl_decode.c - a libFuzzer harness for the netlink message decoder
 * in common/nl_decode.c (nl_describe), which --explain runs on every
 * message 05-veth and 06-nat send: arbitrary bytes, described as an
 * rtnetlink or an nfnetlink message, into an output buffer of any size.
 *
 * The first 3 bytes of the input choose the protocol, the size of the
 * output buffer (1..4096, so truncation is exercised) and whether the
 * sequence number is shown; the rest is the message, copied into a heap
 * buffer of exactly its size so ASan sees a read one byte past it.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Icommon \
 *         tests/fuzz/fuzz_nl_decode.c common/(all).c -o build/fuzz/nl_decode
 */
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"

#define OUT_MAX 4096

#define must(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int protocol, show_seq;
	size_t out_size, len;
	char *out, *r;
	void *message;

	if (size < 3)
		return 0;
	protocol = data[0] & 1 ? NETLINK_NETFILTER : NETLINK_ROUTE;
	out_size = 1 + (((size_t)data[1] << 4) | (data[2] >> 4)) % OUT_MAX;
	show_seq = data[2] & 1;
	data += 3;
	size -= 3;

	message = malloc(size ? size : 1);
	out = malloc(out_size);
	if (!message || !out) {
		free(message);
		free(out);
		return 0;
	}
	memcpy(message, data, size);
	memset(out, 'X', out_size);
	r = nl_describe(out, out_size, protocol, message, size, show_seq);

	/* The contract: BUF back, NUL-terminated inside it, one printable line. */
	must(r == out);
	len = strnlen(out, out_size);
	must(len < out_size);
	for (size_t i = 0; i < len; i++)
		must(out[i] >= 0x20 && out[i] < 0x7f);
	free(message);
	free(out);
	return 0;
}
