/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker Registry HTTP API v2 client (see registry.h for the design). */
#include "registry.h"
#include "cleanup.h"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#define DEF_CONNECT_TIMEOUT_MS 15000L
#define DEF_REQUEST_TIMEOUT_MS 60000L
#define DEF_STALL_S 30L
#define DEF_TRIES 5
#define DEF_BACKOFF_MS 200L
#define DEF_BACKOFF_MAX_MS 5000L
#define DEF_CONCURRENCY 4u
#define SMALL_BODY_MAX (1u * 1024 * 1024)    /* error bodies, tokens */
#define LIST_BODY_MAX (16u * 1024 * 1024)    /* tag lists, catalog pages */
#define MAX_PAGES 10000
#define RETRY_AFTER_MAX_S 60L

/* ---- small helpers ---------------------------------------------------- */

struct membuf {
        char *data;
        size_t len, cap, max;
        bool overflow;
};

static void membuf_free(struct membuf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        b->overflow = false;
}

/* Appends; returns -EFBIG beyond b->max, -ENOMEM. Always NUL-terminated. */
static int membuf_append(struct membuf *b, const void *p, size_t n)
{
        if (n > b->max - b->len) {
                b->overflow = true;
                return -EFBIG;
        }
        if (b->len + n + 1 > b->cap) {
                size_t ncap = b->cap ? b->cap : 1024;
                while (ncap < b->len + n + 1)
                        ncap *= 2;
                char *nd = realloc(b->data, ncap);
                if (!nd)
                        return -ENOMEM;
                b->data = nd;
                b->cap = ncap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

/* Replace control characters of outside text so that it cannot steer a
 * terminal; in place. */
static void sanitize(char *s)
{
        for (unsigned char *p = (unsigned char *)s; p && *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        *p = '?';
}

static int strv_push(char ***v, size_t *n, const char *s)
{
        char *d = strdup(s);
        if (!d)
                return -ENOMEM;
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv) {
                free(d);
                return -ENOMEM;
        }
        nv[(*n)++] = d;
        nv[*n] = NULL;
        *v = nv;
        return 0;
}

static void sleep_ms(long ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static struct timespec now_mono(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t;
}

/* ---- names ------------------------------------------------------------ */

static bool lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool ps_registry_valid_repo(const char *s)
{
        if (!s || !*s || strlen(s) > 255)
                return false;
        const char *p = s;
        for (;;) {
                if (!lower_alnum(*p))
                        return false;
                while (lower_alnum(*p))
                        p++;
                for (;;) {
                        if (*p == '.')
                                p++;
                        else if (*p == '_')
                                p += p[1] == '_' ? 2 : 1;
                        else if (*p == '-')
                                while (*p == '-')
                                        p++;
                        else
                                break;
                        if (!lower_alnum(*p))
                                return false;
                        while (lower_alnum(*p))
                                p++;
                }
                if (*p == '\0')
                        return true;
                if (*p != '/')
                        return false;
                p++;
        }
}

bool ps_registry_valid_tag(const char *s)
{
        if (!s || !*s || strlen(s) > 128)
                return false;
        if (!(isalnum((unsigned char)*s) || *s == '_'))
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

static bool all_lower_hex(const char *s, size_t n)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

bool ps_registry_valid_digest(const char *s)
{
        if (!s)
                return false;
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || strlen(s) > 1024)
                return false;
        /* algorithm: [a-z0-9]+([+._-][a-z0-9]+)* */
        const char *p = s;
        for (;;) {
                if (!lower_alnum(*p))
                        return false;
                while (lower_alnum(*p))
                        p++;
                if (p == colon)
                        break;
                if (!strchr("+._-", *p))
                        return false;
                p++;
        }
        const char *enc = colon + 1;
        if (!*enc)
                return false;
        for (const char *q = enc; *q; q++)
                if (!(isalnum((unsigned char)*q) || *q == '=' || *q == '_' || *q == '-'))
                        return false;
        size_t alen = (size_t)(colon - s);
        if (alen == 6 && strncmp(s, "sha256", 6) == 0)
                return all_lower_hex(enc, 64);
        if (alen == 6 && strncmp(s, "sha512", 6) == 0)
                return all_lower_hex(enc, 128);
        return true;
}

bool ps_registry_valid_host(const char *s)
{
        if (!s || !*s || strlen(s) > 300)
                return false;
        const char *p = s;
        if (*p == '[') {
                p++;
                const char *e = strchr(p, ']');
                if (!e || e == p)
                        return false;
                for (; p < e; p++)
                        if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
                                return false;
                p++;
        } else {
                const char *start = p;
                while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
                        p++;
                if (p == start || *start == '-' || *start == '.')
                        return false;
        }
        if (*p == '\0')
                return true;
        if (*p != ':')
                return false;
        p++;
        if (!*p || strlen(p) > 5)
                return false;
        long port = 0;
        for (; *p; p++) {
                if (!isdigit((unsigned char)*p))
                        return false;
                port = port * 10 + (*p - '0');
        }
        return port >= 1 && port <= 65535;
}

/* ---- digests ---------------------------------------------------------- */

struct hasher {
        EVP_MD_CTX *ctx;
        const char *alg;
};

static const EVP_MD *md_for(const char *alg, size_t alen, const char **name)
{
        if (alen == 6 && strncmp(alg, "sha256", 6) == 0) {
                *name = "sha256";
                return EVP_sha256();
        }
        if (alen == 6 && strncmp(alg, "sha512", 6) == 0) {
                *name = "sha512";
                return EVP_sha512();
        }
        return NULL;
}

/* 0, -ENOTSUP for an unknown algorithm, -ENOMEM */
static int hasher_init(struct hasher *h, const char *alg, size_t alen)
{
        h->ctx = NULL;
        const EVP_MD *md = md_for(alg, alen, &h->alg);
        if (!md)
                return -ENOTSUP;
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
                EVP_MD_CTX_free(h->ctx);
                h->ctx = NULL;
                return -ENOMEM;
        }
        return 0;
}

static void hasher_update(struct hasher *h, const void *p, size_t n)
{
        if (h->ctx && n)
                EVP_DigestUpdate(h->ctx, p, n);
}

static char *hasher_final(struct hasher *h)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!h->ctx || EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1)
                return NULL;
        size_t al = strlen(h->alg);
        char *out = malloc(al + 1 + 2 * (size_t)mdlen + 1);
        if (!out)
                return NULL;
        memcpy(out, h->alg, al);
        out[al] = ':';
        for (unsigned int i = 0; i < mdlen; i++)
                snprintf(out + al + 1 + 2 * i, 3, "%02x", md[i]);
        return out;
}

static void hasher_free(struct hasher *h)
{
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
}

char *ps_registry_digest_of(const char *alg, const void *data, size_t len)
{
        struct hasher h;
        if (!alg)
                alg = "sha256";
        if (hasher_init(&h, alg, strlen(alg)) < 0)
                return NULL;
        hasher_update(&h, data, len);
        char *d = hasher_final(&h);
        hasher_free(&h);
        return d;
}

/* Digest of DATA with the algorithm of REF_DIGEST ("alg:…"). */
static char *digest_like(const char *ref_digest, const void *data, size_t len)
{
        const char *c = strchr(ref_digest, ':');
        struct hasher h;
        if (!c || hasher_init(&h, ref_digest, (size_t)(c - ref_digest)) < 0)
                return NULL;
        hasher_update(&h, data, len);
        char *d = hasher_final(&h);
        hasher_free(&h);
        return d;
}

/* ---- pure parsers ----------------------------------------------------- */

static bool tchar(char c)
{
        return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+.^_`|~-", c));
}

void ps_auth_challenge_free(ps_auth_challenge *c)
{
        if (!c)
                return;
        free(c->scheme);
        free(c->realm);
        free(c->service);
        free(c->scope);
        free(c->error);
        memset(c, 0, sizeof(*c));
}

int ps_registry_parse_challenge(const char *v, ps_auth_challenge *out, ps_error *err)
{
        memset(out, 0, sizeof(*out));
        if (!v)
                return ps_error_set(err, EINVAL, "empty WWW-Authenticate header");
        const char *p = v;
        while (*p == ' ' || *p == '\t')
                p++;
        const char *s = p;
        while (tchar(*p))
                p++;
        if (p == s)
                return ps_error_set(err, EINVAL, "WWW-Authenticate header without a scheme");
        out->scheme = strndup(s, (size_t)(p - s));
        if (!out->scheme)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (;;) {
                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        break;
                const char *k = p;
                while (tchar(*p) && *p != '=')
                        p++;
                size_t klen = (size_t)(p - k);
                if (!klen)
                        goto bad;
                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p != '=')
                        break;          /* the next challenge starts here */
                p++;
                while (*p == ' ' || *p == '\t')
                        p++;
                struct membuf val = { .max = 64 * 1024 };
                int r = 0;
                if (*p == '"') {
                        p++;
                        while (*p && *p != '"' && r >= 0) {
                                if (*p == '\\' && p[1])
                                        p++;
                                r = membuf_append(&val, p, 1);
                                p++;
                        }
                        if (*p != '"') {
                                membuf_free(&val);
                                goto bad;
                        }
                        p++;
                } else {
                        const char *vs = p;
                        while (*p && *p != ',' && *p != ' ' && *p != '\t')
                                p++;
                        r = membuf_append(&val, vs, (size_t)(p - vs));
                }
                if (r >= 0 && !val.data)
                        r = membuf_append(&val, "", 0);
                if (r < 0) {
                        membuf_free(&val);
                        ps_auth_challenge_free(out);
                        return ps_error_set(err, -r, "WWW-Authenticate parameter too long");
                }
                char **slot = NULL;
                if (klen == 5 && strncasecmp(k, "realm", 5) == 0)
                        slot = &out->realm;
                else if (klen == 7 && strncasecmp(k, "service", 7) == 0)
                        slot = &out->service;
                else if (klen == 5 && strncasecmp(k, "scope", 5) == 0)
                        slot = &out->scope;
                else if (klen == 5 && strncasecmp(k, "error", 5) == 0)
                        slot = &out->error;
                if (slot) {
                        free(*slot);
                        *slot = val.data;
                } else {
                        free(val.data);
                }
        }
        return 0;
bad:
        ps_auth_challenge_free(out);
        return ps_error_set(err, EINVAL, "malformed WWW-Authenticate header \"%.200s\"", v);
}

char *ps_registry_error_text(const char *body, size_t len)
{
        if (!body || !len)
                return NULL;
        json_error_t je;
        json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                return NULL;
        json_t *errs = json_object_get(j, "errors");
        struct membuf out = { .max = 8192 };
        size_t i;
        json_t *e;
        bool any = false;
        json_array_foreach(errs, i, e) {
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *msg = json_string_value(json_object_get(e, "message"));
                json_t *det = json_object_get(e, "detail");
                if (!code && !msg)
                        continue;
                if (any)
                        membuf_append(&out, "; ", 2);
                any = true;
                if (code)
                        membuf_append(&out, code, strlen(code));
                if (code && msg)
                        membuf_append(&out, ": ", 2);
                if (msg)
                        membuf_append(&out, msg, strlen(msg));
                char *dtext = NULL;
                if (json_is_string(det) && json_string_length(det) > 0)
                        dtext = strdup(json_string_value(det));
                else if (json_is_object(det) || json_is_array(det))
                        dtext = (json_is_object(det) && json_object_size(det) == 0) ||
                                        (json_is_array(det) && json_array_size(det) == 0)
                                ? NULL
                                : json_dumps(det, JSON_COMPACT | JSON_SORT_KEYS);
                if (dtext) {
                        size_t dl = strlen(dtext);
                        if (dl > 300)
                                dl = 300;
                        membuf_append(&out, " (", 2);
                        membuf_append(&out, dtext, dl);
                        membuf_append(&out, ")", 1);
                        free(dtext);
                }
        }
        json_decref(j);
        if (!any || !out.data) {
                membuf_free(&out);
                return NULL;
        }
        sanitize(out.data);
        return out.data;
}

char *ps_registry_resolve_url(const char *base, const char *location)
{
        if (!location || !*location)
                return NULL;
        for (const char *p = location; *p; p++)
                if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                        return NULL;
        CURLU *u = curl_url();
        if (!u)
                return NULL;
        char *res = NULL, *scheme = NULL, *out = NULL;
        if (base && curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
                goto done;
        if (curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK)
                goto done;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
                goto done;
        if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
                goto done;
        if (curl_url_get(u, CURLUPART_URL, &res, 0) != CURLUE_OK)
                goto done;
        out = strdup(res);
done:
        curl_free(res);
        curl_free(scheme);
        curl_url_cleanup(u);
        return out;
}

char *ps_registry_url_add_query(const char *url, const char *key, const char *value)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t ulen = strcspn(url, "#");
        const char *q = memchr(url, '?', ulen);
        const char *sep = !q ? "?" : (url[ulen - 1] == '?' || url[ulen - 1] == '&') ? "" : "&";
        size_t vl = strlen(value);
        _cleanup_free_ char *enc = malloc(3 * vl + 1);
        if (!enc)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < vl; i++) {
                unsigned char c = (unsigned char)value[i];
                if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
                        enc[o++] = (char)c;
                } else {
                        enc[o++] = '%';
                        enc[o++] = hex[c >> 4];
                        enc[o++] = hex[c & 15];
                }
        }
        enc[o] = '\0';
        char *out = NULL;
        if (asprintf(&out, "%.*s%s%s=%s", (int)ulen, url, sep, key, enc) < 0)
                return NULL;
        return out;
}

char *ps_registry_link_next(const char *link)
{
        const char *p = link;
        while (p && *p) {
                const char *lt = strchr(p, '<');
                if (!lt)
                        return NULL;
                const char *gt = strchr(lt, '>');
                if (!gt)
                        return NULL;
                /* parameters run to the next ',' outside quotes */
                const char *q = gt + 1;
                bool inq = false;
                while (*q && (inq || *q != ',')) {
                        if (*q == '"')
                                inq = !inq;
                        q++;
                }
                /* look for rel=next / rel="… next …" */
                for (const char *r = gt + 1; r < q; r++) {
                        if (strncasecmp(r, "rel", 3) != 0)
                                continue;
                        const char *v = r + 3;
                        while (*v == ' ')
                                v++;
                        if (*v != '=')
                                continue;
                        v++;
                        while (*v == ' ')
                                v++;
                        bool quoted = *v == '"';
                        if (quoted)
                                v++;
                        while (v < q) {
                                const char *w = v;
                                while (v < q && *v != ' ' && *v != '"' && *v != ';' && (quoted || *v != ','))
                                        v++;
                                if (v - w == 4 && strncasecmp(w, "next", 4) == 0)
                                        return strndup(lt + 1, (size_t)(gt - lt - 1));
                                if (!quoted || *v != ' ')
                                        break;
                                v++;
                        }
                }
                p = *q ? q + 1 : q;
        }
        return NULL;
}

static int parse_u64(const char **pp, int64_t *out)
{
        const char *p = *pp;
        int64_t v = 0;
        if (!isdigit((unsigned char)*p))
                return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
                if (v > (INT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (*p - '0');
        }
        *pp = p;
        *out = v;
        return 0;
}

int ps_registry_parse_range(const char *value, int64_t *next)
{
        if (!value)
                return -EINVAL;
        const char *p = value;
        while (*p == ' ')
                p++;
        if (strncasecmp(p, "bytes=", 6) == 0)
                p += 6;
        else if (strncasecmp(p, "bytes ", 6) == 0)
                p += 6;
        int64_t a, b;
        if (parse_u64(&p, &a) < 0 || *p++ != '-' || parse_u64(&p, &b) < 0)
                return -EINVAL;
        while (*p == ' ')
                p++;
        if (*p || b < a || a != 0)
                return -EINVAL;
        if (b == 0) {
                *next = 0;
                return 1;
        }
        *next = b + 1;
        return 0;
}

long ps_registry_backoff_ms(const ps_registry_opts *o, int failure)
{
        long base = o && o->backoff_ms > 0 ? o->backoff_ms : DEF_BACKOFF_MS;
        long max = o && o->backoff_max_ms > 0 ? o->backoff_max_ms : DEF_BACKOFF_MAX_MS;
        if (failure < 1)
                failure = 1;
        long d = base;
        for (int i = 1; i < failure && d < max; i++)
                d = d > max / 2 ? max : d * 2;
        return d < max ? d : max;
}

bool ps_registry_retryable_status(long status)
{
        return status == 429 || status == 502 || status == 503 || status == 504;
}

/* ---- the client object ------------------------------------------------ */

struct token {
        struct token *next;
        char *scope;
        char *value;
        struct timespec expires;
};

struct conn {
        ps_registry *r;
        CURL *h;
        char errbuf[CURL_ERROR_SIZE];
};

struct ps_registry {
        char *host;
        char *base;                     /* "http://host" or "https://host" */
        ps_registry_opts o;             /* with defaults filled; strings below */
        char *ca_file, *username, *password, *user_agent;
        pthread_mutex_t lock;           /* guards: use_basic, realm, service, tokens, stats */
        bool use_basic;
        char *realm, *service;
        struct token *tokens;
        ps_registry_stats stats;
        pthread_mutex_t cb_lock;        /* serialises progress callbacks */
        pthread_mutex_t fetch_lock;     /* one token fetch at a time (workers share tokens) */
        struct conn *main;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
        global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int ps_registry_global_init(ps_error *err)
{
        pthread_once(&global_once, global_init_once);
        if (global_rc != CURLE_OK)
                return ps_error_set(err, EIO, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
        return 0;
}

static void conn_free(struct conn *c)
{
        if (!c)
                return;
        if (c->h)
                curl_easy_cleanup(c->h);
        free(c);
}

static struct conn *conn_new(ps_registry *r)
{
        struct conn *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->r = r;
        c->h = curl_easy_init();
        if (!c->h) {
                free(c);
                return NULL;
        }
        return c;
}

static char *dup_opt(const char *s, bool *oom)
{
        if (!s)
                return NULL;
        char *d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

int ps_registry_new(const char *host, const ps_registry_opts *opts, ps_registry **out, ps_error *err)
{
        *out = NULL;
        int r = ps_registry_global_init(err);
        if (r < 0)
                return r;
        if (!ps_registry_valid_host(host))
                return ps_error_set(err, EINVAL, "invalid registry host \"%s\": expected host[:port]",
                                    host ? host : "");
        ps_registry *g = calloc(1, sizeof(*g));
        if (!g)
                return ps_error_set(err, ENOMEM, "out of memory");
        static const ps_registry_opts none = { 0 };
        if (!opts)
                opts = &none;
        g->o = *opts;
        if (g->o.connect_timeout_ms <= 0)
                g->o.connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
        if (g->o.request_timeout_ms <= 0)
                g->o.request_timeout_ms = DEF_REQUEST_TIMEOUT_MS;
        if (g->o.stall_timeout_s <= 0)
                g->o.stall_timeout_s = DEF_STALL_S;
        if (g->o.tries <= 0)
                g->o.tries = DEF_TRIES;
        if (g->o.backoff_ms <= 0)
                g->o.backoff_ms = DEF_BACKOFF_MS;
        if (g->o.backoff_max_ms <= 0)
                g->o.backoff_max_ms = DEF_BACKOFF_MAX_MS;
        bool oom = false;
        g->host = dup_opt(host, &oom);
        g->ca_file = dup_opt(opts->ca_file, &oom);
        g->username = dup_opt(opts->username, &oom);
        g->password = dup_opt(opts->password ? opts->password : (opts->username ? "" : NULL), &oom);
        g->user_agent = dup_opt(opts->user_agent ? opts->user_agent : "podsec/" PODSEC_VERSION, &oom);
        g->o.ca_file = g->ca_file;
        g->o.username = g->username;
        g->o.password = g->password;
        g->o.user_agent = g->user_agent;
        if (!oom && asprintf(&g->base, "%s://%s", opts->insecure ? "http" : "https", host) < 0) {
                g->base = NULL;
                oom = true;
        }
        pthread_mutex_init(&g->lock, NULL);
        pthread_mutex_init(&g->cb_lock, NULL);
        pthread_mutex_init(&g->fetch_lock, NULL);
        if (!oom && !(g->main = conn_new(g)))
                oom = true;
        if (oom) {
                ps_registry_free(g);
                return ps_error_set(err, ENOMEM, "out of memory creating the registry client");
        }
        *out = g;
        return 0;
}

static void tokens_free(struct token *t)
{
        while (t) {
                struct token *n = t->next;
                free(t->scope);
                if (t->value)
                        explicit_bzero(t->value, strlen(t->value));
                free(t->value);
                free(t);
                t = n;
        }
}

void ps_registry_free(ps_registry *r)
{
        if (!r)
                return;
        conn_free(r->main);
        tokens_free(r->tokens);
        free(r->host);
        free(r->base);
        free(r->ca_file);
        free(r->username);
        if (r->password) {
                explicit_bzero(r->password, strlen(r->password));
                free(r->password);
        }
        free(r->user_agent);
        free(r->realm);
        free(r->service);
        pthread_mutex_destroy(&r->lock);
        pthread_mutex_destroy(&r->cb_lock);
        pthread_mutex_destroy(&r->fetch_lock);
        free(r);
}

const char *ps_registry_host(const ps_registry *r)
{
        return r->host;
}

void ps_registry_get_stats(ps_registry *r, ps_registry_stats *out)
{
        pthread_mutex_lock(&r->lock);
        *out = r->stats;
        pthread_mutex_unlock(&r->lock);
}

#define STAT_ADD(r, field, n)                          \
        do {                                           \
                pthread_mutex_lock(&(r)->lock);        \
                (r)->stats.field += (n);               \
                pthread_mutex_unlock(&(r)->lock);      \
        } while (0)

static bool ts_before(struct timespec a, struct timespec b)
{
        return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* A copy of the valid cached token for SCOPE, or NULL. */
static char *token_get(ps_registry *r, const char *scope)
{
        char *v = NULL;
        struct timespec now = now_mono();
        pthread_mutex_lock(&r->lock);
        for (struct token *t = r->tokens; t; t = t->next)
                if (strcmp(t->scope, scope) == 0 && ts_before(now, t->expires)) {
                        v = strdup(t->value);
                        break;
                }
        pthread_mutex_unlock(&r->lock);
        return v;
}

static int token_put(ps_registry *r, const char *scope, const char *value, long expires_in)
{
        struct token *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->scope = strdup(scope);
        t->value = strdup(value);
        if (!t->scope || !t->value) {
                tokens_free(t);
                return -ENOMEM;
        }
        /* renew a little before the server's expiry */
        long life = expires_in > 20 ? expires_in - 10 : expires_in > 1 ? expires_in - 1 : 1;
        t->expires = now_mono();
        t->expires.tv_sec += life;
        pthread_mutex_lock(&r->lock);
        for (struct token **pp = &r->tokens; *pp; pp = &(*pp)->next)
                if (strcmp((*pp)->scope, scope) == 0) {
                        struct token *old = *pp;
                        *pp = old->next;
                        old->next = NULL;
                        tokens_free(old);
                        break;
                }
        t->next = r->tokens;
        r->tokens = t;
        pthread_mutex_unlock(&r->lock);
        return 0;
}

static void token_drop(ps_registry *r, const char *scope)
{
        pthread_mutex_lock(&r->lock);
        for (struct token **pp = &r->tokens; *pp; pp = &(*pp)->next)
                if (strcmp((*pp)->scope, scope) == 0) {
                        struct token *old = *pp;
                        *pp = old->next;
                        old->next = NULL;
                        tokens_free(old);
                        break;
                }
        pthread_mutex_unlock(&r->lock);
}

/* ---- one HTTP exchange ------------------------------------------------ */

/* A request body: bytes [start, end) of BODY. */
struct src {
        const ps_registry_body *body;
        int64_t start, end, pos;
        const char *mem;                /* when set: bytes from mem_start on are here */
        int64_t mem_start;
        int64_t *stream_pos;            /* PS_BODY_STREAM read directly: its position */
        int err;                        /* errno of a failed read */
};

struct resp {
        long status;
        char *reason;
        char *location, *digest, *content_type, *range, *content_range, *link;
        char **auth;
        size_t nauth;
        int64_t content_length;
        long retry_after;
        struct membuf body;
};

struct retry {
        int failures;                   /* retryable failures in a row */
};

typedef int (*sink_fn)(void *ctx, long status, const void *buf, size_t n);

struct req {
        const char *method;
        const char *url;
        const char *scope;              /* auth scope(s), space-separated; NULL: none */
        const char *const *headers;     /* extra header lines, NULL-terminated */
        struct src *src;
        size_t body_max;
        sink_fn sink;                   /* receives 200/206 bodies */
        void *sink_ctx;
        bool follow;                    /* follow redirects (blob downloads) */
        bool blob;                      /* no overall timeout */
        bool inline_retry;              /* repeat by itself; else return 1 after the backoff */
        bool no_auth;                   /* token requests: never answer a challenge */
        bool send_basic;                /* token requests: send the credentials */
        struct retry *retry;
        void (*progress)(void *ctx, int64_t up_now);
        void *progress_ctx;
        const char *what;               /* message prefix override ("token server REALM") */
};

struct xfer {
        struct conn *c;
        struct req *q;
        struct resp *s;
        int sink_err;
        bool too_big;
        bool sent_basic, sent_token;
};

static void resp_clear_headers(struct resp *s)
{
        free(s->reason);
        free(s->location);
        free(s->digest);
        free(s->content_type);
        free(s->range);
        free(s->content_range);
        free(s->link);
        for (size_t i = 0; i < s->nauth; i++)
                free(s->auth[i]);
        free(s->auth);
        s->reason = s->location = s->digest = s->content_type = s->range = NULL;
        s->content_range = s->link = NULL;
        s->auth = NULL;
        s->nauth = 0;
        s->status = 0;
        s->content_length = -1;
        s->retry_after = -1;
}

static void resp_free(struct resp *s)
{
        resp_clear_headers(s);
        membuf_free(&s->body);
}

static void resp_init(struct resp *s, size_t max)
{
        memset(s, 0, sizeof(*s));
        s->content_length = -1;
        s->retry_after = -1;
        s->body.max = max ? max : SMALL_BODY_MAX;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
        struct xfer *x = ud;
        struct resp *s = x->s;
        size_t n = size * nitems;
        size_t l = n;
        while (l && (buf[l - 1] == '\r' || buf[l - 1] == '\n'))
                l--;
        if (l >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                /* a new response (after a redirect or an interim one) */
                resp_clear_headers(s);
                s->body.len = 0;
                if (s->body.data)
                        s->body.data[0] = '\0';
                const char *p = memchr(buf, ' ', l);
                if (p) {
                        p++;
                        long st = 0;
                        while (p < buf + l && isdigit((unsigned char)*p))
                                st = st * 10 + (*p++ - '0');
                        s->status = st;
                        while (p < buf + l && *p == ' ')
                                p++;
                        if (p < buf + l) {
                                s->reason = strndup(p, (size_t)(buf + l - p));
                                sanitize(s->reason);
                        }
                }
                return n;
        }
        const char *colon = memchr(buf, ':', l);
        if (!colon)
                return n;
        size_t nl = (size_t)(colon - buf);
        const char *v = colon + 1;
        while (v < buf + l && (*v == ' ' || *v == '\t'))
                v++;
        size_t vl = (size_t)(buf + l - v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
        char **slot = NULL;
#define HDR(name) (nl == sizeof(name) - 1 && strncasecmp(buf, name, nl) == 0)
        if (HDR("Location"))
                slot = &s->location;
        else if (HDR("Docker-Content-Digest"))
                slot = &s->digest;
        else if (HDR("Content-Type"))
                slot = &s->content_type;
        else if (HDR("Range"))
                slot = &s->range;
        else if (HDR("Content-Range"))
                slot = &s->content_range;
        else if (HDR("Link"))
                slot = &s->link;
        else if (HDR("WWW-Authenticate")) {
                char **na = realloc(s->auth, (s->nauth + 1) * sizeof(char *));
                if (!na)
                        return 0;
                s->auth = na;
                if (!(s->auth[s->nauth] = strndup(v, vl)))
                        return 0;
                s->nauth++;
        } else if (HDR("Content-Length")) {
                int64_t cl;
                const char *p = v;
                if (parse_u64(&p, &cl) == 0)
                        s->content_length = cl;
        } else if (HDR("Retry-After")) {
                int64_t ra;
                const char *p = v;
                if (parse_u64(&p, &ra) == 0 && p == v + vl)
                        s->retry_after = ra > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (long)ra;
        }
#undef HDR
        if (slot) {
                free(*slot);
                if (!(*slot = strndup(v, vl)))
                        return 0;
                sanitize(*slot);
        }
        return n;
}

static size_t write_cb(char *buf, size_t size, size_t nitems, void *ud)
{
        struct xfer *x = ud;
        size_t n = size * nitems;
        long st = x->s->status;
        if (x->q->sink && (st == 200 || st == 206)) {
                int r = x->q->sink(x->q->sink_ctx, st, buf, n);
                if (r < 0) {
                        x->sink_err = r;
                        return 0;
                }
                return n;
        }
        if (membuf_append(&x->s->body, buf, n) < 0) {
                if (x->s->body.overflow && !(st >= 200 && st < 300))
                        return n;       /* keep the start of an error body */
                x->too_big = true;
                return 0;
        }
        return n;
}

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud)
{
        struct src *s = ud;
        size_t n = size * nitems;
        int64_t left = s->end - s->pos;
        if (left <= 0)
                return 0;
        if ((int64_t)n > left)
                n = (size_t)left;
        const ps_registry_body *b = s->body;
        if (s->mem) {
                memcpy(dst, s->mem + (s->pos - s->mem_start), n);
        } else if (b->kind == PS_BODY_BUFFER) {
                memcpy(dst, (const char *)b->data + s->pos, n);
        } else if (b->kind == PS_BODY_FD) {
                ssize_t r;
                do
                        r = pread(b->fd, dst, n, b->offset + (off_t)s->pos);
                while (r < 0 && errno == EINTR);
                if (r < 0) {
                        s->err = errno;
                        return CURL_READFUNC_ABORT;
                }
                if (r == 0) {
                        s->err = ENODATA;
                        return CURL_READFUNC_ABORT;
                }
                n = (size_t)r;
        } else {
                if (!s->stream_pos || *s->stream_pos != s->pos) {
                        s->err = ESPIPE;
                        return CURL_READFUNC_ABORT;
                }
                size_t r = b->read(b->ctx, dst, n);
                if (r == PS_REGISTRY_READ_ERROR || r > n) {
                        s->err = EIO;
                        return CURL_READFUNC_ABORT;
                }
                if (r == 0) {
                        s->err = ENODATA;
                        return CURL_READFUNC_ABORT;
                }
                *s->stream_pos += (int64_t)r;
                n = r;
        }
        s->pos += (int64_t)n;
        return n;
}

static int seek_cb(void *ud, curl_off_t off, int origin)
{
        struct src *s = ud;
        if (origin != SEEK_SET || !(s->mem || s->body->kind != PS_BODY_STREAM))
                return CURL_SEEKFUNC_CANTSEEK;
        if (off < 0 || off > s->end - s->start)
                return CURL_SEEKFUNC_FAIL;
        s->pos = s->start + off;
        return CURL_SEEKFUNC_OK;
}

static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        struct xfer *x = ud;
        if (x->q->progress)
                x->q->progress(x->q->progress_ctx, (int64_t)ulnow);
        return 0;
}

/* "/v2/x/blobs/uploads/ID" for URLs of this registry (query dropped),
 * else the URL without its query. */
static char *url_for_msg(ps_registry *r, const char *url)
{
        size_t bl = strlen(r->base);
        const char *p = url;
        if (strncmp(url, r->base, bl) == 0 && url[bl] == '/')
                p = url + bl;
        char *m = strndup(p, strcspn(p, "?#"));
        if (m)
                sanitize(m);
        return m;
}

static int errno_for_status(long st)
{
        switch (st) {
        case 400: return EINVAL;
        case 401: return EACCES;
        case 403: return EPERM;
        case 404: return ENOENT;
        case 405: return ENOTSUP;
        case 409: return EEXIST;
        case 413: return EFBIG;
        case 416: return ERANGE;
        case 429: return EBUSY;
        default: return st >= 500 ? EIO : EPROTO;
        }
}

static int fail_http(struct conn *c, const struct req *q, const struct resp *s, ps_error *err)
{
        _cleanup_free_ char *path = url_for_msg(c->r, q->url);
        _cleanup_free_ char *et = ps_registry_error_text(s->body.data, s->body.len);
        char *chal = NULL;
        if (s->status == 401 && !et)
                chal = s->nauth ? " (authentication required)" : "";
        const char *what = q->what ? q->what : c->r->host;
        return ps_error_set(err, errno_for_status(s->status), "%s%s: %s %s: %ld %s%s",
                            q->what ? "" : "registry ", what, q->method, path ? path : "?", s->status,
                            et ? et : (s->reason ? s->reason : "error"), chal ? chal : "");
}

static bool retryable_curl(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:
                return true;
        default:
                return false;
        }
}

static int errno_for_curl(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT: return ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT: return ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST: return EHOSTUNREACH;
        case CURLE_OUT_OF_MEMORY: return ENOMEM;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                return EPROTO;
        default: return EIO;
        }
}

static int fail_curl(struct conn *c, const struct req *q, CURLcode cc, ps_error *err)
{
        _cleanup_free_ char *path = url_for_msg(c->r, q->url);
        const char *m = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
        const char *what = q->what ? q->what : c->r->host;
        return ps_error_set(err, errno_for_curl(cc), "%s%s: %s %s: %s", q->what ? "" : "registry ",
                            what, q->method, path ? path : "?", m);
}

static void set_protocols(CURL *h)
{
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static bool token_chars_ok(const char *t)
{
        if (!*t)
                return false;
        for (const unsigned char *p = (const unsigned char *)t; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f)
                        return false;
        return true;
}

/* Perform Q once.  Returns the curl result; the response is in S. */
static CURLcode perform(struct conn *c, struct req *q, struct resp *s, struct xfer *x)
{
        ps_registry *r = c->r;
        CURL *h = c->h;
        curl_easy_reset(h);
        c->errbuf[0] = '\0';
        struct curl_slist *hl = NULL, *t;
        CURLcode cc = CURLE_OUT_OF_MEMORY;
        _cleanup_free_ char *authz = NULL;

#define ADD_HDR(line)                                   \
        do {                                            \
                if (!(t = curl_slist_append(hl, line))) \
                        goto out;                       \
                hl = t;                                 \
        } while (0)
        ADD_HDR("Expect:");
        for (const char *const *e = q->headers; e && *e; e++)
                ADD_HDR(*e);
        bool basic = q->send_basic;
        if (!q->no_auth) {
                _cleanup_free_ char *tok = token_get(r, q->scope ? q->scope : "");
                if (tok) {
                        if (asprintf(&authz, "Authorization: Bearer %s", tok) < 0) {
                                authz = NULL;
                                goto out;
                        }
                        explicit_bzero(tok, strlen(tok));
                        ADD_HDR(authz);
                        x->sent_token = true;
                } else {
                        pthread_mutex_lock(&r->lock);
                        basic = r->use_basic;
                        pthread_mutex_unlock(&r->lock);
                }
        }
#undef ADD_HDR
        if (basic && r->username) {
                curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                curl_easy_setopt(h, CURLOPT_USERNAME, r->username);
                curl_easy_setopt(h, CURLOPT_PASSWORD, r->password ? r->password : "");
                x->sent_basic = true;
        }

        curl_easy_setopt(h, CURLOPT_URL, q->url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, r->user_agent);
        set_protocols(h);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->o.connect_timeout_ms);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, r->o.stall_timeout_s);
        if (!q->blob)
                curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->o.request_timeout_ms);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        if (r->ca_file)
                curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
        if (r->o.max_send_speed > 0)
                curl_easy_setopt(h, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)r->o.max_send_speed);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
        if (q->progress) {
                curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
                curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
                curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        }
        if (q->follow) {
                curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        }
        const char *m = q->method;
        if (strcmp(m, "HEAD") == 0) {
                curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (strcmp(m, "GET") == 0) {
                curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        } else if (q->src) {
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
                curl_easy_setopt(h, CURLOPT_READDATA, q->src);
                curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
                curl_easy_setopt(h, CURLOPT_SEEKDATA, q->src);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(q->src->end - q->src->start));
        } else if (strcmp(m, "POST") == 0) {
                curl_easy_setopt(h, CURLOPT_POST, 1L);
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
                if (!(t = curl_slist_append(hl, "Content-Type:")))
                        goto out;
                hl = t;
        } else {
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

        cc = curl_easy_perform(h);
        if (cc == CURLE_OK && s->status == 0) {
                long st = 0;
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
                s->status = st;
        }
        curl_off_t up = 0, down = 0;
        curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up);
        curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &down);
        pthread_mutex_lock(&r->lock);
        r->stats.requests++;
        r->stats.bytes_sent += (uint64_t)up;
        r->stats.bytes_received += (uint64_t)down;
        pthread_mutex_unlock(&r->lock);
out:
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all(hl);
        if (authz)
                explicit_bzero(authz, strlen(authz));
        return cc;
}

/* Append "(gave up after N tries)" to ERR; returns its negative code. */
static int gave_up(ps_error *err, int tries)
{
        if (!err)
                return -EIO;
        int code = err->code ? err->code : EIO;
        char *old = err->msg;
        err->msg = NULL;
        ps_error_set(err, code, "%s (gave up after %d %s)", old ? old : "error", tries, tries == 1 ? "try" : "tries");
        free(old);
        return -code;
}

/* Note a retryable failure: sleep the backoff and return 1, or give up
 * (return < 0) when the budget is spent.  ERR already holds the cause. */
static int note_failure(struct conn *c, struct retry *rt, long retry_after_s, ps_error *err)
{
        ps_registry *r = c->r;
        rt->failures++;
        if (rt->failures >= r->o.tries)
                return gave_up(err, rt->failures);
        STAT_ADD(r, retries, 1);
        long d = ps_registry_backoff_ms(&r->o, rt->failures);
        if (retry_after_s > 0 && retry_after_s * 1000 > d)
                d = retry_after_s * 1000;
        sleep_ms(d);
        return 1;
}

static int fetch_token(struct conn *c, const char *realm, const char *service, const char *scopes,
                       const char *key, ps_error *err);

/* 1: try again, 0: nothing more to try (answer 401), < 0: error */
static int answer_challenge(struct conn *c, struct req *q, struct resp *s, struct xfer *x,
                            bool *fresh_token, ps_error *err)
{
        ps_registry *r = c->r;
        if (q->no_auth || !s->nauth)
                return 0;
        ps_auth_challenge bearer = { 0 }, basic = { 0 };
        bool have_bearer = false, have_basic = false;
        for (size_t i = 0; i < s->nauth; i++) {
                ps_auth_challenge ch;
                if (ps_registry_parse_challenge(s->auth[i], &ch, NULL) < 0)
                        continue;
                if (!have_bearer && strcasecmp(ch.scheme, "bearer") == 0) {
                        bearer = ch;
                        have_bearer = true;
                } else if (!have_basic && strcasecmp(ch.scheme, "basic") == 0) {
                        basic = ch;
                        have_basic = true;
                } else {
                        ps_auth_challenge_free(&ch);
                }
        }
        int ret = 0;
        if (have_bearer) {
                const char *key = q->scope ? q->scope : "";
                if (*fresh_token)
                        goto done;      /* a new token was refused: give up */
                if (!bearer.realm) {
                        ret = ps_error_set(err, EPROTO, "registry %s: Bearer challenge without a realm",
                                           r->host);
                        goto done;
                }
                pthread_mutex_lock(&r->lock);
                free(r->realm);
                free(r->service);
                r->realm = strdup(bearer.realm);
                r->service = bearer.service ? strdup(bearer.service) : NULL;
                pthread_mutex_unlock(&r->lock);
                /* ask for our scopes and the challenge's */
                _cleanup_free_ char *scopes = NULL;
                const char *a = q->scope ? q->scope : "", *b = bearer.scope ? bearer.scope : "";
                if (asprintf(&scopes, "%s%s%s", a, *a && *b && !strstr(a, b) ? " " : "",
                             strstr(a, b) ? "" : b) < 0) {
                        scopes = NULL;
                        ret = ps_error_set(err, ENOMEM, "out of memory");
                        goto done;
                }
                pthread_mutex_lock(&r->fetch_lock);
                _cleanup_free_ char *other = x->sent_token ? NULL : token_get(r, key);
                if (other) {
                        /* another worker got one meanwhile */
                        explicit_bzero(other, strlen(other));
                        ret = 1;
                } else {
                        if (x->sent_token)
                                token_drop(r, key);
                        ret = fetch_token(c, bearer.realm, bearer.service, scopes, key, err);
                        if (ret >= 0)
                                ret = 1;
                }
                pthread_mutex_unlock(&r->fetch_lock);
                if (ret > 0)
                        *fresh_token = true;
        } else if (have_basic && r->username && !x->sent_basic) {
                pthread_mutex_lock(&r->lock);
                r->use_basic = true;
                pthread_mutex_unlock(&r->lock);
                ret = 1;
        }
done:
        ps_auth_challenge_free(&bearer);
        ps_auth_challenge_free(&basic);
        return ret;
}

/* Reset the request body for another attempt; false when it cannot be
 * sent again (a stream that was read and cannot rewind). */
static bool src_restart(struct src *s)
{
        if (!s)
                return true;
        s->err = 0;
        if (!s->mem && s->body->kind == PS_BODY_STREAM && s->stream_pos && *s->stream_pos != s->start)
                return false;
        s->pos = s->start;
        return true;
}

/* One request with authentication and retries.  Returns 0 with a response
 * in S (any status: the caller decides), 1 when !inline_retry and a
 * retryable failure happened (the backoff is already done; ERR tells the
 * cause), < 0 on a final error. */
static int do_request(struct conn *c, struct req *q, struct resp *s, ps_error *err)
{
        ps_registry *r = c->r;
        struct retry local = { 0 };
        struct retry *rt = q->retry ? q->retry : &local;
        bool fresh_token = false;
        int auth_rounds = 0;

        /* a Bearer realm is known already: get a token for a new scope up front,
         * so that a body is not sent only to be refused */
        if (!q->no_auth && q->scope) {
                pthread_mutex_lock(&r->lock);
                char *realm = r->realm ? strdup(r->realm) : NULL;
                char *service = r->service ? strdup(r->service) : NULL;
                pthread_mutex_unlock(&r->lock);
                _cleanup_free_ char *tok = NULL;
                int tr = 0;
                if (realm) {
                        pthread_mutex_lock(&r->fetch_lock);
                        tok = token_get(r, q->scope);
                        if (!tok) {
                                tr = fetch_token(c, realm, service, q->scope, q->scope, err);
                                if (tr >= 0)
                                        fresh_token = true;
                        }
                        pthread_mutex_unlock(&r->fetch_lock);
                }
                free(realm);
                free(service);
                if (tok)
                        explicit_bzero(tok, strlen(tok));
                if (tr < 0)
                        return tr;
        }

        for (;;) {
                resp_free(s);
                resp_init(s, q->body_max);
                if (!src_restart(q->src))
                        return ps_error_set(err, ESPIPE, "registry %s: %s: the upload source cannot be read again",
                                            r->host, q->method);
                struct xfer x = { .c = c, .q = q, .s = s };
                CURLcode cc = perform(c, q, s, &x);
                if (x.sink_err < 0) {
                        _cleanup_free_ char *path = url_for_msg(r, q->url);
                        return ps_error_errno(err, -x.sink_err, "registry %s: %s %s: the receiver of the data failed",
                                              r->host, q->method, path);
                }
                if (x.too_big) {
                        _cleanup_free_ char *path = url_for_msg(r, q->url);
                        return ps_error_set(err, EFBIG, "registry %s: %s %s: response larger than %zu bytes",
                                            r->host, q->method, path, q->body_max);
                }
                if (q->src && q->src->err) {
                        _cleanup_free_ char *path = url_for_msg(r, q->url);
                        return ps_error_errno(err, q->src->err,
                                              "registry %s: %s %s: reading the upload data at offset %" PRId64,
                                              r->host, q->method, path, q->src->pos);
                }
                if (cc == CURLE_OUT_OF_MEMORY)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if (cc != CURLE_OK) {
                        int e = fail_curl(c, q, cc, err);
                        if (!retryable_curl(cc))
                                return e;
                        int nr = note_failure(c, rt, 0, err);
                        if (nr < 0)
                                return nr;
                        if (!q->inline_retry || !src_restart(q->src))
                                return 1;
                        continue;
                }
                if (s->status == 401 && auth_rounds < 3) {
                        int ar = answer_challenge(c, q, s, &x, &fresh_token, err);
                        if (ar < 0)
                                return ar;
                        if (ar > 0) {
                                auth_rounds++;
                                continue;
                        }
                }
                if (ps_registry_retryable_status(s->status)) {
                        fail_http(c, q, s, err);
                        int nr = note_failure(c, rt, s->retry_after, err);
                        if (nr < 0)
                                return nr;
                        if (!q->inline_retry || !src_restart(q->src))
                                return 1;
                        continue;
                }
                if (rt->failures && err && err->code)
                        ps_error_clear(err);    /* an earlier attempt's failure is history */
                return 0;
        }
}

static int fetch_token(struct conn *c, const char *realm, const char *service, const char *scopes,
                       const char *key, ps_error *err)
{
        ps_registry *r = c->r;
        _cleanup_free_ char *rurl = ps_registry_resolve_url(NULL, realm);
        if (!rurl)
                return ps_error_set(err, EPROTO, "registry %s: invalid token realm \"%.200s\"", r->host, realm);
        sanitize(rurl);
        if (r->username && !r->o.insecure && strncasecmp(rurl, "https:", 6) != 0)
                return ps_error_set(err, EPERM,
                                    "registry %s: refusing to send credentials to the plain-http token realm %s",
                                    r->host, rurl);
        _cleanup_free_ char *url = strdup(rurl);
        if (!url)
                return ps_error_set(err, ENOMEM, "out of memory");
#define ADDQ(k, v)                                                             \
        do {                                                                   \
                char *nu = ps_registry_url_add_query(url, k, v);               \
                if (!nu)                                                       \
                        return ps_error_set(err, ENOMEM, "out of memory");     \
                free(url);                                                     \
                url = nu;                                                      \
        } while (0)
        if (service)
                ADDQ("service", service);
        if (r->username)
                ADDQ("account", r->username);
        _cleanup_free_ char *sc = strdup(scopes ? scopes : "");
        if (!sc)
                return ps_error_set(err, ENOMEM, "out of memory");
        char *save = NULL;
        for (char *tok = strtok_r(sc, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
                ADDQ("scope", tok);
#undef ADDQ
        const char *what = "token server";
        struct retry rt = { 0 };
        struct req q = {
                .method = "GET", .url = url, .no_auth = true, .send_basic = r->username != NULL,
                .body_max = SMALL_BODY_MAX, .inline_retry = true, .retry = &rt, .what = what,
        };
        struct resp s;
        resp_init(&s, SMALL_BODY_MAX);
        STAT_ADD(r, token_fetches, 1);
        int ret = do_request(c, &q, &s, err);
        if (ret < 0)
                goto out;
        if (s.status != 200) {
                ret = fail_http(c, &q, &s, err);
                ps_error_wrap(err, "registry %s: getting a token", r->host);
                goto out;
        }
        json_error_t je;
        json_t *j = json_loadb(s.body.data ? s.body.data : "", s.body.len, JSON_REJECT_DUPLICATES, &je);
        const char *tok = json_string_value(json_object_get(j, "token"));
        if (!tok || !*tok)
                tok = json_string_value(json_object_get(j, "access_token"));
        json_t *ei = json_object_get(j, "expires_in");
        long expires = json_is_integer(ei) && json_integer_value(ei) > 0 ? (long)json_integer_value(ei) : 60;
        if (!j || !tok || !token_chars_ok(tok)) {
                ret = ps_error_set(err, EPROTO, "registry %s: token server %s: the answer holds no usable token%s%s",
                                   r->host, rurl, j ? "" : ": ", j ? "" : je.text);
        } else {
                ret = token_put(r, key, tok, expires);
                if (ret < 0)
                        ps_error_set(err, -ret, "out of memory");
        }
        json_decref(j);
out:
        if (s.body.data)
                explicit_bzero(s.body.data, s.body.len);
        resp_free(&s);
        return ret < 0 ? ret : 0;
}

/* ---- simple operations ------------------------------------------------ */

static char *scope_for(const char *repo, const char *actions)
{
        char *s = NULL;
        if (asprintf(&s, "repository:%s:%s", repo, actions) < 0)
                return NULL;
        return s;
}

static int check_repo(const ps_registry *r, const char *repo, ps_error *err)
{
        if (!ps_registry_valid_repo(repo))
                return ps_error_set(err, EINVAL, "registry %s: invalid repository name \"%s\"", r->host,
                                    repo ? repo : "");
        return 0;
}

static int check_digest(const ps_registry *r, const char *d, ps_error *err)
{
        if (!ps_registry_valid_digest(d))
                return ps_error_set(err, EINVAL, "registry %s: invalid digest \"%s\"", r->host, d ? d : "");
        return 0;
}

int ps_registry_ping(ps_registry *r, ps_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s/v2/", r->base) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        struct req q = { .method = "GET", .url = url, .inline_retry = true };
        struct resp s;
        resp_init(&s, 0);
        int ret = do_request(r->main, &q, &s, err);
        if (ret >= 0)
                ret = s.status == 200 ? 0 : fail_http(r->main, &q, &s, err);
        resp_free(&s);
        return ret;
}

static int blob_head_c(struct conn *c, const char *repo, const char *digest, const char *scope,
                       int64_t *size, ps_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s/v2/%s/blobs/%s", c->r->base, repo, digest) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        struct req q = { .method = "HEAD", .url = url, .scope = scope, .inline_retry = true };
        struct resp s;
        resp_init(&s, 0);
        int ret = do_request(c, &q, &s, err);
        if (ret >= 0) {
                if (s.status == 200) {
                        if (size)
                                *size = s.content_length;
                        ret = 1;
                } else if (s.status == 404) {
                        ret = 0;
                } else {
                        ret = fail_http(c, &q, &s, err);
                }
        }
        resp_free(&s);
        return ret;
}

int ps_registry_blob_head(ps_registry *r, const char *repo, const char *digest, int64_t *size, ps_error *err)
{
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_digest(r, digest, err)) < 0)
                return ret;
        _cleanup_free_ char *scope = scope_for(repo, "pull");
        if (!scope)
                return ps_error_set(err, ENOMEM, "out of memory");
        return blob_head_c(r->main, repo, digest, scope, size, err);
}

struct get_state {
        ps_registry_sink_fn sink;
        void *ctx;
        struct hasher h;
        int64_t got;            /* bytes given to the sink */
        int64_t attempt_start;  /* got when this attempt began */
        int64_t resp_pos;       /* bytes of this response seen */
};

static int get_sink(void *ctx, long status, const void *buf, size_t n)
{
        struct get_state *g = ctx;
        const char *p = buf;
        if (status == 200 && g->resp_pos < g->attempt_start) {
                /* the server ignored our Range: drop what we already have */
                int64_t drop = g->attempt_start - g->resp_pos;
                if (drop > (int64_t)n)
                        drop = (int64_t)n;
                g->resp_pos += drop;
                p += drop;
                n -= (size_t)drop;
        }
        if (!n)
                return 0;
        g->resp_pos += (int64_t)n;
        hasher_update(&g->h, p, n);
        g->got += (int64_t)n;
        return g->sink(g->ctx, p, n);
}

int ps_registry_blob_get(ps_registry *r, const char *repo, const char *digest,
                         ps_registry_sink_fn sink, void *ctx, int64_t *size, ps_error *err)
{
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_digest(r, digest, err)) < 0)
                return ret;
        struct get_state g = { .sink = sink, .ctx = ctx };
        const char *colon = strchr(digest, ':');
        ret = hasher_init(&g.h, digest, (size_t)(colon - digest));
        if (ret < 0)
                return ps_error_set(err, -ret, "registry %s: cannot verify digest %s: %s", r->host, digest,
                                    ret == -ENOTSUP ? "unsupported algorithm" : strerror(-ret));
        _cleanup_free_ char *url = NULL, *scope = scope_for(repo, "pull");
        if (!scope || asprintf(&url, "%s/v2/%s/blobs/%s", r->base, repo, digest) < 0) {
                url = NULL;
                hasher_free(&g.h);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        struct retry rt = { 0 };
        struct resp s;
        resp_init(&s, 0);
        for (;;) {
                _cleanup_free_ char *range = NULL;
                const char *hdrs[2] = { NULL, NULL };
                if (g.got > 0) {
                        if (asprintf(&range, "Range: bytes=%" PRId64 "-", g.got) < 0) {
                                range = NULL;
                                ret = ps_error_set(err, ENOMEM, "out of memory");
                                break;
                        }
                        hdrs[0] = range;
                }
                g.attempt_start = g.got;
                g.resp_pos = 0;
                struct req q = {
                        .method = "GET", .url = url, .scope = scope, .headers = hdrs, .sink = get_sink,
                        .sink_ctx = &g, .follow = true, .blob = true, .retry = &rt,
                };
                ret = do_request(r->main, &q, &s, err);
                if (ret == 1)
                        continue;       /* resume after the backoff */
                if (ret < 0)
                        break;
                if (s.status == 206) {
                        int64_t start = -1;
                        const char *cr = s.content_range;
                        if (cr && strncasecmp(cr, "bytes ", 6) == 0) {
                                const char *p = cr + 6;
                                if (parse_u64(&p, &start) < 0)
                                        start = -1;
                        }
                        if (start != g.attempt_start) {
                                ret = ps_error_set(err, EPROTO,
                                                   "registry %s: GET blob %s: asked to resume at %" PRId64
                                                   ", got Content-Range \"%s\"",
                                                   r->host, digest, g.attempt_start, cr ? cr : "");
                                break;
                        }
                } else if (s.status != 200) {
                        ret = fail_http(r->main, &q, &s, err);
                        break;
                }
                _cleanup_free_ char *have = hasher_final(&g.h);
                if (!have) {
                        ret = ps_error_set(err, ENOMEM, "out of memory");
                } else if (strcmp(have, digest) != 0) {
                        ret = ps_error_set(err, EBADMSG,
                                           "registry %s: blob %s of %s: the data received has digest %s",
                                           r->host, digest, repo, have);
                } else {
                        if (size)
                                *size = g.got;
                        ret = 0;
                }
                break;
        }
        resp_free(&s);
        hasher_free(&g.h);
        return ret;
}

/* ---- uploads ---------------------------------------------------------- */

ps_registry_body ps_registry_body_buffer(const void *data, size_t len)
{
        return (ps_registry_body){ .kind = PS_BODY_BUFFER, .data = data, .fd = -1, .length = (int64_t)len };
}

ps_registry_body ps_registry_body_fd(int fd, off_t offset, int64_t len)
{
        return (ps_registry_body){ .kind = PS_BODY_FD, .fd = fd, .offset = offset, .length = len };
}

ps_registry_body ps_registry_body_stream(ps_registry_read_fn read, int (*rewind)(void *ctx),
                                         void *ctx, int64_t len)
{
        return (ps_registry_body){ .kind = PS_BODY_STREAM, .fd = -1, .read = read, .rewind = rewind,
                                   .ctx = ctx, .length = len };
}

struct upl {
        struct conn *c;
        ps_registry *r;
        const char *repo, *digest;
        const ps_registry_body *body;
        const ps_registry_upload_opts *o;
        size_t index;
        char *scope;
        char *loc;                      /* latest upload Location (absolute) */
        struct retry rt;
        int64_t stream_pos;
        char *chunk;                    /* stream chunk buffer */
        int64_t chunk_start, chunk_len;
        int64_t send_base;              /* offset of the running request's first byte */
        int64_t reported;
};

static void report(struct upl *u, int64_t done)
{
        if (!u->o->progress || done == u->reported)
                return;
        u->reported = done;
        pthread_mutex_lock(&u->r->cb_lock);
        u->o->progress(u->o->progress_ctx, u->index, u->digest, done, u->body->length);
        pthread_mutex_unlock(&u->r->cb_lock);
}

static void upl_progress(void *ctx, int64_t up_now)
{
        struct upl *u = ctx;
        report(u, u->send_base + up_now);
}

static int set_loc(struct upl *u, const char *base_url, const struct resp *s, bool required, ps_error *err)
{
        if (!s->location) {
                if (!required)
                        return 0;
                return ps_error_set(err, EPROTO, "registry %s: upload of %s: the answer has no Location",
                                    u->r->host, u->digest);
        }
        char *n = ps_registry_resolve_url(base_url, s->location);
        if (!n)
                return ps_error_set(err, EPROTO, "registry %s: upload of %s: invalid Location \"%.200s\"",
                                    u->r->host, u->digest, s->location);
        free(u->loc);
        u->loc = n;
        return 0;
}

/* Cancel the session (best effort). */
static void cancel_session(struct upl *u)
{
        if (!u->loc)
                return;
        struct retry rt = { .failures = u->r->o.tries - 1 };    /* a single try */
        struct req q = { .method = "DELETE", .url = u->loc, .scope = u->scope, .retry = &rt };
        struct resp s;
        resp_init(&s, 0);
        do_request(u->c, &q, &s, NULL);
        resp_free(&s);
        free(u->loc);
        u->loc = NULL;
}

/* Count a non-retryable hiccup (404 session, 416) against the budget. */
static int budget(struct upl *u, ps_error *err)
{
        u->rt.failures++;
        if (u->rt.failures >= u->r->o.tries)
                return gave_up(err, u->rt.failures);
        STAT_ADD(u->r, session_restarts, 1);
        return 0;
}

/* POST …/blobs/uploads/ (with a mount attempt when FROM is set).
 * 1: mounted, 0: session in u->loc, < 0 error. */
static int start_session(struct upl *u, const char *from, ps_error *err)
{
        _cleanup_free_ char *url = NULL;
        int n = from ? asprintf(&url, "%s/v2/%s/blobs/uploads/?mount=%s&from=%s", u->r->base, u->repo,
                                u->digest, from)
                     : asprintf(&url, "%s/v2/%s/blobs/uploads/", u->r->base, u->repo);
        if (n < 0) {
                url = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        free(u->loc);
        u->loc = NULL;
        struct req q = { .method = "POST", .url = url, .scope = u->scope, .inline_retry = true, .retry = &u->rt };
        struct resp s;
        resp_init(&s, 0);
        int ret = do_request(u->c, &q, &s, err);
        if (ret < 0)
                goto out;
        if (s.status == 201 && from) {
                if (s.digest && strcmp(s.digest, u->digest) != 0)
                        ret = ps_error_set(err, EBADMSG, "registry %s: mount of %s from %s reports digest %.200s",
                                           u->r->host, u->digest, from, s.digest);
                else
                        ret = 1;
        } else if (s.status == 202) {
                ret = set_loc(u, url, &s, true, err);
        } else {
                ret = fail_http(u->c, &q, &s, err);
        }
out:
        resp_free(&s);
        return ret;
}

/* Position a stream body at OFF (rewinding when needed). */
static int stream_seek(struct upl *u, int64_t off, ps_error *err)
{
        const ps_registry_body *b = u->body;
        if (u->stream_pos == off)
                return 0;
        if (off < u->stream_pos) {
                if (!b->rewind)
                        return ps_error_set(err, ESPIPE,
                                            "registry %s: upload of %s must restart, but its source cannot be read again",
                                            u->r->host, u->digest);
                int r = b->rewind(b->ctx);
                if (r < 0)
                        return ps_error_errno(err, -r, "registry %s: upload of %s: rewinding the source",
                                              u->r->host, u->digest);
                u->stream_pos = 0;
                u->chunk_start = u->chunk_len = 0;
        }
        char scratch[16384];
        while (u->stream_pos < off) {
                size_t want = sizeof(scratch);
                if ((int64_t)want > off - u->stream_pos)
                        want = (size_t)(off - u->stream_pos);
                size_t got = b->read(b->ctx, scratch, want);
                if (got == PS_REGISTRY_READ_ERROR || got == 0 || got > want)
                        return ps_error_set(err, EIO, "registry %s: upload of %s: reading the source failed",
                                            u->r->host, u->digest);
                u->stream_pos += (int64_t)got;
        }
        return 0;
}

/* Make sure the stream chunk buffer holds OFF; returns the bytes available
 * from OFF in *avail. */
static int stream_chunk(struct upl *u, int64_t off, int64_t *avail, ps_error *err)
{
        if (off >= u->chunk_start && off < u->chunk_start + u->chunk_len) {
                *avail = u->chunk_start + u->chunk_len - off;
                return 0;
        }
        int r = stream_seek(u, off, err);
        if (r < 0)
                return r;
        size_t cs = u->o->chunk_size;
        if (!u->chunk) {
                u->chunk = malloc(cs);
                if (!u->chunk)
                        return ps_error_set(err, ENOMEM, "out of memory for a %zu-byte upload chunk", cs);
        }
        int64_t want = u->body->length - off;
        if (want > (int64_t)cs)
                want = (int64_t)cs;
        int64_t have = 0;
        u->chunk_start = off;
        u->chunk_len = 0;
        while (have < want) {
                size_t got = u->body->read(u->body->ctx, u->chunk + have, (size_t)(want - have));
                if (got == PS_REGISTRY_READ_ERROR || got > (size_t)(want - have))
                        return ps_error_set(err, EIO, "registry %s: upload of %s: reading the source failed",
                                            u->r->host, u->digest);
                if (got == 0)
                        return ps_error_set(err, ENODATA,
                                            "registry %s: upload of %s: the source ended after %" PRId64
                                            " of %" PRId64 " bytes",
                                            u->r->host, u->digest, off + have, u->body->length);
                have += (int64_t)got;
                u->stream_pos += (int64_t)got;
        }
        u->chunk_len = have;
        *avail = have;
        return 0;
}

static int check_uploaded_digest(struct upl *u, const struct resp *s, ps_error *err)
{
        if (s->digest && strcmp(s->digest, u->digest) != 0)
                return ps_error_set(err, EBADMSG, "registry %s: blob %s was stored with digest %.200s",
                                    u->r->host, u->digest, s->digest);
        return 0;
}

static int upload_monolithic(struct upl *u, ps_error *err)
{
        for (;;) {
                if (u->body->kind == PS_BODY_STREAM) {
                        int r = stream_seek(u, 0, err);
                        if (r < 0)
                                return r;
                }
                _cleanup_free_ char *url = ps_registry_url_add_query(u->loc, "digest", u->digest);
                if (!url)
                        return ps_error_set(err, ENOMEM, "out of memory");
                struct src src = { .body = u->body, .start = 0, .end = u->body->length,
                                   .stream_pos = &u->stream_pos };
                static const char *const hdrs[] = { "Content-Type: application/octet-stream", NULL };
                u->send_base = 0;
                struct req q = { .method = "PUT", .url = url, .scope = u->scope, .headers = hdrs, .src = &src,
                                 .blob = true, .retry = &u->rt, .progress = upl_progress, .progress_ctx = u };
                struct resp s;
                resp_init(&s, 0);
                int ret = do_request(u->c, &q, &s, err);
                if (ret == 0 && s.status == 201) {
                        ret = check_uploaded_digest(u, &s, err);
                        resp_free(&s);
                        return ret;
                }
                if (ret == 0 && s.status == 404) {
                        fail_http(u->c, &q, &s, err);
                        ret = budget(u, err);
                } else if (ret == 0) {
                        ret = fail_http(u->c, &q, &s, err);
                        resp_free(&s);
                        return ret;
                } else if (ret == 1) {
                        STAT_ADD(u->r, session_restarts, 1);
                        ret = 0;
                }
                resp_free(&s);
                if (ret < 0)
                        return ret;
                /* start over with a new session */
                ret = start_session(u, NULL, err);
                if (ret < 0)
                        return ret;
        }
}

/* GET the session status: 0 with *next set, 1 when the session must be
 * started again, < 0 error. */
static int session_status(struct upl *u, int64_t *next, ps_error *err)
{
        struct req q = { .method = "GET", .url = u->loc, .scope = u->scope, .inline_retry = true,
                         .retry = &u->rt };
        struct resp s;
        resp_init(&s, 0);
        int ret = do_request(u->c, &q, &s, err);
        if (ret < 0)
                goto out;
        if (s.status == 404) {
                ret = 1;
        } else if (s.status == 204 || s.status == 200 || s.status == 202) {
                ret = set_loc(u, u->loc, &s, false, err);
                if (ret < 0)
                        goto out;
                int pr = s.range ? ps_registry_parse_range(s.range, next) : -EINVAL;
                if (pr != 0 || *next > u->body->length)
                        ret = 1;        /* unknown or ambiguous: start again */
        } else {
                ret = fail_http(u->c, &q, &s, err);
        }
out:
        resp_free(&s);
        return ret;
}

static int upload_chunked(struct upl *u, ps_error *err)
{
        int64_t off = 0, len = u->body->length;
        int ret;
        for (;;) {
                while (off < len) {
                        int64_t n = 0;
                        struct src src = { .body = u->body, .start = off, .stream_pos = &u->stream_pos };
                        if (u->body->kind == PS_BODY_STREAM) {
                                ret = stream_chunk(u, off, &n, err);
                                if (ret < 0)
                                        return ret;
                                src.mem = u->chunk;
                                src.mem_start = u->chunk_start;
                        } else {
                                n = len - off;
                                if (n > (int64_t)u->o->chunk_size)
                                        n = (int64_t)u->o->chunk_size;
                        }
                        src.end = off + n;
                        _cleanup_free_ char *crange = NULL;
                        if (asprintf(&crange, "Content-Range: %" PRId64 "-%" PRId64, off, off + n - 1) < 0) {
                                crange = NULL;
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                        const char *hdrs[] = { "Content-Type: application/octet-stream", crange, NULL };
                        u->send_base = off;
                        struct req q = { .method = "PATCH", .url = u->loc, .scope = u->scope, .headers = hdrs,
                                         .src = &src, .blob = true, .retry = &u->rt,
                                         .progress = upl_progress, .progress_ctx = u };
                        struct resp s;
                        resp_init(&s, 0);
                        ret = do_request(u->c, &q, &s, err);
                        bool resync = false, restart = false;
                        if (ret < 0) {
                                resp_free(&s);
                                return ret;
                        } else if (ret == 1) {
                                resync = true;
                        } else if (s.status == 202 || s.status == 204) {
                                ret = set_loc(u, u->loc, &s, false, err);
                                int64_t next = off + n;
                                if (ret >= 0 && s.range) {
                                        int pr = ps_registry_parse_range(s.range, &next);
                                        if (pr == 1)    /* "0-0": only 1 byte stored fits */
                                                next = off + n == 1 ? 1 : -1;
                                        else if (pr < 0)
                                                next = -1;
                                }
                                if (ret >= 0 && next == off + n) {
                                        off = next;
                                        u->rt.failures = 0;     /* progress: a fresh budget */
                                        report(u, off);
                                } else if (ret >= 0) {
                                        /* the registry took something else */
                                        ps_error_set(err, EPROTO, "registry %s: PATCH of %s at %" PRId64
                                                     ": unexpected Range \"%s\"", u->r->host, u->digest, off,
                                                     s.range ? s.range : "");
                                        ret = budget(u, err);
                                        resync = true;
                                }
                        } else if (s.status == 416) {
                                fail_http(u->c, &q, &s, err);   /* before q.url (u->loc) changes */
                                ret = budget(u, err);
                                if (ret >= 0)
                                        ret = set_loc(u, u->loc, &s, false, err);
                                resync = true;
                        } else if (s.status == 404) {
                                fail_http(u->c, &q, &s, err);
                                ret = budget(u, err);
                                restart = true;
                        } else {
                                ret = fail_http(u->c, &q, &s, err);
                        }
                        resp_free(&s);
                        if (ret < 0)
                                return ret;
                        if (resync) {
                                int64_t next = 0;
                                ret = session_status(u, &next, err);
                                if (ret < 0)
                                        return ret;
                                if (ret == 0) {
                                        off = next;
                                } else {
                                        ps_error_set(err, EPROTO, "registry %s: upload session of %s lost",
                                                     u->r->host, u->digest);
                                        if ((ret = budget(u, err)) < 0)
                                                return ret;
                                        restart = true;
                                }
                        }
                        if (restart) {
                                ret = start_session(u, NULL, err);
                                if (ret < 0)
                                        return ret;
                                STAT_ADD(u->r, session_restarts, 1);
                                off = 0;
                        }
                }
                /* commit */
                _cleanup_free_ char *url = ps_registry_url_add_query(u->loc, "digest", u->digest);
                if (!url)
                        return ps_error_set(err, ENOMEM, "out of memory");
                static const ps_registry_body empty = { .kind = PS_BODY_BUFFER, .data = "", .fd = -1 };
                struct src src = { .body = &empty };
                static const char *const hdrs[] = { "Content-Type: application/octet-stream", NULL };
                struct req q = { .method = "PUT", .url = url, .scope = u->scope, .headers = hdrs, .src = &src,
                                 .retry = &u->rt, .inline_retry = true };
                struct resp s;
                resp_init(&s, 0);
                ret = do_request(u->c, &q, &s, err);
                if (ret == 0 && s.status == 201) {
                        ret = check_uploaded_digest(u, &s, err);
                        resp_free(&s);
                        return ret;
                }
                if (ret == 0 && s.status == 404) {
                        /* perhaps an earlier commit did arrive */
                        fail_http(u->c, &q, &s, err);
                        resp_free(&s);
                        ps_error tmp = PS_ERROR_INIT;
                        int h = blob_head_c(u->c, u->repo, u->digest, u->scope, NULL, &tmp);
                        ps_error_clear(&tmp);
                        if (h == 1)
                                return 0;
                        ret = budget(u, err);
                        if (ret < 0)
                                return ret;
                        ret = start_session(u, NULL, err);
                        if (ret < 0)
                                return ret;
                        off = 0;
                        continue;
                }
                if (ret == 0)
                        ret = fail_http(u->c, &q, &s, err);
                resp_free(&s);
                return ret;
        }
}

static int upload_one(struct conn *c, size_t index, const char *repo, const char *digest,
                      const ps_registry_body *body, const ps_registry_upload_opts *o,
                      ps_blob_status *status, ps_error *err)
{
        ps_registry *r = c->r;
        static const ps_registry_upload_opts none = { 0 };
        if (!o)
                o = &none;
        *status = PS_BLOB_FAILED;
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_digest(r, digest, err)) < 0)
                return ret;
        if (!body || body->length < 0 || (body->kind == PS_BODY_BUFFER && !body->data && body->length) ||
            (body->kind == PS_BODY_FD && body->fd < 0) || (body->kind == PS_BODY_STREAM && !body->read) ||
            body->kind < PS_BODY_BUFFER || body->kind > PS_BODY_STREAM)
                return ps_error_set(err, EINVAL, "registry %s: upload of %s: invalid body source", r->host, digest);
        const char *from = o->mount_from && strcmp(o->mount_from, repo) != 0 ? o->mount_from : NULL;
        if (from && (ret = check_repo(r, from, err)) < 0)
                return ret;
        struct upl u = { .c = c, .r = r, .repo = repo, .digest = digest, .body = body, .o = o,
                         .index = index, .reported = -1 };
        if (from)
                ret = asprintf(&u.scope, "repository:%s:pull,push repository:%s:pull", repo, from);
        else
                ret = asprintf(&u.scope, "repository:%s:pull,push", repo);
        if (ret < 0)
                return ps_error_set(err, ENOMEM, "out of memory");

        if (!o->no_exists_check) {
                int64_t size = -1;
                ret = blob_head_c(c, repo, digest, u.scope, &size, err);
                if (ret < 0)
                        goto out;
                if (ret == 1) {
                        *status = PS_BLOB_EXISTED;
                        STAT_ADD(r, blobs_existed, 1);
                        report(&u, body->length);
                        ret = 0;
                        goto out;
                }
        }
        ret = start_session(&u, from, err);
        if (ret < 0)
                goto out;
        if (ret == 1) {
                *status = PS_BLOB_MOUNTED;
                STAT_ADD(r, blobs_mounted, 1);
                report(&u, body->length);
                ret = 0;
                goto out;
        }
        report(&u, 0);
        ret = o->chunk_size ? upload_chunked(&u, err) : upload_monolithic(&u, err);
        if (ret >= 0) {
                free(u.loc);
                u.loc = NULL;
                *status = PS_BLOB_UPLOADED;
                STAT_ADD(r, blobs_uploaded, 1);
                report(&u, body->length);
                ret = 0;
        } else {
                cancel_session(&u);
        }
out:
        free(u.loc);
        free(u.scope);
        free(u.chunk);
        return ret;
}

int ps_registry_blob_upload(ps_registry *r, const char *repo, const char *digest,
                            const ps_registry_body *body, const ps_registry_upload_opts *o,
                            ps_blob_status *status, ps_error *err)
{
        ps_blob_status st;
        int ret = upload_one(r->main, 0, repo, digest, body, o, &st, err);
        if (status)
                *status = st;
        return ret;
}

int ps_registry_blob_mount(ps_registry *r, const char *repo, const char *digest, const char *from,
                           ps_error *err)
{
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_repo(r, from, err)) < 0 || (ret = check_digest(r, digest, err)) < 0)
                return ret;
        static const ps_registry_upload_opts none = { 0 };
        static const ps_registry_body nobody = { .kind = PS_BODY_BUFFER, .data = "", .fd = -1 };
        struct upl u = { .c = r->main, .r = r, .repo = repo, .digest = digest, .body = &nobody, .o = &none };
        if (asprintf(&u.scope, "repository:%s:pull,push repository:%s:pull", repo, from) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        ret = start_session(&u, from, err);
        if (ret == 1)
                STAT_ADD(r, blobs_mounted, 1);
        if (ret == 0)
                cancel_session(&u);
        free(u.loc);
        free(u.scope);
        return ret;
}

/* ---- concurrent uploads ----------------------------------------------- */

struct pool {
        ps_registry *r;
        const char *repo;
        ps_registry_blob_job *jobs;
        size_t n;
        size_t *dup_of;                 /* index of the first job with the same digest, or SIZE_MAX */
        const ps_registry_upload_opts *o;
        pthread_mutex_t lock;
        size_t next;
        bool failed;
        size_t first_fail;
};

static void *worker(void *arg)
{
        struct pool *p = arg;
        struct conn *c = NULL;
        for (;;) {
                pthread_mutex_lock(&p->lock);
                size_t i = p->next;
                while (i < p->n && p->dup_of[i] != SIZE_MAX)
                        i++;
                bool stop = p->failed || i >= p->n;
                p->next = i + 1;
                pthread_mutex_unlock(&p->lock);
                if (stop)
                        break;
                ps_registry_blob_job *j = &p->jobs[i];
                int ret;
                if (!c && !(c = conn_new(p->r))) {
                        j->status = PS_BLOB_FAILED;
                        ret = ps_error_set(&j->err, ENOMEM, "out of memory");
                } else {
                        ret = upload_one(c, i, p->repo, j->digest, &j->body, p->o, &j->status, &j->err);
                }
                if (ret < 0) {
                        pthread_mutex_lock(&p->lock);
                        if (!p->failed || i < p->first_fail)
                                p->first_fail = i;
                        p->failed = true;
                        pthread_mutex_unlock(&p->lock);
                }
        }
        conn_free(c);
        return NULL;
}

int ps_registry_upload_blobs(ps_registry *r, const char *repo, ps_registry_blob_job *jobs, size_t n,
                             const ps_registry_upload_opts *o, ps_error *err)
{
        static const ps_registry_upload_opts none = { 0 };
        if (!o)
                o = &none;
        int ret = check_repo(r, repo, err);
        if (ret < 0)
                return ret;
        for (size_t i = 0; i < n; i++) {
                jobs[i].status = PS_BLOB_PENDING;
                ps_error_clear(&jobs[i].err);
                if ((ret = check_digest(r, jobs[i].digest, err)) < 0)
                        return ret;
        }
        if (n == 0)
                return 0;
        struct pool p = { .r = r, .repo = repo, .jobs = jobs, .n = n, .o = o };
        p.dup_of = malloc(n * sizeof(size_t));
        if (!p.dup_of)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t distinct = 0;
        for (size_t i = 0; i < n; i++) {
                p.dup_of[i] = SIZE_MAX;
                for (size_t k = 0; k < i; k++)
                        if (p.dup_of[k] == SIZE_MAX && strcmp(jobs[k].digest, jobs[i].digest) == 0) {
                                p.dup_of[i] = k;
                                break;
                        }
                if (p.dup_of[i] == SIZE_MAX)
                        distinct++;
        }
        pthread_mutex_init(&p.lock, NULL);
        unsigned want = o->concurrency ? o->concurrency : DEF_CONCURRENCY;
        if (want > distinct)
                want = (unsigned)distinct;
        pthread_t *th = want > 1 ? calloc(want - 1, sizeof(pthread_t)) : NULL;
        unsigned started = 0;
        for (unsigned t = 0; th && t + 1 < want; t++) {
                if (pthread_create(&th[t], NULL, worker, &p) != 0)
                        break;          /* run with fewer workers */
                started++;
        }
        worker(&p);                     /* this thread works too */
        for (unsigned t = 0; t < started; t++)
                pthread_join(th[t], NULL);
        free(th);
        for (size_t i = 0; i < n; i++)
                if (p.dup_of[i] != SIZE_MAX)
                        jobs[i].status = jobs[p.dup_of[i]].status;
        if (p.failed) {
                ps_registry_blob_job *j = &jobs[p.first_fail];
                ret = ps_error_set(err, j->err.code ? j->err.code : EIO, "uploading blob %s to %s: %s", j->digest,
                                   repo, ps_error_msg(&j->err));
        } else {
                ret = 0;
        }
        pthread_mutex_destroy(&p.lock);
        free(p.dup_of);
        return ret;
}

/* ---- manifests -------------------------------------------------------- */

static int check_ref(const ps_registry *r, const char *ref, ps_error *err)
{
        if (!ps_registry_valid_tag(ref) && !ps_registry_valid_digest(ref))
                return ps_error_set(err, EINVAL, "registry %s: invalid tag or digest \"%s\"", r->host,
                                    ref ? ref : "");
        return 0;
}

static char *accept_header(const char *const *accept)
{
        static const char *const def[] = {
                PS_REGISTRY_MT_OCI_MANIFEST, PS_REGISTRY_MT_OCI_INDEX,
                PS_REGISTRY_MT_DOCKER_MANIFEST, PS_REGISTRY_MT_DOCKER_LIST, NULL,
        };
        if (!accept)
                accept = def;
        struct membuf b = { .max = 64 * 1024 };
        int r = membuf_append(&b, "Accept: ", 8);
        for (size_t i = 0; accept[i] && r >= 0; i++) {
                if (strpbrk(accept[i], "\r\n")) {
                        membuf_free(&b);
                        return NULL;
                }
                if (i)
                        r = membuf_append(&b, ", ", 2);
                if (r >= 0)
                        r = membuf_append(&b, accept[i], strlen(accept[i]));
        }
        if (r < 0) {
                membuf_free(&b);
                return NULL;
        }
        return b.data;
}

void ps_registry_manifest_free(ps_registry_manifest *m)
{
        if (!m)
                return;
        free(m->data);
        free(m->media_type);
        free(m->digest);
        memset(m, 0, sizeof(*m));
}

static char *media_type_of(const char *content_type, const char *data, size_t len)
{
        if (content_type) {
                size_t l = strcspn(content_type, ";");
                while (l && content_type[l - 1] == ' ')
                        l--;
                if (l && !(l == 16 && strncasecmp(content_type, "application/json", 16) == 0) &&
                    !(l == 10 && strncasecmp(content_type, "text/plain", 10) == 0)) {
                        char *m = strndup(content_type, l);
                        if (m)
                                sanitize(m);
                        return m;
                }
        }
        json_error_t je;
        json_t *j = json_loadb(data, len, 0, &je);
        const char *mt = json_string_value(json_object_get(j, "mediaType"));
        char *m = strdup(mt ? mt : "");
        json_decref(j);
        if (m)
                sanitize(m);
        return m;
}

int ps_registry_manifest_get(ps_registry *r, const char *repo, const char *ref,
                             const char *const *accept, ps_registry_manifest *out, ps_error *err)
{
        memset(out, 0, sizeof(*out));
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_ref(r, ref, err)) < 0)
                return ret;
        bool by_digest = ps_registry_valid_digest(ref);
        _cleanup_free_ char *dg = NULL;
        _cleanup_free_ char *acc = accept_header(accept);
        _cleanup_free_ char *scope = scope_for(repo, "pull");
        _cleanup_free_ char *url = NULL;
        if (!acc || !scope || asprintf(&url, "%s/v2/%s/manifests/%s", r->base, repo, ref) < 0) {
                url = NULL;
                return ps_error_set(err, ENOMEM, "out of memory (or an invalid Accept list)");
        }
        const char *hdrs[] = { acc, NULL };
        struct req q = { .method = "GET", .url = url, .scope = scope, .headers = hdrs, .inline_retry = true,
                         .body_max = PS_REGISTRY_MANIFEST_MAX };
        struct resp s;
        resp_init(&s, PS_REGISTRY_MANIFEST_MAX);
        ret = do_request(r->main, &q, &s, err);
        if (ret < 0)
                goto out;
        if (s.status != 200) {
                ret = fail_http(r->main, &q, &s, err);
                goto out;
        }
        if (!s.body.data && membuf_append(&s.body, "", 0) < 0) {
                ret = ps_error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        dg = by_digest ? digest_like(ref, s.body.data, s.body.len)
                       : ps_registry_digest_of("sha256", s.body.data, s.body.len);
        if (!dg) {
                ret = ps_error_set(err, by_digest ? ENOTSUP : ENOMEM,
                                   "registry %s: cannot compute the digest of manifest %s", r->host, ref);
                goto out;
        }
        if (by_digest && strcmp(dg, ref) != 0) {
                ret = ps_error_set(err, EBADMSG, "registry %s: manifest %s@%s: the bytes received have digest %s",
                                   r->host, repo, ref, dg);
                goto out;
        }
        if (!by_digest && s.digest && strncmp(s.digest, "sha256:", 7) == 0 && strcmp(s.digest, dg) != 0) {
                ret = ps_error_set(err, EBADMSG,
                                   "registry %s: manifest %s:%s: Docker-Content-Digest %.200s, but the bytes have digest %s",
                                   r->host, repo, ref, s.digest, dg);
                goto out;
        }
        out->media_type = media_type_of(s.content_type, s.body.data, s.body.len);
        if (!out->media_type) {
                ret = ps_error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        out->len = s.body.len;
        out->data = steal_pointer(&s.body.data);
        out->digest = steal_pointer(&dg);
        ret = 0;
out:
        resp_free(&s);
        if (ret < 0)
                ps_registry_manifest_free(out);
        return ret;
}

int ps_registry_manifest_head(ps_registry *r, const char *repo, const char *ref, char **digest,
                              int64_t *size, ps_error *err)
{
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_ref(r, ref, err)) < 0)
                return ret;
        _cleanup_free_ char *acc = accept_header(NULL);
        _cleanup_free_ char *scope = scope_for(repo, "pull");
        _cleanup_free_ char *url = NULL;
        if (!acc || !scope || asprintf(&url, "%s/v2/%s/manifests/%s", r->base, repo, ref) < 0) {
                url = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        const char *hdrs[] = { acc, NULL };
        struct req q = { .method = "HEAD", .url = url, .scope = scope, .headers = hdrs, .inline_retry = true };
        struct resp s;
        resp_init(&s, 0);
        ret = do_request(r->main, &q, &s, err);
        if (ret >= 0) {
                if (s.status == 200) {
                        if (digest) {
                                *digest = s.digest && ps_registry_valid_digest(s.digest) ? strdup(s.digest) : NULL;
                        }
                        if (size)
                                *size = s.content_length;
                        ret = 1;
                } else if (s.status == 404) {
                        ret = 0;
                } else {
                        ret = fail_http(r->main, &q, &s, err);
                }
        }
        resp_free(&s);
        return ret;
}

int ps_registry_manifest_put(ps_registry *r, const char *repo, const char *ref, const char *media_type,
                             const void *data, size_t len, char **digest, ps_error *err)
{
        if (digest)
                *digest = NULL;
        int ret = check_repo(r, repo, err);
        if (ret < 0 || (ret = check_ref(r, ref, err)) < 0)
                return ret;
        if (!media_type || !*media_type || strpbrk(media_type, "\r\n"))
                return ps_error_set(err, EINVAL, "registry %s: manifest for %s: invalid media type", r->host, repo);
        if (len > PS_REGISTRY_MANIFEST_MAX)
                return ps_error_set(err, EFBIG, "registry %s: manifest for %s: %zu bytes is larger than %u",
                                    r->host, repo, len, PS_REGISTRY_MANIFEST_MAX);
        _cleanup_free_ char *dg = ps_registry_digest_of("sha256", data, len);
        if (!dg)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (ps_registry_valid_digest(ref)) {
                _cleanup_free_ char *want = digest_like(ref, data, len);
                if (!want || strcmp(want, ref) != 0)
                        return ps_error_set(err, EINVAL,
                                            "registry %s: manifest for %s@%s: the bytes have digest %s",
                                            r->host, repo, ref, want ? want : dg);
        }
        _cleanup_free_ char *ct = NULL, *url = NULL, *scope = scope_for(repo, "pull,push");
        if (!scope || asprintf(&ct, "Content-Type: %s", media_type) < 0 ||
            asprintf(&url, "%s/v2/%s/manifests/%s", r->base, repo, ref) < 0) {
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        const char *hdrs[] = { ct, NULL };
        ps_registry_body body = ps_registry_body_buffer(data, len);
        struct src src = { .body = &body, .start = 0, .end = (int64_t)len };
        struct req q = { .method = "PUT", .url = url, .scope = scope, .headers = hdrs, .src = &src,
                         .inline_retry = true };
        struct resp s;
        resp_init(&s, 0);
        ret = do_request(r->main, &q, &s, err);
        if (ret < 0)
                goto out;
        if (s.status != 201 && s.status != 200) {
                ret = fail_http(r->main, &q, &s, err);
                goto out;
        }
        if (s.digest && strcmp(s.digest, dg) != 0) {
                ret = ps_error_set(err, EBADMSG,
                                   "registry %s: PUT manifest %s:%s: the registry reports digest %.200s, but the bytes sent have digest %s",
                                   r->host, repo, ref, s.digest, dg);
                goto out;
        }
        if (digest)
                *digest = steal_pointer(&dg);
        ret = 0;
out:
        resp_free(&s);
        return ret;
}

/* ---- lists ------------------------------------------------------------ */

static int get_list(ps_registry *r, const char *first_url, const char *scope, const char *field,
                    char ***out, ps_error *err)
{
        *out = NULL;
        char **v = NULL;
        size_t nv = 0;
        _cleanup_free_ char *url = strdup(first_url);
        int ret = url ? 0 : ps_error_set(err, ENOMEM, "out of memory");
        for (int page = 0; ret >= 0 && url; page++) {
                if (page >= MAX_PAGES) {
                        ret = ps_error_set(err, ELOOP, "registry %s: more than %d pages of %s", r->host, MAX_PAGES,
                                           field);
                        break;
                }
                struct req q = { .method = "GET", .url = url, .scope = scope, .inline_retry = true,
                                 .body_max = LIST_BODY_MAX };
                struct resp s;
                resp_init(&s, LIST_BODY_MAX);
                ret = do_request(r->main, &q, &s, err);
                if (ret >= 0 && s.status != 200)
                        ret = fail_http(r->main, &q, &s, err);
                if (ret >= 0) {
                        json_error_t je;
                        json_t *j = json_loadb(s.body.data ? s.body.data : "", s.body.len, JSON_REJECT_DUPLICATES,
                                               &je);
                        json_t *arr = json_object_get(j, field);
                        if (!j || !(json_is_array(arr) || json_is_null(arr) || !arr)) {
                                _cleanup_free_ char *path = url_for_msg(r, url);
                                ret = ps_error_set(err, EPROTO, "registry %s: GET %s: not a %s list%s%s", r->host,
                                                   path, field, j ? "" : ": ", j ? "" : je.text);
                        } else {
                                size_t i;
                                json_t *e;
                                json_array_foreach(arr, i, e) {
                                        const char *str = json_string_value(e);
                                        if (str && (ret = strv_push(&v, &nv, str)) < 0) {
                                                ps_error_set(err, ENOMEM, "out of memory");
                                                break;
                                        }
                                }
                        }
                        json_decref(j);
                }
                char *next = NULL;
                if (ret >= 0 && s.link) {
                        _cleanup_free_ char *target = ps_registry_link_next(s.link);
                        if (target)
                                next = ps_registry_resolve_url(url, target);
                }
                resp_free(&s);
                free(url);
                url = next;
        }
        if (ret < 0) {
                for (size_t i = 0; i < nv; i++)
                        free(v[i]);
                free(v);
                return ret;
        }
        if (!v && !(v = calloc(1, sizeof(char *))))
                return ps_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < nv; i++)
                sanitize(v[i]);
        *out = v;
        return 0;
}

int ps_registry_tags(ps_registry *r, const char *repo, char ***out, ps_error *err)
{
        *out = NULL;
        int ret = check_repo(r, repo, err);
        if (ret < 0)
                return ret;
        _cleanup_free_ char *url = NULL, *scope = scope_for(repo, "pull");
        if (!scope || asprintf(&url, "%s/v2/%s/tags/list", r->base, repo) < 0) {
                url = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return get_list(r, url, scope, "tags", out, err);
}

int ps_registry_catalog(ps_registry *r, char ***out, ps_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s/v2/_catalog", r->base) < 0) {
                url = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return get_list(r, url, "registry:catalog:*", "repositories", out, err);
}
