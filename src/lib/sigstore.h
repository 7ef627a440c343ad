/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The lookaside signature store (containers-registries.d(5), c/image
 * docker/registries_d.go lookasideStorageURL and
 * docker/docker_image_src.go getOneSignature):
 *
 *   <base>/<repository path>@<algo>=<hex>/signature-<N>      N = 1, 2, ...
 *
 * The repository path has no registry host ("c10f/pause", not
 * "registry.local/c10f/pause").  Trailing slashes of BASE are dropped before
 * joining (c/image keeps them and asks for ".../sigstore//c10f/..."; file
 * systems and nginx treat both alike).  BASE is "file:///abs/path" (host
 * part empty or "localhost"; %XX escapes decoded), "http://..." or
 * "https://..." (no query or fragment).
 *
 * Reading takes signature-1, -2, ... until the first missing one (file: no
 * such file; http: status 404), each of at most PS_SIGSTORE_SIG_MAX bytes.
 * c/image (maxLookasideSignatures = 128) gives up when signature-128 exists,
 * so at most 127 signatures are usable: a reader finding signature-128
 * fails like c/image, and the writer never creates it.
 *
 * Writing (file:// only) never replaces a signature: the new signature is
 * written and fsync'd under a temporary name inside the signature directory,
 * then hard-linked to the first free signature-N (link(2) fails with EEXIST
 * when the name is taken, so concurrent writers probe upward and each gets
 * its own N), then the temporary name is removed.  Readers (nginx, skopeo)
 * therefore never see a partly written signature.  On file systems without
 * hard links it falls back to open(O_CREAT|O_EXCL) + write.  A crash can
 * leave a ".sig-tmp-*" file behind; readers ignore it.
 *
 * Directories that do not exist yet are created with mode 0775 (plus the
 * set-group-id bit when the parent has it) and the group of their parent
 * when the writer may set it: the store is shared by all image makers
 * (group podman_dev), and a directory made by one of them must accept the
 * next one's signatures.  Directories below BASE are entered with
 * O_NOFOLLOW: a symlink planted in the shared tree is refused.  Signature
 * files are 0644 (the web server reads them as "nobody").
 *
 * A ROOT argument (--root) maps file:// paths below ROOT; NULL = host. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define PS_SIGSTORE_MAX_SIGS 127
#define PS_SIGSTORE_SIG_MAX ((size_t)4 << 20)

typedef struct ps_sig_blob {
        unsigned char *data;
        size_t len;
} ps_sig_blob;

typedef struct ps_sig_list {
        ps_sig_blob *v;
        size_t n;
} ps_sig_list;

void ps_sig_list_clear(ps_sig_list *l);

/* A repository path as in a docker reference, without host, tag or digest:
 * "/"-separated components [a-z0-9]+ with "." "_" "__" "-"+ separators. */
bool ps_sigstore_repo_valid(const char *repo);

/* URL of signature-INDEX (INDEX >= 1); INDEX 0 gives the signature
 * directory URL with a trailing '/'.  DIGEST is "algo:hex". */
int ps_sigstore_url(const char *base, const char *repo, const char *digest, unsigned index, char **url,
                    ps_error *err);
/* Local directory of the signatures for a file:// BASE, under ROOT. */
int ps_sigstore_local_dir(const char *root, const char *base, const char *repo, const char *digest,
                          char **dir, ps_error *err);

/* Add SIG to a file:// store.  *index (optional) gets N, *path (optional)
 * the file written.  -EPROTONOSUPPORT for an http(s) BASE (read-only),
 * -E2BIG when signature-1..PS_SIGSTORE_MAX_SIGS all exist. */
int ps_sigstore_write(const char *root, const char *base, const char *repo, const char *digest,
                      const void *sig, size_t len, unsigned *index, char **path, ps_error *err);

typedef struct ps_sigstore_read_opts {
        const char *root;         /* file:// paths below ROOT */
        long connect_timeout;     /* seconds, 0 = 10 */
        long timeout;             /* seconds per signature, 0 = 60 */
        const char *ca_file;      /* https: CA bundle, NULL = system default */
} ps_sigstore_read_opts;

/* Read all signatures of DIGEST in REPO.  OPTS may be NULL.  No signature
 * at all is not an error (out->n == 0).  http errors name the URL and the
 * status. */
int ps_sigstore_read(const char *base, const char *repo, const char *digest, const ps_sigstore_read_opts *opts,
                     ps_sig_list *out, ps_error *err);
