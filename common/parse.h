/*
 * parse.h - strict parsers for what users type.
 *
 * Every parser takes the whole string: empty input, leading or trailing
 * junk ("12Q", " 5", "5 "), signs where a sign means nothing, and values
 * that overflow are refused.  They return 0 on success, -EINVAL for a
 * malformed string and -ERANGE for a well-formed one out of range; the
 * step turns that into "NN-name: --memory '12Q': not a size" and exit 2.
 */
#ifndef TUNA_PARSE_H
#define TUNA_PARSE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

/* Decimal digits only, in [min, max]. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_int(const char *s, int min, int max, int *out);

/*
 * A size in bytes: "4096", "200K", "200M", "1G", "2T" (case-insensitive,
 * powers of 1024, as ls, stress and the cgroup files take them; an optional
 * "B" or "iB" after the letter is allowed: "200MiB").
 */
int parse_size(const char *s, uint64_t *bytes);

/*
 * A percentage: "20%", "150%", "12.5%".  The '%' is required so that
 * "--cpu 20" cannot be mistaken for 20 microseconds.  At most three
 * decimals.  Returned in thousandths of a percent (20% -> 20000).
 */
int parse_percent(const char *s, uint64_t *milli_percent);

/*
 * A duration: "10s", "500ms", "2m", "1h", "1d"; a bare number is seconds,
 * as stress's --timeout takes it.  Returned in milliseconds.
 */
int parse_duration(const char *s, uint64_t *ms);

/* A dotted-quad IPv4 address, four decimal numbers 0..255, no shortcuts. */
int parse_ipv4(const char *s, struct in_addr *addr);

/* "172.17.0.2/16".  The prefix is required, 0..32. */
int parse_ipv4_cidr(const char *s, struct in_addr *addr, unsigned *prefix_len);

/* True when ADDR has bits set past PREFIX_LEN ("172.17.0.1/16"). */
int ipv4_has_host_bits(struct in_addr addr, unsigned prefix_len);

/*
 * An interface name the kernel will take: 1..15 bytes (IFNAMSIZ - 1), not
 * "." or "..", no '/', ':' or white space.  -ERANGE when too long.
 */
int parse_ifname(const char *s);

/*
 * The largest PID the kernel hands out, and the largest pids.max: 4194304
 * on 64-bit (PID_MAX_LIMIT, include/linux/threads.h; not in the UAPI).
 */
#define PID_MAX_LIMIT 4194304

/* A process ID: 1 .. PID_MAX_LIMIT. */
int parse_pid(const char *s, pid_t *pid);

#endif
