/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker image references (see reference.h for the grammar).  The regular
 * expressions of c/image are implemented as small hand-written matchers;
 * the comments say which production each one is. */
#include "reference.h"
#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_word(char c)
{
        return is_alnum(c) || c == '_';
}

/* component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"* ) [a-z0-9]+ )* */
bool ps_reference_valid_component(const char *s, size_t len)
{
        size_t i = 0;
        if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
                return false;
        while (i < len) {
                while (i < len && is_lower_alnum(s[i]))
                        i++;
                if (i == len)
                        return true;
                /* a separator, then another alphanumeric run */
                size_t start = i;
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i++;
                        if (i < len && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < len && s[i] == '-')
                                i++;
                } else {
                        return false;
                }
                if (i == start || i == len || !is_lower_alnum(s[i]))
                        return false;
        }
        return true;
}

/* dcomp := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool valid_domain_component(const char *s, size_t len)
{
        if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
                return false;
        for (size_t i = 1; i + 1 < len; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

/* dcomp ( "." dcomp )* */
bool ps_reference_valid_hostname(const char *s, size_t len)
{
        size_t start = 0;
        for (size_t i = 0; i <= len; i++) {
                if (i == len || s[i] == '.') {
                        if (!valid_domain_component(s + start, i - start))
                                return false;
                        start = i + 1;
                }
        }
        return true;
}

/* domain := hostname [ ":" [0-9]+ ]; with PS_REF_ALLOW_IPV6 the host may
 * also be "[" [a-fA-F0-9:]+ "]". */
bool ps_reference_valid_domain(const char *s, size_t len, unsigned flags)
{
        size_t host_len;
        if (len > 0 && s[0] == '[' && (flags & PS_REF_ALLOW_IPV6)) {
                const char *close = memchr(s, ']', len);
                if (!close || close == s + 1)
                        return false;
                for (const char *p = s + 1; p < close; p++)
                        if (!is_xdigit(*p) && *p != ':')
                                return false;
                host_len = (size_t)(close - s) + 1;
        } else {
                const char *colon = memchr(s, ':', len);
                host_len = colon ? (size_t)(colon - s) : len;
                if (!ps_reference_valid_hostname(s, host_len))
                        return false;
        }
        if (host_len == len)
                return true;
        if (s[host_len] != ':' || host_len + 1 == len)
                return false;
        for (size_t i = host_len + 1; i < len; i++)
                if (!is_digit(s[i]))
                        return false;
        return true;
}

/* tag := [\w][\w.-]{0,127} */
static bool valid_tag_n(const char *s, size_t len)
{
        if (len == 0 || len > 128 || !is_word(s[0]))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

bool ps_reference_valid_tag(const char *s)
{
        return s && valid_tag_n(s, strlen(s));
}

/* digest (the reference grammar's DigestRegexp):
 *   [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,} */
static bool match_digest_pattern(const char *s, size_t len)
{
        const char *colon = memchr(s, ':', len);
        if (!colon)
                return false;
        size_t alen = (size_t)(colon - s), i = 0;
        bool need_alpha = true;
        for (i = 0; i < alen; i++) {
                char c = s[i];
                if (need_alpha) {
                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                                return false;
                        need_alpha = false;
                } else if (c == '-' || c == '_' || c == '+' || c == '.') {
                        need_alpha = true;
                } else if (!is_alnum(c)) {
                        return false;
                }
        }
        if (alen == 0 || need_alpha)
                return false;
        size_t hlen = len - alen - 1;
        if (hlen < 32)
                return false;
        for (i = alen + 1; i < len; i++)
                if (!is_xdigit(s[i]))
                        return false;
        return true;
}

/* go-digest DigestRegexp: [a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+ */
static bool match_godigest_pattern(const char *s, size_t len)
{
        const char *colon = memchr(s, ':', len);
        if (!colon)
                return false;
        size_t alen = (size_t)(colon - s);
        bool need = true;
        for (size_t i = 0; i < alen; i++) {
                char c = s[i];
                if (is_lower_alnum(c))
                        need = false;
                else if (!need && (c == '.' || c == '+' || c == '_' || c == '-'))
                        need = true;
                else
                        return false;
        }
        if (alen == 0 || need || alen + 1 == len)
                return false;
        for (size_t i = alen + 1; i < len; i++)
                if (!is_alnum(s[i]) && s[i] != '=' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

int ps_reference_check_digest(const char *s, ps_error *err)
{
        static const struct { const char *algo; size_t hex; } algos[] = {
                { "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 },
        };
        size_t len = strlen(s);
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || colon[1] == '\0')
                return ps_error_set(err, EINVAL, "invalid digest \"%s\": invalid checksum digest format", s);
        size_t alen = (size_t)(colon - s);
        size_t want = 0;
        for (size_t i = 0; i < PS_ARRAY_SIZE(algos); i++)
                if (strlen(algos[i].algo) == alen && !memcmp(s, algos[i].algo, alen))
                        want = algos[i].hex;
        if (!want) {
                if (!match_godigest_pattern(s, len))
                        return ps_error_set(err, EINVAL, "invalid digest \"%s\": invalid checksum digest format", s);
                return ps_error_set(err, EINVAL, "invalid digest \"%s\": unsupported digest algorithm", s);
        }
        const char *hex = colon + 1;
        if (strlen(hex) != want)
                return ps_error_set(err, EINVAL, "invalid digest \"%s\": invalid checksum digest length", s);
        for (const char *p = hex; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return ps_error_set(err, EINVAL, "invalid digest \"%s\": invalid checksum digest format", s);
        return 0;
}

/* Does the name N (len bytes) match NameRegexp?  *domain_len gets the
 * length of the domain capture of anchoredNameRegexp (0 when none). */
static bool match_name(const char *n, size_t len, unsigned flags, size_t *domain_len)
{
        const char *slash = memchr(n, '/', len);
        *domain_len = 0;
        if (len == 0)
                return false;
        /* all components after the first must be name components */
        size_t first_len = slash ? (size_t)(slash - n) : len;
        size_t start = first_len + 1;
        bool rest_ok = true;
        if (slash) {
                for (size_t i = start; i <= len; i++) {
                        if (i == len || n[i] == '/') {
                                if (!ps_reference_valid_component(n + start, i - start)) {
                                        rest_ok = false;
                                        break;
                                }
                                start = i + 1;
                        }
                }
        }
        if (!rest_ok)
                return false;
        if (slash && ps_reference_valid_domain(n, first_len, flags)) {
                *domain_len = first_len;
                return true;
        }
        return ps_reference_valid_component(n, first_len);
}

bool ps_reference_valid_name(const char *s, size_t len)
{
        size_t dl;
        return match_name(s, len, 0, &dl);
}

typedef struct ref_match {
        size_t name_len, domain_len;
        const char *tag;        /* within the string, or NULL */
        size_t tag_len;
        const char *digest;     /* within the string, or NULL */
        size_t digest_len;
} ref_match;

/* ReferenceRegexp, anchored: name [":" tag] ["@" digest].  The grammar is
 * unambiguous once split at the only '@' and at a ':' after the last '/'. */
static bool match_reference(const char *s, unsigned flags, ref_match *m)
{
        memset(m, 0, sizeof(*m));
        size_t len = strlen(s);
        const char *at = strchr(s, '@');
        size_t left = len;
        if (at) {
                if (strchr(at + 1, '@'))
                        return false;
                left = (size_t)(at - s);
                m->digest = at + 1;
                m->digest_len = len - left - 1;
                if (!match_digest_pattern(m->digest, m->digest_len))
                        return false;
        }
        const char *last_slash = NULL, *last_colon = NULL;
        for (size_t i = 0; i < left; i++) {
                if (s[i] == '/')
                        last_slash = s + i;
                else if (s[i] == ':')
                        last_colon = s + i;
        }
        /* a ']' after the last ':' means the ':' is inside an IPv6 host */
        if (last_colon && (!last_slash || last_colon > last_slash) &&
            !memchr(last_colon, ']', (size_t)(s + left - last_colon))) {
                m->tag = last_colon + 1;
                m->tag_len = (size_t)(s + left - m->tag);
                if (!valid_tag_n(m->tag, m->tag_len))
                        return false;
                left = (size_t)(last_colon - s);
        }
        m->name_len = left;
        return match_name(s, left, flags, &m->domain_len);
}

static char *strndup_checked(const char *s, size_t n)
{
        return strndup(s, n);
}

void ps_reference_free(ps_reference *ref)
{
        if (!ref)
                return;
        free(ref->name);
        free(ref->domain);
        free(ref->path);
        free(ref->tag);
        free(ref->digest);
        memset(ref, 0, sizeof(*ref));
}

/* c/image reference.Parse on an already domain-expanded string. */
static int parse_full(const char *input, const char *s, unsigned flags, ps_reference *ref, ps_error *err)
{
        ref_match m;
        if (!match_reference(s, flags, &m)) {
                if (!*s)
                        return ps_error_set(err, EINVAL, "invalid reference \"%s\": repository name must have at least one component", input);
                _cleanup_free_ char *lower = strdup(s);
                if (!lower)
                        return ps_error_set(err, ENOMEM, "out of memory");
                for (char *p = lower; *p; p++)
                        if (*p >= 'A' && *p <= 'Z')
                                *p = (char)(*p - 'A' + 'a');
                ref_match m2;
                if (match_reference(lower, flags, &m2))
                        return ps_error_set(err, EINVAL, "invalid reference \"%s\": repository name must be lowercase", input);
                return ps_error_set(err, EINVAL, "invalid reference \"%s\": invalid reference format", input);
        }
        if (m.name_len > PS_REF_NAME_MAX)
                return ps_error_set(err, EINVAL, "invalid reference \"%s\": repository name must not be more than %d characters",
                                    input, PS_REF_NAME_MAX);
        ps_reference r = { 0 };
        if (m.digest) {
                _cleanup_free_ char *d = strndup_checked(m.digest, m.digest_len);
                if (!d)
                        return ps_error_set(err, ENOMEM, "out of memory");
                ps_error derr = PS_ERROR_INIT;
                if (ps_reference_check_digest(d, &derr) < 0) {
                        const char *why = strstr(ps_error_msg(&derr), "\": ");
                        ps_error_set(err, EINVAL, "invalid reference \"%s\": %s", input,
                                     why ? why + 3 : ps_error_msg(&derr));
                        ps_error_clear(&derr);
                        return -EINVAL;
                }
                r.digest = steal_pointer(&d);
        }
        r.name = strndup_checked(s, m.name_len);
        if (m.domain_len) {
                r.domain = strndup_checked(s, m.domain_len);
                r.path = strndup_checked(s + m.domain_len + 1, m.name_len - m.domain_len - 1);
        } else {
                r.domain = strdup("");
                r.path = strndup_checked(s, m.name_len);
        }
        if (m.tag)
                r.tag = strndup_checked(m.tag, m.tag_len);
        if (!r.name || !r.domain || !r.path || (m.tag && !r.tag)) {
                ps_reference_free(&r);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        *ref = r;
        return 0;
}

int ps_reference_parse_flags(const char *s, unsigned flags, ps_reference *ref, ps_error *err)
{
        memset(ref, 0, sizeof(*ref));
        if (!s)
                return ps_error_set(err, EINVAL, "invalid reference: none given");
        /* anchoredIdentifierRegexp: a bare 64-hex image ID */
        size_t len = strlen(s);
        if (len == 64) {
                size_t i;
                for (i = 0; i < 64 && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')); i++)
                        ;
                if (i == 64)
                        return ps_error_set(err, EINVAL,
                                            "invalid reference \"%s\": invalid repository name, cannot specify 64-byte hexadecimal strings", s);
        }
        /* splitDockerDomain */
        const char *slash = strchr(s, '/');
        const char *domain = "docker.io";
        size_t domain_len = strlen(domain);
        const char *rest = s;
        if (slash) {
                size_t fl = (size_t)(slash - s);
                bool hostlike = memchr(s, '.', fl) || memchr(s, ':', fl) ||
                                (fl == 9 && !memcmp(s, "localhost", 9));
                if (hostlike) {
                        domain = s;
                        domain_len = fl;
                        rest = slash + 1;
                }
        }
        if (domain_len == 15 && !memcmp(domain, "index.docker.io", 15)) {
                domain = "docker.io";
                domain_len = 9;
        }
        bool add_library = domain_len == 9 && !memcmp(domain, "docker.io", 9) && !strchr(rest, '/');
        /* the repository part (up to the first ':') must be lowercase */
        for (const char *p = rest; *p && *p != ':'; p++)
                if (*p >= 'A' && *p <= 'Z')
                        return ps_error_set(err, EINVAL, "invalid reference \"%s\": repository name must be lowercase", s);
        _cleanup_free_ char *full = NULL;
        if (asprintf(&full, "%.*s/%s%s", (int)domain_len, domain, add_library ? "library/" : "", rest) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        return parse_full(s, full, flags, ref, err);
}

int ps_reference_parse(const char *s, ps_reference *ref, ps_error *err)
{
        return ps_reference_parse_flags(s, 0, ref, err);
}

char *ps_reference_string(const ps_reference *ref)
{
        char *r = NULL;
        if (asprintf(&r, "%s%s%s%s%s", ref->name,
                     ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                     ref->digest ? "@" : "", ref->digest ? ref->digest : "") < 0)
                return NULL;
        return r;
}

char *ps_reference_familiar(const ps_reference *ref)
{
        const char *name = ref->name;
        if (!strcmp(ref->domain, "docker.io")) {
                name = ref->path;
                if (!strncmp(name, "library/", 8) && !strchr(name + 8, '/'))
                        name += 8;
        }
        char *r = NULL;
        if (asprintf(&r, "%s%s%s%s%s", name,
                     ref->tag ? ":" : "", ref->tag ? ref->tag : "",
                     ref->digest ? "@" : "", ref->digest ? ref->digest : "") < 0)
                return NULL;
        return r;
}

int ps_reference_identity(const ps_reference *ref, char **out, ps_error *err)
{
        *out = NULL;
        if (ref->tag && ref->digest)
                return ps_error_set(err, EINVAL,
                                    "invalid reference \"%s:%s@%s\": Docker references with both a tag and digest are currently not supported",
                                    ref->name, ref->tag, ref->digest);
        int r;
        if (ref->digest)
                r = asprintf(out, "%s@%s", ref->name, ref->digest);
        else
                r = asprintf(out, "%s:%s", ref->name, ref->tag ? ref->tag : "latest");
        if (r < 0) {
                *out = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

static bool strv_push(char ***v, size_t *n, char *s)
{
        if (!s)
                return false;
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return false;
        }
        nv[(*n)++] = s;
        nv[*n] = NULL;
        *v = nv;
        return true;
}

char **ps_reference_namespaces(const ps_reference *ref, size_t *n_names)
{
        _cleanup_strv_ char **v = calloc(1, sizeof(char *));
        size_t n = 0;
        if (!v)
                return NULL;
        size_t len = strlen(ref->name);
        /* the name, then each parent, ending with the first component */
        for (;;) {
                if (!strv_push(&v, &n, strndup(ref->name, len)))
                        return NULL;
                const char *slash = memrchr(ref->name, '/', len);
                if (!slash)
                        break;
                len = (size_t)(slash - ref->name);
        }
        if (n_names)
                *n_names = n;
        /* wildcards from the host without the port */
        const char *host = ref->name;
        const char *colon = memchr(host, ':', len);
        if (colon)
                len = (size_t)(colon - host);
        for (;;) {
                const char *dot = memchr(host, '.', len);
                if (!dot)
                        break;
                len -= (size_t)(dot + 1 - host);
                host = dot + 1;
                char *w = NULL;
                if (asprintf(&w, "*.%.*s", (int)len, host) < 0)
                        return NULL;
                if (!strv_push(&v, &n, w))
                        return NULL;
        }
        return steal_pointer(&v);
}
