/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy evaluation of one image with a fake source (no registry): the
 * signature fixture made by skopeo 1.9.3 standalone-sign for
 * registry.local/c10f/pause:3.9, its keys, and requirement lists with
 * every requirement type; multi-platform indexes; failures of the source
 * ("could not check") vs rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "fs.h"
#include "policy.h"
#include "signature.h"
#include "verify.h"

#define MDIG "sha256:6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a06f535a4757146e3576c"
#define REF "registry.local/c10f/pause:3.9"

static char *fixdir;
static char *manifest, *sig, *signer_fpr, *signer_b64;
static size_t manifest_len, sig_len;

static char *fixture_path(const char *name)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s/signature/%s", fixdir, name) > 0);
        return p;
}

static char *fixture(const char *name, size_t *len)
{
        _cleanup_free_ char *p = fixture_path(name);
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(p, 1 << 20, &buf, len, &err) < 0)
                fail_msg("%s", ps_error_msg(&err));
        return buf;
}

static char *base64(const unsigned char *d, size_t n)
{
        static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *o = malloc(4 * ((n + 2) / 3) + 1), *p = o;
        assert_non_null(o);
        for (size_t i = 0; i < n; i += 3) {
                unsigned v = d[i] << 16 | (i + 1 < n ? d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
                *p++ = t[v >> 18 & 63];
                *p++ = t[v >> 12 & 63];
                *p++ = i + 1 < n ? t[v >> 6 & 63] : '=';
                *p++ = i + 2 < n ? t[v & 63] : '=';
        }
        *p = '\0';
        return o;
}

static int group_setup(void **state)
{
        (void)state;
        fixdir = getenv("PODSEC_FIXTURES");
        assert_non_null(fixdir);
        manifest = fixture("manifest.json", &manifest_len);
        sig = fixture("skopeo.sig", &sig_len);
        size_t n = 0;
        signer_fpr = fixture("signer.fpr", &n);
        signer_fpr[strcspn(signer_fpr, "\r\n")] = '\0';
        _cleanup_free_ char *pgp = fixture("signer.pgp", &n);
        signer_b64 = base64((unsigned char *)pgp, n);
        return 0;
}

static int group_teardown(void **state)
{
        (void)state;
        free(manifest);
        free(sig);
        free(signer_fpr);
        free(signer_b64);
        return 0;
}

/* ---- the fake source ---------------------------------------------------- */

typedef struct blob {
        const char *what;       /* tag or digest it is served for */
        const char *data;
        size_t len;
        const char *media_type;
} blob;

typedef struct fake {
        blob manifests[6];
        size_t n_manifests;
        const char *sig_digest;         /* signatures are stored for this digest */
        const char *sigs[4];
        size_t sig_lens[4];
        size_t n_sigs;
        const char *sig_digest2;        /* and these for a second digest */
        const char *sigs2[2];
        size_t sig_lens2[2];
        size_t n_sigs2;
        int manifest_error;             /* errno to fail manifest() with */
        int sig_error;                  /* errno to fail signatures() with */
        unsigned manifest_calls, sig_calls;
        char last_repo[128];
} fake;

static int fake_manifest(void *ctx, const ps_reference *ref, const char *what, char **data, size_t *len,
                         char **media_type, ps_error *err)
{
        fake *f = ctx;
        f->manifest_calls++;
        snprintf(f->last_repo, sizeof f->last_repo, "%s", ref->path);
        if (f->manifest_error)
                return ps_error_set(err, f->manifest_error, "registry %s: connection refused", ref->domain);
        for (size_t i = 0; i < f->n_manifests; i++) {
                const blob *b = &f->manifests[i];
                if (strcmp(b->what, what) != 0)
                        continue;
                *data = malloc(b->len + 1);
                assert_non_null(*data);
                memcpy(*data, b->data, b->len);
                (*data)[b->len] = '\0';
                *len = b->len;
                *media_type = b->media_type ? strdup(b->media_type) : NULL;
                return 0;
        }
        return ps_error_set(err, ENOENT, "%s: 404 MANIFEST_UNKNOWN", what);
}

static int fake_signatures(void *ctx, const ps_reference *ref, const char *reference, const char *digest,
                           ps_sig_list *out, char **where, ps_error *err)
{
        (void)ref;
        (void)reference;
        fake *f = ctx;
        f->sig_calls++;
        *where = strdup("fake://lookaside");
        if (f->sig_error)
                return ps_error_set(err, f->sig_error, "lookaside: 500 Internal Server Error");
        const char *const *v = NULL;
        const size_t *l = NULL;
        size_t n = 0;
        if (f->sig_digest && !strcmp(digest, f->sig_digest)) {
                v = f->sigs;
                l = f->sig_lens;
                n = f->n_sigs;
        } else if (f->sig_digest2 && !strcmp(digest, f->sig_digest2)) {
                v = f->sigs2;
                l = f->sig_lens2;
                n = f->n_sigs2;
        }
        out->v = calloc(n ? n : 1, sizeof *out->v);
        assert_non_null(out->v);
        for (size_t i = 0; i < n; i++) {
                out->v[i].data = malloc(l[i]);
                assert_non_null(out->v[i].data);
                memcpy(out->v[i].data, v[i], l[i]);
                out->v[i].len = l[i];
        }
        out->n = n;
        return 0;
}

/* The usual world: the fixture manifest under tag 3.9 (and 3.10, and its
 * digest), signed once by the fixture signer. */
static void fake_default(fake *f)
{
        memset(f, 0, sizeof *f);
        f->manifests[0] = (blob){ "3.9", manifest, manifest_len, "application/vnd.oci.image.manifest.v1+json" };
        f->manifests[1] = (blob){ "3.10", manifest, manifest_len, "application/vnd.oci.image.manifest.v1+json" };
        f->manifests[2] = (blob){ MDIG, manifest, manifest_len, "application/vnd.oci.image.manifest.v1+json" };
        f->n_manifests = 3;
        f->sig_digest = MDIG;
        f->sigs[0] = sig;
        f->sig_lens[0] = sig_len;
        f->n_sigs = 1;
}

static ps_policy *policy(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static ps_policy *policy(const char *fmt, ...)
{
        _cleanup_free_ char *text = NULL;
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&text, fmt, ap) > 0);
        va_end(ap);
        ps_policy *p = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_policy_parse_flags(text, strlen(text), PS_POLICY_COMPAT, &p, &err) < 0)
                fail_msg("policy %s: %s", text, ps_error_msg(&err));
        return p;
}

/* a policy whose registry.local scope holds REQS */
static ps_policy *scoped(const char *reqs)
{
        return policy("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"registry.local\":%s}}}",
                      reqs);
}

static char *signed_by(const char *key, const char *extra)
{
        _cleanup_free_ char *p = fixture_path(key);
        char *s = NULL;
        assert_true(asprintf(&s, "{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"%s\"%s%s}", p,
                             extra ? "," : "", extra ? extra : "") > 0);
        return s;
}

static ps_verdict run(ps_policy *p, const char *ref, fake *f, ps_verify_result *res)
{
        ps_verify_source src = { .manifest = fake_manifest, .signatures = fake_signatures, .ctx = f };
        ps_verify_opts o = { .source = &src, .arch = "amd64" };
        ps_error err = PS_ERROR_INIT;
        if (ps_verify_image(p, ref, &o, res, &err) < 0)
                fail_msg("verify %s: %s", ref, ps_error_msg(&err));
        return res->verdict;
}

static void expect(const char *reqs, const char *ref, fake *f, ps_verdict want, const char *reason_part)
{
        _cleanup_policy_ ps_policy *p = scoped(reqs);
        ps_verify_result res;
        ps_verdict v = run(p, ref, f, &res);
        if (v != want)
                fail_msg("%s for %s: got %s, want %s (%s)", reqs, ref, ps_verdict_name(v), ps_verdict_name(want),
                         res.reason ? res.reason : "");
        if (reason_part && (!res.reason || !strstr(res.reason, reason_part)))
                fail_msg("%s for %s: reason \"%s\" lacks \"%s\"", reqs, ref, res.reason ? res.reason : "(none)",
                         reason_part);
        if (want == PS_VERDICT_ACCEPTED)
                assert_null(res.reason);
        ps_verify_result_clear(&res);
}

/* ---- tests -------------------------------------------------------------- */

static void test_simple_requirements(void **state)
{
        (void)state;
        fake f;
        fake_default(&f);
        expect("[{\"type\":\"insecureAcceptAnything\"}]", REF, &f, PS_VERDICT_ACCEPTED, NULL);
        expect("[{\"type\":\"reject\"}]", REF, &f, PS_VERDICT_REJECTED, "rejected by policy");
        expect("[{\"type\":\"insecureAcceptAnything\"},{\"type\":\"reject\"}]", REF, &f, PS_VERDICT_REJECTED, NULL);
        expect("[{\"type\":\"signedBaseLayer\",\"baseLayerIdentity\":{\"type\":\"matchRepository\"}}]", REF, &f,
               PS_VERDICT_REJECTED, "signedBaseLayer");
        /* no signature needed: the registry is not asked */
        assert_int_equal(f.manifest_calls, 0);
        assert_int_equal(f.sig_calls, 0);
        /* the global default applies outside the scopes */
        expect("[{\"type\":\"insecureAcceptAnything\"}]", "other.example/x:1", &f, PS_VERDICT_REJECTED, NULL);
}

static void test_signed_by(void **state)
{
        (void)state;
        fake f;
        fake_default(&f);
        _cleanup_free_ char *s = signed_by("signer.pgp", NULL), *o = signed_by("other.pgp", NULL);
        _cleanup_free_ char *l = NULL, *l2 = NULL;
        assert_true(asprintf(&l, "[%s]", s) > 0);
        assert_true(asprintf(&l2, "[%s]", o) > 0);

        _cleanup_policy_ ps_policy *p = scoped(l);
        ps_verify_result res;
        assert_int_equal(run(p, REF, &f, &res), PS_VERDICT_ACCEPTED);
        assert_string_equal(res.reference, REF);
        assert_string_equal(res.scope, "registry.local");
        assert_int_equal(res.scope_kind, PS_SCOPE_HOST);
        assert_string_equal(res.lookaside, "fake://lookaside");
        assert_int_equal(res.n_images, 1);
        assert_string_equal(res.images[0].digest, MDIG);
        assert_int_equal(res.images[0].n_reqs, 1);
        ps_verify_req *q = &res.images[0].reqs[0];
        assert_int_equal(q->satisfied_by, 1);
        assert_string_equal(q->keys[0], signer_fpr);
        assert_null(q->keys[1]);
        assert_int_equal(q->n_sigs, 1);
        assert_true(q->sigs[0].accepted);
        assert_string_equal(q->sigs[0].fingerprint, signer_fpr);
        assert_string_equal(q->sigs[0].signed_reference, REF);
        assert_string_equal(q->sigs[0].signed_digest, MDIG);
        assert_string_equal(q->identity, "matchRepoDigestOrExact");
        assert_string_equal(f.last_repo, "c10f/pause");
        ps_verify_result_clear(&res);

        /* the wrong key */
        expect(l2, REF, &f, PS_VERDICT_REJECTED, "signature-1");
        /* the same manifest under another tag: the signature names 3.9 */
        expect(l, "registry.local/c10f/pause:3.10", &f, PS_VERDICT_REJECTED,
               "Signature for identity " REF " is not accepted");
        /* by digest: the repository is enough */
        expect(l, "registry.local/c10f/pause@" MDIG, &f, PS_VERDICT_ACCEPTED, NULL);
        /* the same digest in another repository */
        f.manifests[0].what = "3.9";
        expect(l, "registry.local/c10f/other@" MDIG, &f, PS_VERDICT_REJECTED, "not accepted");
        /* "docker://" is accepted */
        expect(l, "docker://" REF, &f, PS_VERDICT_ACCEPTED, NULL);
}

static void test_key_forms(void **state)
{
        (void)state;
        fake f;
        fake_default(&f);
        _cleanup_free_ char *other = fixture_path("other.pgp"), *signer = fixture_path("signer.pgp");
        _cleanup_free_ char *asc = fixture_path("signer.asc");
        _cleanup_free_ char *l = NULL;
        assert_true(asprintf(&l, "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"%s\",\"%s\"]}]",
                             other, signer) > 0);
        expect(l, REF, &f, PS_VERDICT_ACCEPTED, NULL);
        free(l);
        assert_true(asprintf(&l, "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"%s\"}]",
                             signer_b64) > 0);
        expect(l, REF, &f, PS_VERDICT_ACCEPTED, NULL);
        free(l);
        assert_true(asprintf(&l, "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"%s\"}]", asc) > 0);
        expect(l, REF, &f, PS_VERDICT_ACCEPTED, NULL);
        /* a missing key file: a configuration problem, not a verdict */
        expect("[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/nonexistent/key.pgp\"}]", REF, &f,
               PS_VERDICT_UNKNOWN, "/nonexistent/key.pgp");
        /* an unknown key type (c/image loads it, and rejects every image) */
        expect("[{\"type\":\"signedBy\",\"keyType\":\"signedByGPGKeys\",\"keyPath\":\"/x\"}]", REF, &f,
               PS_VERDICT_REJECTED, "key type");

        /* key files under --root */
        _cleanup_policy_ ps_policy *p =
                scoped("[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/signature/signer.pgp\"}]");
        ps_verify_source src = { .manifest = fake_manifest, .signatures = fake_signatures, .ctx = &f };
        ps_verify_opts o = { .source = &src, .root = fixdir };
        ps_verify_result res;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_verify_image(p, REF, &o, &res, &err), 0);
        assert_int_equal(res.verdict, PS_VERDICT_ACCEPTED);
        assert_non_null(strstr(res.images[0].reqs[0].key_files[0], "/signature/signer.pgp"));
        ps_verify_result_clear(&res);
}

static void test_signature_lists(void **state)
{
        (void)state;
        fake f;
        fake_default(&f);
        _cleanup_free_ char *s = signed_by("signer.pgp", NULL);
        _cleanup_free_ char *l = NULL;
        assert_true(asprintf(&l, "[%s]", s) > 0);
        /* none at all */
        f.n_sigs = 0;
        expect(l, REF, &f, PS_VERDICT_REJECTED, "no signature exists");
        /* a flipped byte */
        _cleanup_free_ char *bad = malloc(sig_len);
        assert_non_null(bad);
        memcpy(bad, sig, sig_len);
        bad[sig_len - 20] ^= 0x01;
        f.sigs[0] = bad;
        f.n_sigs = 1;
        expect(l, REF, &f, PS_VERDICT_REJECTED, "signature-1");
        /* a bad OpenPGP message first, the good one second */
        f.sigs[0] = bad;
        f.sig_lens[0] = sig_len;
        f.sigs[1] = sig;
        f.sig_lens[1] = sig_len;
        f.n_sigs = 2;
        _cleanup_policy_ ps_policy *p = scoped(l);
        ps_verify_result res;
        assert_int_equal(run(p, REF, &f, &res), PS_VERDICT_ACCEPTED);
        ps_verify_req *q = &res.images[0].reqs[0];
        assert_int_equal(q->satisfied_by, 2);
        assert_false(q->sigs[0].accepted);
        assert_non_null(q->sigs[0].reason);
        assert_true(q->sigs[1].accepted);
        ps_verify_result_clear(&res);
        /* two bad ones: both reasons */
        f.sigs[1] = bad;
        expect(l, REF, &f, PS_VERDICT_REJECTED, "none of the 2 signatures");
        /* a blob c/image cannot parse spoils the valid one (it fails the whole read) */
        f.sigs[0] = "garbage";
        f.sig_lens[0] = 7;
        f.sigs[1] = sig;
        expect(l, REF, &f, PS_VERDICT_REJECTED, "signature-1: unrecognized signature format, starting with binary 0x67");
        f.sigs[0] = sig;
        f.sig_lens[0] = sig_len;
        f.sigs[1] = "";
        f.sig_lens[1] = 0;
        expect(l, REF, &f, PS_VERDICT_REJECTED, "signature-2: empty signature blob");
        /* the "\0simple-signing\n" form */
        _cleanup_free_ char *pre = malloc(sig_len + 16);
        assert_non_null(pre);
        memcpy(pre, "\0simple-signing\n", 16);
        memcpy(pre + 16, sig, sig_len);
        f.sigs[0] = pre;
        f.sig_lens[0] = sig_len + 16;
        f.n_sigs = 1;
        expect(l, REF, &f, PS_VERDICT_ACCEPTED, NULL);
}

static void test_sig_format(void **state)
{
        (void)state;
        static const struct {
                const char *blob;
                size_t len;
                int want;
                const char *why;
        } t[] = {
                { "\xa3\x01", 2, PS_SIG_FORMAT_SIMPLE, NULL },
                { "\xc8", 1, PS_SIG_FORMAT_SIMPLE, NULL },
                { "\x90", 1, PS_SIG_FORMAT_SIMPLE, NULL },
                { "\x3d", 1, PS_SIG_FORMAT_SIMPLE, NULL },
                { "\x8b", 1, PS_SIG_FORMAT_SIMPLE, NULL },
                { "\xc2", 1, PS_SIG_FORMAT_SIMPLE, NULL },
                { "\0simple-signing\n\xa3", 17, PS_SIG_FORMAT_SIMPLE_PREFIXED, NULL },
                { "\0sigstore-json\n{}", 17, PS_SIG_FORMAT_SIGSTORE, NULL },
                { "", 0, -EBADMSG, "empty signature blob" },
                { "-----BEGIN PGP", 14, -EBADMSG, "starting with binary 0x2d" },
                { "\x99", 1, -EBADMSG, "starting with binary 0x99" },
                { "\0simple-signing", 15, -EBADMSG, "missing newline" },
                { "\0x\x01y\n", 5, -EBADMSG, "non-ASCII byte 0x1" },
                { "\0cosign\n", 8, -EBADMSG, "unrecognized signature format \"cosign\"" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                ps_error err = PS_ERROR_INIT;
                _cleanup_free_ char *why = NULL;
                int r = ps_verify_sig_format(t[i].blob, t[i].len, &why, &err);
                if (r != t[i].want)
                        fail_msg("format %zu: got %d, want %d", i, r, t[i].want);
                if (t[i].why && (!why || !strstr(why, t[i].why)))
                        fail_msg("format %zu: \"%s\" lacks \"%s\"", i, why ? why : "(null)", t[i].why);
        }
}

static void test_identity_forms(void **state)
{
        (void)state;
        fake f;
        fake_default(&f);
        static const struct {
                const char *ident, *ref;
                ps_verdict want;
        } t[] = {
                { "\"signedIdentity\":{\"type\":\"matchExact\"}", REF, PS_VERDICT_ACCEPTED },
                { "\"signedIdentity\":{\"type\":\"matchExact\"}", "registry.local/c10f/pause@" MDIG,
                  PS_VERDICT_REJECTED },
                { "\"signedIdentity\":{\"type\":\"matchRepository\"}", "registry.local/c10f/pause:3.10",
                  PS_VERDICT_ACCEPTED },
                { "\"signedIdentity\":{\"type\":\"exactReference\",\"dockerReference\":\"" REF "\"}",
                  "registry.local/c10f/pause:3.10", PS_VERDICT_ACCEPTED },
                { "\"signedIdentity\":{\"type\":\"exactReference\",\"dockerReference\":\"registry.local/c10f/pause:3.10\"}",
                  "registry.local/c10f/pause:3.10", PS_VERDICT_REJECTED },
                { "\"signedIdentity\":{\"type\":\"exactRepository\",\"dockerRepository\":\"registry.local/c10f/pause\"}",
                  "registry.local/c10f/pause:3.10", PS_VERDICT_ACCEPTED },
                { "\"signedIdentity\":{\"type\":\"exactRepository\",\"dockerRepository\":\"registry.local/c10f/other\"}",
                  REF, PS_VERDICT_REJECTED },
                { "\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":\"registry.local/mirror\","
                  "\"signedPrefix\":\"registry.local/c10f\"}",
                  "registry.local/mirror/pause:3.9", PS_VERDICT_ACCEPTED },
                { "\"signedIdentity\":{\"type\":\"remapIdentity\",\"prefix\":\"registry.local/mirror\","
                  "\"signedPrefix\":\"registry.local/c10f\"}",
                  "registry.local/mirror/pause:3.10", PS_VERDICT_REJECTED },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                _cleanup_free_ char *s = signed_by("signer.pgp", t[i].ident), *l = NULL;
                assert_true(asprintf(&l, "[%s]", s) > 0);
                /* every tag/digest serves the fixture manifest */
                fake_default(&f);
                expect(l, t[i].ref, &f, t[i].want, NULL);
        }
}

static void test_could_not_check(void **state)
{
        (void)state;
        fake f;
        _cleanup_free_ char *s = signed_by("signer.pgp", NULL);
        _cleanup_free_ char *l = NULL, *l2 = NULL, *l3 = NULL;
        assert_true(asprintf(&l, "[%s]", s) > 0);
        assert_true(asprintf(&l2, "[%s,{\"type\":\"reject\"}]", s) > 0);
        assert_true(asprintf(&l3, "[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k.pub\"},%s]", s) > 0);
        fake_default(&f);
        f.manifest_error = ECONNREFUSED;
        expect(l, REF, &f, PS_VERDICT_UNKNOWN, "connection refused");
        /* ... unless another requirement rejects anyway */
        expect(l2, REF, &f, PS_VERDICT_REJECTED, "rejected by policy");
        fake_default(&f);
        f.sig_error = EIO;
        expect(l, REF, &f, PS_VERDICT_UNKNOWN, "cannot read the signatures");
        fake_default(&f);
        expect(l3, REF, &f, PS_VERDICT_UNKNOWN, "not supported by podsec");
        /* an unknown tag */
        fake_default(&f);
        expect(l, "registry.local/c10f/pause:nope", &f, PS_VERDICT_UNKNOWN, "MANIFEST_UNKNOWN");
        /* a registry sending other bytes for a digest */
        fake_default(&f);
        f.manifests[2].what = "sha256:" "1111111111111111111111111111111111111111111111111111111111111111";
        f.manifests[2].data = "{}";
        f.manifests[2].len = 2;
        expect(l, "registry.local/c10f/pause@sha256:1111111111111111111111111111111111111111111111111111111111111111",
               &f, PS_VERDICT_UNKNOWN, "sent a manifest with digest");
        /* an invalid reference is no verdict at all */
        _cleanup_policy_ ps_policy *p = scoped(l);
        ps_verify_result res;
        ps_error err = PS_ERROR_INIT;
        ps_verify_opts o = { 0 };
        assert_int_equal(ps_verify_image(p, "Bad/Ref", &o, &res, &err), -EINVAL);
        ps_error_clear(&err);
        assert_true(ps_verify_image(p, "registry.local/x:1@" MDIG, &o, &res, &err) < 0);
        assert_non_null(strstr(ps_error_msg(&err), "both a tag and digest"));
        ps_error_clear(&err);
}

static void test_index(void **state)
{
        (void)state;
        fake f;
        fake_default(&f);
        static const char other_manifest[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                                             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                                             "\"digest\":\"sha256:4f0e4e5b5a1f7c5d0d1e2b9a0f8c0b8f9b8a8e8c2d1f3a4b5c6d7e8f9a0b1c2d\","
                                             "\"size\":124},\"layers\":[]}";
        char *odig = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_sig_manifest_digest(other_manifest, strlen(other_manifest), &odig, &err), 0);
        _cleanup_free_ char *index = NULL;
        assert_true(asprintf(&index,
                             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
                             "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
                             "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
                             "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
                             "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}}]}",
                             MDIG, manifest_len, odig, strlen(other_manifest)) > 0);
        f.manifests[0] = (blob){ "3.9", index, strlen(index), "application/vnd.oci.image.index.v1+json" };
        f.manifests[3] = (blob){ odig, other_manifest, strlen(other_manifest), NULL };
        f.n_manifests = 4;
        _cleanup_free_ char *s = signed_by("signer.pgp", NULL), *l = NULL;
        assert_true(asprintf(&l, "[%s]", s) > 0);
        _cleanup_policy_ ps_policy *p = scoped(l);

        /* amd64: the signed instance */
        ps_verify_source src = { .manifest = fake_manifest, .signatures = fake_signatures, .ctx = &f };
        ps_verify_opts o = { .source = &src, .arch = "amd64" };
        ps_verify_result res;
        assert_int_equal(ps_verify_image(p, REF, &o, &res, &err), 0);
        assert_int_equal(res.verdict, PS_VERDICT_ACCEPTED);
        assert_non_null(res.index_digest);
        assert_int_equal(res.n_images, 1);
        assert_string_equal(res.images[0].digest, MDIG);
        assert_string_equal(res.images[0].platform, "linux/amd64");
        ps_verify_result_clear(&res);
        /* arm64: not signed */
        o.arch = "aarch64";
        assert_int_equal(ps_verify_image(p, REF, &o, &res, &err), 0);
        assert_int_equal(res.verdict, PS_VERDICT_REJECTED);
        assert_string_equal(res.images[0].digest, odig);
        assert_non_null(strstr(res.reason, "linux/arm64"));
        ps_verify_result_clear(&res);
        /* every instance: one is not signed */
        o.all_instances = true;
        assert_int_equal(ps_verify_image(p, REF, &o, &res, &err), 0);
        assert_int_equal(res.verdict, PS_VERDICT_REJECTED);
        assert_int_equal(res.n_images, 2);
        assert_int_equal(res.images[0].verdict, PS_VERDICT_ACCEPTED);
        assert_int_equal(res.images[1].verdict, PS_VERDICT_REJECTED);
        ps_verify_result_clear(&res);
        /* ... and with both signed (the signature names tag 3.9 for both digests) */
        f.sig_digest2 = odig;
        f.sigs2[0] = sig;
        f.sig_lens2[0] = sig_len;
        f.n_sigs2 = 1;
        assert_int_equal(ps_verify_image(p, REF, &o, &res, &err), 0);
        /* the fixture signs MDIG only: the second instance's signature is for another digest */
        assert_int_equal(res.verdict, PS_VERDICT_REJECTED);
        assert_non_null(strstr(res.images[1].reqs[0].sigs[0].reason, "manifest digest"));
        ps_verify_result_clear(&res);
        /* a platform the index lacks */
        o.all_instances = false;
        o.arch = "s390x";
        assert_int_equal(ps_verify_image(p, REF, &o, &res, &err), 0);
        assert_int_equal(res.verdict, PS_VERDICT_UNKNOWN);
        ps_verify_result_clear(&res);
        free(odig);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_simple_requirements),
                cmocka_unit_test(test_signed_by),
                cmocka_unit_test(test_key_forms),
                cmocka_unit_test(test_signature_lists),
                cmocka_unit_test(test_sig_format),
                cmocka_unit_test(test_identity_forms),
                cmocka_unit_test(test_could_not_check),
                cmocka_unit_test(test_index),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
