/*
 * try.h - 08-harden --try: the escapes of the lesson, attempted one by one,
 * each reported with what the kernel answered.  A sibling of harden.c a
 * first reading can skip.
 */
#ifndef TUNA_HARDEN_TRY_H
#define TUNA_HARDEN_TRY_H

/* "core_pattern,sysrq,..." for --help. */
const char *try_names(void);

/*
 * Attempt each escape in LIST (comma-separated; "all" for the lab's set) in
 * this process, as it stands, and print one line each:
 *
 *   ESCAPE  open|closed  ERRNO|0  what was tried and what came back
 *
 * "open" means the door is open: the call did what an attacker needs.
 * Nothing on the machine is changed: files are opened, never written;
 * mounts are undone at once; probe nodes are removed.  Returns the exit
 * status: 0, or 2 (after dying) for a name it does not know.
 */
int try_escapes(const char *list);

#endif
