/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the watcher: what watch.c (discovery, inotify) and
 * watch-fanotify.c share.  Not for other modules. */
#pragma once
#include "watch.h"
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/types.h>

enum wkind { W_DISCOVERY, W_OVERLAY, W_LAYER, W_DIFF, W_OTHER, W_GONE };

struct wrec;

struct fmount;
struct fentry;

struct ps_watch {
        char *root;
        int fd;
        ps_watch_backend want, backend;
        char *reason;
        /* inotify */
        struct wrec **by_wd;
        size_t cap;
        size_t ndirs;
        char **storages;
        size_t nstorages;
        bool limit_reported;
        /* fanotify */
        char **cands;         /* every storage that may exist (canonical paths) */
        bool *cand_home;      /* ... and whether its home exists */
        size_t ncands;
        char *etcdir;         /* canonical ROOT/etc */
        struct fmount *mounts;
        size_t nmounts;
        size_t nfs;
        struct fentry **cache;
        size_t ncache;
        unsigned long unplaced;
};

/* Every place a storage may be: root's, u7s-admin's, and each passwd
 * user's.  CB gets the home and the overlay directory (host paths, under
 * the root). */
typedef int (*watch_cand_fn)(ps_watch *w, const char *home, const char *overlay, void *ctx);
/* ALL_HOMES: also users whose home does not exist (yet). */
int watch_for_each_candidate(ps_watch *w, bool all_homes, watch_cand_fn cb, void *ctx);

int watch_report(ps_watch_fn fn, void *ud, ps_watch_kind kind, const char *msg);
int watch_emit_file(ps_watch *w, ps_watch_fn fn, void *ud, size_t storage, const char *layer, const char *indir,
                    const char *name, size_t name_len, uint32_t mask, const char *events);
void watch_clear_storages(ps_watch *w);
void watch_set_reason(ps_watch *w, const char *what, int e);
/* Read what is queued: bytes, 0 when nothing is, -1 with ERR set. */
ssize_t watch_read(ps_watch *w, void *buf, size_t size, ps_error *err);
int watch_ino_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);

/* watch-fanotify.c */
/* A file handle with room for any handle the kernel reports. */
union watch_fhandle {
        struct file_handle fh;
        unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};

/* One fanotify event, parsed (FAN_REPORT_DFID_NAME). */
typedef struct watch_fan_rec {
        uint64_t mask;
        int fd;                      /* FAN_NOFD with FID reporting */
        bool has_name;               /* a directory handle and an entry name */
        int fsid[2];
        union watch_fhandle handle;  /* an aligned copy */
        const char *name;            /* in the buffer; NUL-terminated */
        size_t name_len;
} watch_fan_rec;

/* The event at *OFF of a buffer read from a fanotify descriptor: 1 with
 * *REC filled and *OFF advanced, 0 at the end, -EBADMSG for a malformed
 * event, -EPROTO for another metadata version.  Reads the buffer through
 * copies: events are only 4-byte aligned. */
int watch_fan_next(const void *buf, size_t len, size_t *off, watch_fan_rec *rec);

int watch_fan_init(void);
void watch_fan_release(ps_watch *w);
int watch_fan_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);
int watch_fan_process(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);
