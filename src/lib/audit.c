/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "audit.h"
#include "cleanup.h"
#include "digest.h"
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ======================================================================
 * The fast walk.  Pointers p..e delimit the line; every function returns
 * NULL when the text ends early or does not look like JSON.
 * ====================================================================== */

static inline bool is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline const char *skip_ws(const char *p, const char *e)
{
        while (p < e && is_ws(*p))
                p++;
        return p;
}

/* P at an opening '"': pointer after the closing quote. */
static inline const char *skip_string(const char *p, const char *e)
{
        p++;
        for (;;) {
                const char *q = memchr(p, '"', (size_t)(e - p));
                if (unlikely(!q))
                        return NULL;
                if (likely(q[-1] != '\\'))
                        return q + 1;
                /* odd run of backslashes: the quote is escaped.  The run
                 * cannot pass the opening (or an escaped) quote at p[-1]. */
                const char *b = q;
                while (b > p && b[-1] == '\\')
                        b--;
                if (((q - b) & 1) == 0)
                        return q + 1;
                p = q + 1;
        }
}

/* bytes that matter inside a nested value */
static const unsigned char nest_tab[256] = {
        ['"'] = 1, ['{'] = 2, ['['] = 2, ['}'] = 3, [']'] = 3,
};

/* P at '{' or '[': pointer after the matching bracket. */
static const char *skip_nested(const char *p, const char *e)
{
        size_t depth = 0;
        while (p < e) {
                unsigned char k = nest_tab[(unsigned char)*p];
                if (likely(k == 0)) {
                        p++;
                        continue;
                }
                if (k == 1) {
                        p = skip_string(p, e);
                        if (!p)
                                return NULL;
                        continue;
                }
                if (k == 2) {
                        depth++;
                } else if (--depth == 0) {
                        return p + 1;
                }
                p++;
        }
        return NULL;
}

static const unsigned char scalar_end[256] = {
        [','] = 1, ['}'] = 1, [']'] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1,
        ['"'] = 1, ['{'] = 1, ['['] = 1, [':'] = 1,
};

static inline const char *skip_value(const char *p, const char *e)
{
        if (p >= e)
                return NULL;
        switch (*p) {
        case '"':
                return skip_string(p, e);
        case '{':
        case '[':
                return skip_nested(p, e);
        default: {
                const char *s = p;
                while (p < e && !scalar_end[(unsigned char)*p])
                        p++;
                return p > s ? p : NULL;
        }
        }
}

/* Object member iteration.  *p is after '{' (first) or after the previous
 * value.  Returns 1 with *ks, *kl = raw key bytes and *p at the value,
 * 0 at the closing '}' (*p after it), -1 on damage. */
static inline int obj_next(const char **pp, const char *e, bool *first, const char **ks, size_t *kl)
{
        const char *p = skip_ws(*pp, e);
        if (p >= e)
                return -1;
        if (*first) {
                *first = false;
                if (*p == '}') {
                        *pp = p + 1;
                        return 0;
                }
        } else if (*p == ',') {
                p = skip_ws(p + 1, e);
        } else if (*p == '}') {
                *pp = p + 1;
                return 0;
        } else {
                return -1;
        }
        if (p >= e || *p != '"')
                return -1;
        const char *q = skip_string(p, e);
        if (!q)
                return -1;
        *ks = p + 1;
        *kl = (size_t)(q - 1 - (p + 1));
        p = skip_ws(q, e);
        if (p >= e || *p != ':')
                return -1;
        *pp = skip_ws(p + 1, e);
        return *pp < e ? 1 : -1;
}

/* ---- strings ----------------------------------------------------------- */

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static long hex4(const char *s, const char *e)
{
        if (e - s < 4)
                return -1;
        long v = 0;
        for (int i = 0; i < 4; i++) {
                int h = hexval(s[i]);
                if (h < 0)
                        return -1;
                v = v * 16 + h;
        }
        return v;
}

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), as jansson. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
        size_t i = 0;
        while (i < n) {
                unsigned char c = s[i];
                if (c < 0x80) {
                        i++;
                        continue;
                }
                size_t len;
                unsigned long cp;
                if (c >= 0xC2 && c <= 0xDF) {
                        len = 2;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        len = 3;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        len = 4;
                        cp = c & 0x07;
                } else {
                        return false;
                }
                if (n - i < len)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += len;
        }
        return true;
}

static size_t put_utf8(char *o, unsigned long cp)
{
        if (cp < 0x80) {
                o[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                o[0] = (char)(0xC0 | (cp >> 6));
                o[1] = (char)(0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                o[0] = (char)(0xE0 | (cp >> 12));
                o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[2] = (char)(0x80 | (cp & 0x3F));
                return 3;
        }
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
}

/* Decode the raw content S[0..N) of a JSON string into a malloc'd C string.
 * -EBADMSG for what jansson rejects (control characters, bad escapes, lone
 * surrogates, \u0000, bad UTF-8), -ENOMEM. */
static int decode_string(const char *s, size_t n, char **out, size_t *outlen)
{
        char *o = malloc(n + 1);
        if (!o)
                return -ENOMEM;
        size_t k = 0;
        const char *e = s + n;
        for (const char *p = s; p < e;) {
                unsigned char c = (unsigned char)*p;
                if (c < 0x20)
                        goto bad;
                if (c != '\\') {
                        o[k++] = (char)c;
                        p++;
                        continue;
                }
                if (p + 1 >= e)
                        goto bad;
                char x = p[1];
                p += 2;
                switch (x) {
                case '"': o[k++] = '"'; break;
                case '\\': o[k++] = '\\'; break;
                case '/': o[k++] = '/'; break;
                case 'b': o[k++] = '\b'; break;
                case 'f': o[k++] = '\f'; break;
                case 'n': o[k++] = '\n'; break;
                case 'r': o[k++] = '\r'; break;
                case 't': o[k++] = '\t'; break;
                case 'u': {
                        long cp = hex4(p, e);
                        if (cp < 0)
                                goto bad;
                        p += 4;
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                                if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
                                        goto bad;
                                long lo = hex4(p + 2, e);
                                if (lo < 0xDC00 || lo > 0xDFFF)
                                        goto bad;
                                p += 6;
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                                goto bad;
                        } else if (cp == 0) {
                                goto bad;
                        }
                        k += put_utf8(o + k, (unsigned long)cp);
                        break;
                }
                default:
                        goto bad;
                }
        }
        o[k] = '\0';
        if (!utf8_valid((const unsigned char *)o, k))
                goto bad;
        *out = o;
        if (outlen)
                *outlen = k;
        return 0;
bad:
        free(o);
        return -EBADMSG;
}

/* Does the raw key KS[0..KL) decode to LIT?  1 yes, 0 no, -1 bad escape. */
static inline int key_is(const char *ks, size_t kl, const char *lit, size_t litlen)
{
        if (likely(!memchr(ks, '\\', kl)))
                return kl == litlen && memcmp(ks, lit, litlen) == 0;
        char *d = NULL;
        size_t dl = 0;
        int r = decode_string(ks, kl, &d, &dl);
        if (r < 0)
                return -1;
        int eq = dl == litlen && memcmp(d, lit, litlen) == 0;
        free(d);
        return eq;
}

/* ---- numbers ----------------------------------------------------------- */

static locale_t c_locale(void)
{
        static locale_t loc;
        if (!loc)
                loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
        return loc;
}

static inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A JSON number token at P: 1 with *end after it and *v its value (strtod,
 * as jansson with JSON_DECODE_INT_AS_REAL), 0 when P is not a number,
 * -1 when it is a damaged one. */
static int read_number(const char *p, const char *e, const char **endp, double *v)
{
        const char *t = p;
        if (t < e && *t == '-')
                t++;
        const char *ds = t;
        while (t < e && is_digit(*t))
                t++;
        size_t nd = (size_t)(t - ds);
        if (nd == 0)
                return t == p ? 0 : -1;
        bool simple = true;
        if (t < e && *t == '.') {
                simple = false;
                const char *f = ++t;
                while (t < e && is_digit(*t))
                        t++;
                if (t == f)
                        return -1;
        }
        if (t < e && (*t == 'e' || *t == 'E')) {
                simple = false;
                t++;
                if (t < e && (*t == '+' || *t == '-'))
                        t++;
                const char *x = t;
                while (t < e && is_digit(*t))
                        t++;
                if (t == x)
                        return -1;
        }
        if (t < e && !scalar_end[(unsigned char)*t])
                return -1;
        *endp = t;
        if (simple && nd <= 15) {
                double a = 0;
                for (const char *d = ds; d < t; d++)
                        a = a * 10 + (*d - '0');
                *v = *p == '-' ? -a : a;
                return 1;
        }
        size_t tl = (size_t)(t - p);
        char small[64];
        char *tmp = tl < sizeof small ? small : malloc(tl + 1);
        if (!tmp)
                return -1;
        memcpy(tmp, p, tl);
        tmp[tl] = '\0';
        *v = strtod_l(tmp, NULL, c_locale());
        if (tmp != small)
                free(tmp);
        return 1;
}

static long code_of(double v)
{
        if (v != v)
                return -1;
        if (v >= (double)LONG_MAX)
                return LONG_MAX;
        if (v <= (double)LONG_MIN)
                return LONG_MIN;
        return (long)v;
}

/* ---- verdicts ---------------------------------------------------------- */

/* P at the value of responseStatus. */
static int status_verdict(const char *p, const char *e)
{
        if (*p != '{')
                return (*p == '"' || *p == '[' || *p == 't' || *p == 'f' || *p == 'n' || *p == '-' || is_digit(*p))
                        ? PS_AUDIT_SKIP : PS_AUDIT_UNSURE;
        p++;
        bool first = true;
        const char *ks;
        size_t kl;
        int r;
        while ((r = obj_next(&p, e, &first, &ks, &kl)) > 0) {
                int is = key_is(ks, kl, "code", 4);
                if (is < 0)
                        return PS_AUDIT_UNSURE;
                if (is) {
                        double v;
                        const char *t;
                        int n = read_number(p, e, &t, &v);
                        if (n < 0)
                                return PS_AUDIT_UNSURE;
                        if (n == 0)
                                return PS_AUDIT_SKIP;   /* not a number */
                        return v >= 400 ? PS_AUDIT_MATCH : PS_AUDIT_SKIP;
                }
                p = skip_value(p, e);
                if (!p)
                        return PS_AUDIT_UNSURE;
        }
        return r == 0 ? PS_AUDIT_SKIP : PS_AUDIT_UNSURE;
}

int ps_audit_quick_verdict(const char *line, size_t len)
{
        const char *p = line, *e = line + len;
        p = skip_ws(p, e);
        if (p >= e || *p != '{')
                return PS_AUDIT_UNSURE;
        p++;
        bool first = true;
        const char *ks;
        size_t kl;
        int r;
        while ((r = obj_next(&p, e, &first, &ks, &kl)) > 0) {
                int is = kl == 14 || memchr(ks, '\\', kl) ? key_is(ks, kl, "responseStatus", 14) : 0;
                if (is < 0)
                        return PS_AUDIT_UNSURE;
                if (is)
                        return status_verdict(p, e);
                p = skip_value(p, e);
                if (!p)
                        return PS_AUDIT_UNSURE;
        }
        if (r < 0)
                return PS_AUDIT_UNSURE;
        /* the object ended without responseStatus: only blanks may follow */
        return skip_ws(p, e) == e ? PS_AUDIT_SKIP : PS_AUDIT_UNSURE;
}

static json_t *load_line(const char *line, size_t len, json_error_t *je)
{
        return json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, je);
}

int ps_audit_full_verdict(const char *line, size_t len)
{
        json_error_t je;
        json_t *root = load_line(line, len, &je);
        if (!root)
                return PS_AUDIT_INVALID;
        int v = PS_AUDIT_SKIP;
        json_t *code = json_object_get(json_object_get(root, "responseStatus"), "code");
        if (json_is_number(code) && json_number_value(code) >= 400)
                v = PS_AUDIT_MATCH;
        json_decref(root);
        return v;
}

int ps_audit_verdict(const char *line, size_t len)
{
        int v = ps_audit_quick_verdict(line, len);
        return v == PS_AUDIT_UNSURE ? ps_audit_full_verdict(line, len) : v;
}

/* ---- field extraction -------------------------------------------------- */

void ps_audit_event_clear(ps_audit_event *ev)
{
        free(ev->timestamp);
        free(ev->source_ip);
        free(ev->verb);
        free(ev->uri);
        free(ev->username);
        free(ev->message);
        free(ev->reason);
        free(ev->audit_id);
        free(ev->stage);
        free(ev->user_agent);
        free(ev->error);
        ev->timestamp = ev->source_ip = ev->verb = ev->uri = ev->username = NULL;
        ev->message = ev->reason = ev->audit_id = ev->stage = ev->user_agent = ev->error = NULL;
        ev->code = -1;
}

static void event_reset(ps_audit_event *ev, const char *line, size_t len)
{
        *ev = (ps_audit_event){ .line = line, .len = len, .code = -1 };
}

enum { K_TS, K_IPS, K_VERB, K_URI, K_USER, K_RS, K_ID, K_STAGE, K_UA, K_TOP };
static const char *const top_names[K_TOP] = {
        [K_TS] = "requestReceivedTimestamp", [K_IPS] = "sourceIPs", [K_VERB] = "verb",
        [K_URI] = "requestURI", [K_USER] = "user", [K_RS] = "responseStatus",
        [K_ID] = "auditID", [K_STAGE] = "stage", [K_UA] = "userAgent",
};
static const size_t top_lens[K_TOP] = {
        [K_TS] = 24, [K_IPS] = 9, [K_VERB] = 4, [K_URI] = 10, [K_USER] = 4, [K_RS] = 14,
        [K_ID] = 7, [K_STAGE] = 5, [K_UA] = 9,
};

typedef struct lazy {
        const char *e;
        const char *why;
} lazy;

/* Which of NAMES[0..N) the raw key is: index, N for none, -1 bad escape. */
static int which_key(const char *ks, size_t kl, const char *const *names, const size_t *lens, int n)
{
        if (likely(!memchr(ks, '\\', kl))) {
                for (int i = 0; i < n; i++)
                        if (kl == lens[i] && memcmp(ks, names[i], kl) == 0)
                                return i;
                return n;
        }
        char *d = NULL;
        size_t dl = 0;
        if (decode_string(ks, kl, &d, &dl) < 0)
                return -1;
        int r = n;
        for (int i = 0; i < n; i++)
                if (dl == lens[i] && memcmp(d, names[i], dl) == 0)
                        r = i;
        free(d);
        return r;
}

/* A string value at *pp into *out (NULL when the value is not a string). */
static int take_string(lazy *z, const char **pp, char **out)
{
        const char *p = *pp;
        if (*p != '"') {
                const char *q = skip_value(p, z->e);
                if (!q) {
                        z->why = "truncated value";
                        return -EBADMSG;
                }
                *pp = q;
                return 0;
        }
        const char *q = skip_string(p, z->e);
        if (!q) {
                z->why = "unterminated string";
                return -EBADMSG;
        }
        int r = decode_string(p + 1, (size_t)(q - 1 - (p + 1)), out, NULL);
        if (r == -EBADMSG)
                z->why = "invalid string (escape, control character or UTF-8)";
        if (r < 0)
                return r;
        *pp = q;
        return 0;
}

static int bad(lazy *z, const char *why)
{
        z->why = why;
        return -EBADMSG;
}

/* Members of a nested object: NAMES are looked up, OUT[i] receives string
 * values; a member called "code" (index CODE_IDX, -1 if none) is read as a
 * number into *code. */
static int lazy_object(lazy *z, const char **pp, const char *const *names, const size_t *lens, int n,
                       char **out[], int code_idx, long *code)
{
        const char *p = *pp;
        if (*p != '{') {
                const char *q = skip_value(p, z->e);
                if (!q)
                        return bad(z, "truncated value");
                *pp = q;
                return 0;
        }
        p++;
        bool first = true, seen[8] = { false };
        const char *ks;
        size_t kl;
        int r;
        while ((r = obj_next(&p, z->e, &first, &ks, &kl)) > 0) {
                int k = which_key(ks, kl, names, lens, n);
                if (k < 0)
                        return bad(z, "invalid escape in a key");
                if (k == n) {
                        p = skip_value(p, z->e);
                        if (!p)
                                return bad(z, "truncated value");
                        continue;
                }
                if (seen[k])
                        return bad(z, "duplicate key");
                seen[k] = true;
                if (k == code_idx) {
                        double v;
                        const char *t;
                        int nr = read_number(p, z->e, &t, &v);
                        if (nr < 0)
                                return bad(z, "invalid number");
                        if (nr > 0) {
                                *code = code_of(v);
                                p = t;
                        } else {
                                p = skip_value(p, z->e);
                                if (!p)
                                        return bad(z, "truncated value");
                        }
                        continue;
                }
                int e2 = take_string(z, &p, out[k]);
                if (e2 < 0)
                        return e2;
        }
        if (r < 0)
                return bad(z, "damaged object");
        *pp = p;
        return 0;
}

static int lazy_parse(const char *line, size_t len, ps_audit_event *ev, lazy *z)
{
        const char *p = line, *e = line + len;
        z->e = e;
        p = skip_ws(p, e);
        if (p >= e || *p != '{')
                return bad(z, "not a JSON object");
        p++;
        bool first = true, seen[K_TOP] = { false };
        const char *ks;
        size_t kl;
        int r;
        while ((r = obj_next(&p, e, &first, &ks, &kl)) > 0) {
                int k = which_key(ks, kl, top_names, top_lens, K_TOP);
                if (k < 0)
                        return bad(z, "invalid escape in a key");
                if (k == K_TOP) {
                        p = skip_value(p, e);
                        if (!p)
                                return bad(z, "truncated value");
                        continue;
                }
                if (seen[k])
                        return bad(z, "duplicate key");
                seen[k] = true;
                int e2 = 0;
                switch (k) {
                case K_TS: e2 = take_string(z, &p, &ev->timestamp); break;
                case K_VERB: e2 = take_string(z, &p, &ev->verb); break;
                case K_URI: e2 = take_string(z, &p, &ev->uri); break;
                case K_ID: e2 = take_string(z, &p, &ev->audit_id); break;
                case K_STAGE: e2 = take_string(z, &p, &ev->stage); break;
                case K_UA: e2 = take_string(z, &p, &ev->user_agent); break;
                case K_IPS: {
                        if (*p == '[') {
                                const char *t = skip_ws(p + 1, e);
                                if (t < e && *t == '"') {
                                        e2 = take_string(z, &t, &ev->source_ip);
                                        if (e2 < 0)
                                                return e2;
                                }
                        }
                        p = skip_value(p, e);
                        if (!p)
                                return bad(z, "truncated value");
                        break;
                }
                case K_USER: {
                        static const char *const un[] = { "username" };
                        static const size_t ul[] = { 8 };
                        char **outs[] = { &ev->username };
                        e2 = lazy_object(z, &p, un, ul, 1, outs, -1, NULL);
                        break;
                }
                case K_RS: {
                        static const char *const rn[] = { "code", "message", "reason" };
                        static const size_t rl[] = { 4, 7, 6 };
                        char **outs[] = { NULL, &ev->message, &ev->reason };
                        e2 = lazy_object(z, &p, rn, rl, 3, outs, 0, &ev->code);
                        break;
                }
                }
                if (e2 < 0)
                        return e2;
        }
        if (r < 0)
                return bad(z, "damaged or truncated object");
        if (skip_ws(p, e) != e)
                return bad(z, "data after the object");
        return 0;
}

static int set_malformed(ps_audit_event *ev, const char *why, ps_error *err)
{
        ps_audit_event_clear(ev);
        if (asprintf(&ev->error, "malformed audit event: %s", why) < 0) {
                ev->error = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return ps_error_set(err, EBADMSG, "%s", ev->error);
}

int ps_audit_event_parse(const char *line, size_t len, ps_audit_event *ev, ps_error *err)
{
        event_reset(ev, line, len);
        lazy z = { 0 };
        int r = lazy_parse(line, len, ev, &z);
        if (r == -ENOMEM) {
                ps_audit_event_clear(ev);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (r < 0)
                return set_malformed(ev, z.why ? z.why : "damaged", err);
        return 0;
}

static int jdup(json_t *v, char **out)
{
        const char *s = json_string_value(v);
        if (!s)
                return 0;
        *out = strdup(s);
        return *out ? 0 : -ENOMEM;
}

int ps_audit_event_parse_full(const char *line, size_t len, ps_audit_event *ev, ps_error *err)
{
        event_reset(ev, line, len);
        json_error_t je;
        json_t *root = load_line(line, len, &je);
        if (!root)
                return set_malformed(ev, je.text, err);
        if (!json_is_object(root)) {
                json_decref(root);
                return set_malformed(ev, "not a JSON object", err);
        }
        json_t *rs = json_object_get(root, "responseStatus");
        json_t *code = json_object_get(rs, "code");
        if (json_is_number(code))
                ev->code = code_of(json_number_value(code));
        int r = 0;
        r |= jdup(json_object_get(root, "requestReceivedTimestamp"), &ev->timestamp);
        r |= jdup(json_array_get(json_object_get(root, "sourceIPs"), 0), &ev->source_ip);
        r |= jdup(json_object_get(root, "verb"), &ev->verb);
        r |= jdup(json_object_get(root, "requestURI"), &ev->uri);
        r |= jdup(json_object_get(json_object_get(root, "user"), "username"), &ev->username);
        r |= jdup(json_object_get(rs, "message"), &ev->message);
        r |= jdup(json_object_get(rs, "reason"), &ev->reason);
        r |= jdup(json_object_get(root, "auditID"), &ev->audit_id);
        r |= jdup(json_object_get(root, "stage"), &ev->stage);
        r |= jdup(json_object_get(root, "userAgent"), &ev->user_agent);
        json_decref(root);
        if (r) {
                ps_audit_event_clear(ev);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

char *ps_audit_event_projection(const ps_audit_event *ev)
{
        json_t *a = json_pack("[s?s?s?]", ev->timestamp, ev->source_ip, ev->message);
        if (!a)
                return NULL;
        char *s = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        return s;
}

/* ======================================================================
 * Scanning lines
 * ====================================================================== */

static bool blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!is_ws(s[i]))
                        return false;
        return true;
}

static int deliver(ps_audit_event *ev, ps_audit_cb cb, void *ud, ps_audit_stats *st, ps_error *err)
{
        if (ev->error)
                st->malformed++;
        else
                st->matches++;
        int r = cb ? cb(ev, ud, err) : 0;
        if (r < 0 && err && !err->code)
                ps_error_set(err, -r, "the audit event handler failed at offset %llu",
                             (unsigned long long)ev->offset);
        return r < 0 ? r : 0;
}

/* One line: decide, extract, deliver.  Returns <0 only when the callback
 * failed or memory ran out. */
static int process_line(const char *line, size_t len, uint64_t off, ps_audit_cb cb, void *ud,
                        ps_audit_stats *st, ps_error *err)
{
        if (len == 0)
                return 0;
        int v = ps_audit_quick_verdict(line, len);
        if (likely(v == PS_AUDIT_SKIP)) {
                st->lines++;
                return 0;
        }
        if (v == PS_AUDIT_UNSURE && blank(line, len))
                return 0;
        st->lines++;
        ps_audit_event ev;
        ps_error perr = PS_ERROR_INIT;
        int r;
        if (v == PS_AUDIT_MATCH) {
                r = ps_audit_event_parse(line, len, &ev, &perr);
                if (r == -EBADMSG) {
                        /* confirm with the reference parser */
                        ps_audit_event_clear(&ev);
                        st->full_parses++;
                        r = ps_audit_event_parse_full(line, len, &ev, &perr);
                }
        } else {
                st->full_parses++;
                v = ps_audit_full_verdict(line, len);
                if (v == PS_AUDIT_SKIP)
                        return 0;
                r = ps_audit_event_parse_full(line, len, &ev, &perr);
        }
        ps_error_clear(&perr);
        if (r == -ENOMEM) {
                ps_audit_event_clear(&ev);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (!ev.error && ev.code < 400) {
                /* the reference parser disagrees with the fast walk */
                ps_audit_event_clear(&ev);
                return 0;
        }
        ev.offset = off;
        ev.line = line;
        ev.len = len;
        r = deliver(&ev, cb, ud, st, err);
        ps_audit_event_clear(&ev);
        return r;
}

int ps_audit_scan_buffer(const char *buf, size_t len, bool final, uint64_t base, ps_audit_cb cb,
                         void *ud, ps_audit_stats *stats, size_t *consumed, ps_error *err)
{
        ps_audit_stats dummy = { 0 };
        ps_audit_stats *st = stats ? stats : &dummy;
        size_t pos = 0;
        int r = 0;
        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                if (!nl && !final)
                        break;
                size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
                r = process_line(buf + pos, ll, base + pos, cb, ud, st, err);
                if (r < 0)
                        break;
                size_t step = ll + (nl ? 1 : 0);
                st->bytes += step;
                pos += step;
        }
        if (consumed)
                *consumed = pos;
        return r;
}

/* ---- reading a descriptor line by line --------------------------------- */

typedef struct lreader {
        char *buf;
        size_t len, cap;
        bool skipping;          /* discarding an over-long line up to its '\n' */
} lreader;

static void lr_free(lreader *lr)
{
        free(lr->buf);
        *lr = (lreader){ 0 };
}

static int report_long(uint64_t off, ps_audit_cb cb, void *ud, ps_audit_stats *st, ps_error *err)
{
        ps_audit_event ev;
        event_reset(&ev, "", 0);
        ev.offset = off;
        if (asprintf(&ev.error, "malformed audit event: line longer than %zu bytes", PS_AUDIT_MAX_LINE) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = deliver(&ev, cb, ud, st, err);
        ps_audit_event_clear(&ev);
        return r;
}

/* Read FD from its current position (= *offset + lr->len) to EOF,
 * delivering complete lines; with FINAL an unterminated last line too.
 * *offset is advanced past every processed byte. */
static int read_lines(int fd, const char *name, lreader *lr, uint64_t *offset, bool final, size_t chunk,
                      ps_audit_cb cb, void *ud, ps_audit_stats *st, ps_error *err)
{
        for (;;) {
                if (lr->cap - lr->len < chunk / 2) {
                        if (lr->len >= PS_AUDIT_MAX_LINE) {
                                int r = report_long(*offset, cb, ud, st, err);
                                if (r < 0)
                                        return r;
                                *offset += lr->len;
                                lr->len = 0;
                                lr->skipping = true;
                        } else {
                                size_t ncap = lr->cap ? lr->cap * 2 : chunk;
                                while (ncap - lr->len < chunk / 2)
                                        ncap *= 2;
                                char *n = realloc(lr->buf, ncap);
                                if (!n)
                                        return ps_error_set(err, ENOMEM, "out of memory");
                                lr->buf = n;
                                lr->cap = ncap;
                        }
                }
                ssize_t n = read(fd, lr->buf + lr->len, lr->cap - lr->len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(err, errno, "cannot read %s", name);
                }
                if (n == 0) {
                        if (final && lr->len > 0) {
                                size_t used = 0;
                                int r = ps_audit_scan_buffer(lr->buf, lr->len, true, *offset, cb, ud, st,
                                                             &used, err);
                                *offset += used;
                                memmove(lr->buf, lr->buf + used, lr->len - used);
                                lr->len -= used;
                                if (r < 0)
                                        return r;
                        }
                        if (final && lr->skipping) {
                                lr->skipping = false;
                        }
                        return 0;
                }
                size_t got = (size_t)n;
                if (lr->skipping) {
                        char *nl = memchr(lr->buf + lr->len, '\n', got);
                        if (!nl) {
                                *offset += got;
                                continue;
                        }
                        size_t drop = (size_t)(nl - (lr->buf + lr->len)) + 1;
                        *offset += drop;
                        memmove(lr->buf + lr->len, nl + 1, got - drop);
                        got -= drop;
                        lr->skipping = false;
                }
                lr->len += got;
                size_t used = 0;
                int r = ps_audit_scan_buffer(lr->buf, lr->len, false, *offset, cb, ud, st, &used, err);
                *offset += used;
                if (used) {
                        memmove(lr->buf, lr->buf + used, lr->len - used);
                        lr->len -= used;
                }
                if (r < 0)
                        return r;
        }
}

int ps_audit_scan_file(const char *path, ps_audit_cb cb, void *ud, ps_audit_stats *stats, ps_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open %s", path);
        ps_audit_stats dummy = { 0 };
        lreader lr = { 0 };
        uint64_t off = 0;
        int r = read_lines(fd, path, &lr, &off, true, (size_t)256 << 10, cb, ud, stats ? stats : &dummy, err);
        lr_free(&lr);
        return r;
}

/* ======================================================================
 * Following
 * ====================================================================== */

#define HEAD_MAX 4096

struct ps_audit_follower {
        char *path, *cp_path, *dir;
        char *cp_base;          /* checkpoint name when it lives in dir, else NULL */
        unsigned flags;
        int fd;                 /* current file or -1 */
        dev_t dev;
        ino_t ino;
        uint64_t offset;        /* file offset of lr.buf[0]: after the last processed line */
        lreader lr;
        uint64_t head_len, head_hash;
        char *last_ts;
        bool dirty, started;
        struct {
                bool present, has_file;
                dev_t dev;
                ino_t ino;
                uint64_t offset, head_len, head_hash;
        } cp;
        int ifd, wd;
        ps_audit_stats st;
};

/* Hash of the first N bytes of FD; -1 when the file is shorter. */
static int head_hash(int fd, uint64_t n, uint64_t *h)
{
        unsigned char b[HEAD_MAX];
        if (n > HEAD_MAX)
                n = HEAD_MAX;
        size_t got = 0;
        while (got < n) {
                ssize_t r = pread(fd, b + got, n - got, (off_t)got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return -1;
                got += (size_t)r;
        }
        *h = ps_fnv1a64(b, (size_t)n);
        return 0;
}

static bool head_matches(int fd, uint64_t n, uint64_t want)
{
        if (n == 0)
                return true;
        uint64_t h;
        return head_hash(fd, n, &h) == 0 && h == want;
}

/* ---- checkpoint -------------------------------------------------------- */

static bool parse_u64_text(const char *s, uint64_t *v)
{
        if (!s || !*s || strlen(s) > 20)
                return false;
        uint64_t r = 0;
        for (const char *p = s; *p; p++) {
                if (!is_digit(*p))
                        return false;
                uint64_t d = (uint64_t)(*p - '0');
                if (r > (UINT64_MAX - d) / 10)
                        return false;
                r = r * 10 + d;
        }
        *v = r;
        return true;
}

static int read_checkpoint(ps_audit_follower *f, ps_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        ps_error rerr = PS_ERROR_INIT;
        int r = ps_read_file(f->cp_path, 1 << 20, &data, &len, &rerr);
        if (r == -ENOENT) {
                ps_error_clear(&rerr);
                return 0;
        }
        if (r < 0) {
                ps_error_set(err, -r, "%s", ps_error_msg(&rerr));
                ps_error_clear(&rerr);
                return ps_error_wrap(err, "cannot read the audit checkpoint");
        }
        json_error_t je;
        json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
        const char *why = NULL;
        if (!root) {
                return ps_error_set(err, EBADMSG, "audit checkpoint %s is damaged (line %d: %s); remove it to start over",
                                    f->cp_path, je.line, je.text);
        }
        json_t *ver = json_object_get(root, "version");
        json_t *dev = json_object_get(root, "device");
        json_t *ino = json_object_get(root, "inode");
        json_t *off = json_object_get(root, "offset");
        json_t *hl = json_object_get(root, "head_length");
        json_t *hh = json_object_get(root, "head_fnv1a64");
        json_t *ts = json_object_get(root, "timestamp");
        uint64_t d = 0, i = 0, h = 0;
        if (!json_is_object(root))
                why = "not a JSON object";
        else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
                why = "\"version\" is not 1";
        else if (!json_is_integer(off) || json_integer_value(off) < 0)
                why = "\"offset\" is not a non-negative integer";
        else if (!json_is_integer(hl) || json_integer_value(hl) < 0 || json_integer_value(hl) > HEAD_MAX)
                why = "\"head_length\" is not an integer 0..4096";
        else if (!json_is_string(hh) || strlen(json_string_value(hh)) != 16 ||
                 strspn(json_string_value(hh), "0123456789abcdef") != 16)
                why = "\"head_fnv1a64\" is not 16 hex digits";
        else if (!(json_is_null(dev) && json_is_null(ino)) &&
                 !(parse_u64_text(json_string_value(dev), &d) && parse_u64_text(json_string_value(ino), &i)))
                why = "\"device\"/\"inode\" are not both decimal strings or both null";
        else if (ts && !json_is_null(ts) && !json_is_string(ts))
                why = "\"timestamp\" is not a string";
        if (why) {
                json_decref(root);
                return ps_error_set(err, EBADMSG, "audit checkpoint %s is damaged: %s; remove it to start over",
                                    f->cp_path, why);
        }
        h = strtoull(json_string_value(hh), NULL, 16);
        f->cp.present = true;
        f->cp.has_file = !json_is_null(dev);
        f->cp.dev = (dev_t)d;
        f->cp.ino = (ino_t)i;
        f->cp.offset = (uint64_t)json_integer_value(off);
        f->cp.head_len = (uint64_t)json_integer_value(hl);
        f->cp.head_hash = h;
        if (json_is_string(ts)) {
                f->last_ts = strdup(json_string_value(ts));
                if (!f->last_ts) {
                        json_decref(root);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        json_decref(root);
        return 0;
}

int ps_audit_follow_checkpoint(ps_audit_follower *f, ps_error *err)
{
        if (!f->cp_path || !f->dirty)
                return 0;
        if (f->fd >= 0 && f->head_len < HEAD_MAX && f->offset > f->head_len) {
                uint64_t n = f->offset < HEAD_MAX ? f->offset : HEAD_MAX;
                uint64_t h;
                if (head_hash(f->fd, n, &h) == 0) {
                        f->head_len = n;
                        f->head_hash = h;
                }
        }
        char hh[17];
        snprintf(hh, sizeof hh, "%016llx", (unsigned long long)f->head_hash);
        char dev[24], ino[24];
        snprintf(dev, sizeof dev, "%llu", (unsigned long long)f->dev);
        snprintf(ino, sizeof ino, "%llu", (unsigned long long)f->ino);
        bool has = f->fd >= 0;
        json_t *o = json_pack("{s:i, s:s, s:s?, s:s?, s:I, s:I, s:s, s:s?}",
                              "version", 1, "path", f->path,
                              "device", has ? dev : NULL, "inode", has ? ino : NULL,
                              "offset", (json_int_t)(has ? f->offset : 0),
                              "head_length", (json_int_t)(has ? f->head_len : 0),
                              "head_fnv1a64", has ? hh : "0000000000000000",
                              "timestamp", f->last_ts);
        if (!o)
                return ps_error_set(err, ENOMEM, "out of memory");
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!s)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t n = strlen(s);
        char *s2 = realloc(s, n + 2);
        if (!s2) {
                free(s);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        s2[n] = '\n';
        s2[n + 1] = '\0';
        int r = ps_write_atomic(f->cp_path, s2, n + 1, 0600, err);
        free(s2);
        if (r < 0)
                return ps_error_wrap(err, "cannot save the audit checkpoint");
        f->dirty = false;
        return 0;
}

/* ---- files ------------------------------------------------------------- */

/* Open PATH without following a symlink: 1 opened, 0 absent, <0 error. */
static int open_log(const char *path, int *fdp, struct stat *st, ps_error *err)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP)
                        return ps_error_set(err, ELOOP, "audit log %s is a symbolic link; refusing to follow it", path);
                return ps_error_errno(err, errno, "cannot open audit log %s", path);
        }
        if (fstat(fd, st) < 0) {
                int e = errno;
                close(fd);
                return ps_error_errno(err, e, "cannot stat audit log %s", path);
        }
        if (!S_ISREG(st->st_mode)) {
                close(fd);
                return ps_error_set(err, EINVAL, "audit log %s is not a regular file", path);
        }
        *fdp = fd;
        return 1;
}

static int adopt(ps_audit_follower *f, int fd, const struct stat *st, uint64_t offset, ps_error *err)
{
        if (lseek(fd, (off_t)offset, SEEK_SET) < 0) {
                int e = errno;
                close(fd);
                return ps_error_errno(err, e, "cannot seek in audit log %s", f->path);
        }
        if (f->fd >= 0)
                close(f->fd);
        f->fd = fd;
        f->dev = st->st_dev;
        f->ino = st->st_ino;
        f->offset = offset;
        f->lr.len = 0;
        f->lr.skipping = false;
        f->head_len = 0;
        f->head_hash = 0;
        f->dirty = true;
        return 0;
}

/* Offset after the last '\n' of FD (0 when there is none). */
static uint64_t end_of_last_line(int fd, uint64_t size)
{
        char b[65536];
        uint64_t pos = size;
        while (pos > 0) {
                size_t n = pos > sizeof b ? sizeof b : (size_t)pos;
                ssize_t r = pread(fd, b, n, (off_t)(pos - n));
                if (r != (ssize_t)n)
                        return 0;
                char *nl = memrchr(b, '\n', n);
                if (nl)
                        return pos - n + (uint64_t)(nl - b) + 1;
                pos -= n;
        }
        return 0;
}

/* After a restart: the checkpointed file is no longer at PATH; find it by
 * inode in PATH's directory (lumberjack renames audit.log to
 * audit-<time>.log next to it).  1 found (opened into *fdp), 0 not. */
static int find_rotated(ps_audit_follower *f, int *fdp, struct stat *stp)
{
        _cleanup_closedir_ DIR *d = opendir(f->dir);
        if (!d)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!S_ISREG(st.st_mode) || st.st_dev != f->cp.dev || st.st_ino != f->cp.ino)
                        continue;
                int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) < 0 || st.st_dev != f->cp.dev || st.st_ino != f->cp.ino ||
                    (uint64_t)st.st_size < f->cp.offset || !head_matches(fd, f->cp.head_len, f->cp.head_hash)) {
                        close(fd);
                        continue;
                }
                *fdp = fd;
                *stp = st;
                return 1;
        }
        return 0;
}

/* First poll: place ourselves according to the checkpoint (or the flags). */
static int start(ps_audit_follower *f, ps_error *err)
{
        int fd = -1;
        struct stat st;
        int r = open_log(f->path, &fd, &st, err);
        if (r < 0)
                return r;
        f->started = true;
        if (!f->cp.present) {
                if (r == 0)
                        return 0;       /* appears later: read it from 0 */
                uint64_t off = 0;
                if (f->flags & PS_AUDIT_FOLLOW_FROM_END)
                        off = end_of_last_line(fd, (uint64_t)st.st_size);
                return adopt(f, fd, &st, off, err);
        }
        if (!f->cp.has_file) {
                /* the checkpoint was taken between two files */
                return r == 0 ? 0 : adopt(f, fd, &st, 0, err);
        }
        if (r == 1 && st.st_dev == f->cp.dev && st.st_ino == f->cp.ino) {
                if ((uint64_t)st.st_size >= f->cp.offset && head_matches(fd, f->cp.head_len, f->cp.head_hash)) {
                        r = adopt(f, fd, &st, f->cp.offset, err);
                        if (r == 0) {
                                f->head_len = f->cp.head_len;
                                f->head_hash = f->cp.head_hash;
                                f->dirty = false;
                        }
                        return r;
                }
                f->st.truncations++;
                return adopt(f, fd, &st, 0, err);
        }
        /* PATH is another file (or absent): finish the checkpointed one first */
        int ofd = -1;
        struct stat ost;
        if (find_rotated(f, &ofd, &ost)) {
                if (fd >= 0)
                        close(fd);
                r = adopt(f, ofd, &ost, f->cp.offset, err);
                if (r == 0) {
                        f->head_len = f->cp.head_len;
                        f->head_hash = f->cp.head_hash;
                }
                return r;
        }
        f->st.lost++;
        return r == 0 ? 0 : adopt(f, fd, &st, 0, err);
}

static int drain(ps_audit_follower *f, bool final, ps_audit_cb cb, void *ud, ps_error *err)
{
        struct stat st;
        if (fstat(f->fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat audit log %s", f->path);
        if ((uint64_t)st.st_size < f->offset + f->lr.len || !head_matches(f->fd, f->head_len, f->head_hash)) {
                /* truncated (copytruncate) or rewritten in place */
                f->st.truncations++;
                if (lseek(f->fd, 0, SEEK_SET) < 0)
                        return ps_error_errno(err, errno, "cannot seek in audit log %s", f->path);
                f->offset = 0;
                f->lr.len = 0;
                f->lr.skipping = false;
                f->head_len = 0;
                f->head_hash = 0;
                f->dirty = true;
        }
        uint64_t before = f->offset;
        int r = read_lines(f->fd, f->path, &f->lr, &f->offset, final, 256 << 10, cb, ud, &f->st, err);
        if (f->offset != before)
                f->dirty = true;
        return r;
}

struct counting {
        ps_audit_cb cb;
        void *ud;
        ps_audit_follower *f;
        int delivered;
};

static int count_cb(const ps_audit_event *ev, void *ud, ps_error *err)
{
        struct counting *c = ud;
        int r = c->cb ? c->cb(ev, c->ud, err) : 0;
        if (r < 0)
                return r;
        if (!ev->error) {
                c->delivered++;
                if (ev->timestamp) {
                        char *t = strdup(ev->timestamp);
                        if (!t)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        free(c->f->last_ts);
                        c->f->last_ts = t;
                }
        }
        return 0;
}

int ps_audit_follow_poll(ps_audit_follower *f, ps_audit_cb cb, void *ud, ps_error *err)
{
        struct counting c = { cb, ud, f, 0 };
        int r = 0;
        if (!f->started) {
                r = start(f, err);
                if (r < 0)
                        return r;
        }
        for (int round = 0; round < 16; round++) {
                if (f->fd < 0) {
                        int fd = -1;
                        struct stat st;
                        r = open_log(f->path, &fd, &st, err);
                        if (r <= 0)
                                break;
                        r = adopt(f, fd, &st, 0, err);
                        if (r < 0)
                                break;
                }
                r = drain(f, false, count_cb, &c, err);
                if (r < 0)
                        break;
                struct stat st;
                if (lstat(f->path, &st) < 0) {
                        if (errno != ENOENT) {
                                r = ps_error_errno(err, errno, "cannot stat audit log %s", f->path);
                                break;
                        }
                        break;  /* renamed away, new one not there yet: keep the old one */
                }
                if (st.st_dev == f->dev && st.st_ino == f->ino)
                        break;
                /* rotated: the writer has finished the old file; read it to
                 * its end (an unterminated last line included), then switch */
                r = drain(f, true, count_cb, &c, err);
                if (r < 0)
                        break;
                f->st.rotations++;
                close(f->fd);
                f->fd = -1;
                f->offset = 0;
                f->lr.len = 0;
                f->lr.skipping = false;
                f->head_len = 0;
                f->dirty = true;
        }
        ps_error cerr = PS_ERROR_INIT;
        int k = ps_audit_follow_checkpoint(f, r < 0 ? &cerr : err);
        ps_error_clear(&cerr);
        if (r < 0)
                return r;
        if (k < 0)
                return k;
        return c.delivered;
}

/* ---- waiting ----------------------------------------------------------- */

static void add_watch(ps_audit_follower *f)
{
        if (f->ifd < 0 || f->wd >= 0)
                return;
        f->wd = inotify_add_watch(f->ifd, f->dir,
                                  IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                  IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
}

int ps_audit_follow_fd(const ps_audit_follower *f)
{
        return f->wd >= 0 ? f->ifd : -1;
}

/* Our own checkpoint writes (NAME and its ".NAME.XXXXXX" temporaries, see
 * ps_write_atomic) are no reason to wake up. */
static bool own_file(const ps_audit_follower *f, const struct inotify_event *ie)
{
        if (!f->cp_base || ie->len == 0)
                return false;
        const char *n = ie->name;
        size_t bl = strlen(f->cp_base);
        if (strcmp(n, f->cp_base) == 0)
                return true;
        return n[0] == '.' && strncmp(n + 1, f->cp_base, bl) == 0 && n[1 + bl] == '.';
}

static long long now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ps_audit_follow_wait(ps_audit_follower *f, int timeout_ms, ps_error *err)
{
        add_watch(f);
        if (f->wd < 0) {
                int t = timeout_ms < 0 || timeout_ms > 1000 ? 1000 : timeout_ms;
                poll(NULL, 0, t);
                return 1;
        }
        long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        for (;;) {
                int left = -1;
                if (deadline >= 0) {
                        long long l = deadline - now_ms();
                        left = l < 0 ? 0 : (int)l;
                }
                struct pollfd p = { .fd = f->ifd, .events = POLLIN };
                int r = poll(&p, 1, left);
                if (r < 0) {
                        if (errno == EINTR)
                                return 1;
                        return ps_error_errno(err, errno, "cannot wait for changes of %s", f->dir);
                }
                if (r == 0)
                        return 0;
                bool relevant = false;
                _Alignas(struct inotify_event) char buf[4096 + sizeof(struct inotify_event) + NAME_MAX + 1];
                for (;;) {
                        ssize_t n = read(f->ifd, buf, sizeof buf);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                break;  /* EAGAIN: drained */
                        }
                        if (n == 0)
                                break;
                        for (char *q = buf; q < buf + n;) {
                                struct inotify_event *ie = (struct inotify_event *)q;
                                if (ie->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) {
                                        if (!(ie->mask & IN_Q_OVERFLOW)) {
                                                if (f->wd >= 0 && !(ie->mask & IN_IGNORED))
                                                        inotify_rm_watch(f->ifd, f->wd);
                                                f->wd = -1;
                                        }
                                        relevant = true;
                                } else if (!own_file(f, ie)) {
                                        relevant = true;
                                }
                                q += sizeof *ie + ie->len;
                        }
                }
                if (relevant || f->wd < 0)
                        return 1;
        }
}

/* ---- life cycle -------------------------------------------------------- */

int ps_audit_follow_open(const char *path, const char *checkpoint, unsigned flags, ps_audit_follower **out,
                         ps_error *err)
{
        *out = NULL;
        if (!path || !*path)
                return ps_error_set(err, EINVAL, "no audit log path given");
        ps_audit_follower *f = calloc(1, sizeof *f);
        if (!f)
                return ps_error_set(err, ENOMEM, "out of memory");
        f->fd = -1;
        f->ifd = -1;
        f->wd = -1;
        f->flags = flags;
        f->path = strdup(path);
        f->cp_path = checkpoint ? strdup(checkpoint) : NULL;
        const char *slash = strrchr(path, '/');
        f->dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t)(slash - path))) : strdup(".");
        if (!f->path || !f->dir || (checkpoint && !f->cp_path)) {
                ps_audit_follow_free(f);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (f->cp_path) {
                const char *cs = strrchr(f->cp_path, '/');
                size_t dl = cs ? (size_t)(cs - f->cp_path) : 1;
                const char *cd = cs ? f->cp_path : ".";
                if (cs == f->cp_path)
                        dl = 1;         /* "/name" lives in "/" */
                if (strlen(f->dir) == dl && strncmp(f->dir, cd, dl) == 0) {
                        f->cp_base = strdup(cs ? cs + 1 : f->cp_path);
                        if (!f->cp_base) {
                                ps_audit_follow_free(f);
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                }
                int r = read_checkpoint(f, err);
                if (r < 0) {
                        ps_audit_follow_free(f);
                        return r;
                }
        }
        f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        add_watch(f);
        *out = f;
        return 0;
}

const char *ps_audit_follow_last_timestamp(const ps_audit_follower *f) { return f->last_ts; }
uint64_t ps_audit_follow_offset(const ps_audit_follower *f) { return f->offset; }
const ps_audit_stats *ps_audit_follow_stats(const ps_audit_follower *f) { return &f->st; }

void ps_audit_follow_free(ps_audit_follower *f)
{
        if (!f)
                return;
        if (f->fd >= 0)
                close(f->fd);
        if (f->ifd >= 0)
                close(f->ifd);
        lr_free(&f->lr);
        free(f->path);
        free(f->cp_path);
        free(f->cp_base);
        free(f->dir);
        free(f->last_ts);
        free(f);
}
