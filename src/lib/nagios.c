/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "nagios.h"
#include "cleanup.h"
#include "log.h"
#include "process.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/evp.h>

/* ---- locale-independent numbers ---------------------------------------- */

static locale_t c_locale(void)
{
        static locale_t loc;
        if (!loc)
                loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        return loc;
}

/* Length of a decimal number "-?(D+(.D*)?|.D+)" at the start of S (0 when
 * there is none). */
static size_t number_span(const char *s, size_t n)
{
        size_t i = 0, digits = 0;
        if (i < n && s[i] == '-')
                i++;
        while (i < n && s[i] >= '0' && s[i] <= '9')
                i++, digits++;
        if (i < n && s[i] == '.') {
                i++;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                        i++, digits++;
        }
        return digits ? i : 0;
}

/* Parse exactly S[0..N) as a decimal number. */
static int parse_number(const char *s, size_t n, double *out)
{
        if (n == 0 || number_span(s, n) != n)
                return -EINVAL;
        char *tmp = strndup(s, n);
        if (!tmp)
                return -ENOMEM;
        char *end = NULL;
        errno = 0;
        double v = strtod_l(tmp, &end, c_locale());
        bool ok = end && *end == '\0' && isfinite(v);
        free(tmp);
        if (!ok)
                return -ERANGE;
        *out = v;
        return 0;
}

static char *fmt_c(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_c(const char *fmt, ...)
{
        locale_t old = uselocale(c_locale());
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        uselocale(old);
        return s;
}

char *ps_number_format(double v)
{
        if (isnan(v))
                return strdup("nan");
        if (isinf(v))
                return strdup(v < 0 ? "-inf" : "inf");
        if (v == 0)
                return strdup("0");
        for (int prec = 1; prec <= 17; prec++) {
                _cleanup_free_ char *g = fmt_c("%.*g", prec, v);
                if (!g)
                        return NULL;
                if (strtod_l(g, NULL, c_locale()) != v)
                        continue;
                if (!strpbrk(g, "eE"))
                        return steal_pointer(&g);
                /* plain notation with the same significant digits */
                int exp10 = (int)floor(log10(fabs(v)));
                int decimals = prec - 1 - exp10;
                if (decimals < 0)
                        decimals = 0;
                return fmt_c("%.*f", decimals, v);
        }
        return fmt_c("%.17g", v);
}

/* ---- ranges ------------------------------------------------------------ */

int ps_range_parse(const char *text, ps_range *r, ps_error *err)
{
        ps_range res = { .set = true };
        *r = (ps_range){ 0 };
        if (!text || !*text)
                return ps_error_set(err, EINVAL, "empty range (expected [@][~|START]:[END], e.g. 10, 10:, ~:10, @10:20)");
        const char *p = text;
        if (*p == '@') {
                res.inside = true;
                p++;
                if (!*p)
                        return ps_error_set(err, EINVAL, "invalid range \"%s\": nothing follows '@'", text);
        }
        const char *colon = strchr(p, ':');
        if (colon) {
                if (strchr(colon + 1, ':'))
                        return ps_error_set(err, EINVAL, "invalid range \"%s\": more than one ':'", text);
                size_t sl = (size_t)(colon - p);
                const char *e = colon + 1;
                if (sl == 1 && *p == '~') {
                        res.no_start = true;
                } else if (sl > 0) {
                        int k = parse_number(p, sl, &res.start);
                        if (k == -ENOMEM)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        if (k < 0)
                                return ps_error_set(err, EINVAL,
                                        "invalid range \"%s\": start \"%.*s\" is not %s", text, (int)sl, p,
                                        k == -ERANGE ? "a representable number" : "a decimal number or '~'");
                }
                if (*e == '\0') {
                        res.no_end = true;
                } else {
                        int k = parse_number(e, strlen(e), &res.end);
                        if (k == -ENOMEM)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        if (k < 0)
                                return ps_error_set(err, EINVAL,
                                        "invalid range \"%s\": end \"%s\" is not %s", text, e,
                                        k == -ERANGE ? "a representable number" : "a decimal number");
                }
        } else {
                if (*p == '~')
                        return ps_error_set(err, EINVAL,
                                "invalid range \"%s\": '~' (minus infinity) must be followed by ':' (e.g. ~:10)", text);
                size_t n = strlen(p);
                size_t a = number_span(p, n);
                if (a > 0 && a < n && p[a] == '-' && number_span(p + a + 1, n - a - 1) == n - a - 1) {
                        /* the man pages' START-END */
                        int k1 = parse_number(p, a, &res.start);
                        int k2 = k1 < 0 ? k1 : parse_number(p + a + 1, n - a - 1, &res.end);
                        if (k1 == -ENOMEM || k2 == -ENOMEM)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        if (k1 < 0 || k2 < 0)
                                return ps_error_set(err, EINVAL, "invalid range \"%s\": number out of range", text);
                } else {
                        int k = parse_number(p, n, &res.end);
                        if (k == -ENOMEM)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        if (k < 0)
                                return ps_error_set(err, EINVAL,
                                        "invalid range \"%s\": \"%s\" is not %s (expected [@][~|START]:[END])",
                                        text, p, k == -ERANGE ? "a representable number" : "a decimal number");
                }
        }
        if (!res.no_start && !res.no_end && res.start > res.end) {
                _cleanup_free_ char *s = ps_number_format(res.start);
                _cleanup_free_ char *e = ps_number_format(res.end);
                return ps_error_set(err, EINVAL, "invalid range \"%s\": start %s is greater than end %s%s", text,
                                    s ? s : "?", e ? e : "?",
                                    colon ? "" : " (a single number N means 0:N)");
        }
        *r = res;
        return 0;
}

bool ps_range_alert(const ps_range *r, double v)
{
        if (!r || !r->set)
                return false;
        if (isnan(v))
                return true;
        bool outside = (!r->no_start && v < r->start) || (!r->no_end && v > r->end);
        return r->inside ? !outside : outside;
}

char *ps_range_format(const ps_range *r)
{
        if (!r || !r->set)
                return strdup("");
        _cleanup_free_ char *s = r->no_start ? strdup("~") : ps_number_format(r->start);
        _cleanup_free_ char *e = r->no_end ? strdup("") : ps_number_format(r->end);
        if (!s || !e)
                return NULL;
        char *out = NULL;
        const char *at = r->inside ? "@" : "";
        int k;
        if (!r->no_start && r->start == 0 && !r->no_end)
                k = asprintf(&out, "%s%s", at, e);
        else
                k = asprintf(&out, "%s%s:%s", at, s, e);
        return k < 0 ? NULL : out;
}

/* ---- levels ------------------------------------------------------------ */

static const struct {
        char key;
        const char *prefix;
        int priority;
} levels[PS_LEVEL_COUNT] = {
        [PS_LEVEL_CRASH]    = { 'a', "Crash",    LOG_EMERG },
        [PS_LEVEL_FATAL]    = { 'f', "Fatal",    LOG_ALERT },
        [PS_LEVEL_CRITICAL] = { 'c', "Critical", LOG_CRIT },
        [PS_LEVEL_HIGH]     = { 'h', "High",     LOG_ERR },
        [PS_LEVEL_MIDDLE]   = { 'm', "Middle",   LOG_WARNING },
        [PS_LEVEL_WARNING]  = { 'w', "Warning",  LOG_NOTICE },
        [PS_LEVEL_LOW]      = { 'l', "Low",      LOG_NOTICE },
        [PS_LEVEL_DEBUG]    = { 'd', "Debug",    LOG_INFO },
};

static bool level_ok(enum ps_level l) { return (int)l >= 0 && l < PS_LEVEL_COUNT; }

const char *ps_level_prefix(enum ps_level l) { return level_ok(l) ? levels[l].prefix : NULL; }
char ps_level_key(enum ps_level l) { return level_ok(l) ? levels[l].key : 0; }
int ps_level_priority(enum ps_level l) { return level_ok(l) ? levels[l].priority : LOG_DEBUG; }

enum ps_level ps_level_from_key(char c)
{
        for (int i = 0; i < PS_LEVEL_COUNT; i++)
                if (levels[i].key == c)
                        return (enum ps_level)i;
        return PS_LEVEL_NONE;
}

bool ps_level_in_scale(enum ps_level l, enum ps_scale scale)
{
        if (!level_ok(l))
                return false;
        if (scale == PS_SCALE_NAGIOS)
                return l == PS_LEVEL_CRITICAL || l == PS_LEVEL_WARNING;
        return l != PS_LEVEL_WARNING;
}

/* ---- options ----------------------------------------------------------- */

void ps_nagios_opts_init(ps_nagios_opts *o)
{
        *o = (ps_nagios_opts){ 0 };
}

void ps_nagios_opts_free(ps_nagios_opts *o)
{
        free(o->mailto);
        o->mailto = NULL;
}

static const struct {
        const char *name;
        char key;
} long_opts[] = {
        { "crash", 'a' }, { "fatal", 'f' }, { "critical", 'c' }, { "high", 'h' },
        { "middle", 'm' }, { "warning", 'w' }, { "low", 'l' }, { "debug", 'd' },
        { "mail", 'M' }, { "verbose", 'v' },
};

static int apply_value(ps_nagios_opts *o, char key, const char *shown, const char *value, ps_error *err)
{
        if (key == 'M') {
                int r = ps_nagios_check_address(value, err);
                if (r < 0)
                        return ps_error_wrap(err, "option %s", shown);
                char *m = strdup(value);
                if (!m)
                        return ps_error_set(err, ENOMEM, "out of memory");
                free(o->mailto);
                o->mailto = m;
                o->given++;
                return 0;
        }
        enum ps_level l = ps_level_from_key(key);
        if (l == PS_LEVEL_NONE)
                return 0;   /* compat: unknown letters swallow their value */
        ps_range rg;
        int r = ps_range_parse(value, &rg, err);
        if (r < 0)
                return ps_error_wrap(err, "option %s", shown);
        if (ps_level_in_scale(l, PS_SCALE_JOURNAL))
                o->journal[l] = rg;
        if (ps_level_in_scale(l, PS_SCALE_NAGIOS))
                o->nagios[l] = rg;
        o->given++;
        return 0;
}

static void add_verbosity(ps_nagios_opts *o, int n)
{
        o->verbosity += n;
        if (o->verbosity > 3)
                o->verbosity = 3;
        o->given++;
}

static int parse_compat(ps_nagios_opts *o, int argc, char *const argv[], ps_error *err)
{
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!a || a[0] != '-')
                        continue;
                char key = a[1];
                if (key == 'v') {
                        size_t n = strlen(a) - 1;
                        o->verbosity = n > 3 ? 3 : (int)n;
                        o->given++;
                        continue;
                }
                if (i + 1 >= argc)
                        return ps_error_set(err, EINVAL, "option %s needs a value", a);
                int r = apply_value(o, key, a, argv[++i], err);
                if (r < 0)
                        return r;
        }
        return argc;
}

static int parse_strict(ps_nagios_opts *o, int argc, char *const argv[], ps_error *err)
{
        int i;
        for (i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!a)
                        break;
                if (strcmp(a, "--") == 0)
                        return i + 1;
                if (a[0] != '-' || a[1] == '\0')
                        return i;
                if (a[1] == '-') {
                        const char *name = a + 2;
                        const char *eq = strchr(name, '=');
                        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
                        char key = 0;
                        for (size_t k = 0; k < PS_ARRAY_SIZE(long_opts); k++)
                                if (strlen(long_opts[k].name) == nl && memcmp(long_opts[k].name, name, nl) == 0)
                                        key = long_opts[k].key;
                        if (!key)
                                return ps_error_set(err, EINVAL, "unknown option --%.*s", (int)nl, name);
                        if (key == 'v') {
                                if (eq)
                                        return ps_error_set(err, EINVAL, "option --verbose takes no value");
                                add_verbosity(o, 1);
                                continue;
                        }
                        const char *value = eq ? eq + 1 : NULL;
                        if (!value) {
                                if (i + 1 >= argc)
                                        return ps_error_set(err, EINVAL, "option --%.*s needs a value", (int)nl, name);
                                value = argv[++i];
                        }
                        _cleanup_free_ char *shown = strndup(a, eq ? (size_t)(eq - a) : strlen(a));
                        if (!shown)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        int r = apply_value(o, key, shown, value, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                char key = a[1];
                if (key == 'v') {
                        size_t n = strspn(a + 1, "v");
                        if (a[1 + n] != '\0')
                                return ps_error_set(err, EINVAL, "unknown option %s (verbosity is -v, -vv or -vvv)", a);
                        add_verbosity(o, (int)n);
                        continue;
                }
                if (key != 'M' && ps_level_from_key(key) == PS_LEVEL_NONE)
                        return ps_error_set(err, EINVAL, "unknown option -%c (levels: -a -f -c -h -m -w -l -d, mail: -M)", key);
                const char *value = a[2] ? a + 2 : NULL;
                if (value && key != 'M' && ((*value >= 'a' && *value <= 'z') || (*value >= 'A' && *value <= 'Z')))
                        return ps_error_set(err, EINVAL, "unknown option %s (long options take two dashes, e.g. --critical)", a);
                if (!value) {
                        if (i + 1 >= argc)
                                return ps_error_set(err, EINVAL, "option -%c needs a value", key);
                        value = argv[++i];
                }
                char shown[3] = { '-', key, 0 };
                int r = apply_value(o, key, shown, value, err);
                if (r < 0)
                        return r;
        }
        return i;
}

int ps_nagios_parse_args(ps_nagios_opts *o, int argc, char *const argv[], unsigned flags, ps_error *err)
{
        if (flags & PS_NAGIOS_ARGS_COMPAT)
                return parse_compat(o, argc, argv, err);
        return parse_strict(o, argc, argv, err);
}

enum ps_level ps_nagios_level(const ps_nagios_opts *o, enum ps_scale scale, double metric)
{
        const ps_range *tab = scale == PS_SCALE_NAGIOS ? o->nagios : o->journal;
        for (int l = 0; l < PS_LEVEL_COUNT; l++) {
                if (!ps_level_in_scale((enum ps_level)l, scale))
                        continue;
                if (ps_range_alert(&tab[l], metric))
                        return (enum ps_level)l;
        }
        return PS_LEVEL_NONE;
}

/* ---- state and output -------------------------------------------------- */

const char *ps_nagios_state_name(enum ps_nagios_state s)
{
        switch (s) {
        case PS_NAGIOS_OK: return "OK";
        case PS_NAGIOS_WARNING: return "WARNING";
        case PS_NAGIOS_CRITICAL: return "CRITICAL";
        default: return "UNKNOWN";
        }
}

enum ps_nagios_state ps_nagios_state_of(enum ps_level l)
{
        switch (l) {
        case PS_LEVEL_CRASH:
        case PS_LEVEL_FATAL:
        case PS_LEVEL_CRITICAL:
        case PS_LEVEL_HIGH:
        case PS_LEVEL_MIDDLE:
                return PS_NAGIOS_CRITICAL;
        case PS_LEVEL_WARNING:
                return PS_NAGIOS_WARNING;
        default:
                return PS_NAGIOS_OK;
        }
}

int ps_nagios_exit_code(enum ps_nagios_state s)
{
        return (int)s >= 0 && s <= PS_NAGIOS_UNKNOWN ? (int)s : PS_NAGIOS_UNKNOWN;
}

int ps_nagios_result_init(ps_nagios_result *r, const char *name, ps_error *err)
{
        *r = (ps_nagios_result){ .state = PS_NAGIOS_UNKNOWN };
        if (name && *name && !(r->name = strdup(name)))
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static void perf_free(ps_perfdata *p)
{
        free(p->label);
        free(p->uom);
}

void ps_nagios_result_free(ps_nagios_result *r)
{
        free(r->name);
        free(r->text);
        for (size_t i = 0; i < r->n_details; i++)
                free(r->details[i]);
        free(r->details);
        for (size_t i = 0; i < r->n_perf; i++)
                perf_free(&r->perf[i]);
        free(r->perf);
        *r = (ps_nagios_result){ 0 };
}

int ps_nagios_result_set(ps_nagios_result *r, enum ps_nagios_state state, ps_error *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *t = NULL;
        int k = vasprintf(&t, fmt, ap);
        va_end(ap);
        if (k < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        free(r->text);
        r->text = t;
        r->state = state;
        return 0;
}

int ps_nagios_result_detail(ps_nagios_result *r, ps_error *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *t = NULL;
        int k = vasprintf(&t, fmt, ap);
        va_end(ap);
        if (k < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        char **n = realloc(r->details, (r->n_details + 1) * sizeof *n);
        if (!n) {
                free(t);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        r->details = n;
        r->details[r->n_details++] = t;
        return 0;
}

static const char *const units[] = { "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c" };

int ps_nagios_result_perf(ps_nagios_result *r, const char *label, double value, const char *uom,
                          const ps_range *warn, const ps_range *crit, const double *min,
                          const double *max, ps_error *err)
{
        if (!label || !*label)
                return ps_error_set(err, EINVAL, "performance data label is empty");
        for (const unsigned char *p = (const unsigned char *)label; *p; p++)
                if (*p < 0x20 || *p == 0x7f || *p == '|')
                        return ps_error_set(err, EINVAL,
                                "performance data label \"%s\" contains a control character or '|'", label);
        if (!uom)
                uom = "";
        bool known = false;
        for (size_t i = 0; i < PS_ARRAY_SIZE(units); i++)
                known = known || strcmp(units[i], uom) == 0;
        if (!known)
                return ps_error_set(err, EINVAL,
                        "performance data \"%s\": unknown unit \"%s\" (use s, ms, us, %%, B, KB, MB, GB, TB or c)", label, uom);
        if (!isfinite(value) || (min && !isfinite(*min)) || (max && !isfinite(*max)))
                return ps_error_set(err, EINVAL, "performance data \"%s\": value, min and max must be finite numbers", label);
        ps_perfdata p = { .value = value };
        p.label = strdup(label);
        p.uom = strdup(uom);
        if (!p.label || !p.uom) {
                perf_free(&p);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (warn)
                p.warn = *warn;
        if (crit)
                p.crit = *crit;
        if (min) {
                p.has_min = true;
                p.min = *min;
        }
        if (max) {
                p.has_max = true;
                p.max = *max;
        }
        ps_perfdata *n = realloc(r->perf, (r->n_perf + 1) * sizeof *n);
        if (!n) {
                perf_free(&p);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        r->perf = n;
        r->perf[r->n_perf++] = p;
        return 0;
}

/* growable string */
typedef struct sbuf {
        char *s;
        size_t len, cap;
        bool oom;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 128;
                while (cap < b->len + n + 1)
                        cap *= 2;
                char *m = realloc(b->s, cap);
                if (!m) {
                        b->oom = true;
                        return;
                }
                b->s = m;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }
static void sb_addc(sbuf *b, char c) { sb_addn(b, &c, 1); }

static char *sb_finish(sbuf *b)
{
        if (b->oom) {
                free(b->s);
                return NULL;
        }
        if (!b->s)
                return strdup("");
        return b->s;
}

char *ps_perfdata_format(const ps_perfdata *p)
{
        sbuf b = { 0 };
        bool quote = strpbrk(p->label, " \t='") != NULL;
        if (quote) {
                sb_addc(&b, '\'');
                for (const char *c = p->label; *c; c++) {
                        if (*c == '\'')
                                sb_addc(&b, '\'');
                        sb_addc(&b, *c);
                }
                sb_addc(&b, '\'');
        } else {
                sb_add(&b, p->label);
        }
        sb_addc(&b, '=');
        _cleanup_free_ char *v = ps_number_format(p->value);
        _cleanup_free_ char *w = ps_range_format(&p->warn);
        _cleanup_free_ char *c = ps_range_format(&p->crit);
        _cleanup_free_ char *mn = p->has_min ? ps_number_format(p->min) : strdup("");
        _cleanup_free_ char *mx = p->has_max ? ps_number_format(p->max) : strdup("");
        if (!v || !w || !c || !mn || !mx) {
                free(b.s);
                return NULL;
        }
        sb_add(&b, v);
        sb_add(&b, p->uom ? p->uom : "");
        const char *fields[4] = { w, c, mn, mx };
        int last = -1;
        for (int i = 0; i < 4; i++)
                if (*fields[i])
                        last = i;
        for (int i = 0; i <= last; i++) {
                sb_addc(&b, ';');
                sb_add(&b, fields[i]);
        }
        return sb_finish(&b);
}

static void sb_add_clean(sbuf *b, const char *s, bool one_line)
{
        for (; *s; s++) {
                char c = *s;
                if (c == '|')
                        c = '/';
                else if (c == '\r' || (one_line && c == '\n'))
                        c = ' ';
                sb_addc(b, c);
        }
}

char *ps_nagios_result_format(const ps_nagios_result *r)
{
        sbuf b = { 0 };
        if (r->name) {
                sb_add_clean(&b, r->name, true);
                sb_addc(&b, ' ');
        }
        sb_add(&b, ps_nagios_state_name(r->state));
        if (r->text && *r->text) {
                sb_add(&b, ": ");
                sb_add_clean(&b, r->text, true);
        }
        for (size_t i = 0; i < r->n_perf; i++) {
                _cleanup_free_ char *p = ps_perfdata_format(&r->perf[i]);
                if (!p) {
                        free(b.s);
                        return NULL;
                }
                sb_add(&b, i == 0 ? " | " : " ");
                sb_add(&b, p);
        }
        sb_addc(&b, '\n');
        for (size_t i = 0; i < r->n_details; i++) {
                sb_add_clean(&b, r->details[i], false);
                sb_addc(&b, '\n');
        }
        return sb_finish(&b);
}

static json_t *json_num(double v)
{
        if (v == floor(v) && fabs(v) < 9e15)
                return json_integer((json_int_t)v);
        return json_real(v);
}

static int jset(json_t *o, const char *k, json_t *v)
{
        return v ? json_object_set_new(o, k, v) : -1;
}

json_t *ps_nagios_result_json(const ps_nagios_result *r)
{
        json_t *o = json_object();
        json_t *det = json_array();
        json_t *perf = json_array();
        int bad = !o || !det || !perf;
        if (!bad) {
                bad |= jset(o, "name", r->name ? json_string(r->name) : json_null());
                bad |= jset(o, "state", json_string(ps_nagios_state_name(r->state)));
                bad |= jset(o, "exit", json_integer(ps_nagios_exit_code(r->state)));
                bad |= jset(o, "text", json_string(r->text ? r->text : ""));
        }
        for (size_t i = 0; !bad && i < r->n_details; i++)
                bad |= json_array_append_new(det, json_string(r->details[i]));
        for (size_t i = 0; !bad && i < r->n_perf; i++) {
                const ps_perfdata *p = &r->perf[i];
                json_t *e = json_object();
                _cleanup_free_ char *w = ps_range_format(&p->warn);
                _cleanup_free_ char *c = ps_range_format(&p->crit);
                bad |= !e || !w || !c;
                if (!bad) {
                        bad |= jset(e, "label", json_string(p->label));
                        bad |= jset(e, "value", json_num(p->value));
                        bad |= jset(e, "uom", json_string(p->uom));
                        bad |= jset(e, "warn", p->warn.set ? json_string(w) : json_null());
                        bad |= jset(e, "crit", p->crit.set ? json_string(c) : json_null());
                        bad |= jset(e, "min", p->has_min ? json_num(p->min) : json_null());
                        bad |= jset(e, "max", p->has_max ? json_num(p->max) : json_null());
                }
                if (e && json_array_append_new(perf, e) < 0)
                        bad = 1;
        }
        if (!bad) {
                bad |= json_object_set(o, "details", det);
                bad |= json_object_set(o, "perfdata", perf);
        }
        json_decref(det);
        json_decref(perf);
        if (bad) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* ---- journal and mail -------------------------------------------------- */

char *ps_nagios_journal_text(enum ps_level l, const char *message)
{
        char *s = NULL;
        const char *p = ps_level_prefix(l);
        if (asprintf(&s, "%s: %s", p ? p : "Debug", message ? message : "") < 0)
                return NULL;
        return s;
}

void ps_nagios_log(enum ps_level l, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *m = NULL;
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return;
        const char *p = ps_level_prefix(l);
        ps_log(ps_level_priority(l), "%s: %s", p ? p : "Debug", m);
        free(m);
}

int ps_nagios_check_address(const char *to, ps_error *err)
{
        if (!to || !*to)
                return ps_error_set(err, EINVAL, "empty mail address");
        if (to[0] == '-')
                return ps_error_set(err, EINVAL, "invalid mail address \"%s\": it starts with '-'", to);
        for (const unsigned char *p = (const unsigned char *)to; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f || *p == ',' || *p == ';' || *p == '<' || *p == '>')
                        return ps_error_set(err, EINVAL,
                                "invalid mail address \"%s\": blanks, control, non-ASCII characters and , ; < > are not allowed",
                                to);
        return 0;
}

static bool plain_ascii(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p >= 0x7f || (*p < 0x20 && *p != '\t'))
                        return false;
        return true;
}

/* RFC 2047 "B" encoded words of at most 75 characters, folded; UTF-8
 * sequences are never split. */
static void add_encoded_subject(sbuf *b, const char *s)
{
        size_t n = strlen(s), i = 0;
        bool first = true;
        while (i < n) {
                size_t take = n - i > 45 ? 45 : n - i;
                /* do not split a UTF-8 sequence: back off over continuation bytes */
                if (i + take < n)
                        while (take > 1 && ((unsigned char)s[i + take] & 0xC0) == 0x80)
                                take--;
                unsigned char enc[64];
                int el = EVP_EncodeBlock(enc, (const unsigned char *)s + i, (int)take);
                sb_add(b, first ? "=?UTF-8?B?" : "\n =?UTF-8?B?");
                sb_addn(b, (const char *)enc, (size_t)el);
                sb_add(b, "?=");
                first = false;
                i += take;
        }
}

char *ps_nagios_mail_message(const char *to, const char *subject, const char *body)
{
        sbuf b = { 0 };
        _cleanup_free_ char *subj = strdup(subject ? subject : "");
        if (!subj)
                return NULL;
        for (char *p = subj; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        sb_add(&b, "To: ");
        sb_add(&b, to);
        sb_add(&b, "\nSubject: ");
        if (plain_ascii(subj))
                sb_add(&b, subj);
        else
                add_encoded_subject(&b, subj);
        sb_add(&b, "\nMIME-Version: 1.0\n"
                   "Content-Type: text/plain; charset=UTF-8\n"
                   "Content-Transfer-Encoding: 8bit\n"
                   "Auto-Submitted: auto-generated\n\n");
        if (body) {
                sb_add(&b, body);
                size_t bl = strlen(body);
                if (bl == 0 || body[bl - 1] != '\n')
                        sb_addc(&b, '\n');
        }
        return sb_finish(&b);
}

int ps_nagios_mail(const char *sendmail, const char *to, const char *subject, const char *body, ps_error *err)
{
        int r = ps_nagios_check_address(to, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *msg = ps_nagios_mail_message(to, subject, body);
        if (!msg)
                return ps_error_set(err, ENOMEM, "out of memory");
        const char *prog = sendmail ? sendmail : "sendmail";
        const char *argv[] = { prog, "-oi", "--", to, NULL };
        _cleanup_free_ char *errout = NULL;
        ps_spawn_opts opts = {
                .stdin_data = msg,
                .stdin_len = strlen(msg),
                .errout = &errout,
        };
        int status = 0;
        r = ps_spawn(argv, &opts, &status, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot send mail to %s", to);
        if (status != 0) {
                size_t el = errout ? strlen(errout) : 0;
                while (el > 0 && (errout[el - 1] == '\n' || errout[el - 1] == '\r'))
                        errout[--el] = '\0';
                return ps_error_set(err, EIO, "cannot send mail to %s: %s exited with status %d%s%s", to, prog,
                                    status, el ? ": " : "", el ? errout : "");
        }
        return 0;
}
