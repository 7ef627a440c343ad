/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nagios/Icinga plugin base: threshold ranges, the original's level letters
 * and option language, severity-ordered level selection, the plugin status
 * line with performance data, its JSON form, journal text/priorities and
 * mail through sendmail.
 *
 * Ranges (monitoring-plugins developer guidelines, spec monitor §2.3):
 *
 *     [@][~|START]:[END]   alert when the value is outside [START, END]
 *                          (both inclusive); with '@' when it is inside
 *     END                  same as 0:END
 *     START:               END = +infinity
 *     ~:END                START = -infinity
 *     START-END            the original's man-page spelling of START:END
 *                          (accepted; the original code misread it as 0:START)
 *
 * Numbers are decimal ("-12", "3.5"); anything else (empty string, "abc",
 * "1e3", "0x10", three fields, START > END, '~' without ':') is rejected
 * with a message naming the offending text.  A range that was never given
 * is "not set" and never alerts. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "error.h"

/* ---- ranges ------------------------------------------------------------ */

typedef struct ps_range {
        bool set;       /* false: never given, never alerts */
        bool inside;    /* '@': alert when the value is inside */
        bool no_start;  /* '~': start is -infinity */
        bool no_end;    /* "START:": end is +infinity */
        double start, end;
} ps_range;

/* Parse TEXT into *r (r->set = true).  -EINVAL with a message on error;
 * *r is left "not set" then. */
int ps_range_parse(const char *text, ps_range *r, ps_error *err);
/* true when VALUE raises an alert for R.  A range that is not set never
 * alerts; a NaN value always alerts (it cannot be checked). */
bool ps_range_alert(const ps_range *r, double value);
/* Canonical guideline text of R ("10", "10:", "~:10", "@10:20", "" when not
 * set).  malloc'd, NULL on ENOMEM. */
char *ps_range_format(const ps_range *r);
/* Locale-independent text of a number in plain decimal notation (no
 * exponent, as perfdata wants "[-0-9.]"): the shortest one that reads back
 * to the same double ("3", "-0.5", "0.1", "100000000000000000000").
 * Infinities and NaN give "inf"/"-inf"/"nan".  malloc'd, NULL on ENOMEM. */
char *ps_number_format(double v);

/* ---- levels ------------------------------------------------------------ */

/* In severity order (most severe first). */
enum ps_level {
        PS_LEVEL_CRASH,         /* -a  "Crash"    syslog 0 */
        PS_LEVEL_FATAL,         /* -f  "Fatal"    syslog 1 */
        PS_LEVEL_CRITICAL,      /* -c  "Critical" syslog 2, Nagios 2 */
        PS_LEVEL_HIGH,          /* -h  "High"     syslog 3 */
        PS_LEVEL_MIDDLE,        /* -m  "Middle"   syslog 4 */
        PS_LEVEL_WARNING,       /* -w  "Warning"  syslog 5, Nagios 1 */
        PS_LEVEL_LOW,           /* -l  "Low"      syslog 5 */
        PS_LEVEL_DEBUG,         /* -d  "Debug"    syslog 6 */
        PS_LEVEL_COUNT,
        PS_LEVEL_NONE = -1,
};

/* The two scales of the original: the journal scale (a f c h m l d) decides
 * what is logged, the Nagios scale (c w) decides the plugin state. */
enum ps_scale { PS_SCALE_JOURNAL, PS_SCALE_NAGIOS };

/* Prefix word written in front of journal messages ("Critical"), the option
 * letter ('c'), the syslog priority (LOG_CRIT).  Warning has no priority in
 * the original's table; it gets 5 (notice) like check-containers' warnings.
 * Out-of-range levels give NULL / 0 / LOG_DEBUG. */
const char *ps_level_prefix(enum ps_level l);
char ps_level_key(enum ps_level l);
int ps_level_priority(enum ps_level l);
/* Level of option letter C, or PS_LEVEL_NONE. */
enum ps_level ps_level_from_key(char c);
/* true when level L belongs to SCALE. */
bool ps_level_in_scale(enum ps_level l, enum ps_scale scale);

/* ---- plugin options ---------------------------------------------------- */

typedef struct ps_nagios_opts {
        ps_range journal[PS_LEVEL_COUNT];       /* indexed by level; a f c h m l d */
        ps_range nagios[PS_LEVEL_COUNT];        /* only CRITICAL and WARNING are used */
        int verbosity;                          /* 0..3 */
        char *mailto;                           /* -M ADDRESS or NULL (owned) */
        int given;                              /* number of options seen */
} ps_nagios_opts;

void ps_nagios_opts_init(ps_nagios_opts *o);
void ps_nagios_opts_free(ps_nagios_opts *o);

enum {
        /* The original's tolerant language (spec monitor §2.2), for the
         * podsec-inotify-check-* compatibility names: words that do not
         * start with '-' are skipped (systemd passed ">/dev/null" as an
         * argument), only the first letter after '-' counts ("-critical 5"),
         * "-v…" counts every letter, unknown letters swallow their value.
         * Without this flag the parser is strict: -a -f -c -h -m -w -l -d
         * take a value ("-c 5", "-c5", "--critical 5", "--critical=5"),
         * -v/-vv/-vvv (or --verbose, repeatable), -M ADDR / --mail ADDR;
         * "--" ends the options; the first other word stops parsing. */
        PS_NAGIOS_ARGS_COMPAT = 1 << 0,
};

/* Parse ARGV[1..ARGC-1] into *o (which must have been initialised).  -c sets
 * both scales, -w only the Nagios scale, a f h m l d only the journal scale.
 * Returns the index of the first argument that was not consumed (ARGC when
 * all were), or -EINVAL with a message ("option -c: ...").  Level options
 * given twice: the last one wins. */
int ps_nagios_parse_args(ps_nagios_opts *o, int argc, char *const argv[], unsigned flags,
                         ps_error *err);

/* The most severe level of SCALE whose range alerts for METRIC (severity
 * order, not the original's hash order), or PS_LEVEL_NONE. */
enum ps_level ps_nagios_level(const ps_nagios_opts *o, enum ps_scale scale, double metric);

/* ---- plugin state and output ------------------------------------------- */

enum ps_nagios_state {
        PS_NAGIOS_OK = 0,
        PS_NAGIOS_WARNING = 1,
        PS_NAGIOS_CRITICAL = 2,
        PS_NAGIOS_UNKNOWN = 3,
};

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" (anything else: "UNKNOWN"). */
const char *ps_nagios_state_name(enum ps_nagios_state s);
/* Level -> plugin state, as the nagwad filter (spec monitor §9.1) buckets
 * journal lines: Crash Fatal Critical High Middle -> CRITICAL, Warning ->
 * WARNING, Low Debug and PS_LEVEL_NONE -> OK. */
enum ps_nagios_state ps_nagios_state_of(enum ps_level l);
/* The plugin exit code of a state (0..3; out-of-range states give 3). */
int ps_nagios_exit_code(enum ps_nagios_state s);

typedef struct ps_perfdata {
        char *label;
        double value;
        char *uom;                      /* "", s ms us % B KB MB GB TB c */
        ps_range warn, crit;
        bool has_min, has_max;
        double min, max;
} ps_perfdata;

typedef struct ps_nagios_result {
        char *name;                     /* service word, e.g. "POLICY" */
        enum ps_nagios_state state;
        char *text;                     /* first-line summary */
        char **details;                 /* long-output lines */
        size_t n_details;
        ps_perfdata *perf;
        size_t n_perf;
} ps_nagios_result;

/* NAME may be NULL (no service word). */
int ps_nagios_result_init(ps_nagios_result *r, const char *name, ps_error *err);
void ps_nagios_result_free(ps_nagios_result *r);
/* Set the state and the summary text (printf format). */
int ps_nagios_result_set(ps_nagios_result *r, enum ps_nagios_state state, ps_error *err,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Append a long-output line (printf format). */
int ps_nagios_result_detail(ps_nagios_result *r, ps_error *err, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Append performance data.  LABEL must be non-empty and free of control
 * characters and '|'; UOM NULL or one of the guideline units; WARN/CRIT/
 * MIN/MAX may be NULL. */
int ps_nagios_result_perf(ps_nagios_result *r, const char *label, double value, const char *uom,
                          const ps_range *warn, const ps_range *crit, const double *min,
                          const double *max, ps_error *err);

/* One perfdata item: 'label'=value[UOM];[warn];[crit];[min];[max] with the
 * label quoted when it has blanks, '=' or '\'' ('' escapes a quote) and
 * trailing empty fields dropped.  malloc'd or NULL. */
char *ps_perfdata_format(const ps_perfdata *p);
/* The plugin output: "NAME STATE: text | perf perf\n" then one line per
 * detail.  '|' in the text and details becomes '/', and line breaks in the
 * text become blanks, so that the perfdata separator stays unambiguous.
 * malloc'd or NULL. */
char *ps_nagios_result_format(const ps_nagios_result *r);
/* {"name","state":"CRITICAL","exit":2,"text","details":[...],
 *  "perfdata":[{"label","value","uom","warn","crit","min","max"}]}
 * (new reference, or NULL on ENOMEM). */
json_t *ps_nagios_result_json(const ps_nagios_result *r);

/* ---- journal and mail -------------------------------------------------- */

/* Syslog identifiers of the original programs (spec monitor §2.5); the
 * nagwad filter keys on "<tag>[<pid>]: <Prefix>: ". */
#define PS_TAG_CHECK_POLICY     "podsec-inotify-check-policy"
#define PS_TAG_CHECK_IMAGES     "podsec-inotify-check-images"
#define PS_TAG_CHECK_CONTAINERS "podsec-inotify-check-containers"
#define PS_TAG_CHECK_KUBEAPI    "podsec-inotify-check-kubeapi"
#define PS_TAG_CHECK_VULN       "podsec-inotify-check-vuln"
#define PS_TAG_BUILD_IMAGE      "podsec-inotify-build-invulnerable-image"

/* "<Prefix>: <message>" as the original passed it to logger.  malloc'd. */
char *ps_nagios_journal_text(enum ps_level l, const char *message);
/* Log MESSAGE through ps_log() at the level's priority with the level's
 * prefix.  The tag is the ident given to ps_log_open() (use the PS_TAG_*
 * names and facility LOG_USER, as logger(1) did). */
void ps_nagios_log(enum ps_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Check a mail recipient: non-empty, printable ASCII without blanks, not
 * starting with '-'. */
int ps_nagios_check_address(const char *to, ps_error *err);
/* Build the message sendmail reads: To, Subject (RFC 2047 encoded when it
 * is not plain ASCII; line breaks become blanks), MIME headers for UTF-8
 * text, Auto-Submitted, a blank line, BODY (a final newline added).
 * malloc'd or NULL. */
char *ps_nagios_mail_message(const char *to, const char *subject, const char *body);
/* Send through SENDMAIL (NULL: "sendmail" from the fixed PATH) run as
 * "sendmail -oi -- TO" with the message on stdin; never a shell. */
int ps_nagios_mail(const char *sendmail, const char *to, const char *subject, const char *body,
                   ps_error *err);
