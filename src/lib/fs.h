/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files: root-prefixed paths, atomic replace, the dated-file + symlink
 * scheme, O_EXCL creation.  Every function that changes the filesystem
 * calls ps_fault_point() after each durable step (fault-injection builds
 * abort there when PODSEC_FAULT_AFTER=N is reached). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include "error.h"

/* ROOT + PATH.  root NULL, "" or "/" means the host.  A relative PATH is
 * taken relative to the root's "/".  Returns a malloc'd string or NULL
 * (ENOMEM). */
char *ps_root_path(const char *root, const char *path);
/* Join two path components with exactly one '/'. */
char *ps_path_join(const char *a, const char *b);

/* Read a whole file (at most max bytes, else -EFBIG).  *out is
 * NUL-terminated; len may be NULL. */
int ps_read_file(const char *path, size_t max, char **out, size_t *len, ps_error *err);
/* fstat FD into *ST: a regular file of at most MAX bytes, else an error
 * naming SHOWN (EINVAL, EFBIG). */
int ps_fstat_regular(int fd, const char *shown, size_t max, struct stat *st, ps_error *err);
/* Read FD to its end into *OUT (malloc'd, NUL-terminated): at most MAX
 * bytes, else EFBIG; SIZE_HINT is the size expected (st_size) and SHOWN
 * names the file in messages.  LEN may be NULL. */
int ps_read_fd(int fd, const char *shown, size_t max, size_t size_hint, char **out, size_t *len, ps_error *err);
/* Atomically replace PATH: temp file in the same directory, write, fchmod,
 * fsync, rename, fsync the directory. */
int ps_write_atomic(const char *path, const void *data, size_t len, mode_t mode, ps_error *err);
/* Create PATH with O_CREAT|O_EXCL and write DATA; -EEXIST if it exists. */
int ps_create_excl(const char *path, const void *data, size_t len, mode_t mode, ps_error *err);
/* Point LINKPATH at TARGET atomically (symlink to a temp name, rename). */
int ps_symlink_atomic(const char *target, const char *linkpath, ps_error *err);
/* mkdir -p; the last component gets MODE (parents 0755).  Existing
 * directories are left alone. */
int ps_mkdir_p(const char *path, mode_t mode, ps_error *err);
int ps_fsync_dir(const char *dir);
/* Change owner/group/mode only where they differ.  uid/gid (uid_t)-1 = keep.
 * *changed is set true when something changed (may be NULL). */
int ps_set_owner_mode(const char *path, uid_t uid, gid_t gid, mode_t mode, bool *changed, ps_error *err);
bool ps_file_exists(const char *path);
/* true when both files exist and have the same bytes */
bool ps_same_content(const char *path, const void *data, size_t len);

/* "YYYY-MM-DD_HH:MM:SS" in local time (spec core §0.4). */
void ps_timestamp(time_t t, char buf[static 32]);

/* The dated-file + symlink scheme (spec core §3.1).
 *   DIR/NAME  -> symlink to DIR/<dated_prefix><now>
 * If DIR/NAME is a regular file, it is first preserved as
 * DIR/<backup_prefix><yesterday> by a hard link (so there is never a moment
 * without NAME).  A crash at any point leaves NAME as the old or the new
 * version.  *target (optional) gets the dated base name used. */
typedef struct ps_dated {
        const char *dir;            /* absolute, already root-prefixed */
        const char *name;           /* e.g. "policy.json" */
        const char *dated_prefix;   /* e.g. "policy_" */
        const char *backup_prefix;  /* e.g. "policy_" or "default.yaml." */
        mode_t mode;
} ps_dated;
int ps_dated_install(const ps_dated *d, time_t now, const void *data, size_t len,
                     char **target, ps_error *err);

/* Fault injection (debug builds only; a no-op otherwise). */
void ps_fault_point(void);
