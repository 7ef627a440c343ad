/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "gpg.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <gpgme.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs.h"

/* ---- GPGME plumbing ---------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static const char *init_failure;   /* static text, NULL when fine */
static char *init_detail;

static void do_init(void)
{
        if (!gpgme_check_version(NULL)) {
                init_failure = "GPGME library initialisation failed";
                return;
        }
        gpgme_error_t e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
        if (e) {
                init_failure = "no usable OpenPGP engine (is gnupg installed?)";
                init_detail = strdup(gpgme_strerror(e));
        }
}

int ps_gpg_init(ps_error *err)
{
        pthread_once(&init_once, do_init);
        if (init_failure)
                return ps_error_set(err, ENOSYS, "%s%s%s", init_failure, init_detail ? ": " : "",
                                    init_detail ? init_detail : "");
        return 0;
}

/* gpgme_strerror is not thread-safe; gpgme_strerror_r is. */
typedef struct { char s[256]; } gerrbuf;
static const char *gerr(gpgme_error_t e, gerrbuf *b)
{
        if (gpgme_strerror_r(e, b->s, sizeof b->s) != 0)
                snprintf(b->s, sizeof b->s, "GPG error %u", (unsigned)gpgme_err_code(e));
        return b->s;
}

static void ctx_releasep(gpgme_ctx_t *c)
{
        if (*c)
                gpgme_release(*c);
}
static void data_releasep(gpgme_data_t *d)
{
        if (*d)
                gpgme_data_release(*d);
}
static void key_unrefp(gpgme_key_t *k)
{
        if (*k)
                gpgme_key_unref(*k);
}
#define _cleanup_ctx_ _cleanup_(ctx_releasep)
#define _cleanup_data_ _cleanup_(data_releasep)
#define _cleanup_key_ _cleanup_(key_unrefp)

static int new_ctx(const char *homedir, gpgme_ctx_t *ret, ps_error *err)
{
        gerrbuf b;
        _cleanup_ctx_ gpgme_ctx_t ctx = NULL;
        gpgme_error_t e = gpgme_new(&ctx);
        if (e)
                return ps_error_set(err, EIO, "cannot create a GPGME context: %s", gerr(e, &b));
        e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
        if (e)
                return ps_error_set(err, EIO, "cannot select the OpenPGP protocol: %s", gerr(e, &b));
        if (homedir) {
                e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, homedir);
                if (e)
                        return ps_error_set(err, EIO, "cannot use GnuPG home %s: %s", homedir, gerr(e, &b));
        }
        gpgme_set_armor(ctx, 0);
        gpgme_set_textmode(ctx, 0);
        gpgme_set_offline(ctx, 1);
        *ret = steal_pointer(&ctx);
        return 0;
}

/* Copy a gpgme memory data object into malloc'd memory (NUL-terminated). */
static int take_data(gpgme_data_t *d, void **out, size_t *outlen, ps_error *err)
{
        size_t n = 0;
        char *mem = gpgme_data_release_and_get_mem(*d, &n);
        *d = NULL;
        char *copy = malloc(n + 1);
        if (!copy) {
                gpgme_free(mem);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (n)
                memcpy(copy, mem, n);
        copy[n] = '\0';
        gpgme_free(mem);
        *out = copy;
        *outlen = n;
        return 0;
}

/* A gpgme output sink with a size limit (a compressed message must not
 * expand into unbounded memory). */
typedef struct sink {
        char *buf;
        size_t len, cap, max;
        bool overflow;
} sink;

static ssize_t sink_write(void *h, const void *p, size_t n)
{
        sink *s = h;
        if (n > s->max - s->len) {
                s->overflow = true;
                errno = EFBIG;
                return -1;
        }
        if (s->len + n + 1 > s->cap) {
                size_t ncap = s->cap ? s->cap : 4096;
                while (ncap < s->len + n + 1)
                        ncap *= 2;
                char *nb = realloc(s->buf, ncap);
                if (!nb) {
                        errno = ENOMEM;
                        return -1;
                }
                s->buf = nb;
                s->cap = ncap;
        }
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        s->buf[s->len] = '\0';
        return (ssize_t)n;
}

static off_t sink_seek(void *h, off_t off, int whence)
{
        sink *s = h;
        if (off == 0 && (whence == SEEK_CUR || whence == SEEK_END))
                return (off_t)s->len;
        errno = EOPNOTSUPP;
        return -1;
}

/* ---- signing ----------------------------------------------------------- */

typedef struct pp_hook {
        const char *pass;
        int calls;
        bool bad;
} pp_hook;

static gpgme_error_t pp_cb(void *hook, const char *uid_hint, const char *info, int prev_was_bad, int fd)
{
        pp_hook *h = hook;
        if (prev_was_bad || h->calls > 0) {
                h->bad = true;
                return gpgme_error(GPG_ERR_BAD_PASSPHRASE);
        }
        h->calls++;
        size_t n = strlen(h->pass);
        if ((n && gpgme_io_writen(fd, h->pass, n) < 0) || gpgme_io_writen(fd, "\n", 1) < 0)
                return gpgme_error_from_syserror();
        return 0;
}

static bool key_usable_for_signing(gpgme_key_t k)
{
        return k->subkeys && !k->revoked && !k->expired && !k->disabled && !k->invalid && k->can_sign;
}

static const char *key_fpr(gpgme_key_t k)
{
        return k->subkeys && k->subkeys->fpr ? k->subkeys->fpr : (k->fpr ? k->fpr : "?");
}

static const char *unusable_reason(gpgme_key_t k)
{
        if (k->revoked)
                return "revoked";
        if (k->expired)
                return "expired";
        if (k->disabled)
                return "disabled";
        if (k->invalid)
                return "invalid";
        return "not capable of signing";
}

static int find_secret_key(gpgme_ctx_t ctx, const char *homedesc, const char *ident, gpgme_key_t *ret,
                           ps_error *err)
{
        gerrbuf b;
        _cleanup_free_ char *pattern = NULL;
        if (strchr(ident, '@') && !strchr(ident, '<') && !strchr(ident, ' ')) {
                if (asprintf(&pattern, "<%s>", ident) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
        } else if (!(pattern = strdup(ident))) {
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        gpgme_error_t e = gpgme_op_keylist_start(ctx, pattern, 1);
        if (e)
                return ps_error_set(err, EIO, "cannot list the secret keys in %s: %s", homedesc, gerr(e, &b));
        gpgme_key_t found = NULL;
        size_t n_found = 0, n_unusable = 0;
        _cleanup_free_ char *names = NULL;      /* fingerprints of all usable matches */
        _cleanup_free_ char *unusable = NULL;   /* "FPR (revoked)" ... */
        int r = 0;
        for (;;) {
                gpgme_key_t k = NULL;
                e = gpgme_op_keylist_next(ctx, &k);
                if (gpgme_err_code(e) == GPG_ERR_EOF)
                        break;
                if (e) {
                        r = ps_error_set(err, EIO, "cannot list the secret keys in %s: %s", homedesc,
                                         gerr(e, &b));
                        break;
                }
                char **list = key_usable_for_signing(k) ? &names : &unusable;
                char *nl = NULL;
                if (key_usable_for_signing(k)) {
                        if (asprintf(&nl, "%s%s%s", *list ? *list : "", *list ? ", " : "", key_fpr(k)) < 0)
                                nl = NULL;
                } else if (asprintf(&nl, "%s%s%s (%s)", *list ? *list : "", *list ? ", " : "", key_fpr(k),
                                    unusable_reason(k)) < 0) {
                        nl = NULL;
                }
                if (!nl) {
                        gpgme_key_unref(k);
                        r = ps_error_set(err, ENOMEM, "out of memory");
                        break;
                }
                free(*list);
                *list = nl;
                if (key_usable_for_signing(k)) {
                        n_found++;
                        if (found)
                                gpgme_key_unref(found);
                        found = k;
                } else {
                        n_unusable++;
                        gpgme_key_unref(k);
                }
        }
        gpgme_op_keylist_end(ctx);
        if (r < 0) {
                if (found)
                        gpgme_key_unref(found);
                return r;
        }
        if (n_found == 1) {
                *ret = found;
                return 0;
        }
        if (found)
                gpgme_key_unref(found);
        if (n_found > 1)
                return ps_error_set(err, EINVAL,
                                    "signing key \"%s\" is ambiguous in %s: it matches %s; give a fingerprint",
                                    ident, homedesc, names);
        if (n_unusable)
                return ps_error_set(err, ENOKEY, "no usable secret key \"%s\" in %s: %s", ident, homedesc,
                                    unusable);
        return ps_error_set(err, ENOKEY, "no secret key \"%s\" in %s", ident, homedesc);
}

int ps_gpg_sign(const ps_gpg_sign_opts *opts, const void *data, size_t len, void **sig, size_t *siglen,
                char **fingerprint, ps_error *err)
{
        int r = ps_gpg_init(err);
        if (r < 0)
                return r;
        if (!opts || !opts->key || !*opts->key)
                return ps_error_set(err, EINVAL, "no signing key given");
        if (opts->passphrase && strchr(opts->passphrase, '\n'))
                return ps_error_set(err, EINVAL, "invalid passphrase: it must not contain a line break");

        _cleanup_free_ char *homedesc = NULL;
        const char *envhome = getenv("GNUPGHOME");
        if (asprintf(&homedesc, "%s%s", opts->homedir ? "GnuPG home " : "",
                     opts->homedir ? opts->homedir
                                   : (envhome && *envhome ? envhome : "the default GnuPG home (~/.gnupg)")) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");

        _cleanup_ctx_ gpgme_ctx_t ctx = NULL;
        r = new_ctx(opts->homedir, &ctx, err);
        if (r < 0)
                return r;
        _cleanup_key_ gpgme_key_t key = NULL;
        r = find_secret_key(ctx, homedesc, opts->key, &key, err);
        if (r < 0)
                return r;
        gerrbuf b;
        gpgme_error_t e = gpgme_signers_add(ctx, key);
        if (e)
                return ps_error_set(err, EIO, "cannot use key %s for signing: %s", key_fpr(key), gerr(e, &b));

        pp_hook hook = { .pass = opts->passphrase };
        if (opts->passphrase) {
                e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
                if (e)
                        return ps_error_set(err, EIO, "cannot set the loopback pinentry mode: %s", gerr(e, &b));
                gpgme_set_passphrase_cb(ctx, pp_cb, &hook);
        }

        _cleanup_data_ gpgme_data_t in = NULL, out = NULL;
        e = gpgme_data_new_from_mem(&in, data, len, 0);
        if (!e)
                e = gpgme_data_new(&out);
        if (e)
                return ps_error_set(err, ENOMEM, "cannot allocate GPGME data: %s", gerr(e, &b));

        e = gpgme_op_sign(ctx, in, out, GPGME_SIG_MODE_NORMAL);
        if (e) {
                gpgme_err_code_t c = gpgme_err_code(e);
                if (hook.bad || c == GPG_ERR_BAD_PASSPHRASE)
                        return ps_error_set(err, EACCES, "cannot sign with key %s: wrong passphrase",
                                            key_fpr(key));
                if (c == GPG_ERR_CANCELED || c == GPG_ERR_NO_PIN_ENTRY || c == GPG_ERR_NO_PASSPHRASE)
                        return ps_error_set(err, EACCES,
                                            "cannot sign with key %s: no passphrase was given (%s); "
                                            "supply one or unlock the key in gpg-agent",
                                            key_fpr(key), gerr(e, &b));
                return ps_error_set(err, EIO, "cannot sign with key %s from %s: %s", key_fpr(key), homedesc,
                                    gerr(e, &b));
        }
        gpgme_sign_result_t res = gpgme_op_sign_result(ctx);
        if (!res || res->invalid_signers || !res->signatures)
                return ps_error_set(err, EIO, "gpg did not sign with key %s%s%s", key_fpr(key),
                                    res && res->invalid_signers ? ": " : "",
                                    res && res->invalid_signers ? gerr(res->invalid_signers->reason, &b) : "");
        void *blob = NULL;
        size_t bloblen = 0;
        r = take_data(&out, &blob, &bloblen, err);
        if (r < 0)
                return r;
        if (fingerprint) {
                *fingerprint = strdup(key_fpr(key));
                if (!*fingerprint) {
                        free(blob);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        *sig = blob;
        *siglen = bloblen;
        return 0;
}

/* ---- verification ------------------------------------------------------ */

struct ps_gpg_verifier {
        char *home;
        gpgme_ctx_t ctx;
        char **fprs;          /* NULL-terminated */
        size_t n, cap;
};

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
        (void)remove(p);
        return 0;
}

static void rm_tree(const char *dir)
{
        (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void ps_gpg_verifier_free(ps_gpg_verifier *v)
{
        if (!v)
                return;
        if (v->ctx)
                gpgme_release(v->ctx);
        if (v->home) {
                rm_tree(v->home);
                free(v->home);
        }
        ps_strv_free(v->fprs);
        free(v);
}

int ps_gpg_verifier_new(ps_gpg_verifier **ret, ps_error *err)
{
        int r = ps_gpg_init(err);
        if (r < 0)
                return r;
        _cleanup_(ps_gpg_verifier_freep) ps_gpg_verifier *v = calloc(1, sizeof *v);
        if (!v)
                return ps_error_set(err, ENOMEM, "out of memory");
        /* gpg puts its sockets in the home when /run/user/UID is missing:
         * keep the path short (sun_path is 108 bytes). */
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/' || strlen(tmp) > 60)
                tmp = "/tmp";
        _cleanup_free_ char *tmpl = NULL;
        if (asprintf(&tmpl, "%s/podsec-gpg-XXXXXX", tmp) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (!mkdtemp(tmpl))
                return ps_error_errno(err, errno, "cannot create a temporary GnuPG home in %s", tmp);
        v->home = steal_pointer(&tmpl);
        static const char conf[] = "# podsec verification home: only trusted public keys, no agent\n"
                                   "no-autostart\n";
        _cleanup_free_ char *confpath = ps_path_join(v->home, "gpg.conf");
        if (!confpath)
                return ps_error_set(err, ENOMEM, "out of memory");
        r = ps_create_excl(confpath, conf, sizeof conf - 1, 0600, err);
        if (r < 0)
                return r;
        r = new_ctx(v->home, &v->ctx, err);
        if (r < 0)
                return r;
        v->fprs = calloc(1, sizeof *v->fprs);
        if (!v->fprs)
                return ps_error_set(err, ENOMEM, "out of memory");
        v->cap = 1;
        *ret = steal_pointer(&v);
        return 0;
}

static bool have_fpr(const ps_gpg_verifier *v, const char *fpr)
{
        for (size_t i = 0; i < v->n; i++)
                if (strcasecmp(v->fprs[i], fpr) == 0)
                        return true;
        return false;
}

static int add_fpr(ps_gpg_verifier *v, const char *fpr)
{
        if (have_fpr(v, fpr))
                return 0;
        if (v->n + 2 > v->cap) {
                size_t ncap = v->cap * 2 + 2;
                char **nv = realloc(v->fprs, ncap * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                v->fprs = nv;
                v->cap = ncap;
        }
        char *s = strdup(fpr);
        if (!s)
                return -ENOMEM;
        for (char *p = s; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char)(*p - 'a' + 'A');
        v->fprs[v->n++] = s;
        v->fprs[v->n] = NULL;
        return 1;
}

int ps_gpg_verifier_add_key_data(ps_gpg_verifier *v, const void *data, size_t len, const char *what,
                                 size_t *added, ps_error *err)
{
        gerrbuf b;
        if (!what)
                what = "key data";
        if (len == 0)
                return ps_error_set(err, ENOKEY, "%s is empty: no OpenPGP public key", what);
        _cleanup_data_ gpgme_data_t d = NULL;
        gpgme_error_t e = gpgme_data_new_from_mem(&d, data, len, 0);
        if (e)
                return ps_error_set(err, ENOMEM, "cannot allocate GPGME data: %s", gerr(e, &b));
        e = gpgme_op_import(v->ctx, d);
        if (e)
                return ps_error_set(err, EBADMSG, "cannot import the keys in %s: %s", what, gerr(e, &b));
        gpgme_import_result_t res = gpgme_op_import_result(v->ctx);
        size_t n = 0;
        gpgme_error_t first_failure = 0;
        for (gpgme_import_status_t s = res ? res->imports : NULL; s; s = s->next) {
                if (s->result) {
                        if (!first_failure)
                                first_failure = s->result;
                        continue;
                }
                if (!s->fpr || (s->status & GPGME_IMPORT_SECRET))
                        continue;
                int r = add_fpr(v, s->fpr);
                if (r < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                n++;
        }
        if (n == 0) {
                if (first_failure)
                        return ps_error_set(err, ENOKEY, "no OpenPGP public key could be imported from %s: %s",
                                            what, gerr(first_failure, &b));
                return ps_error_set(err, ENOKEY, "%s contains no OpenPGP public key", what);
        }
        if (added)
                *added = n;
        return 0;
}

int ps_gpg_verifier_add_key_file(ps_gpg_verifier *v, const char *path, size_t *added, ps_error *err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = ps_read_file(path, PS_GPG_KEYFILE_MAX, &buf, &len, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot read key file");
        return ps_gpg_verifier_add_key_data(v, buf, len, path, added, err);
}

const char *const *ps_gpg_verifier_fingerprints(const ps_gpg_verifier *v, size_t *n)
{
        if (n)
                *n = v->n;
        return (const char *const *)v->fprs;
}

const char *ps_gpg_verifier_home(const ps_gpg_verifier *v)
{
        return v->home;
}

void ps_gpg_verified_clear(ps_gpg_verified *r)
{
        if (!r)
                return;
        free(r->payload);
        free(r->fingerprint);
        free(r->signer_fpr);
        memset(r, 0, sizeof *r);
}

int ps_gpg_verify(ps_gpg_verifier *v, const void *sigdata, size_t len, ps_gpg_verified *out, ps_error *err)
{
        gerrbuf b;
        memset(out, 0, sizeof *out);
        if (len == 0)
                return ps_error_set(err, EBADMSG, "the signature is empty");
        if (len > PS_GPG_SIG_MAX)
                return ps_error_set(err, EFBIG, "the signature is too large (%zu bytes, limit %zu)", len,
                                    PS_GPG_SIG_MAX);
        _cleanup_data_ gpgme_data_t sigd = NULL, plain = NULL;
        gpgme_error_t e = gpgme_data_new_from_mem(&sigd, sigdata, len, 0);
        if (e)
                return ps_error_set(err, ENOMEM, "cannot allocate GPGME data: %s", gerr(e, &b));
        sink snk = { .max = PS_GPG_SIG_MAX };
        struct gpgme_data_cbs cbs = { .write = sink_write, .seek = sink_seek };
        e = gpgme_data_new_from_cbs(&plain, &cbs, &snk);
        if (e)
                return ps_error_set(err, ENOMEM, "cannot allocate GPGME data: %s", gerr(e, &b));
        e = gpgme_op_verify(v->ctx, sigd, NULL, plain);
        _cleanup_free_ char *payload = snk.buf;
        if (snk.overflow)
                return ps_error_set(err, EFBIG, "the signed payload is larger than %zu bytes", PS_GPG_SIG_MAX);
        if (e) {
                gpgme_err_code_t c = gpgme_err_code(e);
                if (c == GPG_ERR_NO_DATA)
                        return ps_error_set(err, EBADMSG, "not an OpenPGP signed message");
                return ps_error_set(err, EBADMSG, "cannot verify the signature: %s", gerr(e, &b));
        }
        gpgme_verify_result_t res = gpgme_op_verify_result(v->ctx);
        size_t nsig = 0;
        for (gpgme_signature_t s = res ? res->signatures : NULL; s; s = s->next)
                nsig++;
        if (nsig == 0)
                return ps_error_set(err, EBADMSG, "not an OpenPGP signed message (no signature found)");
        if (nsig != 1)
                return ps_error_set(err, EBADMSG, "unexpected number of OpenPGP signatures: %zu (expected 1)",
                                    nsig);
        gpgme_signature_t s = res->signatures;
        const char *who = s->fpr ? s->fpr : "(unknown key)";
        switch (gpgme_err_code(s->status)) {
        case GPG_ERR_NO_ERROR:
                break;
        case GPG_ERR_BAD_SIGNATURE:
                return ps_error_set(err, EBADMSG, "bad signature by key %s: the signed data was modified", who);
        case GPG_ERR_NO_PUBKEY:
                return ps_error_set(err, EKEYREJECTED, "signed by key %s, which is not among the trusted keys",
                                    who);
        case GPG_ERR_KEY_EXPIRED:
                return ps_error_set(err, EKEYEXPIRED, "signature by key %s: the key has expired", who);
        case GPG_ERR_SIG_EXPIRED:
                return ps_error_set(err, EKEYEXPIRED, "signature by key %s has expired", who);
        case GPG_ERR_CERT_REVOKED:
                return ps_error_set(err, EKEYREVOKED, "signature by key %s: the key has been revoked", who);
        default:
                return ps_error_set(err, EKEYREJECTED, "invalid signature by key %s: %s", who,
                                    gerr(s->status, &b));
        }
        if (s->validity == GPGME_VALIDITY_NEVER || s->validity_reason || s->wrong_key_usage)
                return ps_error_set(err, EKEYREJECTED, "signature by key %s is not valid: %s", who,
                                    s->wrong_key_usage ? "the key may not be used for signing"
                                    : s->validity_reason ? gerr(s->validity_reason, &b)
                                                         : "validity is \"never\"");
        if (!s->fpr)
                return ps_error_set(err, EKEYREJECTED, "the signature does not name its key");
        _cleanup_free_ char *signer = strdup(s->fpr);
        int64_t sig_time = (int64_t)s->timestamp;
        if (!signer)
                return ps_error_set(err, ENOMEM, "out of memory");
        /* The signer may be a subkey: find its primary key. */
        _cleanup_key_ gpgme_key_t key = NULL;
        e = gpgme_get_key(v->ctx, signer, &key, 0);
        if (e || !key || !key->subkeys || !key->subkeys->fpr)
                return ps_error_set(err, EKEYREJECTED, "cannot find the key %s that made the signature: %s",
                                    signer, e ? gerr(e, &b) : "no such key");
        if (!have_fpr(v, key->subkeys->fpr))
                return ps_error_set(err, EKEYREJECTED,
                                    "signature by key %s (primary key %s) is not among the trusted keys", signer,
                                    key->subkeys->fpr);
        out->fingerprint = strdup(key->subkeys->fpr);
        if (!out->fingerprint)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (!payload) {
                payload = strdup("");
                if (!payload) {
                        ps_gpg_verified_clear(out);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        out->payload = steal_pointer(&payload);
        out->payload_len = snk.len;
        out->signer_fpr = steal_pointer(&signer);
        out->sig_time = sig_time;
        return 0;
}

/* ---- key listing ------------------------------------------------------- */

static int fprs_copy(const ps_gpg_verifier *v, char ***fprs, ps_error *err)
{
        char **l = calloc(v->n + 1, sizeof *l);
        if (!l)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < v->n; i++) {
                l[i] = strdup(v->fprs[i]);
                if (!l[i]) {
                        ps_strv_free(l);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        *fprs = l;
        return 0;
}

int ps_gpg_key_data_fingerprints(const void *data, size_t len, const char *what, char ***fprs, ps_error *err)
{
        _cleanup_(ps_gpg_verifier_freep) ps_gpg_verifier *v = NULL;
        int r = ps_gpg_verifier_new(&v, err);
        if (r < 0)
                return r;
        r = ps_gpg_verifier_add_key_data(v, data, len, what, NULL, err);
        if (r < 0)
                return r;
        return fprs_copy(v, fprs, err);
}

int ps_gpg_key_file_fingerprints(const char *path, char ***fprs, ps_error *err)
{
        _cleanup_(ps_gpg_verifier_freep) ps_gpg_verifier *v = NULL;
        int r = ps_gpg_verifier_new(&v, err);
        if (r < 0)
                return r;
        r = ps_gpg_verifier_add_key_file(v, path, NULL, err);
        if (r < 0)
                return r;
        return fprs_copy(v, fprs, err);
}
