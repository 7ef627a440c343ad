/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps-verify: test driver over signature/gpg/sigstore, the counterpart of
 * "skopeo standalone-verify".
 *
 *   ps-verify MANIFEST_FILE REFERENCE SIGNATURE_FILE KEYFILE...
 *   ps-verify --lookaside URL [--root R] MANIFEST_FILE REFERENCE KEYFILE...
 *
 * Verifies that the signature was made by one of the keys in the key files
 * (binary or armored) for exactly MANIFEST_FILE's digest and REFERENCE.
 * With --lookaside, all signatures of the manifest digest are read from the
 * store (file:// or http(s)://; the repository path is REFERENCE without
 * host, tag and digest) and at least one must verify.  For each verified
 * signature prints
 *   fingerprint FPR
 *   identity REFERENCE
 *   digest DIGEST
 * Exit 0 when verified, 1 otherwise (reasons on stderr), 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "fs.h"
#include "gpg.h"
#include "reference.h"
#include "signature.h"
#include "sigstore.h"

static int usage(void)
{
        fprintf(stderr, "usage: ps-verify MANIFEST_FILE REFERENCE SIGNATURE_FILE KEYFILE...\n"
                        "       ps-verify --lookaside URL [--root R] MANIFEST_FILE REFERENCE KEYFILE...\n");
        return 2;
}

/* the repository path of REF without host, tag and digest ("c10f/pause") */
static char *repo_path(const char *ref)
{
        ps_reference r;
        ps_error err = PS_ERROR_INIT;
        if (ps_reference_parse(ref, &r, &err) < 0) {
                fprintf(stderr, "%s: %s\n", "ps-verify", ps_error_msg(&err));
                ps_error_clear(&err);
                return NULL;
        }
        char *p = strdup(r.path);
        ps_reference_free(&r);
        if (!p)
                fprintf(stderr, "ps-verify: out of memory\n");
        return p;
}

static void print_verified(const ps_sig_verified *v)
{
        printf("fingerprint %s\nidentity %s\ndigest %s\n", v->fingerprint, v->payload.docker_reference,
               v->payload.manifest_digest);
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "lookaside", required_argument, NULL, 'l' },
                { "root", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *lookaside = NULL, *root = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'l': lookaside = optarg; break;
                case 'r': root = optarg; break;
                case 'h': usage(); return 0;
                default: return usage();
                }
        }
        int fixed = lookaside ? 2 : 3;
        if (argc - optind < fixed + 1)
                return usage();
        const char *manifest_file = argv[optind], *ref = argv[optind + 1];
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *manifest = NULL;
        size_t mlen = 0;
        if (ps_read_file(manifest_file, PS_MANIFEST_MAX, &manifest, &mlen, &err) < 0) {
                fprintf(stderr, "ps-verify: %s\n", ps_error_msg(&err));
                return 1;
        }
        _cleanup_(ps_gpg_verifier_freep) ps_gpg_verifier *v = NULL;
        if (ps_gpg_verifier_new(&v, &err) < 0) {
                fprintf(stderr, "ps-verify: %s\n", ps_error_msg(&err));
                return 1;
        }
        for (int i = optind + fixed; i < argc; i++) {
                if (ps_gpg_verifier_add_key_file(v, argv[i], NULL, &err) < 0) {
                        fprintf(stderr, "ps-verify: %s\n", ps_error_msg(&err));
                        return 1;
                }
        }

        ps_sig_list sigs = { 0 };
        if (lookaside) {
                _cleanup_free_ char *repo = repo_path(ref), *digest = NULL;
                if (!repo)
                        return 1;
                ps_sigstore_read_opts ro = { .root = root };
                if (ps_sig_manifest_digest(manifest, mlen, &digest, &err) < 0 ||
                    ps_sigstore_read(lookaside, repo, digest, &ro, &sigs, &err) < 0) {
                        fprintf(stderr, "ps-verify: %s\n", ps_error_msg(&err));
                        return 1;
                }
                if (sigs.n == 0) {
                        fprintf(stderr, "ps-verify: no signature for %s (%s) in %s\n", ref, digest, lookaside);
                        return 1;
                }
        } else {
                char *buf = NULL;
                size_t len = 0;
                if (ps_read_file(argv[optind + 2], PS_GPG_SIG_MAX, &buf, &len, &err) < 0) {
                        fprintf(stderr, "ps-verify: %s\n", ps_error_msg(&err));
                        return 1;
                }
                sigs.v = calloc(1, sizeof *sigs.v);
                if (!sigs.v) {
                        free(buf);
                        fprintf(stderr, "ps-verify: out of memory\n");
                        return 1;
                }
                sigs.v[0].data = (unsigned char *)buf;
                sigs.v[0].len = len;
                sigs.n = 1;
        }
        size_t ok = 0;
        for (size_t i = 0; i < sigs.n; i++) {
                ps_sig_verified out;
                if (ps_sig_verify_manifest(v, sigs.v[i].data, sigs.v[i].len, manifest, mlen, ref, &out, &err) < 0) {
                        fprintf(stderr, "ps-verify: signature %zu: %s\n", i + 1, ps_error_msg(&err));
                        ps_error_clear(&err);
                        continue;
                }
                print_verified(&out);
                ps_sig_verified_clear(&out);
                ok++;
        }
        ps_sig_list_clear(&sigs);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("ps-verify: cannot write to standard output");
                return 1;
        }
        return ok ? 0 : 1;
}
