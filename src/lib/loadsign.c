/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec image load-sign: the engine (see loadsign.h for the design). */
#include "loadsign.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lzma.h>
#include <pthread.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "gpg.h"
#include "gpgkey.h"
#include "oci.h"
#include "ps-archive.h"
#include "reference.h"
#include "registry.h"
#include "signature.h"
#include "sigstore.h"

const char *const ps_ls_archs[] = { "amd64", "arm64", "arm", "ppc64le", "386", NULL };

/* Blobs up to this size are read into memory (verified) and uploaded from
 * there after the read; all of them together at most LS_KEEP_MAX. */
#define LS_SMALL PS_OCI_MAX_MANIFEST
#define LS_KEEP_MAX ((size_t)256 << 20)
#define LS_CHUNK ((size_t)8 << 20)
/* blobs finishing their upload at the same time once the read is done */
#define LS_FINISH_SLOTS 4
/* threads computing signatures */
#define LS_SIGNERS 2
#define LS_RETIRED_PREFIX "k8s-"
#define LS_ALIAS_PLATFORM "c10f"
#define LS_ALIAS_NS "k8s-c10f2"

bool ps_ls_arch_valid(const char *arch)
{
        for (size_t i = 0; arch && ps_ls_archs[i]; i++)
                if (strcmp(arch, ps_ls_archs[i]) == 0)
                        return true;
        return false;
}

/* ------------------------------------------------------------------ */
/* naming                                                              */

/* A printable, shortened copy of untrusted text for messages. */
static char *shown_str(const char *s)
{
        return ps_shown(s, strlen(s), 200);
}

int ps_ls_parse_ref_name(const char *ref_name, char **path, char **tag, ps_error *err)
{
        _cleanup_free_ char *sr = shown_str(ref_name ? ref_name : "");
        if (!sr)
                return ps_error_errno(err, ENOMEM, "image name");
        if (!ref_name || !*ref_name)
                return ps_error_set(err, EINVAL, "empty image name");
        if (strchr(ref_name, '@'))
                return ps_error_set(err, EINVAL,
                                    "image name \"%s\": a digest is not allowed in an archive's image name", sr);
        const char *slash = strrchr(ref_name, '/');
        const char *colon = strrchr(ref_name, ':');
        _cleanup_free_ char *p = NULL, *t = NULL;
        if (colon && (!slash || colon > slash)) {
                p = strndup(ref_name, (size_t)(colon - ref_name));
                t = strdup(colon + 1);
        } else {
                p = strdup(ref_name);
                t = strdup("latest");
        }
        if (!p || !t)
                return ps_error_errno(err, ENOMEM, "image name");
        if (!ps_registry_valid_repo(p))
                return ps_error_set(err, EINVAL,
                                    "image name \"%s\": \"%s\" is not a valid repository path (lowercase "
                                    "components of letters and digits separated by '/', '.', '_' or '-')",
                                    sr, p);
        if (!ps_registry_valid_tag(t))
                return ps_error_set(err, EINVAL, "image name \"%s\": invalid tag", sr);
        *path = steal_pointer(&p);
        *tag = steal_pointer(&t);
        return 0;
}

int ps_ls_ref_platform(const char *ref_name, char **platform, ps_error *err)
{
        const char *slash = ref_name ? strchr(ref_name, '/') : NULL;
        if (!slash || slash == ref_name) {
                _cleanup_free_ char *sr = shown_str(ref_name ? ref_name : "");
                return ps_error_set(err, EINVAL,
                                    "image name \"%s\" has no platform prefix (expected PLATFORM/NAME:TAG, "
                                    "e.g. c10f/pause:3.9)",
                                    sr ? sr : "?");
        }
        *platform = strndup(ref_name, (size_t)(slash - ref_name));
        if (!*platform)
                return ps_error_errno(err, ENOMEM, "image name");
        return 0;
}

static bool host_like(const char *h, size_t n)
{
        if (n == 9 && strncmp(h, "localhost", 9) == 0)
                return true;
        return memchr(h, '.', n) || memchr(h, ':', n);
}

int ps_ls_check_namespace(const char *ns, bool require_path, int *why, ps_error *err)
{
        int dummy;
        if (!why)
                why = &dummy;
        *why = 0;
        _cleanup_free_ char *sn = shown_str(ns ? ns : "");
        if (!sn)
                return ps_error_errno(err, ENOMEM, "registry name");
        const char *slash = ns ? strchr(ns, '/') : NULL;
        if (require_path && (!slash || slash[1] == '\0')) {
                *why = PS_LS_BAD_NO_PATH;
                return ps_error_set(err, EINVAL,
                                    "\"%s\": a path is needed after the registry name (REGISTRY/PATH, "
                                    "e.g. registry.local/c10f)",
                                    sn);
        }
        size_t hl = slash ? (size_t)(slash - ns) : strlen(ns ? ns : "");
        _cleanup_free_ char *host = ns ? strndup(ns, hl) : NULL;
        if (!host && ns)
                return ps_error_errno(err, ENOMEM, "registry name");
        if (!host || !*host || !host_like(host, hl) || !ps_registry_valid_host(host)) {
                *why = PS_LS_BAD_HOST;
                return ps_error_set(err, EINVAL,
                                    "\"%s\": the registry name must contain a dot (or a port, or be "
                                    "localhost), e.g. registry.local",
                                    sn);
        }
        if (slash && !ps_registry_valid_repo(slash + 1)) {
                *why = PS_LS_BAD_PATH;
                return ps_error_set(err, EINVAL,
                                    "\"%s\": \"%s\" is not a valid repository path (lowercase components of "
                                    "letters and digits separated by '/', '.', '_' or '-')",
                                    sn, slash + 1);
        }
        return 0;
}

static int strv_add(char ***v, size_t *n, char *s)
{
        char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[(*n)++] = s;
        nv[*n] = NULL;
        return 0;
}

/* Check that REF is a valid full reference on HOST. */
static int check_dest(const char *ref, const char *host, ps_error *err)
{
        ps_reference pr = { 0 };
        int r = ps_reference_parse(ref, &pr, err);
        if (r < 0)
                return ps_error_wrap(err, "destination");
        bool ok = pr.domain && strcmp(pr.domain, host) == 0 && pr.tag && !pr.digest;
        ps_reference_free(&pr);
        if (!ok)
                return ps_error_set(err, EINVAL, "destination \"%s\" is not a reference on %s", ref, host);
        return 0;
}

int ps_ls_destinations(const char *ns, const char *registry, const char *platform,
                       const char *ref_name, bool legacy_alias, char ***dests, ps_error *err)
{
        _cleanup_free_ char *path = NULL, *tag = NULL, *nsv = NULL, *host = NULL;
        int r = ps_ls_parse_ref_name(ref_name, &path, &tag, err);
        if (r < 0)
                return r;
        if (!platform || !*platform)
                return ps_error_set(err, EINVAL, "no archive platform");
        if (ns)
                nsv = strdup(ns);
        else if (asprintf(&nsv, "%s/%s", registry ? registry : "", platform) < 0)
                nsv = NULL;
        if (!nsv)
                return ps_error_errno(err, ENOMEM, "destination");
        const char *slash = strchr(nsv, '/');
        host = strndup(nsv, slash ? (size_t)(slash - nsv) : strlen(nsv));
        if (!host)
                return ps_error_errno(err, ENOMEM, "destination");
        char **v = NULL;
        size_t n = 0;
        char *main_ref = NULL, *alias = NULL;
        size_t pl = strlen(platform);
        if (strncmp(path, platform, pl) == 0 && path[pl] == '/') {
                const char *rest = path + pl + 1;
                if (asprintf(&main_ref, "%s/%s:%s", nsv, rest, tag) < 0)
                        main_ref = NULL;
                if (main_ref && legacy_alias && strcmp(platform, LS_ALIAS_PLATFORM) == 0 &&
                    asprintf(&alias, "%s/%s/%s:%s", host, LS_ALIAS_NS, rest, tag) < 0) {
                        free(main_ref);
                        main_ref = NULL;
                }
        } else if (asprintf(&main_ref, "%s/%s:%s", host, path, tag) < 0) {
                main_ref = NULL;
        }
        if (!main_ref)
                return ps_error_errno(err, ENOMEM, "destination");
        if (strv_add(&v, &n, main_ref) < 0) {
                free(main_ref);
                free(alias);
                return ps_error_errno(err, ENOMEM, "destination");
        }
        if (alias && strv_add(&v, &n, alias) < 0) {
                free(alias);
                ps_strv_free(v);
                return ps_error_errno(err, ENOMEM, "destination");
        }
        for (size_t i = 0; i < n; i++) {
                r = check_dest(v[i], host, err);
                if (r < 0) {
                        ps_strv_free(v);
                        return r;
                }
        }
        *dests = v;
        return 0;
}

bool ps_ls_gid_member(unsigned gid, unsigned egid, const unsigned *groups, size_t n)
{
        if (gid == egid)
                return true;
        for (size_t i = 0; i < n; i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

/* ------------------------------------------------------------------ */
/* xz in its own thread                                                */
/*
 * An .xz archive is decompressed by a thread of its own (liblzma's
 * multi-threaded decoder: the blocks of a multi-block file, which
 * `podsec image save` writes, are decoded on LS_XZ_THREADS cores; a
 * single-block file still takes one) and handed to the archive reader as a
 * plain tar stream through a socket pair.  The reading thread then only
 * parses tar, hashes and copies, next to the decompression instead of
 * after it.  Other compressions go to the archive reader directly.
 */

#define LS_XZ_THREADS 2
#define LS_XZ_BUF ((size_t)1 << 20)

struct unxz {
        int in_fd;                      /* the archive (ours) */
        int out_fd;                     /* socket to the reader */
        pthread_t th;
        bool started;
        uint64_t in_total;
        uint64_t in_done;               /* __atomic */
        int rc;                         /* after join: 0, or -errno with MSG */
        char *msg;
};

static bool is_xz(int fd)
{
        unsigned char m[6];
        ssize_t n = pread(fd, m, sizeof(m), 0);
        return n == (ssize_t)sizeof(m) && memcmp(m, "\xfd" "7zXZ\0", 6) == 0;
}

static void unxz_fail(struct unxz *u, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void unxz_fail(struct unxz *u, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&u->msg, fmt, ap) < 0)
                u->msg = NULL;
        va_end(ap);
        u->rc = -code;
}

static void *unxz_thread(void *arg)
{
        struct unxz *u = arg;
        lzma_stream s = LZMA_STREAM_INIT;
        lzma_mt mt = { .flags = LZMA_CONCATENATED, .threads = LS_XZ_THREADS,
                       .memlimit_threading = (uint64_t)1 << 30, .memlimit_stop = (uint64_t)4 << 30 };
        _cleanup_free_ uint8_t *in = malloc(LS_XZ_BUF);
        _cleanup_free_ uint8_t *out = malloc(LS_XZ_BUF);
        lzma_ret lr = in && out ? lzma_stream_decoder_mt(&s, &mt) : LZMA_MEM_ERROR;
        if (lr != LZMA_OK) {
                unxz_fail(u, ENOMEM, "cannot start the xz decoder (liblzma error %d)", (int)lr);
                goto out;
        }
        lzma_action action = LZMA_RUN;
        bool eof = false;
        s.next_out = out;
        s.avail_out = LS_XZ_BUF;
        for (;;) {
                if (s.avail_in == 0 && !eof) {
                        ssize_t n = read(u->in_fd, in, LS_XZ_BUF);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                unxz_fail(u, errno, "read error: %s", strerror(errno));
                                break;
                        }
                        if (n == 0) {
                                eof = true;
                                action = LZMA_FINISH;
                        }
                        s.next_in = in;
                        s.avail_in = (size_t)n;
                        __atomic_add_fetch(&u->in_done, (uint64_t)n, __ATOMIC_RELAXED);
                }
                lr = lzma_code(&s, action);
                if (s.avail_out == 0 || lr == LZMA_STREAM_END) {
                        size_t len = LS_XZ_BUF - s.avail_out;
                        const uint8_t *p = out;
                        while (len) {
                                ssize_t w = send(u->out_fd, p, len, MSG_NOSIGNAL);
                                if (w < 0 && errno == EINTR)
                                        continue;
                                if (w < 0) {
                                        /* the reader stopped: its error says why */
                                        u->rc = 0;
                                        goto out;
                                }
                                p += w;
                                len -= (size_t)w;
                        }
                        s.next_out = out;
                        s.avail_out = LS_XZ_BUF;
                }
                if (lr == LZMA_STREAM_END)
                        break;
                if (lr == LZMA_OK)
                        continue;
                uint64_t done = __atomic_load_n(&u->in_done, __ATOMIC_RELAXED);
                if (lr == LZMA_BUF_ERROR || (lr == LZMA_DATA_ERROR && eof))
                        unxz_fail(u, EIO, "truncated xz stream: the input ends after %" PRIu64 " bytes", done);
                else if (lr == LZMA_MEMLIMIT_ERROR || lr == LZMA_MEM_ERROR)
                        unxz_fail(u, ENOMEM, "xz stream needs more memory than allowed (%" PRIu64 " MiB)",
                                  lzma_memusage(&s) >> 20);
                else if (lr == LZMA_FORMAT_ERROR)
                        unxz_fail(u, EINVAL, "not an xz stream after %" PRIu64 " bytes", done);
                else if (lr == LZMA_OPTIONS_ERROR)
                        unxz_fail(u, ENOTSUP, "unsupported xz options");
                else
                        unxz_fail(u, EBADMSG, "corrupt xz stream (liblzma error %d, near byte %" PRIu64 ")",
                                  (int)lr, done);
                break;
        }
out:
        lzma_end(&s);
        /* EOF for the reader (an error ends the tar early; the walk fails
         * and this thread's error is reported) */
        shutdown(u->out_fd, SHUT_WR);
        return NULL;
}

/* Start decompressing FD into a socket; *rfd is the reading end. */
static int unxz_start(struct unxz *u, int fd, int *rfd, ps_error *err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return ps_error_errno(err, errno, "cannot create a socket pair for the xz decoder");
        int sz = 4 << 20;
        (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        (void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        struct stat st;
        u->in_total = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
        u->in_fd = fd;
        u->out_fd = sv[1];
        int e = pthread_create(&u->th, NULL, unxz_thread, u);
        if (e) {
                close(sv[0]);
                close(sv[1]);
                u->out_fd = -1;
                return ps_error_errno(err, e, "cannot start the xz decoder");
        }
        u->started = true;
        *rfd = sv[0];
        return 0;
}

/* Stop (the reader has closed its end, so the decoder is not blocked) and
 * wait. */
static void unxz_join(struct unxz *u)
{
        if (u->started) {
                pthread_join(u->th, NULL);
                u->started = false;
        }
        if (u->out_fd >= 0) {
                close(u->out_fd);
                u->out_fd = -1;
        }
}

/* ------------------------------------------------------------------ */
/* run state                                                           */

/* A signing slot (see "where gpg runs" below). */
struct slot {
        pid_t pid;                      /* helper process, or 0: in-process */
        int fd;                         /* its socket */
        ps_gpg_verifier *v;             /* in-process (or in the helper) */
        bool vtried;
};


struct ls;

enum how { B_NONE = 0, B_KEPT, B_STREAM, B_SPOOL, B_VERIFIED };

struct stream;

/* Everything known about one digest: from the archive and from the
 * descriptors naming it. */
struct blob {
        ps_digest digest;
        bool in_archive;
        int64_t size;                   /* in the archive */
        int owner;                      /* first image (index.json position) using it; -1 */
        char *media_type;               /* of the first descriptor naming it */
        bool meta;                      /* named as a manifest or index */
        bool processed;                 /* meta: parsed for discovery */
        enum how how;
        char *data;                     /* B_KEPT (NUL-terminated) */
        off_t spool_off;                /* B_SPOOL */
        struct stream *st;              /* B_STREAM */
        char *placed;                   /* repository that has it (after placement) */
};

struct stream {
        struct ls *ls;
        struct blob *b;
        char *repo;
        pthread_t th;
        bool started;
        pthread_cond_t data, space;
        const unsigned char *mb;        /* mailbox: a block of the reader's, lent */
        size_t mb_len;
        int64_t produced, consumed;
        bool prod_done, prod_failed;
        bool have_last;                 /* the blob's last byte, held back in LAST */
        unsigned char last;
        bool closed;                    /* the upload returned */
        bool slot;
        int rc;
        ps_error err;
        ps_blob_status status;
        ps_registry_stats stats;
};

/* A manifest or index of an image, resolved. */
struct node {
        const ps_descriptor *desc;
        struct blob *b;
        ps_manifest *m;
        ps_image_config *cfg;
        ps_index *idx;
        struct node *kids;
        size_t n_kids;
};

struct image {
        const ps_descriptor *desc;      /* index.json entry */
        const char *ref_name;
        char **dests;
        char **stores;                  /* signature store base per destination */
        bool dup;                       /* same destinations and digest as an earlier entry */
        size_t res_idx;                 /* its entry in the result */
        struct node root;
};

struct ls {
        const ps_loadsign_opts *o;
        ps_loadsign_result *res;
        struct timespec t0;
        ps_archive *ar;
        int ar_fd;                      /* the archive */
        int sock_fd;                    /* decompressed tar from the xz thread, or -1 */
        struct unxz unxz;
        ps_index *index;
        char *platform;
        char *host;                     /* registry host of the destinations */
        struct image *img;
        size_t n_img;
        /* blobs */
        void *tree;                     /* tsearch by digest string */
        struct blob **blobs;
        size_t n_blobs, cap_blobs;
        size_t kept;
        size_t pending;                 /* meta blobs named but not parsed yet */
        int spool_fd;
        off_t spool_len;
        /* streams */
        pthread_mutex_t mu;
        pthread_cond_t slot_cv;
        int slots;
        int verdict;                    /* 0 pending, 1 go, -1 abort */
        struct stream **streams;
        size_t n_streams, cap_streams;
        uint64_t sent;                  /* bytes handed to uploads (under mu) */
        ps_registry_opts ropts;
        size_t chunk;
        /* progress */
        uint64_t in_done, in_total, blob_bytes;
        struct timespec last_ev;
        const char *cur_image;
        /* failure */
        ps_ls_stage stage;
        bool seen_entry;
        /* signing (see "signing" below) */
        ps_gpg_sign_opts gopts;
        struct slot slot[LS_SIGNERS];   /* slot 0: the key check, then signer 0 or the main thread */
        struct sthr { struct ls *ls; int i; } sthr[LS_SIGNERS];
        pthread_mutex_t smu;
        pthread_cond_t scv;
        pthread_t probe_th;
        bool probe_started, probe_done;
        int probe_rc;
        ps_error probe_err;
        char *keydata;
        size_t keylen;
        struct sigjob *jobs;
        size_t n_jobs, next_job;
        bool jobs_planned, sign_stop;
        pthread_t signers[LS_SIGNERS];
        int n_signers;
        ps_registry *reg;
};

static double since(const struct timespec *t0)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int blob_cmp(const void *a, const void *b)
{
        const struct blob *x = a, *y = b;
        return strcmp(x->digest.str, y->digest.str);
}

static struct blob *blob_find(struct ls *ls, const ps_digest *d)
{
        struct blob key;
        key.digest = *d;
        struct blob **p = tfind(&key, &ls->tree, blob_cmp);
        return p ? *p : NULL;
}

static struct blob *blob_get(struct ls *ls, const ps_digest *d, ps_error *err)
{
        struct blob *b = blob_find(ls, d);
        if (b)
                return b;
        if (ls->n_blobs == ls->cap_blobs) {
                size_t nc = ls->cap_blobs ? ls->cap_blobs * 2 : 64;
                struct blob **v = realloc(ls->blobs, nc * sizeof(*v));
                if (!v) {
                        ps_error_errno(err, ENOMEM, "blob list");
                        return NULL;
                }
                ls->blobs = v;
                ls->cap_blobs = nc;
        }
        b = calloc(1, sizeof(*b));
        if (!b) {
                ps_error_errno(err, ENOMEM, "blob list");
                return NULL;
        }
        b->digest = *d;
        b->owner = -1;
        b->size = -1;
        if (!tsearch(b, &ls->tree, blob_cmp)) {
                free(b);
                ps_error_errno(err, ENOMEM, "blob list");
                return NULL;
        }
        ls->blobs[ls->n_blobs++] = b;
        return b;
}

static void emit(struct ls *ls, ps_ls_event *ev)
{
        if (!ls->o->event)
                return;
        ev->seconds = since(&ls->t0);
        ls->o->event(ls->o->ud, ev);
}

static void emit_progress(struct ls *ls, bool force)
{
        if (!ls->o->event)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        unsigned ms = ls->o->progress_ms ? ls->o->progress_ms : 250;
        int64_t dt = (int64_t)(now.tv_sec - ls->last_ev.tv_sec) * 1000 +
                     (now.tv_nsec - ls->last_ev.tv_nsec) / 1000000;
        if (!force && dt < (int64_t)ms)
                return;
        ls->last_ev = now;
        pthread_mutex_lock(&ls->mu);
        uint64_t sent = ls->sent;
        pthread_mutex_unlock(&ls->mu);
        ps_ls_event ev = { .kind = PS_LS_EV_PROGRESS, .in_done = ls->in_done, .in_total = ls->in_total,
                           .blob_bytes = ls->blob_bytes, .sent_bytes = sent, .image = ls->cur_image };
        emit(ls, &ev);
}

static void on_input(void *ud, uint64_t done, uint64_t total)
{
        struct ls *ls = ud;
        if (ls->sock_fd >= 0) {
                /* the reader counts decompressed bytes: take the decoder's */
                done = __atomic_load_n(&ls->unxz.in_done, __ATOMIC_RELAXED);
                total = ls->unxz.in_total;
        }
        ls->in_done = done;
        ls->in_total = total;
        emit_progress(ls, false);
}

static void phase(struct ls *ls, const char *text)
{
        ps_ls_event ev = { .kind = PS_LS_EV_PHASE, .text = text };
        emit(ls, &ev);
}

/* ------------------------------------------------------------------ */
/* streaming uploads with a held-back last byte                        */

static void stream_free(struct stream *s)
{
        if (!s)
                return;
        pthread_cond_destroy(&s->data);
        pthread_cond_destroy(&s->space);
        free(s->repo);
        ps_error_clear(&s->err);
        free(s);
}

/* The upload's body: the blob's bytes, taken straight from the reader's
 * block (one copy, into the upload's chunk).  The last byte is given out
 * only after the verdict. */
static size_t stream_read(void *ctx, char *buf, size_t n)
{
        struct stream *s = ctx;
        struct ls *ls = s->ls;
        size_t ret;
        pthread_mutex_lock(&ls->mu);
        for (;;) {
                if (ls->verdict < 0 || s->prod_failed) {
                        ret = PS_REGISTRY_READ_ERROR;
                        break;
                }
                int64_t left = s->b->size - s->consumed;
                if (left <= 0 || n == 0) {
                        ret = 0;
                        break;
                }
                if (s->mb_len > 0) {
                        size_t k = n < s->mb_len ? n : s->mb_len;
                        memcpy(buf, s->mb, k);
                        s->mb += k;
                        s->mb_len -= k;
                        s->consumed += (int64_t)k;
                        ls->sent += k;
                        if (s->mb_len == 0)
                                pthread_cond_signal(&s->space);
                        ret = k;
                        break;
                }
                if (left == 1 && s->have_last && s->prod_done && ls->verdict > 0) {
                        if (!s->slot) {
                                if (ls->slots <= 0) {
                                        pthread_cond_wait(&ls->slot_cv, &ls->mu);
                                        continue;
                                }
                                ls->slots--;
                                s->slot = true;
                        }
                        buf[0] = (char)s->last;
                        s->consumed++;
                        ls->sent++;
                        ret = 1;
                        break;
                }
                pthread_cond_wait(&s->data, &ls->mu);
        }
        pthread_mutex_unlock(&ls->mu);
        return ret;
}

/* A chunk size for a blob of SIZE bytes, at most MAX, such that the last
 * chunk (the one held back until the verdict) is tiny: SIZE - 1 bytes in K
 * chunks of (SIZE - 1) / K, then at most K bytes. */
static size_t stream_chunk_size(int64_t size, size_t max)
{
        if (size <= 1)
                return max;
        uint64_t k = ((uint64_t)size - 1 + max - 1) / max;
        uint64_t cs = ((uint64_t)size - 1) / k;
        return cs ? (size_t)cs : max;
}

static void *stream_thread(void *arg)
{
        struct stream *s = arg;
        struct ls *ls = s->ls;
        ps_error err = PS_ERROR_INIT;
        ps_registry *reg = NULL;
        ps_blob_status st = PS_BLOB_FAILED;
        ps_registry_stats stats = { 0 };
        int r = ps_registry_new(ls->host, &ls->ropts, &reg, &err);
        if (r >= 0) {
                ps_registry_body body = ps_registry_body_stream(stream_read, NULL, s, s->b->size);
                ps_registry_upload_opts uo = { .chunk_size = stream_chunk_size(s->b->size, ls->chunk) };
                r = ps_registry_blob_upload(reg, s->repo, s->b->digest.str, &body, &uo, &st, &err);
                ps_registry_get_stats(reg, &stats);
                ps_registry_free(reg);
        }
        pthread_mutex_lock(&ls->mu);
        s->closed = true;
        s->rc = r < 0 ? r : 0;
        s->status = r < 0 ? PS_BLOB_FAILED : st;
        s->stats = stats;
        s->err = err;
        if (s->slot) {
                s->slot = false;
                ls->slots++;
                pthread_cond_broadcast(&ls->slot_cv);
        }
        pthread_cond_signal(&s->space);
        pthread_mutex_unlock(&ls->mu);
        return NULL;
}

static int stream_start(struct ls *ls, struct blob *b, const char *repo, ps_error *err)
{
        if (ls->n_streams == ls->cap_streams) {
                size_t nc = ls->cap_streams ? ls->cap_streams * 2 : 16;
                struct stream **v = realloc(ls->streams, nc * sizeof(*v));
                if (!v)
                        return ps_error_errno(err, ENOMEM, "upload of %s", b->digest.str);
                ls->streams = v;
                ls->cap_streams = nc;
        }
        struct stream *s = calloc(1, sizeof(*s));
        if (!s)
                return ps_error_errno(err, ENOMEM, "upload of %s", b->digest.str);
        s->ls = ls;
        s->b = b;
        s->repo = strdup(repo);
        pthread_cond_init(&s->data, NULL);
        pthread_cond_init(&s->space, NULL);
        if (!s->repo) {
                stream_free(s);
                return ps_error_errno(err, ENOMEM, "upload of %s", b->digest.str);
        }
        ls->streams[ls->n_streams++] = s;
        b->st = s;
        b->how = B_STREAM;
        int e = pthread_create(&s->th, NULL, stream_thread, s);
        if (e)
                return ps_error_errno(err, e, "cannot start the upload of %s", b->digest.str);
        s->started = true;
        return 0;
}

/* Lend a block of LEN bytes to the upload and wait until it has taken
 * them (the block is valid only until the next read).  The blob's last
 * byte is kept back here.  An upload that ended early because the registry
 * had the blob takes nothing more; one that failed stops the read. */
static int stream_push(struct stream *s, const unsigned char *d, size_t len, ps_error *err)
{
        struct ls *ls = s->ls;
        int r = 0;
        pthread_mutex_lock(&ls->mu);
        s->produced += (int64_t)len;
        if (s->produced == s->b->size && len > 0) {
                s->last = d[len - 1];
                s->have_last = true;
                len--;
        }
        s->mb = d;
        s->mb_len = len;
        if (len)
                pthread_cond_signal(&s->data);
        while (s->mb_len > 0 && !s->closed)
                pthread_cond_wait(&s->space, &ls->mu);
        if (s->closed && s->rc < 0)
                r = ps_error_set(err, -s->rc, "%s", ps_error_msg(&s->err));
        s->mb = NULL;
        s->mb_len = 0;
        pthread_mutex_unlock(&ls->mu);
        return r;
}

static void stream_end(struct stream *s, bool ok)
{
        struct ls *ls = s->ls;
        pthread_mutex_lock(&ls->mu);
        if (ok)
                s->prod_done = true;
        else
                s->prod_failed = true;
        pthread_cond_signal(&s->data);
        pthread_mutex_unlock(&ls->mu);
}

/* Decide: go (1) or abort (-1); then wait for every upload thread. */
static void streams_finish(struct ls *ls, int verdict)
{
        pthread_mutex_lock(&ls->mu);
        ls->verdict = verdict;
        for (size_t i = 0; i < ls->n_streams; i++)
                pthread_cond_broadcast(&ls->streams[i]->data);
        pthread_cond_broadcast(&ls->slot_cv);
        pthread_mutex_unlock(&ls->mu);
        for (size_t i = 0; i < ls->n_streams; i++) {
                struct stream *s = ls->streams[i];
                if (s->started) {
                        pthread_join(s->th, NULL);
                        s->started = false;
                }
        }
}

/* ------------------------------------------------------------------ */
/* spooling                                                            */

static int spool_open(struct ls *ls, ps_error *err)
{
        if (ls->spool_fd >= 0)
                return 0;
        const char *dir = getenv("TMPDIR");
        if (!dir || dir[0] != '/')
                dir = "/var/tmp";
        int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
                /* no O_TMPFILE here: a private name, removed at once */
                _cleanup_free_ char *tmpl = ps_path_join(dir, "podsec-spool-XXXXXX");
                if (!tmpl)
                        return ps_error_errno(err, ENOMEM, "spool file");
                fd = mkostemp(tmpl, O_CLOEXEC);
                if (fd >= 0)
                        unlink(tmpl);
        }
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot create a temporary spool file in %s", dir);
        ls->spool_fd = fd;
        return 0;
}

static int spool_write(struct ls *ls, const void *d, size_t len, ps_error *err)
{
        const char *p = d;
        while (len) {
                ssize_t n = pwrite(ls->spool_fd, p, len, ls->spool_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(err, errno, "cannot write the temporary spool file");
                }
                p += n;
                len -= (size_t)n;
                ls->spool_len += n;
        }
        return 0;
}

static int spool_sink(void *ctx, const void *buf, size_t n)
{
        struct ls *ls = ctx;
        ps_error e = PS_ERROR_INIT;
        int r = spool_write(ls, buf, n, &e);
        ps_error_clear(&e);
        return r;
}

/* ------------------------------------------------------------------ */
/* discovery: which image uses which blob, as the metadata arrives     */

static int want(struct ls *ls, const ps_descriptor *d, int owner, ps_error *err);

/* Parse a meta blob whose content and owner are known, and claim what it
 * names.  Parse errors are left to the final check. */
static int process(struct ls *ls, struct blob *b, ps_error *err)
{
        if (b->processed || !b->data || b->owner < 0)
                return 0;
        b->processed = true;
        if (ls->pending)
                ls->pending--;
        ps_oci_kind k = ps_oci_kind_of(b->media_type);
        int r = 0;
        if (ps_oci_kind_is_manifest(k)) {
                ps_manifest *m = NULL;
                ps_error e = PS_ERROR_INIT;
                if (ps_manifest_parse(b->data, (size_t)b->size, b->media_type, &m, &e) < 0) {
                        ps_error_clear(&e);
                        return 0;
                }
                r = want(ls, &m->config, b->owner, err);
                for (size_t i = 0; r >= 0 && i < m->n_layers; i++)
                        r = want(ls, &m->layers[i], b->owner, err);
                ps_manifest_free(m);
        } else if (ps_oci_kind_is_index(k)) {
                ps_index *x = NULL;
                ps_error e = PS_ERROR_INIT;
                if (ps_index_parse(b->data, (size_t)b->size, b->media_type, &x, &e) < 0) {
                        ps_error_clear(&e);
                        return 0;
                }
                for (size_t i = 0; r >= 0 && i < x->n_manifests; i++)
                        r = want(ls, &x->manifests[i], b->owner, err);
                ps_index_free(x);
        }
        return r;
}

static int want(struct ls *ls, const ps_descriptor *d, int owner, ps_error *err)
{
        struct blob *b = blob_get(ls, &d->digest, err);
        if (!b)
                return -ENOMEM;
        if (b->owner >= 0)
                return 0;
        b->owner = owner;
        b->media_type = strdup(d->media_type ? d->media_type : "");
        if (!b->media_type)
                return ps_error_errno(err, ENOMEM, "blob list");
        ps_oci_kind k = ps_oci_kind_of(d->media_type);
        if (ps_oci_kind_is_manifest(k) || ps_oci_kind_is_index(k)) {
                b->meta = true;
                ls->pending++;
                if (b->how == B_KEPT)
                        return process(ls, b, err);
        }
        return 0;
}

/* ------------------------------------------------------------------ */
/* the read                                                            */

static void plan_signing(struct ls *ls);
static bool probe_failed(struct ls *ls);
static int store_for(struct ls *ls, const char *ref, char **out, ps_error *err);
static int store_writable(struct ls *ls, const char *url, ps_error *err);

static void image_node_clear(struct node *n)
{
        for (size_t i = 0; i < n->n_kids; i++)
                image_node_clear(&n->kids[i]);
        free(n->kids);
        ps_manifest_free(n->m);
        ps_image_config_free(n->cfg);
        ps_index_free(n->idx);
        memset(n, 0, sizeof(*n));
}

/* index.json has arrived: platform check, names, claims. */
static int on_index(void *ud, ps_index *idx, ps_error *err)
{
        struct ls *ls = ud;
        const ps_loadsign_opts *o = ls->o;
        ls->seen_entry = true;
        ls->index = idx;
        if (idx->n_manifests == 0) {
                ls->stage = PS_LS_ARCHIVE;
                return ps_error_set(err, EINVAL, "%s/index.json lists no images", o->arch);
        }
        ls->img = calloc(idx->n_manifests, sizeof(*ls->img));
        if (!ls->img)
                return ps_error_errno(err, ENOMEM, "index.json");
        ls->n_img = idx->n_manifests;
        int r;
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const ps_descriptor *d = &idx->manifests[i];
                ls->img[i].desc = d;
                ls->img[i].ref_name = ps_descriptor_annotation(d, PS_OCI_REF_NAME);
                if (!ls->img[i].ref_name) {
                        ls->stage = PS_LS_ARCHIVE;
                        return ps_error_set(err, EINVAL,
                                            "%s/index.json: entry %zu (%s) has no %s annotation: the image has no name",
                                            o->arch, i + 1, d->digest.str, PS_OCI_REF_NAME);
                }
        }
        r = ps_ls_ref_platform(ls->img[0].ref_name, &ls->platform, err);
        if (r < 0) {
                ls->stage = PS_LS_ARCHIVE;
                return ps_error_wrap(err, "%s/index.json", o->arch);
        }
        if (!o->host_platform || strcmp(ls->platform, o->host_platform) != 0) {
                _cleanup_free_ char *sp = shown_str(ls->platform);
                if (strncmp(ls->platform, LS_RETIRED_PREFIX, strlen(LS_RETIRED_PREFIX)) == 0) {
                        ls->stage = PS_LS_DECLINED;
                        return ps_error_set(err, EPERM,
                                            "the archive's platform \"%s\": image prefixes \"k8s-…\" are no "
                                            "longer supported (since 31.08.2025)",
                                            sp ? sp : "?");
                }
                if (!o->confirm_platform || !o->confirm_platform(o->ud, ls->platform, o->host_platform)) {
                        ls->stage = PS_LS_DECLINED;
                        return ps_error_set(err, ECANCELED,
                                            "the archive's platform \"%s\" is not this host's platform \"%s\"; "
                                            "not confirmed",
                                            sp ? sp : "?", o->host_platform ? o->host_platform : "(unknown)");
                }
        }
        for (size_t i = 0; i < ls->n_img; i++) {
                r = ps_ls_destinations(o->ns, o->registry, ls->platform, ls->img[i].ref_name,
                                       o->legacy_alias, &ls->img[i].dests, err);
                if (r < 0) {
                        ls->stage = PS_LS_ARCHIVE;
                        return ps_error_wrap(err, "%s/index.json entry %zu", o->arch, i + 1);
                }
        }
        /* the same destination twice: fine for the same digest, else refused */
        for (size_t i = 0; i < ls->n_img; i++)
                for (size_t j = 0; j < i && !ls->img[i].dup; j++) {
                        if (strcmp(ls->img[i].dests[0], ls->img[j].dests[0]) != 0)
                                continue;
                        if (!ps_digest_equal(&ls->img[i].desc->digest, &ls->img[j].desc->digest)) {
                                ls->stage = PS_LS_ARCHIVE;
                                return ps_error_set(err, EINVAL,
                                                    "%s/index.json: entries %zu and %zu both go to %s, with "
                                                    "different digests",
                                                    o->arch, j + 1, i + 1, ls->img[i].dests[0]);
                        }
                        ls->img[i].dup = true;
                }
        /* where the signatures go: known now, so a wrong store stops the read */
        for (size_t i = 0; i < ls->n_img && !o->dry_run; i++) {
                struct image *im = &ls->img[i];
                if (im->dup)
                        continue;
                size_t nd = 0;
                while (im->dests[nd])
                        nd++;
                im->stores = calloc(nd + 1, sizeof(char *));
                if (!im->stores)
                        return ps_error_errno(err, ENOMEM, "signature stores");
                for (size_t d = 0; d < nd; d++) {
                        r = store_for(ls, im->dests[d], &im->stores[d], err);
                        if (r >= 0)
                                r = store_writable(ls, im->stores[d], err);
                        if (r < 0) {
                                ls->stage = PS_LS_SIGN;
                                return r;
                        }
                }
        }
        for (size_t i = 0; i < ls->n_img; i++)
                if ((r = want(ls, ls->img[i].desc, (int)i, err)) < 0)
                        return r;
        return 0;
}

/* The repository (path without host) of a full reference. */
static char *ref_repo(const char *ref)
{
        const char *slash = strchr(ref, '/');
        const char *colon = strrchr(ref, ':');
        if (!slash || !colon || colon < slash)
                return NULL;
        return strndup(slash + 1, (size_t)(colon - slash - 1));
}

static int read_kept(struct ls *ls, ps_archive *ar, struct blob *b, ps_error *err)
{
        _cleanup_free_ char *buf = malloc((size_t)b->size + 1);
        if (!buf)
                return ps_error_errno(err, ENOMEM, "reading blob %s", b->digest.str);
        size_t got = 0;
        for (;;) {
                const void *d;
                size_t len;
                int r = ps_archive_read_block(ar, &d, &len, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (got + len > (size_t)b->size)
                        return ps_error_set(err, EIO, "blob %s: more data than its size", b->digest.str);
                memcpy(buf + got, d, len);
                got += len;
                ls->blob_bytes += len;
        }
        buf[got] = '\0';
        b->data = steal_pointer(&buf);
        b->how = B_KEPT;
        ls->kept += got;
        return 0;
}

static int on_blob(void *ud, ps_archive *ar, const ps_archive_blob *ab, ps_error *err)
{
        struct ls *ls = ud;
        ls->seen_entry = true;
        if (probe_failed(ls)) {
                ls->stage = PS_LS_SIGN;
                return ps_error_set(err, ls->probe_err.code ? ls->probe_err.code : EIO, "%s",
                                    ps_error_msg(&ls->probe_err));
        }
        struct blob *b = blob_get(ls, &ab->digest, err);
        if (!b)
                return -ENOMEM;
        b->in_archive = true;
        b->size = ab->size;
        ls->res->n_blobs++;
        ls->cur_image = b->owner >= 0 ? ls->img[b->owner].ref_name : NULL;
        int r;
        if (ab->size <= (int64_t)LS_SMALL && ls->kept + (size_t)ab->size <= LS_KEEP_MAX) {
                r = read_kept(ls, ar, b, err);
                if (r < 0)
                        return r;
                emit_progress(ls, false);
                return b->meta ? process(ls, b, err) : 0;
        }
        plan_signing(ls);
        enum how how;
        if (ls->o->dry_run)
                how = B_VERIFIED;
        else if (b->owner >= 0)
                how = B_STREAM;
        else if (ls->index && ls->pending == 0)
                how = B_VERIFIED;       /* no image uses it */
        else
                how = B_SPOOL;
        struct stream *s = NULL;
        if (how == B_STREAM) {
                _cleanup_free_ char *repo = ref_repo(ls->img[b->owner].dests[0]);
                if (!repo)
                        return ps_error_errno(err, ENOMEM, "blob %s", b->digest.str);
                r = stream_start(ls, b, repo, err);
                if (r < 0)
                        return r;
                s = b->st;
                ls->res->blobs_streamed++;
        } else if (how == B_SPOOL) {
                r = spool_open(ls, err);
                if (r < 0)
                        return r;
                b->spool_off = ls->spool_len;
                ls->res->blobs_spooled++;
        }
        b->how = how;
        for (;;) {
                const void *d;
                size_t len;
                r = ps_archive_read_block(ar, &d, &len, err);
                if (r < 0) {
                        if (s)
                                stream_end(s, false);
                        return r;
                }
                if (r == 0)
                        break;
                ls->blob_bytes += len;
                if (s)
                        r = stream_push(s, d, len, err);
                else if (how == B_SPOOL)
                        r = spool_write(ls, d, len, err);
                if (r < 0) {
                        if (s) {
                                stream_end(s, false);
                                ls->stage = PS_LS_REGISTRY;
                        }
                        return r;
                }
                emit_progress(ls, false);
        }
        if (s)
                stream_end(s, true);
        return 0;
}

/* ------------------------------------------------------------------ */
/* the check after the read                                            */

static int need(struct ls *ls, const ps_descriptor *d, const char *who, const char *what, struct blob **out,
                ps_error *err)
{
        struct blob *b = blob_find(ls, &d->digest);
        if (!b || !b->in_archive)
                return ps_error_set(err, ENOENT, "%s names %s%s which is not in the archive", who, what,
                                    d->digest.str);
        if (b->size != d->size)
                return ps_error_set(err, EBADMSG,
                                    "%s gives %s%s a size of %" PRId64 " bytes, but the archive's blob has %" PRId64,
                                    who, what, d->digest.str, d->size, b->size);
        *out = b;
        return 0;
}

static int need_json(struct ls *ls, const ps_descriptor *d, const char *who, const char *what,
                     struct blob **out, ps_error *err)
{
        int r = need(ls, d, who, what, out, err);
        if (r < 0)
                return r;
        if ((*out)->how != B_KEPT)
                return ps_error_set(err, EFBIG, "%s names %s%s, which is larger than %u MiB", who, what,
                                    d->digest.str, PS_OCI_MAX_MANIFEST >> 20);
        return 0;
}

static int resolve(struct ls *ls, const ps_descriptor *desc, const char *who, unsigned depth, struct node *n,
                   ps_error *err)
{
        n->desc = desc;
        ps_oci_kind k = ps_oci_kind_of(desc->media_type);
        struct blob *b;
        int r;
        if (ps_oci_kind_is_manifest(k)) {
                if ((r = need_json(ls, desc, who, "", &b, err)) < 0)
                        return r;
                n->b = b;
                r = ps_manifest_parse(b->data, (size_t)b->size, desc->media_type, &n->m, err);
                if (r < 0)
                        return ps_error_wrap(err, "manifest %s (named by %s)", desc->digest.str, who);
                char mwho[PS_DIGEST_STRLEN + 16];
                snprintf(mwho, sizeof(mwho), "manifest %s", desc->digest.str);
                struct blob *cb;
                if ((r = need_json(ls, &n->m->config, mwho, "config ", &cb, err)) < 0)
                        return r;
                r = ps_image_config_parse(cb->data, (size_t)cb->size, &n->cfg, err);
                if (r < 0)
                        return ps_error_wrap(err, "config %s of %s", n->m->config.digest.str, mwho);
                for (size_t i = 0; i < n->m->n_layers; i++) {
                        struct blob *lb;
                        if ((r = need(ls, &n->m->layers[i], mwho, "layer ", &lb, err)) < 0)
                                return r;
                }
                if (n->cfg->n_diff_ids != n->m->n_layers)
                        return ps_error_set(err, EINVAL, "%s has %zu layers but its config %s lists %zu diff_ids",
                                            mwho, n->m->n_layers, n->m->config.digest.str, n->cfg->n_diff_ids);
                return 0;
        }
        if (ps_oci_kind_is_index(k)) {
                if (depth >= PS_ARCHIVE_MAX_NESTING)
                        return ps_error_set(err, ELOOP, "%s: image indexes nested more than %d deep",
                                            desc->digest.str, PS_ARCHIVE_MAX_NESTING);
                if ((r = need_json(ls, desc, who, "", &b, err)) < 0)
                        return r;
                n->b = b;
                r = ps_index_parse(b->data, (size_t)b->size, desc->media_type, &n->idx, err);
                if (r < 0)
                        return ps_error_wrap(err, "index %s (named by %s)", desc->digest.str, who);
                if (n->idx->n_manifests == 0)
                        return ps_error_set(err, EINVAL, "index %s (named by %s) lists no manifests",
                                            desc->digest.str, who);
                n->kids = calloc(n->idx->n_manifests, sizeof(*n->kids));
                if (!n->kids)
                        return ps_error_errno(err, ENOMEM, "index %s", desc->digest.str);
                n->n_kids = n->idx->n_manifests;
                char iwho[PS_DIGEST_STRLEN + 16];
                snprintf(iwho, sizeof(iwho), "index %s", desc->digest.str);
                for (size_t i = 0; i < n->n_kids; i++)
                        if ((r = resolve(ls, &n->idx->manifests[i], iwho, depth + 1, &n->kids[i], err)) < 0)
                                return r;
                return 0;
        }
        _cleanup_free_ char *mt = shown_str(desc->media_type ? desc->media_type : "");
        return ps_error_set(err, ENOTSUP, "%s names %s of media type \"%s\", which is neither an image manifest "
                            "nor an index: cannot push it", who, desc->digest.str, mt ? mt : "?");
}

/* The blobs (configs and layers) of a tree, each once, appended to *V. */
static int tree_blobs(struct ls *ls, const struct node *n, struct blob ***v, size_t *cnt, size_t *cap,
                      ps_error *err)
{
        if (n->m) {
                for (size_t i = 0; i <= n->m->n_layers; i++) {
                        const ps_descriptor *d = i == 0 ? &n->m->config : &n->m->layers[i - 1];
                        struct blob *b = blob_find(ls, &d->digest);
                        bool dup = false;
                        for (size_t j = 0; j < *cnt && !dup; j++)
                                dup = (*v)[j] == b;
                        if (dup)
                                continue;
                        if (*cnt == *cap) {
                                size_t nc = *cap ? *cap * 2 : 16;
                                struct blob **nv = realloc(*v, nc * sizeof(*nv));
                                if (!nv)
                                        return ps_error_errno(err, ENOMEM, "blob list");
                                *v = nv;
                                *cap = nc;
                        }
                        (*v)[(*cnt)++] = b;
                }
        }
        for (size_t i = 0; i < n->n_kids; i++) {
                int r = tree_blobs(ls, &n->kids[i], v, cnt, cap, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static size_t tree_count(const struct node *n)
{
        size_t c = 1;
        for (size_t i = 0; i < n->n_kids; i++)
                c += tree_count(&n->kids[i]);
        return c;
}

/* ------------------------------------------------------------------ */
/* signature stores                                                    */

/* Two URL bases are the same up to trailing slashes. */
static bool same_base(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        while (la && a[la - 1] == '/')
                la--;
        while (lb && b[lb - 1] == '/')
                lb--;
        return la == lb && !strncmp(a, b, la);
}

/* The staging store for REF, which must be a file:// URL. */
static int store_for(struct ls *ls, const char *ref, char **out, ps_error *err)
{
        const ps_loadsign_opts *o = ls->o;
        ps_regd_match m = { 0 };
        _cleanup_(ps_regd_freep) ps_regd *empty = NULL;
        const ps_regd *regd = o->regd;
        if (!regd) {
                empty = ps_regd_new();
                if (!empty)
                        return ps_error_errno(err, ENOMEM, "registries.d");
                regd = empty;
        }
        int r = ps_regd_lookup_ref(regd, ref, true, o->home, &m, err);
        if (r < 0)
                return ps_error_wrap(err, "where to write the signatures of %s", ref);
        char *url = NULL;
        if (m.builtin && o->fallback_store)
                url = strdup(o->fallback_store);
        else if (o->fallback_store && o->site_lookaside && !ps_regd_url_is_file(m.url) &&
                 same_base(m.url, o->site_lookaside))
                url = strdup(o->fallback_store);   /* served from there by the signature server */
        else
                url = strdup(m.url);
        bool from_file = !m.builtin;
        _cleanup_free_ char *file = m.file ? strdup(m.file) : NULL;
        const char *key = m.key;
        ps_regd_match_clear(&m);
        if (!url)
                return ps_error_errno(err, ENOMEM, "signature store");
        if (!ps_regd_url_is_file(url)) {
                r = ps_error_set(err, EPROTONOSUPPORT,
                                 "signatures of %s would go to %s (%s%s%s), which is not a file:// store: "
                                 "set lookaside-staging to a local directory, e.g. file:///var/sigstore/sigstore/",
                                 ref, url, from_file ? key : "built-in default", from_file ? " in " : "",
                                 from_file && file ? file : "");
                free(url);
                return r;
        }
        *out = url;
        return 0;
}

/* Can we create files below the store?  Checks the deepest existing
 * directory of its path. */
static int store_writable(struct ls *ls, const char *url, ps_error *err)
{
        _cleanup_free_ char *path = NULL;
        int r = ps_regd_file_url_path(ls->o->root, url, &path, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return ps_error_errno(err, ENOMEM, "signature store");
        for (;;) {
                struct stat st;
                if (stat(p, &st) == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return ps_error_set(err, ENOTDIR, "signature store %s: %s is not a directory",
                                                    url, p);
                        if (access(p, W_OK | X_OK) < 0)
                                return ps_error_errno(err, errno, "signature store %s: cannot write in %s", url,
                                                      p);
                        return 0;
                }
                char *slash = strrchr(p, '/');
                if (!slash || slash == p)
                        return ps_error_errno(err, ENOENT, "signature store %s", url);
                *slash = '\0';
        }
}

/* ------------------------------------------------------------------ */
/* pushing                                                             */

static int placement(struct ls *ls, ps_error *err)
{
        /* destination repositories in order, with the blobs each needs */
        int r = 0;
        for (size_t i = 0; i < ls->n_img && r >= 0; i++) {
                struct image *im = &ls->img[i];
                if (im->dup)
                        continue;
                _cleanup_free_ struct blob **v = NULL;
                size_t cnt = 0, cap = 0;
                if ((r = tree_blobs(ls, &im->root, &v, &cnt, &cap, err)) < 0)
                        return r;
                for (size_t d = 0; im->dests[d]; d++) {
                        _cleanup_free_ char *repo = ref_repo(im->dests[d]);
                        if (!repo)
                                return ps_error_errno(err, ENOMEM, "destination");
                        /* first use from memory or the spool: upload here (concurrently) */
                        _cleanup_free_ ps_registry_blob_job *jobs = calloc(cnt ? cnt : 1, sizeof(*jobs));
                        _cleanup_free_ struct blob **jb = calloc(cnt ? cnt : 1, sizeof(*jb));
                        if (!jobs || !jb)
                                return ps_error_errno(err, ENOMEM, "upload list");
                        size_t nj = 0;
                        for (size_t k = 0; k < cnt; k++) {
                                struct blob *b = v[k];
                                if (b->placed || (b->how != B_KEPT && b->how != B_SPOOL))
                                        continue;
                                jobs[nj].digest = b->digest.str;
                                jobs[nj].body = b->how == B_KEPT
                                                        ? ps_registry_body_buffer(b->data, (size_t)b->size)
                                                        : ps_registry_body_fd(ls->spool_fd, b->spool_off, b->size);
                                jb[nj++] = b;
                        }
                        if (nj) {
                                ps_registry_upload_opts uo = { .concurrency = 4 };
                                r = ps_registry_upload_blobs(ls->reg, repo, jobs, nj, &uo, err);
                                for (size_t k = 0; k < nj; k++) {
                                        if (jobs[k].status == PS_BLOB_UPLOADED || jobs[k].status == PS_BLOB_EXISTED ||
                                            jobs[k].status == PS_BLOB_MOUNTED)
                                                jb[k]->placed = strdup(repo);
                                        ps_error_clear(&jobs[k].err);
                                }
                                if (r < 0)
                                        return ps_error_wrap(err, "uploading to %s/%s", ls->host, repo);
                        }
                        /* everything else: already there, or mounted from where it is */
                        for (size_t k = 0; k < cnt; k++) {
                                struct blob *b = v[k];
                                if (!b->placed)
                                        return ps_error_set(err, EIO, "blob %s was not uploaded", b->digest.str);
                                if (strcmp(b->placed, repo) == 0)
                                        continue;
                                ps_blob_status st;
                                if (b->how == B_KEPT || b->how == B_SPOOL) {
                                        ps_registry_body body =
                                                b->how == B_KEPT ? ps_registry_body_buffer(b->data, (size_t)b->size)
                                                                 : ps_registry_body_fd(ls->spool_fd, b->spool_off,
                                                                                       b->size);
                                        ps_registry_upload_opts uo = { .mount_from = b->placed };
                                        r = ps_registry_blob_upload(ls->reg, repo, b->digest.str, &body, &uo, &st,
                                                                    err);
                                        if (r < 0)
                                                return ps_error_wrap(err, "placing blob in %s/%s", ls->host, repo);
                                        continue;
                                }
                                /* streamed: no copy here; mount (a blob the repository
                                 * has already is "mounted" too) */
                                r = ps_registry_blob_mount(ls->reg, repo, b->digest.str, b->placed, err);
                                if (r < 0)
                                        return ps_error_wrap(err, "mounting blob into %s/%s", ls->host, repo);
                                if (r == 1)
                                        continue;
                                /* the registry does not mount: copy the blob through the
                                 * unnamed spool file, and use that copy from now on */
                                r = spool_open(ls, err);
                                if (r < 0)
                                        return r;
                                off_t off = ls->spool_len;
                                r = ps_registry_blob_get(ls->reg, b->placed, b->digest.str, spool_sink, ls, NULL,
                                                         err);
                                if (r < 0)
                                        return ps_error_wrap(err, "copying blob %s from %s/%s", b->digest.str,
                                                             ls->host, b->placed);
                                if (ls->spool_len - off != b->size)
                                        return ps_error_set(err, EIO, "blob %s from %s/%s has %" PRId64
                                                            " bytes instead of %" PRId64, b->digest.str, ls->host,
                                                            b->placed, (int64_t)(ls->spool_len - off), b->size);
                                b->how = B_SPOOL;
                                b->spool_off = off;
                                ps_registry_body body = ps_registry_body_fd(ls->spool_fd, off, b->size);
                                r = ps_registry_blob_upload(ls->reg, repo, b->digest.str, &body, NULL, &st, err);
                                if (r < 0)
                                        return ps_error_wrap(err, "placing blob in %s/%s", ls->host, repo);
                        }
                }
        }
        return r;
}

static int push_tree(struct ls *ls, const char *repo, const struct node *n, const char *tag, ps_error *err)
{
        for (size_t i = 0; i < n->n_kids; i++) {
                int r = push_tree(ls, repo, &n->kids[i], NULL, err);
                if (r < 0)
                        return r;
        }
        const char *mt = n->m ? n->m->media_type : n->idx->media_type;
        _cleanup_free_ char *dg = NULL;
        int r = ps_registry_manifest_put(ls->reg, repo, tag ? tag : n->b->digest.str, mt, n->b->data,
                                         (size_t)n->b->size, &dg, err);
        if (r < 0)
                return r;
        if (dg && strcmp(dg, n->b->digest.str) != 0)
                return ps_error_set(err, EBADMSG, "registry %s stored %s/%s as %s, not %s", ls->host, repo,
                                    tag ? tag : n->b->digest.str, dg, n->b->digest.str);
        ls->res->manifests_pushed++;
        return 0;
}

/* ------------------------------------------------------------------ */
/* signing                                                             */
/*
 * Signatures are computed while the archive is still being read: once
 * index.json and every manifest it names are known (a `podsec image save`
 * archive has them before its layers), a job per (destination, manifest)
 * goes to LS_SIGNERS threads, which also look for a signature of ours that
 * is already in the store.  The signatures stay in memory; each is written
 * only after its manifest has been pushed.  A run that fails writes none.
 * The key is tried first (in its own thread, next to the read): a missing
 * key or a wrong passphrase stops the read.
 */

struct sigjob {
        const char *ref;                /* destination (owned by the image) */
        char *repo;
        const char *store;
        struct blob *b;                 /* the manifest or index */
        bool done;
        int rc;
        ps_error err;
        void *sig;
        size_t siglen;
        unsigned existing;              /* > 0: our signature-N for REF is there */
};

static const char *gnupg_home(const ps_loadsign_opts *o, char **buf)
{
        const char *home = o->gnupg_home;
        if (!home || !*home)
                home = getenv("GNUPGHOME");
        if (!home || !*home) {
                const char *h = getenv("HOME");
                if (!h || !*h)
                        return NULL;
                *buf = ps_path_join(h, ".gnupg");
                home = *buf;
        }
        return home;
}

/* ---- where gpg runs --------------------------------------------------- */
/*
 * GPGME starts a gpg process for every signature.  Forking this process in
 * the middle of the read copies its page tables (hundreds of MB of buffers
 * by then) and makes every page written afterwards fault: on the bench
 * archive that cost more than the signing itself.  So, when the process is
 * still single-threaded and small (before the read), LS_SIGNERS helper
 * processes are forked; each serves one signing slot over a socket pair
 * (requests: try the key, look for an earlier signature, sign) and starts
 * gpg from its own small address space.  Where forking is not safe (other
 * threads already running) the slots work in-process.
 */

enum { H_PROBE = 1, H_CHECK, H_SIGN };
#define LS_FRAME_PARTS 8
#define LS_FRAME_PART_MAX ((size_t)8 << 20)

static int io_all(int fd, void *p, size_t n, bool out)
{
        char *c = p;
        while (n) {
                ssize_t k = out ? send(fd, c, n, MSG_NOSIGNAL) : read(fd, c, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -EPIPE;
                c += k;
                n -= (size_t)k;
        }
        return 0;
}

/* A frame: u32 type, i32 rc, u32 n, then n times (u32 len, bytes). */
static int frame_send(int fd, uint32_t type, int32_t rc, size_t n, const void *const *parts, const size_t *lens)
{
        uint32_t h[3] = { type, (uint32_t)rc, (uint32_t)n };
        int r = io_all(fd, h, sizeof(h), true);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                uint32_t l = (uint32_t)lens[i];
                r = io_all(fd, &l, sizeof(l), true);
                if (r >= 0 && l)
                        r = io_all(fd, (void *)parts[i], l, true);
        }
        return r;
}

struct frame {
        uint32_t type;
        int32_t rc;
        size_t n;
        char *part[LS_FRAME_PARTS];     /* NUL-terminated copies */
        size_t len[LS_FRAME_PARTS];
};

static void frame_clear(struct frame *f)
{
        for (size_t i = 0; i < f->n; i++)
                free(f->part[i]);
        memset(f, 0, sizeof(*f));
}

static int frame_recv(int fd, struct frame *f)
{
        memset(f, 0, sizeof(*f));
        uint32_t h[3];
        int r = io_all(fd, h, sizeof(h), false);
        if (r < 0)
                return r;
        if (h[2] > LS_FRAME_PARTS)
                return -EPROTO;
        f->type = h[0];
        f->rc = (int32_t)h[1];
        for (uint32_t i = 0; i < h[2]; i++) {
                uint32_t l;
                if ((r = io_all(fd, &l, sizeof(l), false)) < 0)
                        break;
                if (l > LS_FRAME_PART_MAX) {
                        r = -EPROTO;
                        break;
                }
                f->part[i] = malloc((size_t)l + 1);
                if (!f->part[i]) {
                        r = -ENOMEM;
                        break;
                }
                f->n = i + 1;
                f->len[i] = l;
                if (l && (r = io_all(fd, f->part[i], l, false)) < 0)
                        break;
                f->part[i][l] = '\0';
        }
        if (r < 0)
                frame_clear(f);
        return r;
}

static const char ls_probe_text[] = "podsec image load-sign: signing key check\n";

/* in-process work (also what a helper does) */

static int ip_probe(struct ls *ls, char **fpr, ps_error *err)
{
        void *sig = NULL;
        size_t siglen = 0;
        int r = ps_gpg_sign(&ls->gopts, ls_probe_text, sizeof(ls_probe_text) - 1, &sig, &siglen, fpr, err);
        free(sig);
        return r;
}

/* The public key FPR, to recognise our own signatures (best effort). */
static void ip_keydata(struct ls *ls, const char *fpr)
{
        if (ls->keydata || !fpr)
                return;
        _cleanup_free_ char *buf = NULL;
        const char *home = gnupg_home(ls->o, &buf);
        ps_error e = PS_ERROR_INIT;
        if (!home || ps_gpgkey_export(home, fpr, &ls->keydata, &ls->keylen, &e) < 0) {
                ls->keydata = NULL;
                ls->keylen = 0;
        }
        ps_error_clear(&e);
}

/* Our signature of MANIFEST (DIGEST) for REF in STORE?  Returns its N, or 0. */
static unsigned ip_check(struct ls *ls, struct slot *s, const char *fpr, const char *store, const char *repo,
                         const char *ref, const char *digest, const void *manifest, size_t mlen)
{
        ps_sig_list l = { 0 };
        ps_error e = PS_ERROR_INIT;
        ps_sigstore_read_opts ro = { .root = ls->o->root };
        if (ps_sigstore_read(store, repo, digest, &ro, &l, &e) < 0 || l.n == 0) {
                ps_error_clear(&e);
                ps_sig_list_clear(&l);
                return 0;
        }
        if (!s->v && !s->vtried) {
                s->vtried = true;
                ip_keydata(ls, fpr);
                if (ls->keydata && (ps_gpg_verifier_new(&s->v, &e) < 0 ||
                                    ps_gpg_verifier_add_key_data(s->v, ls->keydata, ls->keylen, "the signing key",
                                                                 NULL, &e) < 0)) {
                        ps_gpg_verifier_free(s->v);
                        s->v = NULL;
                }
                ps_error_clear(&e);
        }
        unsigned found = 0;
        for (size_t i = 0; s->v && i < l.n && !found; i++) {
                ps_sig_verified out = { 0 };
                if (ps_sig_verify_manifest(s->v, l.v[i].data, l.v[i].len, manifest, mlen, ref, &out, &e) == 0)
                        found = (unsigned)i + 1;
                ps_sig_verified_clear(&out);
                ps_error_clear(&e);
        }
        ps_sig_list_clear(&l);
        return found;
}

static _Noreturn void helper_main(struct ls *ls, struct slot *s)
{
        for (;;) {
                struct frame f;
                if (frame_recv(s->fd, &f) < 0)
                        break;
                ps_error e = PS_ERROR_INIT;
                int r = 0;
                if (f.type == H_PROBE) {
                        _cleanup_free_ char *fpr = NULL;
                        r = ip_probe(ls, &fpr, &e);
                        const void *p[] = { r < 0 ? ps_error_msg(&e) : fpr };
                        size_t l[] = { strlen(p[0]) };
                        r = frame_send(s->fd, H_PROBE, r < 0 ? r : 0, 1, p, l);
                } else if (f.type == H_CHECK && f.n == 6) {
                        unsigned idx = ip_check(ls, s, f.part[0], f.part[1], f.part[2], f.part[3], f.part[4],
                                                f.part[5], f.len[5]);
                        r = frame_send(s->fd, H_CHECK, (int32_t)idx, 0, NULL, NULL);
                } else if (f.type == H_SIGN && f.n == 2) {
                        _cleanup_free_ void *sig = NULL;
                        size_t siglen = 0;
                        r = ps_sig_sign_manifest(f.part[1], f.len[1], f.part[0], &ls->gopts, &sig, &siglen, NULL,
                                                 &e);
                        const void *p[] = { r < 0 ? (const void *)ps_error_msg(&e) : sig };
                        size_t l[] = { r < 0 ? strlen(ps_error_msg(&e)) : siglen };
                        r = frame_send(s->fd, H_SIGN, r < 0 ? r : 0, 1, p, l);
                } else {
                        r = -EPROTO;
                }
                ps_error_clear(&e);
                frame_clear(&f);
                if (r < 0)
                        break;
        }
        ps_gpg_verifier_free(s->v);
        _exit(0);
}

/* Threads of this process (from /proc/self/status); 0 when unknown. */
static unsigned threads_now(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        if (!f)
                return 0;
        char line[256];
        unsigned n = 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Threads: %u", &n) == 1)
                        break;
        return n;
}

static void helpers_start(struct ls *ls)
{
        if (threads_now() != 1)
                return;         /* forking a threaded process is not safe: in-process */
        for (int i = 0; i < LS_SIGNERS; i++) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                        break;
                pid_t pid = fork();
                if (pid < 0) {
                        close(sv[0]);
                        close(sv[1]);
                        break;
                }
                if (pid == 0) {
                        for (int j = 0; j < i; j++)
                                close(ls->slot[j].fd);
                        close(sv[0]);
                        ls->slot[i].fd = sv[1];
                        helper_main(ls, &ls->slot[i]);
                }
                close(sv[1]);
                ls->slot[i].pid = pid;
                ls->slot[i].fd = sv[0];
        }
}

static void helpers_stop(struct ls *ls)
{
        for (int i = 0; i < LS_SIGNERS; i++) {
                struct slot *s = &ls->slot[i];
                if (s->pid > 0) {
                        close(s->fd);   /* EOF: the helper exits */
                        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        s->pid = 0;
                        s->fd = -1;
                }
                ps_gpg_verifier_free(s->v);
                s->v = NULL;
        }
}

static int helper_gone(struct slot *s, int r, ps_error *err)
{
        return ps_error_errno(err, -r, "the signing helper (process %d) stopped answering", (int)s->pid);
}

/* One request to the helper S whose answer is one part: *OUT (malloc'd,
 * NUL-terminated) and *OUTLEN (may be NULL); WHAT when the helper fails
 * without saying why. */
static int helper_one(struct slot *s, uint32_t type, size_t n, const void *const *parts, const size_t *lens,
                      const char *what, void **out, size_t *outlen, ps_error *err)
{
        struct frame f;
        int r = frame_send(s->fd, type, 0, n, parts, lens);
        if (r >= 0)
                r = frame_recv(s->fd, &f);
        if (r < 0)
                return helper_gone(s, r, err);
        if (f.rc < 0 || f.n != 1) {
                r = ps_error_set(err, f.rc < 0 ? -f.rc : EPROTO, "%s", f.n ? f.part[0] : what);
        } else {
                if (outlen)
                        *outlen = f.len[0];
                *out = steal_pointer(&f.part[0]);
                r = 0;
        }
        frame_clear(&f);
        return r;
}

/* the slot operations: in a helper when there is one */

static int slot_probe(struct ls *ls, struct slot *s, char **fpr, ps_error *err)
{
        if (s->pid <= 0) {
                int r = ip_probe(ls, fpr, err);
                if (r >= 0)
                        ip_keydata(ls, *fpr);
                return r;
        }
        return helper_one(s, H_PROBE, 0, NULL, NULL, "signing key check failed", (void **)fpr, NULL, err);
}

static unsigned slot_check(struct ls *ls, struct slot *s, const char *store, const char *repo, const char *ref,
                           const struct blob *b)
{
        const char *fpr = ls->res->key_fingerprint;
        if (s->pid <= 0)
                return ip_check(ls, s, fpr, store, repo, ref, b->digest.str, b->data, (size_t)b->size);
        const void *p[] = { fpr ? fpr : "", store, repo, ref, b->digest.str, b->data };
        size_t l[] = { strlen(p[0]), strlen(store), strlen(repo), strlen(ref), strlen(b->digest.str),
                       (size_t)b->size };
        struct frame f;
        if (frame_send(s->fd, H_CHECK, 0, 6, p, l) < 0 || frame_recv(s->fd, &f) < 0)
                return 0;       /* the sign request will say what is wrong */
        unsigned idx = f.rc > 0 ? (unsigned)f.rc : 0;
        frame_clear(&f);
        return idx;
}

static int slot_sign(struct ls *ls, struct slot *s, const char *ref, const struct blob *b, void **sig,
                     size_t *siglen, ps_error *err)
{
        if (s->pid <= 0)
                return ps_sig_sign_manifest(b->data, (size_t)b->size, ref, &ls->gopts, sig, siglen, NULL, err);
        const void *p[] = { ref, b->data };
        size_t l[] = { strlen(ref), (size_t)b->size };
        return helper_one(s, H_SIGN, 2, p, l, "signing failed", sig, siglen, err);
}

static void *probe_thread(void *arg)
{
        struct ls *ls = arg;
        ps_error e = PS_ERROR_INIT;
        char *fpr = NULL;
        int r = slot_probe(ls, &ls->slot[0], &fpr, &e);
        pthread_mutex_lock(&ls->smu);
        ls->probe_done = true;
        ls->probe_rc = r;
        ls->probe_err = e;
        ls->res->key_fingerprint = fpr;
        pthread_cond_broadcast(&ls->scv);
        pthread_mutex_unlock(&ls->smu);
        return NULL;
}

static bool probe_failed(struct ls *ls)
{
        pthread_mutex_lock(&ls->smu);
        bool f = ls->probe_done && ls->probe_rc < 0;
        pthread_mutex_unlock(&ls->smu);
        return f;
}

static int probe_wait(struct ls *ls, ps_error *err)
{
        if (ls->probe_started) {
                pthread_join(ls->probe_th, NULL);
                ls->probe_started = false;
        }
        if (ls->probe_rc < 0) {
                ls->stage = PS_LS_SIGN;
                return ps_error_set(err, ls->probe_err.code ? ls->probe_err.code : EIO, "%s",
                                    ps_error_msg(&ls->probe_err));
        }
        return 0;
}

static void sign_job(struct ls *ls, struct sigjob *j, struct slot *slot)
{
        unsigned index = slot_check(ls, slot, j->store, j->repo, j->ref, j->b);
        if (index) {
                j->existing = index;
                j->rc = 0;
                return;
        }
        j->rc = slot_sign(ls, slot, j->ref, j->b, &j->sig, &j->siglen, &j->err);
}

static void *signer_thread(void *arg)
{
        struct sthr *t = arg;
        struct ls *ls = t->ls;
        struct slot *slot = &ls->slot[t->i];
        pthread_mutex_lock(&ls->smu);
        while (!ls->probe_done && !ls->sign_stop)
                pthread_cond_wait(&ls->scv, &ls->smu);
        while (ls->probe_rc >= 0 && !ls->sign_stop && ls->next_job < ls->n_jobs) {
                struct sigjob *j = &ls->jobs[ls->next_job++];
                pthread_mutex_unlock(&ls->smu);
                sign_job(ls, j, slot);
                pthread_mutex_lock(&ls->smu);
                j->done = true;
                pthread_cond_broadcast(&ls->scv);
        }
        pthread_mutex_unlock(&ls->smu);
        return NULL;
}

static void signers_stop(struct ls *ls)
{
        pthread_mutex_lock(&ls->smu);
        ls->sign_stop = true;
        pthread_cond_broadcast(&ls->scv);
        pthread_mutex_unlock(&ls->smu);
        for (int i = 0; i < ls->n_signers; i++)
                pthread_join(ls->signers[i], NULL);
        ls->n_signers = 0;
        if (ls->probe_started) {
                pthread_join(ls->probe_th, NULL);
                ls->probe_started = false;
        }
}

/* The manifests and indexes of an image, from what is in memory; false
 * when something is missing or does not parse (the final check says
 * what). */
static bool light_nodes(struct ls *ls, const ps_descriptor *d, unsigned depth, struct blob ***v, size_t *n,
                        size_t *cap)
{
        struct blob *b = blob_find(ls, &d->digest);
        if (!b || b->how != B_KEPT || depth > PS_ARCHIVE_MAX_NESTING)
                return false;
        ps_oci_kind k = ps_oci_kind_of(d->media_type);
        if (ps_oci_kind_is_index(k)) {
                ps_index *x = NULL;
                ps_error e = PS_ERROR_INIT;
                if (ps_index_parse(b->data, (size_t)b->size, d->media_type, &x, &e) < 0) {
                        ps_error_clear(&e);
                        return false;
                }
                bool ok = x->n_manifests > 0;
                for (size_t i = 0; ok && i < x->n_manifests; i++)
                        ok = light_nodes(ls, &x->manifests[i], depth + 1, v, n, cap);
                ps_index_free(x);
                if (!ok)
                        return false;
        } else if (!ps_oci_kind_is_manifest(k)) {
                return false;
        }
        for (size_t i = 0; i < *n; i++)
                if ((*v)[i] == b)
                        return true;
        if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 8;
                struct blob **nv = realloc(*v, nc * sizeof(*nv));
                if (!nv)
                        return false;
                *v = nv;
                *cap = nc;
        }
        (*v)[(*n)++] = b;
        return true;
}

/* Once every manifest is known: queue the signatures and start the
 * signers.  Nothing is queued when something is missing. */
static void plan_signing(struct ls *ls)
{
        if (ls->jobs_planned || ls->o->dry_run || !ls->index || ls->pending)
                return;
        ls->jobs_planned = true;
        struct sigjob *jobs = NULL;
        size_t n = 0, cap = 0;
        bool ok = true;
        for (size_t i = 0; ok && i < ls->n_img; i++) {
                struct image *im = &ls->img[i];
                if (im->dup)
                        continue;
                _cleanup_free_ struct blob **v = NULL;
                size_t nv = 0, cv = 0;
                ok = light_nodes(ls, im->desc, 0, &v, &nv, &cv);
                for (size_t d = 0; ok && im->dests[d]; d++)
                        for (size_t k = 0; ok && k < nv; k++) {
                                if (n == cap) {
                                        size_t nc = cap ? cap * 2 : 16;
                                        struct sigjob *nj = realloc(jobs, nc * sizeof(*nj));
                                        if (!nj) {
                                                ok = false;
                                                break;
                                        }
                                        jobs = nj;
                                        cap = nc;
                                }
                                struct sigjob *j = &jobs[n];
                                memset(j, 0, sizeof(*j));
                                j->ref = im->dests[d];
                                j->store = im->stores[d];
                                j->b = v[k];
                                j->repo = ref_repo(im->dests[d]);
                                if (!j->repo)
                                        ok = false;
                                else
                                        n++;
                        }
        }
        if (!ok) {
                for (size_t i = 0; i < n; i++)
                        free(jobs[i].repo);
                free(jobs);
                return;
        }
        ls->jobs = jobs;
        ls->n_jobs = n;
        for (int i = 0; i < LS_SIGNERS && (size_t)i < n; i++) {
                ls->sthr[i] = (struct sthr){ .ls = ls, .i = i };
                if (pthread_create(&ls->signers[ls->n_signers], NULL, signer_thread, &ls->sthr[i]) != 0)
                        break;
                ls->n_signers++;
        }
        if (ls->n_signers == 0)
                ls->n_jobs = 0;         /* signed in the main thread then */
}

static struct sigjob *find_job(struct ls *ls, const char *ref, const struct blob *b)
{
        for (size_t i = 0; i < ls->n_jobs; i++)
                if (ls->jobs[i].ref == ref && ls->jobs[i].b == b)
                        return &ls->jobs[i];
        return NULL;
}

static int add_sig(ps_ls_dest *d, const char *digest, const char *path, unsigned index, bool existed)
{
        ps_ls_sig *v = realloc(d->sigs, (d->n_sigs + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        d->sigs = v;
        ps_ls_sig *s = &v[d->n_sigs];
        memset(s, 0, sizeof(*s));
        s->digest = strdup(digest);
        s->path = path ? strdup(path) : NULL;
        s->index = index;
        s->existed = existed;
        d->n_sigs++;
        if (!s->digest || (path && !s->path))
                return -ENOMEM;
        return 0;
}

/* Sign manifest B of REF (pushed already) and store the signature. */
static int sign_one(struct ls *ls, const char *ref, const char *repo, const char *store, const struct blob *b,
                    ps_ls_dest *dres, ps_error *err)
{
        struct sigjob *j = find_job(ls, ref, b);
        _cleanup_free_ void *own = NULL;
        const void *sig = NULL;
        size_t siglen = 0;
        unsigned index = 0;
        int r;
        if (j) {
                pthread_mutex_lock(&ls->smu);
                while (!j->done)
                        pthread_cond_wait(&ls->scv, &ls->smu);
                pthread_mutex_unlock(&ls->smu);
                if (j->rc < 0) {
                        ps_error_set(err, j->err.code ? j->err.code : EIO, "%s", ps_error_msg(&j->err));
                        return ps_error_wrap(err, "signing %s (%s)", ref, b->digest.str);
                }
                index = j->existing;
                sig = j->sig;
                siglen = j->siglen;
        } else if (!(index = slot_check(ls, &ls->slot[0], store, repo, ref, b))) {
                r = slot_sign(ls, &ls->slot[0], ref, b, &own, &siglen, err);
                if (r < 0)
                        return ps_error_wrap(err, "signing %s (%s)", ref, b->digest.str);
                sig = own;
        }
        if (index) {
                _cleanup_free_ char *dir = NULL, *path = NULL;
                ps_error e = PS_ERROR_INIT;
                if (ps_sigstore_local_dir(ls->o->root, store, repo, b->digest.str, &dir, &e) == 0 &&
                    asprintf(&path, "%s/signature-%u", dir, index) < 0)
                        path = NULL;
                ps_error_clear(&e);
                if (add_sig(dres, b->digest.str, path, index, true) < 0)
                        return ps_error_errno(err, ENOMEM, "result");
                ls->res->signatures_existing++;
                ps_ls_event ev = { .kind = PS_LS_EV_SIGNED_BEFORE, .ref = ref, .digest = b->digest.str,
                                   .path = path, .index = index };
                emit(ls, &ev);
                return 0;
        }
        _cleanup_free_ char *path = NULL;
        r = ps_sigstore_write(ls->o->root, store, repo, b->digest.str, sig, siglen, &index, &path, err);
        if (r < 0)
                return ps_error_wrap(err, "storing the signature of %s (%s)", ref, b->digest.str);
        if (add_sig(dres, b->digest.str, path, index, false) < 0)
                return ps_error_errno(err, ENOMEM, "result");
        ls->res->signatures_written++;
        ps_ls_event ev = { .kind = PS_LS_EV_SIGNED, .ref = ref, .digest = b->digest.str, .path = path,
                           .index = index };
        emit(ls, &ev);
        return 0;
}

/* Every manifest of the tree, per-platform ones before their index. */
static int sign_tree(struct ls *ls, const char *ref, const char *repo, const char *store, const struct node *n,
                     ps_ls_dest *dres, ps_error *err)
{
        for (size_t i = 0; i < n->n_kids; i++) {
                int r = sign_tree(ls, ref, repo, store, &n->kids[i], dres, err);
                if (r < 0)
                        return r;
        }
        return sign_one(ls, ref, repo, store, n->b, dres, err);
}

/* ------------------------------------------------------------------ */
/* the run                                                             */

void ps_loadsign_result_clear(ps_loadsign_result *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_images; i++) {
                ps_ls_image *im = &r->images[i];
                for (size_t d = 0; d < im->n_dests; d++) {
                        ps_ls_dest *ds = &im->dests[d];
                        for (size_t s = 0; s < ds->n_sigs; s++) {
                                free(ds->sigs[s].digest);
                                free(ds->sigs[s].path);
                        }
                        free(ds->sigs);
                        free(ds->ref);
                        free(ds->store);
                }
                free(im->dests);
                free(im->ref_name);
                free(im->digest);
                free(im->media_type);
        }
        free(r->images);
        free(r->archive_platform);
        free(r->key_fingerprint);
        memset(r, 0, sizeof(*r));
}

static ps_ls_stage classify(struct ls *ls, const ps_error *e)
{
        if (ls->stage)
                return ls->stage;
        const char *m = ps_error_msg(e);
        if (e && e->code == ENOENT && strstr(m, "oci-layout"))
                return PS_LS_NO_ARCH;
        if (!ls->index) {
                if (e && e->code == ENOENT && strstr(m, "index.json"))
                        return PS_LS_NO_INDEX;
                if (e && e->code == ENOENT)
                        return PS_LS_NO_ARCH;
                if (!ls->seen_entry && strstr(m, "outside the "))
                        return PS_LS_NO_ARCH;
        }
        return PS_LS_ARCHIVE;
}

static void noop_free(void *p)
{
        (void)p;
}

static void ls_cleanup(struct ls *ls)
{
        signers_stop(ls);
        for (size_t i = 0; i < ls->n_jobs; i++) {
                free(ls->jobs[i].repo);
                free(ls->jobs[i].sig);
                ps_error_clear(&ls->jobs[i].err);
        }
        free(ls->jobs);
        free(ls->keydata);
        ps_error_clear(&ls->probe_err);
        pthread_cond_destroy(&ls->scv);
        pthread_mutex_destroy(&ls->smu);
        for (size_t i = 0; i < ls->n_streams; i++)
                stream_free(ls->streams[i]);
        free(ls->streams);
        for (size_t i = 0; i < ls->n_img; i++) {
                ps_strv_free(ls->img[i].dests);
                ps_strv_free(ls->img[i].stores);
                image_node_clear(&ls->img[i].root);
        }
        free(ls->img);
        tdestroy(ls->tree, noop_free);
        for (size_t i = 0; i < ls->n_blobs; i++) {
                free(ls->blobs[i]->data);
                free(ls->blobs[i]->media_type);
                free(ls->blobs[i]->placed);
                free(ls->blobs[i]);
        }
        free(ls->blobs);
        ps_index_free(ls->index);
        free(ls->platform);
        free(ls->host);
        if (ls->spool_fd >= 0)
                close(ls->spool_fd);
        ps_archive_free(ls->ar);
        if (ls->sock_fd >= 0) {
                shutdown(ls->sock_fd, SHUT_RDWR);
                unxz_join(&ls->unxz);
                close(ls->sock_fd);
        }
        free(ls->unxz.msg);
        if (ls->ar_fd >= 0)
                close(ls->ar_fd);
        ps_registry_free(ls->reg);
        helpers_stop(ls);
        pthread_cond_destroy(&ls->slot_cv);
        pthread_mutex_destroy(&ls->mu);
}

static void add_stats(ps_loadsign_result *res, const ps_registry_stats *s)
{
        res->bytes_sent += s->bytes_sent;
        res->blobs_uploaded += s->blobs_uploaded;
        res->blobs_existed += s->blobs_existed;
        res->blobs_mounted += s->blobs_mounted;
        res->requests += s->requests;
        res->retries += s->retries;
}

static int fill_result(struct ls *ls, ps_error *err)
{
        ps_loadsign_result *res = ls->res;
        res->images = calloc(ls->n_img ? ls->n_img : 1, sizeof(*res->images));
        if (!res->images)
                return ps_error_errno(err, ENOMEM, "result");
        for (size_t i = 0; i < ls->n_img; i++) {
                struct image *im = &ls->img[i];
                if (im->dup)
                        continue;
                im->res_idx = res->n_images;
                ps_ls_image *ri = &res->images[res->n_images++];
                ri->ref_name = strdup(im->ref_name);
                ri->digest = strdup(im->desc->digest.str);
                ri->media_type = strdup(im->desc->media_type ? im->desc->media_type : "");
                ri->n_manifests = tree_count(&im->root);
                size_t nd = 0;
                while (im->dests[nd])
                        nd++;
                ri->dests = calloc(nd, sizeof(*ri->dests));
                if (!ri->ref_name || !ri->digest || !ri->media_type || !ri->dests)
                        return ps_error_errno(err, ENOMEM, "result");
                ri->n_dests = nd;
                for (size_t d = 0; d < nd; d++) {
                        ri->dests[d].ref = strdup(im->dests[d]);
                        ri->dests[d].store = im->stores && im->stores[d] ? strdup(im->stores[d]) : NULL;
                        if (!ri->dests[d].ref)
                                return ps_error_errno(err, ENOMEM, "result");
                }
        }
        return 0;
}

static int run(struct ls *ls, ps_error *err)
{
        const ps_loadsign_opts *o = ls->o;
        ps_loadsign_result *res = ls->res;
        int r;

        if (!o->archive || !o->arch || !ps_ls_arch_valid(o->arch) || (!o->ns && (!o->registry || !*o->registry)) ||
            (!o->dry_run && (!o->signer || !*o->signer))) {
                ls->stage = PS_LS_USAGE;
                return ps_error_set(err, EINVAL, "load-sign: archive, architecture, registry and signer are needed");
        }
        /* the registry host is known before the read */
        {
                const char *nsv = o->ns ? o->ns : o->registry;
                const char *slash = strchr(nsv, '/');
                ls->host = strndup(nsv, slash ? (size_t)(slash - nsv) : strlen(nsv));
                if (!ls->host)
                        return ps_error_errno(err, ENOMEM, "registry");
        }
        ls->ropts.insecure = o->insecure;
        ls->ropts.tries = o->tries;
        ls->ropts.backoff_ms = o->backoff_ms;
        ls->chunk = o->chunk_size ? o->chunk_size : LS_CHUNK;
        ls->gopts.homedir = o->gnupg_home;
        ls->gopts.key = o->signer;
        ls->gopts.passphrase = o->passphrase;

        if (!o->dry_run) {
                /* the key (and its passphrase) is tried next to the read: a
                 * missing key stops it, and nothing is visible before the
                 * end of the read anyway */
                /* libcurl's global set-up before any other thread runs */
                r = ps_registry_global_init(err);
                if (r < 0) {
                        ls->stage = PS_LS_REGISTRY;
                        return r;
                }
                /* gpg's helpers, forked while this process is small and
                 * single-threaded */
                helpers_start(ls);
                phase(ls, "checking the signing key");
                int e = pthread_create(&ls->probe_th, NULL, probe_thread, ls);
                if (e) {
                        ls->stage = PS_LS_SIGN;
                        return ps_error_errno(err, e, "cannot start the signing key check");
                }
                ls->probe_started = true;
                r = ps_registry_new(ls->host, &ls->ropts, &ls->reg, err);
                if (r >= 0)
                        r = ps_registry_ping(ls->reg, err);
                if (r < 0) {
                        ls->stage = PS_LS_REGISTRY;
                        return r;
                }
        }

        ls->ar_fd = open(o->archive, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (ls->ar_fd < 0) {
                ls->stage = PS_LS_ARCHIVE;
                return ps_error_errno(err, errno, "cannot open archive %s", o->archive);
        }
        struct stat st;
        if (fstat(ls->ar_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                ls->stage = PS_LS_ARCHIVE;
                return ps_error_set(err, EINVAL, "archive %s is not a regular file", o->archive);
        }
        if (is_xz(ls->ar_fd)) {
                r = unxz_start(&ls->unxz, ls->ar_fd, &ls->sock_fd, err);
                if (r >= 0)
                        r = ps_archive_open_fd(ls->sock_fd, o->archive, &ls->ar, err);
        } else {
                r = ps_archive_open_fd(ls->ar_fd, o->archive, &ls->ar, err);
        }
        if (r < 0) {
                ls->stage = PS_LS_ARCHIVE;
                return r;
        }
        ps_archive_set_progress(ls->ar, on_input, ls);
        phase(ls, "reading the archive");
        const ps_archive_ops ops = { .index = on_index, .blob = on_blob };
        r = ps_archive_walk(ls->ar, o->arch, &ops, ls, err);
        if (ls->sock_fd >= 0) {
                /* the decoder ends when its input does, or when nobody reads */
                shutdown(ls->sock_fd, SHUT_RD);
                unxz_join(&ls->unxz);
                ls->in_done = __atomic_load_n(&ls->unxz.in_done, __ATOMIC_RELAXED);
                if (ls->unxz.rc < 0 && (r >= 0 || !ls->stage || ls->stage == PS_LS_ARCHIVE)) {
                        /* the decoder's error is the cause of whatever the reader saw */
                        ls->stage = PS_LS_ARCHIVE;
                        r = ps_error_set(err, -ls->unxz.rc, "reading %s: %s", o->archive,
                                         ls->unxz.msg ? ls->unxz.msg : "xz decoding failed");
                }
        }
        res->seconds_read = since(&ls->t0);
        res->archive_bytes = ls->in_done;
        res->blob_bytes = ls->blob_bytes;
        emit_progress(ls, true);
        if (r < 0) {
                ls->stage = classify(ls, err);
                if (ls->stage == PS_LS_ARCHIVE || ls->stage == PS_LS_NO_ARCH || ls->stage == PS_LS_NO_INDEX) {
                        /* name the archive once */
                        if (!strstr(ps_error_msg(err), o->archive))
                                ps_error_wrap(err, "%s", o->archive);
                }
                return r;
        }
        res->archive_platform = strdup(ls->platform);
        if (!res->archive_platform)
                return ps_error_errno(err, ENOMEM, "result");
        if (!o->dry_run) {
                r = probe_wait(ls, err);
                if (r < 0)
                        return r;
        }

        /* everything named must be there and valid */
        for (size_t i = 0; i < ls->n_img; i++) {
                if (ls->img[i].dup)
                        continue;
                char who[64];
                snprintf(who, sizeof(who), "index.json entry %zu", i + 1);
                r = resolve(ls, ls->img[i].desc, who, 0, &ls->img[i].root, err);
                if (r < 0) {
                        ls->stage = PS_LS_ARCHIVE;
                        return ps_error_wrap(err, "%s (%s)", o->archive, ls->img[i].ref_name);
                }
        }
        plan_signing(ls);
        r = fill_result(ls, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ls->n_img; i++) {
                if (ls->img[i].dup)
                        continue;
                ps_ls_event ev = { .kind = PS_LS_EV_PLAN, .image = ls->img[i].ref_name,
                                   .digest = ls->img[i].desc->digest.str, .dests = ls->img[i].dests };
                emit(ls, &ev);
        }
        if (o->dry_run)
                return 0;

        /* the verdict: the held-back uploads finish */
        phase(ls, "committing the uploaded blobs");
        streams_finish(ls, 1);
        for (size_t i = 0; i < ls->n_streams; i++) {
                struct stream *s = ls->streams[i];
                add_stats(res, &s->stats);
                if (s->rc < 0 && r >= 0) {
                        ls->stage = PS_LS_REGISTRY;
                        r = ps_error_set(err, -s->rc, "%s", ps_error_msg(&s->err));
                } else if (s->rc >= 0) {
                        s->b->placed = strdup(s->repo);
                        if (!s->b->placed && r >= 0)
                                r = ps_error_errno(err, ENOMEM, "blob list");
                }
        }
        if (r < 0)
                return r;
        phase(ls, "uploading and mounting blobs");
        r = placement(ls, err);
        if (r < 0) {
                ls->stage = PS_LS_REGISTRY;
                return r;
        }
        /* manifests, then their signatures, image by image */
        for (size_t i = 0; i < ls->n_img; i++) {
                struct image *im = &ls->img[i];
                if (im->dup)
                        continue;
                ps_ls_image *ri = &ls->res->images[im->res_idx];
                for (size_t d = 0; im->dests[d]; d++) {
                        const char *ref = im->dests[d];
                        _cleanup_free_ char *repo = ref_repo(ref);
                        if (!repo)
                                return ps_error_errno(err, ENOMEM, "destination");
                        const char *tag = strrchr(ref, ':') + 1;
                        r = push_tree(ls, repo, &im->root, tag, err);
                        if (r < 0) {
                                ls->stage = PS_LS_REGISTRY;
                                return ps_error_wrap(err, "pushing %s", ref);
                        }
                        ri->dests[d].pushed = true;
                        ps_ls_event ev = { .kind = PS_LS_EV_PUSHED, .image = im->ref_name, .ref = ref,
                                           .digest = im->desc->digest.str };
                        emit(ls, &ev);
                        r = sign_tree(ls, ref, repo, im->stores[d], &im->root, &ri->dests[d], err);
                        if (r < 0) {
                                ls->stage = PS_LS_SIGN;
                                return r;
                        }
                }
        }
        return 0;
}

int ps_loadsign(const ps_loadsign_opts *o, ps_loadsign_result *res, ps_error *err)
{
        memset(res, 0, sizeof(*res));
        struct ls ls = { .o = o, .res = res, .spool_fd = -1, .slots = LS_FINISH_SLOTS, .ar_fd = -1, .sock_fd = -1,
                         .unxz = { .in_fd = -1, .out_fd = -1 } };
        for (int i = 0; i < LS_SIGNERS; i++)
                ls.slot[i].fd = -1;
        pthread_mutex_init(&ls.mu, NULL);
        pthread_cond_init(&ls.slot_cv, NULL);
        pthread_mutex_init(&ls.smu, NULL);
        pthread_cond_init(&ls.scv, NULL);
        clock_gettime(CLOCK_MONOTONIC, &ls.t0);
        ls.last_ev = ls.t0;
        int r = run(&ls, err);
        if (r < 0) {
                if (!ls.stage)
                        ls.stage = PS_LS_ARCHIVE;
                res->stage = ls.stage;
        }
        /* no upload thread outlives the run; without a verdict they are
         * cancelled and nothing they sent becomes visible */
        bool decided = ls.verdict != 0;
        streams_finish(&ls, decided ? ls.verdict : -1);
        if (!decided)
                for (size_t i = 0; i < ls.n_streams; i++)
                        add_stats(res, &ls.streams[i]->stats);
        if (ls.reg) {
                ps_registry_stats st;
                ps_registry_get_stats(ls.reg, &st);
                add_stats(res, &st);
        }
        res->seconds = since(&ls.t0);
        ls_cleanup(&ls);
        return r < 0 ? r : 0;
}
