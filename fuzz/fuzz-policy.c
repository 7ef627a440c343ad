/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: containers-policy.json parsing.  Whatever parses must
 * serialise, parse again (same flags) and serialise to the same bytes;
 * scope lookups and typed views of every requirement must not fail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int view_all(const char *transport, const char *scope, const json_t *reqs, void *ud)
{
        size_t i;
        json_t *r;
        json_array_foreach(reqs, i, r) {
                ps_requirement v;
                if (ps_requirement_view(r, &v, NULL) < 0)
                        abort();
                ps_requirement_view_clear(&v);
        }
        return 0;
}

static void check(const uint8_t *data, size_t size, unsigned flags)
{
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_policy_parse_flags((const char *)data, size, flags, &p, &err) < 0) {
                if (!err.msg)
                        abort();        /* every failure has a message */
                ps_error_clear(&err);
                return;
        }
        char *s1 = ps_policy_serialise(p);
        if (!s1)
                abort();
        ps_policy *q = NULL;
        if (ps_policy_parse_flags(s1, strlen(s1), flags, &q, &err) < 0)
                abort();
        char *s2 = ps_policy_serialise(q);
        if (!s2 || strcmp(s1, s2))
                abort();
        static const char *const refs[] = { "busybox", "registry.local/c10f/app:1", ("a.b.example.com:5000/x/y@sha256:"
                                            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") };
        for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
                const char *scope;
                ps_scope_kind kind;
                const json_t *reqs = NULL;
                if (ps_policy_scope_for(p, refs[i], &scope, &kind, &reqs, NULL) < 0 || !reqs)
                        abort();
        }
        view_all(NULL, NULL, ps_policy_default(p), NULL);
        ps_policy_foreach_scope(p, view_all, NULL);
        free(s1);
        free(s2);
        ps_policy_free(q);
        ps_policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        check(data, size, PS_POLICY_STRICT);
        check(data, size, PS_POLICY_COMPAT);
        return 0;
}
