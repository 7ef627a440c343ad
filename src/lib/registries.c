/* SPDX-License-Identifier: GPL-2.0-or-later */
/* containers-registries.d(5) lookaside resolution and
 * containers-registries.conf(5) v2 edits.  See registries.h for the rules. */
#include "config.h"
#include "registries.h"
#include "cleanup.h"
#include "fs.h"
#include "reference.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Docker references (the parts lookup needs).                          */
/* ------------------------------------------------------------------ */

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

/* ------------------------------------------------------------------ */
/* Candidate scopes, most specific first.                                */
/* ------------------------------------------------------------------ */

typedef struct strv {
        char **v;
        size_t n, cap;
} strv;

static void strv_clear(strv *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->v[i]);
        free(s->v);
        memset(s, 0, sizeof(*s));
}

static int strv_addn(strv *s, const char *p, size_t n)
{
        if (s->n + 1 >= s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 8;
                char **nv = realloc(s->v, nc * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                s->v = nv;
                s->cap = nc;
        }
        char *c = strndup(p, n);
        if (!c)
                return -ENOMEM;
        s->v[s->n++] = c;
        s->v[s->n] = NULL;
        return 0;
}

/* NAME (host[:port]/path...) and its parents, then wildcards ("*.b.c") of the
 * port-less host, as containers/image's DockerReferenceNamespaces does. */
static int add_namespaces(strv *out, const char *name)
{
        size_t n = strlen(name);
        for (;;) {
                if (strv_addn(out, name, n) < 0)
                        return -ENOMEM;
                const char *slash = NULL;
                for (size_t i = n; i > 0; i--)
                        if (name[i - 1] == '/') {
                                slash = name + i - 1;
                                break;
                        }
                if (!slash)
                        break;
                n = (size_t)(slash - name);
        }
        /* name[0..n) is now the host[:port]; strip the port at the first ':' */
        const char *colon = memchr(name, ':', n);
        if (colon)
                n = (size_t)(colon - name);
        const char *h = name;
        for (;;) {
                const char *dot = memchr(h, '.', n - (size_t)(h - name));
                if (!dot)
                        break;
                h = dot + 1;
                _cleanup_free_ char *w = NULL;
                if (asprintf(&w, "*.%.*s", (int)(n - (size_t)(h - name)), h) < 0)
                        return -ENOMEM;
                if (strv_addn(out, w, strlen(w)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int ref_candidates(const ps_reference *r, strv *out, ps_error *err)
{
        _cleanup_free_ char *id = NULL;
        int k = ps_reference_identity(r, &id, err);
        if (k < 0)
                return k;
        if (strv_addn(out, id, strlen(id)) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_strv_ char **ns = ps_reference_namespaces(r, NULL);
        if (!ns)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (char **p = ns; *p; p++)
                if (strv_addn(out, *p, strlen(*p)) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static int scope_candidates(const char *scope, strv *out)
{
        if (!*scope)
                return 0;
        if (!strncmp(scope, "*.", 2)) {
                const char *h = scope + 2;
                if (strv_addn(out, scope, strlen(scope)) < 0)
                        return -ENOMEM;
                for (;;) {
                        const char *dot = strchr(h, '.');
                        if (!dot)
                                break;
                        _cleanup_free_ char *w = NULL;
                        if (asprintf(&w, "*%s", dot) < 0)
                                return -ENOMEM;
                        if (strv_addn(out, w, strlen(w)) < 0)
                                return -ENOMEM;
                        h = dot + 1;
                }
                return 0;
        }
        const char *slash = strrchr(scope, '/');
        size_t nlen = strlen(scope);
        if (slash) {
                const char *at = strchr(slash, '@');
                const char *colon = strchr(slash, ':');
                if (at)
                        nlen = (size_t)(at - scope);
                else if (colon)
                        nlen = (size_t)(colon - scope);
        }
        if (nlen != strlen(scope) && strv_addn(out, scope, strlen(scope)) < 0)
                return -ENOMEM;
        _cleanup_free_ char *name = strndup(scope, nlen);
        if (!name)
                return -ENOMEM;
        return add_namespaces(out, name);
}

/* ------------------------------------------------------------------ */
/* The configuration.                                                    */
/* ------------------------------------------------------------------ */

static void section_clear(ps_regd_section *s)
{
        free(s->lookaside);
        free(s->lookaside_staging);
        free(s->sigstore);
        free(s->sigstore_staging);
        free(s->file);
        memset(s, 0, sizeof(*s));
        s->use_sigstore_attachments = -1;
}

ps_regd *ps_regd_new(void)
{
        ps_regd *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->files = calloc(1, sizeof(char *));
        if (!c->files) {
                free(c);
                return NULL;
        }
        return c;
}

void ps_regd_free(ps_regd *c)
{
        if (!c)
                return;
        free(c->dir);
        ps_strv_free(c->files);
        if (c->default_docker) {
                section_clear(c->default_docker);
                free(c->default_docker);
        }
        for (size_t i = 0; i < c->n_scopes; i++) {
                free(c->scopes[i].name);
                section_clear(&c->scopes[i].section);
        }
        free(c->scopes);
        free(c);
}

static int scope_cmp(const void *a, const void *b)
{
        return strcmp(((const ps_regd_scope *)a)->name, ((const ps_regd_scope *)b)->name);
}

static const ps_regd_scope *find_scope(const ps_regd *c, const char *name)
{
        ps_regd_scope key = { .name = (char *)name };
        if (!c->n_scopes)
                return NULL;
        return bsearch(&key, c->scopes, c->n_scopes, sizeof(*c->scopes), scope_cmp);
}

/* ------------------------------------------------------------------ */
/* YAML (event level, so that depth, aliases and duplicates are ours).   */
/* ------------------------------------------------------------------ */

typedef struct yparse {
        struct fy_parser *fyp;
        struct fy_diag *diag;
        struct fy_event *ev;
        const char *file;
        ps_error *err;
        /* the document being read */
        ps_regd_section *dflt;
        bool dflt_seen, docker_seen;
        ps_regd_scope *scopes;
        size_t n_scopes, cap_scopes;
} yparse;

static void ydiag_out(struct fy_diag *d, void *u, const char *b, size_t l)
{
        (void)d; (void)u; (void)b; (void)l;
}

static int ev_line(struct fy_event *ev)
{
        const struct fy_mark *m = ev ? fy_event_start_mark(ev) : NULL;
        return m ? m->line + 1 : 0;
}

static int ev_col(struct fy_event *ev)
{
        const struct fy_mark *m = ev ? fy_event_start_mark(ev) : NULL;
        return m ? m->column + 1 : 0;
}

#define YERR(p, code, ...) yerr(p, code, __VA_ARGS__)
static int yerr(yparse *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int yerr(yparse *p, int code, const char *fmt, ...)
{
        _cleanup_free_ char *m = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return ps_error_set(p->err, ENOMEM, "out of memory");
        if (p->ev)
                return ps_error_set(p->err, code, "%s:%d:%d: %s", p->file, ev_line(p->ev), ev_col(p->ev), m);
        return ps_error_set(p->err, code, "%s: %s", p->file, m);
}

/* Move to the next event; an error when the stream is broken or ends. */
static int ynext(yparse *p)
{
        if (p->ev)
                fy_parser_event_free(p->fyp, p->ev);
        p->ev = fy_parser_parse(p->fyp);
        if (p->ev)
                return 0;
        void *it = NULL;
        struct fy_diag_error *de = fy_diag_errors_iterate(p->diag, &it);
        if (de)
                return ps_error_set(p->err, EINVAL, "%s:%d:%d: invalid YAML: %s", p->file, de->line,
                                    de->column, de->msg ? de->msg : "syntax error");
        return ps_error_set(p->err, EINVAL, "%s: invalid YAML: unexpected end of input", p->file);
}

static const char *ev_kind(struct fy_event *ev)
{
        switch (ev->type) {
        case FYET_MAPPING_START: return "a mapping";
        case FYET_SEQUENCE_START: return "a list";
        case FYET_SCALAR: return "a scalar";
        case FYET_ALIAS: return "an alias";
        default: return "something else";
        }
}

typedef enum { SC_NULL, SC_BOOL_TRUE, SC_BOOL_FALSE, SC_NUMBER, SC_STRING } scalar_kind;

static bool looks_numeric(const char *s, size_t n)
{
        /* YAML 1.1 ints and floats (underscores allowed), .inf and .nan */
        _cleanup_free_ char *t = malloc(n + 1);
        size_t k = 0, i = 0;
        if (!t)
                return false;
        for (size_t j = 0; j < n; j++)
                if (s[j] != '_')
                        t[k++] = s[j];
        t[k] = '\0';
        if (k && (t[0] == '+' || t[0] == '-'))
                i = 1;
        const char *b = t + i;
        if (!strcmp(b, ".inf") || !strcmp(b, ".Inf") || !strcmp(b, ".INF"))
                return true;
        if (!i && (!strcmp(b, ".nan") || !strcmp(b, ".NaN") || !strcmp(b, ".NAN")))
                return true;
        if (b[0] == '0' && (b[1] == 'x' || b[1] == 'b' || b[1] == 'o') && b[2]) {
                const char *ok = b[1] == 'x' ? "0123456789abcdefABCDEF" : b[1] == 'b' ? "01" : "01234567";
                return strspn(b + 2, ok) == strlen(b + 2);
        }
        size_t d = 0;
        const char *q = b;
        while (*q >= '0' && *q <= '9') {
                q++;
                d++;
        }
        if (*q == '.') {
                q++;
                while (*q >= '0' && *q <= '9') {
                        q++;
                        d++;
                }
        }
        if (!d)
                return false;
        if (*q == 'e' || *q == 'E') {
                q++;
                if (*q == '+' || *q == '-')
                        q++;
                if (!(*q >= '0' && *q <= '9'))
                        return false;
                while (*q >= '0' && *q <= '9')
                        q++;
        }
        return *q == '\0';
}

/* Classify the current scalar event; its text and length are returned too. */
static int yscalar(yparse *p, scalar_kind *kind, const char **text, size_t *len)
{
        struct fy_event *ev = p->ev;
        size_t n = 0;
        const char *t = fy_token_get_text(ev->scalar.value, &n);
        if (!t) {
                t = "";
                n = 0;
        }
        if (memchr(t, '\0', n))
                return YERR(p, EINVAL, "value contains a NUL character");
        *text = t;
        *len = n;
        const char *tag = NULL;
        size_t tl = 0;
        if (ev->scalar.tag)
                tag = fy_token_get_text(ev->scalar.tag, &tl);
        if (tag) {
#define TAGIS(x) (tl == sizeof("tag:yaml.org,2002:" x) - 1 && !memcmp(tag, "tag:yaml.org,2002:" x, tl))
                if (TAGIS("str")) {
                        *kind = SC_STRING;
                        return 0;
                }
                if (!TAGIS("null") && !TAGIS("bool"))
                        return YERR(p, EINVAL, "YAML tag \"%.*s\" is not supported here", (int)tl, tag);
#undef TAGIS
        }
        if (fy_token_scalar_style(ev->scalar.value) != FYSS_PLAIN) {
                *kind = SC_STRING;
                return 0;
        }
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
        static const char *const trues[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                                             "on", "On", "ON" };
        static const char *const falses[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
                                              "off", "Off", "OFF" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(nulls); i++)
                if (strlen(nulls[i]) == n && !memcmp(nulls[i], t, n)) {
                        *kind = SC_NULL;
                        return 0;
                }
        for (size_t i = 0; i < PS_ARRAY_SIZE(trues); i++)
                if (strlen(trues[i]) == n && !memcmp(trues[i], t, n)) {
                        *kind = SC_BOOL_TRUE;
                        return 0;
                }
        for (size_t i = 0; i < PS_ARRAY_SIZE(falses); i++)
                if (strlen(falses[i]) == n && !memcmp(falses[i], t, n)) {
                        *kind = SC_BOOL_FALSE;
                        return 0;
                }
        *kind = looks_numeric(t, n) ? SC_NUMBER : SC_STRING;
        if (tag && *kind != SC_NULL && *kind != SC_BOOL_TRUE && *kind != SC_BOOL_FALSE)
                return YERR(p, EINVAL, "value \"%.*s\" does not match its YAML tag \"%.*s\"",
                            (int)n, t, (int)tl, tag);
        return 0;
}

/* The current event must be a key: a scalar string. */
static int ykey(yparse *p, const char *where, char **key)
{
        if (p->ev->type != FYET_SCALAR)
                return YERR(p, EINVAL, "%s: a key must be a plain string, found %s", where, ev_kind(p->ev));
        scalar_kind k;
        const char *t;
        size_t n;
        int r = yscalar(p, &k, &t, &n);
        if (r < 0)
                return r;
        *key = strndup(t, n);
        if (!*key)
                return ps_error_set(p->err, ENOMEM, "out of memory");
        return 0;
}

static const char *const section_keys =
        "lookaside, lookaside-staging, sigstore, sigstore-staging, use-sigstore-attachments";

/* Value of a string key (current event).  NULL value leaves *dst NULL. */
static int ystring_value(yparse *p, const char *where, const char *key, char **dst)
{
        if (p->ev->type != FYET_SCALAR)
                return YERR(p, EINVAL, "%s: \"%s\" must be a string, found %s", where, key, ev_kind(p->ev));
        scalar_kind k;
        const char *t;
        size_t n;
        int r = yscalar(p, &k, &t, &n);
        if (r < 0)
                return r;
        if (k == SC_NULL)
                return 0;
        if (k != SC_STRING)
                return YERR(p, EINVAL, "%s: \"%s\" must be a string (a URL), found \"%.*s\"; quote it if meant",
                            where, key, (int)n, t);
        *dst = strndup(t, n);
        if (!*dst)
                return ps_error_set(p->err, ENOMEM, "out of memory");
        return 0;
}

/* Parse a section; the current event is the value (mapping or null). */
static int ysection(yparse *p, const char *where, ps_regd_section *s)
{
        if (p->ev->type == FYET_SCALAR) {
                scalar_kind k;
                const char *t;
                size_t n;
                int r = yscalar(p, &k, &t, &n);
                if (r < 0)
                        return r;
                if (k == SC_NULL)
                        return 0;
                return YERR(p, EINVAL, "%s must be a mapping with keys %s, found \"%.*s\"", where,
                            section_keys, (int)n, t);
        }
        if (p->ev->type != FYET_MAPPING_START)
                return YERR(p, EINVAL, "%s must be a mapping with keys %s, found %s", where, section_keys,
                            ev_kind(p->ev));
        unsigned seen = 0;
        for (;;) {
                int r = ynext(p);
                if (r < 0)
                        return r;
                if (p->ev->type == FYET_MAPPING_END)
                        return 0;
                _cleanup_free_ char *key = NULL;
                r = ykey(p, where, &key);
                if (r < 0)
                        return r;
                static const char *const names[] = { "lookaside", "lookaside-staging", "sigstore",
                                                     "sigstore-staging", "use-sigstore-attachments",
                                                     "use-cosign-attachments" };
                size_t idx = PS_ARRAY_SIZE(names);
                for (size_t i = 0; i < PS_ARRAY_SIZE(names); i++)
                        if (!strcmp(key, names[i]))
                                idx = i;
                if (idx == PS_ARRAY_SIZE(names))
                        return YERR(p, EINVAL, "%s: unknown key \"%s\" (expected %s)", where, key, section_keys);
                unsigned bit = idx >= 4 ? 1u << 4 : 1u << idx;
                if (seen & bit)
                        return YERR(p, EINVAL, "%s: \"%s\" given twice", where,
                                    idx >= 4 ? "use-sigstore-attachments" : key);
                seen |= bit;
                r = ynext(p);
                if (r < 0)
                        return r;
                switch (idx) {
                case 0: r = ystring_value(p, where, key, &s->lookaside); break;
                case 1: r = ystring_value(p, where, key, &s->lookaside_staging); break;
                case 2: r = ystring_value(p, where, key, &s->sigstore); break;
                case 3: r = ystring_value(p, where, key, &s->sigstore_staging); break;
                default: {
                        if (p->ev->type != FYET_SCALAR)
                                return YERR(p, EINVAL, "%s: \"%s\" must be true or false, found %s", where, key,
                                            ev_kind(p->ev));
                        scalar_kind k;
                        const char *t;
                        size_t n;
                        r = yscalar(p, &k, &t, &n);
                        if (r < 0)
                                return r;
                        if (k == SC_BOOL_TRUE)
                                s->use_sigstore_attachments = 1;
                        else if (k == SC_BOOL_FALSE)
                                s->use_sigstore_attachments = 0;
                        else if (k != SC_NULL)
                                return YERR(p, EINVAL, "%s: \"%s\" must be true or false, found \"%.*s\"", where,
                                            key, (int)n, t);
                        break;
                }
                }
                if (r < 0)
                        return r;
        }
}

static int new_section(yparse *p, ps_regd_section *s, int line)
{
        memset(s, 0, sizeof(*s));
        s->use_sigstore_attachments = -1;
        s->line = line;
        s->file = strdup(p->file);
        if (!s->file)
                return ps_error_set(p->err, ENOMEM, "out of memory");
        return 0;
}

static int ydocker(yparse *p)
{
        if (p->ev->type == FYET_SCALAR) {
                scalar_kind k;
                const char *t;
                size_t n;
                int r = yscalar(p, &k, &t, &n);
                if (r < 0)
                        return r;
                if (k == SC_NULL)
                        return 0;
        }
        if (p->ev->type != FYET_MAPPING_START)
                return YERR(p, EINVAL, "\"docker\" must be a mapping of scopes to sections, found %s",
                            ev_kind(p->ev));
        for (;;) {
                int r = ynext(p);
                if (r < 0)
                        return r;
                if (p->ev->type == FYET_MAPPING_END)
                        return 0;
                _cleanup_free_ char *key = NULL;
                r = ykey(p, "\"docker\"", &key);
                if (r < 0)
                        return r;
                if (!*key)
                        return YERR(p, EINVAL, "\"docker\": empty scope name");
                int line = ev_line(p->ev);
                if (p->n_scopes == p->cap_scopes) {
                        size_t nc = p->cap_scopes ? p->cap_scopes * 2 : 8;
                        ps_regd_scope *ns = realloc(p->scopes, nc * sizeof(*ns));
                        if (!ns)
                                return ps_error_set(p->err, ENOMEM, "out of memory");
                        p->scopes = ns;
                        p->cap_scopes = nc;
                }
                ps_regd_scope *sc = &p->scopes[p->n_scopes];
                r = new_section(p, &sc->section, line);
                if (r < 0)
                        return r;
                sc->name = steal_pointer(&key);
                p->n_scopes++;
                r = ynext(p);
                if (r < 0)
                        return r;
                _cleanup_free_ char *where = NULL;
                if (asprintf(&where, "\"docker\" scope \"%s\"", sc->name) < 0)
                        return ps_error_set(p->err, ENOMEM, "out of memory");
                r = ysection(p, where, &sc->section);
                if (r < 0)
                        return r;
        }
}

static int ytop(yparse *p)
{
        for (;;) {
                int r = ynext(p);
                if (r < 0)
                        return r;
                if (p->ev->type == FYET_MAPPING_END)
                        return 0;
                _cleanup_free_ char *key = NULL;
                r = ykey(p, "top level", &key);
                if (r < 0)
                        return r;
                int line = ev_line(p->ev);
                if (!strcmp(key, "default-docker")) {
                        if (p->dflt_seen)
                                return YERR(p, EINVAL, "\"default-docker\" given twice");
                        p->dflt_seen = true;
                        r = ynext(p);
                        if (r < 0)
                                return r;
                        bool is_null = false;
                        if (p->ev->type == FYET_SCALAR) {
                                scalar_kind k;
                                const char *t;
                                size_t n;
                                r = yscalar(p, &k, &t, &n);
                                if (r < 0)
                                        return r;
                                is_null = k == SC_NULL;
                        }
                        if (is_null)
                                continue;  /* like containers/image: a null default-docker is absent */
                        p->dflt = calloc(1, sizeof(*p->dflt));
                        if (!p->dflt)
                                return ps_error_set(p->err, ENOMEM, "out of memory");
                        r = new_section(p, p->dflt, line);
                        if (r < 0)
                                return r;
                        r = ysection(p, "\"default-docker\"", p->dflt);
                        if (r < 0)
                                return r;
                } else if (!strcmp(key, "docker")) {
                        if (p->docker_seen)
                                return YERR(p, EINVAL, "\"docker\" given twice");
                        p->docker_seen = true;
                        r = ynext(p);
                        if (r < 0)
                                return r;
                        r = ydocker(p);
                        if (r < 0)
                                return r;
                } else {
                        return YERR(p, EINVAL, "unknown top-level key \"%s\" (expected default-docker, docker)",
                                    key);
                }
        }
}

static int ydocument(yparse *p)
{
        int r = ynext(p);
        if (r < 0)
                return r;
        if (p->ev->type != FYET_STREAM_START)
                return YERR(p, EINVAL, "invalid YAML stream");
        r = ynext(p);
        if (r < 0)
                return r;
        if (p->ev->type == FYET_STREAM_END)
                return 0;  /* empty file */
        if (p->ev->type != FYET_DOCUMENT_START)
                return YERR(p, EINVAL, "invalid YAML stream");
        r = ynext(p);
        if (r < 0)
                return r;
        if (p->ev->type == FYET_MAPPING_START) {
                r = ytop(p);
                if (r < 0)
                        return r;
        } else {
                bool is_null = false;
                if (p->ev->type == FYET_SCALAR) {
                        scalar_kind k;
                        const char *t;
                        size_t n;
                        r = yscalar(p, &k, &t, &n);
                        if (r < 0)
                                return r;
                        is_null = k == SC_NULL;
                }
                if (!is_null)
                        return YERR(p, EINVAL, "the document must be a mapping (with default-docker and/or docker), "
                                               "found %s", ev_kind(p->ev));
        }
        r = ynext(p);
        if (r < 0)
                return r;
        if (p->ev->type != FYET_DOCUMENT_END)
                return YERR(p, EINVAL, "invalid YAML document");
        r = ynext(p);
        if (r < 0)
                return r;
        if (p->ev->type == FYET_DOCUMENT_START)
                return YERR(p, EINVAL, "more than one YAML document; registries.d files hold one");
        if (p->ev->type != FYET_STREAM_END)
                return YERR(p, EINVAL, "invalid YAML stream");
        return 0;
}

static void yparse_free_doc(yparse *p)
{
        if (p->dflt) {
                section_clear(p->dflt);
                free(p->dflt);
                p->dflt = NULL;
        }
        for (size_t i = 0; i < p->n_scopes; i++) {
                free(p->scopes[i].name);
                section_clear(&p->scopes[i].section);
        }
        free(p->scopes);
        p->scopes = NULL;
        p->n_scopes = p->cap_scopes = 0;
}

/* Merge the parsed document into C (all-or-nothing). */
static int merge_doc(ps_regd *c, yparse *p)
{
        if (p->n_scopes > 1)
                qsort(p->scopes, p->n_scopes, sizeof(*p->scopes), scope_cmp);
        for (size_t i = 1; i < p->n_scopes; i++)
                if (!strcmp(p->scopes[i - 1].name, p->scopes[i].name))
                        return ps_error_set(p->err, EINVAL,
                                            "%s: \"docker\" scope \"%s\" given twice (lines %d and %d)", p->file,
                                            p->scopes[i].name,
                                            p->scopes[i - 1].section.line < p->scopes[i].section.line
                                                    ? p->scopes[i - 1].section.line
                                                    : p->scopes[i].section.line,
                                            p->scopes[i - 1].section.line < p->scopes[i].section.line
                                                    ? p->scopes[i].section.line
                                                    : p->scopes[i - 1].section.line);
        if (p->dflt && c->default_docker)
                return ps_error_set(p->err, EINVAL,
                                    "invalid signature storage configuration: \"default-docker\" defined both in "
                                    "\"%s\" and \"%s\"",
                                    c->default_docker->file, p->file);
        for (size_t i = 0; i < p->n_scopes; i++) {
                const ps_regd_scope *o = find_scope(c, p->scopes[i].name);
                if (o)
                        return ps_error_set(p->err, EINVAL,
                                            "invalid signature storage configuration: \"docker\" namespace \"%s\" "
                                            "defined both in \"%s\" and \"%s\"",
                                            o->name, o->section.file, p->file);
        }
        /* sorted merge */
        size_t total = c->n_scopes + p->n_scopes;
        if (p->n_scopes) {
                ps_regd_scope *m = malloc(total * sizeof(*m));
                if (!m)
                        return ps_error_set(p->err, ENOMEM, "out of memory");
                size_t i = 0, j = 0, k = 0;
                while (i < c->n_scopes || j < p->n_scopes) {
                        if (j >= p->n_scopes ||
                            (i < c->n_scopes && strcmp(c->scopes[i].name, p->scopes[j].name) < 0))
                                m[k++] = c->scopes[i++];
                        else
                                m[k++] = p->scopes[j++];
                }
                free(c->scopes);
                c->scopes = m;
                c->n_scopes = total;
                free(p->scopes);
                p->scopes = NULL;
                p->n_scopes = p->cap_scopes = 0;
        }
        if (p->dflt)
                c->default_docker = steal_pointer(&p->dflt);
        return 0;
}

/* Offset of the first byte that is not part of valid UTF-8 (no overlong
 * forms, surrogates or code points above U+10FFFF), or LEN. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
        size_t i = 0;
        while (i < len) {
                unsigned char c = s[i];
                size_t need;
                uint32_t cp, min;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if ((c & 0xe0) == 0xc0) {
                        need = 1;
                        cp = c & 0x1f;
                        min = 0x80;
                } else if ((c & 0xf0) == 0xe0) {
                        need = 2;
                        cp = c & 0x0f;
                        min = 0x800;
                } else if ((c & 0xf8) == 0xf0) {
                        need = 3;
                        cp = c & 0x07;
                        min = 0x10000;
                } else {
                        return i;
                }
                if (len - i <= need)
                        return i;
                for (size_t k = 1; k <= need; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return i;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return i;
                i += need + 1;
        }
        return len;
}

static int add_file(ps_regd *c, const char *file, ps_error *err)
{
        char **nf = realloc(c->files, (c->n_files + 2) * sizeof(*nf));
        if (!nf)
                return ps_error_set(err, ENOMEM, "out of memory");
        c->files = nf;
        c->files[c->n_files] = strdup(file);
        if (!c->files[c->n_files])
                return ps_error_set(err, ENOMEM, "out of memory");
        c->files[++c->n_files] = NULL;
        return 0;
}

int ps_regd_parse(ps_regd *c, const char *text, size_t len, const char *file, ps_error *err)
{
        if (!file)
                file = "(registries.d document)";
        if (len > PS_REGD_MAX_FILE)
                return ps_error_set(err, EFBIG, "%s is too large (%zu bytes, limit %u)", file, len,
                                    PS_REGD_MAX_FILE);
        if (len && memchr(text, '\0', len))
                return ps_error_set(err, EINVAL, "%s: contains a NUL byte; not a YAML text file", file);
        /* YAML files are UTF-8 here; libfyaml 0.7.12 can also loop forever on
         * invalid UTF-8 in a directive, so this check comes first */
        size_t bad = utf8_invalid_at((const unsigned char *)text, len);
        if (bad < len) {
                int line = 1;
                for (size_t i = 0; i < bad; i++)
                        line += text[i] == '\n';
                return ps_error_set(err, EINVAL, "%s:%d: invalid UTF-8 (byte 0x%02x at offset %zu)", file, line,
                                    (unsigned char)text[bad], bad);
        }
        yparse p = { .file = file, .err = err };
        struct fy_diag_cfg dc;
        fy_diag_cfg_default(&dc);
        dc.fp = NULL;
        dc.output_fn = ydiag_out;
        dc.level = FYET_ERROR;
        dc.colorize = false;
        p.diag = fy_diag_create(&dc);
        if (!p.diag)
                return ps_error_set(err, ENOMEM, "out of memory");
        fy_diag_set_collect_errors(p.diag, true);
        struct fy_parse_cfg cfg = {
                .flags = FYPCF_QUIET | FYPCF_JSON_NONE | FYPCF_DISABLE_RECYCLING,
                .diag = p.diag,
        };
        p.fyp = fy_parser_create(&cfg);
        if (!p.fyp) {
                fy_diag_destroy(p.diag);
                return ps_error_set(err, ENOMEM, "cannot create a YAML parser");
        }
        int r;
        if (fy_parser_set_string(p.fyp, len ? text : "", len) != 0) {
                r = ps_error_set(err, ENOMEM, "%s: cannot set up the YAML parser", file);
        } else {
                r = ydocument(&p);
                if (r == 0) {
                        size_t before = c->n_files;
                        r = add_file(c, file, err);
                        if (r == 0) {
                                r = merge_doc(c, &p);
                                if (r < 0) {
                                        free(c->files[before]);
                                        c->files[before] = NULL;
                                        c->n_files = before;
                                }
                        }
                }
        }
        if (p.ev)
                fy_parser_event_free(p.fyp, p.ev);
        yparse_free_doc(&p);
        fy_parser_destroy(p.fyp);
        fy_diag_destroy(p.diag);
        return r;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int ps_regd_load_dir(const char *dir, ps_regd **out, ps_error *err)
{
        *out = NULL;
        ps_regd *c _cleanup_regd_ = ps_regd_new();
        if (!c)
                return ps_error_set(err, ENOMEM, "out of memory");
        c->dir = strdup(dir);
        if (!c->dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT) {
                        *out = steal_pointer(&c);
                        return 0;
                }
                return ps_error_errno(err, errno, "cannot open registries.d directory %s", dir);
        }
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return ps_error_errno(err, e, "cannot read registries.d directory %s", dir);
        }
        strv names = { 0 };
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n >= 5 && !strcmp(de->d_name + n - 5, ".yaml")) {
                        if (strv_addn(&names, de->d_name, n) < 0) {
                                strv_clear(&names);
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                }
                errno = 0;
        }
        if (errno) {
                int e = errno;
                strv_clear(&names);
                return ps_error_errno(err, e, "cannot read registries.d directory %s", dir);
        }
        if (names.n > 1)
                qsort(names.v, names.n, sizeof(char *), name_cmp);
        int r = 0;
        for (size_t i = 0; i < names.n && r == 0; i++) {
                _cleanup_free_ char *path = ps_path_join(dir, names.v[i]);
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                if (!path) {
                        r = ps_error_set(err, ENOMEM, "out of memory");
                        break;
                }
                r = ps_read_file(path, PS_REGD_MAX_FILE, &text, &len, err);
                if (r < 0)
                        break;
                r = ps_regd_parse(c, text, len, path, err);
        }
        strv_clear(&names);
        if (r < 0)
                return r;
        *out = steal_pointer(&c);
        return 0;
}

int ps_regd_dir_for(const char *root, const char *home, char **dir, bool *user_dir, ps_error *err)
{
        *dir = NULL;
        if (user_dir)
                *user_dir = false;
        if (home && *home) {
                _cleanup_free_ char *rel = ps_path_join(home, ".config/containers/registries.d");
                _cleanup_free_ char *p = rel ? ps_root_path(root, rel) : NULL;
                if (!p)
                        return ps_error_set(err, ENOMEM, "out of memory");
                struct stat st;
                if (stat(p, &st) == 0) {
                        *dir = steal_pointer(&p);
                        if (user_dir)
                                *user_dir = true;
                        return 0;
                }
                if (errno != ENOENT && errno != ENOTDIR)
                        return ps_error_errno(err, errno, "cannot check the user's registries.d %s", p);
        }
        *dir = ps_root_path(root, "/etc/containers/registries.d");
        if (!*dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

int ps_regd_load(const char *root, const char *home, ps_regd **out, ps_error *err)
{
        _cleanup_free_ char *dir = NULL;
        bool user = false;
        *out = NULL;
        int r = ps_regd_dir_for(root, home, &dir, &user, err);
        if (r < 0)
                return r;
        r = ps_regd_load_dir(dir, out, err);
        if (r < 0)
                return r;
        (*out)->user_dir = user;
        return 0;
}

/* ------------------------------------------------------------------ */
/* Lookup.                                                               */
/* ------------------------------------------------------------------ */

void ps_regd_match_clear(ps_regd_match *m)
{
        if (!m)
                return;
        free(m->url);
        free(m->scope);
        free(m->file);
        memset(m, 0, sizeof(*m));
}

char *ps_regd_builtin_url(const char *home)
{
        char *u = NULL;
        if (!home || !*home)
                return strdup("file:///var/lib/containers/sigstore");
        _cleanup_free_ char *p = ps_path_join(home, ".local/share/containers/sigstore");
        if (!p)
                return NULL;
        if (asprintf(&u, "file://%s%s", p[0] == '/' ? "" : "/", p) < 0)
                return NULL;
        return u;
}

/* The URL of section S for reading or writing, with the key that gave it. */
static const char *section_url(const ps_regd_section *s, bool write, const char **key)
{
        if (write) {
                if (s->lookaside_staging) {
                        *key = "lookaside-staging";
                        return s->lookaside_staging;
                }
                if (s->sigstore_staging) {
                        *key = "sigstore-staging";
                        return s->sigstore_staging;
                }
        }
        if (s->lookaside) {
                *key = "lookaside";
                return s->lookaside;
        }
        if (s->sigstore) {
                *key = "sigstore";
                return s->sigstore;
        }
        return NULL;
}

static int fill_match(ps_regd_match *out, const char *url, const char *scope, const char *key,
                      const char *file, ps_error *err)
{
        out->url = strdup(url);
        out->scope = scope ? strdup(scope) : NULL;
        out->file = file ? strdup(file) : NULL;
        out->key = key;
        if (!out->url || (scope && !out->scope) || (file && !out->file)) {
                ps_regd_match_clear(out);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

static int lookup_candidates(const ps_regd *c, const strv *cands, bool write, const char *home,
                             ps_regd_match *out, ps_error *err)
{
        const char *key = NULL, *url;
        memset(out, 0, sizeof(*out));
        for (size_t i = 0; i < cands->n; i++) {
                const ps_regd_scope *s = find_scope(c, cands->v[i]);
                if (s && (url = section_url(&s->section, write, &key)))
                        return fill_match(out, url, s->name, key, s->section.file, err);
        }
        if (c->default_docker && (url = section_url(c->default_docker, write, &key)))
                return fill_match(out, url, "default-docker", key, c->default_docker->file, err);
        _cleanup_free_ char *b = ps_regd_builtin_url(home);
        if (!b)
                return ps_error_set(err, ENOMEM, "out of memory");
        out->url = steal_pointer(&b);
        out->builtin = true;
        return 0;
}

int ps_regd_lookup_ref(const ps_regd *c, const char *reference, bool write, const char *home,
                       ps_regd_match *out, ps_error *err)
{
        ps_reference r;
        strv cands = { 0 };
        memset(out, 0, sizeof(*out));
        int k = ps_reference_parse(reference, &r, err);
        if (k < 0)
                return k;
        k = ref_candidates(&r, &cands, err);
        if (k == 0)
                k = lookup_candidates(c, &cands, write, home, out, err);
        ps_reference_free(&r);
        strv_clear(&cands);
        return k;
}

int ps_regd_lookup_scope(const ps_regd *c, const char *scope, bool write, const char *home,
                         ps_regd_match *out, ps_error *err)
{
        strv cands = { 0 };
        memset(out, 0, sizeof(*out));
        if (scope_candidates(scope ? scope : "", &cands) < 0) {
                strv_clear(&cands);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        int k = lookup_candidates(c, &cands, write, home, out, err);
        strv_clear(&cands);
        return k;
}

/* ------------------------------------------------------------------ */
/* URLs.                                                                 */
/* ------------------------------------------------------------------ */

/* Length of "scheme:" (0 if URL has no scheme). */
static size_t scheme_len(const char *url)
{
        size_t i = 0;
        if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
                return 0;
        while (is_alnum(url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
                i++;
        return url[i] == ':' ? i + 1 : 0;
}

bool ps_regd_url_is_file(const char *url)
{
        return url && scheme_len(url) == 5 && !strncasecmp(url, "file:", 5);
}

/* Split URL into [0, *path_end) = scheme+authority+path and the rest
 * (?query#fragment). */
static int split_url(const char *url, size_t *path_end, ps_error *err)
{
        size_t sl = scheme_len(url);
        if (!sl)
                return ps_error_set(err, EINVAL,
                                    "signature storage URL \"%s\" has no scheme (expected file://, http:// or "
                                    "https://)", url);
        for (const char *q = url; *q; q++)
                if ((unsigned char)*q <= 0x20 || *q == 0x7f)
                        return ps_error_set(err, EINVAL,
                                            "signature storage URL \"%s\" contains a space or control character",
                                            url);
        *path_end = strcspn(url + sl, "?#") + sl;
        return 0;
}

int ps_regd_repo_url(const char *base, const char *repo_path, char **url, ps_error *err)
{
        size_t pe = 0;
        *url = NULL;
        int r = split_url(base, &pe, err);
        if (r < 0)
                return r;
        size_t keep = pe, sl = scheme_len(base);
        /* drop trailing slashes of the path, but not those of "scheme://" */
        size_t min = sl;
        if (!strncmp(base + sl, "//", 2))
                min = sl + 2 + strcspn(base + sl + 2, "/?#");
        while (keep > min && base[keep - 1] == '/')
                keep--;
        while (*repo_path == '/')
                repo_path++;
        if (asprintf(url, "%.*s/%s%s", (int)keep, base, repo_path, base + pe) < 0) {
                *url = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

int ps_regd_signature_url(const char *base, const char *repo_path, const char *digest, unsigned index,
                          char **url, ps_error *err)
{
        *url = NULL;
        if (index < 1)
                return ps_error_set(err, EINVAL, "signature index must be at least 1");
        if (digest) {
                int r = ps_reference_check_digest(digest, err);
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *tail = NULL;
        int k;
        if (digest) {
                const char *colon = strchr(digest, ':');
                k = asprintf(&tail, "%s@%.*s=%s/signature-%u", repo_path, (int)(colon - digest), digest,
                             colon + 1, index);
        } else {
                k = asprintf(&tail, "%s@sha256=<digest>/signature-%u", repo_path, index);
        }
        if (k < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        return ps_regd_repo_url(base, tail, url, err);
}

int ps_regd_sigurl(const ps_regd *c, const char *reference, const char *digest, unsigned index, bool write,
                   const char *home, char **url, ps_regd_match *match, ps_error *err)
{
        ps_reference r;
        ps_regd_match m = { 0 };
        *url = NULL;
        int k = ps_regd_lookup_ref(c, reference, write, home, &m, err);
        if (k < 0)
                return k;
        k = ps_reference_parse(reference, &r, err);
        if (k < 0) {
                ps_regd_match_clear(&m);
                return k;
        }
        k = ps_regd_signature_url(m.url, r.path, digest ? digest : r.digest, index, url, err);
        if (k < 0) {
                ps_error_wrap(err, "signature location of %s (from %s)", reference,
                              m.builtin ? "the built-in default" : m.file);
                ps_regd_match_clear(&m);
        } else if (match) {
                *match = m;
        } else {
                ps_regd_match_clear(&m);
        }
        ps_reference_free(&r);
        return k;
}

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

int ps_regd_file_url_path(const char *root, const char *url, char **path, ps_error *err)
{
        *path = NULL;
        if (!ps_regd_url_is_file(url))
                return ps_error_set(err, EINVAL, "\"%s\" is not a file:// URL", url);
        const char *p = url + 5;
        if (!strncmp(p, "//", 2)) {
                p += 2;
                size_t hl = strcspn(p, "/?#");
                if (hl && !(hl == 9 && !strncasecmp(p, "localhost", 9)))
                        return ps_error_set(err, EINVAL,
                                            "file URL \"%s\" names host \"%.*s\"; a local directory needs three "
                                            "slashes (file:///%.*s...)",
                                            url, (int)hl, p, (int)hl, p);
                p += hl;
        }
        if (*p != '/')
                return ps_error_set(err, EINVAL, "file URL \"%s\" does not name an absolute path", url);
        if (strpbrk(p, "?#"))
                return ps_error_set(err, EINVAL, "file URL \"%s\" has a query or fragment", url);
        size_t n = strlen(p);
        _cleanup_free_ char *dec = malloc(n + 1);
        if (!dec)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (p[i] == '%') {
                        if (i + 2 >= n)
                                return ps_error_set(err, EINVAL, "file URL \"%s\" has an invalid %%-escape", url);
                        int h = hexval(p[i + 1]), l = h < 0 ? -1 : hexval(p[i + 2]);
                        if (h < 0 || l < 0)
                                return ps_error_set(err, EINVAL, "file URL \"%s\" has an invalid %%-escape", url);
                        if (h == 0 && l == 0)
                                return ps_error_set(err, EINVAL, "file URL \"%s\" contains %%00", url);
                        dec[k++] = (char)(h * 16 + l);
                        i += 2;
                } else {
                        dec[k++] = p[i];
                }
        }
        dec[k] = '\0';
        *path = ps_root_path(root, dec);
        if (!*path)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

/* ------------------------------------------------------------------ */
/* registries.conf (TOML) scanner.                                       */
/* ------------------------------------------------------------------ */

typedef struct tscan {
        const char *s;
        size_t n, i;
        int line;
        const char *file;
        ps_error *err;
        const char *registry;
        /* findings */
        bool v1;
        int v1_line;
        int found_line;          /* line of a matching entry, 0 none */
        bool found_insecure;     /* ... and it has insecure = true */
} tscan;

/* one [[registry]] element (or inline table) being read */
typedef struct treg {
        char *location, *prefix;
        int insecure;            /* -1 unset, 0, 1 */
        int line;
} treg;

static void treg_clear(treg *r)
{
        free(r->location);
        free(r->prefix);
        r->location = r->prefix = NULL;
        r->insecure = -1;
        r->line = 0;
}

static int terr(tscan *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int terr(tscan *t, const char *fmt, ...)
{
        _cleanup_free_ char *m = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return ps_error_set(t->err, ENOMEM, "out of memory");
        return ps_error_set(t->err, EINVAL, "%s:%d: %s", t->file, t->line, m);
}

static char tpeek(tscan *t, size_t off)
{
        return t->i + off < t->n ? t->s[t->i + off] : '\0';
}

static bool tat(tscan *t, const char *lit)
{
        size_t l = strlen(lit);
        return t->i + l <= t->n && !memcmp(t->s + t->i, lit, l);
}

static void tskip_ws(tscan *t)
{
        while (t->i < t->n && (t->s[t->i] == ' ' || t->s[t->i] == '\t'))
                t->i++;
}

/* whitespace, newlines and comments (inside arrays) */
static void tskip_ws_nl(tscan *t)
{
        for (;;) {
                tskip_ws(t);
                if (tpeek(t, 0) == '#') {
                        while (t->i < t->n && t->s[t->i] != '\n')
                                t->i++;
                }
                if (tpeek(t, 0) == '\r' && tpeek(t, 1) == '\n')
                        t->i++;
                if (tpeek(t, 0) == '\n') {
                        t->i++;
                        t->line++;
                        continue;
                }
                return;
        }
}

/* after a value or header: optional comment, then end of line/input */
static int tend_line(tscan *t)
{
        tskip_ws(t);
        if (tpeek(t, 0) == '#')
                while (t->i < t->n && t->s[t->i] != '\n')
                        t->i++;
        if (tpeek(t, 0) == '\r' && tpeek(t, 1) == '\n')
                t->i++;
        if (t->i >= t->n)
                return 0;
        if (t->s[t->i] != '\n')
                return terr(t, "unexpected text after a value: \"%.*s\"", (int)strcspn(t->s + t->i, "\n"),
                            t->s + t->i);
        t->i++;
        t->line++;
        return 0;
}

/* append one code point as UTF-8 */
static void put_utf8(char *d, size_t *k, uint32_t cp)
{
        if (cp < 0x80) {
                d[(*k)++] = (char)cp;
        } else if (cp < 0x800) {
                d[(*k)++] = (char)(0xc0 | (cp >> 6));
                d[(*k)++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
                d[(*k)++] = (char)(0xe0 | (cp >> 12));
                d[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                d[(*k)++] = (char)(0x80 | (cp & 0x3f));
        } else {
                d[(*k)++] = (char)(0xf0 | (cp >> 18));
                d[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
                d[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                d[(*k)++] = (char)(0x80 | (cp & 0x3f));
        }
}

/* A string at t->i (any of the four kinds); *out (may be NULL to skip)
 * gets the decoded value. */
static int tstring(tscan *t, char **out)
{
        bool literal = tpeek(t, 0) == '\'';
        bool multi = literal ? tat(t, "'''") : tat(t, "\"\"\"");
        char q = literal ? '\'' : '"';
        size_t start_line = (size_t)t->line;
        t->i += multi ? 3 : 1;
        if (multi) {  /* a newline right after the opening delimiter is dropped */
                if (tpeek(t, 0) == '\r' && tpeek(t, 1) == '\n')
                        t->i++;
                if (tpeek(t, 0) == '\n') {
                        t->i++;
                        t->line++;
                }
        }
        _cleanup_free_ char *d = out ? malloc(t->n - t->i + 1) : NULL;
        size_t k = 0;
        if (out && !d)
                return ps_error_set(t->err, ENOMEM, "out of memory");
        for (;;) {
                if (t->i >= t->n)
                        return terr(t, "string opened on line %zu is not closed", start_line);
                char c = t->s[t->i];
                if (c == q && (!multi || (tpeek(t, 1) == q && tpeek(t, 2) == q))) {
                        if (!multi) {
                                t->i++;
                                break;
                        }
                        /* up to two more quotes belong to the content */
                        size_t run = 0;
                        while (tpeek(t, run) == q)
                                run++;
                        if (run > 5)
                                return terr(t, "too many quotes closing a multi-line string");
                        for (size_t e = 0; e < run - 3; e++)
                                if (d)
                                        d[k++] = q;
                        t->i += run;
                        break;
                }
                if (c == '\n') {
                        if (!multi)
                                return terr(t, "newline inside a single-line string");
                        t->line++;
                }
                if (c == '\0')
                        return terr(t, "NUL byte inside a string");
                if (c == '\\' && !literal) {
                        char e = tpeek(t, 1);
                        size_t hex = 0;
                        char v = 0;
                        switch (e) {
                        case 'b': v = '\b'; break;
                        case 't': v = '\t'; break;
                        case 'n': v = '\n'; break;
                        case 'f': v = '\f'; break;
                        case 'r': v = '\r'; break;
                        case 'e': v = 0x1b; break;
                        case '"': v = '"'; break;
                        case '\\': v = '\\'; break;
                        case 'u': hex = 4; break;
                        case 'U': hex = 8; break;
                        case 'x': hex = 2; break;
                        default:
                                if (multi && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
                                        /* line-ending backslash: skip whitespace and newlines */
                                        t->i++;
                                        while (t->i < t->n && strchr(" \t\r\n", t->s[t->i])) {
                                                if (t->s[t->i] == '\n')
                                                        t->line++;
                                                t->i++;
                                        }
                                        continue;
                                }
                                return terr(t, "invalid escape \"\\%c\" in a string", e ? e : ' ');
                        }
                        if (hex) {
                                uint32_t cp = 0;
                                for (size_t h = 0; h < hex; h++) {
                                        int x = hexval(tpeek(t, 2 + h));
                                        if (x < 0)
                                                return terr(t, "invalid \\%c escape in a string", e);
                                        cp = cp * 16 + (uint32_t)x;
                                }
                                if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                                        return terr(t, "invalid code point U+%04X in a string", cp);
                                if (d)
                                        put_utf8(d, &k, cp);
                                t->i += 2 + hex;
                                continue;
                        }
                        if (d)
                                d[k++] = v;
                        t->i += 2;
                        continue;
                }
                if (d)
                        d[k++] = c;
                t->i++;
        }
        if (out) {
                d[k] = '\0';
                *out = steal_pointer(&d);
        }
        return 0;
}

/* key path: bare or quoted parts joined with dots.  *first gets the first
 * part, *nparts the count, *last the last part (both malloc'd, may be NULL
 * to skip). */
static int tkey(tscan *t, char **first, char **last, int *nparts)
{
        int np = 0;
        _cleanup_free_ char *f = NULL;
        _cleanup_free_ char *l = NULL;
        for (;;) {
                tskip_ws(t);
                char *part = NULL;
                char c = tpeek(t, 0);
                if (c == '"' || c == '\'') {
                        if (tat(t, "\"\"\"") || tat(t, "'''"))
                                return terr(t, "multi-line strings cannot be keys");
                        int r = tstring(t, &part);
                        if (r < 0)
                                return r;
                } else {
                        size_t st = t->i;
                        while (t->i < t->n && (is_alnum(t->s[t->i]) || t->s[t->i] == '_' || t->s[t->i] == '-'))
                                t->i++;
                        if (t->i == st)
                                return terr(t, "expected a key, found \"%.*s\"", (int)strcspn(t->s + st, "\n"),
                                            t->s + st);
                        part = strndup(t->s + st, t->i - st);
                        if (!part)
                                return ps_error_set(t->err, ENOMEM, "out of memory");
                }
                if (np == 0)
                        f = part;
                else {
                        free(l);
                        l = part;
                }
                np++;
                tskip_ws(t);
                if (tpeek(t, 0) != '.')
                        break;
                t->i++;
        }
        if (np == 1) {
                l = strdup(f);
                if (!l)
                        return ps_error_set(t->err, ENOMEM, "out of memory");
        }
        if (first)
                *first = steal_pointer(&f);
        if (last)
                *last = steal_pointer(&l);
        *nparts = np;
        return 0;
}

static bool same_registry(const char *v, const char *reg)
{
        size_t n = strlen(v), rl = strlen(reg);
        while (n > 0 && v[n - 1] == '/')
                n--;
        return n == rl && !strncmp(v, reg, n);
}

static void treg_done(tscan *t, treg *r)
{
        bool hit = (r->location && same_registry(r->location, t->registry)) ||
                   (r->prefix && same_registry(r->prefix, t->registry));
        if (hit && (!t->found_line || (!t->found_insecure && r->insecure == 1))) {
                t->found_line = r->line;
                t->found_insecure = r->insecure == 1;
        }
        treg_clear(r);
}

static int tvalue(tscan *t, treg *reg, const char *key, int depth);

/* inline table { k = v, ... } ; REG (may be NULL) records location/prefix/insecure */
static int tinline_table(tscan *t, treg *reg, int depth)
{
        t->i++;  /* { */
        tskip_ws(t);
        if (tpeek(t, 0) == '}') {
                t->i++;
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *last = NULL;
                int np = 0;
                int r = tkey(t, NULL, &last, &np);
                if (r < 0)
                        return r;
                tskip_ws(t);
                if (tpeek(t, 0) != '=')
                        return terr(t, "expected \"=\" after key \"%s\"", last);
                t->i++;
                tskip_ws(t);
                r = tvalue(t, np == 1 ? reg : NULL, last, depth + 1);
                if (r < 0)
                        return r;
                tskip_ws(t);
                char c = tpeek(t, 0);
                if (c == ',') {
                        t->i++;
                        continue;
                }
                if (c == '}') {
                        t->i++;
                        return 0;
                }
                return terr(t, "expected \",\" or \"}\" in an inline table");
        }
}

/* array [ v, ... ]; when REGS, each element is an inline registry table */
static int tarray(tscan *t, bool regs, int depth)
{
        t->i++;  /* [ */
        for (;;) {
                tskip_ws_nl(t);
                if (t->i >= t->n)
                        return terr(t, "array is not closed");
                if (tpeek(t, 0) == ']') {
                        t->i++;
                        return 0;
                }
                treg one = { .insecure = -1, .line = t->line };
                int r;
                if (regs && tpeek(t, 0) == '{') {
                        r = tinline_table(t, &one, depth + 1);
                        if (r == 0)
                                treg_done(t, &one);
                        treg_clear(&one);
                } else {
                        r = tvalue(t, NULL, NULL, depth + 1);
                }
                if (r < 0)
                        return r;
                tskip_ws_nl(t);
                if (tpeek(t, 0) == ',') {
                        t->i++;
                        continue;
                }
                if (tpeek(t, 0) == ']') {
                        t->i++;
                        return 0;
                }
                return terr(t, "expected \",\" or \"]\" in an array");
        }
}

/* A value at t->i; when REG is set and KEY is location/prefix/insecure,
 * record it. */
static int tvalue(tscan *t, treg *reg, const char *key, int depth)
{
        if (depth > 64)
                return terr(t, "values nested too deeply");
        char c = tpeek(t, 0);
        if (c == '"' || c == '\'') {
                _cleanup_free_ char *v = NULL;
                int r = tstring(t, reg ? &v : NULL);
                if (r < 0)
                        return r;
                if (reg && key && !strcmp(key, "location")) {
                        free(reg->location);
                        reg->location = steal_pointer(&v);
                } else if (reg && key && !strcmp(key, "prefix")) {
                        free(reg->prefix);
                        reg->prefix = steal_pointer(&v);
                }
                return 0;
        }
        if (c == '[')
                return tarray(t, false, depth);
        if (c == '{')
                return tinline_table(t, NULL, depth);
        size_t st = t->i;
        while (t->i < t->n && !strchr(",]}#\n", t->s[t->i]))
                t->i++;
        size_t e = t->i;
        while (e > st && (t->s[e - 1] == ' ' || t->s[e - 1] == '\t' || t->s[e - 1] == '\r'))
                e--;
        if (e == st)
                return terr(t, "missing value");
        if (reg && key && !strcmp(key, "insecure")) {
                if (e - st == 4 && !memcmp(t->s + st, "true", 4))
                        reg->insecure = 1;
                else if (e - st == 5 && !memcmp(t->s + st, "false", 5))
                        reg->insecure = 0;
                else
                        return terr(t, "\"insecure\" must be true or false, found \"%.*s\"", (int)(e - st),
                                    t->s + st);
        }
        return 0;
}

typedef enum { TT_ROOT, TT_REGISTRY, TT_OTHER } ttable;

static int tscan_all(tscan *t)
{
        ttable cur = TT_ROOT;
        treg reg = { .insecure = -1 };
        bool registry_inline = false, registry_table = false;
        int r = 0;
        while (r == 0 && t->i < t->n) {
                tskip_ws(t);
                char c = tpeek(t, 0);
                if (c == '\n' || c == '#' || c == '\r' || c == '\0') {
                        if (c == '\0' && t->i < t->n)
                                r = terr(t, "NUL byte in the file");
                        else
                                r = tend_line(t);
                        continue;
                }
                if (c == '[') {
                        bool arr = tpeek(t, 1) == '[';
                        int hline = t->line;
                        t->i += arr ? 2 : 1;
                        _cleanup_free_ char *first = NULL;
                        int np = 0;
                        r = tkey(t, &first, NULL, &np);
                        if (r < 0)
                                break;
                        tskip_ws(t);
                        if (!tat(t, arr ? "]]" : "]")) {
                                r = terr(t, "table header is not closed with \"%s\"", arr ? "]]" : "]");
                                break;
                        }
                        t->i += arr ? 2 : 1;
                        if (cur == TT_REGISTRY)
                                treg_done(t, &reg);
                        if (!strcmp(first, "registries")) {
                                if (!t->v1) {
                                        t->v1 = true;
                                        t->v1_line = hline;
                                }
                                cur = TT_OTHER;
                        } else if (!strcmp(first, "registry") && np == 1) {
                                if (!arr) {
                                        r = terr(t, "[registry] must be an array of tables: [[registry]]");
                                        break;
                                }
                                if (registry_inline) {
                                        r = terr(t, "[[registry]] after an inline \"registry = [...]\" array");
                                        break;
                                }
                                registry_table = true;
                                cur = TT_REGISTRY;
                                reg.line = hline;
                        } else {
                                cur = TT_OTHER;
                        }
                        r = tend_line(t);
                        continue;
                }
                /* key = value */
                _cleanup_free_ char *first = NULL;
                _cleanup_free_ char *last = NULL;
                int np = 0;
                r = tkey(t, &first, &last, &np);
                if (r < 0)
                        break;
                tskip_ws(t);
                if (tpeek(t, 0) != '=') {
                        r = terr(t, "expected \"=\" after key \"%s\"", first);
                        break;
                }
                t->i++;
                tskip_ws(t);
                if (cur == TT_ROOT && !strcmp(first, "registries")) {
                        if (!t->v1) {
                                t->v1 = true;
                                t->v1_line = t->line;
                        }
                }
                if (cur == TT_ROOT && np == 1 && !strcmp(first, "registry")) {
                        if (tpeek(t, 0) != '[') {
                                r = terr(t, "\"registry\" must be an array of tables");
                                break;
                        }
                        if (registry_table) {
                                r = terr(t, "inline \"registry = [...]\" after [[registry]] tables");
                                break;
                        }
                        registry_inline = true;
                        r = tarray(t, true, 0);
                } else {
                        r = tvalue(t, cur == TT_REGISTRY && np == 1 ? &reg : NULL, last, 0);
                }
                if (r < 0)
                        break;
                r = tend_line(t);
        }
        if (r == 0 && cur == TT_REGISTRY)
                treg_done(t, &reg);
        treg_clear(&reg);
        if (r == 0 && registry_inline && !t->found_line)
                return ps_error_set(t->err, EINVAL,
                                    "%s lists registries in an inline \"registry = [...]\" array; a [[registry]] "
                                    "table cannot be appended to it: add {location = \"%s\", insecure = true} "
                                    "there by hand",
                                    t->file, t->registry);
        return r;
}

int ps_regconf_add_insecure(const char *text, size_t len, const char *file, const char *registry,
                            char **out, size_t *out_len, ps_error *err)
{
        *out = NULL;
        if (out_len)
                *out_len = 0;
        if (!file)
                file = "registries.conf";
        if (!registry || !ps_reference_valid_domain(registry, strlen(registry), PS_REF_ALLOW_IPV6))
                return ps_error_set(err, EINVAL, "invalid registry \"%s\": expected host[:port]",
                                    registry ? registry : "(null)");
        if (!text)
                len = 0;
        if (len && memchr(text, '\0', len))
                return ps_error_set(err, EINVAL, "%s contains a NUL byte; not a TOML text file", file);
        /* the scanner wants a NUL-terminated text */
        _cleanup_free_ char *copy = malloc(len + 1);
        if (!copy)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (len)
                memcpy(copy, text, len);
        copy[len] = '\0';
        tscan t = { .s = copy, .n = len, .line = 1, .file = file, .err = err, .registry = registry };
        int r = tscan_all(&t);
        if (r < 0)
                return r;
        if (t.v1)
                return ps_error_set(err, EINVAL,
                                    "%s:%d: the file uses the version 1 format ([registries.search], "
                                    "[registries.insecure], [registries.block]); adding a version 2 [[registry]] "
                                    "table would mix both, which containers-registries.conf(5) forbids; convert "
                                    "the file to version 2 first",
                                    file, t.v1_line);
        if (t.found_line) {
                if (t.found_insecure)
                        return 0;
                return ps_error_set(err, EEXIST,
                                    "%s:%d: registry \"%s\" is already configured without insecure = true; a second "
                                    "entry would define it twice with conflicting settings, which containers/image "
                                    "rejects; set insecure = true there",
                                    file, t.found_line, registry);
        }
        static const char fmt[] = "%s%s[[registry]]\nlocation = \"%s\"\ninsecure = true\n";
        const char *nl = "", *blank = "";
        if (len > 0) {
                if (text[len - 1] != '\n')
                        nl = "\n";
                if (!(len >= 2 && text[len - 1] == '\n' && text[len - 2] == '\n'))
                        blank = "\n";
        }
        size_t need = len + strlen(nl) + strlen(blank) + sizeof(fmt) + strlen(registry);
        char *o = malloc(need);
        if (!o)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (len)
                memcpy(o, text, len);
        int k = snprintf(o + len, need - len, fmt, nl, blank, registry);
        if (k < 0 || (size_t)k >= need - len) {
                free(o);
                return ps_error_set(err, EINVAL, "cannot build the registries.conf text");
        }
        *out = o;
        if (out_len)
                *out_len = len + (size_t)k;
        return 1;
}
