/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A Nagios plugin built from the nagios module, for integration tests
 * (icinga2 runs it) and for trying the option language by hand.
 *
 *   ps-nagios [--compat] [--json] METRIC [PLUGIN OPTIONS...]
 *
 * METRIC is judged with the options (-a -f -c -h -m -w -l -d ranges, -v,
 * -M address): the Nagios scale gives the plugin state and exit code, the
 * journal scale a "<Prefix>: ..." line logged with the check-policy tag
 * (stderr when there is no journal or syslog).  Output: "PODSEC <STATE>:
 * ..." with perfdata 'weight'=METRIC;warn;crit;0 'bad users'=METRIC
 * 'it''s'=1c, or the JSON form.  Bad options: UNKNOWN, exit 3.  With -M the
 * report is mailed through $PS_SENDMAIL (default sendmail). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "nagios.h"

static int unknown(const char *msg)
{
        printf("PODSEC UNKNOWN: %s\n", msg);
        return PS_NAGIOS_UNKNOWN;
}

int main(int argc, char **argv)
{
        unsigned flags = 0;
        bool json = false;
        int i = 1;
        for (; i < argc; i++) {
                if (!strcmp(argv[i], "--compat"))
                        flags |= PS_NAGIOS_ARGS_COMPAT;
                else if (!strcmp(argv[i], "--json"))
                        json = true;
                else
                        break;
        }
        if (i >= argc)
                return unknown("usage: ps-nagios [--compat] [--json] METRIC [PLUGIN OPTIONS...]");
        ps_range mr;
        ps_error err = PS_ERROR_INIT;
        /* reuse the strict number syntax: a range "N" has end N */
        if (ps_range_parse(argv[i], &mr, &err) < 0 || mr.inside || mr.no_end || strchr(argv[i], ':'))
                return unknown("METRIC must be a decimal number");
        double metric = mr.end;
        ps_nagios_opts o;
        ps_nagios_opts_init(&o);
        /* the plugin options start after METRIC; argv[i] plays argv[0] */
        int k = ps_nagios_parse_args(&o, argc - i, argv + i, flags, &err);
        if (k < 0)
                return unknown(ps_error_msg(&err));
        if (k < argc - i)
                return unknown("unexpected argument");

        ps_log_open(PS_TAG_CHECK_POLICY, LOG_USER, PS_LOG_AUTO);
        enum ps_level jl = ps_nagios_level(&o, PS_SCALE_JOURNAL, metric);
        if (jl != PS_LEVEL_NONE)
                ps_nagios_log(jl, "%s(%g): metric %g", ps_level_prefix(jl), metric, metric);

        enum ps_level nl = ps_nagios_level(&o, PS_SCALE_NAGIOS, metric);
        enum ps_nagios_state st = ps_nagios_state_of(nl);
        ps_nagios_result r;
        double zero = 0;
        if (ps_nagios_result_init(&r, "PODSEC", &err) < 0 ||
            ps_nagios_result_set(&r, st, &err, "metric %g%s%s", metric, nl != PS_LEVEL_NONE ? " is " : "",
                                 nl != PS_LEVEL_NONE ? ps_level_prefix(nl) : "") < 0 ||
            ps_nagios_result_perf(&r, "weight", metric, NULL, &o.nagios[PS_LEVEL_WARNING],
                                  &o.nagios[PS_LEVEL_CRITICAL], &zero, NULL, &err) < 0 ||
            ps_nagios_result_perf(&r, "bad users", metric, NULL, NULL, NULL, NULL, NULL, &err) < 0 ||
            ps_nagios_result_perf(&r, "it's", 1, "c", NULL, NULL, NULL, NULL, &err) < 0)
                return unknown(ps_error_msg(&err));
        if (o.verbosity >= 1)
                ps_nagios_result_detail(&r, NULL, "verbosity %d | journal level %s", o.verbosity,
                                        jl != PS_LEVEL_NONE ? ps_level_prefix(jl) : "none");
        char *out = NULL;
        if (json) {
                json_t *j = ps_nagios_result_json(&r);
                out = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                json_decref(j);
        } else {
                out = ps_nagios_result_format(&r);
        }
        if (!out)
                return unknown("out of memory");
        fputs(out, stdout);
        if (json)
                fputc('\n', stdout);
        if (o.mailto && st != PS_NAGIOS_OK &&
            ps_nagios_mail(getenv("PS_SENDMAIL"), o.mailto, "PODSEC report", out, &err) < 0)
                fprintf(stderr, "ps-nagios: %s\n", ps_error_msg(&err));
        free(out);
        int code = ps_nagios_exit_code(r.state);
        ps_nagios_result_free(&r);
        ps_nagios_opts_free(&o);
        if (fflush(stdout) != 0)
                return PS_NAGIOS_UNKNOWN;
        return code;
}
