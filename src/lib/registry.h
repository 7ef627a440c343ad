/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker Registry HTTP API v2 / OCI distribution client on libcurl.
 *
 * One ps_registry object talks to one registry "host[:port]": plain http
 * for an insecure registry, else https with the system CAs (plus an extra
 * CA file when given).  Authentication follows the registry's 401
 * challenge: Basic with the configured credentials, or the Docker token
 * flow (Bearer realm/service/scope: GET realm?service=&scope= with the
 * credentials, use "token" or "access_token"; tokens are cached per scope
 * until they expire).
 *
 * Failures are retried with exponential backoff (backoff_ms, doubling, up
 * to backoff_max_ms; `tries` attempts in a row) on 429, 502, 503, 504 and
 * on connection errors and timeouts.  Other 4xx/5xx answers are final and
 * their JSON error body ({"errors":[{"code","message","detail"}]}) becomes
 * the message: "registry H: PUT /v2/x/manifests/1: 400
 * MANIFEST_BLOB_UNKNOWN: blob unknown to registry".  A blob upload that
 * breaks off restarts its upload session (monolithic) or resumes at the
 * offset the registry reports (chunked).
 *
 * Threads: curl_global_init() runs once, through pthread_once, from
 * ps_registry_global_init(), which ps_registry_new() calls.  A program
 * that starts other threads using libcurl or OpenSSL before its first
 * ps_registry_new() should call ps_registry_global_init() from main()
 * first.  curl_global_cleanup() is never called (process exit cleans up).
 * A ps_registry object serves one calling thread at a time;
 * ps_registry_upload_blobs() runs its own worker threads internally.
 *
 * Concurrency design: ps_registry_upload_blobs() uses N POSIX threads,
 * each with its own curl easy handle (and so its own connection), taking
 * blobs from a shared queue.  This keeps every upload a plain sequential
 * state machine (HEAD, POST, PUT/PATCH, retry) instead of an event loop
 * over the curl multi interface.  Shared state (token cache, statistics)
 * is guarded by a mutex, and progress callbacks are serialised, so the
 * caller's callback need not be thread-safe.
 *
 * The library never prints; errors come back in ps_error. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define PS_REGISTRY_MT_OCI_MANIFEST    "application/vnd.oci.image.manifest.v1+json"
#define PS_REGISTRY_MT_OCI_INDEX       "application/vnd.oci.image.index.v1+json"
#define PS_REGISTRY_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define PS_REGISTRY_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"

/* Largest manifest accepted (as containers/image). */
#define PS_REGISTRY_MANIFEST_MAX (4u * 1024 * 1024)

typedef struct ps_registry_opts {
        bool insecure;             /* plain http:// instead of https:// */
        const char *ca_file;       /* extra CA bundle (PEM) for https; it replaces libcurl's default
                                    * CA file, while the default CA directory (CAPATH, e.g.
                                    * /etc/ssl/certs on Debian and ALT) stays trusted */
        const char *username;      /* Basic credentials, also sent to the token realm */
        const char *password;
        long connect_timeout_ms;   /* 0: 15000 */
        long request_timeout_ms;   /* whole API call, not blob bodies; 0: 60000 */
        long stall_timeout_s;      /* abort a transfer below 1 byte/s for this long; 0: 30 */
        int tries;                 /* attempts in a row before giving up; 0: 5; 1: no retry */
        long backoff_ms;           /* first retry delay; 0: 200 */
        long backoff_max_ms;       /* cap of the doubling delay; 0: 5000 */
        int64_t max_send_speed;    /* bytes per second per transfer; 0: unlimited */
        const char *user_agent;    /* NULL: "podsec/VERSION" */
} ps_registry_opts;

typedef struct ps_registry ps_registry;

typedef struct ps_registry_stats {
        uint64_t requests;         /* HTTP requests performed (incl. token requests) */
        uint64_t retries;          /* retryable failures (each followed by a backoff) */
        uint64_t token_fetches;
        uint64_t bytes_sent;       /* request body bytes sent */
        uint64_t bytes_received;   /* response body bytes received */
        uint64_t blobs_uploaded;
        uint64_t blobs_existed;    /* skipped because HEAD found them */
        uint64_t blobs_mounted;
        uint64_t session_restarts; /* upload sessions started again after a failure */
} ps_registry_stats;

/* curl_global_init once per process (thread-safe; see above). */
int ps_registry_global_init(ps_error *err);

/* HOST is "host[:port]" (e.g. "registry.local", "127.0.0.1:5000",
 * "[::1]:5000").  OPTS may be NULL (all defaults).  Strings are copied. */
int ps_registry_new(const char *host, const ps_registry_opts *opts, ps_registry **out, ps_error *err);
void ps_registry_free(ps_registry *r);
const char *ps_registry_host(const ps_registry *r);
void ps_registry_get_stats(ps_registry *r, ps_registry_stats *out);

/* GET /v2/: 0 when the API answers 200 (after authentication when the
 * registry asks for it and credentials are set); -EACCES on 401. */
int ps_registry_ping(ps_registry *r, ps_error *err);

/* ---- blobs ---------------------------------------------------------- */

/* HEAD /v2/REPO/blobs/DIGEST: 1 exists (size in *size when not NULL),
 * 0 missing, < 0 error. */
int ps_registry_blob_head(ps_registry *r, const char *repo, const char *digest,
                          int64_t *size, ps_error *err);

/* Receives blob bytes; return < 0 (a negative errno) to stop. */
typedef int (*ps_registry_sink_fn)(void *ctx, const void *buf, size_t n);

/* GET /v2/REPO/blobs/DIGEST streamed to SINK; the digest is verified
 * while streaming (-EBADMSG on mismatch, after all bytes went to SINK:
 * the caller must discard them then).  An interrupted download resumes
 * with a Range request.  *size (optional) gets the byte count. */
int ps_registry_blob_get(ps_registry *r, const char *repo, const char *digest,
                         ps_registry_sink_fn sink, void *ctx, int64_t *size, ps_error *err);

/* A stream body: return the bytes read into BUF (at most N), 0 at the end,
 * or PS_REGISTRY_READ_ERROR. */
typedef size_t (*ps_registry_read_fn)(void *ctx, char *buf, size_t n);
#define PS_REGISTRY_READ_ERROR ((size_t)-1)

typedef enum ps_registry_body_kind {
        PS_BODY_BUFFER = 1,
        PS_BODY_FD,
        PS_BODY_STREAM,
} ps_registry_body_kind;

/* Where an upload's bytes come from.  Build it with one of the helpers
 * below.  Buffers and files can be re-read at any offset, so a failed
 * upload is restarted or resumed freely.  A stream is read once, in
 * order; it can be restarted only when REWIND is given (chunked uploads
 * keep the current chunk in memory, so they resume within it without a
 * rewind). */
typedef struct ps_registry_body {
        ps_registry_body_kind kind;
        const void *data;               /* PS_BODY_BUFFER */
        int fd;                         /* PS_BODY_FD: read with pread() */
        off_t offset;                   /*   from this offset */
        ps_registry_read_fn read;       /* PS_BODY_STREAM */
        int (*rewind)(void *ctx);       /*   optional: back to byte 0; 0 ok, < 0 errno */
        void *ctx;
        int64_t length;                 /* exact byte count (required) */
} ps_registry_body;

ps_registry_body ps_registry_body_buffer(const void *data, size_t len);
ps_registry_body ps_registry_body_fd(int fd, off_t offset, int64_t len);
ps_registry_body ps_registry_body_stream(ps_registry_read_fn read, int (*rewind)(void *ctx),
                                         void *ctx, int64_t len);

typedef enum ps_blob_status {
        PS_BLOB_PENDING = 0,            /* not attempted (an earlier blob failed) */
        PS_BLOB_UPLOADED,
        PS_BLOB_EXISTED,                /* HEAD found it: nothing sent */
        PS_BLOB_MOUNTED,                /* cross-repository mount */
        PS_BLOB_FAILED,
} ps_blob_status;

/* Progress of blob INDEX (0 for a single upload): DONE of TOTAL bytes.
 * Called from worker threads, one call at a time. */
typedef void (*ps_registry_progress_fn)(void *ctx, size_t index, const char *digest,
                                        int64_t done, int64_t total);

typedef struct ps_registry_upload_opts {
        const char *mount_from;         /* try POST ?mount=DIGEST&from=REPO first */
        size_t chunk_size;              /* 0: monolithic PUT; else PATCH chunks of this size */
        bool no_exists_check;           /* do not HEAD the blob first */
        unsigned concurrency;           /* ps_registry_upload_blobs: 0 = 4 */
        ps_registry_progress_fn progress;
        void *progress_ctx;
} ps_registry_upload_opts;

/* Upload one blob to REPO (HEAD first: an existing blob is skipped).
 * *status (optional) tells what happened. */
int ps_registry_blob_upload(ps_registry *r, const char *repo, const char *digest,
                            const ps_registry_body *body, const ps_registry_upload_opts *o,
                            ps_blob_status *status, ps_error *err);

/* POST /v2/REPO/blobs/uploads/?mount=DIGEST&from=FROM: 1 mounted,
 * 0 not mounted (the registry fell back to an upload session, which is
 * cancelled again), < 0 error. */
int ps_registry_blob_mount(ps_registry *r, const char *repo, const char *digest,
                           const char *from, ps_error *err);

typedef struct ps_registry_blob_job {
        const char *digest;             /* in */
        ps_registry_body body;          /* in */
        ps_blob_status status;          /* out */
        ps_error err;                   /* out: why it failed; free with ps_error_clear */
} ps_registry_blob_job;

/* Upload N blobs concurrently (o->concurrency workers), each skipped when
 * HEAD finds it.  Repeated digests are uploaded once.  After the first
 * failure no new blob is started; the first failure is returned. */
int ps_registry_upload_blobs(ps_registry *r, const char *repo, ps_registry_blob_job *jobs,
                             size_t n, const ps_registry_upload_opts *o, ps_error *err);

/* ---- manifests, tags, catalog --------------------------------------- */

typedef struct ps_registry_manifest {
        char *data;                     /* raw bytes, NUL-terminated */
        size_t len;
        char *media_type;               /* Content-Type (or the document's mediaType) */
        char *digest;                   /* sha256 of the bytes ("sha256:…"), or the reference digest */
} ps_registry_manifest;

/* GET /v2/REPO/manifests/REF (tag or digest).  ACCEPT is a NULL-terminated
 * list of media types, NULL for OCI + Docker schema 2 manifests and
 * indexes.  A digest REF is verified against the bytes. */
int ps_registry_manifest_get(ps_registry *r, const char *repo, const char *ref,
                             const char *const *accept, ps_registry_manifest *out, ps_error *err);
/* HEAD: 1 exists (*digest, *size optional), 0 missing, < 0 error. */
int ps_registry_manifest_head(ps_registry *r, const char *repo, const char *ref,
                              char **digest, int64_t *size, ps_error *err);
void ps_registry_manifest_free(ps_registry_manifest *m);

/* PUT /v2/REPO/manifests/REF with Content-Type MEDIA_TYPE.  *digest
 * (optional) gets the registry's Docker-Content-Digest, verified to be
 * the sha256 of DATA. */
int ps_registry_manifest_put(ps_registry *r, const char *repo, const char *ref,
                             const char *media_type, const void *data, size_t len,
                             char **digest, ps_error *err);

/* GET /v2/REPO/tags/list and /v2/_catalog, following Link pagination.
 * *out is a NULL-terminated malloc'd vector (free with ps_strv_free). */
int ps_registry_tags(ps_registry *r, const char *repo, char ***out, ps_error *err);
int ps_registry_catalog(ps_registry *r, char ***out, ps_error *err);

/* ---- pure helpers (exported for tests and other modules) ------------ */

typedef struct ps_auth_challenge {
        char *scheme;                   /* "Bearer", "Basic", … as sent */
        char *realm;
        char *service;
        char *scope;
        char *error;                    /* e.g. "insufficient_scope" */
} ps_auth_challenge;

/* Parse one WWW-Authenticate value (the first challenge in it). */
int ps_registry_parse_challenge(const char *value, ps_auth_challenge *out, ps_error *err);
void ps_auth_challenge_free(ps_auth_challenge *c);

/* "CODE: message (detail); CODE2: …" from a registry error body, or NULL
 * when BODY is not such a document. */
char *ps_registry_error_text(const char *body, size_t len);

/* Resolve a Location (absolute, or relative to BASE, RFC 3986); only
 * http/https results.  NULL when invalid. */
char *ps_registry_resolve_url(const char *base, const char *location);
/* URL with "KEY=VALUE" appended to its query (VALUE percent-encoded). */
char *ps_registry_url_add_query(const char *url, const char *key, const char *value);
/* The "next" target of a Link header, or NULL. */
char *ps_registry_link_next(const char *link);

/* A Range header of an upload ("bytes=0-99" or "0-99"): *next = end + 1.
 * "0-0" is ambiguous (0 or 1 byte stored): returns 1 and *next = 0 then.
 * 0 on success, -EINVAL when malformed. */
int ps_registry_parse_range(const char *value, int64_t *next);

/* Delay before retry number FAILURE (1, 2, …): backoff_ms * 2^(FAILURE-1),
 * at most backoff_max_ms.  OPTS may be NULL (defaults). */
long ps_registry_backoff_ms(const ps_registry_opts *opts, int failure);
/* 429, 502, 503, 504 */
bool ps_registry_retryable_status(long status);

/* Name grammar of the distribution spec. */
bool ps_registry_valid_repo(const char *s);
bool ps_registry_valid_tag(const char *s);
bool ps_registry_valid_digest(const char *s);
bool ps_registry_valid_host(const char *s);

/* "sha256:HEX" (or "sha512:HEX" when ALG is "sha512") of DATA; NULL on
 * an unknown algorithm or ENOMEM. */
char *ps_registry_digest_of(const char *alg, const void *data, size_t len);
