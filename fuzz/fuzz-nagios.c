/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the threshold range parser, its canonical text (which
 * must read back to the same range), alert evaluation, the option parser in
 * both modes, and perfdata label quoting. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "nagios.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double probes[] = { -1e300, -101, -1, -0.5, 0, 0.5, 1, 9.99, 10, 20, 100, 101, 1e300, NAN };

static void check_range(const char *text)
{
        ps_range r;
        ps_error err = PS_ERROR_INIT;
        if (ps_range_parse(text, &r, &err) < 0) {
                assert(err.msg && *err.msg);
                assert(!r.set);
                ps_error_clear(&err);
                return;
        }
        assert(r.set);
        assert(r.no_start || r.no_end || r.start <= r.end);
        char *t = ps_range_format(&r);
        assert(t);
        ps_range r2;
        int k = ps_range_parse(t, &r2, NULL);
        assert(k == 0);
        assert(r2.set == r.set && r2.inside == r.inside && r2.no_start == r.no_start && r2.no_end == r.no_end);
        assert(r.no_start || r2.start == r.start);
        assert(r.no_end || r2.end == r.end);
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
                bool a = ps_range_alert(&r, probes[i]);
                assert(a == ps_range_alert(&r2, probes[i]));
                ps_range inv = r;
                inv.inside = !inv.inside;
                if (!isnan(probes[i]))
                        assert(ps_range_alert(&inv, probes[i]) == !a);
        }
        free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > 4096)
                return 0;
        char *s = malloc(size + 1);
        if (!s)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        check_range(s);

        /* the same bytes as an argument vector split at NUL/blank */
        char *argv[64] = { "prog" };
        int argc = 1;
        char *save = NULL;
        char *copy = strdup(s);
        for (char *w = strtok_r(copy, " \t\n", &save); w && argc < 63; w = strtok_r(NULL, " \t\n", &save))
                argv[argc++] = w;
        for (unsigned flags = 0; flags <= PS_NAGIOS_ARGS_COMPAT; flags++) {
                ps_nagios_opts o;
                ps_error err = PS_ERROR_INIT;
                ps_nagios_opts_init(&o);
                int r = ps_nagios_parse_args(&o, argc, argv, flags, &err);
                if (r < 0) {
                        assert(err.msg);
                } else {
                        assert(r >= 1 && r <= argc);
                        assert(o.verbosity >= 0 && o.verbosity <= 3);
                        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
                                enum ps_level j = ps_nagios_level(&o, PS_SCALE_JOURNAL, probes[i]);
                                enum ps_level n = ps_nagios_level(&o, PS_SCALE_NAGIOS, probes[i]);
                                assert(j == PS_LEVEL_NONE || ps_level_in_scale(j, PS_SCALE_JOURNAL));
                                assert(n == PS_LEVEL_NONE || n == PS_LEVEL_CRITICAL || n == PS_LEVEL_WARNING);
                        }
                }
                ps_error_clear(&err);
                ps_nagios_opts_free(&o);
        }
        free(copy);

        /* perfdata and status line with the input as label and text */
        ps_nagios_result res;
        if (ps_nagios_result_init(&res, "FUZZ", NULL) == 0) {
                if (ps_nagios_result_perf(&res, s, 1.5, "s", NULL, NULL, NULL, NULL, NULL) == 0) {
                        char *p = ps_perfdata_format(&res.perf[0]);
                        assert(p);
                        /* a quoted label ends with "'=" and holds no lone quote */
                        if (p[0] == '\'') {
                                size_t i = 1;
                                for (;;) {
                                        assert(p[i]);
                                        if (p[i] == '\'') {
                                                if (p[i + 1] == '\'') {
                                                        i += 2;
                                                        continue;
                                                }
                                                assert(p[i + 1] == '=');
                                                break;
                                        }
                                        i++;
                                }
                        } else {
                                assert(!strpbrk(s, " \t='"));
                        }
                        free(p);
                }
                ps_nagios_result_set(&res, PS_NAGIOS_WARNING, NULL, "%s", s);
                ps_nagios_result_detail(&res, NULL, "%s", s);
                char *out = ps_nagios_result_format(&res);
                assert(out);
                /* the first line has at most the one '|' before the perfdata */
                char *nl = strchr(out, '\n');
                assert(nl);
                size_t bars = 0;
                for (char *c = out; c < nl; c++)
                        bars += *c == '|';
                assert(bars == (res.n_perf ? 1u : 0u));
                free(out);
                json_t *j = ps_nagios_result_json(&res);
                json_decref(j);
                ps_nagios_result_free(&res);
        }
        char *m = ps_nagios_mail_message("root", s, s);
        if (m) {
                char *body = strstr(m, "\n\n");
                assert(body);
                /* the subject never breaks the header block */
                char *subj = strstr(m, "\nSubject: ");
                char *mime = strstr(m, "\nMIME-Version: 1.0\n");
                assert(subj && mime && subj < mime && mime < body);
                /* continuation lines of the subject are folded (start with a blank) */
                for (char *c = subj + 1; c < mime; c++)
                        if (*c == '\n')
                                assert(c[1] == ' ');
                free(m);
        }
        free(s);
        return 0;
}
