/*
 * file.h - small files in /proc, /sys and cgroupfs.
 *
 * These files are not ordinary files: each write(2) is one command to the
 * kernel, and the kernel's answer is write's return value.  So a value goes
 * in one write() call, and a refusal ("Invalid argument" for
 * cpu.cfs_quota_us = 20) comes back as -errno for the step to report with
 * the path.  With --explain each write is traced as the post's `echo`.
 */
#ifndef TUNA_FILE_H
#define TUNA_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read the whole of PATH into BUF (NUL-terminated, one trailing newline
 * removed).  Returns the length, or -errno; -EFBIG if it does not fit.
 */
int file_read(const char *path, char *buf, size_t size);

/* Read a file holding one unsigned decimal number. -EINVAL if it does not. */
int file_read_u64(const char *path, uint64_t *value);

/*
 * Write TEXT to PATH in one write(2), the way `echo TEXT > PATH` does
 * (without the newline, which the kernel ignores).  0 or -errno.  Traced:
 * the same as traced_write_file(NULL, PATH, TEXT) (trace.h).
 */
int file_write(const char *path, const char *text);

__attribute__((format(printf, 2, 3)))
int file_writef(const char *path, const char *fmt, ...);

/*
 * Find KEY in a "key value" file (cpu.stat, memory.events, memory.stat,
 * /proc/PID/status with its "Key:\tvalue") and parse the number after it.
 * -ENOENT when the key is absent.
 */
int file_read_key_u64(const char *path, const char *key, uint64_t *value);

/* 1 if PATH exists, 0 if not. */
int path_exists(const char *path);

#endif
