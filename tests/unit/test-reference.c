/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "reference.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H64 "sha256:" D64

/* Expected results were derived from c/image docker/reference
 * (ParseNormalizedNamed) and its tests; "err" is a substring of the message. */
static const struct refcase {
        const char *in;
        const char *name, *domain, *path, *tag, *digest;
        const char *err;
} cases[] = {
        /* docker.io defaults */
        { "busybox", "docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL, NULL },
        { "busybox:latest", "docker.io/library/busybox", "docker.io", "library/busybox", "latest", NULL, NULL },
        { "busybox:1.36.1-musl", "docker.io/library/busybox", "docker.io", "library/busybox", "1.36.1-musl", NULL, NULL },
        { "library/busybox", "docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL, NULL },
        { "user/app", "docker.io/user/app", "docker.io", "user/app", NULL, NULL, NULL },
        { "user/sub/app:v1", "docker.io/user/sub/app", "docker.io", "user/sub/app", "v1", NULL, NULL },
        { "docker.io/busybox", "docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL, NULL },
        { "docker.io/library/busybox", "docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL, NULL },
        { "index.docker.io/busybox", "docker.io/library/busybox", "docker.io", "library/busybox", NULL, NULL, NULL },
        { "index.docker.io/user/app", "docker.io/user/app", "docker.io", "user/app", NULL, NULL, NULL },
        { "busybox@" H64, "docker.io/library/busybox", "docker.io", "library/busybox", NULL, H64, NULL },
        { "busybox:1@" H64, "docker.io/library/busybox", "docker.io", "library/busybox", "1", H64, NULL },
        /* host detection */
        { "registry.local/c10f/app", "registry.local/c10f/app", "registry.local", "c10f/app", NULL, NULL, NULL },
        { "registry.local/app:tag", "registry.local/app", "registry.local", "app", "tag", NULL, NULL },
        { "localhost/app", "localhost/app", "localhost", "app", NULL, NULL, NULL },
        { "localhost:5000/app:v2", "localhost:5000/app", "localhost:5000", "app", "v2", NULL, NULL },
        { "127.0.0.1:5000/ns/app", "127.0.0.1:5000/ns/app", "127.0.0.1:5000", "ns/app", NULL, NULL, NULL },
        { "a.b.example.com:8443/x/y/z@" H64, "a.b.example.com:8443/x/y/z", "a.b.example.com:8443", "x/y/z", NULL, H64, NULL },
        { "host:1/a", "host:1/a", "host:1", "a", NULL, NULL, NULL },
        { "Registry.Local/app", "Registry.Local/app", "Registry.Local", "app", NULL, NULL, NULL },
        { "localhostx/app", "docker.io/localhostx/app", "docker.io", "localhostx/app", NULL, NULL, NULL },
        { "my-host.example/x", "my-host.example/x", "my-host.example", "x", NULL, NULL, NULL },
        /* no '/': the name is a docker.io library image, ':' is a tag */
        { "localhost", "docker.io/library/localhost", "docker.io", "library/localhost", NULL, NULL, NULL },
        { "localhost:5000", "docker.io/library/localhost", "docker.io", "library/localhost", "5000", NULL, NULL },
        { "foo.com:5000", "docker.io/library/foo.com", "docker.io", "library/foo.com", "5000", NULL, NULL },
        /* c/image quirk: host-like first component that is not a domain */
        { "my_host.com/x", "my_host.com/x", "", "my_host.com/x", NULL, NULL, NULL },
        /* path component separators */
        { "r.io/a.b", "r.io/a.b", "r.io", "a.b", NULL, NULL, NULL },
        { "r.io/a_b", "r.io/a_b", "r.io", "a_b", NULL, NULL, NULL },
        { "r.io/a__b", "r.io/a__b", "r.io", "a__b", NULL, NULL, NULL },
        { "r.io/a---b", "r.io/a---b", "r.io", "a---b", NULL, NULL, NULL },
        { "r.io/a-b.c_d__e", "r.io/a-b.c_d__e", "r.io", "a-b.c_d__e", NULL, NULL, NULL },
        /* tags */
        { "r.io/a:_x", "r.io/a", "r.io", "a", "_x", NULL, NULL },
        { "r.io/a:UPPER.case-1", "r.io/a", "r.io", "a", "UPPER.case-1", NULL, NULL },
        { "r.io/a:" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
          "r.io/a", "r.io", "a", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL, NULL },
        /* other digest algorithms known to go-digest */
        { "r.io/a@sha512:" D64 D64, "r.io/a", "r.io", "a", NULL, "sha512:" D64 D64, NULL },
        { "r.io/a@sha384:" D64 "0123456789abcdef0123456789abcdef", "r.io/a", "r.io", "a", NULL,
          "sha384:" D64 "0123456789abcdef0123456789abcdef", NULL },

        /* errors */
        { "", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { D64, NULL, NULL, NULL, NULL, NULL, "cannot specify 64-byte hexadecimal strings" },
        { "Busybox", NULL, NULL, NULL, NULL, NULL, "repository name must be lowercase" },
        { "registry.local/App", NULL, NULL, NULL, NULL, NULL, "repository name must be lowercase" },
        { "docker.io/Library/x", NULL, NULL, NULL, NULL, NULL, "repository name must be lowercase" },
        { "r.io/a:-tag", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a:.tag", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a:", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a:" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
          NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a@", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a@sha256:abc", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a@sha256:" D64 "00", NULL, NULL, NULL, NULL, NULL, "invalid checksum digest length" },
        { "r.io/a@md5:" D64, NULL, NULL, NULL, NULL, NULL, "unsupported digest algorithm" },
        { "r.io/a@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL, NULL, NULL, NULL, NULL,
          "invalid checksum digest format" },
        { "r.io/a@" H64 "@" H64, NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io//a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a/", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "/a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/-a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a-", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a..b", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a___b", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a.-b", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a b", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "host:port/a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "host:/a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "-host.com/a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "[::1]:5000/a", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/a:b:c", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "docker://busybox", NULL, NULL, NULL, NULL, NULL, "invalid reference format" },
        { "r.io/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
          NULL, NULL, NULL, NULL, NULL, "must not be more than 255 characters" },
};

static void test_parse_table(void **s)
{
        size_t ok = 0, bad = 0;
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                const struct refcase *c = &cases[i];
                ps_reference r;
                ps_error err = PS_ERROR_INIT;
                int rc = ps_reference_parse(c->in, &r, &err);
                if (c->err) {
                        if (rc != -EINVAL)
                                fail_msg("case %zu '%s': expected error '%s', got rc %d (name %s)", i, c->in, c->err, rc,
                                         rc == 0 ? r.name : "-");
                        if (!err.msg || !strstr(err.msg, c->err))
                                fail_msg("case %zu '%s': expected '%s', got '%s'", i, c->in, c->err, ps_error_msg(&err));
                        ps_error_clear(&err);
                        bad++;
                        continue;
                }
                if (rc != 0)
                        fail_msg("case %zu '%s': unexpected error %s", i, c->in, ps_error_msg(&err));
                assert_string_equal(r.name, c->name);
                assert_string_equal(r.domain, c->domain);
                assert_string_equal(r.path, c->path);
                if (c->tag)
                        assert_string_equal(r.tag, c->tag);
                else
                        assert_null(r.tag);
                if (c->digest)
                        assert_string_equal(r.digest, c->digest);
                else
                        assert_null(r.digest);
                /* String() re-parses to the same thing */
                _cleanup_free_ char *str = ps_reference_string(&r);
                ps_reference r2;
                assert_int_equal(ps_reference_parse(str, &r2, NULL), 0);
                _cleanup_free_ char *str2 = ps_reference_string(&r2);
                assert_string_equal(str, str2);
                ps_reference_free(&r2);
                ps_reference_free(&r);
                ok++;
        }
        assert_true(ok + bad >= 60);
}

static void test_ipv6_flag(void **s)
{
        ps_reference r;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_reference_parse_flags("[::1]:5000/ns/app:v1", PS_REF_ALLOW_IPV6, &r, &err), 0);
        assert_string_equal(r.domain, "[::1]:5000");
        assert_string_equal(r.path, "ns/app");
        assert_string_equal(r.tag, "v1");
        char **ns = ps_reference_namespaces(&r, NULL);
        assert_non_null(ns);
        assert_string_equal(ns[0], "[::1]:5000/ns/app");
        assert_string_equal(ns[2], "[::1]:5000");
        assert_null(ns[3]);     /* no wildcard forms for an address */
        ps_strv_free(ns);
        ps_reference_free(&r);
        assert_int_equal(ps_reference_parse_flags("[fe80::1]/app", PS_REF_ALLOW_IPV6, &r, &err), 0);
        assert_string_equal(r.domain, "[fe80::1]");
        ps_reference_free(&r);
        assert_int_equal(ps_reference_parse_flags("[::g]/app", PS_REF_ALLOW_IPV6, &r, &err), -EINVAL);
        assert_int_equal(ps_reference_parse_flags("[]/app", PS_REF_ALLOW_IPV6, &r, &err), -EINVAL);
        assert_int_equal(ps_reference_parse_flags("[::1]:x/app", PS_REF_ALLOW_IPV6, &r, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_identity(void **s)
{
        static const struct { const char *in, *id, *err; } ids[] = {
                { "busybox", "docker.io/library/busybox:latest", NULL },
                { "busybox:1", "docker.io/library/busybox:1", NULL },
                { "r.io/a@" H64, "r.io/a@" H64, NULL },
                { "localhost:5000/a", "localhost:5000/a:latest", NULL },
                { "r.io/a:t@" H64, NULL, "both a tag and digest" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ids); i++) {
                ps_reference r;
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_reference_parse(ids[i].in, &r, NULL), 0);
                char *id = NULL;
                int rc = ps_reference_identity(&r, &id, &err);
                if (ids[i].err) {
                        assert_int_equal(rc, -EINVAL);
                        assert_non_null(strstr(err.msg, ids[i].err));
                        assert_null(id);
                } else {
                        assert_int_equal(rc, 0);
                        assert_string_equal(id, ids[i].id);
                }
                free(id);
                ps_error_clear(&err);
                ps_reference_free(&r);
        }
}

static void check_ns(const char *in, size_t want_names, const char *const *want)
{
        ps_reference r;
        assert_int_equal(ps_reference_parse(in, &r, NULL), 0);
        size_t n_names = 99;
        _cleanup_strv_ char **ns = ps_reference_namespaces(&r, &n_names);
        assert_non_null(ns);
        size_t i;
        for (i = 0; want[i]; i++) {
                if (!ns[i])
                        fail_msg("%s: missing namespace %zu '%s'", in, i, want[i]);
                assert_string_equal(ns[i], want[i]);
        }
        if (ns[i])
                fail_msg("%s: extra namespace '%s'", in, ns[i]);
        assert_int_equal(n_names, want_names);
        ps_reference_free(&r);
}

static void test_namespaces(void **s)
{
        check_ns("busybox", 3, (const char *const[]){ "docker.io/library/busybox", "docker.io/library", "docker.io", "*.io", NULL });
        check_ns("a.b.example.com:5000/ns/sub/app:v1", 4, (const char *const[]){
                "a.b.example.com:5000/ns/sub/app", "a.b.example.com:5000/ns/sub", "a.b.example.com:5000/ns",
                "a.b.example.com:5000", "*.b.example.com", "*.example.com", "*.com", NULL });
        check_ns("localhost:5000/app", 2, (const char *const[]){ "localhost:5000/app", "localhost:5000", NULL });
        check_ns("localhost/app", 2, (const char *const[]){ "localhost/app", "localhost", NULL });
        check_ns("127.0.0.1:5000/app", 2, (const char *const[]){ "127.0.0.1:5000/app", "127.0.0.1:5000", "*.0.0.1", "*.0.1", "*.1", NULL });
        check_ns("registry.local/c10f/app@" H64, 3, (const char *const[]){
                "registry.local/c10f/app", "registry.local/c10f", "registry.local", "*.local", NULL });
        check_ns("my_host.com/x", 2, (const char *const[]){ "my_host.com/x", "my_host.com", "*.com", NULL });
}

static void test_familiar(void **s)
{
        static const struct { const char *in, *fam; } f[] = {
                { "busybox:latest", "busybox:latest" },
                { "docker.io/library/busybox", "busybox" },
                { "docker.io/library/a/b", "library/a/b" },
                { "user/app:1", "user/app:1" },
                { "quay.io/x/y@" H64, "quay.io/x/y@" H64 },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(f); i++) {
                ps_reference r;
                assert_int_equal(ps_reference_parse(f[i].in, &r, NULL), 0);
                _cleanup_free_ char *fam = ps_reference_familiar(&r);
                assert_string_equal(fam, f[i].fam);
                ps_reference_free(&r);
        }
}

static void test_pieces(void **s)
{
        assert_true(ps_reference_valid_tag("v1.0_rc-2"));
        assert_false(ps_reference_valid_tag(""));
        assert_false(ps_reference_valid_tag("a/b"));
        assert_true(ps_reference_valid_domain("registry.local:5000", 19, 0));
        assert_false(ps_reference_valid_domain("registry.local:", 15, 0));
        assert_false(ps_reference_valid_domain("a..b", 4, 0));
        assert_true(ps_reference_valid_hostname("A-1.b", 5));
        assert_false(ps_reference_valid_hostname("a-.b", 4));
        assert_true(ps_reference_valid_name("registry.local/a/b", 18));
        assert_true(ps_reference_valid_name("a/b", 3));
        assert_false(ps_reference_valid_name("a//b", 4));
        assert_int_equal(ps_reference_check_digest(H64, NULL), 0);
        assert_int_equal(ps_reference_check_digest("sha256", NULL), -EINVAL);
        assert_int_equal(ps_reference_check_digest(":abc", NULL), -EINVAL);
        assert_int_equal(ps_reference_check_digest("sha256:", NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_table),
                cmocka_unit_test(test_ipv6_flag),
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_namespaces),
                cmocka_unit_test(test_familiar),
                cmocka_unit_test(test_pieces),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
