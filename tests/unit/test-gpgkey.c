/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpgkey: key generation in a temporary GnuPG home, lookup by exact user
 * id and fingerprint, armored export that gpg.h's verifier accepts, a
 * signature made with the passphrase, and the agent stopped at the end. */
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
#include <unistd.h>
#include "cleanup.h"
#include "gpg.h"
#include "gpgkey.h"
#include "process.h"

static char *dir, *home;

static int rm_entry(const char *p, const struct stat *sb, int t, struct FTW *f)
{
        (void)sb;
        (void)t;
        (void)f;
        remove(p);
        return 0;
}

static int setup(void **state)
{
        (void)state;
        char t[] = "/tmp/podsec-gpgkey-XXXXXX";
        if (!mkdtemp(t))
                return -1;
        dir = strdup(t);
        if (!dir || asprintf(&home, "%s/gnupg", dir) < 0 || mkdir(home, 0700) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        ps_gpgkey_stop_agent(home, NULL);
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(home);
        free(dir);
        return 0;
}

static void test_types(void **state)
{
        (void)state;
        const char *names[] = { "ed25519", "rsa2048", "rsa3072", "rsa4096" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(names); i++) {
                ps_gpgkey_type t;
                assert_int_equal(ps_gpgkey_type_parse(names[i], &t, NULL), 0);
                assert_string_equal(ps_gpgkey_type_name(t), names[i]);
        }
        ps_gpgkey_type t;
        ps_error e = PS_ERROR_INIT;
        assert_int_equal(ps_gpgkey_type_parse("dsa1024", &t, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "dsa1024"));
        ps_error_clear(&e);
        assert_int_equal(ps_gpgkey_type_parse("ED25519", &t, NULL), -EINVAL);
}

static void test_uid_check(void **state)
{
        (void)state;
        const char *good[] = { "alice <alice@registry.local>", "Alice Maker <a@b>", "alice", "Имя <x@y.z>",
                               "a (comment) <a@b>" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(good); i++)
                if (ps_gpgkey_uid_check(good[i], NULL) != 0)
                        fail_msg("refused good uid %s", good[i]);
        const char *bad[] = { "", "a\tb <a@b>", "a <a@b>\n", "a\x1b[31m <a@b>", "a <ab>", "a <@b>", "a <a@>",
                              "a <a b@c>", "a <a@b> x", "a <<a@b>", "a>", "<a@b", " a <a@b>", "a <a@b> ",
                              "a\xc2\x85 <a@b>", "\xff <a@b>", "a<a@b>" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                ps_error e = PS_ERROR_INIT;
                if (ps_gpgkey_uid_check(bad[i], &e) != -EINVAL)
                        fail_msg("accepted bad uid #%zu", i);
                assert_non_null(e.msg);
                ps_error_clear(&e);
        }
        char longer[300];
        memset(longer, 'a', sizeof longer - 1);
        longer[sizeof longer - 1] = '\0';
        assert_int_equal(ps_gpgkey_uid_check(longer, NULL), -EINVAL);
}

static void test_generate_export_sign(void **state)
{
        (void)state;
        const char *uid = "alice <alice@registry.local>";
        _cleanup_strv_ char **found = NULL;
        assert_int_equal(ps_gpgkey_find_secret(home, uid, &found, NULL), 0);
        assert_null(found[0]);

        /* refused before gpg runs */
        ps_gpgkey_gen bad = { .homedir = home, .uid = uid, .passphrase = "" };
        ps_error e = PS_ERROR_INIT;
        char *fpr = NULL;
        assert_int_equal(ps_gpgkey_generate(&bad, &fpr, &e), -EINVAL);
        ps_error_clear(&e);
        bad.passphrase = "two\nlines";
        assert_int_equal(ps_gpgkey_generate(&bad, &fpr, &e), -EINVAL);
        ps_error_clear(&e);
        bad.passphrase = "ok";
        bad.uid = "bad\tuid";
        assert_int_equal(ps_gpgkey_generate(&bad, &fpr, &e), -EINVAL);
        ps_error_clear(&e);

        ps_gpgkey_gen g = { .homedir = home, .uid = uid, .type = PS_GPGKEY_ED25519, .passphrase = "s3cret pass" };
        assert_int_equal(ps_gpgkey_generate(&g, &fpr, NULL), 0);
        assert_int_equal(strlen(fpr), 40);

        /* exact user id only */
        ps_strv_free(found);
        assert_int_equal(ps_gpgkey_find_secret(home, uid, &found, NULL), 0);
        assert_non_null(found[0]);
        assert_string_equal(found[0], fpr);
        assert_null(found[1]);
        ps_strv_free(found);
        assert_int_equal(ps_gpgkey_find_secret(home, "alice", &found, NULL), 0);
        assert_null(found[0]);

        bool has = false;
        assert_int_equal(ps_gpgkey_has_secret(home, fpr, &has, NULL), 0);
        assert_true(has);
        assert_int_equal(ps_gpgkey_has_secret(home, "0123456789ABCDEF0123456789ABCDEF01234567", &has, NULL), 0);
        assert_false(has);
        assert_int_equal(ps_gpgkey_has_secret(home, "not-hex", &has, &e), -EINVAL);
        ps_error_clear(&e);

        _cleanup_free_ char *arm = NULL;
        size_t len = 0;
        assert_int_equal(ps_gpgkey_export(home, fpr, &arm, &len, NULL), 0);
        assert_int_equal(strlen(arm), len);
        assert_true(!strncmp(arm, "-----BEGIN PGP PUBLIC KEY BLOCK-----", 36));
        assert_null(strstr(arm, "PRIVATE"));
        _cleanup_strv_ char **fprs = NULL;
        assert_int_equal(ps_gpg_key_data_fingerprints(arm, len, "export", &fprs, NULL), 0);
        assert_string_equal(fprs[0], fpr);
        assert_null(fprs[1]);
        char *none = NULL;
        assert_int_equal(ps_gpgkey_export(home, "0123456789ABCDEF0123456789ABCDEF01234567", &none, NULL, &e), -ENOKEY);
        ps_error_clear(&e);

        /* the key signs with its passphrase, and the export verifies it */
        const char msg[] = "payload";
        ps_gpg_sign_opts so = { .homedir = home, .key = fpr, .passphrase = "s3cret pass" };
        void *sig = NULL;
        size_t siglen = 0;
        assert_int_equal(ps_gpg_sign(&so, msg, sizeof msg - 1, &sig, &siglen, NULL, NULL), 0);
        ps_gpg_verifier *v = NULL;
        assert_int_equal(ps_gpg_verifier_new(&v, NULL), 0);
        assert_int_equal(ps_gpg_verifier_add_key_data(v, arm, len, "export", NULL, NULL), 0);
        ps_gpg_verified res = { 0 };
        assert_int_equal(ps_gpg_verify(v, sig, siglen, &res, NULL), 0);
        assert_string_equal(res.fingerprint, fpr);
        assert_memory_equal(res.payload, msg, sizeof msg - 1);
        ps_gpg_verified_clear(&res);
        ps_gpg_verifier_free(v);
        free(sig);
        /* a wrong passphrase is refused (once the agent has forgotten the
         * right one) */
        assert_int_equal(ps_gpgkey_stop_agent(home, NULL), 0);
        so.passphrase = "wrong";
        assert_true(ps_gpg_sign(&so, msg, sizeof msg - 1, &sig, &siglen, NULL, &e) < 0);
        ps_error_clear(&e);

        /* gpg refuses a second key with the same user id (no duplicates
         * for podsec to choose from) */
        char *fpr2 = NULL;
        g.type = PS_GPGKEY_RSA2048;
        assert_true(ps_gpgkey_generate(&g, &fpr2, &e) < 0);
        assert_non_null(strstr(e.msg, "cannot generate a rsa2048 key for 'alice <alice@registry.local>'"));
        ps_error_clear(&e);
        g.uid = "Other Maker <other@registry.local>";
        assert_int_equal(ps_gpgkey_generate(&g, &fpr2, NULL), 0);
        ps_strv_free(found);
        assert_int_equal(ps_gpgkey_find_secret(home, uid, &found, NULL), 0);
        assert_string_equal(found[0], fpr);
        assert_null(found[1]);
        /* it is an RSA 2048 signing-only key without expiry */
        gpgme_ctx_t c = NULL;
        assert_int_equal(gpgme_new(&c), 0);
        assert_int_equal(gpgme_ctx_set_engine_info(c, GPGME_PROTOCOL_OpenPGP, NULL, home), 0);
        gpgme_key_t k = NULL;
        assert_int_equal(gpgme_get_key(c, fpr2, &k, 1), 0);
        assert_int_equal(k->subkeys->pubkey_algo, GPGME_PK_RSA);
        assert_int_equal(k->subkeys->length, 2048);
        assert_true(k->can_sign);
        assert_false(k->subkeys->can_encrypt);
        assert_int_equal(k->subkeys->expires, 0);
        assert_null(k->subkeys->next);
        gpgme_key_unref(k);
        gpgme_release(c);
        free(fpr2);
        free(fpr);

        /* the agent is stopped */
        assert_int_equal(ps_gpgkey_stop_agent(home, NULL), 0);
        _cleanup_free_ char *sock = NULL;
        const char *envv[2] = { NULL, NULL };
        _cleanup_free_ char *env = NULL;
        assert_true(asprintf(&env, "GNUPGHOME=%s", home) > 0);
        envv[0] = env;
        const char *argv[] = { "gpgconf", "--list-dirs", "agent-socket", NULL };
        ps_spawn_opts o = { .env = envv, .out = &sock };
        int status = -1;
        assert_int_equal(ps_spawn(argv, &o, &status, NULL), 0);
        assert_int_equal(status, 0);
        sock[strcspn(sock, "\n")] = '\0';
        struct stat st;
        assert_true(stat(sock, &st) < 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_types),
                cmocka_unit_test(test_uid_check),
                cmocka_unit_test(test_generate_export_sign),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
