/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "error.h"
#include "ipaddr.h"

/* The validation table: text, expected class (= exit code of policy init),
 * and a piece of the expected message. */
static const struct {
        const char *text;
        ps_ip_class cls;
        const char *msg;
} cases[] = {
        /* valid */
        { "192.168.1.10", PS_IP_VALID, NULL },
        { "10.0.0.1", PS_IP_VALID, NULL },
        { "1.2.3.4", PS_IP_VALID, NULL },
        { "172.16.0.0", PS_IP_VALID, NULL },
        { "223.255.255.255", PS_IP_VALID, NULL },
        { "1.0.0.0", PS_IP_VALID, NULL },
        { "169.254.1.1", PS_IP_VALID, NULL },
        { "100.64.0.0", PS_IP_VALID, NULL },
        /* not four fields, or IPv6: class 2 */
        { "", PS_IP_NOT_QUAD, "empty" },
        { "1.2.3", PS_IP_NOT_QUAD, "3 fields" },
        { "1.2.3.4.5", PS_IP_NOT_QUAD, "5 fields" },
        { "1.2.3.4.", PS_IP_NOT_QUAD, "5 fields" },
        { ".1.2.3.4", PS_IP_NOT_QUAD, "5 fields" },
        { "1", PS_IP_NOT_QUAD, "1 field " },
        { "localhost", PS_IP_NOT_QUAD, "1 field " },
        { "1...2.3", PS_IP_NOT_QUAD, "5 fields" },
        { "::1", PS_IP_NOT_QUAD, "IPv6" },
        { "fe80::1", PS_IP_NOT_QUAD, "IPv6" },
        { "2001:db8::10", PS_IP_NOT_QUAD, "IPv6" },
        { "::ffff:192.168.1.1", PS_IP_NOT_QUAD, "IPv6" },
        { "1.2.3.4:80", PS_IP_NOT_QUAD, "invalid IP address" },
        /* four fields, one not a number 0-255: class 3 */
        { "a.b.c.d", PS_IP_BAD_FIELD, "field 1 ('a')" },
        { "999.1.1.1", PS_IP_BAD_FIELD, "field 1 ('999')" },
        { "1.2.3.256", PS_IP_BAD_FIELD, "field 4 ('256')" },
        { "1.2.3.-4", PS_IP_BAD_FIELD, "field 4 ('-4')" },
        { "1..2.3", PS_IP_BAD_FIELD, "field 2 ('') is empty" },
        { " 1.2.3.4", PS_IP_BAD_FIELD, "field 1 (' 1')" },
        { "1.2.3.4 ", PS_IP_BAD_FIELD, "field 4 ('4 ')" },
        { "+1.2.3.4", PS_IP_BAD_FIELD, "field 1 ('+1')" },
        { "1.2.3.+4", PS_IP_BAD_FIELD, "field 4" },
        { "01.2.3.4", PS_IP_BAD_FIELD, "leading zero" },
        { "1.2.3.010", PS_IP_BAD_FIELD, "leading zero" },
        { "1.2.3.00", PS_IP_BAD_FIELD, "leading zero" },
        { "1.2.3.0x1", PS_IP_BAD_FIELD, "field 4" },
        { "1.2.3.1e2", PS_IP_BAD_FIELD, "field 4" },
        { "1.2.3.4\n", PS_IP_BAD_FIELD, "field 4 ('4?')" },
        { "1.2.3.\t4", PS_IP_BAD_FIELD, "field 4 ('?4')" },
        { "1.2.3.1000", PS_IP_BAD_FIELD, "field 4 ('1000')" },
        { "1.2.3.99999999999999999999", PS_IP_BAD_FIELD, "field 4" },
        { "\xd9\xa1.2.3.4", PS_IP_BAD_FIELD, "field 1 ('?" "?')" },
        /* well formed but unusable: class 1 */
        { "127.0.0.1", PS_IP_UNUSABLE, "loopback" },
        { "127.1.2.3", PS_IP_UNUSABLE, "loopback" },
        { "127.255.255.255", PS_IP_UNUSABLE, "loopback" },
        { "0.0.0.0", PS_IP_UNUSABLE, "0.0.0.0/8" },
        { "0.1.2.3", PS_IP_UNUSABLE, "0.0.0.0/8" },
        { "224.0.0.1", PS_IP_UNUSABLE, "multicast" },
        { "239.255.255.250", PS_IP_UNUSABLE, "multicast" },
        { "240.0.0.1", PS_IP_UNUSABLE, "reserved" },
        { "255.255.255.255", PS_IP_UNUSABLE, "broadcast" },
        { "255.254.253.0", PS_IP_UNUSABLE, "240.0.0.0/4" },
};

static void test_table(void **s)
{
        size_t n = sizeof cases / sizeof cases[0];
        assert_true(n >= 30);
        for (size_t i = 0; i < n; i++) {
                ps_ip_class want = cases[i].cls;
                ps_error err = PS_ERROR_INIT;
                struct in_addr a = { 0 };
                ps_ip_class cls = (ps_ip_class)99;
                int r = ps_ipv4_parse(cases[i].text, &a, &cls, &err);
                if (cls != want)
                        fail_msg("'%s': class %d, expected %d (%s)", cases[i].text, cls, want, ps_error_msg(&err));
                if (want == PS_IP_VALID) {
                        assert_int_equal(r, 0);
                        char back[INET_ADDRSTRLEN];
                        assert_non_null(inet_ntop(AF_INET, &a, back, sizeof back));
                        assert_string_equal(back, cases[i].text);
                        assert_null(err.msg);
                        assert_true(ps_ipv4_syntax(cases[i].text, NULL));
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_non_null(err.msg);
                        if (cases[i].msg && !strstr(err.msg, cases[i].msg))
                                fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err.msg, cases[i].msg);
                        /* messages never carry raw control characters */
                        for (const char *p = err.msg; *p; p++)
                                assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
                }
                ps_error_clear(&err);
        }
}

static void test_syntax_only(void **s)
{
        struct in_addr a;
        assert_true(ps_ipv4_syntax("127.0.0.1", &a));
        assert_int_equal(ntohl(a.s_addr), 0x7f000001u);
        assert_true(ps_ipv4_syntax("0.0.0.0", &a));
        assert_false(ps_ipv4_syntax("1.2.3", &a));
        assert_false(ps_ipv4_syntax("01.2.3.4", &a));
        assert_false(ps_ipv4_syntax(NULL, &a));
}

static void test_null_outputs(void **s)
{
        assert_int_equal(ps_ipv4_parse("10.1.2.3", NULL, NULL, NULL), 0);
        assert_int_equal(ps_ipv4_parse("10.1.2", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(ps_ipv4_parse(NULL, NULL, NULL, NULL), -EINVAL);
}

static void test_long_text_is_cut(void **s)
{
        char buf[600];
        memset(buf, 'x', sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
        ps_error err = PS_ERROR_INIT;
        ps_ip_class cls;
        assert_int_equal(ps_ipv4_parse(buf, NULL, &cls, &err), -EINVAL);
        assert_int_equal(cls, PS_IP_NOT_QUAD);
        assert_true(strlen(err.msg) < 200);
        assert_non_null(strstr(err.msg, "..."));
        ps_error_clear(&err);
}

/* Exact comparison with the interface addresses: every address getifaddrs
 * reports is local; an address one above it usually is not, and must not
 * be taken for local because of a textual prefix match (D23). */
static void test_is_local(void **s)
{
        ps_error err = PS_ERROR_INIT;
        struct in_addr lo;
        inet_pton(AF_INET, "127.0.0.1", &lo);
        assert_int_equal(ps_ipv4_is_local(&lo, &err), 1);

        struct in_addr testnet;   /* TEST-NET-3, not assigned on the test machines */
        inet_pton(AF_INET, "203.0.113.123", &testnet);
        assert_int_equal(ps_ipv4_is_local(&testnet, &err), 0);

        struct ifaddrs *list = NULL;
        assert_int_equal(getifaddrs(&list), 0);
        for (struct ifaddrs *i = list; i; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
                        continue;
                struct sockaddr_in sin;
                memcpy(&sin, i->ifa_addr, sizeof sin);
                assert_int_equal(ps_ipv4_is_local(&sin.sin_addr, &err), 1);
                /* "2.168.1.10" vs "192.168.1.10": a suffix of a local address is not local */
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
                const char *dot = strchr(text, '.');
                unsigned first = (unsigned)atoi(text);
                if (first >= 10) {
                        char suffix[INET_ADDRSTRLEN + 4];
                        snprintf(suffix, sizeof suffix, "%u%s", first % 10 ? first % 10 : 1, dot);
                        struct in_addr other;
                        if (inet_pton(AF_INET, suffix, &other) == 1) {
                                bool also_real = false;
                                for (struct ifaddrs *j = list; j; j = j->ifa_next) {
                                        if (!j->ifa_addr || j->ifa_addr->sa_family != AF_INET)
                                                continue;
                                        struct sockaddr_in s2;
                                        memcpy(&s2, j->ifa_addr, sizeof s2);
                                        if (s2.sin_addr.s_addr == other.s_addr)
                                                also_real = true;
                                }
                                if (!also_real)
                                        assert_int_equal(ps_ipv4_is_local(&other, &err), 0);
                        }
                }
        }
        freeifaddrs(list);
        assert_null(err.msg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_syntax_only),
                cmocka_unit_test(test_null_outputs),
                cmocka_unit_test(test_long_text_is_cut),
                cmocka_unit_test(test_is_local),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
