/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: docker reference parsing.  A parsed reference prints
 * to a string that parses to the same reference; its namespaces and
 * identity can be computed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *s, unsigned flags)
{
        ps_reference r;
        ps_error err = PS_ERROR_INIT;
        if (ps_reference_parse_flags(s, flags, &r, &err) < 0) {
                if (!err.msg)
                        abort();
                ps_error_clear(&err);
                return;
        }
        char *str = ps_reference_string(&r);
        if (!str)
                abort();
        ps_reference r2;
        if (ps_reference_parse_flags(str, flags, &r2, NULL) < 0)
                abort();
        char *str2 = ps_reference_string(&r2);
        if (!str2 || strcmp(str, str2) || strcmp(r.domain, r2.domain) || strcmp(r.path, r2.path))
                abort();
        char **ns = ps_reference_namespaces(&r, NULL);
        if (!ns || !ns[0] || strcmp(ns[0], r.name))
                abort();
        ps_strv_free(ns);
        char *id = NULL;
        if (ps_reference_identity(&r, &id, &err) < 0) {
                if (!(r.tag && r.digest))
                        abort();
                ps_error_clear(&err);
        }
        free(id);
        char *fam = ps_reference_familiar(&r);
        if (!fam)
                abort();
        free(fam);
        free(str);
        free(str2);
        ps_reference_free(&r2);
        ps_reference_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        check(s, 0);
        check(s, PS_REF_ALLOW_IPV6);
        free(s);
        return 0;
}
