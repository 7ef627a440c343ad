/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "hosts.h"

static char *const names[] = { "registry.local", "sigstore.local", "trivy.local", NULL };

static ps_hosts *parse(const char *text)
{
        ps_hosts *h = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_hosts_parse(text, strlen(text), "hosts", &h, &err), 0);
        assert_null(err.msg);
        return h;
}

/* bind and return the new text (and whether it changed) */
static char *bind_text(const char *text, const char *addr, bool *changed)
{
        ps_hosts *h = parse(text);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_hosts_bind(h, addr, names, changed, &err), 0);
        char *r = ps_hosts_format(h, NULL);
        assert_non_null(r);
        ps_hosts_free(h);
        return r;
}

static void test_parse_fields(void **s)
{
        ps_hosts *h = parse("# comment line\n"
                            "127.0.0.1\tlocalhost\n"
                            "\n"
                            "  10.0.0.5   a.example  b   # trailing comment c\n"
                            "::1 ip6-localhost ip6-loopback\r\n"
                            "192.0.2.1#no-space-comment\n"
                            "198.51.100.7");
        assert_int_equal(h->n, 7);
        assert_false(h->trailing_newline);
        assert_null(h->lines[0].addr);
        assert_int_equal(h->lines[0].nnames, 0);
        assert_string_equal(h->lines[0].raw, "# comment line");
        assert_string_equal(h->lines[1].addr, "127.0.0.1");
        assert_int_equal(h->lines[1].nnames, 1);
        assert_string_equal(h->lines[1].names[0], "localhost");
        assert_null(h->lines[2].addr);
        assert_string_equal(h->lines[3].addr, "10.0.0.5");
        assert_int_equal(h->lines[3].nnames, 2);
        assert_string_equal(h->lines[3].names[0], "a.example");
        assert_string_equal(h->lines[3].names[1], "b");
        assert_null(h->lines[3].names[2]);
        assert_string_equal(h->lines[4].addr, "::1");
        assert_int_equal(h->lines[4].nnames, 2);
        assert_string_equal(h->lines[4].names[1], "ip6-loopback");   /* CR is a blank */
        assert_string_equal(h->lines[5].addr, "192.0.2.1");
        assert_int_equal(h->lines[5].nnames, 0);
        assert_string_equal(h->lines[6].addr, "198.51.100.7");
        ps_hosts_free(h);
}

static void test_empty_and_newlines(void **s)
{
        ps_hosts *h = parse("");
        assert_int_equal(h->n, 0);
        assert_true(h->trailing_newline);
        size_t len = 99;
        char *t = ps_hosts_format(h, &len);
        assert_string_equal(t, "");
        assert_int_equal(len, 0);
        free(t);
        ps_hosts_free(h);

        h = parse("\n\n");
        assert_int_equal(h->n, 2);
        t = ps_hosts_format(h, NULL);
        assert_string_equal(t, "\n\n");
        free(t);
        ps_hosts_free(h);

        /* round trip keeps every byte of unchanged lines */
        const char *orig = "127.0.0.1\tlocalhost   # x\n  # indented comment\n\t\n10.1.1.1 h\n";
        h = parse(orig);
        t = ps_hosts_format(h, NULL);
        assert_string_equal(t, orig);
        free(t);
        ps_hosts_free(h);
}

static void test_nul_refused(void **s)
{
        ps_hosts *h = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_hosts_parse("a\0b\n", 4, "/etc/hosts", &h, &err), -EINVAL);
        assert_null(h);
        assert_non_null(strstr(err.msg, "/etc/hosts contains a NUL byte"));
        ps_error_clear(&err);
}

static void test_check_states(void **s)
{
        ps_hosts_conflict c = { 0 };
        ps_hosts *h = parse("127.0.0.1 localhost\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_ABSENT);
        ps_hosts_free(h);

        h = parse("127.0.0.1 localhost\n10.0.0.5 registry.local sigstore.local trivy.local\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_BOUND);
        ps_hosts_free(h);

        /* spread over lines, different case, duplicates: still bound */
        h = parse("10.0.0.5 REGISTRY.local\n10.0.0.5 sigstore.local trivy.local\n10.0.0.5 registry.local\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_BOUND);
        ps_hosts_free(h);

        h = parse("10.0.0.5 registry.local\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_PARTIAL);
        ps_hosts_free(h);

        /* a binding to another address is a conflict, with its line number */
        h = parse("# hdr\n127.0.0.1 localhost\n10.0.0.5 registry.local sigstore.local trivy.local\n"
                  "10.0.0.9 trivy.local\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_CONFLICT);
        assert_int_equal(c.line, 4);
        assert_string_equal(c.addr, "10.0.0.9");
        assert_string_equal(c.name, "trivy.local");
        ps_hosts_free(h);

        /* the original's regex check (D4, D23): another IP is not missed, and
         * an IP that merely contains the wanted one as text is another IP */
        h = parse("192.168.1.10 registry.local\n");
        assert_int_equal(ps_hosts_check(h, "2.168.1.10", names, &c), PS_HOSTS_CONFLICT);
        assert_int_equal(c.line, 1);
        ps_hosts_free(h);

        /* commented-out bindings do not count */
        h = parse("#10.0.0.9 registry.local sigstore.local trivy.local\n10.0.0.1 x # registry.local\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_ABSENT);
        ps_hosts_free(h);

        /* an IPv6 binding of a name is another address */
        h = parse("::1 registry.local\n");
        assert_int_equal(ps_hosts_check(h, "10.0.0.5", names, &c), PS_HOSTS_CONFLICT);
        ps_hosts_free(h);
}

static void test_same_addr(void **s)
{
        assert_true(ps_hosts_same_addr("10.0.0.5", "10.0.0.5"));
        assert_false(ps_hosts_same_addr("10.0.0.5", "10.0.0.50"));
        assert_true(ps_hosts_same_addr("::1", "0:0:0:0:0:0:0:1"));
        assert_false(ps_hosts_same_addr("::1", "127.0.0.1"));
        assert_true(ps_hosts_same_addr("weird", "weird"));
        assert_false(ps_hosts_same_addr("weird", "other"));
}

static void test_bind_append(void **s)
{
        bool changed = false;
        char *t = bind_text("127.0.0.1\tlocalhost\n", "10.0.0.5", &changed);
        assert_true(changed);
        assert_string_equal(t, "127.0.0.1\tlocalhost\n10.0.0.5 registry.local sigstore.local trivy.local\n");
        free(t);

        /* no final newline: one is added before the new line */
        t = bind_text("127.0.0.1\tlocalhost", "10.0.0.5", &changed);
        assert_string_equal(t, "127.0.0.1\tlocalhost\n10.0.0.5 registry.local sigstore.local trivy.local\n");
        free(t);

        /* empty file */
        t = bind_text("", "10.0.0.5", &changed);
        assert_string_equal(t, "10.0.0.5 registry.local sigstore.local trivy.local\n");
        free(t);
}

static void test_bind_idempotent(void **s)
{
        const char *orig = "127.0.0.1 localhost\n10.0.0.5\tregistry.local sigstore.local trivy.local # mine\n";
        bool changed = true;
        char *t = bind_text(orig, "10.0.0.5", &changed);
        assert_false(changed);
        assert_string_equal(t, orig);
        free(t);

        /* binding twice gives the same text as binding once */
        char *once = bind_text("127.0.0.1 localhost\n", "10.0.0.5", &changed);
        char *twice = bind_text(once, "10.0.0.5", &changed);
        assert_false(changed);
        assert_string_equal(once, twice);
        free(once);
        free(twice);
}

static void test_bind_replace(void **s)
{
        bool changed = false;
        /* the old binding line is replaced in place */
        char *t = bind_text("127.0.0.1 localhost\n10.0.0.9 registry.local sigstore.local trivy.local\n"
                            "# tail\n", "10.0.0.5", &changed);
        assert_true(changed);
        assert_string_equal(t, "127.0.0.1 localhost\n10.0.0.5 registry.local sigstore.local trivy.local\n"
                               "# tail\n");
        free(t);

        /* other names on the line are kept there, with its comment */
        t = bind_text("10.0.0.9 myhost registry.local other # keep me\n10.0.0.8 trivy.local\n", "10.0.0.5",
                      &changed);
        assert_string_equal(t, "10.0.0.9 myhost other # keep me\n"
                               "10.0.0.5 registry.local sigstore.local trivy.local\n");
        free(t);

        /* partial binding to the same address is completed */
        t = bind_text("10.0.0.5 registry.local\n127.0.0.1 localhost\n", "10.0.0.5", &changed);
        assert_true(changed);
        assert_string_equal(t, "10.0.0.5 registry.local sigstore.local trivy.local\n127.0.0.1 localhost\n");
        free(t);

        /* names are matched without regard to case */
        t = bind_text("10.0.0.9 Registry.Local\n", "10.0.0.5", &changed);
        assert_string_equal(t, "10.0.0.5 registry.local sigstore.local trivy.local\n");
        free(t);
}

static void test_bind_no_names(void **s)
{
        ps_hosts *h = parse("");
        char *const none[] = { NULL };
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_hosts_bind(h, "10.0.0.5", none, NULL, &err), -EINVAL);
        ps_error_clear(&err);
        ps_hosts_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_fields),
                cmocka_unit_test(test_empty_and_newlines),
                cmocka_unit_test(test_nul_refused),
                cmocka_unit_test(test_check_states),
                cmocka_unit_test(test_same_addr),
                cmocka_unit_test(test_bind_append),
                cmocka_unit_test(test_bind_idempotent),
                cmocka_unit_test(test_bind_replace),
                cmocka_unit_test(test_bind_no_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
