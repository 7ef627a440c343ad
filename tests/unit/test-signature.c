/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Simple-signing payloads: the parser against a table of valid and invalid
 * documents (rules of c/image signature/simple.go), the builder, digests,
 * and signing/verifying manifests (a fixture made by skopeo 1.9.3
 * standalone-sign, and a round trip with a key generated here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <gpgme.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cleanup.h"
#include "config.h"
#include "fs.h"
#include "gpg.h"
#include "process.h"
#include "signature.h"

#define D64 "6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a06f535a4757146e3576c"
#define CRIT "{\"identity\":{\"docker-reference\":\"registry.local/c10f/pause:3.9\"}," \
             "\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},\"type\":\"atomic container signature\"}"

static char *fixture(const char *name, size_t *len)
{
        const char *dir = getenv("PODSEC_FIXTURES");
        assert_non_null(dir);
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/signature/%s", dir, name) > 0);
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(p, 1 << 20, &buf, len, &err) < 0)
                fail_msg("%s", ps_error_msg(&err));
        return buf;
}

static char *fixture_path(const char *name)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s/signature/%s", getenv("PODSEC_FIXTURES"), name) > 0);
        return p;
}

static char *fixture_line(const char *name)
{
        size_t len = 0;
        char *s = fixture(name, &len);
        s[strcspn(s, "\r\n")] = '\0';
        return s;
}

/* ---- payload table ------------------------------------------------------ */

typedef struct pcase {
        const char *json;
        const char *error;   /* NULL: valid; else a substring of the message */
} pcase;

static const pcase cases[] = {
        /* valid */
        { "{\"critical\":" CRIT ",\"optional\":{}}", NULL },
        { "{\"optional\":{\"timestamp\":1,\"creator\":\"x\"},\"critical\":" CRIT "}", NULL },
        { "{\"critical\":" CRIT ",\"optional\":{\"foo\":[1,{\"x\":null}],\"bar\":\"baz\",\"creator\":\"x\"}}", NULL },
        { "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":1.7e9}}", NULL },
        { "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":null,\"creator\":null}}", NULL },
        { " \n{\"critical\":" CRIT ",\"optional\":{}}\n ", NULL },
        { "{\"critical\":{\"type\":\"atomic container signature\",\"identity\":{\"docker-reference\":\"x\"},"
          "\"image\":{\"docker-manifest-digest\":\"sha512:" D64 D64 "\"}},\"optional\":{}}", NULL },
        /* not JSON / wrong shape */
        { "", "invalid signature payload" },
        { "not json", "invalid signature payload" },
        { "{\"critical\":" CRIT ",\"optional\":{}} x", "invalid signature payload" },
        { "{\"critical\":" CRIT ",\"optional\":{}}{}", "invalid signature payload" },
        { "[]", "top-level object is not a JSON object" },
        { "{\"critical\":" CRIT "}", "member \"optional\" missing" },
        { "{\"optional\":{}}", "member \"critical\" missing" },
        { "{\"critical\":" CRIT ",\"optional\":{},\"extra\":1}", "unknown member \"extra\"" },
        { "{\"critical\":" CRIT ",\"optional\":null}", "\"optional\" is not a JSON object" },
        { "{\"critical\":" CRIT ",\"optional\":[]}", "\"optional\" is not a JSON object" },
        { "{\"critical\":null,\"optional\":{}}", "\"critical\" is not a JSON object" },
        { "{\"critical\":\"x\",\"optional\":{}}", "\"critical\" is not a JSON object" },
        /* strict critical */
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"},\"type\":\"atomic container signature\",\"extra\":{}},\"optional\":{}}", "unknown member \"extra\" in \"critical\"" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\",\"x\":1},\"type\":\"atomic container signature\"},\"optional\":{}}", "unknown member \"x\" in critical.image" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\",\"y\":\"z\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"},\"type\":\"atomic container signature\"},\"optional\":{}}", "unknown member \"y\" in critical.identity" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"}},\"optional\":{}}", "member \"type\" missing" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"type\":\"atomic container signature\"},\"optional\":{}}",
          "member \"image\" missing" },
        { "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},\"type\":\"atomic container signature\"},"
          "\"optional\":{}}", "member \"identity\" missing" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{},\"type\":\"atomic container signature\"},"
          "\"optional\":{}}", "member \"docker-manifest-digest\" missing" },
        { "{\"critical\":{\"identity\":{},\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "member \"docker-reference\" missing" },
        { "{\"critical\":{\"identity\":[],\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "critical.identity is not a JSON object" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":\"sha256:" D64 "\","
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "critical.image is not a JSON object" },
        /* type */
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"},\"type\":\"cosign container image signature\"},\"optional\":{}}", "unrecognized signature type" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"},\"type\":\"Atomic container signature\"},\"optional\":{}}", "unrecognized signature type" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"},\"type\":1},\"optional\":{}}", "critical.type is not a string" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64
          "\"},\"type\":null},\"optional\":{}}", "critical.type is not a string" },
        /* digest */
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":1},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "docker-manifest-digest is not a string" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:ABCD\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid docker-manifest-digest" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":"
          "\"sha256:6EEBDBD687DC423174E621CC069797FDD6D9AF4F6D7A06F535A4757146E3576C\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid docker-manifest-digest" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "0\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid docker-manifest-digest" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"md5:" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid docker-manifest-digest" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid docker-manifest-digest" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"r\"},\"image\":{\"docker-manifest-digest\":\"sha256:../../" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid docker-manifest-digest" },
        /* reference */
        { "{\"critical\":{\"identity\":{\"docker-reference\":1},\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "docker-reference is not a string" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":null},\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},"
          "\"type\":\"atomic container signature\"},\"optional\":{}}", "docker-reference is not a string" },
        /* duplicates, anywhere */
        { "{\"critical\":" CRIT ",\"critical\":" CRIT ",\"optional\":{}}", "duplicate" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"a\",\"docker-reference\":\"b\"},\"image\":{\"docker-manifest-digest\":"
          "\"sha256:" D64 "\"},\"type\":\"atomic container signature\"},\"optional\":{}}", "duplicate" },
        { "{\"critical\":{\"type\":\"x\",\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":"
          "\"sha256:" D64 "\"},\"type\":\"atomic container signature\"},\"optional\":{}}", "duplicate" },
        { "{\"critical\":" CRIT ",\"optional\":{\"creator\":\"a\",\"creator\":\"b\"}}", "duplicate" },
        { "{\"critical\":" CRIT ",\"optional\":{\"x\":{\"y\":1,\"y\":2}}}", "duplicate" },
        /* optional types */
        { "{\"critical\":" CRIT ",\"optional\":{\"creator\":1}}", "optional.creator is not a string" },
        { "{\"critical\":" CRIT ",\"optional\":{\"creator\":{}}}", "optional.creator is not a string" },
        { "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":\"1\"}}", "optional.timestamp is not a number" },
        { "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":true}}", "optional.timestamp is not a number" },
        { "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":1.5}}", "optional.timestamp is not an integer" },
        { "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":1e300}}", "optional.timestamp is not an integer" },
        /* encoding */
        { "{\"critical\":" CRIT ",\"optional\":{\"creator\":\"\xff\"}}", "invalid signature payload" },
        { "{\"critical\":{\"identity\":{\"docker-reference\":\"a\\u0000b\"},\"image\":{\"docker-manifest-digest\":"
          "\"sha256:" D64 "\"},\"type\":\"atomic container signature\"},\"optional\":{}}", "invalid signature payload" },
};

static void test_payload_table(void **s)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                ps_sig_payload p;
                ps_error err = PS_ERROR_INIT;
                int r = ps_sig_payload_parse(cases[i].json, strlen(cases[i].json), &p, &err);
                if (!cases[i].error) {
                        if (r != 0)
                                fail_msg("case %zu should parse: %s\n  %s", i, ps_error_msg(&err), cases[i].json);
                        assert_non_null(p.docker_reference);
                        assert_non_null(p.manifest_digest);
                        ps_sig_payload_clear(&p);
                } else {
                        if (r != -EBADMSG)
                                fail_msg("case %zu should fail with EBADMSG (got %d)\n  %s", i, r, cases[i].json);
                        if (!strstr(ps_error_msg(&err), cases[i].error))
                                fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, ps_error_msg(&err),
                                         cases[i].error);
                        assert_null(p.docker_reference);
                }
                ps_error_clear(&err);
        }
}

static void test_payload_fields(void **s)
{
        size_t len = 0;
        _cleanup_free_ char *json = fixture("skopeo.payload.json", &len);
        ps_sig_payload p;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_sig_payload_parse(json, len, &p, &err), 0);
        assert_string_equal(p.docker_reference, "registry.local/c10f/pause:3.9");
        assert_string_equal(p.manifest_digest, "sha256:" D64);
        assert_string_equal(p.creator, "atomic 5.23.1");
        assert_true(p.has_timestamp);
        assert_true(p.timestamp > 1700000000);
        ps_sig_payload_clear(&p);

        const char *j = "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":1.7e9,\"creator\":null}}";
        assert_int_equal(ps_sig_payload_parse(j, strlen(j), &p, &err), 0);
        assert_true(p.has_timestamp);
        assert_int_equal(p.timestamp, 1700000000);
        assert_null(p.creator);
        ps_sig_payload_clear(&p);
        j = "{\"critical\":" CRIT ",\"optional\":{}}";
        assert_int_equal(ps_sig_payload_parse(j, strlen(j), &p, &err), 0);
        assert_false(p.has_timestamp);
        assert_null(p.creator);
        ps_sig_payload_clear(&p);
        j = "{\"critical\":" CRIT ",\"optional\":{\"timestamp\":-5}}";
        assert_int_equal(ps_sig_payload_parse(j, strlen(j), &p, &err), 0);
        assert_int_equal(p.timestamp, -5);
        ps_sig_payload_clear(&p);
        /* oversized input */
        assert_int_equal(ps_sig_payload_parse(j, PS_SIG_PAYLOAD_MAX + 1, &p, &err), -EBADMSG);
        ps_error_clear(&err);
}

static void test_build(void **s)
{
        char *out = NULL;
        size_t len = 0;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_sig_payload_build("registry.local/c10f/pause:3.9", "sha256:" D64, "podsec 0.1.0",
                                              1795777492, &out, &len, &err), 0);
        assert_string_equal(out, "{\"critical\":{\"identity\":{\"docker-reference\":\"registry.local/c10f/pause:3.9\"},"
                                 "\"image\":{\"docker-manifest-digest\":\"sha256:" D64 "\"},"
                                 "\"type\":\"atomic container signature\"},"
                                 "\"optional\":{\"creator\":\"podsec 0.1.0\",\"timestamp\":1795777492}}");
        assert_int_equal(len, strlen(out));
        ps_sig_payload p;
        assert_int_equal(ps_sig_payload_parse(out, len, &p, &err), 0);
        assert_int_equal(p.timestamp, 1795777492);
        ps_sig_payload_clear(&p);
        free(out);
        /* defaults: creator "podsec VERSION", timestamp now */
        time_t now = time(NULL);
        assert_int_equal(ps_sig_payload_build("127.0.0.1:5000/probe/busybox@sha256:" D64, "sha256:" D64, NULL, -1,
                                              &out, &len, &err), 0);
        assert_int_equal(ps_sig_payload_parse(out, len, &p, &err), 0);
        assert_string_equal(p.creator, "podsec " PODSEC_VERSION);
        assert_true(p.timestamp >= now && p.timestamp <= now + 5);
        ps_sig_payload_clear(&p);
        free(out);
        /* refused inputs */
        const char *bad_refs[] = { "busybox", "library/busybox:1", "busybox:latest", "", "registry.local",
                                   "registry.local/C10f/pause", "registry.local/c10f/pause:", "registry.local/c10f/pause:-x",
                                   "registry.local//pause", "registry.local/c10f/pause@sha256:abc", "-bad.host/x",
                                   "host..local/x", "registry.local:/x", "registry.local/a__-b", "registry.local/a/",
                                   "registry.local/a b" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad_refs); i++) {
                out = NULL;
                int r = ps_sig_payload_build(bad_refs[i], "sha256:" D64, NULL, -1, &out, &len, &err);
                if (r != -EINVAL)
                        fail_msg("reference \"%s\" should be refused (got %d)", bad_refs[i], r);
                assert_null(out);
                ps_error_clear(&err);
        }
        const char *good_refs[] = { "registry.local/c10f/pause:3.9", "localhost/a", "localhost:5000/a/b_c/d__e/f-g--h.i:T_1.2-3",
                                    "docker.io/library/busybox:latest", "127.0.0.1:5000/probe/busybox",
                                    "Registry.Example.COM/x@sha256:" D64, "r.io/x:tag@sha256:" D64 };
        for (size_t i = 0; i < PS_ARRAY_SIZE(good_refs); i++) {
                if (ps_sig_reference_check(good_refs[i], &err) != 0)
                        fail_msg("reference \"%s\" should be accepted: %s", good_refs[i], ps_error_msg(&err));
        }
        assert_int_equal(ps_sig_payload_build("registry.local/x", "sha256:" D64 "0", NULL, -1, &out, &len, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_sig_payload_build("registry.local/x", "sha256:xyz", NULL, -1, &out, &len, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "sha256:xyz"));
        ps_error_clear(&err);
        assert_int_equal(ps_sig_payload_build("registry.local/x", "sha256:" D64, "bad\xff", -1, &out, &len, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_digest(void **s)
{
        assert_true(ps_sig_digest_valid("sha256:" D64));
        assert_true(ps_sig_digest_valid("sha384:" D64 "0123456789abcdef0123456789abcdef"));
        assert_true(ps_sig_digest_valid("sha512:" D64 D64));
        assert_false(ps_sig_digest_valid("sha256:" D64 "a"));
        assert_false(ps_sig_digest_valid("sha512:" D64));
        assert_false(ps_sig_digest_valid("SHA256:" D64));
        assert_false(ps_sig_digest_valid("sha256" D64));
        assert_false(ps_sig_digest_valid(""));
        assert_false(ps_sig_digest_valid(NULL));

        size_t len = 0;
        _cleanup_free_ char *m = fixture("manifest.json", &len);
        _cleanup_free_ char *d = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_sig_manifest_digest(m, len, &d, &err), 0);
        assert_string_equal(d, "sha256:" D64);
        const char *s1 = "{\"schemaVersion\":1,\"name\":\"x\",\"signatures\":[{}]}";
        char *d1 = NULL;
        assert_int_equal(ps_sig_manifest_digest(s1, strlen(s1), &d1, &err), -ENOTSUP);
        ps_error_clear(&err);
        /* non-JSON bytes are just hashed */
        assert_int_equal(ps_sig_manifest_digest("", 0, &d1, &err), 0);
        assert_string_equal(d1, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        free(d1);
}

/* ---- verifying the skopeo fixture -------------------------------------- */

static void test_verify_skopeo_fixture(void **s)
{
        size_t mlen = 0, slen = 0;
        _cleanup_free_ char *manifest = fixture("manifest.json", &mlen);
        _cleanup_free_ char *sig = fixture("skopeo.sig", &slen);
        _cleanup_free_ char *fpr = fixture_line("signer.fpr");
        _cleanup_free_ char *signer = fixture_path("signer.pgp");
        _cleanup_free_ char *signer_asc = fixture_path("signer.asc");
        _cleanup_free_ char *other = fixture_path("other.pgp");
        ps_error err = PS_ERROR_INIT;
        ps_gpg_verifier *v = NULL;
        assert_int_equal(ps_gpg_verifier_new(&v, &err), 0);
        assert_int_equal(ps_gpg_verifier_add_key_file(v, signer, NULL, &err), 0);
        ps_sig_verified out;
        int r = ps_sig_verify_manifest(v, sig, slen, manifest, mlen, "registry.local/c10f/pause:3.9", &out, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_string_equal(out.fingerprint, fpr);
        assert_string_equal(out.payload.docker_reference, "registry.local/c10f/pause:3.9");
        assert_string_equal(out.payload.manifest_digest, "sha256:" D64);
        assert_string_equal(out.payload.creator, "atomic 5.23.1");
        ps_sig_verified_clear(&out);
        /* any identity when none is expected */
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, manifest, mlen, NULL, &out, &err), 0);
        ps_sig_verified_clear(&out);
        /* another tag of the same digest */
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, manifest, mlen, "registry.local/c10f/pause:3.10", &out, &err),
                         -EKEYREJECTED);
        assert_non_null(strstr(err.msg, "registry.local/c10f/pause:3.10"));
        ps_error_clear(&err);
        /* another manifest */
        const char *m2 = "{\"schemaVersion\":2}";
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, m2, strlen(m2), NULL, &out, &err), -EKEYREJECTED);
        assert_non_null(strstr(err.msg, "digest"));
        ps_error_clear(&err);
        /* manifest with one more byte */
        _cleanup_free_ char *m3 = malloc(mlen + 1);
        memcpy(m3, manifest, mlen);
        m3[mlen] = '\n';
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, m3, mlen + 1, NULL, &out, &err), -EKEYREJECTED);
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);

        /* the armored key file works too; another key does not */
        assert_int_equal(ps_gpg_verifier_new(&v, &err), 0);
        assert_int_equal(ps_gpg_verifier_add_key_file(v, signer_asc, NULL, &err), 0);
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, manifest, mlen, NULL, &out, &err), 0);
        ps_sig_verified_clear(&out);
        ps_gpg_verifier_free(v);
        assert_int_equal(ps_gpg_verifier_new(&v, &err), 0);
        assert_int_equal(ps_gpg_verifier_add_key_file(v, other, NULL, &err), 0);
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, manifest, mlen, NULL, &out, &err), -EKEYREJECTED);
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);
}

/* ---- signing round trip ------------------------------------------------ */

static char *home, *scratch, *keyfpr, *pubfile;

static int rm_entry(const char *p, const struct stat *sb, int t, struct FTW *f) { remove(p); return 0; }

static int group_setup(void **s)
{
        char t[] = "/tmp/podsec-sigtest-XXXXXX";
        assert_non_null(mkdtemp(t));
        scratch = strdup(t);
        home = ps_path_join(scratch, "gnupg");
        assert_int_equal(mkdir(home, 0700), 0);
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_gpg_init(&err), 0);
        gpgme_ctx_t c;
        assert_int_equal(gpgme_new(&c), 0);
        gpgme_set_protocol(c, GPGME_PROTOCOL_OpenPGP);
        gpgme_ctx_set_engine_info(c, GPGME_PROTOCOL_OpenPGP, NULL, home);
        assert_int_equal(gpgme_op_createkey(c, "Sig Test <sigtest@example.test>", "ed25519", 0, 0, NULL,
                                            GPGME_CREATE_SIGN | GPGME_CREATE_NOPASSWD | GPGME_CREATE_NOEXPIRE), 0);
        keyfpr = strdup(gpgme_op_genkey_result(c)->fpr);
        gpgme_data_t d;
        gpgme_data_new(&d);
        assert_int_equal(gpgme_op_export(c, keyfpr, 0, d), 0);
        size_t n = 0;
        char *mem = gpgme_data_release_and_get_mem(d, &n);
        pubfile = ps_path_join(scratch, "pub.pgp");
        assert_int_equal(ps_write_atomic(pubfile, mem, n, 0644, &err), 0);
        gpgme_free(mem);
        gpgme_release(c);
        return 0;
}

static int group_teardown(void **s)
{
        const char *argv[] = { "gpgconf", "--homedir", home, "--kill", "all", NULL };
        int st = 0;
        ps_spawn(argv, &(ps_spawn_opts){ .quiet = 1 }, &st, NULL);
        nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(home);
        free(scratch);
        free(keyfpr);
        free(pubfile);
        return 0;
}

static void test_sign_roundtrip(void **s)
{
        size_t mlen = 0;
        _cleanup_free_ char *manifest = fixture("manifest.json", &mlen);
        ps_error err = PS_ERROR_INIT;
        ps_gpg_sign_opts o = { .homedir = home, .key = "sigtest@example.test" };
        _cleanup_free_ void *sig = NULL;
        _cleanup_free_ char *fpr = NULL;
        size_t slen = 0;
        int r = ps_sig_sign_manifest(manifest, mlen, "registry.local/c10f/pause:3.9", &o, &sig, &slen, &fpr, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_string_equal(fpr, keyfpr);
        ps_gpg_verifier *v = NULL;
        assert_int_equal(ps_gpg_verifier_new(&v, &err), 0);
        assert_int_equal(ps_gpg_verifier_add_key_file(v, pubfile, NULL, &err), 0);
        ps_sig_verified out;
        assert_int_equal(ps_sig_verify_manifest(v, sig, slen, manifest, mlen, "registry.local/c10f/pause:3.9", &out, &err), 0);
        assert_string_equal(out.fingerprint, keyfpr);
        assert_string_equal(out.payload.creator, "podsec " PODSEC_VERSION);
        assert_true(out.payload.has_timestamp);
        assert_true(out.sig_time >= out.payload.timestamp - 5 && out.sig_time <= out.payload.timestamp + 5);
        ps_sig_verified_clear(&out);
        /* the skopeo fixture key does not accept it */
        ps_gpg_verifier *v2 = NULL;
        _cleanup_free_ char *other = fixture_path("signer.pgp");
        assert_int_equal(ps_gpg_verifier_new(&v2, &err), 0);
        assert_int_equal(ps_gpg_verifier_add_key_file(v2, other, NULL, &err), 0);
        assert_int_equal(ps_sig_verify_manifest(v2, sig, slen, manifest, mlen, NULL, &out, &err), -EKEYREJECTED);
        ps_error_clear(&err);
        ps_gpg_verifier_free(v2);
        ps_gpg_verifier_free(v);

        /* a reference that is not fully expanded is refused before gpg runs */
        void *sig2 = NULL;
        size_t slen2 = 0;
        assert_int_equal(ps_sig_sign_manifest(manifest, mlen, "busybox:latest", &o, &sig2, &slen2, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not fully expanded"));
        ps_error_clear(&err);
        /* a signed payload that is not a simple-signing document */
        _cleanup_free_ void *junk = NULL;
        size_t jlen = 0;
        assert_int_equal(ps_gpg_sign(&o, "{\"critical\":{}}", 15, &junk, &jlen, NULL, &err), 0);
        assert_int_equal(ps_gpg_verifier_new(&v, &err), 0);
        assert_int_equal(ps_gpg_verifier_add_key_file(v, pubfile, NULL, &err), 0);
        assert_int_equal(ps_sig_verify_manifest(v, junk, jlen, manifest, mlen, NULL, &out, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "invalid signature payload"));
        ps_error_clear(&err);
        ps_gpg_verifier_free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_payload_table),
                cmocka_unit_test(test_payload_fields),
                cmocka_unit_test(test_build),
                cmocka_unit_test(test_digest),
                cmocka_unit_test(test_verify_skopeo_fixture),
                cmocka_unit_test(test_sign_roundtrip),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
