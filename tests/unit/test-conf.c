/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "error.h"

static void test_defaults(void **s)
{
        ps_conf c = { 0 };
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_conf_load(&c, "/nonexistent-root", NULL, &err), 0);
        assert_string_equal(c.registry, "registry.local");
        assert_string_equal(c.sigstore_url, "http://sigstore.local:81/sigstore/");
        assert_string_equal(c.keys_url, "http://sigstore.local:81/keys/");
        assert_string_equal(c.sigstore_dir, "/var/sigstore");
        assert_string_equal(c.group_user, "podman");
        assert_string_equal(c.group_dev, "podman_dev");
        assert_null(c.source);
        ps_conf_free(&c);
}

static void test_parse(void **s)
{
        ps_conf c = { 0 };
        ps_error err = PS_ERROR_INIT;
        ps_conf_defaults(&c);
        assert_int_equal(ps_conf_parse(&c, "# comment\n\n registry = 127.0.0.1:5000 \nsigstore_url=\"http://127.0.0.1:8088/sigstore/\"\n", "t", &err), 0);
        assert_string_equal(c.registry, "127.0.0.1:5000");
        assert_string_equal(c.sigstore_url, "http://127.0.0.1:8088/sigstore/");
        char *h = ps_conf_registry_host(&c);
        assert_string_equal(h, "127.0.0.1");
        free(h);
        ps_conf_free(&c);
}

static void test_errors(void **s)
{
        static const struct { const char *text, *expect; } cases[] = {
                { "registry=a\nbogus=1\n", "t:2: unknown setting 'bogus'" },
                { "\n\n\nnoequals\n", "t:4: expected KEY=VALUE" },
                { "sigstore_url=ftp://x/\n", "t:1: invalid value for sigstore_url" },
                { "sigstore_dir=relative\n", "t:1: invalid value for sigstore_dir" },
                { "registry=has space\n", "t:1: invalid value for registry" },
                { "registry=a/b\n", "t:1: invalid value for registry" },
                { "group_dev=-x\n", "t:1: invalid value for group_dev" },
                { "registry_listen=nohostport\n", "t:1: invalid value for registry_listen" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                ps_conf c = { 0 };
                ps_error err = PS_ERROR_INIT;
                ps_conf_defaults(&c);
                assert_int_equal(ps_conf_parse(&c, cases[i].text, "t", &err), -EINVAL);
                if (!strstr(err.msg, cases[i].expect))
                        fail_msg("case %zu: got '%s'", i, err.msg);
                ps_error_clear(&err);
                ps_conf_free(&c);
        }
}

static void test_missing_explicit_file(void **s)
{
        ps_conf c = { 0 };
        ps_error err = PS_ERROR_INIT;
        assert_true(ps_conf_load(&c, NULL, "/nonexistent/podsec.conf", &err) < 0);
        assert_non_null(strstr(err.msg, "/nonexistent/podsec.conf"));
        ps_error_clear(&err);
        ps_conf_free(&c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults), cmocka_unit_test(test_parse),
                cmocka_unit_test(test_errors), cmocka_unit_test(test_missing_explicit_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
