/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "signature.h"
#include "cleanup.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void ps_json_decrefp(json_t **j)
{
        if (*j)
                json_decref(*j);
}
#define _cleanup_json_ _cleanup_(ps_json_decrefp)

/* ---- validators -------------------------------------------------------- */

static bool is_lower_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

bool ps_sig_digest_valid(const char *d)
{
        static const struct { const char *algo; size_t hexlen; } algos[] = {
                { "sha256", 64 }, { "sha384", 96 }, { "sha512", 128 },
        };
        if (!d)
                return false;
        const char *colon = strchr(d, ':');
        if (!colon)
                return false;
        size_t alen = (size_t)(colon - d);
        for (size_t i = 0; i < PS_ARRAY_SIZE(algos); i++)
                if (alen == strlen(algos[i].algo) && memcmp(d, algos[i].algo, alen) == 0)
                        return strlen(colon + 1) == algos[i].hexlen && is_lower_hex(colon + 1, algos[i].hexlen);
        return false;
}

static bool is_alnum_lower(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_alnum_lower(c) || (c >= 'A' && c <= 'Z');
}

/* path-component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
bool ps_sig_path_component_valid(const char *s, size_t n)
{
        size_t i = 0;
        if (n == 0 || !is_alnum_lower(s[0]))
                return false;
        while (i < n) {
                while (i < n && is_alnum_lower(s[i]))
                        i++;
                if (i == n)
                        return true;
                size_t sep = i;
                if (s[i] == '.') {
                        i++;
                } else if (s[i] == '_') {
                        i++;
                        if (i < n && s[i] == '_')
                                i++;
                } else if (s[i] == '-') {
                        while (i < n && s[i] == '-')
                                i++;
                } else {
                        return false;
                }
                if (i == n || !is_alnum_lower(s[i]) || i == sep)
                        return false;
        }
        return true;
}

/* domain := dcomp ("." dcomp)* [":" port]; dcomp := [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static bool valid_domain(const char *s, size_t n)
{
        const char *colon = memchr(s, ':', n);
        size_t hn = colon ? (size_t)(colon - s) : n;
        if (colon) {
                size_t pn = n - hn - 1;
                if (pn == 0)
                        return false;
                for (size_t i = 0; i < pn; i++)
                        if (colon[1 + i] < '0' || colon[1 + i] > '9')
                                return false;
        }
        size_t i = 0;
        while (i < hn) {
                size_t start = i;
                while (i < hn && s[i] != '.')
                        i++;
                size_t len = i - start;
                if (len == 0 || !is_alnum(s[start]) || !is_alnum(s[i - 1]))
                        return false;
                for (size_t k = start; k < i; k++)
                        if (!is_alnum(s[k]) && s[k] != '-')
                                return false;
                if (i < hn) {
                        i++;            /* the dot */
                        if (i == hn)
                                return false;
                }
        }
        return hn > 0;
}

static bool valid_tag(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool word = is_alnum(c) || c == '_';
                if (!(word || (i > 0 && (c == '.' || c == '-'))))
                        return false;
        }
        return true;
}

int ps_sig_reference_check(const char *ref, ps_error *err)
{
        if (!ref || !*ref)
                return ps_error_set(err, EINVAL, "empty docker reference");
        _cleanup_free_ char *s = strdup(ref);
        if (!s)
                return ps_error_set(err, ENOMEM, "out of memory");
        char *at = strchr(s, '@');
        if (at) {
                *at = '\0';
                if (!ps_sig_digest_valid(at + 1))
                        return ps_error_set(err, EINVAL, "invalid digest \"%s\" in docker reference \"%s\"", at + 1,
                                            ref);
        }
        char *slash = strchr(s, '/');
        if (!slash)
                return ps_error_set(err, EINVAL,
                                    "docker reference \"%s\" is not fully expanded (expected HOST/PATH[:TAG])", ref);
        char *lastslash = strrchr(s, '/');
        char *colon = strchr(lastslash, ':');
        if (colon) {
                *colon = '\0';
                if (!valid_tag(colon + 1))
                        return ps_error_set(err, EINVAL, "invalid tag \"%s\" in docker reference \"%s\"", colon + 1,
                                            ref);
        }
        size_t hostlen = (size_t)(slash - s);
        bool hostlike = memchr(s, '.', hostlen) || memchr(s, ':', hostlen) ||
                        (hostlen == 9 && memcmp(s, "localhost", 9) == 0);
        if (!hostlike)
                return ps_error_set(err, EINVAL,
                                    "docker reference \"%s\" is not fully expanded: \"%.*s\" is not a registry host "
                                    "(write e.g. docker.io/%s)", ref, (int)hostlen, s, s);
        if (!valid_domain(s, hostlen))
                return ps_error_set(err, EINVAL, "invalid registry host \"%.*s\" in docker reference \"%s\"",
                                    (int)hostlen, s, ref);
        if (strlen(s) > 255)
                return ps_error_set(err, EINVAL, "repository name in docker reference \"%s\" is longer than 255 "
                                    "characters", ref);
        for (char *p = slash + 1;;) {
                char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (!ps_sig_path_component_valid(p, n))
                        return ps_error_set(err, EINVAL,
                                            "invalid repository path component \"%.*s\" in docker reference \"%s\" "
                                            "(lowercase letters, digits and . _ __ - separators)", (int)n, p, ref);
                if (!e)
                        break;
                p = e + 1;
        }
        return 0;
}

/* ---- payload parsing --------------------------------------------------- */

#define BAD(...) ps_error_set(err, EBADMSG, "invalid signature payload: " __VA_ARGS__)

/* OBJ must have exactly the members NAMES (all present, nothing else). */
static int exact_members(json_t *obj, const char *where, const char *const *names, size_t n, ps_error *err)
{
        if (!json_is_object(obj))
                return BAD("%s is not a JSON object", where);
        const char *key;
        json_t *val;
        json_object_foreach(obj, key, val) {
                bool known = false;
                for (size_t i = 0; i < n && !known; i++)
                        known = strcmp(key, names[i]) == 0;
                if (!known)
                        return BAD("unknown member \"%s\" in %s", key, where);
        }
        for (size_t i = 0; i < n; i++)
                if (!json_object_get(obj, names[i]))
                        return BAD("member \"%s\" missing in %s", names[i], where);
        return 0;
}

void ps_sig_payload_clear(ps_sig_payload *p)
{
        if (!p)
                return;
        free(p->docker_reference);
        free(p->manifest_digest);
        free(p->creator);
        memset(p, 0, sizeof *p);
}

int ps_sig_payload_parse(const void *data, size_t len, ps_sig_payload *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        if (len > PS_SIG_PAYLOAD_MAX)
                return BAD("%zu bytes, more than the limit of %zu", len, PS_SIG_PAYLOAD_MAX);
        json_error_t jerr;
        _cleanup_json_ json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return BAD("%s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        static const char *const top_names[] = { "critical", "optional" };
        int r = exact_members(root, "the top-level object", top_names, PS_ARRAY_SIZE(top_names), err);
        if (r < 0)
                return r;

        json_t *optional = json_object_get(root, "optional");
        if (!json_is_object(optional))
                return BAD("\"optional\" is not a JSON object");
        ps_sig_payload p = { 0 };
        json_t *creator = json_object_get(optional, "creator");
        if (creator && !json_is_null(creator) && !json_is_string(creator))
                return BAD("optional.creator is not a string");
        json_t *ts = json_object_get(optional, "timestamp");
        if (ts && !json_is_null(ts)) {
                if (json_is_integer(ts)) {
                        p.timestamp = (int64_t)json_integer_value(ts);
                } else if (json_is_real(ts)) {
                        double d = json_real_value(ts);
                        /* c/image: float64 whose int64 conversion is exact */
                        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d))
                                return BAD("optional.timestamp is not an integer");
                        p.timestamp = (int64_t)d;
                } else {
                        return BAD("optional.timestamp is not a number");
                }
                p.has_timestamp = true;
        }

        json_t *critical = json_object_get(root, "critical");
        static const char *const crit_names[] = { "type", "image", "identity" };
        r = exact_members(critical, "\"critical\"", crit_names, PS_ARRAY_SIZE(crit_names), err);
        if (r < 0)
                return r;
        json_t *type = json_object_get(critical, "type");
        if (!json_is_string(type))
                return BAD("critical.type is not a string");
        if (strcmp(json_string_value(type), PS_SIG_TYPE) != 0 || json_string_length(type) != strlen(PS_SIG_TYPE))
                return BAD("unrecognized signature type \"%s\" (expected \"" PS_SIG_TYPE "\")",
                           json_string_value(type));

        json_t *image = json_object_get(critical, "image");
        static const char *const image_names[] = { "docker-manifest-digest" };
        r = exact_members(image, "critical.image", image_names, 1, err);
        if (r < 0)
                return r;
        json_t *dig = json_object_get(image, "docker-manifest-digest");
        if (!json_is_string(dig))
                return BAD("critical.image.docker-manifest-digest is not a string");
        if (!ps_sig_digest_valid(json_string_value(dig)))
                return BAD("invalid docker-manifest-digest \"%s\"", json_string_value(dig));

        json_t *identity = json_object_get(critical, "identity");
        static const char *const id_names[] = { "docker-reference" };
        r = exact_members(identity, "critical.identity", id_names, 1, err);
        if (r < 0)
                return r;
        json_t *ref = json_object_get(identity, "docker-reference");
        if (!json_is_string(ref))
                return BAD("critical.identity.docker-reference is not a string");

        p.manifest_digest = strdup(json_string_value(dig));
        p.docker_reference = strdup(json_string_value(ref));
        if (creator && json_is_string(creator))
                p.creator = strdup(json_string_value(creator));
        if (!p.manifest_digest || !p.docker_reference || (json_is_string(creator) && !p.creator)) {
                ps_sig_payload_clear(&p);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        *out = p;
        return 0;
}

/* ---- payload building -------------------------------------------------- */

int ps_sig_payload_build(const char *docker_reference, const char *manifest_digest, const char *creator,
                         int64_t timestamp, char **out, size_t *lenp, ps_error *err)
{
        int r = ps_sig_reference_check(docker_reference, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot build a signature payload");
        if (!ps_sig_digest_valid(manifest_digest))
                return ps_error_set(err, EINVAL, "cannot build a signature payload: invalid manifest digest \"%s\"",
                                    manifest_digest ? manifest_digest : "(null)");
        if (timestamp < 0)
                timestamp = (int64_t)time(NULL);
        if (!creator)
                creator = "podsec " PODSEC_VERSION;
        _cleanup_json_ json_t *root = json_pack("{s:{s:{s:s},s:{s:s},s:s},s:{s:s,s:I}}",
                                                "critical",
                                                "identity", "docker-reference", docker_reference,
                                                "image", "docker-manifest-digest", manifest_digest,
                                                "type", PS_SIG_TYPE,
                                                "optional",
                                                "creator", creator,
                                                "timestamp", (json_int_t)timestamp);
        if (!root)
                return ps_error_set(err, EINVAL, "cannot build a signature payload (invalid UTF-8 in the "
                                    "creator or reference, or out of memory)");
        char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (lenp)
                *lenp = strlen(s);
        *out = s;
        return 0;
}

/* ---- manifests --------------------------------------------------------- */

int ps_sig_manifest_digest(const void *manifest, size_t len, char **digest, ps_error *err)
{
        /* A schema 1 signed manifest's digest is taken without its JWS
         * signatures; podsec never produces those, so refuse them. */
        json_error_t jerr;
        _cleanup_json_ json_t *m = json_loadb(manifest, len, 0, &jerr);
        if (m && json_is_object(m)) {
                json_t *sv = json_object_get(m, "schemaVersion");
                if (json_is_integer(sv) && json_integer_value(sv) == 1 && json_object_get(m, "signatures"))
                        return ps_error_set(err, ENOTSUP,
                                            "Docker schema 1 signed manifests are not supported");
        }
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!EVP_Digest(manifest, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
                return ps_error_set(err, EIO, "cannot compute the sha256 digest of the manifest");
        char *s = malloc(sizeof "sha256:" + 64);
        if (!s)
                return ps_error_set(err, ENOMEM, "out of memory");
        memcpy(s, "sha256:", 7);
        static const char hex[] = "0123456789abcdef";
        for (unsigned i = 0; i < 32; i++) {
                s[7 + 2 * i] = hex[md[i] >> 4];
                s[8 + 2 * i] = hex[md[i] & 15];
        }
        s[7 + 64] = '\0';
        *digest = s;
        return 0;
}

/* ---- sign / verify a manifest ------------------------------------------ */

int ps_sig_sign_manifest(const void *manifest, size_t len, const char *docker_reference,
                         const ps_gpg_sign_opts *opts, void **sig, size_t *siglen, char **fingerprint,
                         ps_error *err)
{
        if (len > PS_MANIFEST_MAX)
                return ps_error_set(err, EFBIG, "the manifest is too large (%zu bytes, limit %zu)", len,
                                    PS_MANIFEST_MAX);
        _cleanup_free_ char *digest = NULL;
        int r = ps_sig_manifest_digest(manifest, len, &digest, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *payload = NULL;
        size_t plen = 0;
        r = ps_sig_payload_build(docker_reference, digest, NULL, -1, &payload, &plen, err);
        if (r < 0)
                return r;
        r = ps_gpg_sign(opts, payload, plen, sig, siglen, fingerprint, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot sign %s (%s)", docker_reference, digest);
        return 0;
}

void ps_sig_verified_clear(ps_sig_verified *v)
{
        if (!v)
                return;
        ps_sig_payload_clear(&v->payload);
        free(v->fingerprint);
        free(v->signer_fpr);
        memset(v, 0, sizeof *v);
}

int ps_sig_verify_manifest(ps_gpg_verifier *v, const void *sig, size_t siglen, const void *manifest,
                           size_t mlen, const char *expected_reference, ps_sig_verified *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        ps_gpg_verified g = { 0 };
        int r = ps_gpg_verify(v, sig, siglen, &g, err);
        if (r < 0)
                return r;
        ps_sig_payload p;
        r = ps_sig_payload_parse(g.payload, g.payload_len, &p, err);
        if (r < 0) {
                ps_gpg_verified_clear(&g);
                return ps_error_wrap(err, "signature by key %s", g.fingerprint ? g.fingerprint : "?");
        }
        _cleanup_free_ char *digest = NULL;
        r = ps_sig_manifest_digest(manifest, mlen, &digest, err);
        if (r < 0)
                goto fail;
        /* sha384/sha512 signatures: compare with the matching digest of the manifest */
        if (strncmp(p.manifest_digest, "sha256:", 7) != 0) {
                const EVP_MD *md = strncmp(p.manifest_digest, "sha384:", 7) == 0 ? EVP_sha384() : EVP_sha512();
                unsigned char buf[EVP_MAX_MD_SIZE];
                unsigned int n = 0;
                if (!EVP_Digest(manifest, mlen, buf, &n, md, NULL)) {
                        r = ps_error_set(err, EIO, "cannot compute the manifest digest");
                        goto fail;
                }
                char *d = malloc(8 + 2 * n);
                if (!d) {
                        r = ps_error_set(err, ENOMEM, "out of memory");
                        goto fail;
                }
                memcpy(d, p.manifest_digest, 7);
                static const char hex[] = "0123456789abcdef";
                for (unsigned i = 0; i < n; i++) {
                        d[7 + 2 * i] = hex[buf[i] >> 4];
                        d[8 + 2 * i] = hex[buf[i] & 15];
                }
                d[7 + 2 * n] = '\0';
                free(digest);
                digest = d;
        }
        if (strcmp(digest, p.manifest_digest) != 0) {
                r = ps_error_set(err, EKEYREJECTED,
                                 "signature by key %s is for manifest digest %s, not for this manifest (%s)",
                                 g.fingerprint, p.manifest_digest, digest);
                goto fail;
        }
        if (expected_reference && strcmp(expected_reference, p.docker_reference) != 0) {
                r = ps_error_set(err, EKEYREJECTED, "signature by key %s is for \"%s\", not for \"%s\"",
                                 g.fingerprint, p.docker_reference, expected_reference);
                goto fail;
        }
        out->payload = p;
        out->fingerprint = steal_pointer(&g.fingerprint);
        out->signer_fpr = steal_pointer(&g.signer_fpr);
        out->sig_time = g.sig_time;
        ps_gpg_verified_clear(&g);
        return 0;
fail:
        ps_sig_payload_clear(&p);
        ps_gpg_verified_clear(&g);
        return r;
}
