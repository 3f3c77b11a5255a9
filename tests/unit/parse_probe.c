/*
 * parse_probe - run one of libtuna's parsers on one string, for
 * tests/test_common.sh:
 *
 *   parse-probe size 200M        -> "209715200", exit 0
 *   parse-probe size 12Q         -> "EINVAL", exit 1
 *
 * KIND is one of: size percent duration u64 int ipv4 cidr ifname pid.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tuna.h"

static int show_error(int r)
{
	puts(r == -ERANGE ? "ERANGE" : r == -EINVAL ? "EINVAL" : "E?");
	return 1;
}

int main(int argc, char **argv)
{
	const char *kind, *s;
	uint64_t u;
	int r, i;

	if (argc != 3) {
		fprintf(stderr, "usage: parse-probe KIND STRING\n");
		return 2;
	}
	kind = argv[1];
	s = argv[2];
	if (strcmp(kind, "size") == 0) {
		r = parse_size(s, &u);
	} else if (strcmp(kind, "percent") == 0) {
		r = parse_percent(s, &u);
	} else if (strcmp(kind, "duration") == 0) {
		r = parse_duration(s, &u);
	} else if (strcmp(kind, "u64") == 0) {
		r = parse_u64(s, 0, UINT64_MAX, &u);
	} else if (strcmp(kind, "int") == 0) {
		r = parse_int(s, -1000, 1000, &i);
		if (r == 0)
			printf("%d\n", i);
		return r < 0 ? show_error(r) : 0;
	} else if (strcmp(kind, "ipv4") == 0 || strcmp(kind, "cidr") == 0) {
		struct in_addr a;
		unsigned len = 32;
		char text[INET_ADDRSTRLEN];

		r = kind[0] == 'i' ? parse_ipv4(s, &a) : parse_ipv4_cidr(s, &a, &len);
		if (r < 0)
			return show_error(r);
		printf("%s/%u%s\n", inet_ntop(AF_INET, &a, text, sizeof(text)), len,
		       ipv4_has_host_bits(a, len) ? " host-bits" : "");
		return 0;
	} else if (strcmp(kind, "ifname") == 0) {
		r = parse_ifname(s);
		if (r == 0)
			puts(s);
		return r < 0 ? show_error(r) : 0;
	} else if (strcmp(kind, "pid") == 0) {
		pid_t pid;

		r = parse_pid(s, &pid);
		if (r == 0)
			printf("%d\n", (int)pid);
		return r < 0 ? show_error(r) : 0;
	} else {
		fprintf(stderr, "parse-probe: unknown kind '%s'\n", kind);
		return 2;
	}
	if (r < 0)
		return show_error(r);
	printf("%" PRIu64 "\n", u);
	return 0;
}
