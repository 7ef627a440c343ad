/* SPDX-License-Identifier: GPL-2.0-or-later */
/* containers-policy.json(5): see policy.h.  The validator mirrors
 * c/image's policy_config.go / policy_config_sigstore.go decisions (what
 * is accepted and what is refused); its messages are podsec's own and
 * name the JSON path of the offending value. */
#include "policy.h"
#include "cleanup.h"
#include "fs.h"
#include "reference.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ps_policy {
        json_t *root;
        unsigned flags;
};

/* ---- messages with JSON paths ------------------------------------------ */

static bool is_ident_key(const char *k)
{
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
                return false;
        for (k++; *k; k++)
                if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') || *k == '_'))
                        return false;
        return true;
}

/* JSON string literal for S, jq style; NULL on ENOMEM */
static char *json_quote(const char *s, size_t len)
{
        char *buf = NULL;
        size_t sz = 0;
        FILE *f = open_memstream(&buf, &sz);
        if (!f)
                return NULL;
        fputc('"', f);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                switch (c) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                fprintf(f, "\\u%04x", c);
                        else
                                fputc(c, f);
                }
        }
        fputc('"', f);
        if (ferror(f)) {
                fclose(f);
                free(buf);
                return NULL;
        }
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

/* PATH "." KEY (KEY quoted unless it is an identifier).  PATH "" is the top. */
static char *path_key(const char *path, const char *key)
{
        _cleanup_free_ char *q = NULL;
        const char *k = key;
        if (!is_ident_key(key)) {
                q = json_quote(key, strlen(key));
                if (!q)
                        return NULL;
                k = q;
        }
        char *r = NULL;
        if (asprintf(&r, "%s%s%s", path, *path ? "." : "", k) < 0)
                return NULL;
        return r;
}

static char *path_index(const char *path, size_t i)
{
        char *r = NULL;
        if (asprintf(&r, "%s[%zu]", path, i) < 0)
                return NULL;
        return r;
}

static int oom(ps_error *err)
{
        return ps_error_set(err, ENOMEM, "out of memory");
}

static int vperr(ps_error *err, const char *path, const char *fmt, va_list ap)
{
        _cleanup_free_ char *m = NULL;
        if (vasprintf(&m, fmt, ap) < 0)
                return oom(err);
        return ps_error_set(err, EINVAL, "%s: %s", *path ? path : "top level", m);
}

__attribute__((format(printf, 3, 4)))
static int perr(ps_error *err, const char *path, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vperr(err, path, fmt, ap);
        va_end(ap);
        return r;
}

/* an error about field KEY of the object at PATH */
__attribute__((format(printf, 4, 5)))
static int perr_key(ps_error *err, const char *path, const char *key, const char *fmt, ...)
{
        _cleanup_free_ char *p = path_key(path, key);
        if (!p)
                return oom(err);
        va_list ap;
        va_start(ap, fmt);
        int r = vperr(err, p, fmt, ap);
        va_end(ap);
        return r;
}

static int unknown_key(ps_error *err, const char *path, const char *key)
{
        _cleanup_free_ char *q = json_quote(key, strlen(key));
        if (!q)
                return oom(err);
        return perr(err, path, "unknown key %s", q);
}

static const char *type_name(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER:
        case JSON_REAL: return "a number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        case JSON_NULL: return "null";
        }
        return "?";
}

/* ---- base64 (Go encoding/json []byte) --------------------------------- */

static int b64val(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int ps_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
        if (out)
                *out = NULL;
        if (out_len)
                *out_len = 0;
        _cleanup_free_ unsigned char *buf = malloc(len / 4 * 3 + 3);
        if (!buf)
                return -ENOMEM;
        size_t n = 0;
        int q[4] = { 0, 0, 0, 0 }, j = 0, pad = 0;
        bool done = false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c == '\r' || c == '\n')
                        continue;
                if (done)
                        return -EINVAL;         /* data after the padding */
                if (c == '=') {
                        if (j < 2)
                                return -EINVAL;
                        pad++;
                        /* "xxx=" or "xx==" completes the last quantum */
                        if (j + pad == 4)
                                done = true;
                        continue;
                }
                if (pad)
                        return -EINVAL;         /* "xx=x" */
                int v = b64val(c);
                if (v < 0)
                        return -EINVAL;
                q[j++] = v;
                if (j == 4) {
                        buf[n++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
                        buf[n++] = (unsigned char)(q[1] << 4 | q[2] >> 2);
                        buf[n++] = (unsigned char)(q[2] << 6 | q[3]);
                        j = 0;
                }
        }
        if (pad && !done)
                return -EINVAL;                 /* "xx=" */
        if (!pad && j != 0)
                return -EINVAL;                 /* an incomplete quantum */
        if (pad) {
                buf[n++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
                if (j == 3)
                        buf[n++] = (unsigned char)(q[1] << 4 | q[2] >> 2);
        }
        if (out)
                *out = steal_pointer(&buf);
        if (out_len)
                *out_len = n;
        return 0;
}

/* ---- field decoding with Go semantics ----------------------------------- */

/* A string field: a string, or null (which Go reads as ""). */
static int get_string(const json_t *v, const char *path, const char *key, unsigned flags,
                      const char **out, ps_error *err)
{
        if (json_is_null(v)) {
                if (!(flags & PS_POLICY_COMPAT))
                        return perr_key(err, path, key, "must not be null");
                *out = "";
                return 0;
        }
        if (!json_is_string(v))
                return perr_key(err, path, key, "expected a string, got %s", type_name(v));
        *out = json_string_value(v);
        if (!**out && !(flags & PS_POLICY_COMPAT))
                return perr_key(err, path, key, "must not be empty");
        return 0;
}

/* A list of strings (null elements read as "").  *is_nil for null. */
static int get_strings(const json_t *v, const char *path, const char *key, unsigned flags,
                       bool *is_nil, size_t *n, ps_error *err)
{
        *is_nil = false;
        *n = 0;
        if (json_is_null(v)) {
                if (!(flags & PS_POLICY_COMPAT))
                        return perr_key(err, path, key, "must not be null");
                *is_nil = true;
                return 0;
        }
        if (!json_is_array(v))
                return perr_key(err, path, key, "expected an array of strings, got %s", type_name(v));
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
                bool bad = !json_is_string(e) && !json_is_null(e);
                bool empty = json_is_null(e) || (json_is_string(e) && !*json_string_value(e));
                if (bad || (empty && !(flags & PS_POLICY_COMPAT))) {
                        _cleanup_free_ char *p = path_key(path, key);
                        _cleanup_free_ char *pi = p ? path_index(p, i) : NULL;
                        if (!pi)
                                return oom(err);
                        if (bad)
                                return perr(err, pi, "expected a string, got %s", type_name(e));
                        return perr(err, pi, "must not be empty");
                }
        }
        *n = json_array_size(v);
        return 0;
}

static int check_b64_value(const json_t *v, const char *path, unsigned flags, bool *is_nil, ps_error *err)
{
        *is_nil = false;
        if (json_is_null(v)) {
                if (!(flags & PS_POLICY_COMPAT))
                        return perr(err, path, "must not be null");
                *is_nil = true;
                return 0;
        }
        if (!json_is_string(v))
                return perr(err, path, "expected a base64 string, got %s", type_name(v));
        if (!json_string_length(v) && !(flags & PS_POLICY_COMPAT))
                return perr(err, path, "must not be empty");
        int r = ps_base64_decode(json_string_value(v), json_string_length(v), NULL, NULL);
        if (r == -ENOMEM)
                return oom(err);
        if (r < 0)
                return perr(err, path, "invalid base64 data");
        return 0;
}

/* A []byte field: base64 string or null (nil). */
static int get_bytes(const json_t *v, const char *path, const char *key, unsigned flags,
                     bool *is_nil, ps_error *err)
{
        _cleanup_free_ char *p = path_key(path, key);
        if (!p)
                return oom(err);
        return check_b64_value(v, p, flags, is_nil, err);
}

/* A [][]byte field. */
static int get_bytes_list(const json_t *v, const char *path, const char *key, unsigned flags,
                          bool *is_nil, size_t *n, ps_error *err)
{
        *is_nil = false;
        *n = 0;
        _cleanup_free_ char *p = path_key(path, key);
        if (!p)
                return oom(err);
        if (json_is_null(v)) {
                if (!(flags & PS_POLICY_COMPAT))
                        return perr(err, p, "must not be null");
                *is_nil = true;
                return 0;
        }
        if (!json_is_array(v))
                return perr(err, p, "expected an array of base64 strings, got %s", type_name(v));
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
                _cleanup_free_ char *pi = path_index(p, i);
                bool nil;
                if (!pi)
                        return oom(err);
                int r = check_b64_value(e, pi, flags, &nil, err);
                if (r < 0)
                        return r;
        }
        *n = json_array_size(v);
        return 0;
}

/* ---- identities ------------------------------------------------------- */

static const char *const ident_names[] = {
        [PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT] = "matchRepoDigestOrExact",
        [PS_IDENT_MATCH_EXACT] = "matchExact",
        [PS_IDENT_MATCH_REPOSITORY] = "matchRepository",
        [PS_IDENT_EXACT_REFERENCE] = "exactReference",
        [PS_IDENT_EXACT_REPOSITORY] = "exactRepository",
        [PS_IDENT_REMAP_IDENTITY] = "remapIdentity",
};

const char *ps_ident_type_name(ps_ident_type t)
{
        return (size_t)t < PS_ARRAY_SIZE(ident_names) ? ident_names[t] : "?";
}

static int ident_lookup(const char *name)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(ident_names); i++)
                if (!strcmp(name, ident_names[i]))
                        return (int)i;
        return -1;
}

/* An object with exactly the string fields FIELDS (NULL-terminated, "type"
 * first); VALUES gets each field's value in order. */
static int exact_string_fields(const json_t *o, const char *path, const char *const *fields,
                               unsigned flags, const char **values, ps_error *err)
{
        const char *key;
        json_t *v;
        size_t nf = 0;
        while (fields[nf])
                nf++;
        for (size_t i = 0; i < nf; i++)
                values[i] = NULL;
        json_object_foreach((json_t *)o, key, v) {
                size_t i;
                for (i = 0; i < nf && strcmp(key, fields[i]); i++)
                        ;
                if (i == nf)
                        return unknown_key(err, path, key);
                int r = get_string(v, path, key, flags, &values[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < nf; i++)
                if (!values[i])
                        return perr(err, path, "missing key \"%s\"", fields[i]);
        return 0;
}

static bool host_like(const char *s, size_t n);

/* remapIdentity prefix: a domain, or a name starting with a domain "/". */
static bool valid_remap_prefix(const char *s)
{
        size_t len = strlen(s);
        if (ps_reference_valid_domain(s, len, 0))
                return true;
        const char *slash = strchr(s, '/');
        if (!slash || !ps_reference_valid_domain(s, (size_t)(slash - s), 0))
                return false;
        return ps_reference_valid_name(s, len);
}

static int check_identity(const json_t *o, const char *path, unsigned flags, ps_error *err)
{
        if (!json_is_object(o))
                return perr(err, path, "expected an identity object, got %s", type_name(o));
        const json_t *t = json_object_get(o, "type");
        if (!t)
                return perr(err, path, "missing key \"type\"");
        if (!json_is_string(t))
                return perr_key(err, path, "type", "expected a string, got %s", type_name(t));
        int it = ident_lookup(json_string_value(t));
        if (it < 0) {
                _cleanup_free_ char *q = json_quote(json_string_value(t), json_string_length(t));
                return perr(err, path, "unknown identity type %s", q ? q : "?");
        }
        const char *vals[3];
        ps_error inner = PS_ERROR_INIT;
        switch ((ps_ident_type)it) {
        case PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT:
        case PS_IDENT_MATCH_EXACT:
        case PS_IDENT_MATCH_REPOSITORY:
                return exact_string_fields(o, path, (const char *const[]){ "type", NULL }, flags, vals, err);
        case PS_IDENT_EXACT_REFERENCE: {
                int r = exact_string_fields(o, path, (const char *const[]){ "type", "dockerReference", NULL },
                                            flags, vals, err);
                if (r < 0)
                        return r;
                ps_reference ref;
                if (ps_reference_parse(vals[1], &ref, &inner) < 0) {
                        r = perr_key(err, path, "dockerReference", "%s", ps_error_msg(&inner));
                        ps_error_clear(&inner);
                        return r;
                }
                bool name_only = !ref.tag && !ref.digest;
                ps_reference_free(&ref);
                if (name_only)
                        return perr_key(err, path, "dockerReference", "\"%s\" contains neither a tag nor a digest", vals[1]);
                return 0;
        }
        case PS_IDENT_EXACT_REPOSITORY: {
                int r = exact_string_fields(o, path, (const char *const[]){ "type", "dockerRepository", NULL },
                                            flags, vals, err);
                if (r < 0)
                        return r;
                ps_reference ref;
                if (ps_reference_parse(vals[1], &ref, &inner) < 0) {
                        r = perr_key(err, path, "dockerRepository", "%s", ps_error_msg(&inner));
                        ps_error_clear(&inner);
                        return r;
                }
                ps_reference_free(&ref);
                return 0;
        }
        case PS_IDENT_REMAP_IDENTITY: {
                int r = exact_string_fields(o, path, (const char *const[]){ "type", "prefix", "signedPrefix", NULL },
                                            flags, vals, err);
                if (r < 0)
                        return r;
                for (int i = 1; i <= 2; i++) {
                        const char *name = i == 1 ? "prefix" : "signedPrefix";
                        if (!valid_remap_prefix(vals[i]))
                                return perr_key(err, path, name, "\"%s\" is not a valid prefix (a host[:port] or host[:port]/namespace)", vals[i]);
                        /* c/image loads "ns/repo" prefixes but can never use
                         * them: the remapped name would not be canonical */
                        size_t first = strcspn(vals[i], "/");
                        if (!(flags & PS_POLICY_COMPAT) && !host_like(vals[i], first))
                                return perr_key(err, path, name, "\"%s\" does not start with a registry host (use the fully expanded form, e.g. \"docker.io/library\")", vals[i]);
                }
                return 0;
        }
        }
        return 0;
}

/* ---- requirements ------------------------------------------------------- */

static const char *const req_names[] = {
        [PS_REQ_INSECURE_ACCEPT_ANYTHING] = "insecureAcceptAnything",
        [PS_REQ_REJECT] = "reject",
        [PS_REQ_SIGNED_BY] = "signedBy",
        [PS_REQ_SIGNED_BASE_LAYER] = "signedBaseLayer",
        [PS_REQ_SIGSTORE_SIGNED] = "sigstoreSigned",
};

const char *ps_req_type_name(ps_req_type t)
{
        return (size_t)t < PS_ARRAY_SIZE(req_names) ? req_names[t] : "?";
}

static int req_lookup(const char *name)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(req_names); i++)
                if (!strcmp(name, req_names[i]))
                        return (int)i;
        return -1;
}

static bool valid_key_type(const char *s)
{
        return !strcmp(s, "GPGKeys") || !strcmp(s, "signedByGPGKeys") ||
               !strcmp(s, "X509Certificates") || !strcmp(s, "signedByX509CAs");
}

static int check_signed_by(const json_t *o, const char *path, unsigned flags, ps_error *err)
{
        bool got_path = false, got_paths = false, got_data = false, got_kt = false;
        bool paths_nil = false, data_nil = false;
        const char *key_path = "", *key_type = "";
        size_t n_paths = 0;
        const json_t *ident = NULL;
        const char *key;
        json_t *v;
        int r;
        json_object_foreach((json_t *)o, key, v) {
                if (!strcmp(key, "type")) {
                        continue;
                } else if (!strcmp(key, "keyType")) {
                        got_kt = true;
                        if (!json_is_string(v) && !json_is_null(v))
                                return perr_key(err, path, key, "expected a string, got %s", type_name(v));
                        key_type = json_is_string(v) ? json_string_value(v) : "";
                        if (!valid_key_type(key_type))
                                return perr_key(err, path, key, "unrecognized keyType value \"%s\"", key_type);
                } else if (!strcmp(key, "keyPath")) {
                        got_path = true;
                        if ((r = get_string(v, path, key, flags, &key_path, err)) < 0)
                                return r;
                } else if (!strcmp(key, "keyPaths")) {
                        got_paths = true;
                        if ((r = get_strings(v, path, key, flags, &paths_nil, &n_paths, err)) < 0)
                                return r;
                } else if (!strcmp(key, "keyData")) {
                        got_data = true;
                        if ((r = get_bytes(v, path, key, flags, &data_nil, err)) < 0)
                                return r;
                } else if (!strcmp(key, "signedIdentity")) {
                        ident = v;
                } else {
                        return unknown_key(err, path, key);
                }
        }
        if (ident) {
                _cleanup_free_ char *p = path_key(path, "signedIdentity");
                if (!p)
                        return oom(err);
                if ((r = check_identity(ident, p, flags, err)) < 0)
                        return r;
        }
        int got = got_path + got_paths + got_data;
        if (got == 0)
                return perr(err, path, "exactly one of keyPath, keyPaths and keyData must be specified, none of them present");
        if (got > 1)
                return perr(err, path, "exactly one of keyPath, keyPaths and keyData must be specified, more than one present");
        if (!got_kt)
                return perr(err, path, "missing key \"keyType\"");
        if (!valid_key_type(key_type))
                return perr_key(err, path, "keyType", "unrecognized keyType value \"%s\"", key_type);
        if (got_path && !*key_path)
                return perr_key(err, path, "keyPath", "must not be empty");
        if (got_paths && paths_nil)
                return perr_key(err, path, "keyPaths", "must not be null");
        if (got_data && data_nil)
                return perr_key(err, path, "keyData", "must not be null");
        if (!(flags & PS_POLICY_COMPAT)) {
                if (strcmp(key_type, "GPGKeys"))
                        return perr_key(err, path, "keyType", "\"%s\" is not implemented by containers/image: every image would be rejected; use \"GPGKeys\"",
                                        key_type);
                if (got_paths && n_paths == 0)
                        return perr_key(err, path, "keyPaths", "must not be empty");
        }
        return 0;
}

static int check_fulcio(const json_t *o, const char *path, unsigned flags, ps_error *err)
{
        if (!json_is_object(o))
                return perr(err, path, "expected an object, got %s", type_name(o));
        const char *ca_path = "", *issuer = "", *email = "";
        bool ca_data_nil = true;
        const char *key;
        json_t *v;
        int r;
        json_object_foreach((json_t *)o, key, v) {
                if (!strcmp(key, "caPath"))
                        r = get_string(v, path, key, flags, &ca_path, err);
                else if (!strcmp(key, "caData"))
                        r = get_bytes(v, path, key, flags, &ca_data_nil, err);
                else if (!strcmp(key, "oidcIssuer"))
                        r = get_string(v, path, key, flags, &issuer, err);
                else if (!strcmp(key, "subjectEmail"))
                        r = get_string(v, path, key, flags, &email, err);
                else
                        return unknown_key(err, path, key);
                if (r < 0)
                        return r;
        }
        if (*ca_path && !ca_data_nil)
                return perr(err, path, "caPath and caData cannot be used simultaneously");
        if (!*ca_path && ca_data_nil)
                return perr(err, path, "at least one of caPath and caData must be specified");
        if (!*issuer)
                return perr(err, path, "oidcIssuer not specified");
        if (!*email)
                return perr(err, path, "subjectEmail not specified");
        return 0;
}

static int check_pki(const json_t *o, const char *path, unsigned flags, ps_error *err)
{
        if (!json_is_object(o))
                return perr(err, path, "expected an object, got %s", type_name(o));
        const char *roots_path = "", *inter_path = "", *email = "", *host = "";
        bool roots_nil = true, inter_nil = true;
        const char *key;
        json_t *v;
        int r;
        json_object_foreach((json_t *)o, key, v) {
                if (!strcmp(key, "caRootsPath"))
                        r = get_string(v, path, key, flags, &roots_path, err);
                else if (!strcmp(key, "caRootsData"))
                        r = get_bytes(v, path, key, flags, &roots_nil, err);
                else if (!strcmp(key, "caIntermediatesPath"))
                        r = get_string(v, path, key, flags, &inter_path, err);
                else if (!strcmp(key, "caIntermediatesData"))
                        r = get_bytes(v, path, key, flags, &inter_nil, err);
                else if (!strcmp(key, "subjectEmail"))
                        r = get_string(v, path, key, flags, &email, err);
                else if (!strcmp(key, "subjectHostname"))
                        r = get_string(v, path, key, flags, &host, err);
                else
                        return unknown_key(err, path, key);
                if (r < 0)
                        return r;
        }
        if (*roots_path && !roots_nil)
                return perr(err, path, "caRootsPath and caRootsData cannot be used simultaneously");
        if (!*roots_path && roots_nil)
                return perr(err, path, "at least one of caRootsPath and caRootsData must be specified");
        if (*inter_path && !inter_nil)
                return perr(err, path, "caIntermediatesPath and caIntermediatesData cannot be used simultaneously");
        if (!*email && !*host)
                return perr(err, path, "at least one of subjectEmail and subjectHostname must be specified");
        return 0;
}

static int check_sigstore_signed(const json_t *o, const char *path, unsigned flags, ps_error *err)
{
        const char *key_path = "", *rekor_path = "";
        bool got_paths = false, got_datas = false, got_fulcio = false, got_pki = false;
        bool got_rpaths = false, got_rdatas = false;
        bool paths_nil = false, data_nil = true, datas_nil = false, rpaths_nil = false, rdata_nil = true, rdatas_nil = false;
        size_t n_paths = 0, n_datas = 0, n_rpaths = 0, n_rdatas = 0;
        const json_t *ident = NULL;
        const char *key;
        json_t *v;
        int r = 0;
        json_object_foreach((json_t *)o, key, v) {
                _cleanup_free_ char *p = NULL;
                if (!strcmp(key, "type")) {
                        continue;
                } else if (!strcmp(key, "keyPath")) {
                        r = get_string(v, path, key, flags, &key_path, err);
                } else if (!strcmp(key, "keyPaths")) {
                        got_paths = true;
                        r = get_strings(v, path, key, flags, &paths_nil, &n_paths, err);
                } else if (!strcmp(key, "keyData")) {
                        r = get_bytes(v, path, key, flags, &data_nil, err);
                } else if (!strcmp(key, "keyDatas")) {
                        got_datas = true;
                        r = get_bytes_list(v, path, key, flags, &datas_nil, &n_datas, err);
                } else if (!strcmp(key, "fulcio")) {
                        got_fulcio = true;
                        if (!(p = path_key(path, key)))
                                return oom(err);
                        r = check_fulcio(v, p, flags, err);
                } else if (!strcmp(key, "pki")) {
                        got_pki = true;
                        if (!(p = path_key(path, key)))
                                return oom(err);
                        r = check_pki(v, p, flags, err);
                } else if (!strcmp(key, "rekorPublicKeyPath")) {
                        r = get_string(v, path, key, flags, &rekor_path, err);
                } else if (!strcmp(key, "rekorPublicKeyPaths")) {
                        got_rpaths = true;
                        r = get_strings(v, path, key, flags, &rpaths_nil, &n_rpaths, err);
                } else if (!strcmp(key, "rekorPublicKeyData")) {
                        r = get_bytes(v, path, key, flags, &rdata_nil, err);
                } else if (!strcmp(key, "rekorPublicKeyDatas")) {
                        got_rdatas = true;
                        r = get_bytes_list(v, path, key, flags, &rdatas_nil, &n_rdatas, err);
                } else if (!strcmp(key, "signedIdentity")) {
                        ident = v;
                } else {
                        return unknown_key(err, path, key);
                }
                if (r < 0)
                        return r;
        }
        if (ident) {
                _cleanup_free_ char *p = path_key(path, "signedIdentity");
                if (!p)
                        return oom(err);
                if ((r = check_identity(ident, p, flags, err)) < 0)
                        return r;
        }
        if (got_paths && n_paths == 0)
                return perr_key(err, path, "keyPaths", "contains no entries");
        if (got_datas && n_datas == 0)
                return perr_key(err, path, "keyDatas", "contains no entries");
        if (got_rpaths && n_rpaths == 0)
                return perr_key(err, path, "rekorPublicKeyPaths", "contains no entries");
        if (got_rdatas && n_rdatas == 0)
                return perr_key(err, path, "rekorPublicKeyDatas", "contains no entries");
        int sources = (*key_path != 0) + got_paths + !data_nil + got_datas + got_fulcio + got_pki;
        if (sources != 1)
                return perr(err, path, "exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio and pki must be specified%s",
                            sources ? ", more than one present" : ", none of them present");
        int rekor = (*rekor_path != 0) + got_rpaths + !rdata_nil + got_rdatas;
        if (rekor > 1)
                return perr(err, path, "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas can be used");
        if (got_fulcio && rekor == 0)
                return perr(err, path, "one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas must be specified with fulcio");
        if (got_pki && rekor > 0)
                return perr(err, path, "rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas are not supported with pki");
        return 0;
}

static int check_requirement(const json_t *o, const char *path, unsigned flags, ps_error *err)
{
        if (!json_is_object(o))
                return perr(err, path, "expected a requirement object, got %s", type_name(o));
        const json_t *t = json_object_get(o, "type");
        if (!t)
                return perr(err, path, "missing key \"type\"");
        if (!json_is_string(t))
                return perr_key(err, path, "type", "expected a string, got %s", type_name(t));
        int rt = req_lookup(json_string_value(t));
        if (rt < 0) {
                _cleanup_free_ char *q = json_quote(json_string_value(t), json_string_length(t));
                return perr(err, path, "unknown policy requirement type %s", q ? q : "?");
        }
        switch ((ps_req_type)rt) {
        case PS_REQ_INSECURE_ACCEPT_ANYTHING:
        case PS_REQ_REJECT: {
                const char *vals[1];
                return exact_string_fields(o, path, (const char *const[]){ "type", NULL }, flags, vals, err);
        }
        case PS_REQ_SIGNED_BY:
                return check_signed_by(o, path, flags, err);
        case PS_REQ_SIGNED_BASE_LAYER: {
                const char *key;
                json_t *v;
                json_object_foreach((json_t *)o, key, v)
                        if (strcmp(key, "type") && strcmp(key, "baseLayerIdentity"))
                                return unknown_key(err, path, key);
                const json_t *bli = json_object_get(o, "baseLayerIdentity");
                if (!bli)
                        return perr(err, path, "missing key \"baseLayerIdentity\"");
                _cleanup_free_ char *p = path_key(path, "baseLayerIdentity");
                if (!p)
                        return oom(err);
                return check_identity(bli, p, flags, err);
        }
        case PS_REQ_SIGSTORE_SIGNED:
                return check_sigstore_signed(o, path, flags, err);
        }
        return 0;
}

int ps_policy_check_requirements(const json_t *reqs, const char *path, unsigned flags, ps_error *err)
{
        if (!reqs || !json_is_array(reqs))
                return perr(err, path, "expected an array of policy requirements, got %s",
                            reqs ? type_name(reqs) : "nothing");
        if (json_array_size(reqs) == 0)
                return perr(err, path, "the list of policy requirements must not be empty");
        size_t i;
        json_t *e;
        json_array_foreach(reqs, i, e) {
                _cleanup_free_ char *p = path_index(path, i);
                if (!p)
                        return oom(err);
                int r = check_requirement(e, p, flags, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- scopes ----------------------------------------------------------- */

static int scope_err(ps_error *err, const char *scope, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int scope_err(ps_error *err, const char *scope, const char *fmt, ...)
{
        _cleanup_free_ char *q = json_quote(scope, strlen(scope));
        _cleanup_free_ char *m = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0 || !q)
                return oom(err);
        return ps_error_set(err, EINVAL, "invalid scope %s: %s", q, m);
}

/* The first component of a name c/image builds for the docker transport:
 * a domain with '.' or ':' or "localhost", or (quirk) a path component
 * with a '.'. */
static bool host_like(const char *s, size_t n)
{
        bool marks = memchr(s, '.', n) || memchr(s, ':', n) || (n == 9 && !memcmp(s, "localhost", 9));
        if (ps_reference_valid_domain(s, n, 0) && marks)
                return true;
        return ps_reference_valid_component(s, n) && memchr(s, '.', n);
}

static int check_docker_scope(const char *scope, ps_error *err)
{
        size_t len = strlen(scope);
        if (!strncmp(scope, "*.", 2)) {
                if (!ps_reference_valid_hostname(scope + 2, len - 2))
                        return scope_err(err, scope, "a wildcard scope is \"*.\" followed by a host name, without port or path");
                return 0;
        }
        const char *slash = strchr(scope, '/');
        size_t first = slash ? (size_t)(slash - scope) : len;
        if (!host_like(scope, first))
                return scope_err(err, scope, "\"%.*s\" is not a registry host[:port] (scopes use the fully expanded form, e.g. \"docker.io/library/busybox\")",
                                 (int)first, scope);
        if (first == 15 && !memcmp(scope, "index.docker.io", 15))
                return scope_err(err, scope, "images of index.docker.io are named docker.io/...");
        if (!slash)
                return 0;
        const char *last_slash = strrchr(scope, '/');
        bool identity = strchr(scope, '@') || strchr(last_slash, ':');
        if (identity) {
                ps_reference ref;
                ps_error inner = PS_ERROR_INIT;
                if (ps_reference_parse(scope, &ref, &inner) < 0) {
                        int r = scope_err(err, scope, "%s", ps_error_msg(&inner));
                        ps_error_clear(&inner);
                        return r;
                }
                _cleanup_free_ char *s = ps_reference_string(&ref);
                bool both = ref.tag && ref.digest;
                ps_reference_free(&ref);
                if (!s)
                        return oom(err);
                if (both)
                        return scope_err(err, scope, "a reference with both a tag and a digest never matches");
                if (strcmp(s, scope))
                        return scope_err(err, scope, "not in the fully expanded form, use \"%s\"", s);
                return 0;
        }
        if (len > PS_REF_NAME_MAX)
                return scope_err(err, scope, "longer than %d characters", PS_REF_NAME_MAX);
        const char *c = slash + 1;
        for (;;) {
                const char *e = strchr(c, '/');
                size_t n = e ? (size_t)(e - c) : strlen(c);
                if (!ps_reference_valid_component(c, n)) {
                        bool upper = false;
                        for (size_t i = 0; i < n; i++)
                                upper |= c[i] >= 'A' && c[i] <= 'Z';
                        return scope_err(err, scope, "\"%.*s\" is not a valid repository path component%s", (int)n, c,
                                         upper ? " (repository names are lowercase)" : "");
                }
                if (!e)
                        break;
                c = e + 1;
        }
        return 0;
}

static bool clean_abs_path(const char *s)
{
        size_t len = strlen(s);
        if (len > 1 && s[len - 1] == '/')
                return false;
        for (const char *c = s; *c;) {
                c++; /* past '/' */
                const char *e = strchr(c, '/');
                size_t n = e ? (size_t)(e - c) : strlen(c);
                if (n == 0 && e)
                        return false;
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!e)
                        break;
                c = e;
        }
        return true;
}

static int check_path_scope(const char *scope, ps_error *err)
{
        if (scope[0] != '/')
                return scope_err(err, scope, "must be an absolute path");
        if (!strcmp(scope, "/"))
                return scope_err(err, scope, "use the transport default scope \"\"");
        if (!clean_abs_path(scope))
                return scope_err(err, scope, "not a canonical path (no \"//\", \".\", \"..\" or trailing \"/\")");
        return 0;
}

static bool valid_image_id(const char *s, size_t n)
{
        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static int check_storage_scope(const char *scope, ps_error *err)
{
        if (scope[0] != '[')
                return scope_err(err, scope, "must start with a [driver@graphroot] or [graphroot] store specifier");
        const char *close = strchr(scope, ']');
        if (!close)
                return scope_err(err, scope, "unterminated store specifier");
        _cleanup_free_ char *spec = strndup(scope + 1, (size_t)(close - scope - 1));
        if (!spec)
                return oom(err);
        char *at = strchr(spec, '@');
        if (at) {
                *at = '\0';
                if (!*spec || !at[1])
                        return scope_err(err, scope, "invalid store specifier");
                if (at[1] != '/')
                        return scope_err(err, scope, "the graph root must be an absolute path");
        } else if (*spec) {
                if (spec[0] != '/')
                        return scope_err(err, scope, "the graph root must be an absolute path");
        } else {
                return scope_err(err, scope, "invalid store specifier");
        }
        const char *rest = close + 1;
        if (!*rest)
                return 0;
        const char *a1 = strchr(rest, '@');
        if (!a1)
                return 0;
        const char *f1 = a1 + 1;
        const char *a2 = strchr(f1, '@');
        if (!a2) {
                if (valid_image_id(f1, strlen(f1)) || ps_reference_check_digest(f1, NULL) == 0)
                        return 0;
                return scope_err(err, scope, "\"%s\" is neither a valid digest nor a valid image ID", f1);
        }
        _cleanup_free_ char *d = strndup(f1, (size_t)(a2 - f1));
        if (!d)
                return oom(err);
        if (ps_reference_check_digest(d, NULL) < 0)
                return scope_err(err, scope, "\"%s\" is not a valid digest", d);
        if (!valid_image_id(a2 + 1, strlen(a2 + 1)))
                return scope_err(err, scope, "\"%s\" is not a valid image ID", a2 + 1);
        return 0;
}

/* openshift "atomic:" ^[^/]*(/[^:/]*(/[^:/]*(:[^:/]*)?)?)?$ */
static bool atomic_scope_ok(const char *s)
{
        const char *p1 = strchr(s, '/');
        if (!p1)
                return true;
        const char *p2 = strchr(p1 + 1, '/');
        if (!p2)
                return !memchr(p1 + 1, ':', strlen(p1 + 1));
        if (memchr(p1 + 1, ':', (size_t)(p2 - p1 - 1)))
                return false;
        const char *rest = p2 + 1;
        if (strchr(rest, '/'))
                return false;
        const char *colon = strchr(rest, ':');
        return !colon || !strchr(colon + 1, ':');
}

int ps_policy_check_scope(const char *transport, const char *scope, unsigned flags, ps_error *err)
{
        if (!*scope)
                return 0;
        if (!strcmp(transport, "docker"))
                return (flags & PS_POLICY_COMPAT) ? 0 : check_docker_scope(scope, err);
        if (!strcmp(transport, "dir") || !strcmp(transport, "oci") || !strcmp(transport, "oci-archive") ||
            !strcmp(transport, "sif"))
                return check_path_scope(scope, err);
        if (!strcmp(transport, "docker-archive") || !strcmp(transport, "tarball"))
                return scope_err(err, scope, "the %s transport supports only the default scope \"\"", transport);
        if (!strcmp(transport, "docker-daemon")) {
                if (ps_reference_check_digest(scope, NULL) == 0)
                        return scope_err(err, scope, "an algo:digest value cannot be used as a namespace");
                return 0;
        }
        /* the deprecated atomic: transport is not built into every
         * c/image (Debian's skopeo lacks it, which makes it an unknown
         * transport there): check its scopes only in strict mode */
        if (!strcmp(transport, "atomic")) {
                if ((flags & PS_POLICY_COMPAT) || atomic_scope_ok(scope))
                        return 0;
                return scope_err(err, scope, "not a hostname[:port][/namespace[/stream[:tag]]] scope");
        }
        if (!strcmp(transport, "containers-storage"))
                return check_storage_scope(scope, err);
        /* unknown (or stubbed) transports: any scope, as c/image */
        return 0;
}

/* ---- the whole policy ------------------------------------------------- */

static int check_transports(const json_t *t, unsigned flags, ps_error *err)
{
        if (!json_is_object(t))
                return perr(err, "transports", "expected an object, got %s", type_name(t));
        const char *tname;
        json_t *scopes;
        json_object_foreach((json_t *)t, tname, scopes) {
                _cleanup_free_ char *tp = path_key("transports", tname);
                if (!tp)
                        return oom(err);
                if (!json_is_object(scopes))
                        return perr(err, tp, "expected an object of scopes, got %s", type_name(scopes));
                const char *scope;
                json_t *reqs;
                json_object_foreach(scopes, scope, reqs) {
                        _cleanup_free_ char *sp = NULL;
                        if (asprintf(&sp, "%s.", tp) < 0)
                                return oom(err);
                        _cleanup_free_ char *q = json_quote(scope, strlen(scope));
                        if (!q)
                                return oom(err);
                        /* scopes are always quoted: they are data, not names */
                        _cleanup_free_ char *full = NULL;
                        if (asprintf(&full, "%s%s", sp, q) < 0)
                                return oom(err);
                        int r = ps_policy_check_scope(tname, scope, flags, err);
                        if (r < 0)
                                return ps_error_wrap(err, "%s", full);
                        r = ps_policy_check_requirements(reqs, full, flags, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int check_policy(const json_t *root, unsigned flags, ps_error *err)
{
        if (!json_is_object(root))
                return perr(err, "", "expected a JSON object, got %s", type_name(root));
        const char *key;
        json_t *v;
        bool have_default = false;
        json_object_foreach((json_t *)root, key, v) {
                int r;
                if (!strcmp(key, "default")) {
                        have_default = true;
                        r = ps_policy_check_requirements(v, "default", flags, err);
                } else if (!strcmp(key, "transports")) {
                        r = check_transports(v, flags, err);
                } else {
                        r = unknown_key(err, "", key);
                }
                if (r < 0)
                        return r;
        }
        if (!have_default)
                return perr(err, "", "required key \"default\" is missing");
        return 0;
}

int ps_policy_parse_flags(const char *text, size_t len, unsigned flags, ps_policy **out, ps_error *err)
{
        *out = NULL;
        if (len > PS_POLICY_MAX_SIZE)
                return ps_error_set(err, EFBIG, "policy is too large (%zu bytes, at most %u)", len, PS_POLICY_MAX_SIZE);
        json_error_t jerr;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return ps_error_set(err, EINVAL, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        int r = check_policy(root, flags, err);
        if (r < 0) {
                json_decref(root);
                return r;
        }
        ps_policy *p = calloc(1, sizeof(*p));
        if (!p) {
                json_decref(root);
                return oom(err);
        }
        p->root = root;
        p->flags = flags;
        *out = p;
        return 0;
}

int ps_policy_parse(const char *text, size_t len, ps_policy **out, ps_error *err)
{
        return ps_policy_parse_flags(text, len, PS_POLICY_STRICT, out, err);
}

int ps_policy_load_flags(const char *path, unsigned flags, ps_policy **out, ps_error *err)
{
        *out = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = ps_read_file(path, PS_POLICY_MAX_SIZE, &buf, &len, err);
        if (r < 0)
                return r;
        r = ps_policy_parse_flags(buf, len, flags, out, err);
        if (r < 0)
                return ps_error_wrap(err, "invalid policy %s", path);
        return 0;
}

int ps_policy_load(const char *path, ps_policy **out, ps_error *err)
{
        return ps_policy_load_flags(path, PS_POLICY_STRICT, out, err);
}

int ps_policy_new_initial(ps_policy **out, ps_error *err)
{
        static const char initial[] = "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{}}}";
        return ps_policy_parse(initial, sizeof(initial) - 1, out, err);
}

ps_policy *ps_policy_copy(const ps_policy *p)
{
        ps_policy *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->root = json_deep_copy(p->root);
        if (!c->root) {
                free(c);
                return NULL;
        }
        c->flags = p->flags;
        return c;
}

void ps_policy_free(ps_policy *p)
{
        if (!p)
                return;
        json_decref(p->root);
        free(p);
}

const json_t *ps_policy_json(const ps_policy *p)
{
        return p->root;
}

/* ---- jq-style output --------------------------------------------------- */

static void dump_number(FILE *f, const json_t *v)
{
        if (json_is_integer(v)) {
                fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return;
        }
        double d = json_real_value(v);
        char buf[64];
        /* the shortest form that reads back as the same double */
        for (int prec = 1; prec <= 17; prec++) {
                snprintf(buf, sizeof(buf), "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        fputs(buf, f);
}

static int dump(FILE *f, const json_t *v, int indent, int depth)
{
        if (depth > 64)
                return -ELOOP;
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                if (json_object_size(v) == 0) {
                        fputs("{}", f);
                        return 0;
                }
                fputs("{\n", f);
                const char *key;
                json_t *e;
                bool first = true;
                json_object_foreach((json_t *)v, key, e) {
                        if (!first)
                                fputs(",\n", f);
                        first = false;
                        _cleanup_free_ char *q = json_quote(key, strlen(key));
                        if (!q)
                                return -ENOMEM;
                        fprintf(f, "%*s%s: ", indent + 2, "", q);
                        int r = dump(f, e, indent + 2, depth + 1);
                        if (r < 0)
                                return r;
                }
                fprintf(f, "\n%*s}", indent, "");
                return 0;
        }
        case JSON_ARRAY: {
                if (json_array_size(v) == 0) {
                        fputs("[]", f);
                        return 0;
                }
                fputs("[\n", f);
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) {
                        if (i)
                                fputs(",\n", f);
                        fprintf(f, "%*s", indent + 2, "");
                        int r = dump(f, e, indent + 2, depth + 1);
                        if (r < 0)
                                return r;
                }
                fprintf(f, "\n%*s]", indent, "");
                return 0;
        }
        case JSON_STRING: {
                _cleanup_free_ char *q = json_quote(json_string_value(v), json_string_length(v));
                if (!q)
                        return -ENOMEM;
                fputs(q, f);
                return 0;
        }
        case JSON_INTEGER:
        case JSON_REAL:
                dump_number(f, v);
                return 0;
        case JSON_TRUE:
                fputs("true", f);
                return 0;
        case JSON_FALSE:
                fputs("false", f);
                return 0;
        case JSON_NULL:
                fputs("null", f);
                return 0;
        }
        return -EINVAL;
}

static char *dump_to_string(const json_t *v, bool newline)
{
        char *buf = NULL;
        size_t sz = 0;
        FILE *f = open_memstream(&buf, &sz);
        if (!f)
                return NULL;
        int r = dump(f, v, 0, 0);
        if (newline)
                fputc('\n', f);
        if (ferror(f))
                r = -EIO;
        if (fclose(f) != 0)
                r = -EIO;
        if (r < 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

char *ps_json_dump_jq(const json_t *v)
{
        return dump_to_string(v, false);
}

char *ps_policy_serialise(const ps_policy *p)
{
        return dump_to_string(p->root, true);
}

/* ---- lookup ------------------------------------------------------------ */

static const char *const kind_names[] = {
        [PS_SCOPE_EXACT] = "exact",
        [PS_SCOPE_NAMESPACE] = "namespace",
        [PS_SCOPE_HOST] = "host",
        [PS_SCOPE_WILDCARD] = "wildcard",
        [PS_SCOPE_TRANSPORT_DEFAULT] = "transport_default",
        [PS_SCOPE_GLOBAL_DEFAULT] = "global_default",
};

const char *ps_scope_kind_name(ps_scope_kind kind)
{
        return (size_t)kind < PS_ARRAY_SIZE(kind_names) ? kind_names[kind] : "?";
}

/* The stored key of OBJ equal to KEY (stable while the tree is unchanged). */
static const char *stored_key(const json_t *obj, const char *key, const json_t **value)
{
        void *it = json_object_iter_at((json_t *)obj, key);
        if (!it)
                return NULL;
        if (value)
                *value = json_object_iter_value(it);
        return json_object_iter_key(it);
}

static const json_t *transport_scopes(const ps_policy *p, const char *transport)
{
        const json_t *t = json_object_get(p->root, "transports");
        if (!json_is_object(t))
                return NULL;
        const json_t *s = json_object_get(t, transport);
        return json_is_object(s) ? s : NULL;
}

int ps_policy_scope_for(const ps_policy *p, const char *reference, const char **scope,
                        ps_scope_kind *kind, const json_t **requirements, ps_error *err)
{
        const char *s = reference;
        if (!strncmp(s, "docker://", 9))
                s += 9;
        ps_reference ref;
        int r = ps_reference_parse(s, &ref, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *identity = NULL;
        r = ps_reference_identity(&ref, &identity, err);
        size_t n_names = 0;
        _cleanup_strv_ char **ns = r < 0 ? NULL : ps_reference_namespaces(&ref, &n_names);
        ps_reference_free(&ref);
        if (r < 0)
                return r;
        if (!ns)
                return oom(err);

        const char *found = NULL;
        const json_t *reqs = NULL;
        ps_scope_kind k = PS_SCOPE_GLOBAL_DEFAULT;
        const json_t *scopes = transport_scopes(p, "docker");
        if (scopes) {
                if ((found = stored_key(scopes, identity, &reqs))) {
                        k = PS_SCOPE_EXACT;
                } else {
                        for (size_t i = 0; ns[i] && !found; i++) {
                                if ((found = stored_key(scopes, ns[i], &reqs)))
                                        k = i + 1 < n_names ? PS_SCOPE_NAMESPACE
                                            : i + 1 == n_names ? PS_SCOPE_HOST : PS_SCOPE_WILDCARD;
                        }
                        if (!found && (found = stored_key(scopes, "", &reqs)))
                                k = PS_SCOPE_TRANSPORT_DEFAULT;
                }
        }
        if (!found) {
                k = PS_SCOPE_GLOBAL_DEFAULT;
                reqs = json_object_get(p->root, "default");
        }
        if (scope)
                *scope = found;
        if (kind)
                *kind = k;
        if (requirements)
                *requirements = reqs;
        return 0;
}

const json_t *ps_policy_default(const ps_policy *p)
{
        return json_object_get(p->root, "default");
}

static char **object_keys(const json_t *o)
{
        size_t n = o ? json_object_size(o) : 0, i = 0;
        char **v = calloc(n + 1, sizeof(char *));
        if (!v)
                return NULL;
        if (!o)
                return v;
        const char *key;
        json_t *e;
        json_object_foreach((json_t *)o, key, e) {
                if (!(v[i++] = strdup(key))) {
                        ps_strv_free(v);
                        return NULL;
                }
        }
        return v;
}

char **ps_policy_transports(const ps_policy *p)
{
        const json_t *t = json_object_get(p->root, "transports");
        return object_keys(json_is_object(t) ? t : NULL);
}

char **ps_policy_scopes(const ps_policy *p, const char *transport)
{
        return object_keys(transport_scopes(p, transport));
}

const json_t *ps_policy_requirements(const ps_policy *p, const char *transport, const char *scope)
{
        const json_t *s = transport_scopes(p, transport);
        return s ? json_object_get(s, scope) : NULL;
}

int ps_policy_foreach_scope(const ps_policy *p, ps_policy_scope_fn fn, void *userdata)
{
        const json_t *t = json_object_get(p->root, "transports");
        if (!json_is_object(t))
                return 0;
        const char *tname, *scope;
        json_t *scopes, *reqs;
        json_object_foreach((json_t *)t, tname, scopes) {
                if (!json_is_object(scopes))
                        continue;
                json_object_foreach(scopes, scope, reqs) {
                        int r = fn(tname, scope, reqs, userdata);
                        if (r)
                                return r;
                }
        }
        return 0;
}

/* ---- typed view -------------------------------------------------------- */

static void view_identity(const json_t *o, ps_identity *id)
{
        memset(id, 0, sizeof(*id));
        if (!o) {
                id->type = PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT;
                id->implicit = true;
                return;
        }
        id->type = (ps_ident_type)ident_lookup(json_string_value(json_object_get(o, "type")));
        id->docker_reference = json_string_value(json_object_get(o, "dockerReference"));
        id->docker_repository = json_string_value(json_object_get(o, "dockerRepository"));
        id->prefix = json_string_value(json_object_get(o, "prefix"));
        id->signed_prefix = json_string_value(json_object_get(o, "signedPrefix"));
}

int ps_requirement_view(const json_t *req, ps_requirement *out, ps_error *err)
{
        memset(out, 0, sizeof(*out));
        int r = check_requirement(req, "requirement", PS_POLICY_COMPAT, err);
        if (r < 0)
                return r;
        const char *tn = json_string_value(json_object_get(req, "type"));
        out->type = (ps_req_type)req_lookup(tn);
        out->type_name = tn;
        out->json = req;
        if (out->type == PS_REQ_SIGNED_BASE_LAYER) {
                view_identity(json_object_get(req, "baseLayerIdentity"), &out->identity);
                return 0;
        }
        if (out->type != PS_REQ_SIGNED_BY && out->type != PS_REQ_SIGSTORE_SIGNED)
                return 0;
        if (out->type == PS_REQ_SIGNED_BY)
                out->key_type = json_string_value(json_object_get(req, "keyType"));
        view_identity(json_object_get(req, "signedIdentity"), &out->identity);
        const json_t *kp = json_object_get(req, "keyPath");
        const json_t *kps = json_object_get(req, "keyPaths");
        size_t n = json_is_array(kps) ? json_array_size(kps) : 0;
        out->key_paths = calloc(n + 2, sizeof(char *));
        if (!out->key_paths)
                return oom(err);
        if (json_is_string(kp) && *json_string_value(kp))
                out->key_paths[out->n_key_paths++] = json_string_value(kp);
        if (json_is_array(kps)) {
                out->key_paths_list = true;
                for (size_t i = 0; i < n; i++) {
                        const char *s = json_string_value(json_array_get(kps, i));
                        out->key_paths[out->n_key_paths++] = s ? s : "";
                }
        }
        if (json_is_string(json_object_get(req, "keyData")))
                out->n_key_data = 1;
        const json_t *kds = json_object_get(req, "keyDatas");
        if (json_is_array(kds))
                out->n_key_data = json_array_size(kds);
        out->fulcio = json_object_get(req, "fulcio") != NULL;
        out->pki = json_object_get(req, "pki") != NULL;
        out->rekor = json_is_string(json_object_get(req, "rekorPublicKeyPath")) ||
                     json_object_get(req, "rekorPublicKeyPaths") ||
                     json_is_string(json_object_get(req, "rekorPublicKeyData")) ||
                     json_object_get(req, "rekorPublicKeyDatas");
        return 0;
}

void ps_requirement_view_clear(ps_requirement *r)
{
        if (!r)
                return;
        free(r->key_paths);
        memset(r, 0, sizeof(*r));
}

/* ---- editing ----------------------------------------------------------- */

static json_t *ensure_object(json_t *parent, const char *key, ps_error *err)
{
        json_t *o = json_object_get(parent, key);
        if (o)
                return o;
        o = json_object();
        if (!o || json_object_set_new(parent, key, o) < 0) {
                oom(err);
                return NULL;
        }
        return o;
}

int ps_policy_set_scope(ps_policy *p, const char *transport, const char *scope,
                        json_t *requirements, ps_error *err)
{
        if (!transport || !scope) {
                json_decref(requirements);
                return ps_error_set(err, EINVAL, "set scope: transport and scope must be given");
        }
        _cleanup_free_ char *tp = path_key("transports", transport);
        _cleanup_free_ char *q = json_quote(scope, strlen(scope));
        _cleanup_free_ char *full = NULL;
        if (!tp || !q || asprintf(&full, "%s.%s", tp, q) < 0) {
                full = NULL;
                json_decref(requirements);
                return oom(err);
        }
        int r = ps_policy_check_scope(transport, scope, PS_POLICY_STRICT, err);
        if (r < 0) {
                json_decref(requirements);
                return ps_error_wrap(err, "%s", full);
        }
        r = ps_policy_check_requirements(requirements, full, PS_POLICY_STRICT, err);
        if (r < 0) {
                json_decref(requirements);
                return r;
        }
        json_t *t = ensure_object(p->root, "transports", err);
        json_t *s = t ? ensure_object(t, transport, err) : NULL;
        if (!s) {
                json_decref(requirements);
                return -ENOMEM;
        }
        if (json_object_set_new(s, scope, requirements) < 0)
                return oom(err);
        return 0;
}

int ps_policy_remove_scope(ps_policy *p, const char *transport, const char *scope, ps_error *err)
{
        json_t *s = (json_t *)transport_scopes(p, transport);
        if (!s || json_object_del(s, scope) < 0)
                return ps_error_set(err, ENOENT, "no scope \"%s\" in transport %s", scope, transport);
        return 0;
}

int ps_policy_set_default(ps_policy *p, json_t *requirements, ps_error *err)
{
        int r = ps_policy_check_requirements(requirements, "default", PS_POLICY_STRICT, err);
        if (r < 0) {
                json_decref(requirements);
                return r;
        }
        if (json_object_set_new(p->root, "default", requirements) < 0)
                return oom(err);
        return 0;
}

int ps_policy_add_transport(ps_policy *p, const char *transport, ps_error *err)
{
        json_t *t = ensure_object(p->root, "transports", err);
        if (!t || !ensure_object(t, transport, err))
                return -ENOMEM;
        return 0;
}

json_t *ps_requirement_new_simple(ps_req_type type)
{
        if (type != PS_REQ_REJECT && type != PS_REQ_INSECURE_ACCEPT_ANYTHING)
                return NULL;
        return json_pack("{s:s}", "type", ps_req_type_name(type));
}

json_t *ps_requirement_new_signed_by(const char *key_path)
{
        return json_pack("{s:s, s:s, s:s}", "type", "signedBy", "keyType", "GPGKeys", "keyPath", key_path);
}

json_t *ps_requirements_of(json_t *req)
{
        if (!req)
                return NULL;
        json_t *a = json_array();
        if (!a || json_array_append_new(a, req) < 0) {
                json_decref(a);
                return NULL;
        }
        return a;
}

/* ---- key files -------------------------------------------------------- */

int ps_policy_key_paths(const json_t *req, const char *root, char ***paths, ps_error *err)
{
        *paths = NULL;
        ps_requirement view;
        int r = ps_requirement_view(req, &view, err);
        if (r < 0)
                return r;
        char **v = calloc(view.n_key_paths + 1, sizeof(char *));
        if (!v) {
                ps_requirement_view_clear(&view);
                return oom(err);
        }
        for (size_t i = 0; i < view.n_key_paths; i++) {
                if (!(v[i] = ps_root_path(root, view.key_paths[i]))) {
                        ps_strv_free(v);
                        ps_requirement_view_clear(&view);
                        return oom(err);
                }
        }
        ps_requirement_view_clear(&view);
        *paths = v;
        return 0;
}

void ps_policy_keys_free(ps_policy_key *keys, size_t n_keys)
{
        if (!keys)
                return;
        for (size_t i = 0; i < n_keys; i++) {
                free(keys[i].config_path);
                free(keys[i].path);
                free(keys[i].data);
        }
        free(keys);
}

static int add_data_key(ps_policy_key *k, const json_t *v, ps_error *err)
{
        if (!json_is_string(v))
                return 0;
        int r = ps_base64_decode(json_string_value(v), json_string_length(v), &k->data, &k->len);
        if (r == -ENOMEM)
                return oom(err);
        if (r < 0)
                return ps_error_set(err, EINVAL, "keyData is not valid base64");
        return 1;
}

int ps_policy_read_keys(const json_t *req, const char *root, ps_policy_key **keys, size_t *n_keys,
                        ps_error *err)
{
        *keys = NULL;
        *n_keys = 0;
        ps_requirement view;
        int r = ps_requirement_view(req, &view, err);
        if (r < 0)
                return r;
        const json_t *kds = json_object_get(req, "keyDatas");
        size_t cap = view.n_key_paths + 1 + (json_is_array(kds) ? json_array_size(kds) : 0);
        ps_policy_key *k = calloc(cap, sizeof(*k));
        size_t n = 0;
        if (!k) {
                ps_requirement_view_clear(&view);
                return oom(err);
        }
        for (size_t i = 0; i < view.n_key_paths; i++) {
                ps_policy_key *e = &k[n++];
                e->config_path = strdup(view.key_paths[i]);
                e->path = ps_root_path(root, view.key_paths[i]);
                if (!e->config_path || !e->path) {
                        r = oom(err);
                        goto fail;
                }
                char *data = NULL;
                r = ps_read_file(e->path, PS_POLICY_KEY_MAX_SIZE, &data, &e->len, err);
                if (r < 0) {
                        ps_error_wrap(err, "cannot read key %s named in the policy", view.key_paths[i]);
                        goto fail;
                }
                e->data = (unsigned char *)data;
        }
        r = add_data_key(&k[n], json_object_get(req, "keyData"), err);
        if (r < 0)
                goto fail;
        n += (size_t)r;
        if (json_is_array(kds)) {
                size_t i;
                json_t *v;
                json_array_foreach(kds, i, v) {
                        r = add_data_key(&k[n], v, err);
                        if (r < 0)
                                goto fail;
                        n += (size_t)r;
                }
        }
        ps_requirement_view_clear(&view);
        *keys = k;
        *n_keys = n;
        return 0;
fail:
        ps_requirement_view_clear(&view);
        ps_policy_keys_free(k, cap);
        return r;
}
