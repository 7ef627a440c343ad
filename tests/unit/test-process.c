/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "process.h"

static void test_capture(void **s)
{
        const char *argv[] = { "echo", "a b", "$(touch /tmp/x)", NULL };
        char *out = NULL;
        ps_spawn_opts o = { .out = &out };
        int st = -1;
        assert_int_equal(ps_spawn(argv, &o, &st, NULL), 0);
        assert_int_equal(st, 0);
        /* arguments are data: nothing is expanded */
        assert_string_equal(out, "a b $(touch /tmp/x)\n");
        free(out);
}

static void test_stdin_and_status(void **s)
{
        const char *argv[] = { "sh", "-c", "cat; echo err >&2; exit 7", NULL };
        char *out = NULL, *eo = NULL;
        ps_spawn_opts o = { .out = &out, .errout = &eo, .stdin_data = "in\n", .stdin_len = 3 };
        int st = -1;
        assert_int_equal(ps_spawn(argv, &o, &st, NULL), 0);
        assert_int_equal(st, 7);
        assert_string_equal(out, "in\n");
        assert_string_equal(eo, "err\n");
        free(out);
        free(eo);
}

static void test_clean_env(void **s)
{
        setenv("PODSEC_TEST_SECRET", "x", 1);
        const char *argv[] = { "env", NULL };
        const char *extra[] = { "FOO=bar", NULL };
        char *out = NULL;
        ps_spawn_opts o = { .out = &out, .env = extra };
        int st = -1;
        assert_int_equal(ps_spawn(argv, &o, &st, NULL), 0);
        assert_null(strstr(out, "PODSEC_TEST_SECRET"));
        assert_non_null(strstr(out, "FOO=bar"));
        assert_non_null(strstr(out, "PATH="));
        free(out);
}

static void test_large_output(void **s)
{
        const char *argv[] = { "head", "-c", "1000000", "/dev/zero", NULL };
        char *out = NULL;
        ps_spawn_opts o = { .out = &out };
        int st = -1;
        assert_int_equal(ps_spawn(argv, &o, &st, NULL), 0);
        assert_int_equal(st, 0);
        free(out);
}

static void test_missing(void **s)
{
        const char *argv[] = { "no-such-program-podsec", NULL };
        ps_error err = PS_ERROR_INIT;
        int st;
        assert_int_equal(ps_spawn(argv, NULL, &st, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "no-such-program-podsec"));
        ps_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_capture), cmocka_unit_test(test_stdin_and_status),
                cmocka_unit_test(test_clean_env), cmocka_unit_test(test_large_output),
                cmocka_unit_test(test_missing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
