/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "trivy.h"
#include "cleanup.h"
#include "fs.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- severities -------------------------------------------------------- */

static const char *const sev_names[PS_TRIVY_SEVERITIES] = {
        "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL",
};

const char *ps_trivy_severity_name(enum ps_trivy_severity s)
{
        return (unsigned)s < PS_TRIVY_SEVERITIES ? sev_names[s] : NULL;
}

enum ps_trivy_severity ps_trivy_severity_parse(const char *s)
{
        if (!s)
                return PS_TRIVY_UNKNOWN;
        for (int i = 0; i < PS_TRIVY_SEVERITIES; i++)
                if (!strcmp(s, sev_names[i]))
                        return (enum ps_trivy_severity)i;
        return PS_TRIVY_UNKNOWN;
}

int ps_trivy_verdict_exit(enum ps_trivy_verdict v)
{
        switch (v) {
        case PS_TRIVY_CRITICAL_FOUND: return 5;
        case PS_TRIVY_HIGH_FOUND: return 4;
        default: return 0;
        }
}

enum ps_trivy_verdict ps_trivy_report_verdict(const ps_trivy_report *r)
{
        if (r->counts[PS_TRIVY_CRITICAL])
                return PS_TRIVY_CRITICAL_FOUND;
        if (r->counts[PS_TRIVY_HIGH])
                return PS_TRIVY_HIGH_FOUND;
        return r->n_vulns ? PS_TRIVY_MINOR : PS_TRIVY_CLEAN;
}

/* ---- reports ----------------------------------------------------------- */

/* "where" of a member for messages: Results[2].Vulnerabilities[7].PkgName */
static int bad(ps_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(ps_error *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *m = NULL;
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = ps_error_set(err, EBADMSG, "not a trivy JSON report: %s", m);
        free(m);
        return r;
}

/* OBJ[KEY]: absent or null -> *out NULL; a string -> copy; else an error. */
static int get_str(json_t *obj, const char *key, char **out, const char *where, ps_error *err)
{
        *out = NULL;
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return bad(err, "%s%s%s is not a string", where, *where ? "." : "", key);
        *out = strndup(json_string_value(v), json_string_length(v));
        if (!*out)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

void ps_trivy_report_free(ps_trivy_report *r)
{
        if (!r)
                return;
        free(r->artifact_name);
        free(r->artifact_type);
        for (size_t i = 0; i < r->n_targets; i++) {
                free(r->targets[i].target);
                free(r->targets[i].klass);
                free(r->targets[i].type);
        }
        free(r->targets);
        for (size_t i = 0; i < r->n_vulns; i++) {
                ps_trivy_vuln *v = &r->vulns[i];
                free(v->id);
                free(v->pkg);
                free(v->installed);
                free(v->fixed);
                free(v->title);
                free(v->severity_text);
        }
        free(r->vulns);
        memset(r, 0, sizeof *r);
}

static int parse_vuln(json_t *jv, ps_trivy_vuln *v, size_t ti, size_t vi, ps_error *err)
{
        char where[96];
        snprintf(where, sizeof where, "Results[%zu].Vulnerabilities[%zu]", ti, vi);
        if (!json_is_object(jv))
                return bad(err, "%s is not an object", where);
        int r;
        if ((r = get_str(jv, "VulnerabilityID", &v->id, where, err)) < 0 ||
            (r = get_str(jv, "PkgName", &v->pkg, where, err)) < 0 ||
            (r = get_str(jv, "InstalledVersion", &v->installed, where, err)) < 0 ||
            (r = get_str(jv, "FixedVersion", &v->fixed, where, err)) < 0 ||
            (r = get_str(jv, "Title", &v->title, where, err)) < 0 ||
            (r = get_str(jv, "Severity", &v->severity_text, where, err)) < 0)
                return r;
        v->severity = ps_trivy_severity_parse(v->severity_text);
        v->target = ti;
        return 0;
}

static int parse_root(json_t *root, ps_trivy_report *r, ps_error *err)
{
        if (!json_is_object(root))
                return bad(err, "the top level is not an object");
        json_t *sv = json_object_get(root, "SchemaVersion");
        if (!sv)
                return bad(err, "SchemaVersion is missing (trivy older than 0.20 or another program wrote it)");
        if (!json_is_integer(sv) || json_integer_value(sv) < 2)
                return bad(err, "SchemaVersion is not an integer >= 2");
        r->schema_version = json_integer_value(sv);
        int k;
        if ((k = get_str(root, "ArtifactName", &r->artifact_name, "", err)) < 0 ||
            (k = get_str(root, "ArtifactType", &r->artifact_type, "", err)) < 0)
                return k;
        json_t *res = json_object_get(root, "Results");
        if (!res || json_is_null(res))
                return 0;
        if (!json_is_array(res))
                return bad(err, "Results is not an array");
        size_t nt = json_array_size(res), nv = 0;
        for (size_t i = 0; i < nt; i++) {
                json_t *t = json_array_get(res, i);
                if (!json_is_object(t))
                        return bad(err, "Results[%zu] is not an object", i);
                json_t *vs = json_object_get(t, "Vulnerabilities");
                if (vs && !json_is_null(vs) && !json_is_array(vs))
                        return bad(err, "Results[%zu].Vulnerabilities is not an array", i);
                nv += json_array_size(vs);
        }
        if (nt) {
                r->targets = calloc(nt, sizeof *r->targets);
                if (!r->targets)
                        return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (nv) {
                r->vulns = calloc(nv, sizeof *r->vulns);
                if (!r->vulns)
                        return ps_error_set(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < nt; i++) {
                json_t *t = json_array_get(res, i);
                ps_trivy_target *tg = &r->targets[i];
                r->n_targets = i + 1;
                char where[48];
                snprintf(where, sizeof where, "Results[%zu]", i);
                if ((k = get_str(t, "Target", &tg->target, where, err)) < 0 ||
                    (k = get_str(t, "Class", &tg->klass, where, err)) < 0 ||
                    (k = get_str(t, "Type", &tg->type, where, err)) < 0)
                        return k;
                json_t *vs = json_object_get(t, "Vulnerabilities");
                for (size_t j = 0; j < json_array_size(vs); j++) {
                        ps_trivy_vuln *v = &r->vulns[r->n_vulns++];
                        k = parse_vuln(json_array_get(vs, j), v, i, j, err);
                        if (k < 0)
                                return k;
                        tg->counts[v->severity]++;
                        r->counts[v->severity]++;
                }
        }
        return 0;
}

int ps_trivy_report_parse(const char *json, size_t len, ps_trivy_report *r, ps_error *err)
{
        memset(r, 0, sizeof *r);
        if (len > PS_TRIVY_MAX_REPORT)
                return ps_error_set(err, EFBIG, "trivy report is too large (%zu bytes, at most %zu)", len,
                                    PS_TRIVY_MAX_REPORT);
        json_error_t je;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return bad(err, "line %d column %d: %s", je.line, je.column, je.text);
        int k = parse_root(root, r, err);
        json_decref(root);
        return k;
}

/* ---- server URL -------------------------------------------------------- */

static bool printable_word(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f)
                        return false;
        return true;
}

int ps_trivy_server_url(const char *spec, char **out, ps_error *err)
{
        *out = NULL;
        if (!spec || !*spec)
                spec = PS_TRIVY_DEFAULT_HOST;
        if (!printable_word(spec))
                return ps_error_set(err, EINVAL,
                                    "invalid trivy server \"%s\": blanks, control and non-ASCII characters are not allowed",
                                    spec);
        if (spec[0] == '-')
                return ps_error_set(err, EINVAL, "invalid trivy server \"%s\": it starts with '-'", spec);
        const char *sep = strstr(spec, "://");
        if (sep) {
                size_t sl = (size_t)(sep - spec);
                if (!((sl == 4 && !strncasecmp(spec, "http", 4)) || (sl == 5 && !strncasecmp(spec, "https", 5))))
                        return ps_error_set(err, EINVAL, "invalid trivy server \"%s\": only http:// and https:// URLs are possible",
                                            spec);
                const char *host = sep + 3;
                if (!*host || *host == '/' || *host == ':')
                        return ps_error_set(err, EINVAL, "invalid trivy server \"%s\": no host name", spec);
                *out = strdup(spec);
                return *out ? 0 : ps_error_set(err, ENOMEM, "out of memory");
        }
        if (strchr(spec, '/') || strchr(spec, '@') || strchr(spec, '?') || strchr(spec, '#'))
                return ps_error_set(err, EINVAL, "invalid trivy server \"%s\": give a host name, HOST:PORT or a URL", spec);
        const char *colon = strchr(spec, ':');
        int k;
        if (spec[0] == '[') {
                /* [v6] or [v6]:port */
                const char *close = strchr(spec, ']');
                if (!close || close == spec + 1 || (close[1] && close[1] != ':'))
                        return ps_error_set(err, EINVAL, "invalid trivy server \"%s\": bad bracketed address", spec);
                colon = close[1] == ':' ? close + 1 : NULL;
        } else if (colon && strchr(colon + 1, ':')) {
                /* a bare IPv6 address */
                k = asprintf(out, "http://[%s]:%d", spec, PS_TRIVY_DEFAULT_PORT);
                return k < 0 ? (*out = NULL, ps_error_set(err, ENOMEM, "out of memory")) : 0;
        }
        if (colon) {
                const char *p = colon + 1;
                size_t n = strlen(p);
                if (colon == spec || n == 0 || n > 5 || strspn(p, "0123456789") != n || atoi(p) < 1 || atoi(p) > 65535)
                        return ps_error_set(err, EINVAL, "invalid trivy server \"%s\": bad port", spec);
                k = asprintf(out, "http://%s", spec);
        } else {
                k = asprintf(out, "http://%s:%d", spec, PS_TRIVY_DEFAULT_PORT);
        }
        if (k < 0) {
                *out = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

/* ---- local image inventory -------------------------------------------- */

void ps_store_images_free(ps_store_image *v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 0; i < n; i++) {
                free(v[i].id);
                free(v[i].digest);
                ps_strv_free(v[i].names);
        }
        free(v);
}

static bool usable_name(const char *s, size_t len)
{
        if (len == 0 || s[0] == '-' || strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static bool hex64(const char *s, size_t len)
{
        return len == 64 && strspn(s, "0123456789abcdef") == 64;
}

int ps_store_images_parse(const char *json, size_t len, ps_store_image **out, size_t *n, ps_error *err)
{
        *out = NULL;
        *n = 0;
        size_t i = 0;
        while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\r' || json[i] == '\n'))
                i++;
        if (i == len)
                return 0;       /* containers-storage writes an empty file for no images */
        json_error_t je;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return ps_error_set(err, EBADMSG, "not a containers-storage images.json: line %d column %d: %s", je.line,
                                    je.column, je.text);
        int k = 0;
        ps_store_image *v = NULL;
        size_t cnt = 0;
        if (!json_is_array(root)) {
                k = ps_error_set(err, EBADMSG, "not a containers-storage images.json: the top level is not an array");
                goto out;
        }
        size_t total = json_array_size(root);
        if (total) {
                v = calloc(total, sizeof *v);
                if (!v) {
                        k = ps_error_set(err, ENOMEM, "out of memory");
                        goto out;
                }
        }
        for (size_t j = 0; j < total; j++) {
                json_t *e = json_array_get(root, j);
                json_t *id = json_object_get(e, "id");
                json_t *names = json_object_get(e, "names");
                json_t *dg = json_object_get(e, "digest");
                if (!json_is_object(e) || !json_is_string(id) || !hex64(json_string_value(id), json_string_length(id))) {
                        k = ps_error_set(err, EBADMSG,
                                         "not a containers-storage images.json: entry %zu has no \"id\" of 64 hex digits", j);
                        goto out;
                }
                if (names && !json_is_null(names) && !json_is_array(names)) {
                        k = ps_error_set(err, EBADMSG, "not a containers-storage images.json: \"names\" of entry %zu is not an array", j);
                        goto out;
                }
                ps_store_image *img = &v[cnt++];
                img->id = strdup(json_string_value(id));
                img->names = calloc(json_array_size(names) + 1, sizeof *img->names);
                if (!img->id || !img->names) {
                        k = ps_error_set(err, ENOMEM, "out of memory");
                        goto out;
                }
                memcpy(img->short_id, img->id, 12);
                img->short_id[12] = '\0';
                for (size_t q = 0; q < json_array_size(names); q++) {
                        json_t *nm = json_array_get(names, q);
                        if (!json_is_string(nm) || !usable_name(json_string_value(nm), json_string_length(nm)))
                                continue;
                        img->names[img->n_names] = strdup(json_string_value(nm));
                        if (!img->names[img->n_names]) {
                                k = ps_error_set(err, ENOMEM, "out of memory");
                                goto out;
                        }
                        img->n_names++;
                }
                if (json_is_string(dg) && usable_name(json_string_value(dg), json_string_length(dg))) {
                        img->digest = strdup(json_string_value(dg));
                        if (!img->digest) {
                                k = ps_error_set(err, ENOMEM, "out of memory");
                                goto out;
                        }
                }
        }
out:
        json_decref(root);
        if (k < 0) {
                ps_store_images_free(v, cnt);
                return k;
        }
        *out = v;
        *n = cnt;
        return 0;
}

int ps_store_images_load(const char *path, ps_store_image **out, size_t *n, ps_error *err)
{
        *out = NULL;
        *n = 0;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = ps_read_file(path, (size_t)256 << 20, &data, &len, err);
        if (r < 0)
                return r;
        r = ps_store_images_parse(data, len, out, n, err);
        if (r < 0)
                return ps_error_wrap(err, "%s", path);
        return 0;
}

const char *ps_store_image_label(const ps_store_image *img)
{
        return img->n_names ? img->names[0] : img->short_id;
}
