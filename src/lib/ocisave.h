/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `podsec image save` (= podsec-save-oci, spec core §5.6, §3.7): copy
 * images from a registry straight into one OCI image layout per
 * architecture, with uncompressed layers, and pack each layout as
 * DIR/<arch>.tar.xz for `podsec image load-sign`.
 *
 * Nothing goes through containers-storage (open question 12): manifests,
 * configs and layers come from the registry (Docker Registry HTTP API v2,
 * registry.h).  Every blob is verified while it downloads; every layer is
 * decompressed (gzip or zstd, detected by content, only libarchive's
 * built-in decoders) and the sha256 of the uncompressed bytes must equal
 * the config's rootfs.diff_ids entry for that layer.  The manifest is then
 * rewritten (ps_manifest_uncompress_layers): layers become
 * application/vnd.oci.image.layer.v1.tar with digest = diff_id, a Docker
 * schema 2 manifest becomes an OCI manifest; the config bytes (and so the
 * config digest and diff_ids) are unchanged.  Signatures are never copied.
 *
 * Archive format (what ps-archive.h reads):
 *
 *     ARCH/  ARCH/oci-layout  ARCH/index.json  ARCH/blobs/  ARCH/blobs/sha256/
 *     ARCH/blobs/sha256/<manifests…>  <configs…>  <layers…>
 *
 * in that order, so a one-pass reader sees index.json, every manifest and
 * every config before the first large layer.  POSIX tar (pax when a file
 * needs it), owner 0:0, mode 0644/0755, mtime 0 (or what the caller
 * gives, e.g. SOURCE_DATE_EPOCH), so the same images give the same archive bytes.  index.json has
 * one entry per image, annotated with org.opencontainers.image.ref.name =
 * the image name as given, without the registry host, with ":latest"
 * added when no tag was given (e.g. "c10f/pause:3.9"), and the image's
 * platform.
 *
 * Compression: xz (liblzma's multi-threaded encoder) in independent blocks
 * of block_size uncompressed bytes, so `xz -d -T0` (and any block-aware
 * reader) can decompress in parallel; the LZMA2 dictionary is capped at
 * the block size.  The output does not depend on the number of threads.
 *
 * The library never prints; progress goes through a callback. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

/* The architectures podsec archives know (spec core §3.7), in order. */
extern const char *const ps_save_known_archs[];

/* "amd64,arm64" or "all" (also separated by spaces) -> a NULL-terminated
 * vector of distinct architecture names in the order given.  Every entry
 * is checked (D16): an unknown one is -EINVAL naming it and the known
 * list; an empty list or empty entry is -EINVAL. */
int ps_save_parse_archs(const char *list, char ***out, ps_error *err);

/* True when ARG is meant as a transport rather than an image: empty (the
 * original's "empty means docker://"), or "NAME:" for a containers-image
 * transport name (docker, containers-storage, oci, oci-archive,
 * docker-archive, docker-daemon, dir, ostree, sif, tarball). */
bool ps_save_is_transport(const char *arg);

/* Where images are read from. */
typedef struct ps_save_source {
        char *host;             /* registry host[:port], NULL: the default */
        char *prefix;           /* repository path prefix, NULL when none */
} ps_save_source;

/* Parse a transport argument: "" or "docker://" (default registry),
 * "docker://HOST[:PORT]", "docker://HOST[:PORT]/PATH/PREFIX" (prefix
 * prepended to every image path, as the original did by string
 * concatenation).  HOST must look like a registry host (contain '.' or
 * ':' or be "localhost").  Other transports are -ENOTSUP with a message
 * saying that podsec reads images only from a registry (the original's
 * podsec-k8s-save-oci passed containers-storage:[…]). */
int ps_save_parse_transport(const char *arg, ps_save_source *out, ps_error *err);
void ps_save_source_clear(ps_save_source *s);

/* One image to save. */
typedef struct ps_save_ref {
        char *given;            /* the argument */
        char *name;             /* ref name in the archive: path[:tag] without the host */
        char *host;             /* registry host[:port] */
        char *repo;             /* repository path on that registry */
        char *ref;              /* tag or digest to ask the registry for */
        char *digest;           /* pinned digest ("NAME:TAG@sha256:…"), or NULL */
} ps_save_ref;

/* Parse IMAGE ("c10f/pause:3.9", "c10f/pause", "c10f/pause:3.9@sha256:…",
 * or with a registry host: "registry.altlinux.org/c10f/pause:3.9", which
 * then overrides DEFAULT_HOST).  PREFIX (may be NULL) is prepended to the
 * repository path.  A digest without a tag is refused (the archive needs a
 * tag to name the image). */
int ps_save_ref_parse(const char *image, const char *default_host, const char *prefix,
                      ps_save_ref *out, ps_error *err);
void ps_save_ref_clear(ps_save_ref *r);

typedef enum ps_save_event_kind {
        PS_SAVE_RESOLVE = 1,    /* image: looking up its manifest for arch */
        PS_SAVE_IMAGE,          /* image: downloading (layer/n_layers set) */
        PS_SAVE_BYTES,          /* bytes of the current layer (done/total) */
        PS_SAVE_PACK,           /* arch: packing; done/total bytes into the tar */
        PS_SAVE_ARCHIVE_DONE,   /* arch: PATH written */
} ps_save_event_kind;

typedef struct ps_save_event {
        ps_save_event_kind kind;
        const char *arch;
        const char *image;      /* ref name, NULL for arch events */
        size_t image_index, n_images;
        size_t layer, n_layers; /* layer is 1-based; 0 for the config */
        uint64_t done, total;   /* bytes; total 0 when unknown */
        const char *path;
} ps_save_event;

typedef void (*ps_save_progress_fn)(void *ctx, const ps_save_event *ev);

typedef struct ps_save_opts {
        const char *dir;                /* output directory: must not exist; its parent must */
        char *const *archs;             /* NULL-terminated, from ps_save_parse_archs */
        const ps_save_ref *images;
        size_t n_images;
        bool (*insecure)(void *ctx, const char *host);  /* plain http for HOST? NULL: never */
        void *insecure_ctx;
        int level;                      /* xz preset 0..9; -1: 9 (the original's xz -9) */
        uint32_t threads;               /* 0: the number of CPUs */
        uint64_t block_size;            /* uncompressed bytes per xz block; 0: 32 MiB */
        bool keep_layout;               /* keep DIR/<arch>/ next to the archive */
        bool dry_run;                   /* resolve every image, create nothing */
        int64_t mtime;                  /* mtime of every tar entry (e.g. SOURCE_DATE_EPOCH) */
        ps_save_progress_fn progress;
        void *progress_ctx;
        /* registry client settings (timeouts, tries); NULL: defaults */
        const struct ps_registry_opts *registry_opts;
} ps_save_opts;

typedef struct ps_save_image_result {
        char *name;                     /* ref name in the archive */
        char *source;                   /* "docker://host/repo:tag[@digest]" */
        ps_digest source_digest;        /* what the tag named (manifest or index) */
        ps_digest source_manifest;      /* the manifest for this arch at the source */
        ps_digest manifest;             /* the rewritten manifest in the archive */
        ps_digest config;
        char *architecture, *os, *variant;  /* from the config (variant may be NULL) */
        size_t n_layers;
        uint64_t layer_bytes;           /* uncompressed */
        uint64_t downloaded;            /* compressed bytes fetched (0 when shared) */
} ps_save_image_result;

typedef struct ps_save_archive {
        char *arch;
        char *path;                     /* DIR/<arch>.tar.xz (NULL in a dry run) */
        uint64_t size;                  /* compressed */
        uint64_t tar_size;              /* uncompressed tar stream */
        uint64_t blocks;                /* xz blocks */
        ps_digest sha256;               /* of the .tar.xz file */
        ps_save_image_result *images;
        size_t n_images;
} ps_save_archive;

typedef struct ps_save_result {
        ps_save_archive *archives;      /* completed (or, in a dry run, resolved) ones */
        size_t n_archives;
        bool created_dir;               /* DIR was created (and kept) */
} ps_save_result;

/* DIR must not exist (-EEXIST "DIR already exists …"), its parent must be
 * a directory (-ENOENT / -ENOTDIR naming it). */
int ps_save_check_dir(const char *dir, ps_error *err);

/* Check DIR (-EEXIST when it exists, -ENOENT when its parent is missing,
 * -ENOTDIR when the parent is not a directory), resolve every image for
 * every architecture (no DIR is created when any fails), then per
 * architecture: download, verify, write DIR/<arch>/, pack
 * DIR/<arch>.tar.xz (written as a temporary file and renamed), remove
 * DIR/<arch>/ unless keep_layout.  On failure the architecture in
 * progress leaves nothing behind, earlier archives stay (listed in *res),
 * and DIR is removed when it holds nothing.  *res is filled in both cases
 * (free with ps_save_result_free). */
int ps_save_run(const ps_save_opts *o, ps_save_result *res, ps_error *err);
void ps_save_result_free(ps_save_result *res);

/* ---- building blocks, exported for tests ---- */

typedef struct ps_xz_opts {
        int level;                      /* 0..9, -1: 9 */
        uint32_t threads;               /* 0: CPUs */
        uint64_t block_size;            /* 0: 32 MiB; at least 64 KiB */
        int64_t mtime;                  /* mtime of every tar entry */
} ps_xz_opts;

#define PS_SAVE_DEFAULT_BLOCK (32u * 1024 * 1024)

/* Pack the OCI layout LAYOUT_DIR as a tar stream with top directory ARCH,
 * xz-compressed, into the new file OUT_PATH (O_EXCL; removed again on
 * failure).  BLOBS lists the blob digests to include, in order (every one
 * must exist under LAYOUT_DIR/blobs/sha256/); oci-layout and index.json
 * come first.  PROGRESS (may be NULL) gets PS_SAVE_PACK events.  *sha256,
 * *size, *tar_size and *blocks (each optional) describe the result. */
int ps_save_pack(const char *layout_dir, const char *arch, const ps_digest *blobs, size_t n,
                 const char *out_path, const ps_xz_opts *xz, ps_save_progress_fn progress,
                 void *progress_ctx, ps_digest *sha256, uint64_t *size, uint64_t *tar_size,
                 uint64_t *blocks, ps_error *err);

/* Decompress a layer read from IN_FD (gzip, zstd or none: detected by
 * content; only built-in decoders) into OUT_FD; *digest and *size get the
 * sha256 and length of the uncompressed bytes.  WANT_COMPRESSED: 1 must be
 * compressed, 0 must not be, -1 either. */
int ps_save_decompress(int in_fd, int out_fd, int want_compressed, ps_digest *digest,
                       uint64_t *size, ps_error *err);
