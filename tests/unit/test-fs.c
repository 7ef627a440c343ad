/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"

static char *tmpdir(void)
{
        char t[] = "/tmp/podsec-test-XXXXXX";
        assert_non_null(mkdtemp(t));
        return strdup(t);
}

static void rmrf(const char *d)
{
        char *argv_cmd = NULL;
        /* test helper only: remove the scratch directory */
        assert_true(asprintf(&argv_cmd, "rm -rf -- '%s'", d) > 0);
        assert_int_equal(system(argv_cmd), 0);
        free(argv_cmd);
}

static void test_root_path(void **s)
{
        char *p;
        p = ps_root_path(NULL, "/etc/hosts"); assert_string_equal(p, "/etc/hosts"); free(p);
        p = ps_root_path("/", "/etc/hosts"); assert_string_equal(p, "/etc/hosts"); free(p);
        p = ps_root_path("//", "/etc/hosts"); assert_string_equal(p, "/etc/hosts"); free(p);
        p = ps_root_path("/r", "/etc/hosts"); assert_string_equal(p, "/r/etc/hosts"); free(p);
        p = ps_root_path("/r/", "/etc/hosts"); assert_string_equal(p, "/r/etc/hosts"); free(p);
        p = ps_root_path("/r", "etc"); assert_string_equal(p, "/r/etc"); free(p);
        p = ps_path_join("a//", "//b"); assert_string_equal(p, "a/b"); free(p);
}

static void test_atomic_and_read(void **s)
{
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *f = ps_path_join(d, "x.json");
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_write_atomic(f, "hello", 5, 0640, &err), 0);
        char *buf = NULL; size_t len = 0;
        assert_int_equal(ps_read_file(f, 100, &buf, &len, &err), 0);
        assert_int_equal(len, 5); assert_string_equal(buf, "hello"); free(buf);
        struct stat st; assert_int_equal(stat(f, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(ps_write_atomic(f, "bye", 3, 0644, &err), 0);
        assert_true(ps_same_content(f, "bye", 3));
        assert_false(ps_same_content(f, "bye!", 4));
        /* too large */
        assert_int_equal(ps_read_file(f, 2, &buf, &len, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "too large"));
        ps_error_clear(&err);
        /* missing */
        _cleanup_free_ char *m = ps_path_join(d, "missing");
        assert_int_equal(ps_read_file(m, 2, &buf, &len, &err), -ENOENT);
        assert_non_null(strstr(err.msg, m));
        ps_error_clear(&err);
        /* no temp files left */
        rmrf(d);
}

static void test_excl(void **s)
{
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *f = ps_path_join(d, "signature-1");
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_create_excl(f, "a", 1, 0644, &err), 0);
        assert_int_equal(ps_create_excl(f, "b", 1, 0644, &err), -EEXIST);
        ps_error_clear(&err);
        assert_true(ps_same_content(f, "a", 1));
        rmrf(d);
}

static void test_mkdir_p(void **s)
{
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *p = ps_path_join(d, "a/b/c/");
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_mkdir_p(p, 0700, &err), 0);
        struct stat st; assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        assert_int_equal(ps_mkdir_p(p, 0700, &err), 0);
        _cleanup_free_ char *f = ps_path_join(d, "file");
        assert_int_equal(ps_write_atomic(f, "", 0, 0644, &err), 0);
        _cleanup_free_ char *under = ps_path_join(f, "x");
        assert_int_equal(ps_mkdir_p(under, 0755, &err), -ENOTDIR);
        ps_error_clear(&err);
        rmrf(d);
}

static void test_symlink_atomic(void **s)
{
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *l = ps_path_join(d, "link");
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_symlink_atomic("t1", l, &err), 0);
        char buf[64]; ssize_t n = readlink(l, buf, sizeof buf - 1); assert_true(n > 0); buf[n] = 0;
        assert_string_equal(buf, "t1");
        assert_int_equal(ps_symlink_atomic("t2", l, &err), 0);
        n = readlink(l, buf, sizeof buf - 1); buf[n] = 0;
        assert_string_equal(buf, "t2");
        rmrf(d);
}

static void test_dated(void **s)
{
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *f = ps_path_join(d, "policy.json");
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_write_atomic(f, "old", 3, 0644, &err), 0);
        ps_dated pd = { .dir = d, .name = "policy.json", .dated_prefix = "policy_", .backup_prefix = "policy_", .mode = 0644 };
        time_t now = 1700000000;
        char *target = NULL;
        assert_int_equal(ps_dated_install(&pd, now, "new", 3, &target, &err), 0);
        char ts[32], ty[32]; ps_timestamp(now, ts); ps_timestamp(now - 86400, ty);
        char expect[64]; snprintf(expect, sizeof expect, "policy_%s", ts);
        assert_string_equal(target, expect);
        free(target);
        struct stat st; assert_int_equal(lstat(f, &st), 0); assert_true(S_ISLNK(st.st_mode));
        assert_true(ps_same_content(f, "new", 3));
        _cleanup_free_ char *b = NULL; assert_true(asprintf(&b, "%s/policy_%s", d, ty) > 0);
        assert_true(ps_same_content(b, "old", 3));
        /* same second again: a distinct dated name, old target untouched */
        assert_int_equal(ps_dated_install(&pd, now, "newer", 5, &target, &err), 0);
        snprintf(expect, sizeof expect, "policy_%s.1", ts);
        assert_string_equal(target, expect);
        free(target);
        assert_true(ps_same_content(f, "newer", 5));
        rmrf(d);
}

static void test_timestamp(void **s)
{
        char b[32];
        setenv("TZ", "UTC", 1); tzset();
        ps_timestamp(0, b);
        assert_string_equal(b, "1970-01-01_00:00:00");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_root_path), cmocka_unit_test(test_atomic_and_read),
                cmocka_unit_test(test_excl), cmocka_unit_test(test_mkdir_p),
                cmocka_unit_test(test_symlink_atomic), cmocka_unit_test(test_dated),
                cmocka_unit_test(test_timestamp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
