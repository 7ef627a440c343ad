/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include "platform.h"

static void test_table(void **s)
{
        static const struct { const char *osr, *want; } cases[] = {
                { "ALT_BRANCH_ID=c10f1\n", "c10f" },
                { "ALT_BRANCH_ID=\"c10f2\"\nCPE_NAME=cpe:/o:alt:server:10.1\n", "c10f" },
                { "ALT_BRANCH_ID=p10\n", "p10" },
                { "ALT_BRANCH_ID='p11'\n", "p11" },
                { "ALT_BRANCH_ID=sisyphus\n", "sisyphus" },
                { "CPE_NAME=\"cpe:/o:alt:spserver:10\"\n", "c10f" },
                { "CPE_NAME=cpe:/o:alt:sisyphus:20240101\n", "sisyphus" },
                { "CPE_NAME=cpe:/o:alt:server:10.1\n", "p10" },
                { "CPE_NAME=cpe:/o:alt:workstation:11\n", "p11" },
                { "NAME=x\nALT_BRANCH_ID=\nCPE_NAME=cpe:/o:alt:server:9.2\n", "p9" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                char *out = NULL;
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_platform_from_os_release(cases[i].osr, &out, &err), 0);
                if (strcmp(out, cases[i].want))
                        fail_msg("case %zu: got %s want %s", i, out, cases[i].want);
                free(out);
        }
}

static void test_errors(void **s)
{
        static const char *bad[] = { "", "NAME=Debian\n", "CPE_NAME=cpe\n", "CPE_NAME=cpe:/o:alt:server\n" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                char *out = NULL;
                ps_error err = PS_ERROR_INIT;
                assert_true(ps_platform_from_os_release(bad[i], &out, &err) < 0);
                assert_non_null(err.msg);
                ps_error_clear(&err);
        }
}

static void test_override(void **s)
{
        char *out = NULL;
        bool env = false;
        assert_int_equal(ps_platform("/nonexistent", "alt", &out, &env, NULL), 0);
        assert_string_equal(out, "alt");
        assert_true(env);
        free(out);
        ps_error err = PS_ERROR_INIT;
        assert_true(ps_platform("/nonexistent", "", &out, &env, &err) < 0);
        assert_non_null(strstr(err.msg, "cannot determine the platform"));
        ps_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table), cmocka_unit_test(test_errors), cmocka_unit_test(test_override),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
