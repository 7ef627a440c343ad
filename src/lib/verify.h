/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Would podman/skopeo accept this image?  Evaluation of a trust policy for
 * one docker reference, as containers/image does it when it pulls
 * (signature/policy_eval.go, policy_eval_signedby.go, copy/copy.go):
 *
 *  1. the requirement list of the most specific scope applies
 *     (ps_policy_scope_for); ALL its requirements must be satisfied;
 *  2. insecureAcceptAnything is satisfied without looking at the image;
 *     reject is never satisfied; signedBaseLayer is never satisfied
 *     (c/image: "not implemented yet");
 *  3. signedBy (keyType GPGKeys; other key types reject, as in c/image):
 *     the manifest is fetched (by tag or digest); every signature stored
 *     for the manifest's digest in the lookaside store is verified
 *     against the keys the requirement names (keyPath, keyPaths, keyData,
 *     resolved under the root), its signed digest must match the manifest
 *     bytes and its signed identity must satisfy signedIdentity
 *     (identity.h).  One valid signature satisfies the requirement; none
 *     at all is "A signature was required, but no signature exists";
 *     a stored blob that is not a signature at all (ps_verify_sig_format)
 *     makes c/image refuse every signature of the image, so it rejects
 *     the requirement even when another signature is valid;
 *  4. sigstoreSigned is not supported by podsec yet: the verdict is
 *     "could not check".
 *
 * Multi-platform images: when the reference names an image index or
 * manifest list, c/image never checks the list itself: it copies the
 * instance for the current platform (or, with --all, every instance) and
 * checks each copied instance, reading signatures stored for the
 * instance's digest, with the reference as given (tag or list digest) as
 * the identity.  podsec does the same.
 *
 * Verdicts are three-valued.  REJECTED when any requirement is definitely
 * not satisfied; otherwise UNKNOWN ("could not check") when something
 * could not be evaluated (registry or lookaside unreachable, an error
 * other than 404 from the lookaside, key files that cannot be read, an
 * unsupported requirement); otherwise ACCEPTED.  Everything is recorded:
 * per image instance, per requirement, per signature.
 *
 * The network is reached only through a ps_verify_source, so the
 * evaluation itself can be tested without a registry; ps_verify_net
 * provides the real one (Docker Registry v2 + lookaside store). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "policy.h"
#include "reference.h"
#include "registries.h"
#include "sigstore.h"

typedef enum ps_verdict {
        PS_VERDICT_ACCEPTED = 0,
        PS_VERDICT_REJECTED = 1,
        PS_VERDICT_UNKNOWN = 2,         /* could not check */
} ps_verdict;

/* "accepted", "rejected", "unknown" */
const char *ps_verdict_name(ps_verdict v);

typedef struct ps_verify_sig {
        unsigned index;                 /* N of signature-N (from 1) */
        bool accepted;
        char *fingerprint;              /* primary key of the (trusted) signer; NULL when GPG
                                         * verification failed */
        char *signed_reference;         /* the payload's docker-reference (after GPG verification) */
        char *signed_digest;            /* the payload's docker-manifest-digest */
        int64_t sig_time;               /* OpenPGP signature creation time, 0 when unknown */
        char *reason;                   /* why it does not satisfy the requirement; NULL if accepted */
} ps_verify_sig;

typedef struct ps_verify_req {
        size_t index;                   /* position in the requirement list (from 0) */
        ps_req_type type;
        char *type_name;                /* as in the policy */
        char *identity;                 /* signedIdentity type name, NULL for other requirements */
        ps_verdict verdict;
        char *reason;                   /* summary; NULL when satisfied by insecureAcceptAnything */
        char **keys;                    /* NULL-terminated trusted fingerprints (signedBy), else NULL */
        char **key_files;               /* NULL-terminated key files read (under the root), else NULL */
        ps_verify_sig *sigs;
        size_t n_sigs;
        unsigned satisfied_by;          /* signature-N that satisfied it, 0 for none */
} ps_verify_req;

typedef struct ps_verify_instance {
        char *digest;                   /* manifest digest; NULL when the manifest was not needed */
        char *media_type;
        char *platform;                 /* "os/arch[/variant]" of an index instance, else NULL */
        ps_verdict verdict;
        char *reason;
        ps_verify_req *reqs;
        size_t n_reqs;
} ps_verify_instance;

typedef struct ps_verify_result {
        char *reference;                /* the image as the policy sees it: name:tag or name@digest */
        char *scope;                    /* docker scope used; "" = transport default; NULL = "default" */
        ps_scope_kind scope_kind;
        char *index_digest;             /* when the reference names an index/list: its digest */
        char *index_media_type;
        char *lookaside;                /* where signatures were read (the source's description) */
        ps_verdict verdict;
        char *reason;                   /* the first reason for a non-accepted verdict */
        ps_verify_instance *images;        /* one per instance checked (one for a plain image) */
        size_t n_images;
} ps_verify_result;

void ps_verify_result_clear(ps_verify_result *r);

/* Where manifests and signatures come from. */
typedef struct ps_verify_source {
        /* The manifest of REF's repository at TAG_OR_DIGEST ("sha256:..." or
         * a tag).  *data malloc'd (NUL-terminated), *media_type malloc'd (may
         * be NULL when unknown).  Any error means "could not check". */
        int (*manifest)(void *ctx, const ps_reference *ref, const char *tag_or_digest, char **data,
                        size_t *len, char **media_type, ps_error *err);
        /* All signatures of DIGEST in REF's repository (none is not an
         * error).  *where (optional, malloc'd) describes the location read,
         * e.g. the lookaside base URL.  An error means "could not check". */
        int (*signatures)(void *ctx, const ps_reference *ref, const char *reference, const char *digest,
                          ps_sig_list *out, char **where, ps_error *err);
        void *ctx;
} ps_verify_source;

typedef struct ps_verify_opts {
        const char *root;               /* key files are read under ROOT (NULL: host) */
        const ps_verify_source *source; /* required when a signature must be checked */
        const char *os;                 /* platform chosen from an index; NULL: linux */
        const char *arch;               /* NULL: this machine's */
        const char *variant;            /* NULL: the default for ARCH */
        bool all_instances;             /* check every instance of an index (skopeo copy --all) */
} ps_verify_opts;

/* Evaluate POL for REFERENCE (a docker reference; "docker://" optional).
 * Returns 0 with *out filled (the verdict is in out->verdict), or < 0
 * when no evaluation was possible at all: an invalid reference (-EINVAL),
 * ENOMEM.  Everything else is a verdict. */
int ps_verify_image(const ps_policy *pol, const char *reference, const ps_verify_opts *o,
                    ps_verify_result *out, ps_error *err);

/* What a stored signature blob is, as containers/image decides before any
 * verification (internal/signature FromBlob): PS_SIG_FORMAT_SIMPLE (an
 * OpenPGP message: its first byte is a compressed-data, one-pass-signature
 * or signature packet header), PS_SIG_FORMAT_SIMPLE_PREFIXED
 * ("\0simple-signing\n" + the OpenPGP message), PS_SIG_FORMAT_SIGSTORE
 * ("\0sigstore-json\n" + JSON); -EBADMSG with *why (malloc'd) for
 * anything else (an empty blob, text, an unknown "\0name\n" format).
 * c/image refuses to read ANY signature of an image when one blob is of
 * the last kind, so ps_verify_image rejects every signedBy requirement
 * then. */
enum {
        PS_SIG_FORMAT_SIMPLE = 0,
        PS_SIG_FORMAT_SIMPLE_PREFIXED = 1,
        PS_SIG_FORMAT_SIGSTORE = 2,
};
int ps_verify_sig_format(const void *blob, size_t len, char **why, ps_error *err);

/* ---- the network source -------------------------------------------------- */

typedef struct ps_verify_net_opts {
        const char *root;               /* file:// lookaside under ROOT */
        const ps_regd *regd;            /* registries.d in effect (required) */
        const char *home;               /* built-in lookaside default: NULL root, else HOME */
        bool insecure;                  /* plain http to the registry */
        const char *ca_file;            /* extra CA bundle for https (registry and lookaside) */
        int tries;                      /* registry attempts (0: the registry client's default) */
        long timeout_s;                 /* per request (0: defaults) */
} ps_verify_net_opts;

typedef struct ps_verify_net ps_verify_net;

/* Strings in O are copied; O->regd must outlive the object. */
int ps_verify_net_new(const ps_verify_net_opts *o, ps_verify_net **out, ps_error *err);
void ps_verify_net_free(ps_verify_net *n);
/* A source reading from the registry of each reference (docker.io means
 * registry-1.docker.io) and from the lookaside URL registries.d gives. */
ps_verify_source ps_verify_net_source(ps_verify_net *n);
