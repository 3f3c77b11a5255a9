/*
 * show.h - what nat.c and show.c share.
 */
#ifndef NAT_SHOW_H
#define NAT_SHOW_H

#include "nl.h"

#define IPV4_SADDR_OFFSET 12   /* source address in the IPv4 header (RFC 791) */
#define IPV4_ADDR_LEN 4

/* Dump TABLE's rules (family ip) and print them, or JSON.  0 or -errno. */
int nat_show_rules(struct nl_socket *nl, const char *table, int json);

#endif
