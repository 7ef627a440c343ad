/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "policy.h"

#define H64AB "abababababababababababababababababababababababababababababababab"
#define H64CD "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"

static char *fixture(const char *rel)
{
        const char *dir = getenv("PODSEC_FIXTURES");
        assert_non_null(dir);
        char *p = NULL;
        assert_true(asprintf(&p, "%s/policy/%s", dir, rel) > 0);
        return p;
}

static char *slurp(const char *path, size_t *len)
{
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(path, 64u << 20, &buf, len, &err) < 0)
                fail_msg("%s", ps_error_msg(&err));
        return buf;
}

/* the .json files of a fixture directory, sorted */
static char **list_json(const char *sub, size_t *n)
{
        _cleanup_free_ char *dir = fixture(sub);
        struct dirent **ents = NULL;
        int cnt = scandir(dir, &ents, NULL, alphasort);
        assert_true(cnt >= 0);
        char **v = calloc((size_t)cnt + 1, sizeof(char *));
        assert_non_null(v);
        *n = 0;
        for (int i = 0; i < cnt; i++) {
                size_t l = strlen(ents[i]->d_name);
                if (l > 5 && !strcmp(ents[i]->d_name + l - 5, ".json"))
                        assert_true(asprintf(&v[(*n)++], "%s/%.*s", dir, (int)(l - 5), ents[i]->d_name) > 0);
                free(ents[i]);
        }
        free(ents);
        return v;
}

static char *with_ext(const char *base, const char *ext)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s%s", base, ext) > 0);
        return p;
}

static ps_policy *parse_str(const char *s, unsigned flags)
{
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_policy_parse_flags(s, strlen(s), flags, &p, &err) < 0)
                fail_msg("parse: %s", ps_error_msg(&err));
        return p;
}

/* ---- golden files ----------------------------------------------------- */

static void test_golden_valid(void **s)
{
        size_t n;
        _cleanup_strv_ char **files = list_json("valid", &n);
        assert_true(n >= 10);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *in = with_ext(files[i], ".json");
                _cleanup_free_ char *outp = with_ext(files[i], ".out");
                size_t len, olen;
                _cleanup_free_ char *text = slurp(in, &len);
                _cleanup_free_ char *want = slurp(outp, &olen);
                ps_policy *p = NULL, *q = NULL;
                ps_error err = PS_ERROR_INIT;
                if (ps_policy_parse(text, len, &p, &err) < 0)
                        fail_msg("%s: %s", in, ps_error_msg(&err));
                _cleanup_free_ char *got = ps_policy_serialise(p);
                assert_non_null(got);
                if (strcmp(got, want))
                        fail_msg("%s: serialisation differs from jq:\n%s\n---- want:\n%s", in, got, want);
                /* the output parses again to the same bytes */
                assert_int_equal(ps_policy_parse(got, strlen(got), &q, &err), 0);
                _cleanup_free_ char *again = ps_policy_serialise(q);
                assert_string_equal(again, got);
                ps_policy_free(q);
                ps_policy_free(p);
                /* COMPAT accepts everything STRICT does */
                assert_int_equal(ps_policy_parse_flags(text, len, PS_POLICY_COMPAT, &p, &err), 0);
                ps_policy_free(p);
        }
}

static void check_rejects(const char *sub, bool compat_accepts)
{
        size_t n;
        _cleanup_strv_ char **files = list_json(sub, &n);
        assert_true(n >= 10);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *in = with_ext(files[i], ".json");
                _cleanup_free_ char *errp = with_ext(files[i], ".err");
                size_t len, elen;
                _cleanup_free_ char *text = slurp(in, &len);
                _cleanup_free_ char *want = slurp(errp, &elen);
                while (elen > 0 && want[elen - 1] == '\n')
                        want[--elen] = '\0';
                ps_policy *p = NULL;
                ps_error err = PS_ERROR_INIT;
                int r = ps_policy_parse(text, len, &p, &err);
                if (r >= 0)
                        fail_msg("%s: accepted, expected: %s", in, want);
                assert_null(p);
                if (strcmp(ps_error_msg(&err), want))
                        fail_msg("%s:\n got: %s\nwant: %s", in, ps_error_msg(&err), want);
                ps_error_clear(&err);
                r = ps_policy_parse_flags(text, len, PS_POLICY_COMPAT, &p, &err);
                if (compat_accepts && r < 0)
                        fail_msg("%s: COMPAT rejects: %s", in, ps_error_msg(&err));
                if (!compat_accepts && r >= 0)
                        fail_msg("%s: COMPAT accepts", in);
                ps_policy_free(p);
                ps_error_clear(&err);
        }
}

static void test_golden_invalid(void **s)
{
        check_rejects("invalid", false);
}

static void test_golden_compat_only(void **s)
{
        check_rejects("compat-only", true);
}

static void test_load_names_file(void **s)
{
        _cleanup_free_ char *path = fixture("invalid/default-empty.json");
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_policy_load(path, &p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "default: the list of policy requirements must not be empty"));
        ps_error_clear(&err);
        assert_true(ps_policy_load("/nonexistent/policy.json", &p, &err) < 0);
        assert_non_null(strstr(err.msg, "/nonexistent/policy.json"));
        ps_error_clear(&err);
}

static void test_size_limit(void **s)
{
        size_t n = PS_POLICY_MAX_SIZE + 1;
        char *big = malloc(n);
        assert_non_null(big);
        memset(big, ' ', n);
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_policy_parse(big, n, &p, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "too large"));
        ps_error_clear(&err);
        /* just under the limit is fine */
        static const char pol[] = "{\"default\":[{\"type\":\"reject\"}]}";
        memcpy(big, pol, sizeof(pol) - 1);
        assert_int_equal(ps_policy_parse(big, PS_POLICY_MAX_SIZE, &p, &err), 0);
        ps_policy_free(p);
        free(big);
        /* deep nesting is refused by the parser or the schema, never a crash */
        size_t depth = 100000;
        char *deep = malloc(depth * 2 + 64);
        assert_non_null(deep);
        size_t k = 0;
        k += (size_t)sprintf(deep, "{\"default\":");
        for (size_t i = 0; i < depth; i++)
                deep[k++] = '[';
        for (size_t i = 0; i < depth; i++)
                deep[k++] = ']';
        deep[k++] = '}';
        assert_true(ps_policy_parse(deep, k, &p, &err) < 0);
        ps_error_clear(&err);
        free(deep);
}

static void test_initial(void **s)
{
        ps_policy *p = NULL;
        assert_int_equal(ps_policy_new_initial(&p, NULL), 0);
        _cleanup_free_ char *got = ps_policy_serialise(p);
        _cleanup_free_ char *path = fixture("valid/initial.out");
        _cleanup_free_ char *want = slurp(path, NULL);
        assert_string_equal(got, want);
        ps_policy_free(p);
}

/* ---- scope resolution --------------------------------------------------- */

static const struct scopecase {
        const char *ref;
        const char *scope;      /* NULL: global default */
        ps_scope_kind kind;
        const char *err;        /* expected error substring */
} scope_cases[] = {
        { "registry.local/c10f/app:1", "registry.local/c10f/app:1", PS_SCOPE_EXACT, NULL },
        { "docker://registry.local/c10f/app:1", "registry.local/c10f/app:1", PS_SCOPE_EXACT, NULL },
        { "registry.local/c10f/app", "registry.local/c10f", PS_SCOPE_NAMESPACE, NULL },
        { "registry.local/c10f/app:2", "registry.local/c10f", PS_SCOPE_NAMESPACE, NULL },
        { "registry.local/c10f/app@sha256:" H64AB, "registry.local/c10f/app@sha256:" H64AB, PS_SCOPE_EXACT, NULL },
        { "registry.local/c10f/app@sha256:" H64CD, "registry.local/c10f", PS_SCOPE_NAMESPACE, NULL },
        { "registry.local/c10f/sub/deep:1", "registry.local/c10f", PS_SCOPE_NAMESPACE, NULL },
        { "registry.local/c10f", "registry.local/c10f", PS_SCOPE_NAMESPACE, NULL },
        { "registry.local/c10fx/app", "registry.local", PS_SCOPE_HOST, NULL },
        { "registry.local/app", "registry.local", PS_SCOPE_HOST, NULL },
        { "registry.local:5000/ns/app", "registry.local:5000/ns", PS_SCOPE_NAMESPACE, NULL },
        { "registry.local:5000/other", "registry.local:5000", PS_SCOPE_HOST, NULL },
        { "registry.local:5001/x", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "sub.registry.local/x", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "a.b.example.com/x", "*.example.com", PS_SCOPE_WILDCARD, NULL },
        { "a.b.example.com:5000/x", "*.example.com", PS_SCOPE_WILDCARD, NULL },
        { "b.example.com/x", "b.example.com", PS_SCOPE_HOST, NULL },
        { "b.example.com:443/x", "*.example.com", PS_SCOPE_WILDCARD, NULL },
        { "x.c.example.com/y", "*.c.example.com", PS_SCOPE_WILDCARD, NULL },
        { "c.example.com/y", "*.example.com", PS_SCOPE_WILDCARD, NULL },
        { "example.com/x", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "git.example.org/a", "*.org", PS_SCOPE_WILDCARD, NULL },
        { "busybox", "docker.io/library", PS_SCOPE_NAMESPACE, NULL },
        { "busybox:stable", "docker.io/library/busybox:stable", PS_SCOPE_EXACT, NULL },
        { "docker.io/library/busybox:stable", "docker.io/library/busybox:stable", PS_SCOPE_EXACT, NULL },
        { "index.docker.io/library/busybox:stable", "docker.io/library/busybox:stable", PS_SCOPE_EXACT, NULL },
        { "docker.io/busybox:stable", "docker.io/library/busybox:stable", PS_SCOPE_EXACT, NULL },
        { "alpine@sha256:" H64AB, "docker.io/library", PS_SCOPE_NAMESPACE, NULL },
        { "user/app", "docker.io", PS_SCOPE_HOST, NULL },
        { "localhost:5000/x/y:1", "localhost:5000/x/y", PS_SCOPE_NAMESPACE, NULL },
        { "localhost:5000/x/y/z", "localhost:5000/x/y", PS_SCOPE_NAMESPACE, NULL },
        { "localhost:5000/x", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "localhost/x", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "quay.io/org/sub/app", "quay.io/org/sub", PS_SCOPE_NAMESPACE, NULL },
        { "quay.io/org/app", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "my_host.com/x", "my_host.com", PS_SCOPE_HOST, NULL },
        { "127.0.0.1:5000/x", "127.0.0.1:5000", PS_SCOPE_HOST, NULL },
        { "10.0.0.1:5000/x", "*.0.0.1", PS_SCOPE_WILDCARD, NULL },
        { "10.1.0.1/x", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "REGISTRY.LOCAL/c10f/app:1", "", PS_SCOPE_TRANSPORT_DEFAULT, NULL },
        { "registry.local/c10f/app:1@sha256:" H64AB, NULL, 0, "both a tag and digest" },
        { "UPPER/x", NULL, 0, "must be lowercase" },
        { "registry.local/a b", NULL, 0, "invalid reference format" },
};

static void test_scope_table(void **s)
{
        _cleanup_free_ char *path = fixture("scope.json");
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_policy_load(path, &p, &err) < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_true(PS_ARRAY_SIZE(scope_cases) >= 40);
        for (size_t i = 0; i < PS_ARRAY_SIZE(scope_cases); i++) {
                const struct scopecase *c = &scope_cases[i];
                const char *scope = "unset";
                ps_scope_kind kind = 99;
                const json_t *reqs = NULL;
                int r = ps_policy_scope_for(p, c->ref, &scope, &kind, &reqs, &err);
                if (c->err) {
                        if (r >= 0 || !strstr(ps_error_msg(&err), c->err))
                                fail_msg("%s: expected error '%s', got %d %s", c->ref, c->err, r, ps_error_msg(&err));
                        ps_error_clear(&err);
                        continue;
                }
                if (r < 0)
                        fail_msg("%s: %s", c->ref, ps_error_msg(&err));
                if (!scope || strcmp(scope, c->scope) || kind != c->kind)
                        fail_msg("%s: got scope '%s' kind %s, want '%s' %s", c->ref, scope ? scope : "(null)",
                                 ps_scope_kind_name(kind), c->scope, ps_scope_kind_name(c->kind));
                assert_ptr_equal(reqs, ps_policy_requirements(p, "docker", scope));
        }
        ps_policy_free(p);
}

static void test_scope_global_default(void **s)
{
        static const char *const policies[] = {
                "{\"default\":[{\"type\":\"reject\"}]}",
                "{\"default\":[{\"type\":\"reject\"}],\"transports\":{}}",
                "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{}}}",
                "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"dir\":{\"\":[{\"type\":\"insecureAcceptAnything\"}]}}}",
                "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"registry.local\":[{\"type\":\"insecureAcceptAnything\"}]}}}",
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(policies); i++) {
                ps_policy *p = parse_str(policies[i], PS_POLICY_STRICT);
                const char *scope = "unset";
                ps_scope_kind kind = 99;
                const json_t *reqs = NULL;
                assert_int_equal(ps_policy_scope_for(p, "quay.io/x/y:1", &scope, &kind, &reqs, NULL), 0);
                assert_null(scope);
                assert_int_equal(kind, PS_SCOPE_GLOBAL_DEFAULT);
                assert_ptr_equal(reqs, ps_policy_default(p));
                /* the only scope still matches where it applies */
                assert_int_equal(ps_policy_scope_for(p, "registry.local/x", &scope, &kind, NULL, NULL), 0);
                if (i == 4) {
                        assert_string_equal(scope, "registry.local");
                        assert_int_equal(kind, PS_SCOPE_HOST);
                } else {
                        assert_int_equal(kind, PS_SCOPE_GLOBAL_DEFAULT);
                }
                ps_policy_free(p);
        }
        assert_string_equal(ps_scope_kind_name(PS_SCOPE_TRANSPORT_DEFAULT), "transport_default");
        assert_string_equal(ps_scope_kind_name(PS_SCOPE_GLOBAL_DEFAULT), "global_default");
}

/* ---- editing ---------------------------------------------------------- */

static json_t *signed_by(const char *key)
{
        json_t *r = ps_requirements_of(ps_requirement_new_signed_by(key));
        assert_non_null(r);
        return r;
}

static void expect_file(const ps_policy *p, const char *rel)
{
        _cleanup_free_ char *got = ps_policy_serialise(p);
        _cleanup_free_ char *path = fixture(rel);
        _cleanup_free_ char *want = slurp(path, NULL);
        if (strcmp(got, want))
                fail_msg("%s differs:\n%s\n---- want:\n%s", rel, got, want);
}

static ps_policy *load_fixture(const char *rel)
{
        _cleanup_free_ char *path = fixture(rel);
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_policy_load(path, &p, &err) < 0)
                fail_msg("%s", ps_error_msg(&err));
        return p;
}

static void test_edit_preserves(void **s)
{
        ps_error err = PS_ERROR_INIT;
        /* add a scope, replace one in place */
        ps_policy *p = load_fixture("valid/spec-imagemaker.json");
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/k8s-c10f", signed_by("/var/sigstore/keys/k8s.pgp"), &err), 0);
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/c10f", signed_by("/var/sigstore/keys/imk2.pgp"), &err), 0);
        expect_file(p, "edit/imagemaker.out");
        ps_policy_free(p);

        /* other transports and their scopes survive; default replaced */
        p = load_fixture("valid/transports.json");
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/k8s-c10f", signed_by("/var/sigstore/keys/k8s.pgp"), &err), 0);
        json_t *acc = ps_requirements_of(ps_requirement_new_simple(PS_REQ_INSECURE_ACCEPT_ANYTHING));
        assert_int_equal(ps_policy_set_default(p, acc, &err), 0);
        expect_file(p, "edit/transports.out");
        ps_policy_free(p);

        /* sigstoreSigned content survives; remove a scope */
        p = load_fixture("valid/sigstore.json");
        assert_int_equal(ps_policy_remove_scope(p, "docker", "quay.io/c", &err), 0);
        assert_int_equal(ps_policy_remove_scope(p, "docker", "quay.io/c", &err), -ENOENT);
        ps_error_clear(&err);
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/x", signed_by("/var/sigstore/keys/k8s.pgp"), &err), 0);
        expect_file(p, "edit/sigstore.out");
        ps_policy_free(p);

        /* no "transports" yet: created at the end */
        p = load_fixture("valid/base-layer.json");
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/x", signed_by("/var/sigstore/keys/k8s.pgp"), &err), 0);
        assert_int_equal(ps_policy_add_transport(p, "oci", &err), 0);
        assert_int_equal(ps_policy_add_transport(p, "oci", &err), 0);
        expect_file(p, "edit/base-layer.out");

        /* a copy is independent */
        ps_policy *c = ps_policy_copy(p);
        assert_non_null(c);
        assert_int_equal(ps_policy_remove_scope(c, "docker", "registry.local/x", &err), 0);
        expect_file(p, "edit/base-layer.out");
        ps_policy_free(c);
        ps_policy_free(p);
}

static void test_edit_refuses(void **s)
{
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_policy_new_initial(&p, &err), 0);
        _cleanup_free_ char *before = ps_policy_serialise(p);

        assert_int_equal(ps_policy_set_scope(p, "docker", "busybox", signed_by("/k"), &err), -EINVAL);
        assert_string_equal(err.msg, "transports.docker.\"busybox\": invalid scope \"busybox\": \"busybox\" is not a registry host[:port] "
                                     "(scopes use the fully expanded form, e.g. \"docker.io/library/busybox\")");
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/x", json_array(), &err), -EINVAL);
        assert_string_equal(err.msg, "transports.docker.\"registry.local/x\": the list of policy requirements must not be empty");
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/x",
                                             json_pack("[{s:s,s:s}]", "type", "signedBy", "keyPath", "/k"), &err), -EINVAL);
        assert_string_equal(err.msg, "transports.docker.\"registry.local/x\"[0]: missing key \"keyType\"");
        assert_int_equal(ps_policy_set_scope(p, "dir", "relative", signed_by("/k"), &err), -EINVAL);
        assert_int_equal(ps_policy_set_scope(p, "docker", "registry.local/x", NULL, &err), -EINVAL);
        assert_int_equal(ps_policy_set_default(p, json_pack("[{s:s}]", "type", "rejectAll"), &err), -EINVAL);
        assert_string_equal(err.msg, "default[0]: unknown policy requirement type \"rejectAll\"");
        ps_error_clear(&err);
        _cleanup_free_ char *after = ps_policy_serialise(p);
        assert_string_equal(before, after);
        ps_policy_free(p);
}

/* ---- reading ---------------------------------------------------------- */

static int count_scope(const char *t, const char *scope, const json_t *reqs, void *ud)
{
        size_t *n = ud;
        (*n)++;
        return !strcmp(t, "oci") ? 7 : 0;
}

static void test_listing(void **s)
{
        ps_policy *p = load_fixture("valid/transports.json");
        _cleanup_strv_ char **ts = ps_policy_transports(p);
        static const char *const want[] = { "docker", "dir", "oci", "oci-archive", "docker-archive", "docker-daemon",
                                            "atomic", "containers-storage", "ostree", "future-transport" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(want); i++)
                assert_string_equal(ts[i], want[i]);
        assert_null(ts[PS_ARRAY_SIZE(want)]);
        _cleanup_strv_ char **sc = ps_policy_scopes(p, "docker");
        assert_string_equal(sc[0], "");
        assert_string_equal(sc[1], "*.example.com");
        assert_string_equal(sc[2], "localhost:5000");
        assert_null(sc[4]);
        _cleanup_strv_ char **none = ps_policy_scopes(p, "nope");
        assert_null(none[0]);
        assert_null(ps_policy_requirements(p, "docker", "nope"));
        assert_non_null(ps_policy_requirements(p, "dir", "/srv/images"));
        size_t n = 0;
        assert_int_equal(ps_policy_foreach_scope(p, count_scope, &n), 7);
        assert_int_equal(n, 7);         /* docker 4, dir 2, then oci stops */
        ps_policy_free(p);
}

static void test_view(void **s)
{
        ps_policy *p = load_fixture("valid/identities.json");
        static const struct { const char *scope; ps_ident_type t; const char *a, *b; } ids[] = {
                { "registry.local/a", PS_IDENT_MATCH_EXACT, NULL, NULL },
                { "registry.local/b", PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT, NULL, NULL },
                { "registry.local/c", PS_IDENT_MATCH_REPOSITORY, NULL, NULL },
                { "registry.local/d", PS_IDENT_EXACT_REFERENCE, "registry.local/d/app:1", NULL },
                { "registry.local/e", PS_IDENT_EXACT_REPOSITORY, "registry.local/e/app", NULL },
                { "registry.local/f", PS_IDENT_REMAP_IDENTITY, "registry.local/f", "quay.io/upstream" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ids); i++) {
                ps_requirement v;
                const json_t *reqs = ps_policy_requirements(p, "docker", ids[i].scope);
                assert_int_equal(ps_requirement_view(json_array_get(reqs, 0), &v, NULL), 0);
                assert_int_equal(v.type, PS_REQ_SIGNED_BY);
                assert_string_equal(v.key_type, "GPGKeys");
                assert_int_equal(v.n_key_paths, 1);
                assert_false(v.key_paths_list);
                assert_int_equal(v.identity.type, ids[i].t);
                assert_false(v.identity.implicit);
                if (ids[i].t == PS_IDENT_EXACT_REFERENCE)
                        assert_string_equal(v.identity.docker_reference, ids[i].a);
                if (ids[i].t == PS_IDENT_EXACT_REPOSITORY)
                        assert_string_equal(v.identity.docker_repository, ids[i].a);
                if (ids[i].t == PS_IDENT_REMAP_IDENTITY) {
                        assert_string_equal(v.identity.prefix, ids[i].a);
                        assert_string_equal(v.identity.signed_prefix, ids[i].b);
                }
                ps_requirement_view_clear(&v);
        }
        ps_policy_free(p);

        p = load_fixture("valid/keys.json");
        ps_requirement v;
        assert_int_equal(ps_requirement_view(json_array_get(ps_policy_requirements(p, "docker", "registry.local/paths"), 0), &v, NULL), 0);
        assert_int_equal(v.n_key_paths, 2);
        assert_true(v.key_paths_list);
        assert_string_equal(v.key_paths[0], "/k/1.pgp");
        assert_string_equal(v.key_paths[1], "/k/2.pgp");
        assert_null(v.key_paths[2]);
        assert_true(v.identity.implicit);
        assert_int_equal(v.identity.type, PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT);
        ps_requirement_view_clear(&v);
        assert_int_equal(ps_requirement_view(json_array_get(ps_policy_requirements(p, "docker", "registry.local/data"), 0), &v, NULL), 0);
        assert_int_equal(v.n_key_paths, 0);
        assert_int_equal(v.n_key_data, 1);
        ps_requirement_view_clear(&v);
        assert_int_equal(ps_requirement_view(json_array_get(ps_policy_default(p), 0), &v, NULL), 0);
        assert_int_equal(v.type, PS_REQ_REJECT);
        assert_string_equal(ps_req_type_name(v.type), "reject");
        ps_requirement_view_clear(&v);
        ps_policy_free(p);

        p = load_fixture("valid/sigstore.json");
        assert_int_equal(ps_requirement_view(json_array_get(ps_policy_requirements(p, "docker", "quay.io/c"), 0), &v, NULL), 0);
        assert_int_equal(v.type, PS_REQ_SIGSTORE_SIGNED);
        assert_true(v.fulcio);
        assert_true(v.rekor);
        assert_false(v.pki);
        assert_null(v.key_type);
        ps_requirement_view_clear(&v);
        assert_int_equal(ps_requirement_view(json_array_get(ps_policy_requirements(p, "docker", "quay.io/e"), 0), &v, NULL), 0);
        assert_int_equal(v.n_key_data, 2);
        ps_requirement_view_clear(&v);
        ps_policy_free(p);

        p = load_fixture("valid/base-layer.json");
        assert_int_equal(ps_requirement_view(json_array_get(ps_policy_default(p), 0), &v, NULL), 0);
        assert_int_equal(v.type, PS_REQ_SIGNED_BASE_LAYER);
        assert_int_equal(v.identity.type, PS_IDENT_EXACT_REPOSITORY);
        assert_string_equal(ps_ident_type_name(v.identity.type), "exactRepository");
        ps_requirement_view_clear(&v);
        ps_policy_free(p);

        ps_error err = PS_ERROR_INIT;
        json_t *bad = json_pack("{s:s}", "type", "nope");
        assert_int_equal(ps_requirement_view(bad, &v, &err), -EINVAL);
        assert_string_equal(err.msg, "requirement: unknown policy requirement type \"nope\"");
        ps_error_clear(&err);
        json_decref(bad);
}

/* ---- keys --------------------------------------------------------------- */

static void write_file(const char *path, const char *data)
{
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(data, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void test_keys(void **s)
{
        char tmpl[] = "/tmp/test-policy-XXXXXX";
        char *root = mkdtemp(tmpl);
        assert_non_null(root);
        _cleanup_free_ char *k = ps_path_join(root, "k");
        assert_int_equal(mkdir(k, 0700), 0);
        _cleanup_free_ char *k1 = ps_path_join(root, "k/1.pgp");
        _cleanup_free_ char *k2 = ps_path_join(root, "k/2.pgp");
        write_file(k1, "key one");
        write_file(k2, "key two");

        ps_policy *p = load_fixture("valid/keys.json");
        ps_error err = PS_ERROR_INIT;
        ps_policy_key *keys = NULL;
        size_t n = 0;
        const json_t *req = json_array_get(ps_policy_requirements(p, "docker", "registry.local/paths"), 0);
        _cleanup_strv_ char **paths = NULL;
        assert_int_equal(ps_policy_key_paths(req, root, &paths, &err), 0);
        assert_string_equal(paths[0], k1);
        assert_string_equal(paths[1], k2);
        assert_null(paths[2]);
        assert_int_equal(ps_policy_read_keys(req, root, &keys, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(keys[0].config_path, "/k/1.pgp");
        assert_string_equal(keys[0].path, k1);
        assert_int_equal(keys[1].len, 7);
        assert_memory_equal(keys[1].data, "key two", 7);
        ps_policy_keys_free(keys, n);

        req = json_array_get(ps_policy_requirements(p, "docker", "registry.local/data"), 0);
        assert_int_equal(ps_policy_read_keys(req, root, &keys, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_null(keys[0].path);
        assert_int_equal(keys[0].len, 13);
        assert_memory_equal(keys[0].data, "test key data", 13);
        ps_policy_keys_free(keys, n);

        /* a missing key file is named in the error */
        assert_int_equal(unlink(k2), 0);
        req = json_array_get(ps_policy_requirements(p, "docker", "registry.local/paths"), 0);
        assert_true(ps_policy_read_keys(req, root, &keys, &n, &err) < 0);
        assert_non_null(strstr(err.msg, "/k/2.pgp"));
        assert_null(keys);
        ps_error_clear(&err);
        ps_policy_free(p);

        assert_int_equal(unlink(k1), 0);
        assert_int_equal(rmdir(k), 0);
        assert_int_equal(rmdir(root), 0);
}

static void test_base64(void **s)
{
        static const struct { const char *in; const char *out; } ok[] = {
                { "", "" }, { "QQ==", "A" }, { "QUI=", "AB" }, { "QUJD", "ABC" },
                { "QUJD\nREVG", "ABCDEF" }, { "QU\r\nJD", "ABC" }, { "QR==", "A" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ok); i++) {
                unsigned char *out = NULL;
                size_t n = 0;
                assert_int_equal(ps_base64_decode(ok[i].in, strlen(ok[i].in), &out, &n), 0);
                assert_int_equal(n, strlen(ok[i].out));
                assert_memory_equal(out, ok[i].out, n);
                free(out);
        }
        static const char *const bad[] = { "Q", "QQ", "QQ=", "QUJ", "Q===", "====", "QQ==QQ==", "QUI=A", "QQ=A", "QU JD",
                                           "QUJD=", "-_==", "QQ==\n=" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++)
                if (ps_base64_decode(bad[i], strlen(bad[i]), NULL, NULL) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i]);
}

static void test_dump_jq(void **s)
{
        json_t *v = json_pack("{s:[i,f,b,n,{}], s:s}", "a", 42, 1.5, 1, "b", "x\x01\x7f\"\\");
        assert_non_null(v);
        _cleanup_free_ char *out = ps_json_dump_jq(v);
        assert_string_equal(out, "{\n  \"a\": [\n    42,\n    1.5,\n    true,\n    null,\n    {}\n  ],\n"
                                 "  \"b\": \"x\\u0001\\u007f\\\"\\\\\"\n}");
        json_decref(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_golden_valid),
                cmocka_unit_test(test_golden_invalid),
                cmocka_unit_test(test_golden_compat_only),
                cmocka_unit_test(test_load_names_file),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_initial),
                cmocka_unit_test(test_scope_table),
                cmocka_unit_test(test_scope_global_default),
                cmocka_unit_test(test_edit_preserves),
                cmocka_unit_test(test_edit_refuses),
                cmocka_unit_test(test_listing),
                cmocka_unit_test(test_view),
                cmocka_unit_test(test_keys),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_dump_jq),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
