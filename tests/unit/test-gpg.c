/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GPGME signing and verification.  Keys are generated here, in a temporary
 * GNUPGHOME (gpgme_op_createkey); its gpg-agent is stopped at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <gpgme.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "gpg.h"
#include "process.h"

static const char payload[] = "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.local/c10f/pause:3.9\"},"
                              "\"image\":{\"docker-manifest-digest\":\"sha256:"
                              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},"
                              "\"type\":\"atomic container signature\"},\"optional\":{\"creator\":\"test\"}}";

typedef struct keyset {
        char *dir;        /* scratch dir */
        char *home;       /* signer GNUPGHOME */
        char *ed, *rsa, *wrong, *prot, *sub_primary, *sub_signing;
        char *ed_pub, *rsa_pub_asc, *wrong_pub, *prot_pub, *sub_pub;   /* key files */
} keyset;
static keyset K;

static int rm_entry(const char *p, const struct stat *sb, int t, struct FTW *f) { remove(p); return 0; }

static gpgme_ctx_t ctx_for(const char *home)
{
        gpgme_ctx_t c = NULL;
        assert_int_equal(gpgme_new(&c), 0);
        assert_int_equal(gpgme_set_protocol(c, GPGME_PROTOCOL_OpenPGP), 0);
        assert_int_equal(gpgme_ctx_set_engine_info(c, GPGME_PROTOCOL_OpenPGP, NULL, home), 0);
        return c;
}

static gpgme_error_t pass_cb(void *hook, const char *hint, const char *info, int bad, int fd)
{
        const char *p = hook;
        if (bad)
                return gpg_error(GPG_ERR_CANCELED);
        gpgme_io_writen(fd, p, strlen(p));
        gpgme_io_writen(fd, "\n", 1);
        return 0;
}

/* create a key; returns its fingerprint */
static char *mkkey(const char *uid, const char *algo, const char *pass, unsigned flags)
{
        gpgme_ctx_t c = ctx_for(K.home);
        if (pass) {
                gpgme_set_pinentry_mode(c, GPGME_PINENTRY_MODE_LOOPBACK);
                gpgme_set_passphrase_cb(c, pass_cb, (void *)pass);
        } else {
                flags |= GPGME_CREATE_NOPASSWD;
        }
        gpgme_error_t e = gpgme_op_createkey(c, uid, algo, 0, 0, NULL, flags | GPGME_CREATE_NOEXPIRE);
        if (e)
                fail_msg("createkey %s: %s", uid, gpgme_strerror(e));
        gpgme_genkey_result_t r = gpgme_op_genkey_result(c);
        char *fpr = strdup(r->fpr);
        gpgme_release(c);
        return fpr;
}

static char *export_key(const char *fpr, bool armor, const char *name)
{
        gpgme_ctx_t c = ctx_for(K.home);
        gpgme_set_armor(c, armor);
        gpgme_data_t d;
        assert_int_equal(gpgme_data_new(&d), 0);
        assert_int_equal(gpgme_op_export(c, fpr, 0, d), 0);
        size_t n = 0;
        char *mem = gpgme_data_release_and_get_mem(d, &n);
        assert_true(n > 0);
        char *path = ps_path_join(K.dir, name);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_write_atomic(path, mem, n, 0644, &err), 0);
        gpgme_free(mem);
        gpgme_release(c);
        return path;
}

static int group_setup(void **s)
{
        char t[] = "/tmp/podsec-gpgtest-XXXXXX";
        assert_non_null(mkdtemp(t));
        K.dir = strdup(t);
        K.home = ps_path_join(K.dir, "gnupg");
        assert_int_equal(mkdir(K.home, 0700), 0);
        /* no passphrase caching: the wrong-passphrase test must reach pinentry */
        _cleanup_free_ char *agentconf = ps_path_join(K.home, "gpg-agent.conf");
        ps_error err = PS_ERROR_INIT;
        const char conf[] = "default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n";
        assert_int_equal(ps_write_atomic(agentconf, conf, sizeof conf - 1, 0600, &err), 0);
        assert_int_equal(ps_gpg_init(&err), 0);

        K.ed = mkkey("Ed Signer <ed@example.test>", "ed25519", NULL, GPGME_CREATE_SIGN);
        K.rsa = mkkey("Rsa Signer <rsa@example.test>", "rsa2048", NULL, GPGME_CREATE_SIGN);
        K.wrong = mkkey("Wrong Signer <wrong@example.test>", "ed25519", NULL, GPGME_CREATE_SIGN);
        K.prot = mkkey("Protected Signer <prot@example.test>", "ed25519", "s3cret pass", GPGME_CREATE_SIGN);
        /* certify-only primary key with a signing subkey */
        K.sub_primary = mkkey("Sub Signer <sub@example.test>", "ed25519", NULL, GPGME_CREATE_CERT);
        {
                gpgme_ctx_t c = ctx_for(K.home);
                gpgme_key_t key;
                assert_int_equal(gpgme_get_key(c, K.sub_primary, &key, 1), 0);
                assert_int_equal(gpgme_op_createsubkey(c, key, "ed25519", 0, 0,
                                                       GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD |
                                                       GPGME_CREATE_NOEXPIRE), 0);
                K.sub_signing = strdup(gpgme_op_genkey_result(c)->fpr);
                gpgme_key_unref(key);
                gpgme_release(c);
        }
        K.ed_pub = export_key(K.ed, false, "ed.pgp");
        K.rsa_pub_asc = export_key(K.rsa, true, "rsa.asc");
        K.wrong_pub = export_key(K.wrong, false, "wrong.pgp");
        K.prot_pub = export_key(K.prot, false, "prot.pgp");
        K.sub_pub = export_key(K.sub_primary, false, "sub.pgp");
        return 0;
}

static void kill_agent(const char *home)
{
        const char *argv[] = { "gpgconf", "--homedir", home, "--kill", "all", NULL };
        int st = 0;
        ps_spawn(argv, &(ps_spawn_opts){ .quiet = 1 }, &st, NULL);
}

static int group_teardown(void **s)
{
        kill_agent(K.home);
        if (!getenv("KEEP_TMP"))
                nftw(K.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

static void sign_ok(const char *key, const char *pass, const void *data, size_t len, void **sig, size_t *siglen,
                    char **fpr)
{
        ps_error err = PS_ERROR_INIT;
        ps_gpg_sign_opts o = { .homedir = K.home, .key = key, .passphrase = pass };
        int r = ps_gpg_sign(&o, data, len, sig, siglen, fpr, &err);
        if (r < 0)
                fail_msg("sign with %s: %s", key, ps_error_msg(&err));
}

static ps_gpg_verifier *verifier_with(const char *const *files)
{
        ps_gpg_verifier *v = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_gpg_verifier_new(&v, &err), 0);
        for (; *files; files++) {
                int r = ps_gpg_verifier_add_key_file(v, *files, NULL, &err);
                if (r < 0)
                        fail_msg("add %s: %s", *files, ps_error_msg(&err));
        }
        return v;
}

static int verify(ps_gpg_verifier *v, const void *sig, size_t len, ps_gpg_verified *out, ps_error *err)
{
        int r = ps_gpg_verify(v, sig, len, out, err);
        if (r < 0)
                print_message("# verify: %s\n", ps_error_msg(err));
        return r;
}

static void test_roundtrip_ed25519(void **s)
{
        _cleanup_free_ void *sig = NULL;
        _cleanup_free_ char *fpr = NULL;
        size_t len = 0;
        sign_ok(K.ed, NULL, payload, strlen(payload), &sig, &len, &fpr);
        assert_string_equal(fpr, K.ed);
        /* binary (not armored) OpenPGP message: first byte has bit 7 set */
        assert_true(((unsigned char *)sig)[0] & 0x80);
        assert_null(memmem(sig, len, "BEGIN PGP", 9));

        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, NULL });
        size_t n = 0;
        const char *const *f = ps_gpg_verifier_fingerprints(v, &n);
        assert_int_equal(n, 1);
        assert_string_equal(f[0], K.ed);
        assert_null(f[1]);
        ps_gpg_verified out;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(verify(v, sig, len, &out, &err), 0);
        assert_int_equal(out.payload_len, strlen(payload));
        assert_memory_equal(out.payload, payload, strlen(payload));
        assert_string_equal(out.fingerprint, K.ed);
        assert_string_equal(out.signer_fpr, K.ed);
        assert_true(out.sig_time > time(NULL) - 600 && out.sig_time <= time(NULL) + 5);
        ps_gpg_verified_clear(&out);
        /* the same verifier is reusable */
        assert_int_equal(verify(v, sig, len, &out, &err), 0);
        ps_gpg_verified_clear(&out);
        /* its home is private and removed afterwards */
        _cleanup_free_ char *home = strdup(ps_gpg_verifier_home(v));
        struct stat st;
        assert_int_equal(stat(home, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        ps_gpg_verifier_free(v);
        assert_int_equal(stat(home, &st), -1);
}

static void test_roundtrip_rsa_by_email_armored_keyfile(void **s)
{
        _cleanup_free_ void *sig = NULL;
        _cleanup_free_ char *fpr = NULL;
        size_t len = 0;
        sign_ok("rsa@example.test", NULL, payload, strlen(payload), &sig, &len, &fpr);
        assert_string_equal(fpr, K.rsa);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, K.rsa_pub_asc, NULL });
        size_t n = 0;
        ps_gpg_verifier_fingerprints(v, &n);
        assert_int_equal(n, 2);
        ps_gpg_verified out;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(verify(v, sig, len, &out, &err), 0);
        assert_string_equal(out.fingerprint, K.rsa);
        ps_gpg_verified_clear(&out);
        ps_gpg_verifier_free(v);
}

static void test_select_by_keyid_and_errors(void **s)
{
        _cleanup_free_ void *sig = NULL;
        _cleanup_free_ char *fpr = NULL;
        size_t len = 0;
        /* long key id (last 16 hex digits) */
        sign_ok(K.wrong + strlen(K.wrong) - 16, NULL, "x", 1, &sig, &len, &fpr);
        assert_string_equal(fpr, K.wrong);

        ps_error err = PS_ERROR_INIT;
        void *sig2 = NULL;
        size_t len2 = 0;
        ps_gpg_sign_opts o = { .homedir = K.home, .key = "nobody@example.test" };
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "nobody@example.test"));
        ps_error_clear(&err);
        /* a substring of several user ids is ambiguous */
        o.key = "Signer";
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "ambiguous"));
        ps_error_clear(&err);
        /* e-mail addresses match exactly: "d@example.test" is not "ed@example.test" */
        o.key = "d@example.test";
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -ENOKEY);
        ps_error_clear(&err);
        o.key = "";
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -EINVAL);
        ps_error_clear(&err);
        o.key = K.ed;
        o.passphrase = "a\nb";
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "line break"));
        ps_error_clear(&err);
}

static void test_wrong_key(void **s)
{
        _cleanup_free_ void *sig = NULL;
        size_t len = 0;
        sign_ok(K.wrong, NULL, payload, strlen(payload), &sig, &len, NULL);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, K.rsa_pub_asc, NULL });
        ps_gpg_verified out;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(verify(v, sig, len, &out, &err), -EKEYREJECTED);
        assert_non_null(strstr(err.msg, "not among the trusted keys"));
        assert_null(out.payload);
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);
}

static void test_tampered(void **s)
{
        _cleanup_free_ void *sig = NULL;
        size_t len = 0;
        sign_ok(K.ed, NULL, payload, strlen(payload), &sig, &len, NULL);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, NULL });
        ps_error err = PS_ERROR_INIT;
        /* Flip one bit at many positions: verification must fail, or (for
         * the literal packet's unsigned file name / date) yield exactly
         * the original payload. */
        size_t failed = 0, tried = 0;
        unsigned char *copy = malloc(len);
        for (size_t i = 0; i < len; i += 4) {
                memcpy(copy, sig, len);
                copy[i] ^= 0x01;
                ps_gpg_verified out;
                int r = ps_gpg_verify(v, copy, len, &out, &err);
                tried++;
                if (r < 0) {
                        failed++;
                        assert_true(r == -EBADMSG || r == -EKEYREJECTED || r == -EFBIG);
                } else {
                        assert_int_equal(out.payload_len, strlen(payload));
                        assert_memory_equal(out.payload, payload, strlen(payload));
                        ps_gpg_verified_clear(&out);
                }
                ps_error_clear(&err);
        }
        print_message("# tampered: %zu of %zu flips rejected\n", failed, tried);
        assert_true(failed > tried * 3 / 4);
        /* truncated */
        ps_gpg_verified out;
        assert_true(ps_gpg_verify(v, sig, len / 2, &out, &err) < 0);
        ps_error_clear(&err);
        free(copy);
        ps_gpg_verifier_free(v);
}

static void test_not_a_signature(void **s)
{
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, NULL });
        ps_gpg_verified out;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_gpg_verify(v, payload, strlen(payload), &out, &err), -EBADMSG);
        ps_error_clear(&err);
        assert_int_equal(ps_gpg_verify(v, "", 0, &out, &err), -EBADMSG);
        ps_error_clear(&err);
        /* a detached signature has no embedded payload */
        gpgme_ctx_t c = ctx_for(K.home);
        gpgme_key_t key;
        assert_int_equal(gpgme_get_key(c, K.ed, &key, 1), 0);
        gpgme_signers_add(c, key);
        gpgme_data_t in, outd;
        gpgme_data_new_from_mem(&in, payload, strlen(payload), 0);
        gpgme_data_new(&outd);
        assert_int_equal(gpgme_op_sign(c, in, outd, GPGME_SIG_MODE_DETACH), 0);
        size_t n = 0;
        char *det = gpgme_data_release_and_get_mem(outd, &n);
        assert_true(ps_gpg_verify(v, det, n, &out, &err) < 0);
        print_message("# detached: %s\n", ps_error_msg(&err));
        ps_error_clear(&err);
        gpgme_free(det);
        /* two signatures on one message */
        gpgme_key_t key2;
        assert_int_equal(gpgme_get_key(c, K.rsa, &key2, 1), 0);
        gpgme_signers_add(c, key2);
        gpgme_data_new(&outd);
        gpgme_data_seek(in, 0, SEEK_SET);
        assert_int_equal(gpgme_op_sign(c, in, outd, GPGME_SIG_MODE_NORMAL), 0);
        char *two = gpgme_data_release_and_get_mem(outd, &n);
        ps_gpg_verifier *v2 = verifier_with((const char *[]){ K.ed_pub, K.rsa_pub_asc, NULL });
        assert_int_equal(ps_gpg_verify(v2, two, n, &out, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "number of OpenPGP signatures"));
        ps_error_clear(&err);
        gpgme_free(two);
        gpgme_data_release(in);
        gpgme_key_unref(key);
        gpgme_key_unref(key2);
        gpgme_release(c);
        ps_gpg_verifier_free(v2);
        ps_gpg_verifier_free(v);
}

static void test_passphrase(void **s)
{
        ps_error err = PS_ERROR_INIT;
        void *sig = NULL;
        size_t len = 0;
        ps_gpg_sign_opts o = { .homedir = K.home, .key = "prot@example.test", .passphrase = "wrong pass" };
        assert_int_equal(ps_gpg_sign(&o, payload, strlen(payload), &sig, &len, NULL, &err), -EACCES);
        assert_non_null(strstr(err.msg, "passphrase"));
        print_message("# wrong passphrase: %s\n", err.msg);
        ps_error_clear(&err);
        sign_ok("prot@example.test", "s3cret pass", payload, strlen(payload), &sig, &len, NULL);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.prot_pub, NULL });
        ps_gpg_verified out;
        assert_int_equal(verify(v, sig, len, &out, &err), 0);
        ps_gpg_verified_clear(&out);
        ps_gpg_verifier_free(v);
        free(sig);
}

static void test_subkey(void **s)
{
        _cleanup_free_ void *sig = NULL;
        _cleanup_free_ char *fpr = NULL;
        size_t len = 0;
        sign_ok("sub@example.test", NULL, payload, strlen(payload), &sig, &len, &fpr);
        assert_string_equal(fpr, K.sub_primary);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.sub_pub, NULL });
        ps_gpg_verified out;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(verify(v, sig, len, &out, &err), 0);
        assert_string_equal(out.fingerprint, K.sub_primary);
        assert_string_equal(out.signer_fpr, K.sub_signing);
        ps_gpg_verified_clear(&out);
        ps_gpg_verifier_free(v);
}

static void test_expired_key_and_signature(void **s)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *exp = mkkey("Expiring Signer <exp@example.test>", "ed25519", NULL, GPGME_CREATE_SIGN);
        _cleanup_free_ void *sig_keyexp = NULL, *sig_sigexp = NULL;
        size_t len_keyexp = 0, len_sigexp = 0;
        sign_ok(exp, NULL, payload, strlen(payload), &sig_keyexp, &len_keyexp, NULL);
        /* a signature valid for 1 s, made by gpg itself */
        {
                int st = -1;
                ps_spawn_opts o = { .stdin_data = payload, .stdin_len = strlen(payload), .quiet = 1 };
                _cleanup_free_ char *sigfile = ps_path_join(K.dir, "sigexp.gpg");
                const char *argv2[] = { "gpg", "--homedir", K.home, "--batch", "--no-tty", "--yes", "-u", K.ed,
                                        "--default-sig-expire", "seconds=1", "-o", sigfile, "--sign", NULL };
                assert_int_equal(ps_spawn(argv2, &o, &st, &err), 0);
                assert_int_equal(st, 0);
                char *buf = NULL;
                assert_int_equal(ps_read_file(sigfile, 1 << 20, &buf, &len_sigexp, &err), 0);
                sig_sigexp = buf;
        }
        /* the key expires a few seconds from now */
        time_t t0 = time(NULL);
        {
                gpgme_ctx_t c = ctx_for(K.home);
                gpgme_key_t key;
                assert_int_equal(gpgme_get_key(c, exp, &key, 1), 0);
                assert_int_equal(gpgme_op_setexpire(c, key, 4, NULL, 0), 0);
                gpgme_key_unref(key);
                gpgme_release(c);
        }
        _cleanup_free_ char *pub = export_key(exp, false, "exp.pgp");
        ps_gpg_verifier *v = verifier_with((const char *[]){ pub, K.ed_pub, NULL });
        ps_gpg_verified out;
        /* still valid now (unless this machine is too slow to tell) */
        if (time(NULL) < t0 + 2) {
                assert_int_equal(verify(v, sig_keyexp, len_keyexp, &out, &err), 0);
                ps_gpg_verified_clear(&out);
        }
        while (time(NULL) < t0 + 6)
                sleep(1);
        assert_int_equal(ps_gpg_verify(v, sig_keyexp, len_keyexp, &out, &err), -EKEYEXPIRED);
        print_message("# expired key: %s\n", err.msg);
        assert_non_null(strstr(err.msg, "expired"));
        ps_error_clear(&err);
        assert_int_equal(ps_gpg_verify(v, sig_sigexp, len_sigexp, &out, &err), -EKEYEXPIRED);
        print_message("# expired signature: %s\n", err.msg);
        assert_non_null(strstr(err.msg, "expired"));
        ps_error_clear(&err);
        /* signing with an expired key is refused up front */
        void *sig2 = NULL;
        size_t len2 = 0;
        ps_gpg_sign_opts o = { .homedir = K.home, .key = exp };
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "expired"));
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);
}

static void test_revoked(void **s)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *rev = mkkey("Revoked Signer <rev@example.test>", "ed25519", NULL, GPGME_CREATE_SIGN);
        _cleanup_free_ void *sig = NULL;
        size_t len = 0;
        sign_ok(rev, NULL, payload, strlen(payload), &sig, &len, NULL);
        /* gpg stores a revocation certificate for every new key; its armor
         * line is prefixed with ':' against accidental import. */
        _cleanup_free_ char *revfile = NULL;
        assert_true(asprintf(&revfile, "%s/openpgp-revocs.d/%s.rev", K.home, rev) > 0);
        _cleanup_free_ char *cert = NULL;
        size_t clen = 0;
        assert_int_equal(ps_read_file(revfile, 1 << 20, &cert, &clen, &err), 0);
        char *colon = strstr(cert, ":-----BEGIN PGP PUBLIC KEY BLOCK-----");
        assert_non_null(colon);
        gpgme_ctx_t c = ctx_for(K.home);
        gpgme_data_t d;
        gpgme_data_new_from_mem(&d, colon + 1, strlen(colon + 1), 0);
        assert_int_equal(gpgme_op_import(c, d), 0);
        assert_int_equal(gpgme_op_import_result(c)->imported + gpgme_op_import_result(c)->new_revocations, 1);
        gpgme_data_release(d);
        gpgme_release(c);
        _cleanup_free_ char *pub = export_key(rev, false, "rev.pgp");
        ps_gpg_verifier *v = verifier_with((const char *[]){ pub, NULL });
        ps_gpg_verified out;
        assert_int_equal(ps_gpg_verify(v, sig, len, &out, &err), -EKEYREVOKED);
        print_message("# revoked: %s\n", err.msg);
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);
        /* and it can no longer sign */
        void *sig2 = NULL;
        size_t len2 = 0;
        ps_gpg_sign_opts o = { .homedir = K.home, .key = rev };
        assert_int_equal(ps_gpg_sign(&o, "x", 1, &sig2, &len2, NULL, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "revoked"));
        ps_error_clear(&err);
}

static void test_payload_limit(void **s)
{
        /* 5 MiB of zeros compresses to a small signature; the embedded
         * payload is over the 4 MiB limit and must not be accepted. */
        size_t big = (size_t)5 << 20;
        char *data = calloc(1, big);
        _cleanup_free_ void *sig = NULL;
        size_t len = 0;
        sign_ok(K.ed, NULL, data, big, &sig, &len, NULL);
        free(data);
        assert_true(len < PS_GPG_SIG_MAX);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, NULL });
        ps_gpg_verified out;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_gpg_verify(v, sig, len, &out, &err), -EFBIG);
        ps_error_clear(&err);
        /* and an oversized blob is refused before gpg sees it */
        assert_int_equal(ps_gpg_verify(v, sig, PS_GPG_SIG_MAX + 1, &out, &err), -EFBIG);
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);
}

static void test_key_files(void **s)
{
        ps_error err = PS_ERROR_INIT;
        char **f = NULL;
        assert_int_equal(ps_gpg_key_file_fingerprints(K.rsa_pub_asc, &f, &err), 0);
        assert_string_equal(f[0], K.rsa);
        assert_null(f[1]);
        ps_strv_free(f);
        /* a keyring with several keys */
        _cleanup_free_ char *both = NULL, *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        assert_int_equal(ps_read_file(K.ed_pub, 1 << 20, &a, &la, &err), 0);
        assert_int_equal(ps_read_file(K.wrong_pub, 1 << 20, &b, &lb, &err), 0);
        both = malloc(la + lb);
        memcpy(both, a, la);
        memcpy(both + la, b, lb);
        assert_int_equal(ps_gpg_key_data_fingerprints(both, la + lb, "keyData", &f, &err), 0);
        assert_string_equal(f[0], K.ed);
        assert_string_equal(f[1], K.wrong);
        assert_null(f[2]);
        ps_strv_free(f);
        /* the same key twice counts once */
        memcpy(both + la, a, la);
        assert_int_equal(ps_gpg_key_data_fingerprints(both, 2 * la, "keyData", &f, &err), 0);
        assert_null(f[1]);
        ps_strv_free(f);
        /* garbage, empty, missing */
        assert_int_equal(ps_gpg_key_data_fingerprints("hello world\n", 12, "junk", &f, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "junk"));
        ps_error_clear(&err);
        assert_int_equal(ps_gpg_key_data_fingerprints("", 0, "empty", &f, &err), -ENOKEY);
        ps_error_clear(&err);
        assert_int_equal(ps_gpg_key_file_fingerprints("/nonexistent/key.pgp", &f, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/key.pgp"));
        ps_error_clear(&err);
}

static void test_verifier_leaves_no_agent(void **s)
{
        /* Verification homes say no-autostart: after many verifications no
         * socket or agent file exists in them. */
        _cleanup_free_ void *sig = NULL;
        size_t len = 0;
        sign_ok(K.ed, NULL, payload, strlen(payload), &sig, &len, NULL);
        ps_gpg_verifier *v = verifier_with((const char *[]){ K.ed_pub, NULL });
        ps_error err = PS_ERROR_INIT;
        for (int i = 0; i < 5; i++) {
                ps_gpg_verified out;
                assert_int_equal(ps_gpg_verify(v, sig, len, &out, &err), 0);
                ps_gpg_verified_clear(&out);
        }
        _cleanup_free_ char *sock = ps_path_join(ps_gpg_verifier_home(v), "S.gpg-agent");
        assert_false(ps_file_exists(sock));
        ps_gpg_verifier_free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip_ed25519),
                cmocka_unit_test(test_roundtrip_rsa_by_email_armored_keyfile),
                cmocka_unit_test(test_select_by_keyid_and_errors),
                cmocka_unit_test(test_wrong_key),
                cmocka_unit_test(test_tampered),
                cmocka_unit_test(test_not_a_signature),
                cmocka_unit_test(test_passphrase),
                cmocka_unit_test(test_subkey),
                cmocka_unit_test(test_expired_key_and_signature),
                cmocka_unit_test(test_revoked),
                cmocka_unit_test(test_payload_limit),
                cmocka_unit_test(test_key_files),
                cmocka_unit_test(test_verifier_leaves_no_agent),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
