/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error values with a message chain.  Library functions return an int
 * (>= 0 success, negative errno on failure) and fill a ps_error. */
#pragma once
#include <stddef.h>
#include <stdarg.h>

typedef struct ps_error {
        int code;       /* positive errno-style code, 0 when no error */
        char *msg;      /* human message, owned */
} ps_error;

#define PS_ERROR_INIT { 0, NULL }

/* Record an error; returns -code (or -EINVAL when code is 0) so that
 * "return ps_error_set(err, ...)" works.  Replaces an earlier message. */
int ps_error_set(ps_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Like ps_error_set but appends ": strerror(code)". */
int ps_error_errno(ps_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Prefix the current message with context ("context: old message").
 * Returns -err->code. */
int ps_error_wrap(ps_error *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void ps_error_clear(ps_error *err);
/* A printable, bounded rendering of untrusted text for messages: bytes
 * outside 0x20..0x7e, '\\' and '"' as \xHH; after MAX bytes, "...".
 * malloc'd (NULL when out of memory). */
char *ps_shown(const char *s, size_t len, size_t max);
static inline const char *ps_error_msg(const ps_error *err)
{
        return err && err->msg ? err->msg : "unknown error";
}
