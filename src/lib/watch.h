/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Watching container layers (spec monitor §5): the overlay "diff" trees of
 * every container storage of a root (root's, each user's from
 * ROOT/etc/passwd, u7s-admin's), picking up new storages, layers and
 * directories as they appear.  File names are data: they are handed to the
 * caller as bytes and never interpreted.
 *
 * Two backends:
 *  - fanotify: one FAN_MARK_FILESYSTEM mark per filesystem holding a
 *    storage (FAN_REPORT_DFID_NAME).  Setting up costs nothing per
 *    directory.  Each event names its directory by a file handle, resolved
 *    with open_by_handle_at and cached (handle -> layer and in-layer
 *    directory, or "not a layer"); events outside the storages' diff trees
 *    are dropped.  Needs CAP_SYS_ADMIN (marks) and CAP_DAC_READ_SEARCH
 *    (handles) in the initial user namespace, Linux 5.9 or later, and
 *    filesystems that report file handles.  Events in a directory that was
 *    removed before the event was read cannot be placed and are counted.
 *  - inotify: one watch per directory, a table from watch descriptor to
 *    path.  Works everywhere; setting up walks every directory.
 * Both detect a queue overflow and rescan. */
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
        uint32_t mask;            /* IN_* bits (fanotify's FAN_* have the same values) */
        const char *message;      /* for OVERFLOW / LIMIT / NEW_*: a description */
} ps_watch_event;

typedef int (*ps_watch_fn)(void *ud, const ps_watch_event *ev);

typedef enum ps_watch_backend {
        PS_WATCH_AUTO,      /* fanotify when it can be used, inotify otherwise */
        PS_WATCH_INOTIFY,
        PS_WATCH_FANOTIFY,  /* fanotify or an error */
} ps_watch_backend;

/* ROOT: the root tree whose storages are watched (NULL = host).  With
 * PS_WATCH_AUTO the choice is final after ps_watch_setup. */
int ps_watch_new(const char *root, ps_watch_backend want, ps_watch **out, ps_error *err);
/* The backend in use (PS_WATCH_INOTIFY or PS_WATCH_FANOTIFY), and, when
 * PS_WATCH_AUTO fell back to inotify, why (else NULL). */
ps_watch_backend ps_watch_backend_used(const ps_watch *w);
const char *ps_watch_fallback_reason(const ps_watch *w);
/* What PS_WATCH_AUTO would choose for ROOT on this host now, without
 * setting anything up (for --help).  *WHY (malloc'd) says why not fanotify. */
ps_watch_backend ps_watch_probe(const char *root, char **why);
const char *ps_watch_backend_name(ps_watch_backend b);
void ps_watch_free(ps_watch *w);
/* Find the storages and add every watch; calls FN for NEW_STORAGE/LIMIT. */
int ps_watch_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);
/* The descriptor to poll for input. */
int ps_watch_fd(const ps_watch *w);
/* Read what is queued (non-blocking) and report it.  Returns the number of
 * events reported, or <0 on error. */
int ps_watch_process(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err);
/* Directories watched now (inotify; 0 with fanotify), storages found,
 * filesystems marked (fanotify; 0 with inotify). */
void ps_watch_counts(const ps_watch *w, size_t *dirs, size_t *storages, size_t *filesystems);
/* Events dropped because their directory was gone before it could be
 * placed (fanotify only). */
unsigned long ps_watch_unplaced(const ps_watch *w);
/* Escape a file name for a one-line log message: control bytes, '\\' and
 * bytes >= 0x7f as C escapes (\n, \t, \\, \xHH).  malloc'd. */
char *ps_watch_escape(const char *name, size_t len);
