/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include "error.h"

static void test_chain(void **s)
{
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_error_set(&err, ENOENT, "cannot open %s", "x"), -ENOENT);
        assert_string_equal(err.msg, "cannot open x");
        assert_int_equal(ps_error_wrap(&err, "loading %s", "policy"), -ENOENT);
        assert_string_equal(err.msg, "loading policy: cannot open x");
        ps_error_clear(&err);
        assert_null(err.msg);
        assert_int_equal(err.code, 0);
        assert_int_equal(ps_error_errno(&err, EACCES, "cannot read %s", "y"), -EACCES);
        assert_string_equal(err.msg, "cannot read y: Permission denied");
        ps_error_clear(&err);
        /* code 0 becomes EINVAL; NULL err is allowed */
        assert_int_equal(ps_error_set(&err, 0, "x"), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_error_set(NULL, EIO, "x"), -EIO);
        assert_string_equal(ps_error_msg(NULL), "unknown error");
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_chain) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
