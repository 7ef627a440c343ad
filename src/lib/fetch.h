/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small HTTP(S) GET for files that podsec downloads and then validates
 * (the keys and the policy a client node takes from the signature server).
 *
 * Rules, all enforced here:
 *   - http:// and https:// only, for the URL and for every redirect (at
 *     most PS_FETCH_MAX_REDIRECTS; a redirect to file://, ftp://, ... is
 *     refused); https verifies the server certificate (system CAs);
 *   - the body is limited to max_size bytes: a larger Content-Length is
 *     refused before the body is read, and a body that grows beyond the
 *     limit is cut off at once;
 *   - a connect timeout, a total timeout and a stall timeout (less than
 *     1 byte/s for stall_s seconds);
 *   - only status 200 is success.
 *
 * Errors (negative errno, with URL, status or curl's reason in the message):
 *   -EINVAL            not an http/https URL (or it has white space or
 *                      control characters)
 *   -EPROTO            redirected to a scheme other than http/https, or
 *                      too many redirects
 *   -EFBIG             the body is larger than max_size
 *   -ENOENT            HTTP 404 or 410
 *   -EREMOTEIO         any other status than 200 (out->status has it)
 *   -ECONNREFUSED      nothing listens there
 *   -ETIMEDOUT         a timeout expired
 *   -EHOSTUNREACH      name resolution or routing failed
 *   -ECONNRESET, -EIO  the transfer broke off; TLS errors are -EIO
 * ps_fetch_unreachable() tells the "could not get an answer" group apart
 * from answers that were refused (-EINVAL, -EPROTO, -EFBIG). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define PS_FETCH_MAX_REDIRECTS 5

typedef struct ps_fetch_opts {
        size_t max_size;              /* required: largest body accepted */
        long connect_timeout_ms;      /* 0: 10 s */
        long timeout_ms;              /* whole transfer; 0: 60 s */
        long stall_s;                 /* 0: 15 s */
        /* curl "HOST:PORT:ADDRESS" entries that bind names without asking
         * the resolver (NULL-terminated, or NULL) */
        const char *const *resolve;
        const char *user_agent;       /* NULL: "podsec/VERSION" */
} ps_fetch_opts;

typedef struct ps_fetch_result {
        long status;                  /* last HTTP status, 0 when there was no answer */
        char *data;                   /* body, NUL-terminated (malloc'd); NULL on error */
        size_t len;
        char *effective_url;          /* after redirects (malloc'd) */
} ps_fetch_result;

/* Check that URL is an http:// or https:// URL without blanks or control
 * characters. */
int ps_fetch_url_check(const char *url, ps_error *err);

/* GET URL.  On success out->data holds the body (and effective_url the URL
 * after redirects); on failure only out->status may be set (nothing to
 * free). */
int ps_fetch(const char *url, const ps_fetch_opts *opts, ps_fetch_result *out, ps_error *err);
void ps_fetch_result_clear(ps_fetch_result *r);

/* true for the errors that mean "no usable answer from the server"
 * (connection, timeout, resolution, transfer, HTTP error status). */
bool ps_fetch_unreachable(int r);
