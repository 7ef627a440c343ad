/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "error.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vfmt(const char *fmt, va_list ap)
{
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

int ps_error_set(ps_error *err, int code, const char *fmt, ...)
{
        if (code <= 0)
                code = code < 0 ? -code : EINVAL;
        if (!err)
                return -code;
        va_list ap;
        va_start(ap, fmt);
        char *m = vfmt(fmt, ap);
        va_end(ap);
        free(err->msg);
        err->msg = m;
        err->code = code;
        return -code;
}

int ps_error_errno(ps_error *err, int code, const char *fmt, ...)
{
        if (code <= 0)
                code = code < 0 ? -code : EINVAL;
        if (!err)
                return -code;
        va_list ap;
        va_start(ap, fmt);
        char *m = vfmt(fmt, ap);
        va_end(ap);
        char *full = NULL;
        if (m && asprintf(&full, "%s: %s", m, strerror(code)) < 0)
                full = NULL;
        free(m);
        free(err->msg);
        err->msg = full;
        err->code = code;
        return -code;
}

int ps_error_wrap(ps_error *err, const char *fmt, ...)
{
        if (!err)
                return -EINVAL;
        if (err->code == 0)
                err->code = EINVAL;
        va_list ap;
        va_start(ap, fmt);
        char *ctx = vfmt(fmt, ap);
        va_end(ap);
        char *full = NULL;
        if (ctx && asprintf(&full, "%s: %s", ctx, err->msg ? err->msg : "error") >= 0) {
                free(err->msg);
                err->msg = full;
        }
        free(ctx);
        return -err->code;
}

void ps_error_clear(ps_error *err)
{
        if (!err)
                return;
        free(err->msg);
        err->msg = NULL;
        err->code = 0;
}

char *ps_shown(const char *s, size_t len, size_t max)
{
        size_t m = len > max ? max : len;
        char *out = malloc(m * 4 + 4);
        if (!out)
                return NULL;
        char *p = out;
        for (size_t i = 0; i < m; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
                        *p++ = (char)c;
                } else {
                        snprintf(p, 5, "\\x%02x", c);
                        p += 4;
                }
        }
        if (m < len) {
                memcpy(p, "...", 3);
                p += 3;
        }
        *p = '\0';
        return out;
}
