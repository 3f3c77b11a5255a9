/*
 * parse.c - strict parsers.  See parse.h.
 *
 * Written by hand rather than with strtoull(): strtoull skips leading white
 * space, accepts a sign ("-5" becomes a huge number) and a "0x" prefix, and
 * each of those is a way for a typo to turn into a limit nobody meant.
 */
#include <errno.h>
#include <string.h>

#include "parse.h"

#define IFNAME_MAX 15           /* IFNAMSIZ (16) less the NUL */

/*
 * Read the decimal digits at *s into *value, advancing *s past them.
 * -EINVAL if there are none (or *s is NULL), -ERANGE if the number does
 * not fit.
 */
static int take_digits(const char **s, uint64_t *value)
{
	const char *p = *s;
	uint64_t v = 0;

	if (!p || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		v = v * 10 + digit;
	}
	*s = p;
	*value = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int r;

	r = take_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_int(const char *s, int min, int max, int *out)
{
	uint64_t v;
	long long signed_v;
	int negative = 0;
	int r;

	if (s && *s == '-') {
		negative = 1;
		s++;
	}
	r = parse_u64(s, 0, (uint64_t)INT32_MAX + 1, &v);
	if (r < 0)
		return r;
	if (!negative && v > (uint64_t)INT32_MAX)
		return -ERANGE;
	signed_v = negative ? -(long long)v : (long long)v;
	if (signed_v < min || signed_v > max)
		return -ERANGE;
	*out = (int)signed_v;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	uint64_t v, multiplier = 1;
	const char *unit;
	int r;

	r = take_digits(&s, &v);
	if (r < 0)
		return r;
	if (*s != '\0') {
		char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;

		unit = strchr(units, c);
		if (!unit || c == '\0')
			return -EINVAL;
		for (const char *u = units; u <= unit; u++)
			multiplier *= 1024;
		s++;
		/* "200MB" and "200MiB" mean the same as "200M" here. */
		if (strcmp(s, "B") == 0 || strcmp(s, "iB") == 0)
			s += strlen(s);
		if (*s != '\0')
			return -EINVAL;
	}
	if (v > UINT64_MAX / multiplier)
		return -ERANGE;
	*bytes = v * multiplier;
	return 0;
}

int parse_percent(const char *s, uint64_t *milli_percent)
{
	uint64_t whole, fraction = 0;
	int decimals = 0;
	int r;

	r = take_digits(&s, &whole);
	if (r < 0)
		return r;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (++decimals > 3)
				return -EINVAL;
			fraction = fraction * 10 + (uint64_t)(*s - '0');
		}
	}
	if (strcmp(s, "%") != 0)
		return -EINVAL;
	for (; decimals < 3; decimals++)
		fraction *= 10;
	if (whole > (UINT64_MAX - fraction) / 1000)
		return -ERANGE;
	*milli_percent = whole * 1000 + fraction;
	return 0;
}

int parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 },
		{ "h", 3600 * 1000 }, { "d", 86400 * 1000 },
	};
	uint64_t v;
	int r;

	r = take_digits(&s, &v);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].ms)
			return -ERANGE;
		*ms = v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

int parse_ipv4(const char *s, struct in_addr *addr)
{
	uint32_t host_order = 0;

	if (!s)
		return -EINVAL;
	for (int octet = 0; octet < 4; octet++) {
		uint64_t v;
		const char *start = s;

		if (octet > 0) {
			if (*s != '.')
				return -EINVAL;
			start = ++s;
		}
		if (take_digits(&s, &v) < 0 || v > 255)
			return -EINVAL;
		/* "010" is octal to inet_aton and decimal to others: refuse it. */
		if (s - start > 1 && *start == '0')
			return -EINVAL;
		host_order = host_order << 8 | (uint32_t)v;
	}
	if (*s != '\0')
		return -EINVAL;
	addr->s_addr = htonl(host_order);
	return 0;
}

int parse_ipv4_cidr(const char *s, struct in_addr *addr, unsigned *prefix_len)
{
	char buf[sizeof("255.255.255.255")];
	const char *slash;
	uint64_t len;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (parse_ipv4(buf, addr) < 0)
		return -EINVAL;
	/* One or two digits: "/016" is as suspect as an octal octet. */
	if (strlen(slash + 1) > 2 || parse_u64(slash + 1, 0, 32, &len) < 0)
		return -EINVAL;
	*prefix_len = (unsigned)len;
	return 0;
}

int ipv4_has_host_bits(struct in_addr addr, unsigned prefix_len)
{
	uint32_t mask = prefix_len == 0 ? 0 : ~0u << (32 - prefix_len);

	return (ntohl(addr.s_addr) & ~mask) != 0;
}

int parse_ifname(const char *s)
{
	size_t len;

	if (!s || *s == '\0')
		return -EINVAL;
	len = strlen(s);
	if (len > IFNAME_MAX)
		return -ERANGE;
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		/* dev_valid_name() in net/core/dev.c refuses these. */
		if (*p == '/' || *p == ':' || *p == ' ' || *p == '\t' ||
		    *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
			return -EINVAL;
	}
	return 0;
}

int parse_pid(const char *s, pid_t *pid)
{
	uint64_t v;
	int r = parse_u64(s, 1, PID_MAX_LIMIT, &v);

	if (r < 0)
		return r;
	*pid = (pid_t)v;
	return 0;
}
