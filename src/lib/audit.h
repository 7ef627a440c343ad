/* SPDX-License-Identifier: GPL-2.0-or-later */
/* kube-apiserver audit log (audit.k8s.io/v1 Event, one JSON object per
 * line): a one-pass scanner for denied requests (responseStatus.code >= 400)
 * and a follower that survives rotation, truncation, partial lines and
 * restarts (spec monitor §6, §10; field notes §B8).
 *
 * The scanner decides almost every line without building a JSON tree: it
 * walks the top-level object (strings are skipped with memchr, nested
 * values by bracket depth), stops at the top-level "responseStatus" and
 * reads its "code".  Field order does not matter and bytes inside strings
 * (a requestURI containing "code":500, escaped quotes) are never mistaken
 * for structure.  Only the matching lines (a few per cent) are walked to the
 * end to extract their fields.  Whenever the fast walk cannot decide, the
 * line is parsed with jansson (JSON_REJECT_DUPLICATES), which is the
 * reference: for every line jansson accepts, both give the same verdict
 * and the same fields (tests/unit/test-audit.c, fuzz/fuzz-audit.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* ---- one line ---------------------------------------------------------- */

enum ps_audit_verdict {
        PS_AUDIT_INVALID = -1,  /* not a JSON text jansson accepts */
        PS_AUDIT_SKIP = 0,      /* no numeric responseStatus.code >= 400 */
        PS_AUDIT_MATCH = 1,     /* responseStatus.code >= 400 */
        PS_AUDIT_UNSURE = 2,    /* the fast walk could not decide */
};

/* Fast walk only: SKIP, MATCH or UNSURE.  It assumes well-formed JSON; a
 * malformed line may get SKIP (matching lines are always checked). */
int ps_audit_quick_verdict(const char *line, size_t len);
/* Reference verdict with a full jansson parse: SKIP, MATCH or INVALID. */
int ps_audit_full_verdict(const char *line, size_t len);
/* Quick verdict, falling back to the full parse when unsure. */
int ps_audit_verdict(const char *line, size_t len);

typedef struct ps_audit_event {
        const char *line;       /* the raw line (no '\n'), valid during a callback */
        size_t len;
        uint64_t offset;        /* byte offset of the line in its file (or buffer) */
        long code;              /* responseStatus.code, -1 when absent or not a number */
        char *timestamp;        /* requestReceivedTimestamp */
        char *source_ip;        /* sourceIPs[0] */
        char *verb;
        char *uri;              /* requestURI */
        char *username;         /* user.username */
        char *message;          /* responseStatus.message */
        char *reason;           /* responseStatus.reason */
        char *audit_id;         /* auditID */
        char *stage;
        char *user_agent;       /* userAgent (client-controlled!) */
        char *error;            /* set: the line is malformed, fields above are NULL */
} ps_audit_event;
/* Fields that are absent or not strings are NULL. */

/* Extract the fields of LINE with the fast walk (the whole line is walked;
 * structural damage, duplicate top-level keys, bad escapes or bad UTF-8 in
 * an extracted string give -EBADMSG).  *ev is reset first; free it with
 * ps_audit_event_clear(). */
int ps_audit_event_parse(const char *line, size_t len, ps_audit_event *ev, ps_error *err);
/* The same from a full jansson parse (the reference). */
int ps_audit_event_parse_full(const char *line, size_t len, ps_audit_event *ev, ps_error *err);
void ps_audit_event_clear(ps_audit_event *ev);
/* The original's event-file line: compact JSON
 * ["<requestReceivedTimestamp>","<sourceIPs[0]>","<responseStatus.message>"]
 * with null for a missing field.  malloc'd or NULL. */
char *ps_audit_event_projection(const ps_audit_event *ev);

/* ---- scanning ---------------------------------------------------------- */

typedef struct ps_audit_stats {
        uint64_t bytes;         /* bytes of complete lines processed */
        uint64_t lines;         /* non-empty lines */
        uint64_t matches;       /* events delivered (code >= 400) */
        uint64_t malformed;     /* malformed lines delivered with ev->error */
        uint64_t full_parses;   /* lines that needed jansson */
        uint64_t rotations;     /* follower: the path moved to a new file */
        uint64_t truncations;   /* follower: the file shrank or was rewritten */
        uint64_t lost;          /* follower: checkpointed file vanished while stopped */
} ps_audit_stats;

/* Called for every matching line (ev->error == NULL) and every line found
 * malformed while checking it (ev->error set).  A negative return stops the
 * scan; that line counts as not processed (the follower retries it). */
typedef int (*ps_audit_cb)(const ps_audit_event *ev, void *userdata, ps_error *err);

/* Longest line accepted; longer ones are reported malformed and skipped. */
#define PS_AUDIT_MAX_LINE ((size_t)64 << 20)

/* Process the complete lines of BUF[0..LEN) (with FINAL also an unterminated
 * last line).  BASE is the offset of BUF[0] for ev->offset.  *consumed gets
 * the number of bytes processed (up to the end of the last processed line)
 * even on error.  STATS may be NULL. */
int ps_audit_scan_buffer(const char *buf, size_t len, bool final, uint64_t base, ps_audit_cb cb,
                         void *userdata, ps_audit_stats *stats, size_t *consumed, ps_error *err);
/* Scan a whole file (read in large blocks) once. */
int ps_audit_scan_file(const char *path, ps_audit_cb cb, void *userdata, ps_audit_stats *stats,
                       ps_error *err);

/* ---- following --------------------------------------------------------- */

typedef struct ps_audit_follower ps_audit_follower;

enum {
        /* Without a usable checkpoint, start after the last complete line of
         * the existing file instead of at its beginning. */
        PS_AUDIT_FOLLOW_FROM_END = 1 << 0,
};

/* Follow PATH by name.  CHECKPOINT (may be NULL: none) holds the file's
 * device and inode, the offset after the last processed line, a hash of
 * the file's first bytes (to recognise a recycled inode) and the timestamp
 * of the last event; it is rewritten atomically after every poll that made
 * progress.  A damaged checkpoint gives -EBADMSG (remove it to start over).
 * PATH need not exist yet. */
int ps_audit_follow_open(const char *path, const char *checkpoint, unsigned flags,
                         ps_audit_follower **out, ps_error *err);
/* Process everything available now and return the number of events
 * delivered (this is --once).  Handles: the file appearing later; rotation
 * by rename (the old file, kept open, is read to its end first; after a
 * restart the checkpointed file is looked up by inode in PATH's directory
 * and finished before the new one); truncation or rewrite in place (read
 * again from 0); a last line without '\n' (kept until it is completed).
 * Every line is delivered once; a crash between a callback and the
 * checkpoint write repeats at most the lines of that poll. */
int ps_audit_follow_poll(ps_audit_follower *f, ps_audit_cb cb, void *userdata, ps_error *err);
/* Block until PATH's directory reports a change or TIMEOUT_MS passes
 * (-1: forever).  Returns 1 on a change (poll again), 0 on timeout.
 * Changes of the checkpoint itself are ignored.  Without a watchable
 * directory it sleeps min(TIMEOUT_MS, 1 s) and returns 1.  A rotated file
 * moved to another directory is not watched: daemons should use a finite
 * timeout (seconds) and poll after it too. */
int ps_audit_follow_wait(ps_audit_follower *f, int timeout_ms, ps_error *err);
/* The inotify descriptor (readable when something changed) for callers
 * with their own event loop, or -1 while the directory is missing; call
 * ps_audit_follow_wait(f, 0, …) to drain it. */
int ps_audit_follow_fd(const ps_audit_follower *f);
/* Write the checkpoint now (no-op when nothing changed). */
int ps_audit_follow_checkpoint(ps_audit_follower *f, ps_error *err);
/* Timestamp of the last delivered event (from the checkpoint at start), or NULL. */
const char *ps_audit_follow_last_timestamp(const ps_audit_follower *f);
/* Current position: offset after the last processed line. */
uint64_t ps_audit_follow_offset(const ps_audit_follower *f);
const ps_audit_stats *ps_audit_follow_stats(const ps_audit_follower *f);
/* Close everything (no checkpoint write: call ps_audit_follow_checkpoint). */
void ps_audit_follow_free(ps_audit_follower *f);
