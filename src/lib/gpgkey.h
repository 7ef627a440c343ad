/* SPDX-License-Identifier: GPL-2.0-or-later */
/* OpenPGP key generation and export in a given GnuPG home (GPGME), for
 * image makers' signing keys.  Signing and verification live in gpg.h.
 *
 * These functions work on whatever home directory they are given, as the
 * calling process: to put a key into a user's own keyring, run them as
 * that user (ps_run_as_user in users.h), so that gpg, gpg-agent and every
 * file they create belong to the user and root never writes into a
 * directory the user controls. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

typedef enum {
        PS_GPGKEY_ED25519,    /* the default */
        PS_GPGKEY_RSA2048,
        PS_GPGKEY_RSA3072,
        PS_GPGKEY_RSA4096,
} ps_gpgkey_type;

/* "ed25519", "rsa2048", "rsa3072", "rsa4096" (the names gpg uses). */
int ps_gpgkey_type_parse(const char *s, ps_gpgkey_type *t, ps_error *err);
const char *ps_gpgkey_type_name(ps_gpgkey_type t);

/* A user id for a new key: non-empty valid UTF-8 of at most 256 bytes
 * without control characters; when it contains '<' it must end with one
 * "<address>" whose address has an '@' and no '<', '>' or blank. */
int ps_gpgkey_uid_check(const char *uid, ps_error *err);

/* Longest passphrase accepted (gpg-agent's own limit is 255 bytes per
 * Assuan line once escaped; 1 KiB is plenty for a passphrase). */
#define PS_GPGKEY_PASSPHRASE_MAX 1024

typedef struct ps_gpgkey_gen {
        const char *homedir;      /* GnuPG home; must exist (mode 0700) */
        const char *uid;          /* "Name <address>" */
        ps_gpgkey_type type;
        const char *passphrase;   /* NULL: gpg-agent asks through pinentry;
                                   * else given by loopback pinentry (must not
                                   * be empty or contain '\n') */
} ps_gpgkey_gen;

/* Generate a signing-only primary key without expiry.  *fpr gets its
 * fingerprint (uppercase hex, malloc'd). */
int ps_gpgkey_generate(const ps_gpgkey_gen *g, char **fpr, ps_error *err);

/* Fingerprints of the usable secret signing keys in HOMEDIR with a user id
 * exactly equal to UID (not revoked, expired, disabled or invalid).
 * NULL-terminated, possibly empty; free with ps_strv_free. */
int ps_gpgkey_find_secret(const char *homedir, const char *uid, char ***fprs, ps_error *err);
/* Is the secret part of the key with primary fingerprint FPR in HOMEDIR
 * and usable for signing? */
int ps_gpgkey_has_secret(const char *homedir, const char *fpr, bool *has, ps_error *err);

/* Export the public key FPR (minimal: the key, its user ids and
 * self-signatures), ASCII-armored.  *data is malloc'd and NUL-terminated. */
int ps_gpgkey_export(const char *homedir, const char *fpr, char **data, size_t *len, ps_error *err);

/* Stop every GnuPG daemon started for HOMEDIR ("gpgconf --kill all" with
 * GNUPGHOME=HOMEDIR). */
int ps_gpgkey_stop_agent(const char *homedir, ps_error *err);
