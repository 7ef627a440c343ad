/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Distribution of the trust policy from the registry node to client nodes
 * (spec core §2.3 step 5, §2.5, §2.6; defects D7, W5, W7).
 *
 * The registry node publishes SIGSTORE_DIR/keys/ over HTTP (nginx JSON
 * autoindex): the image makers' public keys NAME.pgp, policy.json (a copy
 * of its system policy) and, when policy signing is in use,
 * policy.json.sig.  A client node downloads the whole set into memory,
 * validates all of it, and only then installs anything.
 *
 * What a set must be (the same rules on the client, which downloads it,
 * and on the registry node, which signs it):
 *   - names: [A-Za-z0-9._-], no leading '.', at most 255 bytes, and one
 *     of NAME.pgp (a key), "policy.json", "policy.json.sig"; no
 *     duplicates; only "file" entries; at most PS_KEYSYNC_MAX_FILES;
 *   - sizes: listing PS_KEYSYNC_LISTING_MAX, each key PS_KEYSYNC_KEY_MAX,
 *     the policy PS_POLICY_MAX_SIZE, the signature PS_KEYSYNC_SIG_MAX, all
 *     together PS_KEYSYNC_TOTAL_MAX;
 *   - every key file holds at least one OpenPGP public key (imported into
 *     a throw-away GnuPG home, as a verifier would);
 *   - policy.json is present and parses in STRICT mode (policy.h), and every
 *     keyPath / keyPaths entry of every requirement (default and every
 *     scope of every transport) is exactly KEYS_DIR/NAME for a key NAME of
 *     the set (KEYS_DIR = SIGSTORE_DIR/keys as seen on the node, e.g.
 *     /var/sigstore/keys); keyData is accepted as it is self-contained.
 *
 * The signature, policy.json.sig: a binary OpenPGP signed message (what
 * `gpg --sign` writes, the payload embedded, not armored) made with the
 * administrator's policy-signing key.  Its payload is a manifest that
 * covers the policy AND the keys it names, because a signature over
 * policy.json alone would let whoever controls the plain-HTTP path swap a
 * key file while keeping the signed policy:
 *     {
 *       "files": {
 *         "imk.pgp": "sha256:<hex of the file>",
 *         "policy.json": "sha256:<hex of the file>"
 *       },
 *       "type": "podsec-policy-distribution",
 *       "version": 1
 *     }
 * (keys sorted, 2-space indent, trailing newline).  A client with a trust
 * key accepts a set only when the signature is valid, made by a key in its
 * trust key file, and the manifest names exactly the set's files (other
 * than the signature) with exactly their digests.  Checked by hand with
 * `gpg --decrypt policy.json.sig` and `sha256sum`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "fetch.h"
#include "gpg.h"

#define PS_KEYSYNC_POLICY "policy.json"
#define PS_KEYSYNC_SIG "policy.json.sig"
#define PS_KEYSYNC_NAME_MAX 255
#define PS_KEYSYNC_MAX_FILES 1000
#define PS_KEYSYNC_LISTING_MAX ((size_t)1 << 20)
#define PS_KEYSYNC_KEY_MAX ((size_t)1 << 20)
#define PS_KEYSYNC_SIG_MAX ((size_t)1 << 20)
#define PS_KEYSYNC_TOTAL_MAX ((size_t)64 << 20)
#define PS_KEYSYNC_MANIFEST_TYPE "podsec-policy-distribution"

typedef enum ps_ks_kind {
        PS_KS_KEY,        /* NAME.pgp */
        PS_KS_POLICY,     /* policy.json */
        PS_KS_SIG,        /* policy.json.sig */
} ps_ks_kind;

/* Check a file name from a listing (rules above); *kind (may be NULL)
 * gets its kind. */
int ps_keysync_name_check(const char *name, ps_ks_kind *kind, ps_error *err);

/* Parse an nginx JSON autoindex listing (an array of objects with "name",
 * "type", "mtime", "size"; duplicate keys refused) into the list of names,
 * in listing order.  Every entry must be a "file" with a valid name; no
 * duplicates; policy.json must be there (else -EINVAL too).  WHAT (the
 * URL) names it in messages. */
int ps_keysync_parse_listing(const char *text, size_t len, const char *what, char ***names, ps_error *err);

typedef struct ps_ks_file {
        char *name;
        ps_ks_kind kind;
        char *data;           /* NUL-terminated copy */
        size_t len;
        char **fprs;          /* keys: primary fingerprints (after validation) */
} ps_ks_file;

typedef struct ps_ks_set {
        ps_ks_file *files;    /* sorted by name */
        size_t n;
        size_t total;         /* bytes */
} ps_ks_set;

void ps_ks_set_clear(ps_ks_set *s);
/* Add a copy of DATA under NAME (name rules, per-kind size limit, total
 * limit, no duplicates). */
int ps_ks_set_add(ps_ks_set *s, const char *name, const void *data, size_t len, ps_error *err);
const ps_ks_file *ps_ks_set_get(const ps_ks_set *s, const char *name);
/* Remove NAME (0 when it was there, -ENOENT otherwise). */
int ps_ks_set_remove(ps_ks_set *s, const char *name);
/* Add or replace NAME. */
int ps_ks_set_put(ps_ks_set *s, const char *name, const void *data, size_t len, ps_error *err);

/* Validate the set as described above; fills each key's fingerprints.
 * Errors name the file and what is wrong with it. */
int ps_keysync_validate(ps_ks_set *s, const char *keys_dir, ps_error *err);

/* GET KEYS_URL (a '/' is added when missing), parse the listing and GET
 * every file into S (not validated yet).  OPTS gives timeouts and
 * resolve entries; size limits are set per file.  Errors are those of
 * ps_fetch (ps_fetch_unreachable) or -EINVAL/-EFBIG for a refused
 * listing. */
int ps_keysync_fetch(const char *keys_url, const ps_fetch_opts *opts, ps_ks_set *s, ps_error *err);

/* Read the files of DIR (the registry node's keys directory) as a set, as
 * nginx would list them: names starting with '.' are skipped (nginx does
 * not list them); anything else must obey the rules (a subdirectory, a
 * symbolic link or a stray file is an error). */
int ps_keysync_read_dir(const char *dir, ps_ks_set *s, ps_error *err);

/* The manifest text of S (every file but the signature).  malloc'd, NULL
 * on ENOMEM. */
char *ps_keysync_manifest(const ps_ks_set *s, size_t *len);

/* Sign the manifest of S.  *sig is malloc'd; *fpr (may be NULL) gets the
 * primary fingerprint of the signing key. */
int ps_keysync_sign(const ps_gpg_sign_opts *o, const ps_ks_set *s, void **sig, size_t *siglen, char **fpr,
                    ps_error *err);

typedef struct ps_ks_verified {
        char *fingerprint;    /* primary fingerprint of the signer */
        int64_t sig_time;     /* signature creation time */
} ps_ks_verified;
void ps_ks_verified_clear(ps_ks_verified *v);

/* Verify S's policy.json.sig with the public keys in TRUST (bytes of an
 * OpenPGP key file; WHAT names it): -ENOENT when S has no signature,
 * -EBADMSG / -EKEY* from ps_gpg_verify, -EBADMSG when the manifest is not
 * one or does not match S (the message names the first file that
 * differs, is missing or is not covered). */
int ps_keysync_verify(const ps_ks_set *s, const void *trust, size_t tlen, const char *what, ps_ks_verified *out,
                      ps_error *err);

/* Registry node: does S's policy.json.sig (if any) already verify over S
 * with the public key(s) of O->key exported from O->homedir?  *current is
 * false when there is no signature or it does not verify (tampered,
 * stale, another key); an error only when the key cannot be exported. */
int ps_keysync_sig_current(const ps_ks_set *s, const ps_gpg_sign_opts *o, bool *current, ps_error *err);

typedef struct ps_ks_sign_result {
        bool written;         /* a new policy.json.sig was written (or would be, dry run) */
        char *fingerprint;    /* the signing key (when signed) */
        size_t n_keys;        /* key files covered */
} ps_ks_sign_result;
void ps_ks_sign_result_clear(ps_ks_sign_result *r);

/* Registry node: sign the keys directory DIR (root-prefixed) as it is now:
 * read it (ps_keysync_read_dir), validate it as a client would (KEYS_DIR
 * is the directory as seen on the node, e.g. /var/sigstore/keys), and
 * unless FORCE, keep an existing signature that is current; otherwise sign
 * and replace DIR/policy.json.sig atomically (root 0644; not with
 * DRY_RUN).  For commands that change keys/policy.json (user
 * add-imagemaker): call it afterwards when the site setting
 * policy_signing_key is set. */
int ps_keysync_sign_dir(const char *dir, const char *keys_dir, const ps_gpg_sign_opts *o, bool force,
                        bool dry_run, ps_ks_sign_result *res, ps_error *err);
