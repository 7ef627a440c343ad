/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "gpgkey.h"
#include "cleanup.h"
#include "gpg.h"
#include "process.h"

#include <errno.h>
#include <gpgme.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
        const char *name;
        ps_gpgkey_type type;
} key_types[] = {
        { "ed25519", PS_GPGKEY_ED25519 },
        { "rsa2048", PS_GPGKEY_RSA2048 },
        { "rsa3072", PS_GPGKEY_RSA3072 },
        { "rsa4096", PS_GPGKEY_RSA4096 },
};

int ps_gpgkey_type_parse(const char *s, ps_gpgkey_type *t, ps_error *err)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(key_types); i++)
                if (!strcmp(s, key_types[i].name)) {
                        *t = key_types[i].type;
                        return 0;
                }
        return ps_error_set(err, EINVAL, "unknown key type '%s': expected ed25519, rsa2048, rsa3072 or rsa4096", s);
}

const char *ps_gpgkey_type_name(ps_gpgkey_type t)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(key_types); i++)
                if (key_types[i].type == t)
                        return key_types[i].name;
        return "ed25519";
}

/* Length of the UTF-8 sequence at S (0 when invalid). */
static size_t utf8_len(const unsigned char *s)
{
        if (s[0] < 0x80)
                return 1;
        size_t n;
        uint32_t cp;
        if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07;
        } else {
                return 0;
        }
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        /* C1 control characters */
        if (cp >= 0x80 && cp < 0xa0)
                return 0;
        return n;
}

int ps_gpgkey_uid_check(const char *uid, ps_error *err)
{
        size_t len = strlen(uid);
        if (len == 0)
                return ps_error_set(err, EINVAL, "the key's user id is empty");
        if (len > 256)
                return ps_error_set(err, EINVAL, "the key's user id is longer than 256 bytes");
        const unsigned char *s = (const unsigned char *)uid;
        for (size_t i = 0; i < len;) {
                if (s[i] < 0x20 || s[i] == 0x7f)
                        return ps_error_set(err, EINVAL,
                                            "the key's user id '%s' contains a control character (byte %zu)", uid,
                                            i + 1);
                size_t n = utf8_len(s + i);
                if (n == 0)
                        return ps_error_set(err, EINVAL,
                                            "the key's user id is not valid UTF-8 or contains a control character "
                                            "(byte %zu)", i + 1);
                i += n;
        }
        if (uid[0] == ' ' || uid[len - 1] == ' ')
                return ps_error_set(err, EINVAL, "the key's user id '%s' begins or ends with a blank", uid);
        const char *lt = strchr(uid, '<');
        const char *gt = strchr(uid, '>');
        if (!lt && !gt)
                return 0;
        if (!lt || !gt || gt < lt || uid[len - 1] != '>' || strchr(lt + 1, '<') || gt != uid + len - 1)
                return ps_error_set(err, EINVAL,
                                    "the key's user id '%s' must be \"Name <address>\", with one <address> at the end",
                                    uid);
        const char *at = memchr(lt + 1, '@', (size_t)(gt - lt - 1));
        if (!at || at == lt + 1 || at == gt - 1)
                return ps_error_set(err, EINVAL, "the address in the key's user id '%s' is not of the form "
                                    "local@domain", uid);
        for (const char *p = lt + 1; p < gt; p++)
                if (*p == ' ')
                        return ps_error_set(err, EINVAL, "the address in the key's user id '%s' contains a blank",
                                            uid);
        if (lt > uid && lt[-1] != ' ')
                return ps_error_set(err, EINVAL, "the key's user id '%s' needs a blank before '<'", uid);
        return 0;
}

/* ---- GPGME plumbing ---------------------------------------------------- */

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
#define _cleanup_ctx_ _cleanup_(ctx_releasep)
#define _cleanup_data_ _cleanup_(data_releasep)

static int new_ctx(const char *homedir, gpgme_ctx_t *ret, ps_error *err)
{
        int r = ps_gpg_init(err);
        if (r < 0)
                return r;
        gerrbuf b;
        _cleanup_ctx_ gpgme_ctx_t ctx = NULL;
        gpgme_error_t e = gpgme_new(&ctx);
        if (e)
                return ps_error_set(err, EIO, "cannot create a GPGME context: %s", gerr(e, &b));
        e = gpgme_set_protocol(ctx, GPGME_PROTOCOL_OpenPGP);
        if (e)
                return ps_error_set(err, EIO, "cannot select the OpenPGP protocol: %s", gerr(e, &b));
        if (!homedir || !*homedir)
                return ps_error_set(err, EINVAL, "no GnuPG home directory given");
        e = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_OpenPGP, NULL, homedir);
        if (e)
                return ps_error_set(err, EIO, "cannot use GnuPG home %s: %s", homedir, gerr(e, &b));
        gpgme_set_offline(ctx, 1);
        *ret = steal_pointer(&ctx);
        return 0;
}

typedef struct pp_hook {
        const char *pass;
        unsigned calls;
} pp_hook;

static gpgme_error_t pp_cb(void *hook, const char *uid_hint, const char *info, int prev_was_bad, int fd)
{
        pp_hook *h = hook;
        (void)uid_hint;
        (void)info;
        /* gpg asks again only when the passphrase was refused; never loop */
        if (prev_was_bad || h->calls++ > 4)
                return gpgme_error(GPG_ERR_CANCELED);
        size_t n = strlen(h->pass);
        if (gpgme_io_writen(fd, h->pass, n) < 0 || gpgme_io_writen(fd, "\n", 1) < 0)
                return gpgme_error_from_syserror();
        return 0;
}

static bool usable_signer(gpgme_key_t k)
{
        return k && k->subkeys && k->subkeys->fpr && !k->revoked && !k->expired && !k->disabled && !k->invalid &&
               k->can_sign && k->secret;
}

int ps_gpgkey_generate(const ps_gpgkey_gen *g, char **fpr, ps_error *err)
{
        *fpr = NULL;
        int r = ps_gpgkey_uid_check(g->uid, err);
        if (r < 0)
                return r;
        if (g->passphrase) {
                if (!*g->passphrase)
                        return ps_error_set(err, EINVAL, "the key passphrase is empty");
                if (strchr(g->passphrase, '\n') || strchr(g->passphrase, '\r'))
                        return ps_error_set(err, EINVAL, "the key passphrase must not contain a line break");
                if (strlen(g->passphrase) > PS_GPGKEY_PASSPHRASE_MAX)
                        return ps_error_set(err, EINVAL, "the key passphrase is longer than %d bytes",
                                            PS_GPGKEY_PASSPHRASE_MAX);
        }
        _cleanup_ctx_ gpgme_ctx_t ctx = NULL;
        r = new_ctx(g->homedir, &ctx, err);
        if (r < 0)
                return r;
        gerrbuf b;
        gpgme_error_t e;
        pp_hook hook = { .pass = g->passphrase };
        if (g->passphrase) {
                e = gpgme_set_pinentry_mode(ctx, GPGME_PINENTRY_MODE_LOOPBACK);
                if (e)
                        return ps_error_set(err, EIO, "cannot set the loopback pinentry mode: %s", gerr(e, &b));
                gpgme_set_passphrase_cb(ctx, pp_cb, &hook);
        }
        const char *algo = ps_gpgkey_type_name(g->type);
        e = gpgme_op_createkey(ctx, g->uid, algo, 0, 0, NULL,
                               GPGME_CREATE_SIGN | GPGME_CREATE_NOEXPIRE);
        if (e)
                return ps_error_set(err, gpgme_err_code(e) == GPG_ERR_CANCELED ? ECANCELED : EIO,
                                    "cannot generate a %s key for '%s' in %s: %s", algo, g->uid, g->homedir,
                                    gerr(e, &b));
        gpgme_genkey_result_t res = gpgme_op_genkey_result(ctx);
        if (!res || !res->fpr)
                return ps_error_set(err, EIO, "gpg generated a key for '%s' in %s but did not tell its fingerprint",
                                    g->uid, g->homedir);
        *fpr = strdup(res->fpr);
        if (!*fpr)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
        char **nv = realloc(*v, (*n + 2) * sizeof **v);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(s);
        if (!nv[*n])
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

/* List the secret keys matching PATTERN; FN decides about each one. */
typedef int (*key_fn)(gpgme_key_t k, void *userdata);

static int list_secret(const char *homedir, const char *pattern, key_fn fn, void *userdata, ps_error *err)
{
        _cleanup_ctx_ gpgme_ctx_t ctx = NULL;
        int r = new_ctx(homedir, &ctx, err);
        if (r < 0)
                return r;
        gerrbuf b;
        gpgme_error_t e = gpgme_op_keylist_start(ctx, pattern, 1);
        if (e)
                return ps_error_set(err, EIO, "cannot list the secret keys in %s: %s", homedir, gerr(e, &b));
        r = 0;
        for (;;) {
                gpgme_key_t k = NULL;
                e = gpgme_op_keylist_next(ctx, &k);
                if (gpgme_err_code(e) == GPG_ERR_EOF)
                        break;
                if (e) {
                        r = ps_error_set(err, EIO, "cannot list the secret keys in %s: %s", homedir, gerr(e, &b));
                        break;
                }
                r = fn(k, userdata);
                gpgme_key_unref(k);
                if (r < 0) {
                        ps_error_set(err, -r, "out of memory");
                        break;
                }
        }
        gpgme_op_keylist_end(ctx);
        return r < 0 ? r : 0;
}

typedef struct find_uid {
        const char *uid;
        char **fprs;
        size_t n;
} find_uid;

static int find_uid_cb(gpgme_key_t k, void *userdata)
{
        find_uid *f = userdata;
        if (!usable_signer(k))
                return 0;
        for (gpgme_user_id_t u = k->uids; u; u = u->next)
                if (u->uid && !u->revoked && !u->invalid && !strcmp(u->uid, f->uid))
                        return strv_push(&f->fprs, &f->n, k->subkeys->fpr);
        return 0;
}

int ps_gpgkey_find_secret(const char *homedir, const char *uid, char ***fprs, ps_error *err)
{
        *fprs = NULL;
        find_uid f = { .uid = uid };
        /* gpg matches a plain pattern as a substring; the exact comparison
         * is made on each result */
        int r = list_secret(homedir, uid, find_uid_cb, &f, err);
        if (r < 0) {
                ps_strv_free(f.fprs);
                return r;
        }
        if (!f.fprs) {
                f.fprs = calloc(1, sizeof *f.fprs);
                if (!f.fprs)
                        return ps_error_set(err, ENOMEM, "out of memory");
        }
        *fprs = f.fprs;
        return 0;
}

typedef struct find_fpr {
        const char *fpr;
        bool found;
} find_fpr;

static int find_fpr_cb(gpgme_key_t k, void *userdata)
{
        find_fpr *f = userdata;
        if (usable_signer(k) && !strcasecmp(k->subkeys->fpr, f->fpr))
                f->found = true;
        return 0;
}

int ps_gpgkey_has_secret(const char *homedir, const char *fpr, bool *has, ps_error *err)
{
        *has = false;
        for (const char *p = fpr; *p; p++)
                if (!strchr("0123456789abcdefABCDEF", *p))
                        return ps_error_set(err, EINVAL, "'%s' is not a key fingerprint", fpr);
        if (strlen(fpr) < 32)
                return ps_error_set(err, EINVAL, "'%s' is not a key fingerprint", fpr);
        find_fpr f = { .fpr = fpr };
        int r = list_secret(homedir, fpr, find_fpr_cb, &f, err);
        if (r < 0)
                return r;
        *has = f.found;
        return 0;
}

int ps_gpgkey_export(const char *homedir, const char *fpr, char **data, size_t *len, ps_error *err)
{
        *data = NULL;
        if (len)
                *len = 0;
        _cleanup_ctx_ gpgme_ctx_t ctx = NULL;
        int r = new_ctx(homedir, &ctx, err);
        if (r < 0)
                return r;
        gpgme_set_armor(ctx, 1);
        gerrbuf b;
        _cleanup_data_ gpgme_data_t out = NULL;
        gpgme_error_t e = gpgme_data_new(&out);
        if (e)
                return ps_error_set(err, ENOMEM, "cannot create a GPGME buffer: %s", gerr(e, &b));
        e = gpgme_op_export(ctx, fpr, GPGME_EXPORT_MODE_MINIMAL, out);
        if (e)
                return ps_error_set(err, EIO, "cannot export key %s from %s: %s", fpr, homedir, gerr(e, &b));
        size_t n = 0;
        char *mem = gpgme_data_release_and_get_mem(out, &n);
        out = NULL;
        if (!mem || n == 0) {
                gpgme_free(mem);
                return ps_error_set(err, ENOKEY, "key %s is not in %s: nothing was exported", fpr, homedir);
        }
        char *copy = malloc(n + 1);
        if (!copy) {
                gpgme_free(mem);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        memcpy(copy, mem, n);
        copy[n] = '\0';
        gpgme_free(mem);
        *data = copy;
        if (len)
                *len = n;
        return 0;
}

int ps_gpgkey_stop_agent(const char *homedir, ps_error *err)
{
        _cleanup_free_ char *env = NULL;
        if (asprintf(&env, "GNUPGHOME=%s", homedir) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        const char *envv[] = { env, NULL };
        const char *argv[] = { "gpgconf", "--kill", "all", NULL };
        _cleanup_free_ char *errout = NULL;
        ps_spawn_opts o = { .env = envv, .errout = &errout };
        int status = 0;
        int r = ps_spawn(argv, &o, &status, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot stop gpg-agent of %s", homedir);
        if (status != 0) {
                size_t l = errout ? strlen(errout) : 0;
                while (l && errout[l - 1] == '\n')
                        errout[--l] = '\0';
                return ps_error_set(err, EIO, "gpgconf --kill all for %s failed (exit %d): %s", homedir, status,
                                    l ? errout : "no message");
        }
        return 0;
}
