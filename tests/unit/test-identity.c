/* SPDX-License-Identifier: GPL-2.0-or-later */
/* signedIdentity matching: a table of cases with the verdicts of
 * containers/image (signature/policy_reference_match.go), plus the
 * remapIdentity rewriting on its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "identity.h"

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D1 "@sha256:" H1
#define D2 "@sha256:" H2

typedef struct tcase {
        ps_ident_type type;
        const char *arg1;      /* dockerReference / dockerRepository / prefix */
        const char *arg2;      /* signedPrefix */
        const char *intended;
        const char *signed_ref;
        int want;
} tcase;

#define EXACT PS_IDENT_MATCH_EXACT
#define RDOE PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT
#define REPO PS_IDENT_MATCH_REPOSITORY
#define XREF PS_IDENT_EXACT_REFERENCE
#define XREPO PS_IDENT_EXACT_REPOSITORY
#define REMAP PS_IDENT_REMAP_IDENTITY

static const tcase cases[] = {
        /* matchExact */
        { EXACT, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b:1", 1 },
        { EXACT, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b:2", 0 },
        { EXACT, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b", 0 },
        { EXACT, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b" D1, 1 },
        { EXACT, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b:1", 0 },
        { EXACT, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b" D2, 0 },
        { EXACT, NULL, NULL, "registry.local/a/b", "registry.local/a/b:latest", 1 },
        { EXACT, NULL, NULL, "busybox:1", "docker.io/library/busybox:1", 1 },
        { EXACT, NULL, NULL, "registry.local/a/b:1", "registry.local/a/c:1", 0 },
        { EXACT, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b:1" D1, 0 },
        /* matchRepoDigestOrExact (the default) */
        { RDOE, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b:1", 1 },
        { RDOE, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b:2", 0 },
        { RDOE, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b:1", 1 },
        { RDOE, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b" D2, 1 },
        { RDOE, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/c:1", 0 },
        { RDOE, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b", 0 },
        { RDOE, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b" D1, 0 },
        { RDOE, NULL, NULL, "docker.io/library/busybox", "busybox:latest", 1 },
        { RDOE, NULL, NULL, "busybox", "busybox", 0 },
        { RDOE, NULL, NULL, "registry.local/a/b:1", "Registry.local/A/b:1", 0 },
        { RDOE, NULL, NULL, "registry.local/a/b:1", H1, 0 },
        { RDOE, NULL, NULL, "registry.local:5000/x:1", "registry.local/x:1", 0 },
        { RDOE, NULL, NULL, "registry.local/x:1", "registry.local:5000/x:1", 0 },
        { RDOE, NULL, NULL, "registry.local/x:1", "", 0 },
        { RDOE, NULL, NULL, "registry.local/x:1", "registry.local/x:1 ", 0 },
        { RDOE, NULL, NULL, "localhost/x:1", "localhost/x:1", 1 },
        /* matchRepository */
        { REPO, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b:2", 1 },
        { REPO, NULL, NULL, "registry.local/a/b:1", "registry.local/a/b", 1 },
        { REPO, NULL, NULL, "registry.local/a/b:1", "registry.local/a/c:1", 0 },
        { REPO, NULL, NULL, "registry.local/a/b" D1, "registry.local/a/b:9", 1 },
        { REPO, NULL, NULL, "registry.local/a:1", "registry.local/a/b:1", 0 },
        { REPO, NULL, NULL, "ubuntu:22.04", "docker.io/library/ubuntu" D2, 1 },
        /* exactReference: the image reference is not consulted */
        { XREF, "registry.local/a/b:1", NULL, "other.example/x:9", "registry.local/a/b:1", 1 },
        { XREF, "registry.local/a/b:1", NULL, "registry.local/a/b:1", "registry.local/a/b:2", 0 },
        { XREF, "registry.local/a/b" D1, NULL, "registry.local/a/b:1", "registry.local/a/b" D1, 1 },
        { XREF, "registry.local/a/b:1", NULL, "registry.local/a/b:1", "registry.local/a/b", 0 },
        { XREF, "registry.local/a/b", NULL, "registry.local/a/b:1", "registry.local/a/b", 0 },
        { XREF, "busybox:1", NULL, "registry.local/x:1", "docker.io/library/busybox:1", 1 },
        /* exactRepository */
        { XREPO, "registry.local/a/b", NULL, "other.example/x:9", "registry.local/a/b:7", 1 },
        { XREPO, "registry.local/a/b", NULL, "registry.local/a/b:1", "registry.local/a/b" D1, 1 },
        { XREPO, "registry.local/a/b", NULL, "registry.local/a/b:1", "registry.local/a/c:1", 0 },
        { XREPO, "registry.local/a/b", NULL, "registry.local/a/b:1", "registry.local/a/b", 1 },
        { XREPO, "registry.local/a", NULL, "registry.local/a/b:1", "registry.local/a/b:1", 0 },
        /* remapIdentity */
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app:1", "registry.local/ns/app:1", 1 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app:1", "mirror.local/ns/app:1", 0 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "other.local/ns/app:1", "other.local/ns/app:1", 1 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/nsx/app:1", "registry.local/nsx/app:1", 0 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/nsx/app:1", "mirror.local/nsx/app:1", 1 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/ns" D1, "registry.local/ns:5", 1 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app:1", "registry.local/ns/app:2", 0 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app" D1, "registry.local/ns/app:2", 1 },
        { REMAP, "mirror.local", "docker.io/library", "mirror.local/busybox:1", "busybox:1", 1 },
        { REMAP, "mirror.local", "docker.io", "mirror.local/busybox:1", "docker.io/busybox:1", 0 },
        { REMAP, "mirror.local:5000", "registry.local", "mirror.local:5000/a:1", "registry.local/a:1", 1 },
        { REMAP, "mirror.local", "registry.local", "mirror.local:5000/a:1", "registry.local/a:1", 0 },
        { REMAP, "docker.io", "registry.local", "busybox:1", "registry.local/library/busybox:1", 1 },
        { REMAP, "docker.io/library/busybox", "registry.local/bb", "busybox", "registry.local/bb:latest", 1 },
        { REMAP, "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app:1", "registry.local/ns/app", 0 },
};

static void test_table(void **state)
{
        (void)state;
        unsigned bad = 0;
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                const tcase *c = &cases[i];
                ps_identity id = { .type = c->type };
                if (c->type == XREF)
                        id.docker_reference = c->arg1;
                else if (c->type == XREPO)
                        id.docker_repository = c->arg1;
                else if (c->type == REMAP) {
                        id.prefix = c->arg1;
                        id.signed_prefix = c->arg2;
                }
                ps_error err = PS_ERROR_INIT;
                _cleanup_free_ char *why = NULL;
                int r = ps_identity_match(&id, c->intended, c->signed_ref, &why, &err);
                if (r != c->want) {
                        print_error("case %zu: %s %s/%s, intended %s, signed %s: got %d, want %d (%s)\n", i,
                                    ps_ident_type_name(c->type), c->arg1 ? c->arg1 : "-", c->arg2 ? c->arg2 : "-",
                                    c->intended, c->signed_ref, r, c->want, r < 0 ? ps_error_msg(&err) : why ? why : "");
                        bad++;
                }
                /* a mismatch always comes with a reason */
                if (r == 0 && (!why || !*why)) {
                        print_error("case %zu: mismatch without a reason\n", i);
                        bad++;
                }
                if (r == 1 && why) {
                        print_error("case %zu: a match with a reason\n", i);
                        bad++;
                }
                ps_error_clear(&err);
        }
        assert_int_equal(bad, 0);
        assert_true(PS_ARRAY_SIZE(cases) >= 40);
}

static void test_reasons(void **state)
{
        (void)state;
        ps_identity id = { .type = RDOE, .implicit = true };
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *why = NULL;
        assert_int_equal(ps_identity_match(&id, "registry.local/a:1", "registry.local/a:2", &why, &err), 0);
        assert_non_null(strstr(why, "registry.local/a:2"));
        assert_non_null(strstr(why, "registry.local/a:1"));
        free(why);
        why = NULL;
        assert_int_equal(ps_identity_match(&id, "registry.local/a:1", "NOT VALID", &why, &err), 0);
        assert_non_null(strstr(why, "not a valid docker reference"));
        /* WHY may be NULL */
        assert_int_equal(ps_identity_match(&id, "registry.local/a:1", "registry.local/a:1", NULL, &err), 1);
        assert_int_equal(ps_identity_match(&id, "registry.local/a:1", "registry.local/a:3", NULL, &err), 0);
}

static void test_invalid_intended(void **state)
{
        (void)state;
        ps_identity id = { .type = RDOE };
        ps_error err = PS_ERROR_INIT;
        char *why = NULL;
        assert_int_equal(ps_identity_match(&id, "UPPER/case:1", "registry.local/a:1", &why, &err), -EINVAL);
        assert_null(why);
        assert_non_null(strstr(ps_error_msg(&err), "UPPER/case:1"));
        ps_error_clear(&err);
        assert_int_equal(ps_identity_match(&id, "", "registry.local/a:1", &why, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_remap(void **state)
{
        (void)state;
        static const struct {
                const char *prefix, *signed_prefix, *in, *out;
                int want;
        } t[] = {
                { "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app:1", "registry.local/ns/app:1", 1 },
                { "mirror.local/ns", "registry.local/ns", "mirror.local/ns/app", "registry.local/ns/app:latest", 1 },
                { "mirror.local/ns", "registry.local/ns", "mirror.local/ns" D1, "registry.local/ns" D1, 1 },
                { "mirror.local/ns", "registry.local/ns", "mirror.local/nsx/app:1", "mirror.local/nsx/app:1", 0 },
                { "mirror.local", "docker.io/library", "mirror.local/busybox:1", "docker.io/library/busybox:1", 1 },
                { "docker.io/library", "registry.local", "busybox", "registry.local/busybox:latest", 1 },
                { "mirror.local", "docker.io", "mirror.local/busybox:1", NULL, -EINVAL },
                { "mirror.local", "registry.local/Upper", "mirror.local/x:1", NULL, -EINVAL },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                ps_error err = PS_ERROR_INIT;
                _cleanup_free_ char *out = NULL;
                int r = ps_identity_remap(t[i].prefix, t[i].signed_prefix, t[i].in, &out, &err);
                if (r != t[i].want)
                        fail_msg("remap %zu (%s): got %d, want %d: %s", i, t[i].in, r, t[i].want, ps_error_msg(&err));
                if (r >= 0)
                        assert_string_equal(out, t[i].out);
                else
                        assert_null(out);
                ps_error_clear(&err);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_reasons),
                cmocka_unit_test(test_invalid_intended),
                cmocka_unit_test(test_remap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
