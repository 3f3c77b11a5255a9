/*
 * caps.h - capability names, as capabilities(7) spells them, and the
 * --caps list parser.  A sibling of harden.c a first reading can skip: a
 * table and a parser, no kernel call.
 */
#ifndef TUNA_HARDEN_CAPS_H
#define TUNA_HARDEN_CAPS_H

#include <stddef.h>
#include <stdint.h>

/* The highest capability this table names (CAP_CHECKPOINT_RESTORE, 5.9). */
#define CAP_TABLE_LAST 40

/* "CAP_SYS_ADMIN", or NULL for a number the table does not know. */
const char *cap_name(unsigned cap);

/* One bit per capability: Docker's default set (moby's oci/caps/defaults.go). */
uint64_t cap_docker_default(void);

/*
 * Parse a --caps value: "default" (Docker's fourteen), "none", or a comma
 * list of names with or without CAP_ in any case ("chown,CAP_KILL").
 * 0 with *MASK set, or -EINVAL with BAD (of BAD_SIZE) holding the item
 * that is not a capability's name.
 */
int cap_parse_list(const char *text, uint64_t *mask, char *bad, size_t bad_size);

/* "CAP_CHOWN|CAP_KILL" (or "0") into BUF: the names of the bits in MASK. */
char *cap_mask_names(char *buf, size_t size, uint64_t mask);

#endif
