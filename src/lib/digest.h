/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Content digests: "sha256:<64 lowercase hex>" values and incremental
 * sha256 (OpenSSL EVP).  sha256 is the only algorithm podsec accepts; any
 * other algorithm is refused with a clear message. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define PS_SHA256_HEX_LEN 64
/* "sha256:" + 64 hex + NUL */
#define PS_DIGEST_STRLEN (7 + PS_SHA256_HEX_LEN + 1)

typedef enum ps_digest_alg {
        PS_DIGEST_NONE = 0,
        PS_DIGEST_SHA256 = 1,
} ps_digest_alg;

/* A validated digest.  str is always "sha256:<hex>" (NUL-terminated) when
 * alg is set, so it can be printed with %s. */
typedef struct ps_digest {
        ps_digest_alg alg;
        char str[PS_DIGEST_STRLEN];
} ps_digest;

/* The hex part ("<64 hex>") of a set digest. */
static inline const char *ps_digest_hex(const ps_digest *d)
{
        return d->str + 7;
}
static inline bool ps_digest_is_set(const ps_digest *d)
{
        return d && d->alg != PS_DIGEST_NONE;
}

/* Parse "sha256:<64 lowercase hex>".  Anything else (other algorithms,
 * upper case, wrong length, missing ':') is -EINVAL with a message naming
 * the value (shortened when long). */
int ps_digest_parse(const char *s, ps_digest *out, ps_error *err);
/* Like ps_digest_parse for a string that is not NUL-terminated. */
int ps_digest_parse_n(const char *s, size_t len, ps_digest *out, ps_error *err);
/* Parse the bare hex form (a blob file name in blobs/sha256/). */
int ps_digest_from_hex(const char *hex, ps_digest *out, ps_error *err);
bool ps_digest_valid(const char *s);
bool ps_digest_equal(const ps_digest *a, const ps_digest *b);
/* From 32 raw bytes. */
void ps_digest_from_raw(const unsigned char raw[32], ps_digest *out);

/* Incremental sha256.  Usage: ps_sha256_new, ps_sha256_update...,
 * ps_sha256_final (which also resets the state for reuse), ps_sha256_free. */
typedef struct ps_sha256 ps_sha256;
int ps_sha256_new(ps_sha256 **out, ps_error *err);
int ps_sha256_update(ps_sha256 *h, const void *data, size_t len, ps_error *err);
/* Finish, store the digest in *out and reset h to an empty state. */
int ps_sha256_final(ps_sha256 *h, ps_digest *out, ps_error *err);
int ps_sha256_reset(ps_sha256 *h, ps_error *err);
/* Bytes hashed since the last reset. */
uint64_t ps_sha256_count(const ps_sha256 *h);
void ps_sha256_free(ps_sha256 *h);
static inline void ps_sha256_freep(ps_sha256 **h) { ps_sha256_free(*h); }

/* sha256 of a buffer. */
int ps_digest_buffer(const void *data, size_t len, ps_digest *out, ps_error *err);
/* sha256 of everything readable from FD (read in 1 MiB blocks up to EOF);
 * *size (optional) gets the byte count. */
int ps_digest_fd(int fd, ps_digest *out, uint64_t *size, ps_error *err);
/* sha256 of a file. */
int ps_digest_file(const char *path, ps_digest *out, uint64_t *size, ps_error *err);
/* 0 when sha256(data) equals WANT, else -EBADMSG with a message
 * "WHAT content does not match its digest <want> (got <actual>)"
 * (what may be NULL: "content"). */
int ps_digest_verify_buffer(const void *data, size_t len, const ps_digest *want,
                            const char *what, ps_error *err);

/* FNV-1a, 64 bits: a fast non-cryptographic hash for in-memory tables and
 * for recognising a file's first bytes again (never for trust). */
uint64_t ps_fnv1a64(const void *data, size_t len);
