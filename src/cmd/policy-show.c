/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec policy show: the effective image trust policy of root or a user,
 * as podman/skopeo (containers/image) would apply it: which policy.json and
 * registries.d are used, every transport and scope with its requirements,
 * the key files with their OpenPGP fingerprints, and the lookaside URL
 * signatures are read from.  With --for REFERENCE: which scope applies to
 * one image and where its signatures would be read.
 *
 * The result is built once as a JSON value (what --json prints) and the
 * text form is rendered from it, so both always say the same. */
#include "cmd.h"
#include "cleanup.h"
#include "effective.h"
#include "fs.h"
#include "gpg.h"
#include "policy.h"
#include "reference.h"
#include "registries.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
        EXIT_SHOWN = 0,
        EXIT_FAILED = 1,       /* unknown user, no/invalid policy, invalid reference, output error */
        EXIT_USAGE = 2,
        EXIT_PROBLEMS = 3,     /* shown, but problems were found */
};

typedef struct show {
        ps_ctx *ctx;
        const char *root;      /* NULL: the host */
        ps_effective eff;      /* user, home, the files in effect */
        ps_policy *pol;
        ps_regd *regd;         /* NULL when registries.d could not be read */
        json_t *problems;
} show;

static void show_clear(show *s)
{
        ps_effective_clear(&s->eff);
        ps_policy_free(s->pol);
        ps_regd_free(s->regd);
        json_decref(s->problems);
}

static int oom(ps_ctx *ctx)
{
        ps_err(ctx, _("out of memory"));
        return EXIT_FAILED;
}

/* Add a problem (printf-style); false on ENOMEM. */
static bool problem(show *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool problem(show *s, const char *fmt, ...)
{
        _cleanup_free_ char *m = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&m, fmt, ap);
        va_end(ap);
        return k >= 0 && json_array_append_new(s->problems, json_string(m)) == 0;
}

/* A path inside the root as seen on the node: strip the root prefix. */
static const char *node_path(const show *s, const char *real)
{
        return ps_effective_node_path(s->root, real);
}

/* "\"scope\"" of TRANSPORT for messages. */
static char *where_of(const char *transport, const char *scope)
{
        char *w = NULL;
        if (!transport)
                return strdup("default");
        if (asprintf(&w, "transports.%s.\"%s\"", transport, scope) < 0)
                return NULL;
        return w;
}

static json_t *str_array(char **v)
{
        json_t *a = json_array();
        for (char **p = v; a && p && *p; p++)
                if (json_array_append_new(a, json_string(*p)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

/* One key file or keyData entry. */
static json_t *describe_key_path(show *s, const char *where, const char *path, bool pgp)
{
        json_t *k = json_pack("{s:s}", "path", path);
        if (!k)
                return NULL;
        ps_error err = PS_ERROR_INIT;
        if (path[0] != '/') {
                const char *m = _("relative key path: podman and skopeo would resolve it against their "
                                  "working directory");
                json_object_set_new(k, "error", json_string(m));
                problem(s, "%s: key %s: %s", where, path, m);
                return k;
        }
        _cleanup_free_ char *file = ps_root_path(s->root, path);
        if (!file) {
                json_decref(k);
                return NULL;
        }
        json_object_set_new(k, "file", json_string(file));
        if (pgp) {
                _cleanup_strv_ char **fprs = NULL;
                if (ps_gpg_key_file_fingerprints(file, &fprs, &err) < 0) {
                        json_object_set_new(k, "error", json_string(ps_error_msg(&err)));
                        problem(s, "%s: key %s: %s", where, path, ps_error_msg(&err));
                        ps_error_clear(&err);
                } else {
                        json_object_set_new(k, "fingerprints", str_array(fprs));
                }
        } else {
                /* sigstore public keys are not OpenPGP: only check that the file can be read */
                _cleanup_free_ char *data = NULL;
                if (ps_read_file(file, PS_POLICY_KEY_MAX_SIZE, &data, NULL, &err) < 0) {
                        json_object_set_new(k, "error", json_string(ps_error_msg(&err)));
                        problem(s, "%s: key %s: %s", where, path, ps_error_msg(&err));
                        ps_error_clear(&err);
                }
        }
        return k;
}

static json_t *describe_key_data(show *s, const char *where, const json_t *v, bool pgp)
{
        json_t *k = json_pack("{s:b}", "keyData", 1);
        if (!k || !json_is_string(v))
                return k;
        _cleanup_free_ unsigned char *data = NULL;
        size_t len = 0;
        if (ps_base64_decode(json_string_value(v), json_string_length(v), &data, &len) < 0) {
                const char *m = _("keyData is not valid base64");
                json_object_set_new(k, "error", json_string(m));
                problem(s, "%s: %s", where, m);
                return k;
        }
        if (!pgp)
                return k;
        ps_error err = PS_ERROR_INIT;
        _cleanup_strv_ char **fprs = NULL;
        if (ps_gpg_key_data_fingerprints(data, len, "keyData", &fprs, &err) < 0) {
                json_object_set_new(k, "error", json_string(ps_error_msg(&err)));
                problem(s, "%s: keyData: %s", where, ps_error_msg(&err));
                ps_error_clear(&err);
        } else {
                json_object_set_new(k, "fingerprints", str_array(fprs));
        }
        return k;
}

static json_t *describe_identity(const ps_identity *id)
{
        json_t *o = json_pack("{s:s, s:b}", "type", ps_ident_type_name(id->type), "implicit", id->implicit);
        if (!o)
                return NULL;
        if (id->docker_reference)
                json_object_set_new(o, "dockerReference", json_string(id->docker_reference));
        if (id->docker_repository)
                json_object_set_new(o, "dockerRepository", json_string(id->docker_repository));
        if (id->prefix)
                json_object_set_new(o, "prefix", json_string(id->prefix));
        if (id->signed_prefix)
                json_object_set_new(o, "signedPrefix", json_string(id->signed_prefix));
        return o;
}

static json_t *describe_requirement(show *s, const json_t *req, const char *where)
{
        ps_requirement v;
        ps_error err = PS_ERROR_INIT;
        if (ps_requirement_view(req, &v, &err) < 0) {
                /* cannot happen for a policy that loaded; say so rather than hide it */
                json_t *o = json_pack("{s:s, s:O}", "error", ps_error_msg(&err), "raw", req);
                problem(s, "%s: %s", where, ps_error_msg(&err));
                ps_error_clear(&err);
                return o;
        }
        json_t *o = json_pack("{s:s}", "type", v.type_name);
        if (!o)
                goto out;
        if (v.key_type)
                json_object_set_new(o, "keyType", json_string(v.key_type));
        if (v.type == PS_REQ_SIGNED_BY || v.type == PS_REQ_SIGSTORE_SIGNED) {
                bool pgp = v.type == PS_REQ_SIGNED_BY;
                json_t *keys = json_array();
                for (size_t i = 0; keys && i < v.n_key_paths; i++)
                        json_array_append_new(keys, describe_key_path(s, where, v.key_paths[i], pgp));
                const json_t *kd = json_object_get(req, "keyData");
                if (keys && kd)
                        json_array_append_new(keys, describe_key_data(s, where, kd, pgp));
                const json_t *kds = json_object_get(req, "keyDatas");
                size_t i;
                const json_t *e;
                if (keys && json_is_array(kds))
                        json_array_foreach(kds, i, e)
                                json_array_append_new(keys, describe_key_data(s, where, e, pgp));
                json_object_set_new(o, "keys", keys);
                if (v.fulcio)
                        json_object_set_new(o, "fulcio", json_true());
                if (v.pki)
                        json_object_set_new(o, "pki", json_true());
                if (v.rekor)
                        json_object_set_new(o, "rekor", json_true());
                json_object_set_new(o, "signedIdentity", describe_identity(&v.identity));
        } else if (v.type == PS_REQ_SIGNED_BASE_LAYER) {
                json_object_set_new(o, "baseLayerIdentity", describe_identity(&v.identity));
        }
        json_object_set(o, "raw", (json_t *)req);
out:
        ps_requirement_view_clear(&v);
        return o;
}

static json_t *describe_requirements(show *s, const json_t *reqs, const char *where)
{
        json_t *a = json_array();
        size_t i;
        const json_t *r;
        if (!a)
                return NULL;
        json_array_foreach(reqs, i, r) {
                _cleanup_free_ char *w = NULL;
                if (asprintf(&w, "%s[%zu]", where, i) < 0 ||
                    json_array_append_new(a, describe_requirement(s, r, w)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

/* {"url", "section", "key", "file"} of a registries.d match; null without registries.d */
static json_t *match_json(show *s, const ps_regd_match *m)
{
        return json_pack("{s:s, s:s?, s:s?, s:s?, s:b}", "url", m->url, "section", m->scope, "key", m->key,
                         "file", m->file ? node_path(s, m->file) : NULL, "builtin", m->builtin);
}

static const char *builtin_home(const show *s)
{
        return ps_effective_builtin_home(&s->eff);
}

/* lookaside + lookaside_staging of a docker policy scope ("" = transport default / default) */
static void add_lookaside_scope(show *s, json_t *o, const char *scope)
{
        if (!s->regd) {
                json_object_set_new(o, "lookaside", json_null());
                json_object_set_new(o, "lookaside_staging", json_null());
                return;
        }
        for (int w = 0; w < 2; w++) {
                ps_regd_match m = { 0 };
                ps_error err = PS_ERROR_INIT;
                json_t *v = json_null();
                if (ps_regd_lookup_scope(s->regd, scope, w, builtin_home(s), &m, &err) == 0)
                        v = match_json(s, &m);
                else
                        ps_error_clear(&err);
                ps_regd_match_clear(&m);
                json_object_set_new(o, w ? "lookaside_staging" : "lookaside", v);
        }
}

typedef struct scope_ctx {
        show *s;
        json_t *list;
        int failed;
} scope_ctx;

static int add_scope(const char *transport, const char *scope, const json_t *reqs, void *userdata)
{
        scope_ctx *c = userdata;
        _cleanup_free_ char *where = where_of(transport, scope);
        json_t *o = where ? json_pack("{s:s, s:s}", "transport", transport, "scope", scope) : NULL;
        json_t *r = o ? describe_requirements(c->s, reqs, where) : NULL;
        if (!r || json_object_set_new(o, "requirements", r) < 0) {
                json_decref(o);
                c->failed = -ENOMEM;
                return 1;
        }
        if (!strcmp(transport, "docker"))
                add_lookaside_scope(c->s, o, scope);
        json_array_append_new(c->list, o);
        return 0;
}

/* ---- text output ------------------------------------------------------ */

enum { C_TRANSPORT, C_SCOPE, C_REQ, C_KEY, C_FPR, C_LOOKASIDE, C_N };

typedef struct table {
        char *(*rows)[C_N];
        size_t n, cap;
} table;

static void table_free(table *t)
{
        for (size_t i = 0; i < t->n; i++)
                for (int c = 0; c < C_N; c++)
                        free(t->rows[i][c]);
        free(t->rows);
}

/* Append a row; NULL cells are empty.  false on ENOMEM. */
static bool table_add(table *t, const char *c0, const char *c1, const char *c2, const char *c3, const char *c4,
                      const char *c5)
{
        if (t->n == t->cap) {
                size_t nc = t->cap ? t->cap * 2 : 16;
                void *nr = realloc(t->rows, nc * sizeof(*t->rows));
                if (!nr)
                        return false;
                t->rows = nr;
                t->cap = nc;
        }
        const char *cells[C_N] = { c0, c1, c2, c3, c4, c5 };
        for (int c = 0; c < C_N; c++) {
                t->rows[t->n][c] = strdup(cells[c] ? cells[c] : "");
                if (!t->rows[t->n][c]) {
                        for (int d = 0; d < c; d++)
                                free(t->rows[t->n][d]);
                        return false;
                }
        }
        t->n++;
        return true;
}

static void table_print(const table *t, FILE *f)
{
        size_t w[C_N] = { 0 };
        bool used[C_N] = { false };
        for (size_t i = 0; i < t->n; i++)
                for (int c = 0; c < C_N; c++) {
                        size_t l = strlen(t->rows[i][c]);
                        if (l > w[c])
                                w[c] = l;
                        if (i > 0 && l)
                                used[c] = true;
                }
        int last = 0;
        for (int c = 0; c < C_N; c++)
                if (used[c])
                        last = c;
        for (size_t i = 0; i < t->n; i++) {
                _cleanup_free_ char *line = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&line, &len);
                if (!m)
                        return;
                for (int c = 0; c <= last; c++) {
                        if (!used[c])
                                continue;
                        if (c == last)
                                fputs(t->rows[i][c], m);
                        else
                                fprintf(m, "%-*s  ", (int)w[c], t->rows[i][c]);
                }
                fclose(m);
                while (len > 0 && line[len - 1] == ' ')
                        line[--len] = '\0';
                fprintf(f, "%s\n", line);
        }
}

static char *req_label(const json_t *r)
{
        const char *type = json_string_value(json_object_get(r, "type"));
        const json_t *id = json_object_get(r, "signedIdentity");
        if (!id)
                id = json_object_get(r, "baseLayerIdentity");
        char *l = NULL;
        if (!type)
                return strdup(_("(invalid)"));
        if (id && !json_is_true(json_object_get(id, "implicit"))) {
                const char *it = json_string_value(json_object_get(id, "type"));
                const char *arg = json_string_value(json_object_get(id, "dockerReference"));
                if (!arg)
                        arg = json_string_value(json_object_get(id, "dockerRepository"));
                if (!arg)
                        arg = json_string_value(json_object_get(id, "prefix"));
                if (asprintf(&l, "%s (%s%s%s)", type, it ? it : "?", arg ? " " : "", arg ? arg : "") < 0)
                        return NULL;
                return l;
        }
        return strdup(type);
}

static const char *lookaside_url(const json_t *o)
{
        const json_t *l = json_object_get(o, "lookaside");
        return l ? json_string_value(json_object_get(l, "url")) : NULL;
}

/* Rows for one scope entry: requirements, keys, fingerprints. */
static bool table_scope(table *t, const char *transport, const char *scope, const json_t *o)
{
        const json_t *reqs = json_object_get(o, "requirements");
        const char *look = lookaside_url(o);
        if (!look && json_object_get(o, "lookaside") && json_is_null(json_object_get(o, "lookaside")))
                look = _("(registries.d unreadable)");
        bool first = true;
        size_t i;
        const json_t *r;
        json_array_foreach(reqs, i, r) {
                _cleanup_free_ char *label = req_label(r);
                if (!label)
                        return false;
                const json_t *keys = json_object_get(r, "keys");
                bool firstreq = true;
                size_t k;
                const json_t *key;
                json_array_foreach(keys, k, key) {
                        const char *p = json_string_value(json_object_get(key, "path"));
                        const char *kname = p ? p : "keyData";
                        const json_t *fprs = json_object_get(key, "fingerprints");
                        const char *error = json_string_value(json_object_get(key, "error"));
                        size_t nf = json_array_size(fprs);
                        for (size_t f = 0; f < (nf ? nf : 1); f++) {
                                const char *fp = nf ? json_string_value(json_array_get(fprs, f))
                                                    : error ? _("ERROR, see problems below")
                                                            : json_object_get(key, "fingerprints") ? _("(no keys)")
                                                                                                   : "-";
                                if (!table_add(t, first ? transport : NULL, first ? scope : NULL,
                                               firstreq ? label : NULL, f == 0 ? kname : NULL, fp,
                                               first ? look : NULL))
                                        return false;
                                first = firstreq = false;
                        }
                }
                if (firstreq) {
                        if (!table_add(t, first ? transport : NULL, first ? scope : NULL, label, NULL, NULL,
                                       first ? look : NULL))
                                return false;
                        first = false;
                }
        }
        return true;
}

static void print_problems(const json_t *problems, FILE *f)
{
        if (!json_array_size(problems))
                return;
        fputs(_("\nProblems:\n"), f);
        size_t i;
        const json_t *p;
        json_array_foreach(problems, i, p)
                fprintf(f, "  - %s\n", json_string_value(p));
}

static void print_header(const json_t *doc, FILE *f)
{
        const json_t *u = json_object_get(doc, "user");
        const json_t *pol = json_object_get(doc, "policy");
        const json_t *rd = json_object_get(doc, "registries_d");
        const char *root = json_string_value(json_object_get(doc, "root"));
        if (root)
                fprintf(f, "%-14s%s\n", _("Root:"), root);
        fprintf(f, "%-14s%s (uid %lld, home %s)\n", _("User:"), json_string_value(json_object_get(u, "name")),
                json_integer_value(json_object_get(u, "uid")), json_string_value(json_object_get(u, "home")));
        bool user_pol = !strcmp(json_string_value(json_object_get(pol, "source")), "user");
        fprintf(f, "%-14s%s (%s)\n", _("Policy:"), json_string_value(json_object_get(pol, "path")),
                user_pol ? _("the user's own") : _("system"));
        bool user_rd = !strcmp(json_string_value(json_object_get(rd, "source")), "user");
        fprintf(f, "%-14s%s (%s)", _("Registries.d:"), json_string_value(json_object_get(rd, "path")),
                user_rd ? _("the user's own, replacing the system one") : _("system"));
        const json_t *files = json_object_get(rd, "files");
        if (json_is_array(files)) {
                size_t i;
                const json_t *x;
                if (!json_array_size(files))
                        fputs(_(": no *.yaml files"), f);
                json_array_foreach(files, i, x) {
                        const char *p = json_string_value(x);
                        const char *b = strrchr(p, '/');
                        fprintf(f, "%s%s", i ? ", " : ": ", b ? b + 1 : p);
                }
        } else {
                fputs(_(": unreadable"), f);
        }
        fputc('\n', f);
}

static const char *match_source(const json_t *m, char **buf)
{
        if (!m || json_is_null(m))
                return _("registries.d unreadable");
        if (json_is_true(json_object_get(m, "builtin")))
                return _("built-in default");
        const char *sec = json_string_value(json_object_get(m, "section"));
        const char *key = json_string_value(json_object_get(m, "key"));
        const char *file = json_string_value(json_object_get(m, "file"));
        int k = !strcmp(sec, "default-docker")
                        ? asprintf(buf, _("%s of default-docker in %s"), key, file)
                        : asprintf(buf, _("%s of docker scope \"%s\" in %s"), key, sec, file);
        return k < 0 ? "?" : *buf;
}

static int print_text(show *s, const json_t *doc)
{
        FILE *f = stdout;
        print_header(doc, f);
        const json_t *forr = json_object_get(doc, "for");
        table t = { 0 };
        bool ok = table_add(&t, _("TRANSPORT"), _("SCOPE"), _("REQUIREMENT"), _("KEY"), _("FINGERPRINT"),
                            _("LOOKASIDE"));
        if (forr) {
                const char *scope = json_string_value(json_object_get(forr, "scope"));
                const char *kind = json_string_value(json_object_get(forr, "scope_kind"));
                fprintf(f, "\n%-14s%s\n", _("Reference:"), json_string_value(json_object_get(forr, "reference")));
                fprintf(f, "%-14s%s\n", _("Identity:"), json_string_value(json_object_get(forr, "identity")));
                if (!scope)
                        fprintf(f, "%-14s%s\n", _("Scope:"), _("the global default (no docker scope matches)"));
                else
                        fprintf(f, "%-14sdocker \"%s\" (%s)\n", _("Scope:"), scope, kind);
                _cleanup_free_ char *src = NULL;
                const json_t *m = json_object_get(forr, "lookaside");
                fprintf(f, "%-14s%s (%s)\n", _("Lookaside:"), lookaside_url(forr) ? lookaside_url(forr) : "-",
                        match_source(m, &src));
                const char *sig = json_string_value(json_object_get(forr, "signature_url"));
                fprintf(f, "%-14s%s\n\n", _("Signature 1:"), sig ? sig : "-");
                ok = ok && table_scope(&t, scope ? "docker" : _("(all)"), scope ? (*scope ? scope : "\"\"")
                                                                                : _("default"),
                                       forr);
        } else {
                fputc('\n', f);
                ok = ok && table_scope(&t, _("(all)"), _("default"), json_object_get(doc, "default"));
                size_t i;
                const json_t *o;
                json_array_foreach(json_object_get(doc, "scopes"), i, o) {
                        const char *sc = json_string_value(json_object_get(o, "scope"));
                        ok = ok && table_scope(&t, json_string_value(json_object_get(o, "transport")),
                                               *sc ? sc : "\"\"", o);
                }
        }
        if (ok)
                table_print(&t, f);
        table_free(&t);
        if (!ok)
                return oom(s->ctx);
        print_problems(s->problems, f);
        return 0;
}

/* ---- loading ----------------------------------------------------------- */

/* User, home and the files in effect (effective.h). */
static int load_user(show *s, const char *name)
{
        ps_error err = PS_ERROR_INIT;
        if (ps_effective_find(s->root, name, &s->eff, &err) < 0)
                return ps_fail(s->ctx, &err, EXIT_FAILED);
        return 0;
}

/* The policy in effect: ~/.config/containers/policy.json when it exists,
 * else /etc/containers/policy.json. */
static int load_policy(show *s, json_t *doc)
{
        ps_error err = PS_ERROR_INIT;
        const ps_effective *e = &s->eff;
        if (!e->policy_exists) {
                ps_effective_load_policy(e, PS_POLICY_COMPAT, &s->pol, &err);
                return ps_fail(s->ctx, &err, EXIT_FAILED);
        }
        json_object_set_new(doc, "policy", json_pack("{s:s, s:s, s:s}", "path", e->policy_path, "file",
                                                     e->policy_file, "source", e->policy_user ? "user" : "system"));
        /* what containers/image accepts is what takes effect */
        if (ps_effective_load_policy(e, PS_POLICY_COMPAT, &s->pol, &err) < 0)
                return ps_fail(s->ctx, &err, EXIT_FAILED);
        ps_policy *strict = NULL;
        if (ps_policy_load_flags(e->policy_file, PS_POLICY_STRICT, &strict, &err) < 0) {
                problem(s, _("%s (podman accepts the file, but this entry can never take effect)"),
                        ps_error_msg(&err));
                ps_error_clear(&err);
        }
        ps_policy_free(strict);
        return 0;
}

static int load_registries_d(show *s, json_t *doc)
{
        ps_error err = PS_ERROR_INIT;
        const char *dir = s->eff.regd_dir;
        bool user = s->eff.regd_user;
        json_t *rd = json_pack("{s:s, s:s, s:s}", "path", s->eff.regd_path, "dir", dir, "source",
                               user ? "user" : "system");
        if (!rd)
                return oom(s->ctx);
        json_object_set_new(doc, "registries_d", rd);
        if (ps_regd_load_dir(dir, &s->regd, &err) < 0) {
                json_object_set_new(rd, "error", json_string(ps_error_msg(&err)));
                problem(s, _("registries.d: %s (podman and skopeo fail the same way for signed images)"),
                        ps_error_msg(&err));
                ps_error_clear(&err);
                s->regd = NULL;
                return 0;
        }
        s->regd->user_dir = user;
        json_t *files = json_array();
        for (size_t i = 0; files && i < s->regd->n_files; i++)
                json_array_append_new(files, json_string(node_path(s, s->regd->files[i])));
        json_object_set_new(rd, "files", files);
        return 0;
}

/* --for REFERENCE */
static int describe_for(show *s, json_t *doc, const char *reference)
{
        ps_error err = PS_ERROR_INIT;
        const char *ref = reference;
        if (!strncmp(ref, "docker://", 9))
                ref += 9;
        else if (strstr(ref, "://")) {
                ps_err(s->ctx, _("--for: \"%s\" is not a docker reference"), reference);
                return EXIT_FAILED;
        }
        ps_reference r;
        if (ps_reference_parse(ref, &r, &err) < 0)
                return ps_fail(s->ctx, &err, EXIT_FAILED);
        _cleanup_free_ char *identity = NULL;
        int k = ps_reference_identity(&r, &identity, &err);
        ps_reference_free(&r);
        if (k < 0)
                return ps_fail(s->ctx, &err, EXIT_FAILED);
        const char *scope = NULL;
        ps_scope_kind kind;
        const json_t *reqs = NULL;
        if (ps_policy_scope_for(s->pol, ref, &scope, &kind, &reqs, &err) < 0)
                return ps_fail(s->ctx, &err, EXIT_FAILED);
        _cleanup_free_ char *where = where_of(scope ? "docker" : NULL, scope ? scope : "");
        json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s}", "reference", reference, "identity", identity,
                              "transport", "docker", "scope", scope, "scope_kind", ps_scope_kind_name(kind));
        json_t *d = o && where ? describe_requirements(s, reqs, where) : NULL;
        if (!d) {
                json_decref(o);
                return oom(s->ctx);
        }
        json_object_set_new(o, "requirements", d);
        json_object_set_new(doc, "for", o);
        if (!s->regd) {
                json_object_set_new(o, "lookaside", json_null());
                json_object_set_new(o, "lookaside_staging", json_null());
                json_object_set_new(o, "signature_url", json_null());
                return 0;
        }
        for (int w = 0; w < 2; w++) {
                ps_regd_match m = { 0 };
                if (ps_regd_lookup_ref(s->regd, ref, w, builtin_home(s), &m, &err) < 0)
                        return ps_fail(s->ctx, &err, EXIT_FAILED);
                json_object_set_new(o, w ? "lookaside_staging" : "lookaside", match_json(s, &m));
                ps_regd_match_clear(&m);
        }
        _cleanup_free_ char *url = NULL;
        if (ps_regd_sigurl(s->regd, ref, NULL, 1, false, builtin_home(s), &url, NULL, &err) < 0) {
                problem(s, "%s", ps_error_msg(&err));
                ps_error_clear(&err);
                json_object_set_new(o, "signature_url", json_null());
        } else {
                json_object_set_new(o, "signature_url", json_string(url));
        }
        const char *at = strchr(ref, '@');
        json_object_set_new(o, "digest", at ? json_string(at + 1) : json_null());
        return 0;
}

static void usage(FILE *f, const char *prog)
{
        fprintf(f, _("Usage: %s [--user USER] [--for REFERENCE]\n\n"), prog);
        fputs(_("Show the image trust policy in effect for root (the default) or USER, as podman\n"
                "and skopeo apply it:\n"
                "  - the policy file: ~/.config/containers/policy.json of the user when it\n"
                "    exists, else /etc/containers/policy.json;\n"
                "  - the registries.d directory: ~/.config/containers/registries.d when it\n"
                "    exists (it replaces the system one entirely), else\n"
                "    /etc/containers/registries.d;\n"
                "  - for each transport and scope: the requirements, every key file (keyPath,\n"
                "    keyPaths) or inline keyData with the fingerprints of its OpenPGP keys,\n"
                "    and for docker scopes the lookaside URL signatures are read from.\n"
                "The user's home comes from /etc/passwd; with --root everything, key files\n"
                "included, is read under the root tree.\n\n"
                "Options:\n"
                "  --user USER        show USER's policy (default: root)\n"
                "  --for REFERENCE    show only which scope and requirements apply to one image\n"
                "                     (docker reference, \"docker://\" optional), where its\n"
                "                     signatures are read (signature-1; with a digest in the\n"
                "                     reference the exact URL, else \"@sha256=<digest>\")\n"
                "  -h, --help         this help\n"
                "Global options such as --root DIR and --json go before 'policy'.\n\n"
                "With --json the output is one JSON object:\n"
                "  {\"root\": DIR|null,\n"
                "   \"user\": {\"name\", \"uid\", \"home\"},\n"
                "   \"policy\": {\"path\" (as on the node), \"file\" (read), \"source\": \"user\"|\"system\"},\n"
                "   \"registries_d\": {\"path\", \"dir\", \"source\", \"files\": [...], \"error\"?},\n"
                "   \"default\": {\"requirements\": [REQ...], \"lookaside\": LOOK, \"lookaside_staging\": LOOK},\n"
                "   \"scopes\": [{\"transport\", \"scope\", \"requirements\": [REQ...],\n"
                "               \"lookaside\"?: LOOK, \"lookaside_staging\"?: LOOK}...],   (not with --for)\n"
                "   \"for\": {\"reference\", \"identity\", \"transport\", \"scope\" (null: the global\n"
                "           default), \"scope_kind\", \"requirements\", \"lookaside\", \"lookaside_staging\",\n"
                "           \"signature_url\", \"digest\"},                                 (only with --for)\n"
                "   \"problems\": [\"...\"]}\n"
                "  REQ:  {\"type\", \"keyType\"?, \"keys\"?: [{\"path\", \"file\", \"fingerprints\": [...]} |\n"
                "         {\"keyData\": true, \"fingerprints\": [...]}, with \"error\" instead of\n"
                "         \"fingerprints\" when the key cannot be read], \"signedIdentity\"?: {\"type\",\n"
                "         \"implicit\", ...}, \"raw\": the requirement as written}\n"
                "  LOOK: {\"url\", \"section\" (registries.d scope or \"default-docker\"; null for the\n"
                "         built-in default), \"key\", \"file\", \"builtin\"}, or null when registries.d\n"
                "         cannot be read\n\n"
                "Exit status:\n"
                "  0  shown, no problems found\n"
                "  1  unknown user, no policy file, invalid policy (the parser's message is\n"
                "     printed), invalid --for reference, or output error\n"
                "  2  usage error\n"
                "  3  shown, but problems were found (missing or unreadable key files, key\n"
                "     files without keys, invalid registries.d, entries that can never take\n"
                "     effect); they are listed at the end\n"), f);
}

PS_CMD(cmd_policy_show)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "user", required_argument, NULL, 'u' },
                { "for", required_argument, NULL, 'f' },
                { 0 },
        };
        const char *user = NULL, *reference = NULL;
        int o;
        while ((o = getopt_long(argc, argv, "+hu:", opts, NULL)) != -1) {
                switch (o) {
                case 'h':
                        usage(stdout, argv[0]);
                        return EXIT_SHOWN;
                case 'u': user = optarg; break;
                case 'f': reference = optarg; break;
                default:
                        fprintf(stderr, _("Usage: %s [--user USER] [--for REFERENCE]   (see --help)\n"), argv[0]);
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                ps_err(ctx, _("policy show: unexpected argument \"%s\""), argv[optind]);
                fprintf(stderr, _("Usage: %s [--user USER] [--for REFERENCE]   (see --help)\n"), argv[0]);
                return EXIT_USAGE;
        }
        if (user && !*user) {
                ps_err(ctx, _("policy show: --user needs a user name"));
                return EXIT_USAGE;
        }

        _cleanup_(show_clear) show s = { .ctx = ctx, .root = ctx->root, .problems = json_array() };
        json_t *doc = json_object();
        if (!s.problems || !doc) {
                json_decref(doc);
                return oom(ctx);
        }
        int r = load_user(&s, user);
        if (r == 0) {
                json_object_set_new(doc, "root", s.root && *s.root ? json_string(s.root) : json_null());
                json_object_set_new(doc, "user", json_pack("{s:s, s:I, s:s}", "name", s.eff.user, "uid",
                                                           (json_int_t)s.eff.uid, "home", s.eff.home));
                r = load_policy(&s, doc);
        }
        if (r == 0)
                r = load_registries_d(&s, doc);
        if (r == 0 && reference) {
                r = describe_for(&s, doc, reference);
        } else if (r == 0) {
                json_t *def = json_object();
                json_t *reqs = def ? describe_requirements(&s, ps_policy_default(s.pol), "default") : NULL;
                if (!reqs) {
                        json_decref(def);
                        r = oom(ctx);
                } else {
                        json_object_set_new(def, "requirements", reqs);
                        add_lookaside_scope(&s, def, "");
                        json_object_set_new(doc, "default", def);
                        scope_ctx sc = { .s = &s, .list = json_array() };
                        if (!sc.list)
                                r = oom(ctx);
                        else {
                                ps_policy_foreach_scope(s.pol, add_scope, &sc);
                                json_object_set_new(doc, "scopes", sc.list);
                                if (sc.failed)
                                        r = oom(ctx);
                        }
                }
        }
        if (r != 0) {
                json_decref(doc);
                return r;
        }
        json_object_set(doc, "problems", s.problems);
        if (ctx->json) {
                _cleanup_free_ char *text = ps_json_dump_jq(doc);
                if (!text) {
                        json_decref(doc);
                        return oom(ctx);
                }
                printf("%s\n", text);
        } else {
                r = print_text(&s, doc);
        }
        json_decref(doc);
        if (r != 0)
                return r;
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ps_err(ctx, _("policy show: cannot write the output: %s"), strerror(errno));
                return EXIT_FAILED;
        }
        return json_array_size(s.problems) ? EXIT_PROBLEMS : EXIT_SHOWN;
}
