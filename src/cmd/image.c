/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec image verify: would podman/skopeo, with root's or a user's
 * effective trust policy, accept this image?  Which signature satisfied
 * which requirement.
 *
 * podsec image sign: a standalone simple-signing signature of a manifest,
 * interchangeable with `skopeo standalone-sign`.
 *
 * (image load-sign and image save live in image-load.c / image-save.c.) */
#include "cmd.h"
#include "cleanup.h"
#include "effective.h"
#include "fs.h"
#include "gpg.h"
#include "policy.h"
#include "reference.h"
#include "registries.h"
#include "signature.h"
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
        V_ACCEPTED = 0,
        V_REJECTED = 1,
        V_UNKNOWN = 2,          /* could not check; also usage and configuration errors */
};

static int oom(ps_ctx *ctx, int code)
{
        ps_err(ctx, _("out of memory"));
        return code;
}

/* ---- --cert-dir ----------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        return remove(p);
}

static int crt_filter(const struct dirent *d)
{
        size_t n = strlen(d->d_name);
        return n > 4 && d->d_name[0] != '.' && !strcmp(d->d_name + n - 4, ".crt");
}

/* The CA bundle of a containers-certs.d style directory: its *.crt files
 * (one file is used as it is; several are joined into a file in a private
 * temporary directory, *tmpdir, which the caller removes). */
static int cert_dir_bundle(const char *dir, char **bundle, char **tmpdir, ps_error *err)
{
        struct dirent **names = NULL;
        int n = scandir(dir, &names, crt_filter, alphasort);
        if (n < 0)
                return ps_error_errno(err, errno, "--cert-dir %s", dir);
        int r = 0;
        _cleanup_free_ char *all = NULL;
        size_t all_len = 0;
        if (n == 0) {
                r = ps_error_set(err, ENOENT, "--cert-dir %s: no *.crt file", dir);
                goto out;
        }
        if (n == 1) {
                *bundle = ps_path_join(dir, names[0]->d_name);
                if (!*bundle)
                        r = ps_error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = ps_path_join(dir, names[i]->d_name), *data = NULL;
                size_t len = 0;
                if (!p) {
                        r = ps_error_set(err, ENOMEM, "out of memory");
                        goto out;
                }
                r = ps_read_file(p, 4u << 20, &data, &len, err);
                if (r < 0)
                        goto out;
                char *nb = realloc(all, all_len + len + 2);
                if (!nb) {
                        r = ps_error_set(err, ENOMEM, "out of memory");
                        goto out;
                }
                all = nb;
                memcpy(all + all_len, data, len);
                all_len += len;
                all[all_len++] = '\n';
        }
        char tmpl[] = "/tmp/podsec-certs.XXXXXX";
        if (!mkdtemp(tmpl)) {
                r = ps_error_errno(err, errno, "cannot create a temporary directory");
                goto out;
        }
        *tmpdir = strdup(tmpl);
        *bundle = ps_path_join(tmpl, "ca-bundle.crt");
        if (!*tmpdir || !*bundle) {
                r = ps_error_set(err, ENOMEM, "out of memory");
                goto out;
        }
        r = ps_write_atomic(*bundle, all, all_len, 0600, err);
out:
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

/* ---- verify output --------------------------------------------------------- */

static json_t *strv_json(char **v)
{
        json_t *a = json_array();
        for (char **p = v; a && p && *p; p++)
                if (json_array_append_new(a, json_string(*p)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *req_json(const ps_verify_req *q)
{
        json_t *o = json_pack("{s:I, s:s, s:s, s:s?}", "index", (json_int_t)q->index + 1, "type", q->type_name,
                              "verdict", ps_verdict_name(q->verdict), "reason", q->reason);
        if (!o)
                return NULL;
        if (q->identity)
                json_object_set_new(o, "signedIdentity", json_string(q->identity));
        if (q->keys)
                json_object_set_new(o, "keys", strv_json(q->keys));
        if (q->key_files)
                json_object_set_new(o, "key_files", strv_json(q->key_files));
        if (q->type == PS_REQ_SIGNED_BY) {
                json_object_set_new(o, "satisfied_by",
                                    q->satisfied_by ? json_integer(q->satisfied_by) : json_null());
                json_t *sigs = json_array();
                for (size_t i = 0; sigs && i < q->n_sigs; i++) {
                        const ps_verify_sig *s = &q->sigs[i];
                        json_t *so = json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:s?}", "index", (json_int_t)s->index,
                                               "result", s->accepted ? "accepted" : "rejected", "fingerprint",
                                               s->fingerprint, "identity", s->signed_reference, "digest",
                                               s->signed_digest, "reason", s->reason);
                        if (so && s->sig_time)
                                json_object_set_new(so, "time", json_integer(s->sig_time));
                        json_array_append_new(sigs, so);
                }
                json_object_set_new(o, "signatures", sigs);
        }
        return o;
}

static json_t *result_json(const ps_verify_result *r, const ps_effective *e, const char *policy_file,
                           const char *given)
{
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "reference", given, "identity", r->reference, "verdict",
                              ps_verdict_name(r->verdict), "user", e->user, "reason", r->reason);
        if (!o)
                return NULL;
        json_object_set_new(o, "policy", json_pack("{s:s, s:s}", "file", policy_file, "source",
                                                   !strcmp(policy_file, e->policy_file ? e->policy_file : "")
                                                           ? (e->policy_user ? "user" : "system")
                                                           : "option"));
        json_object_set_new(o, "scope", r->scope ? json_string(r->scope) : json_null());
        json_object_set_new(o, "scope_kind", json_string(ps_scope_kind_name(r->scope_kind)));
        json_object_set_new(o, "lookaside", r->lookaside ? json_string(r->lookaside) : json_null());
        json_object_set_new(o, "index_digest", r->index_digest ? json_string(r->index_digest) : json_null());
        json_t *imgs = json_array();
        for (size_t i = 0; imgs && i < r->n_images; i++) {
                const ps_verify_instance *im = &r->images[i];
                json_t *io = json_pack("{s:s?, s:s?, s:s?, s:s, s:s?}", "digest", im->digest, "media_type",
                                       im->media_type, "platform", im->platform, "verdict",
                                       ps_verdict_name(im->verdict), "reason", im->reason);
                json_t *reqs = json_array();
                for (size_t j = 0; reqs && j < im->n_reqs; j++)
                        json_array_append_new(reqs, req_json(&im->reqs[j]));
                if (io)
                        json_object_set_new(io, "requirements", reqs);
                else
                        json_decref(reqs);
                json_array_append_new(imgs, io);
        }
        json_object_set_new(o, "images", imgs);
        return o;
}

static const char *short_fpr(const char *f)
{
        size_t n = f ? strlen(f) : 0;
        return n > 16 ? f + n - 16 : f ? f : "?";
}

static void print_text(const ps_verify_result *r, const ps_effective *e, const char *policy_file, bool policy_opt)
{
        FILE *f = stdout;
        fprintf(f, "%-12s%s\n", _("Image:"), r->reference);
        fprintf(f, "%-12s%s (%s, user %s)\n", _("Policy:"), ps_effective_node_path(e->root, policy_file),
                policy_opt ? _("--policy") : e->policy_user ? _("the user's own") : _("system"), e->user);
        if (r->scope)
                fprintf(f, "%-12sdocker \"%s\" (%s)\n", _("Scope:"), r->scope, ps_scope_kind_name(r->scope_kind));
        else
                fprintf(f, "%-12s%s\n", _("Scope:"), _("default (no docker scope matches)"));
        if (r->lookaside)
                fprintf(f, "%-12s%s\n", _("Lookaside:"), r->lookaside);
        if (r->index_digest)
                fprintf(f, "%-12s%s\n", _("Index:"), r->index_digest);
        for (size_t i = 0; i < r->n_images; i++) {
                const ps_verify_instance *im = &r->images[i];
                if (im->digest || im->platform)
                        fprintf(f, "%-12s%s%s%s%s\n", _("Manifest:"), im->digest ? im->digest : "-",
                                im->platform ? " (" : "", im->platform ? im->platform : "", im->platform ? ")" : "");
                for (size_t j = 0; j < im->n_reqs; j++) {
                        const ps_verify_req *q = &im->reqs[j];
                        fprintf(f, "  %s %zu: %s", _("requirement"), q->index + 1, q->type_name);
                        if (q->identity)
                                fprintf(f, " (%s)", q->identity);
                        if (q->keys && q->keys[0]) {
                                fputs(_(", keys"), f);
                                for (char **k = q->keys; *k; k++)
                                        fprintf(f, " %s", *k);
                        }
                        if (q->verdict == PS_VERDICT_ACCEPTED && q->satisfied_by)
                                fprintf(f, ": %s signature-%u\n", _("satisfied by"), q->satisfied_by);
                        else if (q->verdict == PS_VERDICT_ACCEPTED)
                                fprintf(f, ": %s\n", _("satisfied"));
                        else
                                fprintf(f, ": %s: %s\n",
                                        q->verdict == PS_VERDICT_REJECTED ? _("NOT satisfied") : _("could not check"),
                                        q->reason ? q->reason : "?");
                        for (size_t k = 0; k < q->n_sigs; k++) {
                                const ps_verify_sig *s = &q->sigs[k];
                                if (s->accepted)
                                        fprintf(f, "    signature-%u: %s %s, %s %s\n", s->index,
                                                _("accepted: signed by"), s->fingerprint, _("for"),
                                                s->signed_reference);
                                else if (s->fingerprint)
                                        fprintf(f, "    signature-%u: %s (%s %s): %s\n", s->index, _("rejected"),
                                                _("key"), short_fpr(s->fingerprint), s->reason);
                                else
                                        fprintf(f, "    signature-%u: %s: %s\n", s->index, _("rejected"), s->reason);
                        }
                }
        }
        const char *v = r->verdict == PS_VERDICT_ACCEPTED ? _("ACCEPTED")
                        : r->verdict == PS_VERDICT_REJECTED ? _("REJECTED")
                                                            : _("COULD NOT CHECK");
        fprintf(f, "%-12s%s\n", _("Verdict:"), v);
}

/* ---- verify: a source that reports a broken registries.d when asked ------- */

typedef struct wrap_source {
        ps_verify_source inner;
        const char *regd_error;   /* registries.d could not be read */
} wrap_source;

static int wrap_manifest(void *ctx, const ps_reference *ref, const char *what, char **data, size_t *len,
                         char **media_type, ps_error *err)
{
        wrap_source *w = ctx;
        return w->inner.manifest(w->inner.ctx, ref, what, data, len, media_type, err);
}

static int wrap_signatures(void *ctx, const ps_reference *ref, const char *reference, const char *digest,
                           ps_sig_list *out, char **where, ps_error *err)
{
        wrap_source *w = ctx;
        if (w->regd_error)
                return ps_error_set(err, EINVAL, "registries.d: %s", w->regd_error);
        return w->inner.signatures(w->inner.ctx, ref, reference, digest, out, where, err);
}

static void verify_usage(FILE *f, const char *prog)
{
        fprintf(f, _("Usage: %s [OPTIONS] REFERENCE\n\n"), prog);
        fputs(_("Decide whether podman/skopeo would accept the image REFERENCE (a docker\n"
                "reference, \"docker://\" optional) under the trust policy in effect for root\n"
                "or USER, and show which signature satisfied which requirement.\n\n"
                "The policy is the user's ~/.config/containers/policy.json when it exists, else\n"
                "/etc/containers/policy.json; signatures are read from the lookaside URL\n"
                "registries.d names for the image (the user's registries.d replaces the\n"
                "system one).  All requirements of the most specific scope must hold:\n"
                "insecureAcceptAnything holds without looking at the image; reject never\n"
                "holds; signedBy holds when one signature stored for the manifest digest is\n"
                "valid, made by one of its keys (keyPath, keyPaths, keyData), signs this\n"
                "manifest and names an identity signedIdentity accepts.  For an image index\n"
                "the instance for this machine's platform is checked (as podman pull does),\n"
                "or every instance with --all (as skopeo copy --all does).\n\n"
                "Options:\n"
                "  --user USER          the policy of USER (home from /etc/passwd); default root\n"
                "  --policy FILE        use this policy file instead\n"
                "  --registries.d DIR   use this registries.d directory instead\n"
                "  --tls-verify=BOOL    false: talk plain http to the registry (default: https,\n"
                "                       unless the registry is insecure in registries.conf or\n"
                "                       is the site's registry)\n"
                "  --ca-file FILE       extra CA bundle for https\n"
                "  --cert-dir DIR       extra CAs: the *.crt files in DIR\n"
                "  --arch ARCH, --os OS, --variant V\n"
                "                       the platform to pick from an index (default: this machine)\n"
                "  --all                check every instance of an index\n"
                "  -h, --help           this help\n"
                "Global options (before 'image'): --root DIR reads every file (policy, keys,\n"
                "registries.d, passwd, file:// lookasides) under DIR; --json prints one JSON\n"
                "object: {\"reference\", \"identity\", \"user\", \"policy\": {\"file\", \"source\"},\n"
                "\"scope\", \"scope_kind\", \"lookaside\", \"index_digest\", \"verdict\":\n"
                "\"accepted\"|\"rejected\"|\"unknown\", \"reason\", \"images\": [{\"digest\",\n"
                "\"media_type\", \"platform\", \"verdict\", \"reason\", \"requirements\": [{\"index\",\n"
                "\"type\", \"verdict\", \"reason\", \"signedIdentity\", \"keys\", \"key_files\",\n"
                "\"satisfied_by\", \"signatures\": [{\"index\", \"result\", \"fingerprint\",\n"
                "\"identity\", \"digest\", \"time\", \"reason\"}]}]}]}.\n\n"
                "Exit status:\n"
                "  0  accepted\n"
                "  1  rejected\n"
                "  2  could not check: registry or lookaside unreachable (a missing signature\n"
                "     is a rejection, an HTTP error other than 404 is not), unreadable keys,\n"
                "     a requirement podsec does not support (sigstoreSigned), unknown user,\n"
                "     no or invalid policy, invalid reference, usage error\n"), f);
}

static bool parse_bool(const char *s, bool *out)
{
        if (!strcmp(s, "true") || !strcmp(s, "1")) {
                *out = true;
                return true;
        }
        if (!strcmp(s, "false") || !strcmp(s, "0")) {
                *out = false;
                return true;
        }
        return false;
}

PS_CMD(cmd_image_verify)
{
        enum { O_POLICY = 256, O_REGD, O_TLS, O_CA, O_CERTDIR, O_ARCH, O_OS, O_VARIANT, O_ALL, O_USER };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "user", required_argument, NULL, O_USER },
                { "policy", required_argument, NULL, O_POLICY },
                { "registries.d", required_argument, NULL, O_REGD },
                { "tls-verify", optional_argument, NULL, O_TLS },
                { "ca-file", required_argument, NULL, O_CA },
                { "cert-dir", required_argument, NULL, O_CERTDIR },
                { "arch", required_argument, NULL, O_ARCH },
                { "os", required_argument, NULL, O_OS },
                { "variant", required_argument, NULL, O_VARIANT },
                { "all", no_argument, NULL, O_ALL },
                { 0 },
        };
        const char *user = NULL, *policy_opt = NULL, *regd_opt = NULL, *ca_file = NULL, *cert_dir = NULL;
        const char *arch = NULL, *os = NULL, *variant = NULL;
        bool tls_verify = true, tls_given = false, all = false;
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (o) {
                case 'h': verify_usage(stdout, argv[0]); return 0;
                case O_USER: user = optarg; break;
                case O_POLICY: policy_opt = optarg; break;
                case O_REGD: regd_opt = optarg; break;
                case O_TLS:
                        tls_given = true;
                        if (optarg && !parse_bool(optarg, &tls_verify)) {
                                ps_err(ctx, _("image verify: --tls-verify takes true or false, not \"%s\""), optarg);
                                return V_UNKNOWN;
                        }
                        if (!optarg)
                                tls_verify = true;
                        break;
                case O_CA: ca_file = optarg; break;
                case O_CERTDIR: cert_dir = optarg; break;
                case O_ARCH: arch = optarg; break;
                case O_OS: os = optarg; break;
                case O_VARIANT: variant = optarg; break;
                case O_ALL: all = true; break;
                default:
                        fprintf(stderr, _("Usage: %s [OPTIONS] REFERENCE   (see --help)\n"), argv[0]);
                        return V_UNKNOWN;
                }
        }
        if (argc - optind != 1) {
                ps_err(ctx, argc - optind ? _("image verify: exactly one REFERENCE, please")
                                          : _("image verify: which image?  REFERENCE is missing"));
                fprintf(stderr, _("Usage: %s [OPTIONS] REFERENCE   (see --help)\n"), argv[0]);
                return V_UNKNOWN;
        }
        if ((user && !*user) || (ca_file && cert_dir)) {
                ps_err(ctx, user && !*user ? _("image verify: --user needs a user name")
                                           : _("image verify: --ca-file and --cert-dir exclude each other"));
                return V_UNKNOWN;
        }
        const char *given = argv[optind];
        ps_error err = PS_ERROR_INIT;

        /* the reference first: its registry decides http or https */
        const char *bare = !strncmp(given, "docker://", 9) ? given + 9 : given;
        if (strstr(bare, "://")) {
                ps_err(ctx, _("image verify: \"%s\" is not a docker reference (only the docker transport is "
                              "verified)"),
                       given);
                return V_UNKNOWN;
        }
        ps_reference ref;
        if (ps_reference_parse(bare, &ref, &err) < 0)
                return ps_fail(ctx, &err, V_UNKNOWN);
        _cleanup_free_ char *domain = strdup(ref.domain);
        ps_reference_free(&ref);
        if (!domain)
                return oom(ctx, V_UNKNOWN);

        _cleanup_(ps_effective_clear) ps_effective eff = { 0 };
        if (ps_effective_find(ctx->root, user, &eff, &err) < 0)
                return ps_fail(ctx, &err, V_UNKNOWN);
        _cleanup_policy_ ps_policy *pol = NULL;
        const char *policy_file = policy_opt ? policy_opt : eff.policy_file;
        int r = policy_opt ? ps_policy_load_flags(policy_opt, PS_POLICY_COMPAT, &pol, &err)
                           : ps_effective_load_policy(&eff, PS_POLICY_COMPAT, &pol, &err);
        if (r < 0)
                return ps_fail(ctx, &err, V_UNKNOWN);
        _cleanup_regd_ ps_regd *regd = NULL;
        _cleanup_free_ char *regd_error = NULL;
        r = regd_opt ? ps_regd_load_dir(regd_opt, &regd, &err) : ps_effective_load_regd(&eff, &regd, &err);
        if (r == -ENOMEM)
                return ps_fail(ctx, &err, V_UNKNOWN);
        if (r < 0) {
                /* only an error when a signature has to be read, as for podman */
                regd_error = strdup(ps_error_msg(&err));
                ps_error_clear(&err);
                regd = ps_regd_new();
                if (!regd_error || !regd)
                        return oom(ctx, V_UNKNOWN);
        }

        bool insecure = tls_given && !tls_verify;
        if (!tls_given) {
                if (ctx->conf.registry && !strcmp(ctx->conf.registry, domain)) {
                        insecure = true;
                } else {
                        int k = ps_effective_registry_insecure(&eff, domain, &err);
                        if (k < 0) {
                                ps_err(ctx, _("warning: %s; using https"), ps_error_msg(&err));
                                ps_error_clear(&err);
                        }
                        insecure = k == 1;
                }
        }
        _cleanup_free_ char *bundle = NULL, *tmpdir = NULL;
        if (cert_dir && cert_dir_bundle(cert_dir, &bundle, &tmpdir, &err) < 0) {
                if (tmpdir)
                        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
                return ps_fail(ctx, &err, V_UNKNOWN);
        }

        ps_verify_net *net = NULL;
        ps_verify_net_opts no = {
                .root = ctx->root,
                .regd = regd,
                .home = ps_effective_builtin_home(&eff),
                .insecure = insecure,
                .ca_file = ca_file ? ca_file : bundle,
                .tries = 2,
        };
        r = ps_verify_net_new(&no, &net, &err);
        if (r < 0) {
                if (tmpdir)
                        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
                return ps_fail(ctx, &err, V_UNKNOWN);
        }
        wrap_source w = { .inner = ps_verify_net_source(net), .regd_error = regd_error };
        ps_verify_source src = { .manifest = wrap_manifest, .signatures = wrap_signatures, .ctx = &w };
        ps_verify_opts vo = {
                .root = ctx->root, .source = &src, .os = os, .arch = arch, .variant = variant, .all_instances = all,
        };
        ps_verify_result res;
        r = ps_verify_image(pol, given, &vo, &res, &err);
        ps_verify_net_free(net);
        if (tmpdir)
                nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        if (r < 0)
                return ps_fail(ctx, &err, V_UNKNOWN);

        int rc = res.verdict == PS_VERDICT_ACCEPTED ? V_ACCEPTED
                 : res.verdict == PS_VERDICT_REJECTED ? V_REJECTED
                                                      : V_UNKNOWN;
        if (ctx->json) {
                json_t *doc = result_json(&res, &eff, policy_file, given);
                _cleanup_free_ char *text = doc ? ps_json_dump_jq(doc) : NULL;
                json_decref(doc);
                if (!text) {
                        ps_verify_result_clear(&res);
                        return oom(ctx, V_UNKNOWN);
                }
                printf("%s\n", text);
        } else {
                print_text(&res, &eff, policy_file, policy_opt != NULL);
        }
        if (res.verdict == PS_VERDICT_REJECTED)
                ps_err(ctx, _("image %s rejected: %s"), res.reference, res.reason ? res.reason : "?");
        else if (res.verdict == PS_VERDICT_UNKNOWN)
                ps_err(ctx, _("image %s: could not check: %s"), res.reference, res.reason ? res.reason : "?");
        ps_verify_result_clear(&res);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ps_err(ctx, _("image verify: cannot write the output: %s"), strerror(errno));
                return V_UNKNOWN;
        }
        return rc;
}

/* ---- sign ------------------------------------------------------------------- */

static void sign_usage(FILE *f, const char *prog)
{
        fprintf(f, _("Usage: %s [OPTIONS] -o FILE MANIFEST REFERENCE SIGNER\n\n"), prog);
        fputs(_("Write a standalone \"simple signing\" signature (containers-signature(5)) of\n"
                "the manifest file MANIFEST for the docker reference REFERENCE, made with\n"
                "the secret key SIGNER (a fingerprint, key id or e-mail address) from the\n"
                "GnuPG keyring.  The result is what `skopeo standalone-sign` writes and\n"
                "`skopeo standalone-verify` checks; stored as signature-N in a lookaside\n"
                "store it is what podman and skopeo verify.  REFERENCE is written fully\n"
                "expanded (\"busybox:1\" becomes docker.io/library/busybox:1).\n\n"
                "Options:\n"
                "  -o, --output FILE        where to write the signature (replaced atomically)\n"
                "  --passphrase-file FILE   the key's passphrase (first line); default: gpg-agent\n"
                "  --gnupg-home DIR         the keyring (default $GNUPGHOME, else ~/.gnupg)\n"
                "  -h, --help               this help\n"
                "With the global --json: {\"file\", \"reference\", \"digest\", \"fingerprint\"}.\n\n"
                "Exit status: 0 signed, 1 failed, 2 usage error.\n"), f);
}

static int read_passphrase(const char *file, char **out, ps_error *err)
{
        size_t len = 0;
        int r = ps_read_file(file, 64 * 1024, out, &len, err);
        if (r < 0)
                return r;
        char *nl = memchr(*out, '\n', len);
        if (nl) {
                if (nl > *out && nl[-1] == '\r')
                        nl--;
                *nl = '\0';
        }
        if (strlen(*out) != (nl ? (size_t)(nl - *out) : len))
                return ps_error_set(err, EINVAL, "%s: the passphrase contains a NUL byte", file);
        return 0;
}

PS_CMD(cmd_image_sign)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "output", required_argument, NULL, 'o' },
                { "passphrase-file", required_argument, NULL, 'p' },
                { "gnupg-home", required_argument, NULL, 'g' },
                { 0 },
        };
        const char *output = NULL, *pfile = NULL, *home = NULL;
        int o;
        while ((o = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
                switch (o) {
                case 'h': sign_usage(stdout, argv[0]); return 0;
                case 'o': output = optarg; break;
                case 'p': pfile = optarg; break;
                case 'g': home = optarg; break;
                default:
                        fprintf(stderr, _("Usage: %s [OPTIONS] -o FILE MANIFEST REFERENCE SIGNER   (see --help)\n"),
                                argv[0]);
                        return 2;
                }
        }
        if (argc - optind != 3 || !output || !*output) {
                ps_err(ctx, argc - optind != 3 ? _("image sign: MANIFEST, REFERENCE and SIGNER are needed")
                                               : _("image sign: -o FILE is needed"));
                fprintf(stderr, _("Usage: %s [OPTIONS] -o FILE MANIFEST REFERENCE SIGNER   (see --help)\n"), argv[0]);
                return 2;
        }
        const char *mfile = argv[optind], *given = argv[optind + 1], *signer = argv[optind + 2];
        ps_error err = PS_ERROR_INIT;
        if (!*signer) {
                ps_err(ctx, _("image sign: SIGNER is empty"));
                return 2;
        }
        ps_reference ref;
        const char *bare = !strncmp(given, "docker://", 9) ? given + 9 : given;
        if (ps_reference_parse(bare, &ref, &err) < 0)
                return ps_fail(ctx, &err, 1);
        bool name_only = !ref.tag && !ref.digest;
        _cleanup_free_ char *full = ps_reference_string(&ref);
        ps_reference_free(&ref);
        if (!full)
                return oom(ctx, 1);
        if (name_only)
                ps_err(ctx, _("warning: %s has neither a tag nor a digest: only matchRepository and "
                              "exactRepository policies accept such a signature"),
                       full);
        _cleanup_free_ char *manifest = NULL, *pass = NULL, *digest = NULL, *fpr = NULL;
        _cleanup_free_ void *sig = NULL;
        size_t mlen = 0, slen = 0;
        if (ps_read_file(mfile, PS_MANIFEST_MAX, &manifest, &mlen, &err) < 0)
                return ps_fail(ctx, &err, 1);
        if (pfile && read_passphrase(pfile, &pass, &err) < 0)
                return ps_fail(ctx, &err, 1);
        if (ps_sig_manifest_digest(manifest, mlen, &digest, &err) < 0) {
                ps_error_wrap(&err, "%s", mfile);
                return ps_fail(ctx, &err, 1);
        }
        ps_gpg_sign_opts so = { .homedir = home, .key = signer, .passphrase = pass };
        if (ps_sig_sign_manifest(manifest, mlen, full, &so, &sig, &slen, &fpr, &err) < 0) {
                ps_error_wrap(&err, "cannot sign %s as %s with key \"%s\"", mfile, full, signer);
                return ps_fail(ctx, &err, 1);
        }
        if (ps_write_atomic(output, sig, slen, 0644, &err) < 0)
                return ps_fail(ctx, &err, 1);
        if (ctx->json) {
                json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "file", output, "reference", full, "digest", digest,
                                        "fingerprint", fpr);
                _cleanup_free_ char *text = doc ? ps_json_dump_jq(doc) : NULL;
                json_decref(doc);
                if (!text)
                        return oom(ctx, 1);
                printf("%s\n", text);
        } else {
                printf(_("Signed %s (%s) as %s with key %s: %s\n"), mfile, digest, full, fpr, output);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ps_err(ctx, _("image sign: cannot write the output: %s"), strerror(errno));
                return 1;
        }
        return 0;
}
