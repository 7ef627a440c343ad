/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy distribution: names, nginx listings, sets, validation of keys and
 * key paths, the signed manifest (sign, verify, tamper), reading the
 * registry node's keys directory.  Keys are generated in a temporary
 * GNUPGHOME whose agent is stopped at the end. */
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
#include "fs.h"
#include "keysync.h"
#include "process.h"

#define KEYS "/var/sigstore/keys"

static struct {
        char *dir, *home;
        char *signer, *admin, *other;          /* fingerprints */
        char *signer_pub, *admin_pub, *other_pub; /* exported (armored / binary) */
        size_t signer_len, admin_len, other_len;
} K;

static int rm_entry(const char *p, const struct stat *sb, int t, struct FTW *f) { remove(p); return 0; }

static gpgme_ctx_t ctx_for(const char *home)
{
        gpgme_ctx_t c = NULL;
        assert_int_equal(gpgme_new(&c), 0);
        assert_int_equal(gpgme_set_protocol(c, GPGME_PROTOCOL_OpenPGP), 0);
        assert_int_equal(gpgme_ctx_set_engine_info(c, GPGME_PROTOCOL_OpenPGP, NULL, home), 0);
        return c;
}

static char *mkkey(const char *uid)
{
        gpgme_ctx_t c = ctx_for(K.home);
        gpgme_error_t e = gpgme_op_createkey(c, uid, "ed25519", 0, 0, NULL,
                                             GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE);
        if (e)
                fail_msg("createkey %s: %s", uid, gpgme_strerror(e));
        char *fpr = strdup(gpgme_op_genkey_result(c)->fpr);
        gpgme_release(c);
        return fpr;
}

static char *export_key(const char *fpr, bool armor, size_t *len)
{
        gpgme_ctx_t c = ctx_for(K.home);
        gpgme_set_armor(c, armor);
        gpgme_data_t d;
        assert_int_equal(gpgme_data_new(&d), 0);
        assert_int_equal(gpgme_op_export(c, fpr, 0, d), 0);
        size_t n = 0;
        char *mem = gpgme_data_release_and_get_mem(d, &n);
        assert_true(n > 0);
        char *copy = malloc(n + 1);
        memcpy(copy, mem, n);
        copy[n] = '\0';
        gpgme_free(mem);
        gpgme_release(c);
        *len = n;
        return copy;
}

static int group_setup(void **s)
{
        char t[] = "/tmp/podsec-kstest-XXXXXX";
        assert_non_null(mkdtemp(t));
        K.dir = strdup(t);
        K.home = ps_path_join(K.dir, "gnupg");
        assert_int_equal(mkdir(K.home, 0700), 0);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_gpg_init(&err), 0);
        K.signer = mkkey("Image Maker <imk@example.test>");
        K.admin = mkkey("Policy Admin <admin@example.test>");
        K.other = mkkey("Someone Else <other@example.test>");
        K.signer_pub = export_key(K.signer, true, &K.signer_len);
        K.admin_pub = export_key(K.admin, false, &K.admin_len);
        K.other_pub = export_key(K.other, false, &K.other_len);
        return 0;
}

static int group_teardown(void **s)
{
        const char *argv[] = { "gpgconf", "--homedir", K.home, "--kill", "all", NULL };
        int st = 0;
        ps_spawn(argv, &(ps_spawn_opts){ .quiet = 1 }, &st, NULL);
        nftw(K.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(K.dir);
        free(K.home);
        free(K.signer);
        free(K.admin);
        free(K.other);
        free(K.signer_pub);
        free(K.admin_pub);
        free(K.other_pub);
        return 0;
}

/* ---- names --------------------------------------------------------------- */

static void test_names(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_ks_kind k;
        assert_int_equal(ps_keysync_name_check("imk.pgp", &k, &err), 0);
        assert_int_equal(k, PS_KS_KEY);
        assert_int_equal(ps_keysync_name_check("policy.json", &k, &err), 0);
        assert_int_equal(k, PS_KS_POLICY);
        assert_int_equal(ps_keysync_name_check("policy.json.sig", &k, &err), 0);
        assert_int_equal(k, PS_KS_SIG);
        assert_int_equal(ps_keysync_name_check("A-b_c.9.pgp", &k, &err), 0);

        char longname[300];
        memset(longname, 'a', sizeof longname);
        strcpy(longname + 251, ".pgp");   /* 255 bytes: allowed */
        assert_int_equal(ps_keysync_name_check(longname, NULL, &err), 0);
        memset(longname, 'a', sizeof longname);
        strcpy(longname + 252, ".pgp");   /* 256 */
        assert_int_equal(ps_keysync_name_check(longname, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "longer than 255"));
        ps_error_clear(&err);

        static const struct { const char *name, *why; } bad[] = {
                { "", "empty" },
                { "../x.pgp", "starts with '.'" },
                { "a/../../etc/x.pgp", "not a plain file name" },
                { "/etc/passwd", "not a plain file name" },
                { "sub/x.pgp", "'/' is not" },
                { ".hidden.pgp", "starts with '.'" },
                { "..", "starts with '.'" },
                { "a b.pgp", "not a plain file name" },
                { "a\nb.pgp", "a\\x0ab.pgp" },
                { "caf\xc3\xa9.pgp", "not a plain file name" },
                { "README", "neither a key" },
                { ".pgp", "starts with '.'" },
                { "x.asc", "neither a key" },
                { "policy.json.bak", "neither a key" },
                { "x.pgp.sig", "neither a key" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                if (ps_keysync_name_check(bad[i].name, NULL, &err) != -EINVAL)
                        fail_msg("'%s' accepted", bad[i].name);
                if (!strstr(err.msg, bad[i].why))
                        fail_msg("'%s': message '%s' lacks '%s'", bad[i].name, err.msg, bad[i].why);
                ps_error_clear(&err);
        }
}

/* ---- listings --------------------------------------------------------------- */

static const char nginx_listing[] =
        "[\n"
        "{ \"name\":\"imk.pgp\", \"type\":\"file\", \"mtime\":\"Fri, 27 Nov 2026 11:04:52 GMT\", \"size\":664 },\n"
        "{ \"name\":\"policy.json\", \"type\":\"file\", \"mtime\":\"Fri, 27 Nov 2026 11:04:52 GMT\", \"size\":300 },\n"
        "{ \"name\":\"policy.json.sig\", \"type\":\"file\", \"mtime\":\"Fri, 27 Nov 2026 11:04:52 GMT\", \"size\":400 }\n"
        "]\n";

static void test_listing(void **state)
{
        ps_error err = PS_ERROR_INIT;
        char **names = NULL;
        assert_int_equal(ps_keysync_parse_listing(nginx_listing, strlen(nginx_listing), "L", &names, &err), 0);
        assert_string_equal(names[0], "imk.pgp");
        assert_string_equal(names[1], "policy.json");
        assert_string_equal(names[2], "policy.json.sig");
        assert_null(names[3]);
        ps_strv_free(names);

        static const struct { const char *text, *why; int code; } bad[] = {
                { "", "not a JSON directory listing", EINVAL },
                { "<html>index</html>", "not a JSON directory listing", EINVAL },
                { "{}", "not a JSON array", EINVAL },
                { "[]", "does not list policy.json", EINVAL },
                { "[{\"name\":\"a.pgp\",\"type\":\"file\"}]", "does not list policy.json", EINVAL },
                { "[1]", "entry 1 has no \"name\"", EINVAL },
                { "[{\"type\":\"file\"}]", "no \"name\"", EINVAL },
                { "[{\"name\":\"policy.json\",\"name\":\"x.pgp\",\"type\":\"file\"}]", "not a JSON directory", EINVAL },
                { "[{\"name\":\"../../etc/shadow\",\"type\":\"file\"}]", "starts with '.'", EINVAL },
                { "[{\"name\":\"keys/x.pgp\",\"type\":\"file\"}]", "not a plain file name", EINVAL },
                { "[{\"name\":\".x.pgp\",\"type\":\"file\"}]", "starts with '.'", EINVAL },
                { "[{\"name\":\"a\\u0000b.pgp\",\"type\":\"file\"}]", "not a JSON directory listing", EINVAL },
                { "[{\"name\":\"sub.pgp\",\"type\":\"directory\"}]", "is a 'directory', not a file", EINVAL },
                { "[{\"name\":\"x.pgp\"}]", "without a type", EINVAL },
                { "[{\"name\":\"policy.json\",\"type\":\"file\"},{\"name\":\"policy.json\",\"type\":\"file\"}]",
                  "twice", EINVAL },
                { "[{\"name\":\"index.html\",\"type\":\"file\"}]", "neither a key", EINVAL },
        };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                names = NULL;
                int r = ps_keysync_parse_listing(bad[i].text, strlen(bad[i].text), "http://x/keys/", &names, &err);
                if (r != -bad[i].code)
                        fail_msg("listing %zu: %d", i, r);
                assert_null(names);
                if (!strstr(err.msg, bad[i].why))
                        fail_msg("listing %zu: message '%s' lacks '%s'", i, err.msg, bad[i].why);
                assert_non_null(strstr(err.msg, "http://x/keys/"));
                ps_error_clear(&err);
        }

        /* too many entries */
        size_t n = PS_KEYSYNC_MAX_FILES + 1;
        char *big = malloc(n * 48 + 16), *p = big;
        p += sprintf(p, "[");
        for (size_t i = 0; i < n; i++)
                p += sprintf(p, "%s{\"name\":\"k%zu.pgp\",\"type\":\"file\"}", i ? "," : "", i);
        sprintf(p, "]");
        assert_int_equal(ps_keysync_parse_listing(big, strlen(big), "L", &names, &err), -EFBIG);
        ps_error_clear(&err);
        free(big);
}

/* ---- sets and validation ------------------------------------------------------ */

static char *policy_for(const char *const *keypaths)
{
        char *s = strdup("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{");
        for (size_t i = 0; keypaths && keypaths[i]; i++) {
                char *n = NULL;
                assert_true(asprintf(&n, "%s%s\"registry.local/s%zu\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\","
                                     "\"keyPath\":\"%s\"}]", s, i ? "," : "", i, keypaths[i]) > 0);
                free(s);
                s = n;
        }
        char *n = NULL;
        assert_true(asprintf(&n, "%s}}}\n", s) > 0);
        free(s);
        return n;
}

static void add(ps_ks_set *s, const char *name, const char *data, size_t len)
{
        ps_error err = PS_ERROR_INIT;
        if (ps_ks_set_add(s, name, data, len, &err) < 0)
                fail_msg("add %s: %s", name, err.msg);
}

static void test_set_add(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_ks_set s = { 0 };
        add(&s, "policy.json", "{}", 2);
        add(&s, "b.pgp", "b", 1);
        add(&s, "a.pgp", "a", 1);
        assert_int_equal(s.n, 3);
        assert_string_equal(s.files[0].name, "a.pgp");
        assert_string_equal(s.files[1].name, "b.pgp");
        assert_string_equal(s.files[2].name, "policy.json");
        assert_int_equal(s.total, 4);
        assert_int_equal(ps_ks_set_add(&s, "a.pgp", "x", 1, &err), -EEXIST);
        ps_error_clear(&err);
        assert_int_equal(ps_ks_set_add(&s, "../a.pgp", "x", 1, &err), -EINVAL);
        ps_error_clear(&err);
        char *big = calloc(1, PS_KEYSYNC_KEY_MAX + 1);
        assert_int_equal(ps_ks_set_add(&s, "big.pgp", big, PS_KEYSYNC_KEY_MAX + 1, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "too large"));
        ps_error_clear(&err);
        free(big);
        assert_non_null(ps_ks_set_get(&s, "b.pgp"));
        assert_null(ps_ks_set_get(&s, "c.pgp"));
        ps_ks_set_clear(&s);
        assert_int_equal(s.n, 0);
}

static void make_set(ps_ks_set *s, const char *policy)
{
        memset(s, 0, sizeof *s);
        add(s, "imk.pgp", K.signer_pub, K.signer_len);
        add(s, "admin.pgp", K.admin_pub, K.admin_len);
        add(s, "policy.json", policy, strlen(policy));
}

static void test_validate(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_ks_set s;
        const char *good_paths[] = { KEYS "/imk.pgp", KEYS "/admin.pgp", NULL };
        char *good = policy_for(good_paths);
        make_set(&s, good);
        assert_int_equal(ps_keysync_validate(&s, KEYS "/", &err), 0);
        const ps_ks_file *f = ps_ks_set_get(&s, "imk.pgp");
        assert_non_null(f->fprs);
        assert_string_equal(f->fprs[0], K.signer);
        assert_null(f->fprs[1]);
        ps_ks_set_clear(&s);

        /* keyPaths list, keyData, other transports */
        const char *multi =
                "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"registry.local\":[{\"type\":"
                "\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"" KEYS "/imk.pgp\",\"" KEYS "/admin.pgp\"]}],"
                "\"registry.local/x\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"aGVsbG8=\"}]},"
                "\"oci\":{\"\":[{\"type\":\"insecureAcceptAnything\"}]}}}";
        make_set(&s, multi);
        assert_int_equal(ps_keysync_validate(&s, KEYS, &err), 0);
        ps_ks_set_clear(&s);

        static const struct { const char *path, *why; } badpaths[] = {
                { KEYS "/missing.pgp", "not among the published keys" },
                { KEYS "/policy.json", "which is not a key" },
                { "/etc/passwd", "which is not in " KEYS "/" },
                { KEYS "/../keys/imk.pgp", "not among the published keys" },
                { "/var/sigstore/keysx/imk.pgp", "which is not in" },
                { KEYS "/sub/imk.pgp", "not among" },
        };
        for (size_t i = 0; i < sizeof badpaths / sizeof *badpaths; i++) {
                const char *paths[] = { KEYS "/imk.pgp", badpaths[i].path, NULL };
                char *pol = policy_for(paths);
                make_set(&s, pol);
                int r = ps_keysync_validate(&s, KEYS, &err);
                if (r != -ENOKEY)
                        fail_msg("%s: %d %s", badpaths[i].path, r, err.msg);
                if (!strstr(err.msg, badpaths[i].why) || !strstr(err.msg, "transports.docker.\"registry.local/s1\""))
                        fail_msg("%s: message '%s'", badpaths[i].path, err.msg);
                ps_error_clear(&err);
                ps_ks_set_clear(&s);
                free(pol);
        }

        /* a key path in the default */
        const char *defkey = "{\"default\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/tmp/x.pgp\"}]}";
        make_set(&s, defkey);
        assert_int_equal(ps_keysync_validate(&s, KEYS, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "default[0]"));
        ps_error_clear(&err);
        ps_ks_set_clear(&s);

        /* policies that do not parse (strict) */
        const char *badpol[] = { "{", "{\"default\":[]}", "{\"default\":[{\"type\":\"reject\"}],\"x\":1}",
                                 "{\"default\":[{\"type\":\"reject\"}],\"default\":[{\"type\":\"reject\"}]}",
                                 "[]", "" };
        for (size_t i = 0; i < sizeof badpol / sizeof *badpol; i++) {
                make_set(&s, badpol[i]);
                int r = ps_keysync_validate(&s, KEYS, &err);
                assert_true(r < 0);
                if (!strstr(err.msg, "policy.json is not a valid policy"))
                        fail_msg("policy %zu: %s", i, err.msg);
                ps_error_clear(&err);
                ps_ks_set_clear(&s);
        }

        /* no policy at all */
        memset(&s, 0, sizeof s);
        add(&s, "imk.pgp", K.signer_pub, K.signer_len);
        assert_int_equal(ps_keysync_validate(&s, KEYS, &err), -ENOENT);
        ps_error_clear(&err);
        ps_ks_set_clear(&s);

        /* a key file that is not OpenPGP */
        make_set(&s, good);
        ps_ks_set t = { 0 };
        add(&t, "imk.pgp", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n", 81);
        add(&t, "admin.pgp", K.admin_pub, K.admin_len);
        add(&t, "policy.json", good, strlen(good));
        int r = ps_keysync_validate(&t, KEYS, &err);
        assert_true(r < 0);
        assert_non_null(strstr(err.msg, "key file imk.pgp is not an OpenPGP public key"));
        ps_error_clear(&err);
        ps_ks_set_clear(&t);
        ps_ks_set_clear(&s);

        /* an empty key file */
        add(&t, "imk.pgp", "", 0);
        add(&t, "admin.pgp", K.admin_pub, K.admin_len);
        add(&t, "policy.json", good, strlen(good));
        assert_true(ps_keysync_validate(&t, KEYS, &err) < 0);
        assert_non_null(strstr(err.msg, "imk.pgp"));
        ps_error_clear(&err);
        ps_ks_set_clear(&t);
        free(good);
}

/* ---- manifest, sign, verify ------------------------------------------------------ */

static void sign_set(ps_ks_set *s, const char *key)
{
        ps_error err = PS_ERROR_INIT;
        ps_gpg_sign_opts o = { .homedir = K.home, .key = key };
        void *sig = NULL;
        size_t siglen = 0;
        char *fpr = NULL;
        if (ps_keysync_sign(&o, s, &sig, &siglen, &fpr, &err) < 0)
                fail_msg("sign: %s", err.msg);
        assert_string_equal(fpr, key);
        free(fpr);
        add(s, "policy.json.sig", sig, siglen);
        free(sig);
}

static void test_manifest(void **state)
{
        ps_ks_set s = { 0 };
        add(&s, "policy.json", "{}\n", 3);
        add(&s, "a.pgp", "A", 1);
        add(&s, "policy.json.sig", "ignored", 7);
        size_t len = 0;
        char *m = ps_keysync_manifest(&s, &len);
        assert_non_null(m);
        assert_int_equal(len, strlen(m));
        /* sha256("A") and sha256("{}\n") */
        assert_string_equal(m,
                            "{\n"
                            "  \"files\": {\n"
                            "    \"a.pgp\": \"sha256:559aead08264d5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd\",\n"
                            "    \"policy.json\": \"sha256:ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356\"\n"
                            "  },\n"
                            "  \"type\": \"podsec-policy-distribution\",\n"
                            "  \"version\": 1\n"
                            "}\n");
        free(m);
        ps_ks_set_clear(&s);
}

static void test_sign_verify(void **state)
{
        ps_error err = PS_ERROR_INIT;
        const char *paths[] = { KEYS "/imk.pgp", NULL };
        char *pol = policy_for(paths);
        ps_ks_set s;
        make_set(&s, pol);
        sign_set(&s, K.admin);
        ps_ks_verified v;
        if (ps_keysync_verify(&s, K.admin_pub, K.admin_len, "trust.pgp", &v, &err) < 0)
                fail_msg("verify: %s", err.msg);
        assert_string_equal(v.fingerprint, K.admin);
        assert_true(v.sig_time > 1600000000);
        ps_ks_verified_clear(&v);

        /* the wrong trust key */
        int r = ps_keysync_verify(&s, K.other_pub, K.other_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EKEYREJECTED);
        assert_non_null(strstr(err.msg, "policy.json.sig"));
        assert_null(v.fingerprint);
        ps_error_clear(&err);

        /* a trust file that is no key */
        r = ps_keysync_verify(&s, "junk", 4, "trust.pgp", &v, &err);
        assert_true(r < 0);
        assert_non_null(strstr(err.msg, "trust.pgp"));
        ps_error_clear(&err);

        /* a tampered policy (one byte) */
        ps_ks_set t = { 0 };
        char *pol2 = strdup(pol);
        pol2[strlen(pol2) - 2] = ' ';
        for (size_t i = 0; i < s.n; i++)
                add(&t, s.files[i].name, strcmp(s.files[i].name, "policy.json") ? s.files[i].data : pol2,
                    strcmp(s.files[i].name, "policy.json") ? s.files[i].len : strlen(pol2));
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err.msg, "policy.json differs from the signed version"));
        ps_error_clear(&err);
        ps_ks_set_clear(&t);
        free(pol2);

        /* a swapped key file */
        for (size_t i = 0; i < s.n; i++)
                add(&t, s.files[i].name, strcmp(s.files[i].name, "imk.pgp") ? s.files[i].data : K.other_pub,
                    strcmp(s.files[i].name, "imk.pgp") ? s.files[i].len : K.other_len);
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err.msg, "imk.pgp differs"));
        ps_error_clear(&err);
        ps_ks_set_clear(&t);

        /* a planted extra key */
        for (size_t i = 0; i < s.n; i++)
                add(&t, s.files[i].name, s.files[i].data, s.files[i].len);
        add(&t, "planted.pgp", K.other_pub, K.other_len);
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err.msg, "planted.pgp is not covered by the signature"));
        ps_error_clear(&err);
        ps_ks_set_clear(&t);

        /* a key withheld */
        for (size_t i = 0; i < s.n; i++)
                if (strcmp(s.files[i].name, "admin.pgp"))
                        add(&t, s.files[i].name, s.files[i].data, s.files[i].len);
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err.msg, "covers admin.pgp, which is missing"));
        ps_error_clear(&err);
        ps_ks_set_clear(&t);

        /* signed by another key (in the same keyring) */
        for (size_t i = 0; i < s.n; i++)
                if (s.files[i].kind != PS_KS_SIG)
                        add(&t, s.files[i].name, s.files[i].data, s.files[i].len);
        sign_set(&t, K.other);
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EKEYREJECTED);
        ps_error_clear(&err);
        ps_ks_set_clear(&t);

        /* no signature */
        for (size_t i = 0; i < s.n; i++)
                if (s.files[i].kind != PS_KS_SIG)
                        add(&t, s.files[i].name, s.files[i].data, s.files[i].len);
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -ENOENT);
        assert_non_null(strstr(err.msg, "podsec policy sign"));
        ps_error_clear(&err);

        /* garbage as the signature */
        add(&t, "policy.json.sig", "garbage", 7);
        r = ps_keysync_verify(&t, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
        assert_int_equal(r, -EBADMSG);
        ps_error_clear(&err);
        ps_ks_set_clear(&t);

        ps_ks_set_clear(&s);
        free(pol);
}

/* a validly signed payload that is not a manifest */
static void test_not_a_manifest(void **state)
{
        ps_error err = PS_ERROR_INIT;
        static const char *payloads[] = {
                "not json",
                "[]",
                "{\"type\":\"atomic container signature\",\"version\":1,\"files\":{}}",
                "{\"type\":\"podsec-policy-distribution\",\"version\":2,\"files\":{}}",
                "{\"type\":\"podsec-policy-distribution\",\"version\":1,\"files\":{},\"extra\":1}",
                "{\"type\":\"podsec-policy-distribution\",\"version\":1,\"files\":{\"policy.json\":1}}",
                "{\"type\":\"podsec-policy-distribution\",\"version\":1,\"files\":{\"policy.json\":\"sha256:00\","
                "\"policy.json\":\"sha256:00\"}}",
                "{\"type\":\"podsec-policy-distribution\",\"version\":1,\"files\":{\"../x.pgp\":\"sha256:"
                "0000000000000000000000000000000000000000000000000000000000000000\"}}",
        };
        static const char *why[] = { "not JSON", "not a podsec policy manifest", "not a podsec policy manifest",
                                     "version 2", "unknown field \"extra\"", "invalid entry for 'policy.json'",
                                     "not JSON", "invalid entry for '../x.pgp'" };
        for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++) {
                ps_gpg_sign_opts o = { .homedir = K.home, .key = K.admin };
                void *sig = NULL;
                size_t siglen = 0;
                assert_int_equal(ps_gpg_sign(&o, payloads[i], strlen(payloads[i]), &sig, &siglen, NULL, &err), 0);
                ps_ks_set s = { 0 };
                add(&s, "policy.json", "{}", 2);
                add(&s, "policy.json.sig", sig, siglen);
                free(sig);
                ps_ks_verified v;
                int r = ps_keysync_verify(&s, K.admin_pub, K.admin_len, "trust.pgp", &v, &err);
                assert_int_equal(r, -EBADMSG);
                if (!strstr(err.msg, why[i]))
                        fail_msg("payload %zu: '%s' lacks '%s'", i, err.msg, why[i]);
                ps_error_clear(&err);
                ps_ks_set_clear(&s);
        }
}

/* ---- reading the registry node's directory ------------------------------------- */

static void put(const char *dir, const char *name, const char *data)
{
        char *p = ps_path_join(dir, name);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_write_atomic(p, data, strlen(data), 0644, &err), 0);
        free(p);
}

static void test_read_dir(void **state)
{
        ps_error err = PS_ERROR_INIT;
        char *d = ps_path_join(K.dir, "keys");
        assert_int_equal(mkdir(d, 0755), 0);
        put(d, "policy.json", "{}");
        put(d, "imk.pgp", "key");
        put(d, ".policy.json.Ab12Cd", "a temporary file");
        ps_ks_set s = { 0 };
        assert_int_equal(ps_keysync_read_dir(d, &s, &err), 0);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.files[0].name, "imk.pgp");
        assert_string_equal(s.files[0].data, "key");
        ps_ks_set_clear(&s);

        put(d, "notes.txt", "x");
        assert_int_equal(ps_keysync_read_dir(d, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "notes.txt"));
        ps_error_clear(&err);
        ps_ks_set_clear(&s);
        char *p = ps_path_join(d, "notes.txt");
        unlink(p);
        free(p);

        p = ps_path_join(d, "link.pgp");
        assert_int_equal(symlink("imk.pgp", p), 0);
        assert_int_equal(ps_keysync_read_dir(d, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "symbolic link"));
        ps_error_clear(&err);
        ps_ks_set_clear(&s);
        unlink(p);
        free(p);

        p = ps_path_join(d, "dir.pgp");
        assert_int_equal(mkdir(p, 0755), 0);
        assert_int_equal(ps_keysync_read_dir(d, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a regular file"));
        ps_error_clear(&err);
        ps_ks_set_clear(&s);
        rmdir(p);
        free(p);

        assert_int_equal(ps_keysync_read_dir("/nonexistent/podsec", &s, &err), -ENOENT);
        ps_error_clear(&err);
        free(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_listing),
                cmocka_unit_test(test_set_add),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_manifest),
                cmocka_unit_test(test_sign_verify),
                cmocka_unit_test(test_not_a_manifest),
                cmocka_unit_test(test_read_dir),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
