/*
 * tuna.h - libtuna, the few pieces every step needs.
 *
 *   errors.h   die(), hint(), exit statuses, the undo stack
 *   explain.h  the -x/--explain trace
 *   trace.h    the calls the steps make, each tracing itself
 *   parse.h    sizes, percentages, durations, IPv4 CIDR, interface names, PIDs
 *   file.h     small files in /proc, /sys and cgroupfs
 *   mountinfo.h the mounts of this mount namespace (/proc/self/mountinfo)
 *   json.h     --json output
 *   syscalls.h calls glibc lacks
 *
 * No step logic lives here.
 */
#ifndef TUNA_H
#define TUNA_H

#include "errors.h"
#include "explain.h"
#include "file.h"
#include "json.h"
#include "mountinfo.h"
#include "parse.h"
#include "syscalls.h"
#include "trace.h"

/* Printed by every step's --version. */
#define TUNA_VERSION "0.1.0"

#endif
