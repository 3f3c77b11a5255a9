/*
 * fuzz_parse.c - a libFuzzer harness for one of libtuna's parsers
 * (common/parse.h), chosen at build time with -DPARSER=size, percent,
 * duration, u64, int, ipv4, cidr, ifname or pid.  tests/fuzz/run builds one
 * binary per parser:
 *
 *   clang -fsanitize=fuzzer,address,undefined -DPARSER=size -Icommon \
 *         tests/fuzz/fuzz_parse.c common/parse.c -o build/fuzz/size
 *
 * Each input is taken as the string a user typed (up to its first NUL).
 * Besides "no crash, no undefined behaviour", every parser must keep its
 * contract (parse.h): return 0, -EINVAL or -ERANGE; leave the output alone
 * when it fails; and what it accepts must be what it says it accepts.  A
 * broken contract aborts, which libFuzzer reports as a finding.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define IFNAME_MAX 15           /* IFNAMSIZ less the NUL */
#define POISON 0xdeadbeefcafef00dULL

/* -DPARSER=size becomes the string "size". */
#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)
#define PARSER_NAME STRINGIFY(PARSER)

/* Stop with a finding when a promise is broken. */
#define must(cond) do { if (!(cond)) abort(); } while (0)

static void check_status(int r)
{
	must(r == 0 || r == -EINVAL || r == -ERANGE);
}

/* A string of digits only: what parse_u64/parse_pid may accept. */
static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void fuzz_one(const char *s)
{
	uint64_t u = POISON;
	int r;

#define CASE(name) (strcmp(#name, PARSER_NAME) == 0)
	if (CASE(size)) {
		r = parse_size(s, &u);
		check_status(r);
		must(r == 0 || u == POISON);
		/* A size starts with a digit: no sign, no space, no "0x". */
		must(r != 0 || (s[0] >= '0' && s[0] <= '9'));
	} else if (CASE(percent)) {
		r = parse_percent(s, &u);
		check_status(r);
		must(r == 0 || u == POISON);
		must(r != 0 || strchr(s, '%') == s + strlen(s) - 1);
	} else if (CASE(duration)) {
		r = parse_duration(s, &u);
		check_status(r);
		must(r == 0 || u == POISON);
		must(r != 0 || (s[0] >= '0' && s[0] <= '9'));
	} else if (CASE(u64)) {
		r = parse_u64(s, 0, UINT64_MAX, &u);
		check_status(r);
		if (r == 0) {
			/* Digits only, and the same value strtoull reads. */
			must(all_digits(s));
			must(strtoull(s, NULL, 10) == u);
		}
	} else if (CASE(int)) {
		int i = -12345, j = -12345;

		r = parse_int(s, -1000, 1000, &i);
		check_status(r);
		must(r != 0 || (i >= -1000 && i <= 1000 && i == atoi(s)));
		must(r == 0 || i == -12345);
		/* The whole int range too: INT_MIN is the overflow edge. */
		r = parse_int(s, INT32_MIN, INT32_MAX, &j);
		check_status(r);
		must(r != 0 || (long long)j == strtoll(s, NULL, 10));
	} else if (CASE(ipv4)) {
		struct in_addr a, b;

		r = parse_ipv4(s, &a);
		check_status(r);
		/* Anything we accept, inet_pton accepts as the same address. */
		if (r == 0) {
			must(inet_pton(AF_INET, s, &b) == 1);
			must(a.s_addr == b.s_addr);
		}
	} else if (CASE(cidr)) {
		struct in_addr a;
		unsigned prefix = 99;

		r = parse_ipv4_cidr(s, &a, &prefix);
		check_status(r);
		if (r == 0) {
			must(prefix <= 32);
			must(strchr(s, '/') != NULL);
			(void)ipv4_has_host_bits(a, prefix);
		}
	} else if (CASE(ifname)) {
		r = parse_ifname(s);
		check_status(r);
		if (r == 0) {
			/* What the kernel's dev_valid_name() would take. */
			size_t n = strlen(s);

			must(n >= 1 && n <= IFNAME_MAX);
			must(strcmp(s, ".") != 0 && strcmp(s, "..") != 0);
			must(!strpbrk(s, "/: \t\n\v\f\r"));
		}
	} else if (CASE(pid)) {
		pid_t pid = -7;

		r = parse_pid(s, &pid);
		check_status(r);
		must(r != 0 || (pid >= 1 && pid <= PID_MAX_LIMIT && all_digits(s)));
		must(r == 0 || pid == -7);
	} else {
		abort();        /* built with an unknown PARSER */
	}
#undef CASE
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size + 1 bytes, so ASan sees any overread. */
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_one(s);
	free(s);
	return 0;
}
