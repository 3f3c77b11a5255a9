/*
 * show.h - 05-veth show, in show.c.
 */
#ifndef VETH_SHOW_H
#define VETH_SHOW_H

#include "nl.h"

/* Print the links and IPv4 addresses of NL's network namespace (or JSON). */
void veth_show(struct nl_socket *nl, int json);

#endif
