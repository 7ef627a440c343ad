/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `podsec image load-sign` (= podsec-load-sign-oci, spec core §5.5): push
 * the images of a podsec OCI archive (ARCH.tar.xz, spec core §3.7) to a
 * registry and sign them, in one streaming read of the archive.
 *
 * Nothing is extracted and nothing goes through containers-storage (D9):
 *
 *  - The archive is read once (ps_archive_walk).  index.json, manifests and
 *    configs are small and kept in memory, verified.  Every other blob is
 *    verified (sha256 against its name) in the same pass.
 *  - A large blob (a layer) whose image is already known when it starts in
 *    the stream (a `podsec image save` archive puts index.json, manifests
 *    and configs first) is uploaded while it is being decompressed: an
 *    upload thread per blob takes the bytes straight from the reader's
 *    blocks (one copy, into its chunk) and sends them in chunked PATCHes to
 *    an upload session in the repository of the first image that uses it;
 *    an .xz archive is decompressed by a thread of its own (see unxz in
 *    loadsign.c), so decompression, hashing and sending overlap.  The
 *    last byte of every such blob is held back: its final PATCH and the
 *    commit (PUT ?digest=) happen only once the whole archive has been
 *    read and found valid, the names are planned and the operator has not
 *    declined.  No request is in flight
 *    while a blob waits, so no timeout of the registry or of a proxy runs.
 *    On any failure the sessions are cancelled: nothing becomes visible in
 *    the registry (its catalog stays as it was) and nothing is signed.
 *  - A large blob that arrives before the manifest naming it (an archive
 *    written by other tools, in directory order) is spooled to an unnamed
 *    temporary file (O_TMPFILE: no name to attack, gone on exit) and
 *    uploaded after the read.
 *  - Afterwards blobs are mounted (cross-repository mount) into every other
 *    repository that needs them (a registry that does not mount gets a
 *    copy through the unnamed spool file); small blobs are uploaded from
 *    memory.  Blobs the registry already has are not sent again (HEAD).
 *  - Then, image by image and destination by destination: every manifest of
 *    the image is PUT (per-platform manifests of an index by digest, the
 *    top one by tag), and only once the registry has stored it, the
 *    signature of exactly those bytes (simple signing, GPGME) with the
 *    destination reference as identity (each per-platform manifest and the
 *    index) is written to the lookaside staging store (file://) as the next
 *    free signature-N (O_EXCL; never overwritten).  A signature by the same
 *    key for the same identity and digest that is already in the store is
 *    not written again, so a re-run after a failure completes without
 *    piling up copies.
 *  - gpg costs a process per signature, so the signatures are computed
 *    while the archive is still being read, by two threads, as soon as
 *    index.json and every manifest it names are known; they stay in memory
 *    until their manifest is in the registry (a failed run writes none).
 *    GPGME runs in two small helper processes forked before the read (when
 *    the caller is still single-threaded; else in-process): forking this
 *    process for every gpg in the middle of the read, with its buffers,
 *    cost more than the signing itself.
 *    The key (and its passphrase) is tried at the start, next to the read:
 *    a missing key or a wrong passphrase stops the read.  The signature
 *    stores are resolved when index.json arrives; one that is not a
 *    writable file:// store stops the read too.
 *
 * Naming (fixing D17 and D19; spec core §5.5 "Naming rules"):
 *  - The archive platform A is the first "/"-component of the first
 *    image's ref name (org.opencontainers.image.ref.name, e.g.
 *    "c10f/pause:3.9").  The destination namespace NS is the 4th argument
 *    when given (e.g. "registry.local/c10f", "my.reg/team/c10f"), else
 *    "REGISTRY/A".  The registry host is NS's first component.
 *  - An image "A/N:T" goes to NS/N:T.  An image outside the prefix
 *    ("X/M:T" with X != A) goes to HOST/X/M:T: the registry the operator
 *    chose (the original ignored it and used registry.local), its own path.
 *  - With the 3-argument form every image therefore keeps its name on the
 *    registry (REGISTRY/ref).  A platform mismatch (A differs from the
 *    host's platform) is confirmed by the operator and then does not
 *    re-home the images under the host's platform path (the original did).
 *    Archives of the retired "k8s-*" platforms are refused.
 *  - The legacy alias HOST/k8s-c10f2/N:T (for clusters still using the old
 *    names) is pushed and signed only when A is "c10f", only for images
 *    inside the prefix, built by removing the prefix "c10f/" (not by
 *    character offset), on the chosen registry; it can be turned off.
 *  - A ref name without a tag means ":latest".  Two index entries with the
 *    same destination and different digests are refused.
 *
 * The library never prints: progress, questions and results go through
 * callbacks and the result structure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "registries.h"

/* The architectures of podsec archives (spec core §3.7). */
extern const char *const ps_ls_archs[];
bool ps_ls_arch_valid(const char *arch);

/* Where a run stopped: the command maps this to an exit code. */
typedef enum ps_ls_stage {
        PS_LS_OK = 0,
        PS_LS_USAGE,            /* invalid options (a bug of the caller) */
        PS_LS_ARCHIVE,          /* the archive cannot be read or is invalid */
        PS_LS_NO_ARCH,          /* no ARCH/ directory in it */
        PS_LS_NO_INDEX,         /* no ARCH/index.json in it */
        PS_LS_DECLINED,         /* platform mismatch not confirmed, or a retired platform */
        PS_LS_REGISTRY,         /* pushing failed */
        PS_LS_SIGN,             /* signing failed, or the signature could not be stored */
} ps_ls_stage;

/* ---- naming (pure functions, exported for tests) ---- */

/* Split a ref name "path[:tag]" (no registry host, no digest) into a
 * repository path and a tag (":latest" when absent).  The path must be a
 * valid repository path and the tag a valid tag. */
int ps_ls_parse_ref_name(const char *ref_name, char **path, char **tag, ps_error *err);
/* The platform of a ref name: the text before its first '/'.  A ref name
 * without '/' has no platform: -EINVAL. */
int ps_ls_ref_platform(const char *ref_name, char **platform, ps_error *err);
/* Check a destination namespace "HOST[:PORT]/PATH" (the 4th argument) or
 * a bare registry "HOST[:PORT]" (REQUIRE_PATH false).  The host must look
 * like a registry host: it contains '.' or ':' or is "localhost" (the
 * original demanded a '.').  Returns 0, or -EINVAL with *why set to
 * PS_LS_BAD_NO_PATH, PS_LS_BAD_HOST or PS_LS_BAD_PATH. */
enum { PS_LS_BAD_NO_PATH = 1, PS_LS_BAD_HOST, PS_LS_BAD_PATH };
int ps_ls_check_namespace(const char *ns, bool require_path, int *why, ps_error *err);
/* The destination references of an image with ref name REF_NAME: the main
 * one and, when LEGACY_ALIAS applies, the alias (see the naming rules
 * above).  NS is the destination namespace (4th argument, or NULL for
 * "REGISTRY/PLATFORM"); REGISTRY is used when NS is NULL.  *dests is a
 * NULL-terminated vector (1 or 2 entries) of full references
 * "host/path:tag"; free with ps_strv_free. */
int ps_ls_destinations(const char *ns, const char *registry, const char *platform,
                       const char *ref_name, bool legacy_alias, char ***dests, ps_error *err);
/* Exact group membership by gid (D22): true when GID is EGID or one of
 * GROUPS. */
bool ps_ls_gid_member(unsigned gid, unsigned egid, const unsigned *groups, size_t n);

/* ---- the engine ---- */

typedef enum ps_ls_event_kind {
        PS_LS_EV_PROGRESS = 1,  /* while reading: bytes, rate, current image */
        PS_LS_EV_PLAN,          /* an image and its destinations (after the read) */
        PS_LS_EV_PUSHED,        /* ref pushed: digest */
        PS_LS_EV_SIGNED,        /* a signature written: ref, digest, path, index */
        PS_LS_EV_SIGNED_BEFORE, /* ref/digest already signed by this key: nothing written */
        PS_LS_EV_PHASE,         /* a phase starts: text */
} ps_ls_event_kind;

typedef struct ps_ls_event {
        ps_ls_event_kind kind;
        uint64_t in_done, in_total;     /* compressed archive bytes read / size (0: unknown) */
        uint64_t blob_bytes;            /* uncompressed blob bytes read so far */
        uint64_t sent_bytes;            /* blob bytes handed to the registry so far */
        double seconds;                 /* since the start */
        const char *image;              /* ref name in the archive (progress: current; may be NULL) */
        const char *ref;                /* destination reference */
        const char *digest;
        const char *path;               /* signature file */
        unsigned index;                 /* signature-N */
        const char *text;               /* PHASE */
        char *const *dests;             /* PLAN: NULL-terminated */
} ps_ls_event;

typedef struct ps_loadsign_opts {
        const char *archive;            /* path of the archive (a regular file) */
        const char *arch;               /* one of ps_ls_archs */
        const char *ns;                 /* 4th argument "HOST/PATH", or NULL */
        const char *registry;           /* the site registry (3-argument form) */
        const char *host_platform;      /* this host's platform (podsec platform) */
        bool legacy_alias;              /* push HOST/k8s-c10f2/N for c10f archives */
        bool insecure;                  /* plain http to the registry */
        bool dry_run;                   /* read and plan; push and sign nothing */

        /* signing */
        const char *signer;             /* key: e-mail, fingerprint or user id */
        const char *gnupg_home;         /* NULL: $GNUPGHOME or ~/.gnupg */
        const char *passphrase;         /* NULL: gpg-agent / pinentry */
        /* where signatures are written: the staging URL for each reference
         * from REGD (lookaside-staging, sigstore-staging, else lookaside);
         * when the built-in default would be used and FALLBACK_STORE is set,
         * FALLBACK_STORE (root: file://SIGSTORE_DIR/sigstore/).  HOME: the
         * built-in default's home (NULL for root). */
        const ps_regd *regd;
        const char *home;
        const char *fallback_store;
        /* The site's lookaside base (sigstore_url), which the signature server
         * serves from FALLBACK_STORE: a read URL equal to it is written
         * through FALLBACK_STORE.  NULL: no such mapping. */
        const char *site_lookaside;
        const char *root;               /* file:// paths below ROOT (--root) */

        /* registry client tuning (0: defaults of registry.h) */
        int tries;
        long backoff_ms;
        size_t chunk_size;              /* PATCH size of streamed blobs; 0: 8 MiB */

        /* Called from the reading thread when the archive platform differs
         * from HOST_PLATFORM; return true to go on.  NULL: decline. */
        bool (*confirm_platform)(void *ud, const char *archive_platform, const char *host_platform);
        void (*event)(void *ud, const ps_ls_event *ev);
        void *ud;
        unsigned progress_ms;           /* PROGRESS events at most this often; 0: 250 */
} ps_loadsign_opts;

typedef struct ps_ls_sig {
        char *digest;                   /* manifest digest signed */
        char *path;                     /* file written (or found) */
        unsigned index;
        bool existed;                   /* signed before: nothing written */
} ps_ls_sig;

typedef struct ps_ls_dest {
        char *ref;                      /* "host/path:tag" */
        bool pushed;                    /* all its manifests are in the registry */
        ps_ls_sig *sigs;
        size_t n_sigs;
        char *store;                    /* signature store base URL */
} ps_ls_dest;

typedef struct ps_ls_image {
        char *ref_name;                 /* as in index.json */
        char *digest;                   /* top manifest/index digest */
        char *media_type;
        size_t n_manifests;             /* manifests signed per destination (index + children) */
        ps_ls_dest *dests;
        size_t n_dests;
} ps_ls_image;

typedef struct ps_loadsign_result {
        ps_ls_stage stage;              /* PS_LS_OK on success */
        char *archive_platform;
        char *key_fingerprint;          /* the signing key */
        ps_ls_image *images;
        size_t n_images;
        uint64_t archive_bytes;         /* compressed input read */
        uint64_t blob_bytes;            /* uncompressed blob bytes in the archive */
        size_t n_blobs;                 /* blobs in the archive */
        size_t blobs_streamed;          /* uploaded while reading */
        size_t blobs_spooled;           /* spooled to a temporary file first */
        uint64_t bytes_sent;            /* request bodies sent to the registry */
        uint64_t blobs_uploaded, blobs_existed, blobs_mounted;
        uint64_t requests, retries;
        size_t manifests_pushed;
        size_t signatures_written, signatures_existing;
        double seconds_read;            /* the archive pass */
        double seconds;                 /* the whole run */
} ps_loadsign_result;

void ps_loadsign_result_clear(ps_loadsign_result *r);

/* Run it.  Returns 0, or a negative errno with ERR set and res->stage
 * telling which part failed.  RES is filled as far as the run got (images
 * pushed and signed before a failure are listed). */
int ps_loadsign(const ps_loadsign_opts *o, ps_loadsign_result *res, ps_error *err);
