/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "oci.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "cleanup.h"

/* jansson >= 2.9 provides json_decrefp() for the cleanup attribute */
#define _cleanup_json_ _cleanup_(json_decrefp)

static char *shown_str(const char *s)
{
        return ps_shown(s, strlen(s), 80);
}

/* ---- kinds ---- */

static const struct {
        ps_oci_kind kind;
        const char *mt;
} kinds[] = {
        { PS_OCI_MANIFEST, PS_MT_OCI_MANIFEST },
        { PS_OCI_INDEX, PS_MT_OCI_INDEX },
        { PS_OCI_DOCKER_MANIFEST, PS_MT_DOCKER_MANIFEST },
        { PS_OCI_DOCKER_LIST, PS_MT_DOCKER_LIST },
        { PS_OCI_DOCKER_V1, PS_MT_DOCKER_V1_SIGNED },
        { PS_OCI_DOCKER_V1, PS_MT_DOCKER_V1 },
};

ps_oci_kind ps_oci_kind_of(const char *media_type)
{
        if (!media_type)
                return PS_OCI_UNKNOWN;
        for (size_t i = 0; i < PS_ARRAY_SIZE(kinds); i++)
                if (strcmp(kinds[i].mt, media_type) == 0)
                        return kinds[i].kind;
        return PS_OCI_UNKNOWN;
}

const char *ps_oci_media_type(ps_oci_kind kind)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(kinds); i++)
                if (kinds[i].kind == kind)
                        return kinds[i].mt;
        return "";
}

/* ---- JSON loading ---- */

int ps_json_depth_check(const char *text, size_t len, unsigned max, ps_error *err)
{
        unsigned depth = 0;
        bool in_str = false, esc = false;
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                if (in_str) {
                        if (esc)
                                esc = false;
                        else if (c == '\\')
                                esc = true;
                        else if (c == '"')
                                in_str = false;
                        continue;
                }
                switch (c) {
                case '"':
                        in_str = true;
                        break;
                case '[':
                case '{':
                        if (++depth > max)
                                return ps_error_set(err, E2BIG,
                                                    "JSON nesting is deeper than %u levels", max);
                        break;
                case ']':
                case '}':
                        if (depth > 0)
                                depth--;
                        break;
                default:
                        break;
                }
        }
        return 0;
}

/* Load a JSON object of at most MAX bytes.  Messages name WHAT. */
static int load_object(const void *data, size_t len, size_t max, const char *what,
                       json_t **out, ps_error *err)
{
        if (!data && len > 0)
                return ps_error_set(err, EINVAL, "%s: no data", what);
        if (len > max)
                return ps_error_set(err, EFBIG, "%s is too large (%zu bytes, the limit is %zu)",
                                    what, len, max);
        int r = ps_json_depth_check(data, len, PS_OCI_MAX_DEPTH, err);
        if (r < 0)
                return ps_error_wrap(err, "%s", what);
        json_error_t jerr;
        json_t *j = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                _cleanup_free_ char *t = shown_str(jerr.text);
                return ps_error_set(err, EINVAL, "%s is not valid JSON: %s (line %d, column %d)",
                                    what, t ? t : "?", jerr.line, jerr.column);
        }
        if (!json_is_object(j)) {
                json_decref(j);
                return ps_error_set(err, EINVAL, "%s is not a JSON object", what);
        }
        *out = j;
        return 0;
}

static int keep_raw(const void *data, size_t len, char **raw, size_t *raw_len,
                    ps_digest *digest, ps_error *err)
{
        char *c = malloc(len + 1);
        if (!c)
                return ps_error_errno(err, ENOMEM, "copying a document of %zu bytes", len);
        if (len)
                memcpy(c, data, len);
        c[len] = '\0';
        int r = ps_digest_buffer(c, len, digest, err);
        if (r < 0) {
                free(c);
                return r;
        }
        *raw = c;
        *raw_len = len;
        return 0;
}

/* ---- field readers ---- */

/* Optional string field; *out NULL when absent. */
static int opt_string(json_t *obj, const char *key, const char **out, ps_error *err)
{
        json_t *v = json_object_get(obj, key);
        *out = NULL;
        if (!v)
                return 0;
        if (!json_is_string(v))
                return ps_error_set(err, EINVAL, "\"%s\" must be a string", key);
        *out = json_string_value(v);
        return 0;
}

static int req_string(json_t *obj, const char *key, const char **out, ps_error *err)
{
        int r = opt_string(obj, key, out, err);
        if (r < 0)
                return r;
        if (!*out)
                return ps_error_set(err, EINVAL, "\"%s\" is missing", key);
        return 0;
}

static int dup_opt(const char *s, char **out, ps_error *err)
{
        *out = NULL;
        if (!s)
                return 0;
        *out = strdup(s);
        if (!*out)
                return ps_error_errno(err, ENOMEM, "copying a string");
        return 0;
}

static bool restricted_name(const char *s, size_t len)
{
        /* RFC 6838 restricted-name: ALPHA / DIGIT first, then also
         * ! # $ & - ^ _ . + ; 1..127 characters */
        if (len == 0 || len > 127)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9');
                if (alnum)
                        continue;
                if (i == 0 || !strchr("!#$&-^_.+", c))
                        return false;
        }
        return true;
}

static bool valid_media_type(const char *mt)
{
        const char *slash = strchr(mt, '/');
        if (!slash)
                return false;
        return restricted_name(mt, (size_t)(slash - mt)) &&
               restricted_name(slash + 1, strlen(slash + 1));
}

static int check_media_type(const char *mt, ps_error *err)
{
        if (!valid_media_type(mt)) {
                _cleanup_free_ char *v = shown_str(mt);
                return ps_error_set(err, EINVAL, "mediaType \"%s\" is not a valid media type",
                                    v ? v : "?");
        }
        return 0;
}

static int read_annotations(json_t *obj, ps_annotation **out, size_t *n, ps_error *err)
{
        *out = NULL;
        *n = 0;
        json_t *a = json_object_get(obj, "annotations");
        if (!a)
                return 0;
        if (!json_is_object(a))
                return ps_error_set(err, EINVAL, "\"annotations\" must be an object");
        size_t cnt = json_object_size(a);
        if (cnt == 0)
                return 0;
        ps_annotation *v = calloc(cnt, sizeof(*v));
        if (!v)
                return ps_error_errno(err, ENOMEM, "annotations");
        size_t i = 0;
        const char *key;
        json_t *val;
        /* jansson keeps insertion (document) order */
        json_object_foreach(a, key, val) {
                if (!json_is_string(val)) {
                        _cleanup_free_ char *k = shown_str(key);
                        for (size_t j = 0; j < i; j++) {
                                free(v[j].key);
                                free(v[j].value);
                        }
                        free(v);
                        return ps_error_set(err, EINVAL, "annotation \"%s\" must be a string",
                                            k ? k : "?");
                }
                v[i].key = strdup(key);
                v[i].value = strdup(json_string_value(val));
                i++;
                if (!v[i - 1].key || !v[i - 1].value) {
                        for (size_t j = 0; j < i; j++) {
                                free(v[j].key);
                                free(v[j].value);
                        }
                        free(v);
                        return ps_error_errno(err, ENOMEM, "annotations");
                }
        }
        *out = v;
        *n = i;
        return 0;
}

static void free_annotations(ps_annotation *a, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(a[i].key);
                free(a[i].value);
        }
        free(a);
}

static void platform_free(ps_platform *p)
{
        if (!p)
                return;
        free(p->architecture);
        free(p->os);
        free(p->variant);
        free(p->os_version);
        free(p);
}

static int read_platform(json_t *obj, ps_platform **out, ps_error *err)
{
        *out = NULL;
        json_t *pj = json_object_get(obj, "platform");
        if (!pj)
                return 0;
        if (!json_is_object(pj))
                return ps_error_set(err, EINVAL, "\"platform\" must be an object");
        const char *arch, *os, *variant, *osv;
        int r;
        if ((r = req_string(pj, "architecture", &arch, err)) < 0 ||
            (r = req_string(pj, "os", &os, err)) < 0 ||
            (r = opt_string(pj, "variant", &variant, err)) < 0 ||
            (r = opt_string(pj, "os.version", &osv, err)) < 0)
                return ps_error_wrap(err, "platform");
        ps_platform *p = calloc(1, sizeof(*p));
        if (!p)
                return ps_error_errno(err, ENOMEM, "platform");
        if (dup_opt(arch, &p->architecture, err) < 0 || dup_opt(os, &p->os, err) < 0 ||
            dup_opt(variant, &p->variant, err) < 0 || dup_opt(osv, &p->os_version, err) < 0) {
                platform_free(p);
                return -ENOMEM;
        }
        *out = p;
        return 0;
}

void ps_descriptor_clear(ps_descriptor *d)
{
        if (!d)
                return;
        free(d->media_type);
        platform_free(d->platform);
        free_annotations(d->annotations, d->n_annotations);
        memset(d, 0, sizeof(*d));
}

static int read_size(json_t *obj, int64_t *out, ps_error *err)
{
        json_t *s = json_object_get(obj, "size");
        if (!s)
                return ps_error_set(err, EINVAL, "\"size\" is missing");
        if (!json_is_integer(s))
                return ps_error_set(err, EINVAL, "\"size\" must be an integer");
        json_int_t v = json_integer_value(s);
        if (v < 0)
                return ps_error_set(err, EINVAL, "\"size\" is negative (%" JSON_INTEGER_FORMAT ")", v);
        *out = (int64_t)v;
        return 0;
}

static int read_digest(json_t *obj, const char *key, ps_digest *out, ps_error *err)
{
        const char *s;
        int r = req_string(obj, key, &s, err);
        if (r < 0)
                return r;
        r = ps_digest_parse(s, out, err);
        if (r < 0)
                return ps_error_wrap(err, "\"%s\"", key);
        return 0;
}

/* Parse a descriptor object into D (zeroed by the caller). */
static int read_descriptor(json_t *obj, ps_descriptor *d, ps_error *err)
{
        if (!json_is_object(obj))
                return ps_error_set(err, EINVAL, "a descriptor must be an object");
        const char *mt;
        int r = req_string(obj, "mediaType", &mt, err);
        if (r < 0)
                return r;
        if ((r = check_media_type(mt, err)) < 0)
                return r;
        if ((r = read_digest(obj, "digest", &d->digest, err)) < 0)
                return r;
        if ((r = read_size(obj, &d->size, err)) < 0)
                return r;
        /* urls, data, artifactType: optional; type-checked, not kept */
        json_t *u = json_object_get(obj, "urls");
        if (u && !json_is_array(u))
                return ps_error_set(err, EINVAL, "\"urls\" must be an array");
        const char *ignored;
        if ((r = opt_string(obj, "data", &ignored, err)) < 0 ||
            (r = opt_string(obj, "artifactType", &ignored, err)) < 0)
                return r;
        if ((r = read_platform(obj, &d->platform, err)) < 0)
                return r;
        if ((r = read_annotations(obj, &d->annotations, &d->n_annotations, err)) < 0)
                return r;
        d->media_type = strdup(mt);
        if (!d->media_type)
                return ps_error_errno(err, ENOMEM, "descriptor");
        return 0;
}

static int read_descriptor_array(json_t *obj, const char *key, ps_descriptor **out, size_t *n,
                                 ps_error *err)
{
        *out = NULL;
        *n = 0;
        json_t *a = json_object_get(obj, key);
        if (!a)
                return ps_error_set(err, EINVAL, "\"%s\" is missing", key);
        if (!json_is_array(a))
                return ps_error_set(err, EINVAL, "\"%s\" must be an array", key);
        size_t cnt = json_array_size(a);
        if (cnt == 0)
                return 0;
        ps_descriptor *v = calloc(cnt, sizeof(*v));
        if (!v)
                return ps_error_errno(err, ENOMEM, "%s", key);
        for (size_t i = 0; i < cnt; i++) {
                int r = read_descriptor(json_array_get(a, i), &v[i], err);
                if (r < 0) {
                        for (size_t j = 0; j <= i; j++)
                                ps_descriptor_clear(&v[j]);
                        free(v);
                        return ps_error_wrap(err, "%s[%zu]", key, i);
                }
        }
        *out = v;
        *n = cnt;
        return 0;
}

static int check_schema_version(json_t *root, ps_error *err)
{
        json_t *sv = json_object_get(root, "schemaVersion");
        if (!sv)
                return ps_error_set(err, EINVAL, "\"schemaVersion\" is missing");
        if (!json_is_integer(sv))
                return ps_error_set(err, EINVAL, "\"schemaVersion\" must be an integer");
        json_int_t v = json_integer_value(sv);
        if (v == 1)
                return ps_error_set(err, ENOTSUP,
                                    "Docker schema 1 manifests are not supported (schemaVersion 1)");
        if (v != 2)
                return ps_error_set(err, EINVAL, "\"schemaVersion\" is %" JSON_INTEGER_FORMAT
                                    ", expected 2", v);
        return 0;
}

/* Decide the document kind.  WANT_INDEX says which family the caller
 * parses; HINT is the referring media type (may be NULL). */
static int decide_kind(json_t *root, const char *hint, bool want_index, ps_oci_kind *out,
                       ps_error *err)
{
        const char *mt;
        int r = opt_string(root, "mediaType", &mt, err);
        if (r < 0)
                return r;
        ps_oci_kind doc = PS_OCI_UNKNOWN, h = PS_OCI_UNKNOWN;
        if (mt) {
                doc = ps_oci_kind_of(mt);
                if (doc == PS_OCI_UNKNOWN || doc == PS_OCI_DOCKER_V1) {
                        _cleanup_free_ char *v = shown_str(mt);
                        if (doc == PS_OCI_DOCKER_V1)
                                return ps_error_set(err, ENOTSUP,
                                                    "Docker schema 1 manifests are not supported");
                        return ps_error_set(err, EINVAL, "mediaType \"%s\" is not a %s media type",
                                            v ? v : "?", want_index ? "image index" : "image manifest");
                }
        }
        if (hint) {
                h = ps_oci_kind_of(hint);
                if (h == PS_OCI_UNKNOWN || h == PS_OCI_DOCKER_V1) {
                        _cleanup_free_ char *v = shown_str(hint);
                        return ps_error_set(err, h == PS_OCI_DOCKER_V1 ? ENOTSUP : EINVAL,
                                            "the descriptor's media type \"%s\" is not a supported %s type",
                                            v ? v : "?", want_index ? "image index" : "image manifest");
                }
        }
        if (doc != PS_OCI_UNKNOWN && h != PS_OCI_UNKNOWN && doc != h) {
                return ps_error_set(err, EINVAL,
                                    "mediaType %s does not match the media type %s it was referred to by",
                                    ps_oci_media_type(doc), ps_oci_media_type(h));
        }
        ps_oci_kind k = doc != PS_OCI_UNKNOWN ? doc : h;
        if (k == PS_OCI_UNKNOWN)
                k = want_index ? PS_OCI_INDEX : PS_OCI_MANIFEST;
        if (want_index && !ps_oci_kind_is_index(k))
                return ps_error_set(err, EINVAL, "it is a %s, not an image index",
                                    ps_oci_media_type(k));
        if (!want_index && !ps_oci_kind_is_manifest(k))
                return ps_error_set(err, EINVAL, "it is a %s, not an image manifest",
                                    ps_oci_media_type(k));
        *out = k;
        return 0;
}

ps_oci_kind ps_oci_detect(const void *data, size_t len)
{
        _cleanup_json_ json_t *root = NULL;
        if (load_object(data, len, PS_OCI_MAX_MANIFEST, "manifest", &root, NULL) < 0)
                return PS_OCI_UNKNOWN;
        json_t *mt = json_object_get(root, "mediaType");
        if (json_is_string(mt)) {
                ps_oci_kind k = ps_oci_kind_of(json_string_value(mt));
                if (k != PS_OCI_UNKNOWN)
                        return k;
        }
        /* without a mediaType, only schemaVersion 2 documents of a clear
         * shape count (an image config has "config" too, but no
         * schemaVersion) */
        json_t *sv = json_object_get(root, "schemaVersion");
        if (!json_is_integer(sv))
                return PS_OCI_UNKNOWN;
        if (json_integer_value(sv) == 1)
                return PS_OCI_DOCKER_V1;
        if (json_integer_value(sv) != 2)
                return PS_OCI_UNKNOWN;
        if (json_object_get(root, "manifests"))
                return PS_OCI_INDEX;
        if (json_object_get(root, "config") || json_object_get(root, "layers"))
                return PS_OCI_MANIFEST;
        return PS_OCI_UNKNOWN;
}

/* ---- manifests ---- */

void ps_manifest_free(ps_manifest *m)
{
        if (!m)
                return;
        ps_descriptor_clear(&m->config);
        for (size_t i = 0; i < m->n_layers; i++)
                ps_descriptor_clear(&m->layers[i]);
        free(m->layers);
        free_annotations(m->annotations, m->n_annotations);
        free(m->raw);
        free(m);
}

static int manifest_body(json_t *root, const char *hint, ps_manifest *m, ps_error *err)
{
        int r;
        if ((r = check_schema_version(root, err)) < 0)
                return r;
        if ((r = decide_kind(root, hint, false, &m->kind, err)) < 0)
                return r;
        m->media_type = ps_oci_media_type(m->kind);
        if (json_object_get(root, "manifests"))
                return ps_error_set(err, EINVAL,
                                    "it has \"manifests\" as an image index does; refusing an ambiguous document");
        json_t *c = json_object_get(root, "config");
        if (!c)
                return ps_error_set(err, EINVAL, "\"config\" is missing");
        if ((r = read_descriptor(c, &m->config, err)) < 0)
                return ps_error_wrap(err, "config");
        if ((r = read_descriptor_array(root, "layers", &m->layers, &m->n_layers, err)) < 0)
                return r;
        json_t *subject = json_object_get(root, "subject");
        if (subject) {
                ps_descriptor s = { 0 };
                r = read_descriptor(subject, &s, err);
                ps_descriptor_clear(&s);
                if (r < 0)
                        return ps_error_wrap(err, "subject");
        }
        if ((r = read_annotations(root, &m->annotations, &m->n_annotations, err)) < 0)
                return r;
        return 0;
}

int ps_manifest_parse(const void *data, size_t len, const char *media_type,
                      ps_manifest **out, ps_error *err)
{
        _cleanup_json_ json_t *root = NULL;
        int r = load_object(data, len, PS_OCI_MAX_MANIFEST, "image manifest", &root, err);
        if (r < 0)
                return r;
        _cleanup_(ps_manifest_freep) ps_manifest *m = calloc(1, sizeof(*m));
        if (!m)
                return ps_error_errno(err, ENOMEM, "image manifest");
        r = manifest_body(root, media_type, m, err);
        if (r < 0)
                return ps_error_wrap(err, "image manifest");
        r = keep_raw(data, len, &m->raw, &m->raw_len, &m->digest, err);
        if (r < 0)
                return r;
        *out = steal_pointer(&m);
        return 0;
}

int ps_manifest_blobs(const ps_manifest *m, const ps_descriptor ***out, size_t *n,
                      ps_error *err)
{
        const ps_descriptor **v = calloc(m->n_layers + 1, sizeof(*v));
        if (!v)
                return ps_error_errno(err, ENOMEM, "listing blobs");
        size_t k = 0;
        for (size_t i = 0; i <= m->n_layers; i++) {
                const ps_descriptor *d = i == 0 ? &m->config : &m->layers[i - 1];
                bool dup = false;
                for (size_t j = 0; j < k && !dup; j++)
                        dup = ps_digest_equal(&v[j]->digest, &d->digest);
                if (!dup)
                        v[k++] = d;
        }
        *out = v;
        *n = k;
        return 0;
}

int ps_descriptor_init(ps_descriptor *d, const char *media_type, const ps_digest *digest,
                       int64_t size, ps_error *err)
{
        memset(d, 0, sizeof(*d));
        if (!media_type || !valid_media_type(media_type))
                return ps_error_set(err, EINVAL, "descriptor: invalid media type");
        if (!ps_digest_is_set(digest))
                return ps_error_set(err, EINVAL, "descriptor: no digest");
        if (size < 0)
                return ps_error_set(err, EINVAL, "descriptor: negative size");
        d->media_type = strdup(media_type);
        if (!d->media_type)
                return ps_error_errno(err, ENOMEM, "descriptor");
        d->digest = *digest;
        d->size = size;
        return 0;
}

int ps_descriptor_annotate(ps_descriptor *d, const char *key, const char *value, ps_error *err)
{
        for (size_t i = 0; i < d->n_annotations; i++) {
                if (strcmp(d->annotations[i].key, key) == 0) {
                        char *v = strdup(value);
                        if (!v)
                                return ps_error_errno(err, ENOMEM, "annotation");
                        free(d->annotations[i].value);
                        d->annotations[i].value = v;
                        return 0;
                }
        }
        ps_annotation *a = realloc(d->annotations, (d->n_annotations + 1) * sizeof(*a));
        if (!a)
                return ps_error_errno(err, ENOMEM, "annotation");
        d->annotations = a;
        char *k = strdup(key), *v = strdup(value);
        if (!k || !v) {
                free(k);
                free(v);
                return ps_error_errno(err, ENOMEM, "annotation");
        }
        a[d->n_annotations].key = k;
        a[d->n_annotations].value = v;
        d->n_annotations++;
        return 0;
}

int ps_descriptor_copy(ps_descriptor *dst, const ps_descriptor *src, ps_error *err)
{
        int r = ps_descriptor_init(dst, src->media_type, &src->digest, src->size, err);
        if (r < 0)
                return r;
        if (src->platform) {
                ps_platform *p = calloc(1, sizeof(*p));
                dst->platform = p;
                if (!p || dup_opt(src->platform->architecture, &p->architecture, err) < 0 ||
                    dup_opt(src->platform->os, &p->os, err) < 0 ||
                    dup_opt(src->platform->variant, &p->variant, err) < 0 ||
                    dup_opt(src->platform->os_version, &p->os_version, err) < 0) {
                        ps_descriptor_clear(dst);
                        return ps_error_errno(err, ENOMEM, "descriptor");
                }
        }
        for (size_t i = 0; i < src->n_annotations; i++) {
                r = ps_descriptor_annotate(dst, src->annotations[i].key, src->annotations[i].value, err);
                if (r < 0) {
                        ps_descriptor_clear(dst);
                        return r;
                }
        }
        return 0;
}

const char *ps_descriptor_annotation(const ps_descriptor *d, const char *key)
{
        for (size_t i = 0; i < d->n_annotations; i++)
                if (strcmp(d->annotations[i].key, key) == 0)
                        return d->annotations[i].value;
        return NULL;
}

char *ps_platform_string(const ps_platform *p)
{
        char *s = NULL;
        int n;
        if (!p)
                return strdup("(no platform)");
        _cleanup_free_ char *os = shown_str(p->os);
        _cleanup_free_ char *arch = shown_str(p->architecture);
        _cleanup_free_ char *var = p->variant ? shown_str(p->variant) : NULL;
        if (!os || !arch || (p->variant && !var))
                return NULL;
        if (var)
                n = asprintf(&s, "%s/%s/%s", os, arch, var);
        else
                n = asprintf(&s, "%s/%s", os, arch);
        return n < 0 ? NULL : s;
}

int ps_manifest_descriptor(const ps_manifest *m, ps_descriptor *out, ps_error *err)
{
        return ps_descriptor_init(out, m->media_type, &m->digest, (int64_t)m->raw_len, err);
}

/* ---- indexes ---- */

void ps_index_free(ps_index *idx)
{
        if (!idx)
                return;
        for (size_t i = 0; i < idx->n_manifests; i++)
                ps_descriptor_clear(&idx->manifests[i]);
        free(idx->manifests);
        free_annotations(idx->annotations, idx->n_annotations);
        free(idx->raw);
        free(idx);
}

static int index_body(json_t *root, const char *hint, ps_index *idx, ps_error *err)
{
        int r;
        if ((r = check_schema_version(root, err)) < 0)
                return r;
        if ((r = decide_kind(root, hint, true, &idx->kind, err)) < 0)
                return r;
        idx->media_type = ps_oci_media_type(idx->kind);
        if (json_object_get(root, "config") || json_object_get(root, "layers"))
                return ps_error_set(err, EINVAL,
                                    "it has \"config\" or \"layers\" as an image manifest does; refusing an ambiguous document");
        if ((r = read_descriptor_array(root, "manifests", &idx->manifests, &idx->n_manifests, err)) < 0)
                return r;
        if ((r = read_annotations(root, &idx->annotations, &idx->n_annotations, err)) < 0)
                return r;
        return 0;
}

static int index_parse(const void *data, size_t len, const char *media_type, const char *what,
                       ps_index **out, ps_error *err)
{
        _cleanup_json_ json_t *root = NULL;
        int r = load_object(data, len, PS_OCI_MAX_INDEX, what, &root, err);
        if (r < 0)
                return r;
        _cleanup_(ps_index_freep) ps_index *idx = calloc(1, sizeof(*idx));
        if (!idx)
                return ps_error_errno(err, ENOMEM, "%s", what);
        r = index_body(root, media_type, idx, err);
        if (r < 0)
                return ps_error_wrap(err, "%s", what);
        r = keep_raw(data, len, &idx->raw, &idx->raw_len, &idx->digest, err);
        if (r < 0)
                return r;
        *out = steal_pointer(&idx);
        return 0;
}

int ps_index_parse(const void *data, size_t len, const char *media_type,
                   ps_index **out, ps_error *err)
{
        return index_parse(data, len, media_type, "image index", out, err);
}

int ps_layout_index_parse(const void *data, size_t len, ps_index **out, ps_error *err)
{
        return index_parse(data, len, PS_MT_OCI_INDEX, "index.json", out, err);
}

static const char *norm_arch(const char *a)
{
        if (strcmp(a, "x86_64") == 0)
                return "amd64";
        if (strcmp(a, "aarch64") == 0)
                return "arm64";
        return a;
}

static const char *default_variant(const char *arch)
{
        if (strcmp(arch, "arm64") == 0)
                return "v8";
        if (strcmp(arch, "arm") == 0)
                return "v7";
        return "";
}

int ps_index_select(const ps_index *idx, const char *os, const char *arch,
                    const char *variant, ps_error *err)
{
        if (!arch || !*arch)
                return ps_error_set(err, EINVAL, "no architecture to select");
        if (!os)
                os = "linux";
        arch = norm_arch(arch);
        const char *defv = default_variant(arch);
        const char *want_v = variant && *variant ? variant : defv;
        long exact = -1, any = -1;
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const ps_descriptor *d = &idx->manifests[i];
                ps_oci_kind k = ps_oci_kind_of(d->media_type);
                if (!ps_oci_kind_is_manifest(k) && !ps_oci_kind_is_index(k))
                        continue;
                if (!d->platform || strcmp(d->platform->os, os) != 0 ||
                    strcmp(norm_arch(d->platform->architecture), arch) != 0)
                        continue;
                const char *v = d->platform->variant && *d->platform->variant ?
                                d->platform->variant : defv;
                if (strcmp(v, want_v) == 0) {
                        exact = (long)i;
                        break;
                }
                if (any < 0)
                        any = (long)i;
        }
        if (exact >= 0)
                return (int)exact;
        if (any >= 0 && !(variant && *variant))
                return (int)any;
        /* not found: list what there is */
        char *list = NULL;
        size_t ll = 0;
        FILE *f = open_memstream(&list, &ll);
        if (!f)
                return ps_error_errno(err, ENOMEM, "index");
        size_t shown_n = 0;
        for (size_t i = 0; i < idx->n_manifests && shown_n < 32; i++) {
                const ps_descriptor *d = &idx->manifests[i];
                if (!d->platform)
                        continue;
                _cleanup_free_ char *p = ps_platform_string(d->platform);
                fprintf(f, "%s%s", shown_n ? ", " : "", p ? p : "?");
                shown_n++;
        }
        fclose(f);
        _cleanup_free_ char *want = NULL;
        _cleanup_free_ char *sos = shown_str(os), *sarch = shown_str(arch), *svar = shown_str(want_v);
        int n = asprintf(&want, "%s/%s%s%s", sos ? sos : "?", sarch ? sarch : "?",
                         *want_v ? "/" : "", *want_v ? (svar ? svar : "?") : "");
        if (n < 0)
                want = NULL;
        int r = ps_error_set(err, ENOENT, "no manifest for %s in the index (it has %s)",
                             want ? want : "?", list && shown_n ? list : "no platforms");
        free(list);
        return r;
}

/* ---- image config ---- */

void ps_image_config_free(ps_image_config *c)
{
        if (!c)
                return;
        free(c->architecture);
        free(c->os);
        free(c->variant);
        free(c->diff_ids);
        free(c->raw);
        free(c);
}

static int config_body(json_t *root, ps_image_config *c, ps_error *err)
{
        const char *arch, *os, *variant;
        int r;
        if ((r = req_string(root, "architecture", &arch, err)) < 0 ||
            (r = req_string(root, "os", &os, err)) < 0 ||
            (r = opt_string(root, "variant", &variant, err)) < 0)
                return r;
        if (dup_opt(arch, &c->architecture, err) < 0 || dup_opt(os, &c->os, err) < 0 ||
            dup_opt(variant, &c->variant, err) < 0)
                return -ENOMEM;
        json_t *rootfs = json_object_get(root, "rootfs");
        if (!rootfs)
                return ps_error_set(err, EINVAL, "\"rootfs\" is missing");
        if (!json_is_object(rootfs))
                return ps_error_set(err, EINVAL, "\"rootfs\" must be an object");
        const char *type;
        if ((r = req_string(rootfs, "type", &type, err)) < 0)
                return ps_error_wrap(err, "rootfs");
        if (strcmp(type, "layers") != 0) {
                _cleanup_free_ char *t = shown_str(type);
                return ps_error_set(err, EINVAL, "rootfs: \"type\" is \"%s\", expected \"layers\"",
                                    t ? t : "?");
        }
        json_t *ids = json_object_get(rootfs, "diff_ids");
        if (!ids)
                return ps_error_set(err, EINVAL, "rootfs: \"diff_ids\" is missing");
        if (!json_is_array(ids))
                return ps_error_set(err, EINVAL, "rootfs: \"diff_ids\" must be an array");
        size_t n = json_array_size(ids);
        c->diff_ids = calloc(n ? n : 1, sizeof(*c->diff_ids));
        if (!c->diff_ids)
                return ps_error_errno(err, ENOMEM, "diff_ids");
        for (size_t i = 0; i < n; i++) {
                json_t *v = json_array_get(ids, i);
                if (!json_is_string(v))
                        return ps_error_set(err, EINVAL, "rootfs: diff_ids[%zu] must be a string", i);
                if ((r = ps_digest_parse(json_string_value(v), &c->diff_ids[i], err)) < 0)
                        return ps_error_wrap(err, "rootfs: diff_ids[%zu]", i);
        }
        c->n_diff_ids = n;
        return 0;
}

int ps_image_config_parse(const void *data, size_t len, ps_image_config **out, ps_error *err)
{
        _cleanup_json_ json_t *root = NULL;
        int r = load_object(data, len, PS_OCI_MAX_CONFIG, "image config", &root, err);
        if (r < 0)
                return r;
        _cleanup_(ps_image_config_freep) ps_image_config *c = calloc(1, sizeof(*c));
        if (!c)
                return ps_error_errno(err, ENOMEM, "image config");
        r = config_body(root, c, err);
        if (r < 0)
                return ps_error_wrap(err, "image config");
        r = keep_raw(data, len, &c->raw, &c->raw_len, &c->digest, err);
        if (r < 0)
                return r;
        *out = steal_pointer(&c);
        return 0;
}

int ps_oci_layout_check(const void *data, size_t len, ps_error *err)
{
        _cleanup_json_ json_t *root = NULL;
        int r = load_object(data, len, PS_OCI_MAX_LAYOUT_FILE, "oci-layout", &root, err);
        if (r < 0)
                return r;
        const char *v;
        if ((r = req_string(root, "imageLayoutVersion", &v, err)) < 0)
                return ps_error_wrap(err, "oci-layout");
        if (strncmp(v, "1.", 2) != 0) {
                _cleanup_free_ char *s = shown_str(v);
                return ps_error_set(err, ENOTSUP,
                                    "oci-layout: imageLayoutVersion \"%s\" is not supported (expected 1.x)",
                                    s ? s : "?");
        }
        return 0;
}

/* ---- rewriting ---- */

static json_t *descriptor_json(const ps_descriptor *d)
{
        json_t *o = json_object();
        if (!o)
                return NULL;
        bool ok = json_object_set_new(o, "mediaType", json_string(d->media_type)) == 0 &&
                  json_object_set_new(o, "digest", json_string(d->digest.str)) == 0 &&
                  json_object_set_new(o, "size", json_integer((json_int_t)d->size)) == 0;
        if (ok && d->platform) {
                json_t *p = json_object();
                ok = p && json_object_set_new(o, "platform", p) == 0;
                ok = ok && json_object_set_new(p, "architecture", json_string(d->platform->architecture)) == 0 &&
                     json_object_set_new(p, "os", json_string(d->platform->os)) == 0;
                if (ok && d->platform->os_version)
                        ok = json_object_set_new(p, "os.version", json_string(d->platform->os_version)) == 0;
                if (ok && d->platform->variant)
                        ok = json_object_set_new(p, "variant", json_string(d->platform->variant)) == 0;
        }
        if (ok && d->n_annotations) {
                json_t *a = json_object();
                ok = a && json_object_set_new(o, "annotations", a) == 0;
                for (size_t i = 0; ok && i < d->n_annotations; i++)
                        ok = json_object_set_new(a, d->annotations[i].key,
                                                 json_string(d->annotations[i].value)) == 0;
        }
        if (!ok) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static int dump(json_t *root, char **out, size_t *len, ps_error *err)
{
        char *s = json_dumps(root, JSON_COMPACT);
        if (!s)
                return ps_error_errno(err, ENOMEM, "serialising JSON");
        *out = s;
        *len = strlen(s);
        return 0;
}

int ps_manifest_replace_layers(const ps_manifest *m, const ps_descriptor *layers, size_t n,
                               ps_manifest **out, ps_error *err)
{
        if (n != m->n_layers)
                return ps_error_set(err, EINVAL,
                                    "manifest %s has %zu layers, %zu replacements given",
                                    m->digest.str, m->n_layers, n);
        _cleanup_json_ json_t *root = json_loadb(m->raw, m->raw_len, JSON_REJECT_DUPLICATES, NULL);
        if (!root || !json_is_object(root))
                return ps_error_set(err, EINVAL, "manifest %s: cannot re-read its JSON", m->digest.str);
        json_t *arr = json_array();
        if (!arr || json_object_set_new(root, "layers", arr) < 0)
                return ps_error_errno(err, ENOMEM, "rewriting manifest %s", m->digest.str);
        for (size_t i = 0; i < n; i++) {
                json_t *d = descriptor_json(&layers[i]);
                if (!d || json_array_append_new(arr, d) < 0)
                        return ps_error_errno(err, ENOMEM, "rewriting manifest %s", m->digest.str);
        }
        if (json_object_set_new(root, "mediaType", json_string(PS_MT_OCI_MANIFEST)) < 0)
                return ps_error_errno(err, ENOMEM, "rewriting manifest %s", m->digest.str);
        if (m->kind == PS_OCI_DOCKER_MANIFEST) {
                json_t *c = json_object_get(root, "config");
                if (!c || json_object_set_new(c, "mediaType", json_string(PS_MT_OCI_CONFIG)) < 0)
                        return ps_error_errno(err, ENOMEM, "rewriting manifest %s", m->digest.str);
        }
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        int r = dump(root, &s, &len, err);
        if (r < 0)
                return r;
        r = ps_manifest_parse(s, len, PS_MT_OCI_MANIFEST, out, err);
        if (r < 0)
                return ps_error_wrap(err, "rewritten manifest of %s", m->digest.str);
        return 0;
}

int ps_manifest_uncompress_layers(const ps_manifest *m, const ps_image_config *cfg,
                                  const int64_t *sizes, ps_manifest **out, ps_error *err)
{
        if (!ps_digest_equal(&cfg->digest, &m->config.digest))
                return ps_error_set(err, EINVAL, "manifest %s: config %s is not its config %s",
                                    m->digest.str, cfg->digest.str, m->config.digest.str);
        if (cfg->n_diff_ids != m->n_layers)
                return ps_error_set(err, EINVAL,
                                    "manifest %s has %zu layers but its config lists %zu diff_ids",
                                    m->digest.str, m->n_layers, cfg->n_diff_ids);
        ps_descriptor *v = calloc(m->n_layers ? m->n_layers : 1, sizeof(*v));
        if (!v)
                return ps_error_errno(err, ENOMEM, "rewriting manifest %s", m->digest.str);
        int r = 0;
        for (size_t i = 0; i < m->n_layers && r >= 0; i++)
                r = ps_descriptor_init(&v[i], PS_MT_OCI_LAYER, &cfg->diff_ids[i], sizes[i], err);
        if (r >= 0)
                r = ps_manifest_replace_layers(m, v, m->n_layers, out, err);
        for (size_t i = 0; i < m->n_layers; i++)
                ps_descriptor_clear(&v[i]);
        free(v);
        return r;
}

int ps_index_replace(const ps_index *idx, const ps_digest *old, const ps_descriptor *new_desc,
                     ps_index **out, ps_error *err)
{
        _cleanup_json_ json_t *root = json_loadb(idx->raw, idx->raw_len, JSON_REJECT_DUPLICATES, NULL);
        if (!root || !json_is_object(root))
                return ps_error_set(err, EINVAL, "index %s: cannot re-read its JSON", idx->digest.str);
        json_t *arr = json_object_get(root, "manifests");
        size_t i;
        json_t *d;
        size_t hits = 0;
        json_array_foreach(arr, i, d) {
                json_t *dg = json_object_get(d, "digest");
                if (!json_is_string(dg) || strcmp(json_string_value(dg), old->str) != 0)
                        continue;
                if (json_object_set_new(d, "mediaType", json_string(new_desc->media_type)) < 0 ||
                    json_object_set_new(d, "digest", json_string(new_desc->digest.str)) < 0 ||
                    json_object_set_new(d, "size", json_integer((json_int_t)new_desc->size)) < 0)
                        return ps_error_errno(err, ENOMEM, "rewriting index %s", idx->digest.str);
                hits++;
        }
        if (hits == 0)
                return ps_error_set(err, ENOENT, "index %s has no entry for %s",
                                    idx->digest.str, old->str);
        if (json_object_set_new(root, "mediaType", json_string(PS_MT_OCI_INDEX)) < 0)
                return ps_error_errno(err, ENOMEM, "rewriting index %s", idx->digest.str);
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        int r = dump(root, &s, &len, err);
        if (r < 0)
                return r;
        r = ps_index_parse(s, len, PS_MT_OCI_INDEX, out, err);
        if (r < 0)
                return ps_error_wrap(err, "rewritten index of %s", idx->digest.str);
        return 0;
}

int ps_index_build(const ps_descriptor *descs, size_t n, char **out, size_t *len,
                   ps_error *err)
{
        _cleanup_json_ json_t *root = json_object();
        json_t *arr = root ? json_array() : NULL;
        if (!arr ||
            json_object_set_new(root, "schemaVersion", json_integer(2)) < 0 ||
            json_object_set_new(root, "mediaType", json_string(PS_MT_OCI_INDEX)) < 0 ||
            json_object_set_new(root, "manifests", arr) < 0)
                return ps_error_errno(err, ENOMEM, "building index.json");
        for (size_t i = 0; i < n; i++) {
                json_t *d = descriptor_json(&descs[i]);
                if (!d || json_array_append_new(arr, d) < 0)
                        return ps_error_errno(err, ENOMEM, "building index.json");
        }
        return dump(root, out, len, err);
}
