/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OCI / Docker image model: descriptors, image manifests (OCI and
 * Docker schema 2), image indexes (OCI index and Docker manifest list),
 * image configs and an OCI layout's index.json / oci-layout
 * (field-notes §B6, §B7).
 *
 * Parsing is strict about what the image-spec requires (schemaVersion 2,
 * mediaType consistency, digest syntax, sizes >= 0, types of known fields)
 * and ignores unknown fields.  Input is bounded: manifests, indexes and
 * configs are at most 4 MiB and JSON nesting at most PS_OCI_MAX_DEPTH
 * levels (checked by a pre-scan before jansson sees the text).  Duplicate
 * keys are rejected, as containers/image does.
 *
 * Every parsed manifest/index/config keeps a copy of exactly the bytes it
 * was parsed from (raw, raw_len) and their sha256 (digest): the digest to
 * sign is the sha256 of exactly those bytes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "digest.h"
#include "error.h"

#define PS_OCI_MAX_MANIFEST (4u * 1024 * 1024)
#define PS_OCI_MAX_INDEX (4u * 1024 * 1024)
#define PS_OCI_MAX_CONFIG (4u * 1024 * 1024)
#define PS_OCI_MAX_LAYOUT_FILE (64u * 1024)      /* oci-layout */
#define PS_OCI_MAX_DEPTH 64

#define PS_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define PS_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define PS_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define PS_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define PS_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define PS_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define PS_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define PS_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define PS_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define PS_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define PS_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"
#define PS_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

/* The tag of an image in an OCI layout's index.json. */
#define PS_OCI_REF_NAME "org.opencontainers.image.ref.name"

typedef enum ps_oci_kind {
        PS_OCI_UNKNOWN = 0,
        PS_OCI_MANIFEST,          /* OCI image manifest */
        PS_OCI_INDEX,             /* OCI image index */
        PS_OCI_DOCKER_MANIFEST,   /* Docker image manifest schema 2 */
        PS_OCI_DOCKER_LIST,       /* Docker manifest list */
        PS_OCI_DOCKER_V1,         /* Docker schema 1: recognised, not supported */
} ps_oci_kind;

/* The kind a manifest media type names (PS_OCI_UNKNOWN for others,
 * including NULL). */
ps_oci_kind ps_oci_kind_of(const char *media_type);
/* The media type of a kind ("" for PS_OCI_UNKNOWN). */
const char *ps_oci_media_type(ps_oci_kind kind);
static inline bool ps_oci_kind_is_manifest(ps_oci_kind k)
{
        return k == PS_OCI_MANIFEST || k == PS_OCI_DOCKER_MANIFEST;
}
static inline bool ps_oci_kind_is_index(ps_oci_kind k)
{
        return k == PS_OCI_INDEX || k == PS_OCI_DOCKER_LIST;
}
/* Media type detection of a manifest blob: its "mediaType" field when it
 * has one, else its shape: schemaVersion 1 -> Docker schema 1;
 * schemaVersion 2 with "manifests" -> OCI index, with "config" or "layers"
 * -> OCI manifest (an image config has no schemaVersion).  Returns
 * PS_OCI_UNKNOWN for anything else, including invalid or oversized JSON. */
ps_oci_kind ps_oci_detect(const void *data, size_t len);

/* 0 when TEXT nests arrays/objects at most MAX levels deep (strings are
 * skipped properly); else -E2BIG "JSON nesting is deeper than MAX levels".
 * Cheap pre-scan meant to run before a JSON parser sees untrusted text. */
int ps_json_depth_check(const char *text, size_t len, unsigned max, ps_error *err);

typedef struct ps_platform {
        char *architecture;       /* required when a platform is present */
        char *os;                 /* required when a platform is present */
        char *variant;            /* NULL when absent */
        char *os_version;         /* "os.version"; NULL when absent */
} ps_platform;

typedef struct ps_annotation {
        char *key;
        char *value;
} ps_annotation;

typedef struct ps_descriptor {
        char *media_type;
        ps_digest digest;
        int64_t size;
        ps_platform *platform;          /* NULL when absent */
        ps_annotation *annotations;     /* in document order */
        size_t n_annotations;
} ps_descriptor;

/* The annotation KEY, or NULL. */
const char *ps_descriptor_annotation(const ps_descriptor *d, const char *key);
/* Fill D (contents freed first by the caller) with a copy of MEDIA_TYPE,
 * DIGEST and SIZE, no platform or annotations. */
int ps_descriptor_init(ps_descriptor *d, const char *media_type, const ps_digest *digest,
                       int64_t size, ps_error *err);
/* Add (or replace) an annotation. */
int ps_descriptor_annotate(ps_descriptor *d, const char *key, const char *value, ps_error *err);
int ps_descriptor_copy(ps_descriptor *dst, const ps_descriptor *src, ps_error *err);
void ps_descriptor_clear(ps_descriptor *d);
/* "os/arch[/variant]" of a descriptor's platform, or "(no platform)";
 * malloc'd, NULL on ENOMEM. */
char *ps_platform_string(const ps_platform *p);

typedef struct ps_manifest {
        ps_oci_kind kind;         /* PS_OCI_MANIFEST or PS_OCI_DOCKER_MANIFEST */
        const char *media_type;   /* ps_oci_media_type(kind) */
        ps_descriptor config;
        ps_descriptor *layers;
        size_t n_layers;
        ps_annotation *annotations;
        size_t n_annotations;
        char *raw;                /* the exact bytes parsed (+ a NUL) */
        size_t raw_len;
        ps_digest digest;         /* sha256 of raw */
} ps_manifest;

/* Parse an image manifest.  MEDIA_TYPE is what the referring descriptor
 * (or a registry's Content-Type) says, or NULL.  When the document has a
 * mediaType it must agree with MEDIA_TYPE; a document that is an index,
 * or a Docker schema 1 manifest, is refused.  The kind is the document's
 * mediaType, else MEDIA_TYPE, else OCI. */
int ps_manifest_parse(const void *data, size_t len, const char *media_type,
                      ps_manifest **out, ps_error *err);
void ps_manifest_free(ps_manifest *m);
static inline void ps_manifest_freep(ps_manifest **m) { ps_manifest_free(*m); }
/* Every blob M references, config first then layers in order, each digest
 * once.  *out is a malloc'd array of pointers into M (free only the
 * array). */
int ps_manifest_blobs(const ps_manifest *m, const ps_descriptor ***out, size_t *n,
                      ps_error *err);
/* A descriptor naming M (its media type, digest and size). */
int ps_manifest_descriptor(const ps_manifest *m, ps_descriptor *out, ps_error *err);

typedef struct ps_index {
        ps_oci_kind kind;         /* PS_OCI_INDEX or PS_OCI_DOCKER_LIST */
        const char *media_type;
        ps_descriptor *manifests;
        size_t n_manifests;
        ps_annotation *annotations;
        size_t n_annotations;
        char *raw;
        size_t raw_len;
        ps_digest digest;
} ps_index;

/* Parse an image index / manifest list (see ps_manifest_parse for
 * MEDIA_TYPE).  A document with "config" or "layers" is refused. */
int ps_index_parse(const void *data, size_t len, const char *media_type,
                   ps_index **out, ps_error *err);
/* Parse an OCI layout's index.json: an OCI image index. */
int ps_layout_index_parse(const void *data, size_t len, ps_index **out, ps_error *err);
void ps_index_free(ps_index *idx);
static inline void ps_index_freep(ps_index **i) { ps_index_free(*i); }
/* Choose the entry of IDX for a platform.  OS NULL means "linux"; ARCH is
 * a GOARCH name (x86_64 and aarch64 are accepted as amd64/arm64); VARIANT
 * NULL means the default (arm64: v8, arm: v7, or none).  A missing variant
 * in the index counts as the default one.  Entries with media types other
 * than manifests/indexes are ignored, as the image-spec requires.
 * Returns the position in idx->manifests, or -ENOENT with a message
 * listing the platforms the index has. */
int ps_index_select(const ps_index *idx, const char *os, const char *arch,
                    const char *variant, ps_error *err);

typedef struct ps_image_config {
        char *architecture;
        char *os;
        char *variant;            /* NULL when absent */
        ps_digest *diff_ids;      /* rootfs.diff_ids */
        size_t n_diff_ids;
        char *raw;
        size_t raw_len;
        ps_digest digest;
} ps_image_config;

int ps_image_config_parse(const void *data, size_t len, ps_image_config **out, ps_error *err);
void ps_image_config_free(ps_image_config *c);
static inline void ps_image_config_freep(ps_image_config **c) { ps_image_config_free(*c); }

/* Check an oci-layout file: {"imageLayoutVersion": "1.x.y"}. */
int ps_oci_layout_check(const void *data, size_t len, ps_error *err);

/* ---- rewriting (image save) ---- */

/* A new OCI image manifest: M with its layers replaced by LAYERS (N must
 * equal m->n_layers).  The config descriptor, annotations and unknown
 * fields are kept; a Docker schema 2 manifest becomes an OCI manifest
 * (mediaType and config mediaType changed to the OCI ones, because Docker
 * schema 2 has no uncompressed layer type).  The result is parsed again,
 * so (*out)->raw and (*out)->digest are the new bytes and digest. */
int ps_manifest_replace_layers(const ps_manifest *m, const ps_descriptor *layers, size_t n,
                               ps_manifest **out, ps_error *err);
/* For `image save`: replace layer i by the uncompressed OCI layer
 * (application/vnd.oci.image.layer.v1.tar) whose digest is
 * cfg->diff_ids[i] and whose size is SIZES[i].  The config (and so its
 * diff_ids) is unchanged.  Layer annotations are dropped: they describe
 * the compressed blob (e.g. zstd:chunked checksums). */
int ps_manifest_uncompress_layers(const ps_manifest *m, const ps_image_config *cfg,
                                  const int64_t *sizes, ps_manifest **out, ps_error *err);
/* A new OCI index: IDX with every entry naming OLD changed to NEW's media
 * type, digest and size (its platform and annotations are kept).  A Docker
 * manifest list becomes an OCI index.  -ENOENT when no entry names OLD. */
int ps_index_replace(const ps_index *idx, const ps_digest *old, const ps_descriptor *new_desc,
                     ps_index **out, ps_error *err);
/* Serialise an OCI image index (an OCI layout's index.json) from N
 * descriptors (platform and annotations included). */
int ps_index_build(const ps_descriptor *descs, size_t n, char **out, size_t *len,
                   ps_error *err);
