/* SPDX-License-Identifier: GPL-2.0-or-later */
/* (Named ps-archive.h, not archive.h: a header called archive.h in the
 * library's include directory would shadow libarchive's <archive.h> for
 * every file of the project.)
 *
 * Streaming reader of podsec image archives (spec core §3.7, field-notes
 * §B7): a tar stream, plain or compressed with xz, gzip, zstd or bzip2
 * (detected by content, not by name), holding one top-level directory ARCH
 * that is an OCI image layout:
 *
 *     ARCH/oci-layout  ARCH/index.json  ARCH/blobs/sha256/<64 hex>
 *
 * Nothing is ever extracted to disk.  Refused with a clear message: absolute
 * paths, ".." components, symbolic and hard links, device nodes, FIFOs and
 * sockets, sparse files, entries outside ARCH/, duplicate entries, blob
 * names that are not sha256 hex digests, blobs under other algorithms,
 * oversized index.json / oci-layout, more than PS_ARCHIVE_MAX_ENTRIES
 * entries.  Other regular files and directories inside ARCH/ are ignored.
 *
 * A tar stream is read once and in order, and index.json may come after
 * the blobs.  Two ways to consume it:
 *
 *  - one pass: ps_archive_walk() calls back for index.json (parsed) and for
 *    each blob, with a read function that streams the blob's bytes and
 *    checks their sha256 against the blob's name in the same pass;
 *  - one pass with a checked layout: ps_archive_read_layout_streaming()
 *    streams every blob to a consumer and checks the layout at the end;
 *  - two passes: ps_archive_read_layout() reads the metadata (index.json,
 *    manifests, configs: small JSON blobs are kept in memory, verified) and
 *    the list of all blobs, and checks that every manifest, config and layer
 *    named is present with the right size; ps_archive_stream_blobs() then
 *    reads the archive again and streams the blobs.
 *
 * Input is read in 1 MiB blocks; blob data is handed out without copying
 * (pointers into libarchive's buffers) and hashed as it is handed out. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "digest.h"
#include "error.h"
#include "oci.h"

#define PS_ARCHIVE_BLOCK (1024u * 1024)
#define PS_ARCHIVE_MAX_ENTRIES 100000
/* pass 1 keeps JSON blobs of at most PS_OCI_MAX_MANIFEST bytes, at most
 * this much in all */
#define PS_ARCHIVE_MAX_METADATA (256u * 1024 * 1024)
/* nested image indexes followed at most this deep */
#define PS_ARCHIVE_MAX_NESTING 4

typedef struct ps_archive ps_archive;

/* Called after each block of input is read: DONE bytes of the (compressed)
 * input so far, TOTAL its size (0 when unknown, e.g. a pipe). */
typedef void (*ps_archive_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* Open a regular file (O_RDONLY|O_CLOEXEC). */
int ps_archive_open_file(const char *path, ps_archive **out, ps_error *err);
/* Read from FD, which stays the caller's (not closed by ps_archive_free).
 * NAME is used in messages (may be NULL).  A second walk needs a seekable
 * FD. */
int ps_archive_open_fd(int fd, const char *name, ps_archive **out, ps_error *err);
/* Read from memory (not copied; must outlive the reader). */
int ps_archive_open_memory(const void *data, size_t len, ps_archive **out, ps_error *err);
void ps_archive_free(ps_archive *ar);
static inline void ps_archive_freep(ps_archive **ar) { ps_archive_free(*ar); }
void ps_archive_set_progress(ps_archive *ar, ps_archive_progress_fn fn, void *ud);

/* A blob entry. */
typedef struct ps_archive_blob {
        ps_digest digest;       /* from the entry's name */
        int64_t size;           /* from the tar header */
        const char *path;       /* the entry's name, normalised ("amd64/blobs/sha256/…") */
} ps_archive_blob;

/* Return value of a blob callback: skip the rest of the blob without
 * checking its digest (the consumer must not trust what it read). */
#define PS_ARCHIVE_SKIP 1

typedef struct ps_archive_ops {
        /* ARCH/index.json, parsed (ps_layout_index_parse); the callback
         * takes ownership of IDX.  Return < 0 to stop the walk.  May be
         * NULL. */
        int (*index)(void *ud, ps_index *idx, ps_error *err);
        /* A blob entry.  The callback may stream its bytes with
         * ps_archive_read_block()/ps_archive_read(); the read that reaches
         * the end returns 0 only when the sha256 of the bytes matches the
         * name, else -EBADMSG ("blob sha256:… content does not match its
         * name"): the consumer must then treat the blob as invalid.
         * Return 0: the reader reads whatever is left, verifying, and a
         * mismatch fails the walk; PS_ARCHIVE_SKIP: the rest is skipped
         * unverified; < 0: stop the walk with that error.  NULL: every blob
         * is read and verified. */
        int (*blob)(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err);
} ps_archive_ops;

/* Read the archive from the start (a second walk rewinds the input, which
 * must then be a seekable file or memory).  Fails at the end when ARCH/,
 * ARCH/oci-layout or ARCH/index.json is missing; oci-layout is checked
 * (ps_oci_layout_check). */
int ps_archive_walk(ps_archive *ar, const char *arch, const ps_archive_ops *ops, void *ud,
                    ps_error *err);

/* Inside a blob callback: the next piece of the blob.  Returns 1 with
 * *data and *len set (valid until the next call), 0 at the end once the
 * content matched the name, negative on a read error or a mismatch
 * (sticky: later calls return the same error). */
int ps_archive_read_block(ps_archive *ar, const void **data, size_t *len, ps_error *err);
/* Copying variant: up to N bytes into BUF; returns the count, 0 at the
 * verified end, negative as above. */
ssize_t ps_archive_read(ps_archive *ar, void *buf, size_t n, ps_error *err);

/* ---- two passes ---- */

typedef struct ps_archive_blobinfo {
        ps_digest digest;
        int64_t size;
        char *data;             /* kept JSON content (verified), else NULL */
} ps_archive_blobinfo;

/* An image: an entry of index.json, or of a nested index. */
typedef struct ps_archive_image {
        const char *ref_name;           /* PS_OCI_REF_NAME annotation, or NULL */
        const ps_descriptor *desc;      /* the entry (owned by the parent index) */
        ps_manifest *manifest;          /* when desc names an image manifest */
        ps_image_config *config;        /* that manifest's config */
        ps_index *index;                /* when desc names an image index */
        struct ps_archive_image *children;  /* one per entry of that index */
        size_t n_children;
} ps_archive_image;

typedef struct ps_archive_layout {
        char *arch;
        ps_index *index;                /* index.json */
        ps_archive_image *images;       /* one per index.json entry, in order */
        size_t n_images;
        ps_archive_blobinfo *blobs;     /* every blob of the archive, sorted by digest */
        size_t n_blobs;
        uint64_t blob_bytes;            /* sum of the blob sizes */
} ps_archive_layout;

/* Pass 1.  Entries of index.json (or of nested indexes) with media types
 * other than manifests/indexes are kept with neither manifest nor index,
 * as the image-spec says to ignore them.  Everything referenced must be in
 * the archive with the size its descriptor gives, e.g. "index.json names
 * sha256:… which is not in the archive"; a manifest's layer count must
 * match its config's diff_ids. */
int ps_archive_read_layout(ps_archive *ar, const char *arch, ps_archive_layout **out,
                           ps_error *err);
/* Pass 1 and the streaming in one read (for a consumer that may push
 * blobs before it knows the archive is valid, e.g. to a content-addressed
 * registry, and wants to decompress once): BLOB is called for every blob
 * as in ps_archive_walk (small blobs, <= PS_OCI_MAX_MANIFEST, are read
 * into memory and verified first, then handed to BLOB from memory), and the
 * layout is built and checked at the end as ps_archive_read_layout does.
 * BLOB may be NULL (that is ps_archive_read_layout). */
int ps_archive_read_layout_streaming(ps_archive *ar, const char *arch,
                                     int (*blob)(void *ud, ps_archive *ar,
                                                 const ps_archive_blob *b, ps_error *err),
                                     void *ud, ps_archive_layout **out, ps_error *err);
void ps_archive_layout_free(ps_archive_layout *l);
static inline void ps_archive_layout_freep(ps_archive_layout **l) { ps_archive_layout_free(*l); }
const ps_archive_blobinfo *ps_archive_layout_find(const ps_archive_layout *l, const ps_digest *d);
/* The config and layer blobs of IMG and of its children, each once, in
 * order (manifests themselves not included).  *out: malloc'd array of
 * pointers into the layout (free only the array). */
int ps_archive_image_blobs(const ps_archive_image *img, const ps_descriptor ***out, size_t *n,
                           ps_error *err);
/* Pass 2: read the archive again and call BLOB for every blob entry, as
 * ps_archive_walk does.  Fails when the archive no longer matches L (a
 * blob missing, added or of another size). */
int ps_archive_stream_blobs(ps_archive *ar, const ps_archive_layout *l,
                            int (*blob)(void *ud, ps_archive *ar, const ps_archive_blob *b,
                                        ps_error *err),
                            void *ud, ps_error *err);
