/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Watching container layers (spec monitor §5): the overlay "diff" trees of
 * every container storage of a root (root's, each user's from
 * ROOT/etc/passwd, u7s-admin's), picking up new storages, layers and
 * directories as they appear.  inotify with one watch per directory, a
 * table from watch descriptor to path, queue-overflow detection followed by
 * a rescan.  File names are data: they are handed to the caller as bytes
 * and never interpreted. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

typedef struct ps_watch ps_watch;

typedef enum ps_watch_kind {
        PS_WATCH_FILE,       /* something happened to a file inside a layer */
        PS_WATCH_OVERFLOW,   /* the kernel queue overflowed: events were lost */
        PS_WATCH_RESCANNED,  /* after an overflow: the watches were rebuilt */
        PS_WATCH_NEW_LAYER,  /* a new layer diff tree is now watched */
        PS_WATCH_NEW_STORAGE,/* a new container storage is now watched */
        PS_WATCH_LIMIT,      /* a watch could not be added (limit reached) */
} ps_watch_kind;

typedef struct ps_watch_event {
        ps_watch_kind kind;
        const char *storage;      /* the storage's overlay directory */
        const char *layer;        /* layer id (directory name before "diff") */
        const char *dir;          /* in-layer directory, "/" or "/etc/" ... */
        const char *name;         /* the file name, as bytes (may contain anything but '/') */
        size_t name_len;
        const char *events;       /* "CREATE", "DELETE,ISDIR", "MODIFY", ... */
        uint32_t mask;            /* the raw IN_* mask */
        const char *message;      /* for OVERFLOW / LIMIT / NEW_*: a description */
} ps_watch_event;

typedef int (*ps_watch_fn)(void *ud, const ps_watch_event *ev);

/* ROOT: the root tree whose storages are watched (NULL = host). */
int ps_watch_new(const char *root, ps_watch **out, ps_error *err);
void ps_watch_free(ps_watch *w);
/* Find the storages and add every watch; calls FN for NEW_STORAGE/LIMIT. */
int ps_watch_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);
/* The descriptor to poll for input. */
int ps_watch_fd(const ps_watch *w);
/* Read what is queued (non-blocking) and report it.  Returns the number of
 * events reported, or <0 on error. */
int ps_watch_process(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);
/* Directories watched now, and storages found. */
void ps_watch_counts(const ps_watch *w, size_t *dirs, size_t *storages);
/* Escape a file name for a one-line log message: control bytes, '\\' and
 * bytes >= 0x7f as C escapes (\n, \t, \\, \xHH).  malloc'd. */
char *ps_watch_escape(const char *name, size_t len);
