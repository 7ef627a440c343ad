/* SPDX-License-Identifier: GPL-2.0-or-later */
/* "Simple signing" payloads (containers-signature(5)) and the glue that
 * signs or verifies a manifest with them.
 *
 * A payload is a JSON document, exactly
 *   {"critical": {"identity": {"docker-reference": REF},
 *                 "image": {"docker-manifest-digest": DIGEST},
 *                 "type": "atomic container signature"},
 *    "optional": {"creator": STRING, "timestamp": INTEGER, ...}}
 * parsed as containers/image does (signature/simple.go, strictUnmarshalJSON
 * over internal/json.go ParanoidUnmarshalJSONObject):
 *   - the top object has exactly the members "critical" and "optional";
 *   - "critical" has exactly "type", "image", "identity"; "image" exactly
 *     "docker-manifest-digest"; "identity" exactly "docker-reference" (all
 *     present, no other member, all of the right JSON type);
 *   - critical.type is exactly "atomic container signature";
 *   - the digest is a valid go-digest ("sha256:" + 64 lowercase hex, or
 *     sha384/96, sha512/128);
 *   - "optional" is an object whose unknown members are ignored; "creator"
 *     must be a string and "timestamp" a number with an integral value
 *     (c/image decodes it as a float64 and rejects a fractional part, so
 *     1.7e9 is accepted; null counts as absent);
 *   - duplicate members anywhere, trailing data, invalid UTF-8 and NUL
 *     bytes in strings reject the document (stricter than Go's decoder for
 *     duplicates inside ignored optional values).
 * The docker-reference is returned as signed; it is NOT checked against a
 * grammar here (c/image does that when it matches the policy identity), so
 * callers must compare it with what they expect. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "gpg.h"

#define PS_SIG_TYPE "atomic container signature"
/* Largest payload and manifest handled (c/image iolimits: 4 MiB). */
#define PS_SIG_PAYLOAD_MAX ((size_t)4 << 20)
#define PS_MANIFEST_MAX ((size_t)4 << 20)

typedef struct ps_sig_payload {
        char *docker_reference;   /* critical.identity.docker-reference */
        char *manifest_digest;    /* critical.image.docker-manifest-digest ("algo:hex") */
        char *creator;            /* optional.creator, NULL when absent */
        bool has_timestamp;
        int64_t timestamp;        /* optional.timestamp, seconds since the epoch */
} ps_sig_payload;

/* Parse an (untrusted!) payload.  On failure *out is left zeroed and the
 * error says which rule was broken ("invalid signature payload: ...");
 * the code is EBADMSG (ENOMEM when out of memory). */
int ps_sig_payload_parse(const void *data, size_t len, ps_sig_payload *out, ps_error *err);
void ps_sig_payload_clear(ps_sig_payload *p);

/* Build the compact payload
 *   {"critical":{"identity":{"docker-reference":REF},"image":{"docker-manifest-digest":DIGEST},
 *    "type":"atomic container signature"},"optional":{"creator":CREATOR,"timestamp":TS}}
 * CREATOR NULL means "podsec <version>"; TIMESTAMP < 0 means now.
 * REF must be a fully expanded reference (ps_sig_reference_check) and
 * DIGEST a valid digest.  *out is malloc'd and NUL-terminated; len may be
 * NULL. */
int ps_sig_payload_build(const char *docker_reference, const char *manifest_digest,
                         const char *creator, int64_t timestamp, char **out, size_t *len,
                         ps_error *err);

/* go-digest validation: "sha256:" + 64, "sha384:" + 96 or "sha512:" + 128
 * lowercase hex digits. */
bool ps_sig_digest_valid(const char *digest);
/* A fully expanded docker reference as it belongs in a signature:
 * host[:port]/path[:tag][@digest] where host contains '.' or ':' or is
 * "localhost", path components are lowercase [a-z0-9] with "." "_" "__" "-"+
 * separators, tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, total name length at
 * most 255.  Returns 0 or -EINVAL with the reason. */
int ps_sig_reference_check(const char *ref, ps_error *err);
/* One repository path component: [a-z0-9]+ ((.|_|__|-+)[a-z0-9]+)* */
bool ps_sig_path_component_valid(const char *s, size_t n);

/* "sha256:<hex>" of MANIFEST's bytes (what the registry serves as
 * Docker-Content-Digest).  Docker schema 1 signed manifests (whose digest
 * excludes the JWS signatures) are refused with -ENOTSUP. */
int ps_sig_manifest_digest(const void *manifest, size_t len, char **digest, ps_error *err);

/* Sign MANIFEST as DOCKER_REFERENCE: digest, payload (creator "podsec
 * <version>", timestamp now), OpenPGP signed message with the key chosen
 * by OPTS.  *sig is malloc'd. *fingerprint (optional) gets the signing
 * key's primary fingerprint. */
int ps_sig_sign_manifest(const void *manifest, size_t len, const char *docker_reference,
                         const ps_gpg_sign_opts *opts, void **sig, size_t *siglen,
                         char **fingerprint, ps_error *err);

typedef struct ps_sig_verified {
        ps_sig_payload payload;   /* the verified payload */
        char *fingerprint;        /* primary key fingerprint of the signer (a trusted key) */
        char *signer_fpr;         /* the (sub)key that made the signature */
        int64_t sig_time;         /* OpenPGP signature creation time */
} ps_sig_verified;

/* Verify SIG with the trusted keys in V, parse the payload, and check that
 * it signs MANIFEST (digest of its bytes).  When EXPECTED_REFERENCE is not
 * NULL the signed docker-reference must equal it exactly (no
 * normalisation; policy identity rules belong to the policy module).
 * Errors: whatever ps_gpg_verify returns, EBADMSG for a bad payload,
 * EKEYREJECTED for a digest or identity mismatch. */
int ps_sig_verify_manifest(ps_gpg_verifier *v, const void *sig, size_t siglen,
                           const void *manifest, size_t mlen, const char *expected_reference,
                           ps_sig_verified *out, ps_error *err);
void ps_sig_verified_clear(ps_sig_verified *v);
