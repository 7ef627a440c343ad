/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cleanup.h"
#include "digest.h"

#define EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_parse_ok(void **s)
{
        ps_digest d;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_digest_parse(ABC, &d, &err), 0);
        assert_int_equal(d.alg, PS_DIGEST_SHA256);
        assert_string_equal(d.str, ABC);
        assert_string_equal(ps_digest_hex(&d), ABC + 7);
        assert_true(ps_digest_is_set(&d));
        assert_true(ps_digest_valid(EMPTY));
        ps_digest e;
        assert_int_equal(ps_digest_from_hex(ABC + 7, &e, &err), 0);
        assert_true(ps_digest_equal(&d, &e));
        assert_int_equal(ps_digest_parse_n(ABC "trailing", strlen(ABC), &e, &err), 0);
        assert_string_equal(e.str, ABC);
        ps_digest z = { 0 };
        assert_false(ps_digest_equal(&z, &z));
        assert_false(ps_digest_is_set(&z));
}

static void expect_bad(const char *v, const char *why)
{
        ps_digest d;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_digest_parse(v, &d, &err), -EINVAL);
        assert_non_null(err.msg);
        if (!strstr(err.msg, why))
                fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
        assert_false(ps_digest_valid(v));
        ps_error_clear(&err);
}

static void test_parse_bad(void **s)
{
        expect_bad("sha512:abc", "only sha256");
        expect_bad("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "only sha256");
        expect_bad("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "lowercase");
        expect_bad("sha256:ba7816bf", "64 hex");
        expect_bad(ABC "0", "64 hex");
        expect_bad("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "ALGORITHM:HEX");
        expect_bad(":abc", "empty");
        expect_bad("", "ALGORITHM:HEX");
        expect_bad("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a\n", "lowercase");
        /* control characters are shown escaped */
        ps_digest d;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_digest_parse("x\x1b[2J:1", &d, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "\\x1b"));
        ps_error_clear(&err);
        /* long values are shortened */
        char *longv = malloc(10001);
        memset(longv, 'a', 10000);
        longv[10000] = '\0';
        longv[3] = ':';
        assert_int_equal(ps_digest_parse(longv, &d, &err), -EINVAL);
        assert_true(strlen(err.msg) < 300);
        ps_error_clear(&err);
        free(longv);
        assert_int_equal(ps_digest_parse(NULL, &d, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_digest_from_hex("xyz", &d, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a sha256 digest"));
        ps_error_clear(&err);
        assert_int_equal(ps_digest_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &d, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_buffer(void **s)
{
        ps_digest d;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_digest_buffer("", 0, &d, &err), 0);
        assert_string_equal(d.str, EMPTY);
        assert_int_equal(ps_digest_buffer("abc", 3, &d, &err), 0);
        assert_string_equal(d.str, ABC);
        assert_int_equal(ps_digest_verify_buffer("abc", 3, &d, "manifest", &err), 0);
        assert_int_equal(ps_digest_verify_buffer("abd", 3, &d, "manifest", &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "manifest content does not match its digest " ABC));
        ps_error_clear(&err);
}

static void test_incremental(void **s)
{
        _cleanup_(ps_sha256_freep) ps_sha256 *h = NULL;
        ps_error err = PS_ERROR_INIT;
        ps_digest d;
        assert_int_equal(ps_sha256_new(&h, &err), 0);
        assert_int_equal(ps_sha256_update(h, "a", 1, &err), 0);
        assert_int_equal(ps_sha256_update(h, "", 0, &err), 0);
        assert_int_equal(ps_sha256_update(h, "bc", 2, &err), 0);
        assert_int_equal(ps_sha256_count(h), 3);
        assert_int_equal(ps_sha256_final(h, &d, &err), 0);
        assert_string_equal(d.str, ABC);
        /* reusable after final */
        assert_int_equal(ps_sha256_count(h), 0);
        assert_int_equal(ps_sha256_final(h, &d, &err), 0);
        assert_string_equal(d.str, EMPTY);
        assert_int_equal(ps_sha256_update(h, "zzz", 3, &err), 0);
        assert_int_equal(ps_sha256_reset(h, &err), 0);
        assert_int_equal(ps_sha256_update(h, "abc", 3, &err), 0);
        assert_int_equal(ps_sha256_final(h, &d, &err), 0);
        assert_string_equal(d.str, ABC);
        /* a million 'a' (FIPS 180-2 test vector), fed in uneven pieces */
        char *m = malloc(1000000);
        memset(m, 'a', 1000000);
        size_t off = 0, step = 1;
        while (off < 1000000) {
                size_t n = step < 1000000 - off ? step : 1000000 - off;
                assert_int_equal(ps_sha256_update(h, m + off, n, &err), 0);
                off += n;
                step = step * 3 + 1;
        }
        assert_int_equal(ps_sha256_final(h, &d, &err), 0);
        assert_string_equal(d.str, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        ps_digest e;
        assert_int_equal(ps_digest_buffer(m, 1000000, &e, &err), 0);
        assert_true(ps_digest_equal(&d, &e));
        free(m);
}

static void test_fd(void **s)
{
        char path[] = "/tmp/podsec-digest-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        /* 3 MiB + 5: crosses the 1 MiB read blocks */
        size_t n = 3 * 1024 * 1024 + 5;
        unsigned char *buf = malloc(n);
        for (size_t i = 0; i < n; i++)
                buf[i] = (unsigned char)(i * 7 + (i >> 13));
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        ps_error err = PS_ERROR_INIT;
        ps_digest a, b, c;
        uint64_t size = 0;
        assert_int_equal(ps_digest_fd(fd, &a, &size, &err), 0);
        assert_int_equal(size, n);
        assert_int_equal(ps_digest_buffer(buf, n, &b, &err), 0);
        assert_string_equal(a.str, b.str);
        assert_int_equal(ps_digest_file(path, &c, NULL, &err), 0);
        assert_string_equal(c.str, b.str);
        close(fd);
        unlink(path);
        free(buf);
        assert_int_equal(ps_digest_file(path, &c, NULL, &err), -ENOENT);
        assert_non_null(strstr(err.msg, path));
        ps_error_clear(&err);
        /* a directory cannot be read */
        assert_true(ps_digest_file("/", &c, NULL, &err) < 0);
        assert_non_null(strstr(err.msg, "reading input"));
        ps_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ok),
                cmocka_unit_test(test_parse_bad),
                cmocka_unit_test(test_buffer),
                cmocka_unit_test(test_incremental),
                cmocka_unit_test(test_fd),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
