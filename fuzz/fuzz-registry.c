/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the registry client's parsers of outside text
 * (WWW-Authenticate, JSON error bodies, Link, Range, Location, names).
 * Invariants: no crash, messages free of control characters, a parsed
 * Range is non-negative, a resolved Location is http(s). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_controls(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; s && *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';

        ps_auth_challenge c;
        if (ps_registry_parse_challenge(s, &c, NULL) == 0) {
                if (!c.scheme || !*c.scheme)
                        abort();
                ps_auth_challenge_free(&c);
        }

        char *t = ps_registry_error_text(s, size);
        no_controls(t);
        free(t);

        t = ps_registry_link_next(s);
        free(t);

        int64_t next = -1;
        int r = ps_registry_parse_range(s, &next);
        if (r >= 0 && next < 0)
                abort();

        t = ps_registry_resolve_url("http://127.0.0.1:5000/v2/a/blobs/uploads/x", s);
        if (t && strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0)
                abort();
        if (t) {
                char *q = ps_registry_url_add_query(t, "digest", s);
                free(q);
        }
        free(t);

        (void)ps_registry_valid_repo(s);
        (void)ps_registry_valid_tag(s);
        (void)ps_registry_valid_digest(s);
        (void)ps_registry_valid_host(s);
        free(s);
        return 0;
}
