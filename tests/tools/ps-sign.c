/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps-sign: test driver over signature/gpg/sigstore, the counterpart of
 * "skopeo standalone-sign".
 *
 *   ps-sign MANIFEST_FILE REFERENCE KEY [-o FILE] [--passphrase-file F]
 *           [--homedir GNUPGHOME] [--lookaside file:///DIR [--root R]]
 *
 * Signs the sha256 digest of MANIFEST_FILE's bytes as REFERENCE (a fully
 * expanded docker reference) with KEY (fingerprint, key id or e-mail) from
 * the keyring in --homedir, $GNUPGHOME or ~/.gnupg.  -o writes the
 * signature to FILE; --lookaside adds it to the lookaside store as
 * <dir>/<repository path>@sha256=<hex>/signature-N (the repository path is
 * REFERENCE without host, tag and digest).  Prints "fingerprint FPR" and,
 * with --lookaside, "stored PATH".  The passphrase file's first line is
 * the passphrase (loopback pinentry).  Errors: "ps-sign: MESSAGE" on
 * stderr, exit 1; usage errors exit 2. */
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

static int fail(ps_error *err)
{
        fprintf(stderr, "ps-sign: %s\n", ps_error_msg(err));
        ps_error_clear(err);
        return 1;
}

static int usage(void)
{
        fprintf(stderr, "usage: ps-sign MANIFEST_FILE REFERENCE KEY [-o FILE] [--passphrase-file F] "
                        "[--homedir DIR] [--lookaside file:///DIR [--root R]]\n");
        return 2;
}

/* "host[:port]/a/b:tag@digest" -> "a/b" */
/* the repository path of REF without host, tag and digest ("c10f/pause") */
static char *repo_path(const char *ref)
{
        ps_reference r;
        ps_error err = PS_ERROR_INIT;
        if (ps_reference_parse(ref, &r, &err) < 0) {
                fprintf(stderr, "%s: %s\n", "ps-sign", ps_error_msg(&err));
                ps_error_clear(&err);
                return NULL;
        }
        char *p = strdup(r.path);
        ps_reference_free(&r);
        if (!p)
                fprintf(stderr, "ps-sign: out of memory\n");
        return p;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "output", required_argument, NULL, 'o' },
                { "passphrase-file", required_argument, NULL, 'p' },
                { "homedir", required_argument, NULL, 'H' },
                { "lookaside", required_argument, NULL, 'l' },
                { "root", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *out = NULL, *passfile = NULL, *homedir = NULL, *lookaside = NULL, *root = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                switch (c) {
                case 'o': out = optarg; break;
                case 'p': passfile = optarg; break;
                case 'H': homedir = optarg; break;
                case 'l': lookaside = optarg; break;
                case 'r': root = optarg; break;
                case 'h': usage(); return 0;
                default: return usage();
                }
        }
        if (argc - optind != 3 || (!out && !lookaside))
                return usage();
        const char *manifest_file = argv[optind], *ref = argv[optind + 1], *key = argv[optind + 2];
        ps_error err = PS_ERROR_INIT;

        _cleanup_free_ char *pass = NULL;
        if (passfile) {
                size_t n = 0;
                if (ps_read_file(passfile, 64 << 10, &pass, &n, &err) < 0)
                        return fail(&err);
                pass[strcspn(pass, "\n")] = '\0';
                size_t l = strlen(pass);
                if (l && pass[l - 1] == '\r')
                        pass[l - 1] = '\0';
        }
        _cleanup_free_ char *manifest = NULL;
        size_t mlen = 0;
        if (ps_read_file(manifest_file, PS_MANIFEST_MAX, &manifest, &mlen, &err) < 0)
                return fail(&err);
        ps_gpg_sign_opts so = { .homedir = homedir, .key = key, .passphrase = pass };
        _cleanup_free_ void *sig = NULL;
        _cleanup_free_ char *fpr = NULL;
        size_t slen = 0;
        if (ps_sig_sign_manifest(manifest, mlen, ref, &so, &sig, &slen, &fpr, &err) < 0)
                return fail(&err);
        if (out && ps_write_atomic(out, sig, slen, 0644, &err) < 0)
                return fail(&err);
        printf("fingerprint %s\n", fpr);
        if (lookaside) {
                _cleanup_free_ char *digest = NULL, *repo = repo_path(ref), *path = NULL;
                if (!repo)
                        return 1;
                if (ps_sig_manifest_digest(manifest, mlen, &digest, &err) < 0 ||
                    ps_sigstore_write(root, lookaside, repo, digest, sig, slen, NULL, &path, &err) < 0)
                        return fail(&err);
                printf("stored %s\n", path);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("ps-sign: cannot write to standard output");
                return 1;
        }
        return 0;
}
