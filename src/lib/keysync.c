/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "keysync.h"
#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "gpgkey.h"
#include "policy.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A name from the outside, printable in a message: non-printable and
 * non-ASCII bytes as \xNN, cut after 80 bytes. */
static char *shown_name(const char *s, size_t len)
{
        size_t lim = len > 80 ? 80 : len;
        char *out = malloc(lim * 4 + 8);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < lim; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\') {
                        out[o++] = (char)c;
                } else {
                        snprintf(out + o, 5, "\\x%02x", c);
                        o += 4;
                }
        }
        if (len > lim) {
                memcpy(out + o, "...", 3);
                o += 3;
        }
        out[o] = '\0';
        return out;
}

static int name_check_n(const char *name, size_t len, ps_ks_kind *kind, ps_error *err)
{
        _cleanup_free_ char *shown = shown_name(name, len);
        if (!shown)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (len == 0)
                return ps_error_set(err, EINVAL, "an empty file name");
        if (len > PS_KEYSYNC_NAME_MAX)
                return ps_error_set(err, EINVAL, "file name '%s' is longer than %d bytes", shown,
                                    PS_KEYSYNC_NAME_MAX);
        if (name[0] == '.')
                return ps_error_set(err, EINVAL, "file name '%s' starts with '.'", shown);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)name[i];
                if (!(c < 0x80 && (isalnum(c) || c == '.' || c == '_' || c == '-')))
                        return ps_error_set(err, EINVAL,
                                            "file name '%s' is not a plain file name (only letters, digits, "
                                            "'.', '_' and '-' are allowed; '%s' is not)", shown,
                                            c == '/' ? "/" : "this character");
        }
        ps_ks_kind k;
        if (len == strlen(PS_KEYSYNC_POLICY) && !memcmp(name, PS_KEYSYNC_POLICY, len))
                k = PS_KS_POLICY;
        else if (len == strlen(PS_KEYSYNC_SIG) && !memcmp(name, PS_KEYSYNC_SIG, len))
                k = PS_KS_SIG;
        else if (len > 4 && !memcmp(name + len - 4, ".pgp", 4))
                k = PS_KS_KEY;
        else
                return ps_error_set(err, EINVAL,
                                    "file '%s' is neither a key (NAME.pgp) nor " PS_KEYSYNC_POLICY " nor "
                                    PS_KEYSYNC_SIG, shown);
        if (kind)
                *kind = k;
        return 0;
}

int ps_keysync_name_check(const char *name, ps_ks_kind *kind, ps_error *err)
{
        if (!name)
                return ps_error_set(err, EINVAL, "no file name");
        return name_check_n(name, strlen(name), kind, err);
}

static int strv_push(char ***v, size_t *n, size_t *cap, char *s)
{
        if (*n + 2 > *cap) {
                size_t ncap = *cap ? *cap * 2 : 8;
                char **nv = realloc(*v, ncap * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                *cap = ncap;
        }
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
        return 0;
}

int ps_keysync_parse_listing(const char *text, size_t len, const char *what, char ***names, ps_error *err)
{
        if (!what)
                what = "the listing";
        if (len > PS_KEYSYNC_LISTING_MAX)
                return ps_error_set(err, EFBIG, "%s is too large (%zu bytes, limit %zu)", what, len,
                                    PS_KEYSYNC_LISTING_MAX);
        json_error_t je;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return ps_error_set(err, EINVAL,
                                    "%s is not a JSON directory listing (nginx autoindex_format json): line %d: %s",
                                    what, je.line, je.text);
        int r = 0;
        char **v = NULL;
        size_t n = 0, cap = 0;
        bool have_policy = false;
        if (!json_is_array(root)) {
                r = ps_error_set(err, EINVAL, "%s is not a JSON array of directory entries", what);
                goto out;
        }
        if (json_array_size(root) > PS_KEYSYNC_MAX_FILES) {
                r = ps_error_set(err, EFBIG, "%s lists %zu entries, more than the limit of %d", what,
                                 json_array_size(root), PS_KEYSYNC_MAX_FILES);
                goto out;
        }
        v = calloc(1, sizeof *v);
        if (!v) {
                r = ps_error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        cap = 1;
        size_t i;
        json_t *e;
        json_array_foreach(root, i, e) {
                json_t *jn = json_is_object(e) ? json_object_get(e, "name") : NULL;
                if (!json_is_string(jn)) {
                        r = ps_error_set(err, EINVAL, "%s: entry %zu has no \"name\" string", what, i + 1);
                        goto out;
                }
                const char *name = json_string_value(jn);
                size_t nl = json_string_length(jn);
                if (strlen(name) != nl) {
                        r = ps_error_set(err, EINVAL, "%s: entry %zu: the name contains a NUL byte", what, i + 1);
                        goto out;
                }
                ps_ks_kind kind;
                if ((r = name_check_n(name, nl, &kind, err)) < 0) {
                        ps_error_wrap(err, "%s: entry %zu", what, i + 1);
                        goto out;
                }
                json_t *jt = json_object_get(e, "type");
                const char *type = json_string_value(jt);
                if (!type || strcmp(type, "file")) {
                        r = ps_error_set(err, EINVAL, "%s: entry %zu, '%s', is %s%s%s, not a file", what, i + 1, name,
                                         type ? "a '" : "an entry without a type", type ? type : "",
                                         type ? "'" : "");
                        goto out;
                }
                for (size_t k = 0; k < n; k++) {
                        if (!strcmp(v[k], name)) {
                                r = ps_error_set(err, EINVAL, "%s lists '%s' twice", what, name);
                                goto out;
                        }
                }
                if (kind == PS_KS_POLICY)
                        have_policy = true;
                char *copy = strdup(name);
                if (!copy || strv_push(&v, &n, &cap, copy) < 0) {
                        free(copy);
                        r = ps_error_set(err, ENOMEM, "out of memory");
                        goto out;
                }
        }
        if (!have_policy) {
                r = ps_error_set(err, EINVAL, "%s does not list " PS_KEYSYNC_POLICY
                                 " (has an image maker been created on the registry node, or was 'podsec policy "
                                 "init' run there?)", what);
                goto out;
        }
        *names = steal_pointer(&v);
out:
        ps_strv_free(v);
        json_decref(root);
        return r;
}

/* ---- sets ---------------------------------------------------------------- */

void ps_ks_set_clear(ps_ks_set *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                free(s->files[i].name);
                free(s->files[i].data);
                ps_strv_free(s->files[i].fprs);
        }
        free(s->files);
        memset(s, 0, sizeof *s);
}

static size_t kind_max(ps_ks_kind k)
{
        switch (k) {
        case PS_KS_KEY: return PS_KEYSYNC_KEY_MAX;
        case PS_KS_POLICY: return PS_POLICY_MAX_SIZE;
        case PS_KS_SIG: return PS_KEYSYNC_SIG_MAX;
        }
        return 0;
}

const ps_ks_file *ps_ks_set_get(const ps_ks_set *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++)
                if (!strcmp(s->files[i].name, name))
                        return &s->files[i];
        return NULL;
}

int ps_ks_set_add(ps_ks_set *s, const char *name, const void *data, size_t len, ps_error *err)
{
        ps_ks_kind kind;
        int r = ps_keysync_name_check(name, &kind, err);
        if (r < 0)
                return r;
        if (ps_ks_set_get(s, name))
                return ps_error_set(err, EEXIST, "'%s' is there twice", name);
        if (s->n >= PS_KEYSYNC_MAX_FILES)
                return ps_error_set(err, EFBIG, "more than %d files", PS_KEYSYNC_MAX_FILES);
        if (len > kind_max(kind))
                return ps_error_set(err, EFBIG, "'%s' is too large (%zu bytes, limit %zu)", name, len,
                                    kind_max(kind));
        if (len > PS_KEYSYNC_TOTAL_MAX - s->total)
                return ps_error_set(err, EFBIG, "the files together are larger than the limit of %zu bytes",
                                    PS_KEYSYNC_TOTAL_MAX);
        ps_ks_file *nf = realloc(s->files, (s->n + 1) * sizeof *nf);
        if (!nf)
                return ps_error_set(err, ENOMEM, "out of memory");
        s->files = nf;
        ps_ks_file f = { .kind = kind, .len = len };
        f.name = strdup(name);
        f.data = malloc(len + 1);
        if (!f.name || !f.data) {
                free(f.name);
                free(f.data);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (len)
                memcpy(f.data, data, len);
        f.data[len] = '\0';
        /* keep sorted by name */
        size_t pos = s->n;
        while (pos > 0 && strcmp(s->files[pos - 1].name, name) > 0)
                pos--;
        memmove(&s->files[pos + 1], &s->files[pos], (s->n - pos) * sizeof *s->files);
        s->files[pos] = f;
        s->n++;
        s->total += len;
        return 0;
}

int ps_ks_set_remove(ps_ks_set *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++) {
                if (strcmp(s->files[i].name, name))
                        continue;
                s->total -= s->files[i].len;
                free(s->files[i].name);
                free(s->files[i].data);
                ps_strv_free(s->files[i].fprs);
                memmove(&s->files[i], &s->files[i + 1], (s->n - i - 1) * sizeof *s->files);
                s->n--;
                return 0;
        }
        return -ENOENT;
}

int ps_ks_set_put(ps_ks_set *s, const char *name, const void *data, size_t len, ps_error *err)
{
        (void)ps_ks_set_remove(s, name);
        return ps_ks_set_add(s, name, data, len, err);
}

/* ---- validation -------------------------------------------------------- */

typedef struct keycheck {
        const ps_ks_set *set;
        const char *keys_dir;   /* without trailing '/' */
        size_t dirlen;
        ps_error *err;
} keycheck;

static int check_key_path(keycheck *kc, const char *where, const char *path)
{
        const char *name = NULL;
        if (!strncmp(path, kc->keys_dir, kc->dirlen) && path[kc->dirlen] == '/')
                name = path + kc->dirlen + 1;
        const ps_ks_file *f = name ? ps_ks_set_get(kc->set, name) : NULL;
        if (!f || f->kind != PS_KS_KEY) {
                _cleanup_free_ char *shown = shown_name(path, strlen(path));
                if (name && !f)
                        return ps_error_set(kc->err, ENOKEY, "%s names the key file %s, which is not among the "
                                            "published keys", where, shown ? shown : "?");
                if (name)
                        return ps_error_set(kc->err, ENOKEY, "%s names %s as a key file, which is not a key "
                                            "(NAME.pgp)", where, shown ? shown : "?");
                return ps_error_set(kc->err, ENOKEY, "%s names the key file %s, which is not in %s/", where,
                                    shown ? shown : "?", kc->keys_dir);
        }
        return 0;
}

static int check_reqs(keycheck *kc, const char *where, const json_t *reqs)
{
        size_t i;
        const json_t *req;
        json_array_foreach(reqs, i, req) {
                ps_requirement view;
                int r = ps_requirement_view(req, &view, kc->err);
                if (r < 0)
                        return ps_error_wrap(kc->err, "%s[%zu]", where, i);
                for (size_t k = 0; r == 0 && k < view.n_key_paths; k++) {
                        _cleanup_free_ char *w = NULL;
                        if (asprintf(&w, "%s[%zu]", where, i) < 0)
                                r = ps_error_set(kc->err, ENOMEM, "out of memory");
                        else
                                r = check_key_path(kc, w, view.key_paths[k]);
                }
                ps_requirement_view_clear(&view);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int scope_cb(const char *transport, const char *scope, const json_t *reqs, void *userdata)
{
        keycheck *kc = userdata;
        _cleanup_free_ char *where = NULL;
        if (asprintf(&where, "transports.%s.\"%s\"", transport, scope) < 0)
                return ps_error_set(kc->err, ENOMEM, "out of memory");
        return check_reqs(kc, where, reqs);
}

int ps_keysync_validate(ps_ks_set *s, const char *keys_dir, ps_error *err)
{
        const ps_ks_file *pf = ps_ks_set_get(s, PS_KEYSYNC_POLICY);
        if (!pf)
                return ps_error_set(err, ENOENT, PS_KEYSYNC_POLICY " is missing");
        _cleanup_policy_ ps_policy *pol = NULL;
        int r = ps_policy_parse(pf->data, pf->len, &pol, err);
        if (r < 0)
                return ps_error_wrap(err, PS_KEYSYNC_POLICY " is not a valid policy");
        _cleanup_free_ char *dir = strdup(keys_dir);
        if (!dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/')
                dir[--dl] = '\0';
        keycheck kc = { .set = s, .keys_dir = dir, .dirlen = dl, .err = err };
        if ((r = check_reqs(&kc, "default", ps_policy_default(pol))) < 0 ||
            (r = ps_policy_foreach_scope(pol, scope_cb, &kc)) < 0)
                return ps_error_wrap(err, PS_KEYSYNC_POLICY);
        for (size_t i = 0; i < s->n; i++) {
                ps_ks_file *f = &s->files[i];
                if (f->kind != PS_KS_KEY)
                        continue;
                ps_strv_free(f->fprs);
                f->fprs = NULL;
                r = ps_gpg_key_data_fingerprints(f->data, f->len, f->name, &f->fprs, err);
                if (r < 0)
                        return ps_error_wrap(err, "key file %s is not an OpenPGP public key", f->name);
        }
        return 0;
}

/* ---- fetching ------------------------------------------------------------ */

int ps_keysync_fetch(const char *keys_url, const ps_fetch_opts *opts, ps_ks_set *s, ps_error *err)
{
        _cleanup_free_ char *base = NULL;
        size_t ul = strlen(keys_url);
        if (asprintf(&base, "%s%s", keys_url, ul && keys_url[ul - 1] == '/' ? "" : "/") < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        ps_fetch_opts o = opts ? *opts : (ps_fetch_opts){ 0 };
        o.max_size = PS_KEYSYNC_LISTING_MAX;
        ps_fetch_result res;
        int r = ps_fetch(base, &o, &res, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **names = NULL;
        r = ps_keysync_parse_listing(res.data, res.len, base, &names, err);
        ps_fetch_result_clear(&res);
        if (r < 0)
                return r;
        for (char **n = names; *n; n++) {
                ps_ks_kind kind;
                if ((r = ps_keysync_name_check(*n, &kind, err)) < 0)
                        return r;
                _cleanup_free_ char *url = NULL;
                if (asprintf(&url, "%s%s", base, *n) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                o.max_size = kind_max(kind);
                if (o.max_size > PS_KEYSYNC_TOTAL_MAX - s->total)
                        o.max_size = PS_KEYSYNC_TOTAL_MAX - s->total;
                if (o.max_size == 0)
                        return ps_error_set(err, EFBIG, "the files at %s are larger than the limit of %zu bytes "
                                            "together", base, PS_KEYSYNC_TOTAL_MAX);
                r = ps_fetch(url, &o, &res, err);
                if (r < 0)
                        return r;
                r = ps_ks_set_add(s, *n, res.data, res.len, err);
                ps_fetch_result_clear(&res);
                if (r < 0)
                        return ps_error_wrap(err, "%s", base);
        }
        return 0;
}

/* ---- reading a directory -------------------------------------------------- */

static int read_fd(int fd, size_t max, const char *shown, char **out, size_t *outlen, ps_error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat %s", shown);
        if (!S_ISREG(st.st_mode))
                return ps_error_set(err, EINVAL, "%s is not a regular file", shown);
        if ((size_t)st.st_size > max)
                return ps_error_set(err, EFBIG, "%s is too large (%lld bytes, limit %zu)", shown,
                                    (long long)st.st_size, max);
        size_t cap = (size_t)st.st_size + 1, len = 0;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > max)
                                return ps_error_set(err, EFBIG, "%s is too large (limit %zu)", shown, max);
                        char *nb = realloc(buf, cap * 2);
                        if (!nb)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        buf = nb;
                        cap *= 2;
                }
                ssize_t n = read(fd, buf + len, cap - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(err, errno, "cannot read %s", shown);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max)
                        return ps_error_set(err, EFBIG, "%s is too large (limit %zu)", shown, max);
        }
        buf[len] = '\0';
        *out = steal_pointer(&buf);
        *outlen = len;
        return 0;
}

int ps_keysync_read_dir(const char *dir, ps_ks_set *s, ps_error *err)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return ps_error_errno(err, errno, "cannot open the directory %s", dir);
        struct dirent *de;
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno)
                                return ps_error_errno(err, errno, "cannot read the directory %s", dir);
                        break;
                }
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *shown = ps_path_join(dir, de->d_name);
                if (!shown)
                        return ps_error_set(err, ENOMEM, "out of memory");
                ps_ks_kind kind;
                int r = ps_keysync_name_check(de->d_name, &kind, err);
                if (r < 0)
                        return ps_error_wrap(err, "%s", dir);
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return ps_error_errno(err, errno, "cannot stat %s", shown);
                if (!S_ISREG(st.st_mode))
                        return ps_error_set(err, EINVAL, "%s is not a regular file%s", shown,
                                            S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
                _cleanup_close_ int fd = openat(dirfd(d), de->d_name,
                                                O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
                if (fd < 0)
                        return ps_error_errno(err, errno, "cannot open %s", shown);
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                if ((r = read_fd(fd, kind_max(kind), shown, &data, &len, err)) < 0)
                        return r;
                if ((r = ps_ks_set_add(s, de->d_name, data, len, err)) < 0)
                        return ps_error_wrap(err, "%s", dir);
        }
        return 0;
}

/* ---- manifest, signing, verification -------------------------------------- */

static json_t *manifest_json(const ps_ks_set *s)
{
        json_t *files = json_object();
        json_t *o = json_object();
        if (!files || !o)
                goto fail;
        for (size_t i = 0; i < s->n; i++) {
                if (s->files[i].kind == PS_KS_SIG)
                        continue;
                ps_digest d;
                if (ps_digest_buffer(s->files[i].data, s->files[i].len, &d, NULL) < 0)
                        goto fail;
                if (json_object_set_new(files, s->files[i].name, json_string(d.str)) < 0)
                        goto fail;
        }
        if (json_object_set_new(o, "files", files) < 0) {
                files = NULL;
                goto fail;
        }
        files = NULL;
        if (json_object_set_new(o, "type", json_string(PS_KEYSYNC_MANIFEST_TYPE)) < 0 ||
            json_object_set_new(o, "version", json_integer(1)) < 0)
                goto fail;
        return o;
fail:
        json_decref(files);
        json_decref(o);
        return NULL;
}

char *ps_keysync_manifest(const ps_ks_set *s, size_t *len)
{
        json_t *o = manifest_json(s);
        if (!o)
                return NULL;
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (!text)
                return NULL;
        size_t n = strlen(text);
        char *t = realloc(text, n + 2);
        if (!t) {
                free(text);
                return NULL;
        }
        t[n] = '\n';
        t[n + 1] = '\0';
        if (len)
                *len = n + 1;
        return t;
}

int ps_keysync_sign(const ps_gpg_sign_opts *o, const ps_ks_set *s, void **sig, size_t *siglen, char **fpr,
                    ps_error *err)
{
        if (!ps_ks_set_get(s, PS_KEYSYNC_POLICY))
                return ps_error_set(err, ENOENT, "there is no " PS_KEYSYNC_POLICY " to sign");
        size_t len = 0;
        _cleanup_free_ char *m = ps_keysync_manifest(s, &len);
        if (!m)
                return ps_error_set(err, ENOMEM, "out of memory");
        return ps_gpg_sign(o, m, len, sig, siglen, fpr, err);
}

void ps_ks_verified_clear(ps_ks_verified *v)
{
        if (!v)
                return;
        free(v->fingerprint);
        memset(v, 0, sizeof *v);
}

static int check_manifest(const ps_ks_set *s, const char *payload, size_t len, ps_error *err)
{
        json_error_t je;
        json_t *m = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
        if (!m)
                return ps_error_set(err, EBADMSG, "the signed content is not a podsec policy manifest "
                                    "(not JSON: %s)", je.text);
        int r = 0;
        const char *key;
        json_t *val;
        json_t *files = json_object_get(m, "files");
        if (!json_is_object(m) || !json_is_object(files) ||
            !json_is_string(json_object_get(m, "type")) ||
            strcmp(json_string_value(json_object_get(m, "type")), PS_KEYSYNC_MANIFEST_TYPE) ||
            !json_is_integer(json_object_get(m, "version"))) {
                r = ps_error_set(err, EBADMSG, "the signed content is not a podsec policy manifest "
                                 "(\"type\": \"" PS_KEYSYNC_MANIFEST_TYPE "\" with \"version\" and \"files\")");
                goto out;
        }
        if (json_integer_value(json_object_get(m, "version")) != 1) {
                r = ps_error_set(err, EBADMSG, "the signed manifest has version %lld; this podsec knows version 1",
                                 (long long)json_integer_value(json_object_get(m, "version")));
                goto out;
        }
        json_object_foreach(m, key, val) {
                if (strcmp(key, "files") && strcmp(key, "type") && strcmp(key, "version")) {
                        _cleanup_free_ char *k = shown_name(key, strlen(key));
                        r = ps_error_set(err, EBADMSG, "the signed manifest has an unknown field \"%s\"",
                                         k ? k : "?");
                        goto out;
                }
        }
        json_object_foreach(files, key, val) {
                if (!json_is_string(val) || !ps_digest_valid(json_string_value(val)) ||
                    name_check_n(key, strlen(key), NULL, NULL) < 0) {
                        _cleanup_free_ char *k = shown_name(key, strlen(key));
                        r = ps_error_set(err, EBADMSG, "the signed manifest has an invalid entry for '%s' (expected "
                                         "a file name and a \"sha256:HEX\" digest)", k ? k : "?");
                        goto out;
                }
        }
        /* every file of the set is covered, with its exact digest */
        for (size_t i = 0; i < s->n; i++) {
                const ps_ks_file *f = &s->files[i];
                if (f->kind == PS_KS_SIG)
                        continue;
                const char *want = json_string_value(json_object_get(files, f->name));
                if (!want) {
                        r = ps_error_set(err, EBADMSG, "%s is not covered by the signature (added after signing, "
                                         "or planted)", f->name);
                        goto out;
                }
                ps_digest d;
                if ((r = ps_digest_buffer(f->data, f->len, &d, err)) < 0)
                        goto out;
                if (strcmp(want, d.str)) {
                        r = ps_error_set(err, EBADMSG, "%s differs from the signed version (changed after signing, "
                                         "or tampered with): %s, signed %s", f->name, d.str, want);
                        goto out;
                }
        }
        /* and nothing the signature covers is missing */
        json_object_foreach(files, key, val) {
                if (!ps_ks_set_get(s, key)) {
                        r = ps_error_set(err, EBADMSG, "the signature covers %s, which is missing", key);
                        goto out;
                }
        }
out:
        json_decref(m);
        return r;
}

int ps_keysync_verify(const ps_ks_set *s, const void *trust, size_t tlen, const char *what, ps_ks_verified *out,
                      ps_error *err)
{
        memset(out, 0, sizeof *out);
        const ps_ks_file *sig = ps_ks_set_get(s, PS_KEYSYNC_SIG);
        if (!sig)
                return ps_error_set(err, ENOENT, "there is no " PS_KEYSYNC_SIG " (the registry node does not sign "
                                    "its policy: run 'podsec policy sign' there)");
        _cleanup_(ps_gpg_verifier_freep) ps_gpg_verifier *v = NULL;
        int r = ps_gpg_verifier_new(&v, err);
        if (r < 0)
                return r;
        if ((r = ps_gpg_verifier_add_key_data(v, trust, tlen, what, NULL, err)) < 0)
                return r;
        ps_gpg_verified res;
        if ((r = ps_gpg_verify(v, sig->data, sig->len, &res, err)) < 0)
                return ps_error_wrap(err, PS_KEYSYNC_SIG);
        r = check_manifest(s, res.payload, res.payload_len, err);
        if (r == 0) {
                out->fingerprint = steal_pointer(&res.fingerprint);
                out->sig_time = res.sig_time;
        }
        ps_gpg_verified_clear(&res);
        return r < 0 ? ps_error_wrap(err, PS_KEYSYNC_SIG) : 0;
}

int ps_keysync_sig_current(const ps_ks_set *s, const ps_gpg_sign_opts *o, bool *current, ps_error *err)
{
        *current = false;
        if (!ps_ks_set_get(s, PS_KEYSYNC_SIG))
                return 0;
        /* the signing home as ps_gpg_sign finds it: given, $GNUPGHOME, ~/.gnupg */
        _cleanup_free_ char *home = NULL;
        const char *h = o->homedir;
        if (!h || !*h)
                h = getenv("GNUPGHOME");
        if (!h || !*h) {
                const char *u = getenv("HOME");
                if (!u || !*u)
                        return ps_error_set(err, ENOENT, "no GnuPG home: give one, or set GNUPGHOME or HOME");
                home = ps_path_join(u, ".gnupg");
                if (!home)
                        return ps_error_set(err, ENOMEM, "out of memory");
                h = home;
        }
        _cleanup_free_ char *pub = NULL;
        size_t len = 0;
        int r = ps_gpgkey_export(h, o->key, &pub, &len, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot read the policy-signing key");
        ps_ks_verified v;
        ps_error e2 = PS_ERROR_INIT;
        r = ps_keysync_verify(s, pub, len, o->key, &v, &e2);
        ps_error_clear(&e2);
        ps_ks_verified_clear(&v);
        *current = r == 0;
        return 0;
}

void ps_ks_sign_result_clear(ps_ks_sign_result *r)
{
        if (!r)
                return;
        free(r->fingerprint);
        memset(r, 0, sizeof *r);
}

int ps_keysync_sign_dir(const char *dir, const char *keys_dir, const ps_gpg_sign_opts *o, bool force,
                        bool dry_run, ps_ks_sign_result *res, ps_error *err)
{
        memset(res, 0, sizeof *res);
        ps_ks_set s = { 0 };
        int r = ps_keysync_read_dir(dir, &s, err);
        if (r == 0)
                r = ps_keysync_validate(&s, keys_dir, err);
        if (r < 0) {
                ps_ks_set_clear(&s);
                return ps_error_wrap(err, "not signing %s", dir);
        }
        for (size_t i = 0; i < s.n; i++)
                if (s.files[i].kind == PS_KS_KEY)
                        res->n_keys++;
        bool current = false;
        if (!force && (r = ps_keysync_sig_current(&s, o, &current, err)) < 0) {
                ps_ks_set_clear(&s);
                return r;
        }
        if (current) {
                ps_ks_set_clear(&s);
                return 0;
        }
        (void)ps_ks_set_remove(&s, PS_KEYSYNC_SIG);
        _cleanup_free_ void *sig = NULL;
        size_t siglen = 0;
        r = ps_keysync_sign(o, &s, &sig, &siglen, &res->fingerprint, err);
        ps_ks_set_clear(&s);
        if (r < 0)
                return ps_error_wrap(err, "cannot sign %s", dir);
        res->written = true;
        if (dry_run)
                return 0;
        _cleanup_free_ char *path = ps_path_join(dir, PS_KEYSYNC_SIG);
        if (!path)
                return ps_error_set(err, ENOMEM, "out of memory");
        r = ps_write_atomic(path, sig, siglen, 0644, err);
        if (r < 0)
                return r;
        /* written by root for everyone to read (nginx workers run as nobody) */
        if (geteuid() == 0 && chown(path, 0, 0) < 0)
                return ps_error_errno(err, errno, "cannot change the owner of %s", path);
        return 0;
}
