/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OpenPGP signing and verification through GPGME, as containers/image's
 * gpgme mechanism does it (signature/mechanism_gpgme.go):
 *
 * Signing uses the caller's keyring (GNUPGHOME, ~/.gnupg, or a given
 * directory) and produces a binary, non-armored OpenPGP "signed message"
 * with the payload embedded (GPGME_SIG_MODE_NORMAL).  The passphrase comes
 * from gpg-agent/pinentry, or, when the caller supplies one, through
 * GPGME_PINENTRY_MODE_LOOPBACK (gpg-agent must allow loopback pinentry,
 * which gnupg 2.2 does by default).
 *
 * Verification never touches a user's keyring: a ps_gpg_verifier owns a
 * private temporary GNUPGHOME (mkdtemp, 0700, removed by
 * ps_gpg_verifier_free) into which only the trusted public keys are
 * imported; the same verifier checks any number of signatures.  A
 * signature is accepted exactly when c/image accepts it: one signature,
 * status GPG_ERR_NO_ERROR (so not bad, not made by an unknown key, not by
 * an expired or revoked key, not expired itself), validity not NEVER, no
 * validity reason, no wrong key usage; owner trust is not consulted (the
 * caller decides which keys are trusted by importing them), and the
 * signing (sub)key must belong to an imported key.  The temporary home
 * gets "no-autostart" so no gpg-agent is ever started there.  A verifier
 * is not thread-safe; use one per thread.  Each verification runs gpg once
 * (GPGME spawns it): tens of milliseconds, dominated by process start. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* Key files are read up to this size. */
#define PS_GPG_KEYFILE_MAX ((size_t)16 << 20)
/* Signature blobs and embedded payloads are limited to 4 MiB each (c/image
 * iolimits.MaxSignatureBodySize); a compressed message that expands
 * beyond that is refused. */
#define PS_GPG_SIG_MAX ((size_t)4 << 20)

typedef struct ps_gpg_sign_opts {
        const char *homedir;      /* NULL: $GNUPGHOME, else ~/.gnupg */
        const char *key;          /* fingerprint, key id ("0x" optional), or e-mail / user id */
        const char *passphrase;   /* NULL: gpg-agent and pinentry; else loopback (no '\n') */
} ps_gpg_sign_opts;

/* Initialise GPGME once (thread-safe, idempotent); checks that an OpenPGP
 * engine (gpg) is installed.  Every other function calls it. */
int ps_gpg_init(ps_error *err);

/* Sign DATA.  The key is looked up among the secret keys: an argument
 * containing '@' and no '<' or space is matched as an exact e-mail address
 * ("<addr>"), anything else as gpg would match it; revoked, expired,
 * disabled and invalid keys and keys that cannot sign are skipped; no match
 * gives -ENOKEY, more than one -EINVAL listing the candidates.  A wrong
 * passphrase gives -EACCES.  *sig is malloc'd; *fingerprint (may be NULL)
 * gets the primary fingerprint of the key used. */
int ps_gpg_sign(const ps_gpg_sign_opts *opts, const void *data, size_t len, void **sig,
                size_t *siglen, char **fingerprint, ps_error *err);

typedef struct ps_gpg_verifier ps_gpg_verifier;

int ps_gpg_verifier_new(ps_gpg_verifier **ret, ps_error *err);
/* Import the public keys of a key file (binary or armored; several keys
 * allowed).  A file without any importable public key is an error
 * (-ENOKEY).  *added (optional) gets the number of keys imported. */
int ps_gpg_verifier_add_key_file(ps_gpg_verifier *v, const char *path, size_t *added, ps_error *err);
/* The same for bytes (policy "keyData" after base64 decoding); WHAT names
 * the source in messages. */
int ps_gpg_verifier_add_key_data(ps_gpg_verifier *v, const void *data, size_t len,
                                 const char *what, size_t *added, ps_error *err);
/* Primary fingerprints (uppercase hex) of the imported keys, in import
 * order, without duplicates; NULL-terminated, owned by V. */
const char *const *ps_gpg_verifier_fingerprints(const ps_gpg_verifier *v, size_t *n);
/* The temporary GNUPGHOME (for diagnostics). */
const char *ps_gpg_verifier_home(const ps_gpg_verifier *v);
void ps_gpg_verifier_free(ps_gpg_verifier *v);
static inline void ps_gpg_verifier_freep(ps_gpg_verifier **v)
{
        if (*v)
                ps_gpg_verifier_free(*v);
}

typedef struct ps_gpg_verified {
        void *payload;            /* the signed bytes (malloc'd, NUL-terminated) */
        size_t payload_len;
        char *fingerprint;        /* primary fingerprint of the signer (one of the trusted keys) */
        char *signer_fpr;         /* fingerprint of the (sub)key that signed */
        int64_t sig_time;         /* signature creation time */
} ps_gpg_verified;

/* Verify an OpenPGP signed message against the trusted keys of V.
 * Errors (with the key id or fingerprint in the message):
 *   -EBADMSG     not an OpenPGP signed message, several signatures, or a
 *                bad (tampered) signature
 *   -EKEYREJECTED made by a key that is not among the trusted ones, or
 *                otherwise not valid (wrong key usage, validity never)
 *   -EKEYEXPIRED  the key or the signature has expired
 *   -EKEYREVOKED  the key has been revoked
 *   -EFBIG       signature or payload larger than PS_GPG_SIG_MAX */
int ps_gpg_verify(ps_gpg_verifier *v, const void *sig, size_t len, ps_gpg_verified *out, ps_error *err);
void ps_gpg_verified_clear(ps_gpg_verified *r);

/* Primary fingerprints of the public keys in a key file (or in bytes), as
 * they would be trusted by a verifier; NULL-terminated vector, free with
 * ps_strv_free. */
int ps_gpg_key_file_fingerprints(const char *path, char ***fprs, ps_error *err);
int ps_gpg_key_data_fingerprints(const void *data, size_t len, const char *what, char ***fprs,
                                 ps_error *err);
