/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "nagios.h"
#include <openssl/evp.h>

/* ---- range semantics: the developer guidelines' table, extended --------- */

static const struct {
        const char *range;
        double value;
        bool alert;
} alert_table[] = {
        /* N = 0:N, alert when < 0 or > N */
        { "10", 0, false }, { "10", 10, false }, { "10", 5, false },
        { "10", 10.5, true }, { "10", 11, true }, { "10", -1, true }, { "10", -0.001, true },
        { "0", 0, false }, { "0", 1, true }, { "0", -1, true },
        { "100", 100, false }, { "100", 101, true },
        /* START: = alert when < START */
        { "10:", 10, false }, { "10:", 1e12, false }, { "10:", 9.99, true }, { "10:", -10, true },
        { "-5:", -5, false }, { "-5:", -6, true },
        /* ~:END = alert when > END */
        { "~:10", -1e12, false }, { "~:10", 10, false }, { "~:10", 11, true },
        { "~:-3", -3, false }, { "~:-3", -2, true },
        /* START:END inclusive */
        { "10:20", 10, false }, { "10:20", 20, false }, { "10:20", 15, false },
        { "10:20", 9, true }, { "10:20", 21, true }, { "10:20", 20.01, true },
        { "-10:-5", -7, false }, { "-10:-5", -4, true }, { "-10:-5", -11, true },
        { "1.5:2.5", 2.5, false }, { "1.5:2.5", 1.49, true },
        /* :END = 0:END */
        { ":5", 0, false }, { ":5", -1, true }, { ":5", 6, true },
        /* @ inverts: alert when inside */
        { "@10:20", 10, true }, { "@10:20", 20, true }, { "@10:20", 15, true },
        { "@10:20", 9, false }, { "@10:20", 21, false },
        { "@10", 0, true }, { "@10", 11, false }, { "@10", -1, false },
        { "@~:0", -5, true }, { "@~:0", 1, false },
        { "@5:", 4, false }, { "@5:", 5, true },
        /* both infinite */
        { "~:", -1e300, false }, { "~:", 1e300, false }, { "@~:", 0, true },
        /* the man pages' START-END */
        { "20-100", 20, false }, { "20-100", 100, false }, { "20-100", 19, true },
        { "20-100", 101, true }, { "-5-5", -5, false }, { "-5-5", -6, true },
        /* NaN cannot be checked */
        { "10", NAN, true },
};

static void test_alert_table(void **s)
{
        assert_true(PS_ARRAY_SIZE(alert_table) >= 40);
        for (size_t i = 0; i < PS_ARRAY_SIZE(alert_table); i++) {
                ps_range r;
                ps_error err = PS_ERROR_INIT;
                int k = ps_range_parse(alert_table[i].range, &r, &err);
                if (k < 0)
                        fail_msg("%s: %s", alert_table[i].range, err.msg);
                bool a = ps_range_alert(&r, alert_table[i].value);
                if (a != alert_table[i].alert)
                        fail_msg("range %s value %g: alert %d, expected %d", alert_table[i].range,
                                 alert_table[i].value, a, alert_table[i].alert);
        }
}

static void test_not_set(void **s)
{
        ps_range r = { 0 };
        assert_false(ps_range_alert(&r, 1e9));
        assert_false(ps_range_alert(&r, NAN));
        assert_false(ps_range_alert(NULL, 1));
        char *t = ps_range_format(&r);
        assert_string_equal(t, "");
        free(t);
}

static void test_parse_errors(void **s)
{
        static const struct {
                const char *text;
                const char *msg;
        } bad[] = {
                { "", "empty range" },
                { "@", "nothing follows '@'" },
                { "abc", "\"abc\" is not a decimal number" },
                { "10a", "not a decimal number" },
                { "1:2:3", "more than one ':'" },
                { "~10", "'~' (minus infinity) must be followed by ':'" },
                { "20:10", "start 20 is greater than end 10" },
                { "-5", "start 0 is greater than end -5 (a single number N means 0:N)" },
                { "1e3", "not a decimal number" },
                { "0x10", "not a decimal number" },
                { "+5", "not a decimal number" },
                { " 5", "not a decimal number" },
                { "5 ", "not a decimal number" },
                { "x:5", "start \"x\" is not a decimal number or '~'" },
                { "5:y", "end \"y\" is not a decimal number" },
                { "@@5", "not a decimal number" },
                { "~~:5", "start \"~~\"" },
                { "--5", "not a decimal number" },
                { "5--3", "start 5 is greater than end -3" },
                { "1-2-3", "not a decimal number" },
                { "nan", "not a decimal number" },
                { "inf", "not a decimal number" },
                { ".", "not a decimal number" },
                { "-", "not a decimal number" },
                { "1" "000000000000000000000000000000000000000000000000000000000000000000000000000000"
                  "000000000000000000000000000000000000000000000000000000000000000000000000000000"
                  "000000000000000000000000000000000000000000000000000000000000000000000000000000"
                  "0000000000000000000000000000000000000000000000000000000000000000000000000000000",
                  "not a representable number" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                ps_range r = { .set = true };
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_range_parse(bad[i].text, &r, &err), -EINVAL);
                assert_false(r.set);
                if (!strstr(err.msg, bad[i].msg))
                        fail_msg("\"%s\": message \"%s\" lacks \"%s\"", bad[i].text, err.msg, bad[i].msg);
                ps_error_clear(&err);
        }
        ps_range r;
        assert_int_equal(ps_range_parse(NULL, &r, NULL), -EINVAL);
}

static void test_format(void **s)
{
        static const struct {
                const char *in, *out;
        } tab[] = {
                { "10", "10" }, { "0:10", "10" }, { ":10", "10" }, { "10:", "10:" },
                { "~:10", "~:10" }, { "@10:20", "@10:20" }, { "@10", "@10" }, { "20-100", "20:100" },
                { "1.50:2.25", "1.5:2.25" }, { "0.1", "0.1" }, { "-3:-1", "-3:-1" }, { "~:", "~:" },
                { ":", "0:" }, { "00007", "7" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(tab); i++) {
                ps_range r;
                assert_int_equal(ps_range_parse(tab[i].in, &r, NULL), 0);
                char *t = ps_range_format(&r);
                if (strcmp(t, tab[i].out))
                        fail_msg("%s formatted as %s, expected %s", tab[i].in, t, tab[i].out);
                /* and it reads back to the same range */
                ps_range r2;
                assert_int_equal(ps_range_parse(t, &r2, NULL), 0);
                assert_memory_equal(&r, &r2, sizeof r);
                free(t);
        }
}

static void test_number_format(void **s)
{
        static const struct {
                double v;
                const char *out;
        } tab[] = {
                { 0, "0" }, { 3, "3" }, { -0.5, "-0.5" }, { 0.1, "0.1" }, { 1e20, "100000000000000000000" },
                { 123456.789, "123456.789" }, { 1e-7, "0.0000001" }, { -42, "-42" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(tab); i++) {
                char *t = ps_number_format(tab[i].v);
                assert_string_equal(t, tab[i].out);
                free(t);
        }
        char *t = ps_number_format(INFINITY);
        assert_string_equal(t, "inf");
        free(t);
}

/* decimal commas of a locale must not leak into parsing or output */
static void test_locale_independent(void **s)
{
        if (!setlocale(LC_NUMERIC, "ru_RU.UTF-8") && !setlocale(LC_NUMERIC, "de_DE.UTF-8")) {
                skip();
                return;
        }
        ps_range r;
        assert_int_equal(ps_range_parse("1.5:2.5", &r, NULL), 0);
        assert_true(r.start == 1.5 && r.end == 2.5);
        char *t = ps_range_format(&r);
        assert_string_equal(t, "1.5:2.5");
        free(t);
        setlocale(LC_NUMERIC, "C");
}

/* ---- levels and options ------------------------------------------------ */

static void test_levels(void **s)
{
        static const char keys[] = "afchmwld";
        static const char *const prefixes[] = { "Crash", "Fatal", "Critical", "High", "Middle", "Warning", "Low", "Debug" };
        static const int prios[] = { LOG_EMERG, LOG_ALERT, LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_NOTICE, LOG_INFO };
        for (int l = 0; l < PS_LEVEL_COUNT; l++) {
                assert_int_equal(ps_level_key(l), keys[l]);
                assert_string_equal(ps_level_prefix(l), prefixes[l]);
                assert_int_equal(ps_level_priority(l), prios[l]);
                assert_int_equal(ps_level_from_key(keys[l]), l);
        }
        assert_int_equal(ps_level_from_key('x'), PS_LEVEL_NONE);
        assert_null(ps_level_prefix(PS_LEVEL_NONE));
        assert_true(ps_level_in_scale(PS_LEVEL_CRITICAL, PS_SCALE_NAGIOS));
        assert_true(ps_level_in_scale(PS_LEVEL_WARNING, PS_SCALE_NAGIOS));
        assert_false(ps_level_in_scale(PS_LEVEL_HIGH, PS_SCALE_NAGIOS));
        assert_false(ps_level_in_scale(PS_LEVEL_WARNING, PS_SCALE_JOURNAL));
        assert_true(ps_level_in_scale(PS_LEVEL_CRITICAL, PS_SCALE_JOURNAL));
        assert_int_equal(ps_nagios_state_of(PS_LEVEL_CRITICAL), PS_NAGIOS_CRITICAL);
        assert_int_equal(ps_nagios_state_of(PS_LEVEL_MIDDLE), PS_NAGIOS_CRITICAL);
        assert_int_equal(ps_nagios_state_of(PS_LEVEL_WARNING), PS_NAGIOS_WARNING);
        assert_int_equal(ps_nagios_state_of(PS_LEVEL_LOW), PS_NAGIOS_OK);
        assert_int_equal(ps_nagios_state_of(PS_LEVEL_NONE), PS_NAGIOS_OK);
        assert_int_equal(ps_nagios_exit_code(PS_NAGIOS_WARNING), 1);
        assert_int_equal(ps_nagios_exit_code((enum ps_nagios_state)7), 3);
        assert_string_equal(ps_nagios_state_name(PS_NAGIOS_UNKNOWN), "UNKNOWN");
        assert_string_equal(ps_nagios_state_name((enum ps_nagios_state)9), "UNKNOWN");
}

static int parse(ps_nagios_opts *o, unsigned flags, ps_error *err, ...)
{
        char *argv[32] = { "prog" };
        int argc = 1;
        va_list ap;
        va_start(ap, err);
        const char *a;
        while ((a = va_arg(ap, const char *)) && argc < 31)
                argv[argc++] = (char *)a;
        va_end(ap);
        ps_nagios_opts_init(o);
        return ps_nagios_parse_args(o, argc, argv, flags, err);
}

/* The man-page example the original got wrong (defect 9): with -w 0 -h 0
 * -c 100 a metric of 101 must be Critical on both scales. */
static void test_severity_order(void **s)
{
        ps_nagios_opts o;
        assert_int_equal(parse(&o, 0, NULL, "-w", "0", "-h", "0", "-c", "100", NULL), 7);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_JOURNAL, 101), PS_LEVEL_CRITICAL);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_NAGIOS, 101), PS_LEVEL_CRITICAL);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_JOURNAL, 50), PS_LEVEL_HIGH);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_NAGIOS, 50), PS_LEVEL_WARNING);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_JOURNAL, 0), PS_LEVEL_NONE);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_NAGIOS, 0), PS_LEVEL_NONE);
        ps_nagios_opts_free(&o);

        /* every journal level, all "warn on anything": the most severe wins */
        assert_int_equal(parse(&o, 0, NULL, "-d", "0", "-l", "0", "-m", "0", "-h", "0", "-f", "0", "-a", "0", NULL), 13);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_JOURNAL, 1), PS_LEVEL_CRASH);
        assert_int_equal(ps_nagios_level(&o, PS_SCALE_NAGIOS, 1), PS_LEVEL_NONE);
        ps_nagios_opts_free(&o);

        /* graded thresholds */
        assert_int_equal(parse(&o, 0, NULL, "-d", "10", "-l", "20", "-m", "30", "-h", "40", "-c", "50",
                               "-f", "60", "-a", "70", "-w", "45", NULL), 17);
        static const struct { double m; enum ps_level j, n; } g[] = {
                { 5, PS_LEVEL_NONE, PS_LEVEL_NONE }, { 15, PS_LEVEL_DEBUG, PS_LEVEL_NONE },
                { 25, PS_LEVEL_LOW, PS_LEVEL_NONE }, { 35, PS_LEVEL_MIDDLE, PS_LEVEL_NONE },
                { 45, PS_LEVEL_HIGH, PS_LEVEL_NONE }, { 46, PS_LEVEL_HIGH, PS_LEVEL_WARNING },
                { 55, PS_LEVEL_CRITICAL, PS_LEVEL_CRITICAL }, { 65, PS_LEVEL_FATAL, PS_LEVEL_CRITICAL },
                { 75, PS_LEVEL_CRASH, PS_LEVEL_CRITICAL },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(g); i++) {
                assert_int_equal(ps_nagios_level(&o, PS_SCALE_JOURNAL, g[i].m), g[i].j);
                assert_int_equal(ps_nagios_level(&o, PS_SCALE_NAGIOS, g[i].m), g[i].n);
        }
        ps_nagios_opts_free(&o);
}

static void test_args_strict(void **s)
{
        ps_nagios_opts o;
        ps_error err = PS_ERROR_INIT;
        /* attached values, long options, verbosity, mail, "--" */
        assert_int_equal(parse(&o, 0, &err, "-c5", "--warning=2:", "--high", "@1:3", "-vv", "--verbose",
                               "-M", "root@example.org", "--", "rest", NULL), 10);
        assert_int_equal(o.verbosity, 3);
        assert_string_equal(o.mailto, "root@example.org");
        assert_true(o.journal[PS_LEVEL_CRITICAL].set && o.nagios[PS_LEVEL_CRITICAL].set);
        assert_true(o.nagios[PS_LEVEL_CRITICAL].end == 5);
        assert_true(o.nagios[PS_LEVEL_WARNING].set && !o.journal[PS_LEVEL_WARNING].set);
        assert_true(o.journal[PS_LEVEL_HIGH].inside && !o.nagios[PS_LEVEL_HIGH].set);
        ps_nagios_opts_free(&o);
        /* parsing stops at the first word */
        assert_int_equal(parse(&o, 0, &err, "-c", "1", "word", "-w", "2", NULL), 3);
        assert_false(o.nagios[PS_LEVEL_WARNING].set);
        ps_nagios_opts_free(&o);
        /* last one wins */
        assert_int_equal(parse(&o, 0, &err, "-c", "1", "-c", "7", NULL), 5);
        assert_true(o.journal[PS_LEVEL_CRITICAL].end == 7);
        ps_nagios_opts_free(&o);
        assert_int_equal(parse(&o, 0, &err, NULL), 1);
        assert_int_equal(o.given, 0);
        ps_nagios_opts_free(&o);

        static const struct {
                const char *a, *b, *msg;
        } bad[] = {
                { "-x", "1", "unknown option -x" },
                { "--frobnicate", "1", "unknown option --frobnicate" },
                { "-vx", NULL, "unknown option -vx" },
                { "--verbose=2", NULL, "takes no value" },
                { "-c", NULL, "option -c needs a value" },
                { "--critical", NULL, "option --critical needs a value" },
                { "-c", "abc", "option -c: invalid range \"abc\"" },
                { "--low=1:2:3", NULL, "option --low: invalid range" },
                { "-M", "-oQ/tmp/x", "starts with '-'" },
                { "-M", "a b@c", "blanks" },
                { "-M", "", "empty mail address" },
                { "-critical", "5", "unknown option -critical (long options take two dashes" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                int k = parse(&o, 0, &err, bad[i].a, bad[i].b, NULL);
                assert_int_equal(k, -EINVAL);
                if (!strstr(err.msg, bad[i].msg))
                        fail_msg("%s %s: \"%s\" lacks \"%s\"", bad[i].a, bad[i].b ? bad[i].b : "", err.msg, bad[i].msg);
                ps_error_clear(&err);
                ps_nagios_opts_free(&o);
        }
}

static void test_args_compat(void **s)
{
        ps_nagios_opts o;
        ps_error err = PS_ERROR_INIT;
        /* the systemd unit's literal redirections are skipped, "-critical"
         * is -c, unknown letters swallow a value, -vvvv caps at 3 */
        assert_int_equal(parse(&o, PS_NAGIOS_ARGS_COMPAT, &err, "-vvvv", "-critical", "100", ">/dev/null",
                               "2>&1", "-x", "-c", "-M", "admin", NULL), 10);
        assert_int_equal(o.verbosity, 3);
        assert_true(o.journal[PS_LEVEL_CRITICAL].set && o.journal[PS_LEVEL_CRITICAL].end == 100);
        assert_string_equal(o.mailto, "admin");
        ps_nagios_opts_free(&o);
        /* -vx counts letters like the original */
        assert_int_equal(parse(&o, PS_NAGIOS_ARGS_COMPAT, &err, "-vx", NULL), 2);
        assert_int_equal(o.verbosity, 2);
        ps_nagios_opts_free(&o);
        /* but garbage ranges are rejected, not read as 0 */
        assert_int_equal(parse(&o, PS_NAGIOS_ARGS_COMPAT, &err, "-c", "abc", NULL), -EINVAL);
        assert_non_null(strstr(err.msg, "option -c: invalid range \"abc\""));
        ps_error_clear(&err);
        ps_nagios_opts_free(&o);
        assert_int_equal(parse(&o, PS_NAGIOS_ARGS_COMPAT, &err, "-h", NULL), -EINVAL);
        assert_non_null(strstr(err.msg, "needs a value"));
        ps_error_clear(&err);
        ps_nagios_opts_free(&o);
}

/* ---- output ------------------------------------------------------------ */

static char *perf(const char *label, double v, const char *uom, const char *w, const char *c,
                  const double *mn, const double *mx)
{
        ps_nagios_result r;
        assert_int_equal(ps_nagios_result_init(&r, NULL, NULL), 0);
        ps_range wr = { 0 }, cr = { 0 };
        if (w)
                assert_int_equal(ps_range_parse(w, &wr, NULL), 0);
        if (c)
                assert_int_equal(ps_range_parse(c, &cr, NULL), 0);
        assert_int_equal(ps_nagios_result_perf(&r, label, v, uom, w ? &wr : NULL, c ? &cr : NULL, mn, mx, NULL), 0);
        char *t = ps_perfdata_format(&r.perf[0]);
        ps_nagios_result_free(&r);
        return t;
}

static void test_perfdata(void **s)
{
        double zero = 0, hundred = 100;
        static const struct {
                const char *label;
                double v;
                const char *uom, *w, *c;
                bool min, max;
                const char *out;
        } tab[] = {
                { "files", 3, NULL, "5", "10", true, false, "files=3;5;10;0" },
                { "files", 3, "", NULL, NULL, false, false, "files=3" },
                { "time", 0.25, "s", NULL, NULL, false, false, "time=0.25s" },
                { "used", 40, "%", "80", "90", true, true, "used=40%;80;90;0;100" },
                { "user count", 2, NULL, NULL, NULL, false, false, "'user count'=2" },
                { "a=b", 1, "c", NULL, NULL, false, false, "'a=b'=1c" },
                { "it's", 1, NULL, NULL, NULL, false, false, "'it''s'=1" },
                { "''", 1, NULL, NULL, NULL, false, false, "''''''=1" },
                { "size", 1024, "KB", NULL, "@10:20", false, false, "size=1024KB;;@10:20" },
                { "x", -1.5, "ms", "~:0", NULL, false, true, "x=-1.5ms;~:0;;;100" },
                { "пользователи", 7, NULL, NULL, NULL, false, false, "пользователи=7" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(tab); i++) {
                char *t = perf(tab[i].label, tab[i].v, tab[i].uom, tab[i].w, tab[i].c,
                               tab[i].min ? &zero : NULL, tab[i].max ? &hundred : NULL);
                if (strcmp(t, tab[i].out))
                        fail_msg("perfdata %zu: \"%s\", expected \"%s\"", i, t, tab[i].out);
                free(t);
        }
        ps_nagios_result r;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_nagios_result_init(&r, "X", NULL), 0);
        assert_int_equal(ps_nagios_result_perf(&r, "", 1, NULL, NULL, NULL, NULL, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "label is empty"));
        ps_error_clear(&err);
        assert_int_equal(ps_nagios_result_perf(&r, "a|b", 1, NULL, NULL, NULL, NULL, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "'|'"));
        ps_error_clear(&err);
        assert_int_equal(ps_nagios_result_perf(&r, "a\nb", 1, NULL, NULL, NULL, NULL, NULL, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_nagios_result_perf(&r, "a", 1, "bytes", NULL, NULL, NULL, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "unknown unit \"bytes\""));
        ps_error_clear(&err);
        assert_int_equal(ps_nagios_result_perf(&r, "a", NAN, NULL, NULL, NULL, NULL, NULL, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(r.n_perf, 0);
        ps_nagios_result_free(&r);
}

static void test_status_line(void **s)
{
        ps_nagios_result r;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_nagios_result_init(&r, "POLICY", &err), 0);
        char *t = ps_nagios_result_format(&r);
        assert_string_equal(t, "POLICY UNKNOWN\n");
        free(t);
        assert_int_equal(ps_nagios_result_set(&r, PS_NAGIOS_OK, &err, "Containerization policies are not violated"), 0);
        t = ps_nagios_result_format(&r);
        assert_string_equal(t, "POLICY OK: Containerization policies are not violated\n");
        free(t);

        ps_range w, c;
        assert_int_equal(ps_range_parse("0", &w, NULL), 0);
        assert_int_equal(ps_range_parse("100", &c, NULL), 0);
        double zero = 0;
        assert_int_equal(ps_nagios_result_set(&r, PS_NAGIOS_CRITICAL, &err, "Critical(%d): users %s", 101,
                                              "alice|bob\nand carol"), 0);
        assert_int_equal(ps_nagios_result_perf(&r, "weight", 101, NULL, &w, &c, &zero, NULL, &err), 0);
        assert_int_equal(ps_nagios_result_perf(&r, "bad users", 3, NULL, NULL, NULL, NULL, NULL, &err), 0);
        assert_int_equal(ps_nagios_result_detail(&r, &err, "There are users:"), 0);
        assert_int_equal(ps_nagios_result_detail(&r, &err, "outside the podman group | x"), 0);
        t = ps_nagios_result_format(&r);
        assert_string_equal(t, "POLICY CRITICAL: Critical(101): users alice/bob and carol | weight=101;0;100;0 'bad users'=3\n"
                               "There are users:\n"
                               "outside the podman group / x\n");
        free(t);
        assert_int_equal(ps_nagios_exit_code(r.state), 2);

        json_t *j = ps_nagios_result_json(&r);
        assert_non_null(j);
        char *js = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(js,
                "{\"details\":[\"There are users:\",\"outside the podman group | x\"],\"exit\":2,\"name\":\"POLICY\","
                "\"perfdata\":[{\"crit\":\"100\",\"label\":\"weight\",\"max\":null,\"min\":0,\"uom\":\"\",\"value\":101,\"warn\":\"0\"},"
                "{\"crit\":null,\"label\":\"bad users\",\"max\":null,\"min\":null,\"uom\":\"\",\"value\":3,\"warn\":null}],"
                "\"state\":\"CRITICAL\",\"text\":\"Critical(101): users alice|bob\\nand carol\"}");
        free(js);
        json_decref(j);
        ps_nagios_result_free(&r);

        /* no service word */
        assert_int_equal(ps_nagios_result_init(&r, NULL, &err), 0);
        assert_int_equal(ps_nagios_result_set(&r, PS_NAGIOS_WARNING, &err, "x"), 0);
        t = ps_nagios_result_format(&r);
        assert_string_equal(t, "WARNING: x\n");
        free(t);
        j = ps_nagios_result_json(&r);
        assert_true(json_is_null(json_object_get(j, "name")));
        json_decref(j);
        ps_nagios_result_free(&r);
}

static void test_journal_text(void **s)
{
        char *t = ps_nagios_journal_text(PS_LEVEL_CRITICAL, "Critical(101): Users \"a\" have images");
        assert_string_equal(t, "Critical: Critical(101): Users \"a\" have images");
        free(t);
        t = ps_nagios_journal_text(PS_LEVEL_MIDDLE, "m");
        assert_string_equal(t, "Middle: m");
        free(t);
        assert_string_equal(PS_TAG_CHECK_POLICY, "podsec-inotify-check-policy");
        assert_string_equal(PS_TAG_CHECK_KUBEAPI, "podsec-inotify-check-kubeapi");
}

/* ---- mail -------------------------------------------------------------- */

static void test_mail_message(void **s)
{
        char *m = ps_nagios_mail_message("root", "POLICY Critical(101): a\nb", "line 1\n.\nline 3");
        assert_string_equal(m, "To: root\nSubject: POLICY Critical(101): a b\nMIME-Version: 1.0\n"
                               "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n"
                               "Auto-Submitted: auto-generated\n\nline 1\n.\nline 3\n");
        free(m);
        /* non-ASCII subject: RFC 2047 words, each <= 75 characters, UTF-8 never split */
        const char *subj = "Обнаружены запросы к кластеру kubernetes с превышением полномочий";
        m = ps_nagios_mail_message("root", subj, "");
        char *sl = strstr(m, "Subject: ");
        assert_non_null(sl);
        char *end = strstr(sl, "\nMIME-Version");
        assert_non_null(end);
        /* decode the words back */
        char decoded[512] = "";
        size_t dl = 0;
        for (char *w = strstr(sl, "=?UTF-8?B?"); w && w < end; w = strstr(w + 1, "=?UTF-8?B?")) {
                char *q = strstr(w + 10, "?=");
                assert_non_null(q);
                assert_true(q + 2 - w <= 75);
                unsigned char out[128];
                int n = EVP_DecodeBlock(out, (unsigned char *)w + 10, (int)(q - (w + 10)));
                assert_true(n > 0);
                /* EVP_DecodeBlock counts padding as zero bytes */
                size_t pad = (q[-1] == '=') + (q[-2] == '=');
                memcpy(decoded + dl, out, (size_t)n - pad);
                dl += (size_t)n - pad;
                /* every word is valid UTF-8 on its own: it does not end inside a sequence */
                unsigned char lastc = out[n - pad - 1];
                assert_true(lastc < 0x80 || (lastc & 0xC0) == 0x80);
        }
        decoded[dl] = '\0';
        assert_string_equal(decoded, subj);
        assert_non_null(strstr(m, "\n\n\n"));   /* empty body gets a newline */
        free(m);
}

static char *tmpdir(void)
{
        char t[] = "/tmp/podsec-test-XXXXXX";
        assert_non_null(mkdtemp(t));
        return strdup(t);
}

static void test_mail_send(void **s)
{
        _cleanup_free_ char *d = tmpdir();
        _cleanup_free_ char *prog = ps_path_join(d, "sendmail");
        _cleanup_free_ char *out = ps_path_join(d, "out");
        _cleanup_free_ char *script = NULL;
        assert_true(asprintf(&script, "#!/bin/sh\nprintf '%%s\\n' \"$@\" > '%s.args'\ncat > '%s'\n"
                                      "[ \"$3\" = fail ] && { echo 'no such user' >&2; exit 67; }\nexit 0\n", out, out) > 0);
        assert_int_equal(ps_write_atomic(prog, script, strlen(script), 0755, NULL), 0);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_nagios_mail(prog, "admin@example.org", "subj", "body $(id) `x`", &err), 0);
        char *buf = NULL;
        _cleanup_free_ char *args = NULL;
        assert_true(asprintf(&args, "%s.args", out) > 0);
        assert_int_equal(ps_read_file(args, 4096, &buf, NULL, NULL), 0);
        assert_string_equal(buf, "-oi\n--\nadmin@example.org\n");
        free(buf);
        assert_int_equal(ps_read_file(out, 4096, &buf, NULL, NULL), 0);
        assert_non_null(strstr(buf, "To: admin@example.org\nSubject: subj\n"));
        assert_non_null(strstr(buf, "\n\nbody $(id) `x`\n"));
        free(buf);
        /* failure carries sendmail's status and message */
        assert_int_equal(ps_nagios_mail(prog, "fail", "s", "b", &err), -EIO);
        assert_non_null(strstr(err.msg, "exited with status 67: no such user"));
        ps_error_clear(&err);
        /* argument injection is refused before anything runs */
        assert_int_equal(ps_nagios_mail(prog, "-C/etc/evil", "s", "b", &err), -EINVAL);
        ps_error_clear(&err);
        /* a missing program */
        _cleanup_free_ char *none = ps_path_join(d, "nope");
        assert_true(ps_nagios_mail(none, "root", "s", "b", &err) < 0);
        assert_non_null(strstr(err.msg, "cannot send mail to root"));
        ps_error_clear(&err);
        unlink(prog);
        unlink(out);
        unlink(args);
        rmdir(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alert_table),
                cmocka_unit_test(test_not_set),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_number_format),
                cmocka_unit_test(test_locale_independent),
                cmocka_unit_test(test_levels),
                cmocka_unit_test(test_severity_order),
                cmocka_unit_test(test_args_strict),
                cmocka_unit_test(test_args_compat),
                cmocka_unit_test(test_perfdata),
                cmocka_unit_test(test_status_line),
                cmocka_unit_test(test_journal_text),
                cmocka_unit_test(test_mail_message),
                cmocka_unit_test(test_mail_send),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
