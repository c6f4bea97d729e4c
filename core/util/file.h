/* SPDX-License-Identifier: MIT */
#ifndef DEPLOY_FILE_H
#define DEPLOY_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/*
 * Files written so that a crash at any instant leaves either the old
 * content or the new one, never a mix, and directories made on the way.
 */

/*
 * Write all len bytes to fd: short writes are continued and EINTR retried.
 * 0, or -1 with errno kept from the write that failed.
 */
int write_all(int fd, const void *data, size_t len);

/* fsync the directory that holds path. 0, or -1 with errno kept. */
int fsync_dir_of(const char *path);

/*
 * Replace path with data in one step: a temporary file beside it (mode
 * `mode`, created exclusively), every byte written, fsynced, closed, then
 * renamed over path and the directory fsynced. When backup is not NULL the
 * previous file (if any) is first hard-linked to backup, so path is never
 * missing. On failure path is as it was, the temporary file is gone, and
 * err says "cannot write WHAT: REASON" at the file that failed (what: "the
 * state", "the lock file"; NULL for the path itself).
 */
int file_replace(const char *path, const void *data, size_t len, mode_t mode,
		 const char *backup, const char *what, struct error *err);

/*
 * Make directory path and its missing parents (parents 0755, path itself
 * `mode`); one that exists is fine. err names the directory that failed.
 */
int mkdir_p(const char *path, mode_t mode, struct error *err);

/* Milliseconds on the monotonic clock (for deadlines, not dates). */
long long now_ms(void);

#endif
