/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy evaluation for one image; see verify.h. */
#include "verify.h"
#include "cleanup.h"
#include "gpg.h"
#include "identity.h"
#include "oci.h"
#include "registry.h"
#include "signature.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

const char *ps_verdict_name(ps_verdict v)
{
        switch (v) {
        case PS_VERDICT_ACCEPTED: return "accepted";
        case PS_VERDICT_REJECTED: return "rejected";
        case PS_VERDICT_UNKNOWN: return "unknown";
        }
        return "unknown";
}

/* ---- result bookkeeping -------------------------------------------------- */

static void sig_clear(ps_verify_sig *s)
{
        free(s->fingerprint);
        free(s->signed_reference);
        free(s->signed_digest);
        free(s->reason);
}

static void req_clear(ps_verify_req *q)
{
        free(q->type_name);
        free(q->identity);
        free(q->reason);
        ps_strv_free(q->keys);
        ps_strv_free(q->key_files);
        for (size_t i = 0; i < q->n_sigs; i++)
                sig_clear(&q->sigs[i]);
        free(q->sigs);
}

static void image_clear(ps_verify_instance *im)
{
        free(im->digest);
        free(im->media_type);
        free(im->platform);
        free(im->reason);
        for (size_t i = 0; i < im->n_reqs; i++)
                req_clear(&im->reqs[i]);
        free(im->reqs);
}

void ps_verify_result_clear(ps_verify_result *r)
{
        free(r->reference);
        free(r->scope);
        free(r->index_digest);
        free(r->index_media_type);
        free(r->lookaside);
        free(r->reason);
        for (size_t i = 0; i < r->n_images; i++)
                image_clear(&r->images[i]);
        free(r->images);
        memset(r, 0, sizeof *r);
}

static int oom(ps_error *err)
{
        return ps_error_set(err, ENOMEM, "out of memory");
}

/* Set *dst to a formatted string (replacing it); -ENOMEM on failure. */
static int setf(char **dst, ps_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int setf(char **dst, ps_error *err, const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return oom(err);
        free(*dst);
        *dst = s;
        return 0;
}

static int dup_into(char **dst, const char *s, ps_error *err)
{
        free(*dst);
        *dst = NULL;
        if (s && !(*dst = strdup(s)))
                return oom(err);
        return 0;
}

/* Worse of two verdicts: rejected > unknown > accepted. */
static ps_verdict combine(ps_verdict a, ps_verdict b)
{
        if (a == PS_VERDICT_REJECTED || b == PS_VERDICT_REJECTED)
                return PS_VERDICT_REJECTED;
        if (a == PS_VERDICT_UNKNOWN || b == PS_VERDICT_UNKNOWN)
                return PS_VERDICT_UNKNOWN;
        return PS_VERDICT_ACCEPTED;
}

int ps_verify_sig_format(const void *blob, size_t len, char **why, ps_error *err)
{
        const unsigned char *b = blob;
        *why = NULL;
        if (len == 0) {
                *why = strdup("empty signature blob");
                return *why ? -EBADMSG : oom(err);
        }
        switch (b[0]) {
        /* OpenPGP packets a signed message starts with: compressed data
         * (tag 8), one-pass signature (tag 4), signature (tag 2), in the
         * old and the new packet format, as c/image lists them */
        case 0xA0: case 0xA1: case 0xA2: case 0xA3: case 0xC8:
        case 0x90: case 0x91: case 0x92: case 0x3d: case 0xC4:
        case 0x88: case 0x89: case 0x8A: case 0x8B: case 0xC2:
                return PS_SIG_FORMAT_SIMPLE;
        case 0x00: {
                const unsigned char *nl = memchr(b + 1, '\n', len - 1);
                if (!nl) {
                        *why = strdup("invalid signature format, missing newline");
                        return *why ? -EBADMSG : oom(err);
                }
                size_t n = (size_t)(nl - (b + 1));
                for (size_t i = 0; i < n; i++)
                        if (b[1 + i] < 32 || b[1 + i] >= 0x7f) {
                                if (asprintf(why, "invalid signature format, non-ASCII byte %#x", b[1 + i]) < 0) {
                                        *why = NULL;
                                        return oom(err);
                                }
                                return -EBADMSG;
                        }
                if (n == strlen("simple-signing") && !memcmp(b + 1, "simple-signing", n))
                        return PS_SIG_FORMAT_SIMPLE_PREFIXED;
                if (n == strlen("sigstore-json") && !memcmp(b + 1, "sigstore-json", n))
                        return PS_SIG_FORMAT_SIGSTORE;
                if (asprintf(why, "unrecognized signature format \"%.*s\"", (int)n, (const char *)b + 1) < 0) {
                        *why = NULL;
                        return oom(err);
                }
                return -EBADMSG;
        }
        default:
                if (asprintf(why, "unrecognized signature format, starting with binary %#x", b[0]) < 0) {
                        *why = NULL;
                        return oom(err);
                }
                return -EBADMSG;
        }
}

/* ---- one image (a manifest, or nothing when no signature is needed) ------- */

typedef struct image_ctx {
        const ps_verify_opts *o;
        const ps_reference *ref;        /* the parsed reference */
        const char *identity;           /* name:tag or name@digest */
        ps_verify_result *res;
        ps_verify_instance *im;
        const char *manifest;           /* NULL: not available */
        size_t mlen;
        const char *manifest_error;     /* why the manifest is not available */
        bool sigs_loaded;
        int sigs_failed;
        char *sigs_error;
        char *sigs_unreadable;          /* a blob c/image cannot parse: it rejects them all */
        ps_sig_list sigs;
        bool *sigstore_format;          /* per blob: "\0sigstore-json\n" (not simple signing) */
} image_ctx;

static void image_ctx_clear(image_ctx *c)
{
        free(c->sigs_error);
        free(c->sigs_unreadable);
        free(c->sigstore_format);
        ps_sig_list_clear(&c->sigs);
}

static int load_signatures(image_ctx *c, ps_error *err)
{
        if (c->sigs_loaded)
                return 0;
        c->sigs_loaded = true;
        ps_error e = PS_ERROR_INIT;
        _cleanup_free_ char *where = NULL;
        int r = c->o->source->signatures(c->o->source->ctx, c->ref, c->identity, c->im->digest, &c->sigs, &where,
                                         &e);
        if (where && !c->res->lookaside) {
                c->res->lookaside = steal_pointer(&where);
        }
        if (r == -ENOMEM) {
                ps_error_clear(&e);
                return oom(err);
        }
        if (r < 0) {
                c->sigs_failed = r;
                int k = setf(&c->sigs_error, err, "cannot read the signatures of %s: %s", c->im->digest,
                             ps_error_msg(&e));
                ps_error_clear(&e);
                return k;
        }
        /* containers/image (internal/signature FromBlob) parses every blob it
         * reads before any is verified; one it cannot parse fails the whole
         * read, and with it every signedBy requirement */
        c->sigstore_format = calloc(c->sigs.n ? c->sigs.n : 1, sizeof(bool));
        if (!c->sigstore_format)
                return oom(err);
        for (size_t i = 0; i < c->sigs.n; i++) {
                ps_sig_blob *b = &c->sigs.v[i];
                _cleanup_free_ char *why = NULL;
                r = ps_verify_sig_format(b->data, b->len, &why, err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return setf(&c->sigs_unreadable, err,
                                    "signature-%zu: %s (containers/image then refuses every signature of the image)",
                                    i + 1, why);
                if (r == PS_SIG_FORMAT_SIMPLE_PREFIXED) {
                        /* "\0simple-signing\n" + the OpenPGP message */
                        size_t skip = 1 + strlen("simple-signing") + 1;
                        memmove(b->data, b->data + skip, b->len - skip);
                        b->len -= skip;
                } else if (r == PS_SIG_FORMAT_SIGSTORE) {
                        c->sigstore_format[i] = true;
                }
        }
        return 0;
}

/* "no signature is accepted (signature-1: ...; signature-2: ...)" */
static int summarise(ps_verify_req *q, ps_error *err)
{
        if (q->n_sigs == 1)
                return setf(&q->reason, err, "signature-%u: %s", q->sigs[0].index, q->sigs[0].reason);
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return oom(err);
        fprintf(f, "none of the %zu signatures is accepted (", q->n_sigs);
        for (size_t i = 0; i < q->n_sigs; i++)
                fprintf(f, "%ssignature-%u: %s", i ? "; " : "", q->sigs[i].index, q->sigs[i].reason);
        fputc(')', f);
        if (fclose(f) != 0) {
                free(s);
                return oom(err);
        }
        free(q->reason);
        q->reason = s;
        return 0;
}

static int eval_signed_by(image_ctx *c, const json_t *req, const ps_requirement *view, ps_verify_req *q,
                          ps_error *err)
{
        int r;
        if (dup_into(&q->identity, ps_ident_type_name(view->identity.type), err) < 0)
                return -ENOMEM;
        if (!view->key_type || strcmp(view->key_type, "GPGKeys") != 0) {
                q->verdict = PS_VERDICT_REJECTED;
                return setf(&q->reason, err, "unknown key type \"%s\" (only \"GPGKeys\" is supported)",
                            view->key_type ? view->key_type : "");
        }
        /* the keys */
        ps_policy_key *keys = NULL;
        size_t n_keys = 0;
        ps_error e = PS_ERROR_INIT;
        _cleanup_(ps_gpg_verifier_freep) ps_gpg_verifier *v = NULL;
        r = ps_policy_read_keys(req, c->o->root, &keys, &n_keys, &e);
        if (r == -ENOMEM)
                goto nomem;
        if (r < 0) {
                q->verdict = PS_VERDICT_UNKNOWN;
                r = setf(&q->reason, err, "cannot read the keys: %s", ps_error_msg(&e));
                ps_error_clear(&e);
                return r;
        }
        q->key_files = calloc(n_keys + 1, sizeof(char *));
        if (!q->key_files)
                goto nomem;
        for (size_t i = 0, j = 0; i < n_keys; i++)
                if (keys[i].path && !(q->key_files[j++] = strdup(keys[i].path)))
                        goto nomem;
        r = ps_gpg_verifier_new(&v, &e);
        if (r == -ENOMEM)
                goto nomem;
        if (r < 0) {
                q->verdict = PS_VERDICT_UNKNOWN;
                r = setf(&q->reason, err, "%s", ps_error_msg(&e));
                goto out;
        }
        for (size_t i = 0; i < n_keys; i++) {
                r = ps_gpg_verifier_add_key_data(v, keys[i].data, keys[i].len,
                                                 keys[i].path ? keys[i].path : "keyData", NULL, &e);
                if (r == -ENOMEM)
                        goto nomem;
                if (r < 0) {
                        q->verdict = PS_VERDICT_UNKNOWN;
                        r = setf(&q->reason, err, "cannot use the keys: %s", ps_error_msg(&e));
                        goto out;
                }
        }
        size_t nf = 0;
        const char *const *fprs = ps_gpg_verifier_fingerprints(v, &nf);
        q->keys = calloc(nf + 1, sizeof(char *));
        if (!q->keys)
                goto nomem;
        for (size_t i = 0; i < nf; i++)
                if (!(q->keys[i] = strdup(fprs[i])))
                        goto nomem;

        /* the image */
        if (!c->manifest) {
                q->verdict = PS_VERDICT_UNKNOWN;
                r = setf(&q->reason, err, "%s", c->manifest_error ? c->manifest_error : "no manifest");
                goto out;
        }
        r = load_signatures(c, err);
        if (r < 0)
                goto out;
        if (c->sigs_failed) {
                q->verdict = PS_VERDICT_UNKNOWN;
                r = setf(&q->reason, err, "%s", c->sigs_error);
                goto out;
        }
        if (c->sigs_unreadable) {
                q->verdict = PS_VERDICT_REJECTED;
                r = setf(&q->reason, err, "%s", c->sigs_unreadable);
                goto out;
        }
        if (c->sigs.n == 0) {
                q->verdict = PS_VERDICT_REJECTED;
                r = setf(&q->reason, err, "A signature was required, but no signature exists (%s%s)",
                         c->res->lookaside ? "looked in " : "for ",
                         c->res->lookaside ? c->res->lookaside : c->im->digest);
                goto out;
        }
        if (nf == 0) {
                /* c/image: "No public keys imported" for every signature */
                q->verdict = PS_VERDICT_REJECTED;
                r = setf(&q->reason, err, "no public keys in the requirement's key files");
                goto out;
        }
        q->sigs = calloc(c->sigs.n, sizeof *q->sigs);
        if (!q->sigs)
                goto nomem;
        q->n_sigs = c->sigs.n;
        for (size_t i = 0; i < c->sigs.n; i++) {
                ps_verify_sig *s = &q->sigs[i];
                s->index = (unsigned)i + 1;
                if (c->sigstore_format[i]) {
                        r = dup_into(&s->reason, "a sigstore signature, not a simple signing one", err);
                        if (r < 0)
                                goto out;
                        continue;
                }
                ps_sig_verified sv;
                r = ps_sig_verify_manifest(v, c->sigs.v[i].data, c->sigs.v[i].len, c->manifest, c->mlen, NULL, &sv,
                                           &e);
                if (r == -ENOMEM)
                        goto nomem;
                if (r < 0) {
                        r = dup_into(&s->reason, ps_error_msg(&e), err);
                        ps_error_clear(&e);
                        if (r < 0)
                                goto out;
                        continue;
                }
                s->fingerprint = steal_pointer(&sv.fingerprint);
                s->signed_reference = steal_pointer(&sv.payload.docker_reference);
                s->signed_digest = steal_pointer(&sv.payload.manifest_digest);
                s->sig_time = sv.sig_time;
                ps_sig_verified_clear(&sv);
                _cleanup_free_ char *why = NULL;
                r = ps_identity_match(&view->identity, c->identity, s->signed_reference, &why, &e);
                if (r < 0) {
                        if (r == -ENOMEM)
                                goto nomem;
                        r = setf(&s->reason, err, "%s", ps_error_msg(&e));
                        ps_error_clear(&e);
                        if (r < 0)
                                goto out;
                        continue;
                }
                if (r == 0) {
                        r = setf(&s->reason, err, "Signature for identity %s is not accepted (%s: %s)",
                                 s->signed_reference, ps_ident_type_name(view->identity.type), why);
                        if (r < 0)
                                goto out;
                        continue;
                }
                s->accepted = true;
                if (!q->satisfied_by)
                        q->satisfied_by = s->index;
        }
        if (q->satisfied_by) {
                q->verdict = PS_VERDICT_ACCEPTED;
                r = 0;
        } else {
                q->verdict = PS_VERDICT_REJECTED;
                r = summarise(q, err);
        }
        goto out;
nomem:
        r = oom(err);
out:
        ps_error_clear(&e);
        ps_policy_keys_free(keys, n_keys);
        return r;
}

static int eval_requirement(image_ctx *c, const json_t *req, size_t index, ps_verify_req *q, ps_error *err)
{
        ps_requirement view;
        ps_error e = PS_ERROR_INIT;
        q->index = index;
        int r = ps_requirement_view(req, &view, &e);
        if (r < 0) {
                /* a policy that loaded cannot get here; say so rather than hide it */
                q->verdict = PS_VERDICT_UNKNOWN;
                r = setf(&q->reason, err, "requirement %zu: %s", index, ps_error_msg(&e));
                ps_error_clear(&e);
                if (r == 0)
                        r = dup_into(&q->type_name, "?", err);
                return r;
        }
        q->type = view.type;
        r = dup_into(&q->type_name, view.type_name, err);
        if (r < 0)
                goto out;
        switch (view.type) {
        case PS_REQ_INSECURE_ACCEPT_ANYTHING:
                q->verdict = PS_VERDICT_ACCEPTED;
                break;
        case PS_REQ_REJECT:
                q->verdict = PS_VERDICT_REJECTED;
                r = setf(&q->reason, err, "Running image docker://%s is rejected by policy.", c->identity);
                break;
        case PS_REQ_SIGNED_BASE_LAYER:
                q->verdict = PS_VERDICT_REJECTED;
                r = setf(&q->reason, err, "signedBaseLayer is never satisfied (containers/image: not implemented)");
                break;
        case PS_REQ_SIGSTORE_SIGNED:
                q->verdict = PS_VERDICT_UNKNOWN;
                r = setf(&q->reason, err, "sigstoreSigned requirements are not supported by podsec yet");
                if (r == 0)
                        r = dup_into(&q->identity, ps_ident_type_name(view.identity.type), err);
                break;
        case PS_REQ_SIGNED_BY:
                r = eval_signed_by(c, req, &view, q, err);
                break;
        }
out:
        ps_requirement_view_clear(&view);
        return r;
}

static int eval_image(image_ctx *c, const json_t *reqs, ps_error *err)
{
        ps_verify_instance *im = c->im;
        size_t n = json_array_size(reqs);
        im->reqs = calloc(n ? n : 1, sizeof *im->reqs);
        if (!im->reqs)
                return oom(err);
        im->verdict = PS_VERDICT_ACCEPTED;
        for (size_t i = 0; i < n; i++) {
                ps_verify_req *q = &im->reqs[i];
                im->n_reqs = i + 1;
                int r = eval_requirement(c, json_array_get(reqs, i), i, q, err);
                if (r < 0)
                        return r;
                ps_verdict before = im->verdict;
                im->verdict = combine(im->verdict, q->verdict);
                /* the reason of the verdict: the first rejection, else the first unknown */
                if (im->verdict != before || (im->verdict != PS_VERDICT_ACCEPTED && !im->reason)) {
                        if (q->verdict == im->verdict &&
                            setf(&im->reason, err, "requirement %zu (%s): %s", i + 1, q->type_name,
                                 q->reason ? q->reason : "?") < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* ---- manifests -------------------------------------------------------------- */

static bool needs_manifest(const json_t *reqs)
{
        size_t i;
        const json_t *q;
        json_array_foreach(reqs, i, q) {
                const char *t = json_string_value(json_object_get(q, "type"));
                const char *kt = json_string_value(json_object_get(q, "keyType"));
                if (t && !strcmp(t, "signedBy") && kt && !strcmp(kt, "GPGKeys"))
                        return true;
        }
        return false;
}

typedef struct fetched {
        char *data;
        size_t len;
        char *media_type;
        char *digest;
        char *error;            /* set when not available */
} fetched;

static void fetched_clear(fetched *f)
{
        free(f->data);
        free(f->media_type);
        free(f->digest);
        free(f->error);
        memset(f, 0, sizeof *f);
}

/* Fetch REF at WHAT (tag or digest); failures end up in f->error.  A
 * digest WHAT is checked against the bytes. */
static int fetch(const ps_verify_opts *o, const ps_reference *ref, const char *what, fetched *f, ps_error *err)
{
        ps_error e = PS_ERROR_INIT;
        if (!o->source)
                return setf(&f->error, err, "no source to fetch the manifest of %s from", ref->name);
        int r = o->source->manifest(o->source->ctx, ref, what, &f->data, &f->len, &f->media_type, &e);
        if (r == -ENOMEM) {
                ps_error_clear(&e);
                return oom(err);
        }
        if (r < 0) {
                r = setf(&f->error, err, "cannot fetch the manifest of %s%s%s: %s", ref->name,
                         strchr(what, ':') ? "@" : ":", what, ps_error_msg(&e));
                ps_error_clear(&e);
                return r;
        }
        r = ps_sig_manifest_digest(f->data, f->len, &f->digest, &e);
        if (r == -ENOMEM) {
                ps_error_clear(&e);
                return oom(err);
        }
        if (r < 0) {
                r = setf(&f->error, err, "manifest of %s: %s", ref->name, ps_error_msg(&e));
                ps_error_clear(&e);
                return r;
        }
        if (strchr(what, ':') && !strncmp(what, "sha256:", 7) && strcmp(what, f->digest) != 0)
                return setf(&f->error, err, "the registry sent a manifest with digest %s for %s@%s", f->digest,
                            ref->name, what);
        return 0;
}

static int add_image(ps_verify_result *res, ps_verify_instance **out, ps_error *err)
{
        ps_verify_instance *n = realloc(res->images, (res->n_images + 1) * sizeof *n);
        if (!n)
                return oom(err);
        res->images = n;
        *out = &n[res->n_images++];
        memset(*out, 0, sizeof **out);
        return 0;
}

static int run_image(const ps_verify_opts *o, const ps_reference *ref, const char *identity, ps_verify_result *res,
                     const json_t *reqs, fetched *f, const char *platform, ps_error *err)
{
        ps_verify_instance *im = NULL;
        int r = add_image(res, &im, err);
        if (r < 0)
                return r;
        if ((f && (dup_into(&im->digest, f->digest, err) < 0 || dup_into(&im->media_type, f->media_type, err) < 0)) ||
            dup_into(&im->platform, platform, err) < 0)
                return -ENOMEM;
        image_ctx c = {
                .o = o, .ref = ref, .identity = identity, .res = res, .im = im,
                .manifest = f && !f->error ? f->data : NULL, .mlen = f ? f->len : 0,
                .manifest_error = f ? f->error : NULL,
        };
        r = eval_image(&c, reqs, err);
        image_ctx_clear(&c);
        return r;
}

static const char *host_arch(char *buf, size_t n)
{
        struct utsname u;
        if (uname(&u) < 0)
                return "amd64";
        snprintf(buf, n, "%s", u.machine);
        return buf;
}

int ps_verify_image(const ps_policy *pol, const char *reference, const ps_verify_opts *o, ps_verify_result *out,
                    ps_error *err)
{
        memset(out, 0, sizeof *out);
        ps_verify_opts dflt = { 0 };
        if (!o)
                o = &dflt;
        const char *s = reference;
        if (!strncmp(s, "docker://", 9))
                s += 9;
        ps_reference ref = { 0 };
        int r = ps_reference_parse(s, &ref, err);
        if (r < 0)
                return r;
        if (!ref.tag && !ref.digest && !(ref.tag = strdup("latest"))) {
                ps_reference_free(&ref);
                return oom(err);
        }
        _cleanup_free_ char *identity = NULL;
        r = ps_reference_identity(&ref, &identity, err);
        if (r < 0)
                goto done;
        out->reference = strdup(identity);
        if (!out->reference) {
                r = oom(err);
                goto done;
        }
        const char *scope = NULL;
        const json_t *reqs = NULL;
        r = ps_policy_scope_for(pol, identity, &scope, &out->scope_kind, &reqs, err);
        if (r < 0)
                goto done;
        if (scope && !(out->scope = strdup(scope))) {
                r = oom(err);
                goto done;
        }

        if (!needs_manifest(reqs)) {
                r = run_image(o, &ref, identity, out, reqs, NULL, NULL, err);
        } else {
                fetched top = { 0 };
                const char *what = ref.digest ? ref.digest : ref.tag;
                r = fetch(o, &ref, what, &top, err);
                ps_oci_kind kind = top.error ? PS_OCI_UNKNOWN : ps_oci_kind_of(top.media_type);
                if (r == 0 && !top.error && kind == PS_OCI_UNKNOWN)
                        kind = ps_oci_detect(top.data, top.len);
                if (r < 0 || top.error || !ps_oci_kind_is_index(kind)) {
                        if (r == 0)
                                r = run_image(o, &ref, identity, out, reqs, &top, NULL, err);
                        fetched_clear(&top);
                        goto verdict;
                }
                /* an index: check the instance(s) c/image would copy */
                if (dup_into(&out->index_digest, top.digest, err) < 0 ||
                    dup_into(&out->index_media_type, top.media_type, err) < 0) {
                        fetched_clear(&top);
                        r = -ENOMEM;
                        goto done;
                }
                ps_index *idx = NULL;
                ps_error e = PS_ERROR_INIT;
                r = ps_index_parse(top.data, top.len, top.media_type, &idx, &e);
                if (r < 0) {
                        fetched bad = { 0 };
                        r = setf(&bad.error, err, "cannot parse the image index %s: %s", top.digest, ps_error_msg(&e));
                        ps_error_clear(&e);
                        if (r == 0)
                                r = run_image(o, &ref, identity, out, reqs, &bad, NULL, err);
                        fetched_clear(&bad);
                        fetched_clear(&top);
                        goto verdict;
                }
                fetched_clear(&top);
                long pick = -1;
                if (!o->all_instances) {
                        char abuf[65];
                        const char *arch = o->arch ? o->arch : host_arch(abuf, sizeof abuf);
                        int k = ps_index_select(idx, o->os, arch, o->variant, &e);
                        if (k < 0) {
                                fetched bad = { 0 };
                                r = setf(&bad.error, err, "choosing an image from the index %s: %s",
                                         out->index_digest, ps_error_msg(&e));
                                ps_error_clear(&e);
                                if (r == 0)
                                        r = run_image(o, &ref, identity, out, reqs, &bad, NULL, err);
                                fetched_clear(&bad);
                                ps_index_free(idx);
                                goto verdict;
                        }
                        pick = k;
                }
                for (size_t i = 0; r == 0 && i < idx->n_manifests; i++) {
                        const ps_descriptor *d = &idx->manifests[i];
                        if (pick >= 0 ? (long)i != pick : !ps_oci_kind_is_manifest(ps_oci_kind_of(d->media_type)) &&
                                                                  !ps_oci_kind_is_index(ps_oci_kind_of(d->media_type)))
                                continue;
                        _cleanup_free_ char *plat = d->platform ? ps_platform_string(d->platform) : NULL;
                        fetched inst = { 0 };
                        r = fetch(o, &ref, d->digest.str, &inst, err);
                        if (r == 0 && !inst.error &&
                            ps_oci_kind_is_index(inst.media_type ? ps_oci_kind_of(inst.media_type)
                                                                 : ps_oci_detect(inst.data, inst.len)))
                                r = setf(&inst.error, err, "the index entry %s is itself an index",
                                         d->digest.str);
                        if (r == 0)
                                r = run_image(o, &ref, identity, out, reqs, &inst, plat, err);
                        fetched_clear(&inst);
                }
                ps_index_free(idx);
                if (r == 0 && out->n_images == 0) {
                        fetched bad = { 0 };
                        r = setf(&bad.error, err, "the image index %s lists no image manifests", out->index_digest);
                        if (r == 0)
                                r = run_image(o, &ref, identity, out, reqs, &bad, NULL, err);
                        fetched_clear(&bad);
                }
        }
verdict:
        if (r < 0)
                goto done;
        out->verdict = PS_VERDICT_ACCEPTED;
        for (size_t i = 0; i < out->n_images; i++) {
                ps_verify_instance *im = &out->images[i];
                ps_verdict before = out->verdict;
                out->verdict = combine(out->verdict, im->verdict);
                if (out->verdict != before || (out->verdict != PS_VERDICT_ACCEPTED && !out->reason)) {
                        if (im->verdict == out->verdict) {
                                r = im->platform ? setf(&out->reason, err, "%s (%s): %s", im->platform,
                                                        im->digest ? im->digest : "?", im->reason)
                                                 : setf(&out->reason, err, "%s", im->reason);
                                if (r < 0)
                                        goto done;
                        }
                }
        }
done:
        ps_reference_free(&ref);
        if (r < 0)
                ps_verify_result_clear(out);
        return r;
}

/* ---- the network source ------------------------------------------------------ */

struct ps_verify_net {
        char *root;
        char *home;
        char *ca_file;
        const ps_regd *regd;
        bool insecure;
        int tries;
        long timeout_s;
        ps_registry *reg;
        char *reg_host;
};

int ps_verify_net_new(const ps_verify_net_opts *o, ps_verify_net **out, ps_error *err)
{
        *out = NULL;
        if (!o || !o->regd)
                return ps_error_set(err, EINVAL, "verify: no registries.d configuration");
        ps_verify_net *n = calloc(1, sizeof *n);
        if (!n)
                return oom(err);
        n->regd = o->regd;
        n->insecure = o->insecure;
        n->tries = o->tries;
        n->timeout_s = o->timeout_s;
        if ((o->root && !(n->root = strdup(o->root))) || (o->home && !(n->home = strdup(o->home))) ||
            (o->ca_file && !(n->ca_file = strdup(o->ca_file)))) {
                ps_verify_net_free(n);
                return oom(err);
        }
        *out = n;
        return 0;
}

void ps_verify_net_free(ps_verify_net *n)
{
        if (!n)
                return;
        free(n->root);
        free(n->home);
        free(n->ca_file);
        ps_registry_free(n->reg);
        free(n->reg_host);
        free(n);
}

static int net_manifest(void *ctx, const ps_reference *ref, const char *what, char **data, size_t *len,
                        char **media_type, ps_error *err)
{
        ps_verify_net *n = ctx;
        /* docker.io is served by registry-1.docker.io */
        const char *host = !strcmp(ref->domain, "docker.io") ? "registry-1.docker.io" : ref->domain;
        if (!*host)
                return ps_error_set(err, EINVAL, "\"%s\" names no registry host", ref->name);
        if (!n->reg || strcmp(n->reg_host, host) != 0) {
                ps_registry_free(n->reg);
                n->reg = NULL;
                free(n->reg_host);
                n->reg_host = strdup(host);
                if (!n->reg_host)
                        return oom(err);
                ps_registry_opts ro = {
                        .insecure = n->insecure,
                        .ca_file = n->ca_file,
                        .tries = n->tries,
                        .request_timeout_ms = n->timeout_s * 1000,
                        .connect_timeout_ms = n->timeout_s > 0 && n->timeout_s < 15 ? n->timeout_s * 1000 : 0,
                };
                int r = ps_registry_new(host, &ro, &n->reg, err);
                if (r < 0)
                        return r;
        }
        ps_registry_manifest m = { 0 };
        int r = ps_registry_manifest_get(n->reg, ref->path, what, NULL, &m, err);
        if (r < 0)
                return r;
        *data = steal_pointer(&m.data);
        *len = m.len;
        *media_type = steal_pointer(&m.media_type);
        ps_registry_manifest_free(&m);
        return 0;
}

static int net_signatures(void *ctx, const ps_reference *ref, const char *reference, const char *digest,
                          ps_sig_list *out, char **where, ps_error *err)
{
        ps_verify_net *n = ctx;
        ps_regd_match m = { 0 };
        int r = ps_regd_lookup_ref(n->regd, reference, false, n->home, &m, err);
        if (r < 0)
                return r;
        if (where && !(*where = strdup(m.url))) {
                ps_regd_match_clear(&m);
                return oom(err);
        }
        ps_sigstore_read_opts so = {
                .root = n->root,
                .ca_file = n->ca_file,
                .timeout = n->timeout_s,
                .connect_timeout = n->timeout_s > 0 && n->timeout_s < 10 ? n->timeout_s : 0,
        };
        r = ps_sigstore_read(m.url, ref->path, digest, &so, out, err);
        ps_regd_match_clear(&m);
        return r;
}

ps_verify_source ps_verify_net_source(ps_verify_net *n)
{
        return (ps_verify_source){ .manifest = net_manifest, .signatures = net_signatures, .ctx = n };
}
