/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The public header is ps-archive.h (see there why not archive.h). */
#include "ps-archive.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <search.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cleanup.h"

struct ps_archive {
        int fd;                         /* -1 for memory */
        bool own_fd;
        bool seekable;
        off_t start;                    /* where the archive starts in fd */
        const unsigned char *mem;
        size_t mem_len;
        char *name;                     /* for messages */
        uint64_t total;                 /* input size, 0 when unknown */
        uint64_t done;                  /* input bytes consumed */
        bool eof;                       /* the input has ended */
        char *filter;                   /* decompressor in use ("xz"), NULL: none */
        unsigned char *buf;             /* PS_ARCHIVE_BLOCK, fd input only */
        struct archive *a;
        unsigned walks;
        ps_archive_progress_fn progress;
        void *progress_ud;

        /* the blob entry being read */
        bool in_blob;
        ps_archive_blob cur;
        ps_sha256 *h;
        uint64_t pos;
        bool blob_end;                  /* verified end, or failed */
        int blob_rc;
        ps_error blob_err;
        const unsigned char *pend;      /* rest of a block partly copied out */
        size_t pend_len;
        /* a blob already read into memory (and verified), handed out again */
        bool replay;
        const unsigned char *replay_data;
        size_t replay_len;
};

/* A printable rendering of untrusted text (names from the archive,
 * libarchive messages that quote them), at most MAX characters. */
static char *shown_n(const char *s, size_t max)
{
        return ps_shown(s, strlen(s), max);
}

static int entry_error(ps_error *err, int code, const char *name, const char *why)
{
        _cleanup_free_ char *n = shown_n(name, 200);
        return ps_error_set(err, code, "archive entry %s: %s", n ? n : "?", why);
}

/* An error from libarchive, with WHAT (may be NULL) as context.  When the
 * input has ended, the cause is almost always a cut-off file, which
 * libarchive's decompressors report obscurely ("Lzma library error: No
 * progress is possible"): say so. */
static int la_error(ps_archive *ar, ps_error *err, const char *what)
{
        const char *m = archive_error_string(ar->a);
        int e = archive_errno(ar->a);
        _cleanup_free_ char *sm = shown_n(m ? m : "unknown libarchive error", 400);
        _cleanup_free_ char *sw = what ? shown_n(what, 200) : NULL;
        _cleanup_free_ char *hint = NULL;
        if (ar->eof && ar->filter && !(m && strstr(m, "runcated"))) {
                if (asprintf(&hint, " (truncated %s stream: the input ends after %" PRIu64 " bytes)",
                             ar->filter, ar->done) < 0)
                        hint = NULL;
        }
        if (sw)
                return ps_error_set(err, e > 0 ? e : EIO, "reading %s: archive entry %s: %s%s",
                                    ar->name, sw, sm ? sm : "?", hint ? hint : "");
        return ps_error_set(err, e > 0 ? e : EIO, "reading %s: %s%s", ar->name, sm ? sm : "?",
                            hint ? hint : "");
}

/* ---- input ---- */

static void report(ps_archive *ar)
{
        if (ar->progress)
                ar->progress(ar->progress_ud, ar->done, ar->total);
}

static la_ssize_t read_cb(struct archive *a, void *ud, const void **buf)
{
        ps_archive *ar = ud;
        if (ar->mem) {
                size_t left = ar->mem_len - (size_t)ar->done;
                size_t n = left < PS_ARCHIVE_BLOCK ? left : PS_ARCHIVE_BLOCK;
                *buf = ar->mem + ar->done;
                ar->done += n;
                if (n)
                        report(ar);
                else
                        ar->eof = true;
                return (la_ssize_t)n;
        }
        for (;;) {
                ssize_t n = read(ar->fd, ar->buf, PS_ARCHIVE_BLOCK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        archive_set_error(a, errno, "read error: %s", strerror(errno));
                        return -1;
                }
                *buf = ar->buf;
                ar->done += (uint64_t)n;
                if (n)
                        report(ar);
                else
                        ar->eof = true;
                return n;
        }
}

static la_int64_t skip_cb(struct archive *a, void *ud, la_int64_t request)
{
        ps_archive *ar = ud;
        if (request <= 0)
                return 0;
        uint64_t want = (uint64_t)request;
        if (ar->mem) {
                uint64_t left = ar->mem_len - ar->done;
                uint64_t n = want < left ? want : left;
                ar->done += n;
                report(ar);
                return (la_int64_t)n;
        }
        if (!ar->seekable)
                return 0;       /* libarchive reads instead */
        if (ar->total) {
                uint64_t left = ar->total > ar->done ? ar->total - ar->done : 0;
                if (want > left)
                        want = left;
        }
        if (want == 0 || lseek(ar->fd, (off_t)want, SEEK_CUR) < 0)
                return 0;
        ar->done += want;
        report(ar);
        return (la_int64_t)want;
}

static int new_reader(ps_archive **out, const char *name, ps_error *err)
{
        ps_archive *ar = calloc(1, sizeof(*ar));
        if (!ar)
                return ps_error_errno(err, ENOMEM, "archive reader");
        ar->fd = -1;
        ar->name = strdup(name);
        if (!ar->name) {
                free(ar);
                return ps_error_errno(err, ENOMEM, "archive reader");
        }
        int r = ps_sha256_new(&ar->h, err);
        if (r < 0) {
                free(ar->name);
                free(ar);
                return r;
        }
        *out = ar;
        return 0;
}

int ps_archive_open_fd(int fd, const char *name, ps_archive **out, ps_error *err)
{
        ps_archive *ar = NULL;
        int r = new_reader(&ar, name ? name : "archive", err);
        if (r < 0)
                return r;
        ar->fd = fd;
        ar->buf = malloc(PS_ARCHIVE_BLOCK);
        if (!ar->buf) {
                ps_archive_free(ar);
                return ps_error_errno(err, ENOMEM, "archive read buffer");
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
                r = ps_error_errno(err, errno, "cannot stat %s", ar->name);
                ps_archive_free(ar);
                return r;
        }
        if (S_ISREG(st.st_mode)) {
                off_t cur = lseek(fd, 0, SEEK_CUR);
                if (cur >= 0) {
                        ar->seekable = true;
                        ar->start = cur;
                        ar->total = st.st_size > cur ? (uint64_t)(st.st_size - cur) : 0;
                }
        }
        *out = ar;
        return 0;
}

int ps_archive_open_file(const char *path, ps_archive **out, ps_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open archive %s", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat archive %s", path);
        if (!S_ISREG(st.st_mode))
                return ps_error_set(err, EINVAL, "archive %s is not a regular file", path);
        ps_archive *ar = NULL;
        int r = ps_archive_open_fd(fd, path, &ar, err);
        if (r < 0)
                return r;
        ar->own_fd = true;
        fd = -1;
        *out = ar;
        return 0;
}

int ps_archive_open_memory(const void *data, size_t len, ps_archive **out, ps_error *err)
{
        ps_archive *ar = NULL;
        int r = new_reader(&ar, "archive in memory", err);
        if (r < 0)
                return r;
        ar->mem = data ? data : (const unsigned char *)"";
        ar->mem_len = data ? len : 0;
        ar->total = ar->mem_len;
        ar->seekable = true;
        *out = ar;
        return 0;
}

void ps_archive_free(ps_archive *ar)
{
        if (!ar)
                return;
        if (ar->a)
                archive_read_free(ar->a);
        if (ar->own_fd && ar->fd >= 0)
                close(ar->fd);
        ps_sha256_free(ar->h);
        ps_error_clear(&ar->blob_err);
        free(ar->filter);
        free(ar->buf);
        free(ar->name);
        free(ar);
}

void ps_archive_set_progress(ps_archive *ar, ps_archive_progress_fn fn, void *ud)
{
        ar->progress = fn;
        ar->progress_ud = ud;
}

/* The compression of the input by its magic bytes, for messages about an
 * input that libarchive gave up on while opening.  NULL: none known or
 * cannot look (a pipe). */
static const char *sniff_filter(ps_archive *ar)
{
        unsigned char m[6] = { 0 };
        size_t n = 0;
        if (ar->mem) {
                n = ar->mem_len < sizeof(m) ? ar->mem_len : sizeof(m);
                memcpy(m, ar->mem, n);
        } else if (ar->seekable) {
                ssize_t r = pread(ar->fd, m, sizeof(m), ar->start);
                n = r > 0 ? (size_t)r : 0;
        }
        if (n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
                return "xz";
        if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
                return "gzip";
        if (n >= 4 && memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0)
                return "zstd";
        if (n >= 3 && memcmp(m, "BZh", 3) == 0)
                return "bzip2";
        return NULL;
}

/* Open (or reopen from the start) the libarchive reader. */
static int start(ps_archive *ar, ps_error *err)
{
        if (ar->walks > 0) {
                if (!ar->seekable)
                        return ps_error_set(err, ESPIPE,
                                            "cannot read %s a second time: it is not a regular file",
                                            ar->name);
                if (!ar->mem && lseek(ar->fd, ar->start, SEEK_SET) < 0)
                        return ps_error_errno(err, errno, "cannot rewind %s", ar->name);
        }
        ar->walks++;
        ar->done = 0;
        ar->eof = false;
        if (ar->a) {
                archive_read_free(ar->a);
                ar->a = NULL;
        }
        ar->a = archive_read_new();
        if (!ar->a)
                return ps_error_errno(err, ENOMEM, "reading %s", ar->name);
        /* tar only; compression recognised by content.  The filters are
         * named one by one rather than all: "all" includes filters that run
         * external programs (lrzip, lzop, grzip). */
        if (archive_read_support_format_tar(ar->a) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(ar->a) < ARCHIVE_WARN ||
            archive_read_support_filter_xz(ar->a) < ARCHIVE_WARN ||
            archive_read_support_filter_zstd(ar->a) < ARCHIVE_WARN ||
            archive_read_support_filter_bzip2(ar->a) < ARCHIVE_WARN)
                return la_error(ar, err, NULL);
        free(ar->filter);
        ar->filter = NULL;
        /* opening decompresses the start (all of a small input) */
        const char *sniffed = sniff_filter(ar);
        if (archive_read_open2(ar->a, ar, NULL, read_cb, skip_cb, NULL) != ARCHIVE_OK) {
                if (sniffed && !(ar->filter = strdup(sniffed)))
                        return ps_error_errno(err, ENOMEM, "reading %s", ar->name);
                return la_error(ar, err, NULL);
        }
        /* remembered now: libarchive answers no questions after a fatal
         * error */
        if (archive_filter_count(ar->a) > 1 && archive_filter_code(ar->a, 0) != ARCHIVE_FILTER_NONE) {
                const char *fn = archive_filter_name(ar->a, 0);
                ar->filter = strdup(fn ? fn : "compressed");
                if (!ar->filter)
                        return ps_error_errno(err, ENOMEM, "reading %s", ar->name);
        }
        return 0;
}

/* ---- entry names ---- */

/* NAME without "." and empty components; ".." and absolute names are
 * refused. */
static int normalize(const char *name, char **out, ps_error *err)
{
        if (name[0] == '/')
                return entry_error(err, EINVAL, name, "absolute paths are not allowed");
        size_t len = strlen(name);
        char *o = malloc(len + 1);
        if (!o)
                return ps_error_errno(err, ENOMEM, "archive entry name");
        size_t k = 0;
        const char *p = name;
        while (*p) {
                const char *slash = strchr(p, '/');
                size_t cl = slash ? (size_t)(slash - p) : strlen(p);
                if (cl == 2 && p[0] == '.' && p[1] == '.') {
                        free(o);
                        return entry_error(err, EINVAL, name, "path escapes the archive");
                }
                if (cl > 0 && !(cl == 1 && p[0] == '.')) {
                        if (k)
                                o[k++] = '/';
                        memcpy(o + k, p, cl);
                        k += cl;
                }
                p += cl;
                if (*p == '/')
                        p++;
        }
        o[k] = '\0';
        *out = o;
        return 0;
}

enum ekind { E_ROOT, E_ARCHDIR, E_LAYOUT, E_INDEX, E_BLOBSDIR, E_SHA256DIR, E_BLOB, E_OTHER };

static int classify(const char *norm, const char *arch, bool is_dir, enum ekind *kind,
                    ps_digest *digest, ps_error *err)
{
        bool want_dir;
        size_t al = strlen(arch);
        if (norm[0] == '\0') {
                *kind = E_ROOT;
                want_dir = true;
        } else if (strncmp(norm, arch, al) != 0 || (norm[al] != '\0' && norm[al] != '/')) {
                _cleanup_free_ char *msg = NULL;
                _cleanup_free_ char *sa = shown_n(arch, 100);
                if (asprintf(&msg, "outside the %s/ directory (the archive must hold a single directory named after the architecture)",
                             sa ? sa : "?") < 0)
                        msg = NULL;
                return entry_error(err, EINVAL, norm, msg ? msg : "outside the architecture directory");
        } else {
                const char *rest = norm[al] ? norm + al + 1 : "";
                if (!*rest) {
                        *kind = E_ARCHDIR;
                        want_dir = true;
                } else if (strcmp(rest, "oci-layout") == 0) {
                        *kind = E_LAYOUT;
                        want_dir = false;
                } else if (strcmp(rest, "index.json") == 0) {
                        *kind = E_INDEX;
                        want_dir = false;
                } else if (strcmp(rest, "blobs") == 0) {
                        *kind = E_BLOBSDIR;
                        want_dir = true;
                } else if (strncmp(rest, "blobs/", 6) == 0) {
                        const char *alg = rest + 6;
                        if (strncmp(alg, "sha256", 6) != 0 || (alg[6] != '\0' && alg[6] != '/'))
                                return entry_error(err, ENOTSUP, norm,
                                                   "only sha256 blobs are supported");
                        const char *hex = alg[6] ? alg + 7 : "";
                        if (!*hex) {
                                *kind = E_SHA256DIR;
                                want_dir = true;
                        } else {
                                if (strchr(hex, '/'))
                                        return entry_error(err, EINVAL, norm,
                                                           "unexpected subdirectory under blobs/sha256/");
                                if (ps_digest_from_hex(hex, digest, NULL) < 0)
                                        return entry_error(err, EINVAL, norm,
                                                           "blob name is not a sha256 digest (64 lowercase hex digits)");
                                *kind = E_BLOB;
                                want_dir = false;
                        }
                } else {
                        *kind = E_OTHER;
                        return 0;
                }
        }
        if (want_dir && !is_dir)
                return entry_error(err, EINVAL, norm, "expected a directory");
        if (!want_dir && is_dir)
                return entry_error(err, EINVAL, norm, "expected a regular file, found a directory");
        return 0;
}

/* ---- reading entries ---- */

static int read_small(ps_archive *ar, struct archive_entry *e, const char *norm, size_t limit,
                      char **out, size_t *outlen, ps_error *err)
{
        if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
                return entry_error(err, EINVAL, norm, "no size in its header");
        int64_t size = archive_entry_size(e);
        if ((uint64_t)size > limit) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "too large (%" PRId64 " bytes, the limit is %zu)", size, limit) < 0)
                        m = NULL;
                return entry_error(err, EFBIG, norm, m ? m : "too large");
        }
        _cleanup_free_ char *buf = malloc((size_t)size + 1);
        if (!buf)
                return ps_error_errno(err, ENOMEM, "reading %s", norm);
        size_t got = 0;
        while (got < (size_t)size) {
                la_ssize_t n = archive_read_data(ar->a, buf + got, (size_t)size - got);
                if (n < 0)
                        return la_error(ar, err, norm);
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        if (got != (size_t)size)
                return entry_error(err, EIO, norm, "truncated");
        buf[got] = '\0';
        *out = steal_pointer(&buf);
        *outlen = got;
        return 0;
}

static int blob_fail(ps_archive *ar, ps_error *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int blob_fail(ps_archive *ar, ps_error *err, int code, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        ar->blob_end = true;
        ar->blob_rc = -code;
        ps_error_set(&ar->blob_err, code, "%s", m ? m : "reading a blob failed");
        free(m);
        return ps_error_set(err, code, "%s", ps_error_msg(&ar->blob_err));
}

static int blob_fail_la(ps_archive *ar, ps_error *err)
{
        ar->blob_end = true;
        ar->blob_rc = la_error(ar, &ar->blob_err, ar->cur.path);
        return ps_error_set(err, -ar->blob_rc, "%s", ps_error_msg(&ar->blob_err));
}

static int blob_finish(ps_archive *ar, ps_error *err)
{
        if (ar->pos != (uint64_t)ar->cur.size)
                return blob_fail(ar, err, EIO, "archive entry %s: truncated (%" PRIu64 " of %" PRId64 " bytes)",
                                 ar->cur.path, ar->pos, ar->cur.size);
        ps_digest got;
        int r = ps_sha256_final(ar->h, &got, err);
        if (r < 0) {
                ar->blob_end = true;
                ar->blob_rc = r;
                ps_error_set(&ar->blob_err, -r, "%s", ps_error_msg(err));
                return r;
        }
        if (!ps_digest_equal(&got, &ar->cur.digest))
                return blob_fail(ar, err, EBADMSG,
                                 "blob %s content does not match its name (archive entry %s; the content's sha256 is %s)",
                                 ar->cur.digest.str, ar->cur.path, got.str);
        ar->blob_end = true;
        ar->blob_rc = 0;
        return 0;
}

int ps_archive_read_block(ps_archive *ar, const void **data, size_t *len, ps_error *err)
{
        if (!ar->in_blob)
                return ps_error_set(err, EINVAL, "no archive blob is being read");
        if (ar->replay) {
                if (!ar->replay_len)
                        return 0;
                *data = ar->replay_data;
                *len = ar->replay_len;
                ar->replay_len = 0;
                return 1;
        }
        if (ar->pend_len) {
                *data = ar->pend;
                *len = ar->pend_len;
                ar->pend_len = 0;
                return 1;
        }
        if (ar->blob_end) {
                if (ar->blob_rc < 0)
                        ps_error_set(err, -ar->blob_rc, "%s", ps_error_msg(&ar->blob_err));
                return ar->blob_rc;
        }
        for (;;) {
                const void *b;
                size_t sz;
                la_int64_t off;
                int r = archive_read_data_block(ar->a, &b, &sz, &off);
                if (r == ARCHIVE_EOF)
                        return blob_finish(ar, err);
                if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
                        return blob_fail_la(ar, err);
                if (off < 0 || (uint64_t)off != ar->pos)
                        return blob_fail(ar, err, EINVAL, "archive entry %s: sparse files are not allowed",
                                         ar->cur.path);
                if (sz == 0)
                        continue;
                if (sz > (uint64_t)ar->cur.size - ar->pos)
                        return blob_fail(ar, err, EIO, "archive entry %s: more data than its header says",
                                         ar->cur.path);
                r = ps_sha256_update(ar->h, b, sz, err);
                if (r < 0) {
                        ar->blob_end = true;
                        ar->blob_rc = r;
                        ps_error_set(&ar->blob_err, -r, "%s", ps_error_msg(err));
                        return r;
                }
                ar->pos += sz;
                *data = b;
                *len = sz;
                return 1;
        }
}

ssize_t ps_archive_read(ps_archive *ar, void *buf, size_t n, ps_error *err)
{
        if (n == 0)
                return 0;
        if (!ar->pend_len) {
                const void *d;
                size_t len;
                int r = ps_archive_read_block(ar, &d, &len, err);
                if (r <= 0)
                        return r;
                ar->pend = d;
                ar->pend_len = len;
        }
        size_t m = n < ar->pend_len ? n : ar->pend_len;
        memcpy(buf, ar->pend, m);
        ar->pend += m;
        ar->pend_len -= m;
        return (ssize_t)m;
}

static int do_blob(ps_archive *ar, const char *norm, const ps_digest *d, struct archive_entry *e,
                   const ps_archive_ops *ops, void *ud, ps_error *err)
{
        if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
                return entry_error(err, EINVAL, norm, "no size in its header");
        ar->cur.digest = *d;
        ar->cur.size = archive_entry_size(e);
        ar->cur.path = norm;
        ar->pos = 0;
        ar->blob_end = false;
        ar->blob_rc = 0;
        ar->pend_len = 0;
        ps_error_clear(&ar->blob_err);
        int r = ps_sha256_reset(ar->h, err);
        if (r < 0)
                return r;
        ar->in_blob = true;
        int cr = ops && ops->blob ? ops->blob(ud, ar, &ar->cur, err) : 0;
        if (cr < 0) {
                r = cr;
                if (err && !err->msg)
                        entry_error(err, -cr, norm, "the consumer of the blob failed");
        } else if (ar->blob_end && ar->blob_rc < 0) {
                /* a mismatch or read error is never ignored */
                r = ps_error_set(err, -ar->blob_rc, "%s", ps_error_msg(&ar->blob_err));
        } else if (cr == PS_ARCHIVE_SKIP) {
                if (!ar->blob_end && archive_read_data_skip(ar->a) != ARCHIVE_OK)
                        r = la_error(ar, err, norm);
        } else {
                const void *data;
                size_t len;
                ar->pend_len = 0;
                while ((r = ps_archive_read_block(ar, &data, &len, err)) > 0)
                        ;
        }
        ar->in_blob = false;
        ar->pend_len = 0;
        ar->cur.path = NULL;
        return r < 0 ? r : 0;
}

struct walk_state {
        void *seen;                     /* tsearch tree of normalised names */
        size_t entries;
        bool have_arch, have_layout, have_index;
};

static int seen_cmp(const void *a, const void *b)
{
        return strcmp(a, b);
}

static int do_entry(ps_archive *ar, struct walk_state *ws, struct archive_entry *e, const char *arch,
                    const ps_archive_ops *ops, void *ud, ps_error *err)
{
        const char *name = archive_entry_pathname(e);
        if (!name)
                name = archive_entry_pathname_utf8(e);
        if (!name) {
                return ps_error_set(err, EINVAL, "reading %s: archive entry #%zu has no usable name",
                                    ar->name, ws->entries);
        }
        _cleanup_free_ char *norm = NULL;
        int r = normalize(name, &norm, err);
        if (r < 0)
                return r;
        if (archive_entry_hardlink(e))
                return entry_error(err, EINVAL, name, "hard links are not allowed");
        mode_t t = archive_entry_filetype(e);
        switch (t) {
        case AE_IFREG:
        case AE_IFDIR:
                break;
        case AE_IFLNK:
                return entry_error(err, EINVAL, name, "symbolic links are not allowed");
        case AE_IFCHR:
        case AE_IFBLK:
                return entry_error(err, EINVAL, name, "device nodes are not allowed");
        case AE_IFIFO:
                return entry_error(err, EINVAL, name, "FIFOs are not allowed");
        case AE_IFSOCK:
                return entry_error(err, EINVAL, name, "sockets are not allowed");
        default:
                return entry_error(err, EINVAL, name, "entries of this type are not allowed");
        }
        if (t == AE_IFREG && archive_entry_sparse_count(e) > 0)
                return entry_error(err, EINVAL, name, "sparse files are not allowed");
        /* duplicates, compared after normalisation */
        char *key = strdup(norm);
        if (!key)
                return ps_error_errno(err, ENOMEM, "archive entry name");
        char **node = tsearch(key, &ws->seen, seen_cmp);
        if (!node) {
                free(key);
                return ps_error_errno(err, ENOMEM, "archive entry name");
        }
        if (*node != key) {
                free(key);
                return entry_error(err, EEXIST, name, "appears twice in the archive");
        }
        enum ekind kind = E_OTHER;
        ps_digest d;
        r = classify(norm, arch, t == AE_IFDIR, &kind, &d, err);
        if (r < 0)
                return r;
        if (kind != E_ROOT)
                ws->have_arch = true;
        switch (kind) {
        case E_ROOT:
        case E_ARCHDIR:
        case E_BLOBSDIR:
        case E_SHA256DIR:
        case E_OTHER:
                return 0;       /* libarchive skips unread data itself */
        case E_LAYOUT: {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = read_small(ar, e, norm, PS_OCI_MAX_LAYOUT_FILE, &buf, &len, err);
                if (r < 0)
                        return r;
                r = ps_oci_layout_check(buf, len, err);
                if (r < 0)
                        return ps_error_wrap(err, "archive entry %s", norm);
                ws->have_layout = true;
                return 0;
        }
        case E_INDEX: {
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = read_small(ar, e, norm, PS_OCI_MAX_INDEX, &buf, &len, err);
                if (r < 0)
                        return r;
                ps_index *idx = NULL;
                r = ps_layout_index_parse(buf, len, &idx, err);
                if (r < 0)
                        return ps_error_wrap(err, "archive entry %s", norm);
                ws->have_index = true;
                if (ops && ops->index)
                        return ops->index(ud, idx, err);
                ps_index_free(idx);
                return 0;
        }
        case E_BLOB:
                return do_blob(ar, norm, &d, e, ops, ud, err);
        }
        return 0;
}

static int check_arch_name(const char *arch, ps_error *err)
{
        if (!arch || !*arch || strchr(arch, '/') || strcmp(arch, ".") == 0 || strcmp(arch, "..") == 0)
                return ps_error_set(err, EINVAL, "invalid architecture directory name \"%s\"",
                                    arch ? arch : "");
        return 0;
}

int ps_archive_walk(ps_archive *ar, const char *arch, const ps_archive_ops *ops, void *ud,
                    ps_error *err)
{
        int r = check_arch_name(arch, err);
        if (r < 0)
                return r;
        r = start(ar, err);
        if (r < 0)
                return r;
        struct walk_state ws = { 0 };
        for (;;) {
                struct archive_entry *e;
                int lr = archive_read_next_header(ar->a, &e);
                if (lr == ARCHIVE_EOF)
                        break;
                if (lr != ARCHIVE_OK && lr != ARCHIVE_WARN) {
                        r = la_error(ar, err, NULL);
                        goto out;
                }
                if (++ws.entries > PS_ARCHIVE_MAX_ENTRIES) {
                        r = ps_error_set(err, E2BIG, "reading %s: more than %d entries",
                                         ar->name, PS_ARCHIVE_MAX_ENTRIES);
                        goto out;
                }
                r = do_entry(ar, &ws, e, arch, ops, ud, err);
                if (r < 0)
                        goto out;
        }
        if (!ws.have_arch)
                r = ps_error_set(err, ENOENT, "%s has no %s/ directory", ar->name, arch);
        else if (!ws.have_index)
                r = ps_error_set(err, ENOENT, "%s has no %s/index.json", ar->name, arch);
        else if (!ws.have_layout)
                r = ps_error_set(err, ENOENT, "%s has no %s/oci-layout", ar->name, arch);
        else
                r = 0;
out:
        tdestroy(ws.seen, free);
        return r;
}

/* ---- two passes ---- */

struct pass1 {
        ps_archive_layout *l;
        size_t cap;
        size_t kept;
        /* the consumer of a one-pass read, or NULL */
        int (*blob)(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err);
        void *ud;
};

static int p1_index(void *ud, ps_index *idx, ps_error *err)
{
        struct pass1 *p = ud;
        ps_index_free(p->l->index);
        p->l->index = idx;
        return 0;
}

static bool is_ws(unsigned char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A new entry in the layout's blob list. */
static int p1_record(struct pass1 *p, const ps_archive_blob *b, ps_archive_blobinfo **out,
                     ps_error *err)
{
        ps_archive_layout *l = p->l;
        if (l->n_blobs == p->cap) {
                size_t nc = p->cap ? p->cap * 2 : 64;
                ps_archive_blobinfo *v = realloc(l->blobs, nc * sizeof(*v));
                if (!v)
                        return ps_error_errno(err, ENOMEM, "listing blobs");
                l->blobs = v;
                p->cap = nc;
        }
        ps_archive_blobinfo *bi = &l->blobs[l->n_blobs++];
        bi->digest = b->digest;
        bi->size = b->size;
        bi->data = NULL;
        l->blob_bytes += (uint64_t)b->size;
        *out = bi;
        return 0;
}

static int p1_keep(struct pass1 *p, ps_archive_blobinfo *bi, const ps_archive_blob *b, char **buf,
                   ps_error *err)
{
        if (p->kept + (size_t)b->size > PS_ARCHIVE_MAX_METADATA)
                return ps_error_set(err, E2BIG, "%s: the JSON blobs add up to more than %u MiB",
                                    b->path, PS_ARCHIVE_MAX_METADATA >> 20);
        (*buf)[b->size] = '\0';
        bi->data = steal_pointer(buf);
        p->kept += (size_t)b->size;
        return 0;
}

/* Read the rest of a small blob into memory, verified.  *json tells
 * whether its first non-blank byte is '{'; with STOP_IF_NOT_JSON, reading
 * stops (returning 1, the blob unverified) as soon as it is known not to
 * be JSON. */
static int read_whole(ps_archive *ar, const ps_archive_blob *b, bool stop_if_not_json, char **out,
                      bool *json, ps_error *err)
{
        _cleanup_free_ char *buf = malloc((size_t)b->size + 1);
        if (!buf)
                return ps_error_errno(err, ENOMEM, "reading %s", b->path);
        size_t got = 0;
        bool decided = false;
        *json = false;
        for (;;) {
                const void *d;
                size_t len;
                int r = ps_archive_read_block(ar, &d, &len, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (!decided) {
                        const unsigned char *c = d;
                        size_t i = 0;
                        while (i < len && is_ws(c[i]))
                                i++;
                        if (i < len) {
                                decided = true;
                                *json = c[i] == '{';
                                if (!*json && stop_if_not_json)
                                        return 1;
                        }
                }
                memcpy(buf + got, d, len);
                got += len;
        }
        buf[got] = '\0';
        *out = steal_pointer(&buf);
        return 0;
}

static int p1_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        struct pass1 *p = ud;
        ps_archive_blobinfo *bi = NULL;
        int r = p1_record(p, b, &bi, err);
        if (r < 0)
                return r;
        bool small = b->size > 0 && (uint64_t)b->size <= PS_OCI_MAX_MANIFEST;
        if (!small)
                return p->blob ? p->blob(p->ud, ar, b, err) : PS_ARCHIVE_SKIP;
        _cleanup_free_ char *buf = NULL;
        bool json = false;
        r = read_whole(ar, b, !p->blob, &buf, &json, err);
        if (r < 0)
                return r;
        if (r == 1)
                return PS_ARCHIVE_SKIP;         /* not JSON, no consumer: a layer */
        if (p->blob) {
                /* hand the verified bytes to the consumer */
                ar->replay = true;
                ar->replay_data = (const unsigned char *)buf;
                ar->replay_len = (size_t)b->size;
                r = p->blob(p->ud, ar, b, err);
                ar->replay = false;
                ar->replay_len = 0;
                if (r < 0)
                        return r;
        }
        if (json)
                return p1_keep(p, bi, b, &buf, err);
        return 0;
}

static int blob_cmp(const void *a, const void *b)
{
        const ps_archive_blobinfo *x = a, *y = b;
        return strcmp(x->digest.str, y->digest.str);
}

const ps_archive_blobinfo *ps_archive_layout_find(const ps_archive_layout *l, const ps_digest *d)
{
        if (!l->n_blobs)
                return NULL;
        ps_archive_blobinfo key;
        key.digest = *d;
        return bsearch(&key, l->blobs, l->n_blobs, sizeof(*l->blobs), blob_cmp);
}

static void image_clear(ps_archive_image *img)
{
        ps_manifest_free(img->manifest);
        ps_image_config_free(img->config);
        for (size_t i = 0; i < img->n_children; i++)
                image_clear(&img->children[i]);
        free(img->children);
        ps_index_free(img->index);
        memset(img, 0, sizeof(*img));
}

void ps_archive_layout_free(ps_archive_layout *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n_images; i++)
                image_clear(&l->images[i]);
        free(l->images);
        for (size_t i = 0; i < l->n_blobs; i++)
                free(l->blobs[i].data);
        free(l->blobs);
        ps_index_free(l->index);
        free(l->arch);
        free(l);
}

/* The blob D names: present with D's size. */
static int need_blob(const ps_archive_layout *l, const ps_descriptor *d, const char *who,
                     const char *what, const ps_archive_blobinfo **out, ps_error *err)
{
        const ps_archive_blobinfo *bi = ps_archive_layout_find(l, &d->digest);
        if (!bi)
                return ps_error_set(err, ENOENT, "%s names %s%s which is not in the archive",
                                    who, what, d->digest.str);
        if (bi->size != d->size)
                return ps_error_set(err, EBADMSG,
                                    "%s gives %s%s a size of %" PRId64 " bytes, but the archive's blob has %" PRId64,
                                    who, what, d->digest.str, d->size, bi->size);
        *out = bi;
        return 0;
}

static int need_json(const ps_archive_layout *l, const ps_descriptor *d, const char *who,
                     const char *what, const ps_archive_blobinfo **out, ps_error *err)
{
        int r = need_blob(l, d, who, what, out, err);
        if (r < 0)
                return r;
        if (!(*out)->data)
                return ps_error_set(err, EINVAL,
                                    "%s names %s%s, which is not a JSON document of at most %u MiB",
                                    who, what, d->digest.str, PS_OCI_MAX_MANIFEST >> 20);
        return 0;
}

static int resolve(const ps_archive_layout *l, const ps_descriptor *desc, const char *who,
                   unsigned depth, ps_archive_image *img, ps_error *err)
{
        img->desc = desc;
        img->ref_name = ps_descriptor_annotation(desc, PS_OCI_REF_NAME);
        ps_oci_kind k = ps_oci_kind_of(desc->media_type);
        const ps_archive_blobinfo *bi;
        int r;
        if (ps_oci_kind_is_manifest(k)) {
                if ((r = need_json(l, desc, who, "", &bi, err)) < 0)
                        return r;
                r = ps_manifest_parse(bi->data, (size_t)bi->size, desc->media_type, &img->manifest, err);
                if (r < 0)
                        return ps_error_wrap(err, "%s (named by %s)", desc->digest.str, who);
                char mwho[PS_DIGEST_STRLEN + 16];
                snprintf(mwho, sizeof(mwho), "manifest %s", desc->digest.str);
                const ps_manifest *m = img->manifest;
                if ((r = need_json(l, &m->config, mwho, "config ", &bi, err)) < 0)
                        return r;
                r = ps_image_config_parse(bi->data, (size_t)bi->size, &img->config, err);
                if (r < 0)
                        return ps_error_wrap(err, "%s (config of %s)", m->config.digest.str, mwho);
                for (size_t i = 0; i < m->n_layers; i++)
                        if ((r = need_blob(l, &m->layers[i], mwho, "layer ", &bi, err)) < 0)
                                return r;
                if (img->config->n_diff_ids != m->n_layers)
                        return ps_error_set(err, EINVAL,
                                            "%s has %zu layers but its config %s lists %zu diff_ids",
                                            mwho, m->n_layers, m->config.digest.str,
                                            img->config->n_diff_ids);
                return 0;
        }
        if (ps_oci_kind_is_index(k)) {
                if (depth >= PS_ARCHIVE_MAX_NESTING)
                        return ps_error_set(err, ELOOP,
                                            "%s: image indexes nested more than %d deep",
                                            desc->digest.str, PS_ARCHIVE_MAX_NESTING);
                if ((r = need_json(l, desc, who, "", &bi, err)) < 0)
                        return r;
                r = ps_index_parse(bi->data, (size_t)bi->size, desc->media_type, &img->index, err);
                if (r < 0)
                        return ps_error_wrap(err, "%s (named by %s)", desc->digest.str, who);
                const ps_index *idx = img->index;
                if (idx->n_manifests) {
                        img->children = calloc(idx->n_manifests, sizeof(*img->children));
                        if (!img->children)
                                return ps_error_errno(err, ENOMEM, "reading index %s", desc->digest.str);
                }
                img->n_children = idx->n_manifests;
                char iwho[PS_DIGEST_STRLEN + 16];
                snprintf(iwho, sizeof(iwho), "index %s", desc->digest.str);
                for (size_t i = 0; i < idx->n_manifests; i++)
                        if ((r = resolve(l, &idx->manifests[i], iwho, depth + 1, &img->children[i], err)) < 0)
                                return r;
                return 0;
        }
        return 0;       /* other media types are ignored */
}

int ps_archive_read_layout(ps_archive *ar, const char *arch, ps_archive_layout **out,
                           ps_error *err)
{
        return ps_archive_read_layout_streaming(ar, arch, NULL, NULL, out, err);
}

int ps_archive_read_layout_streaming(ps_archive *ar, const char *arch,
                                     int (*blob)(void *ud, ps_archive *ar,
                                                 const ps_archive_blob *b, ps_error *err),
                                     void *ud, ps_archive_layout **out, ps_error *err)
{
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = calloc(1, sizeof(*l));
        if (!l || !(l->arch = strdup(arch ? arch : "")))
                return ps_error_errno(err, ENOMEM, "reading %s", ar->name);
        struct pass1 p = { .l = l, .blob = blob, .ud = ud };
        const ps_archive_ops ops = { .index = p1_index, .blob = p1_blob };
        int r = ps_archive_walk(ar, arch, &ops, &p, err);
        if (r < 0)
                return r;
        if (l->n_blobs)
                qsort(l->blobs, l->n_blobs, sizeof(*l->blobs), blob_cmp);
        const ps_index *idx = l->index;
        if (idx->n_manifests) {
                l->images = calloc(idx->n_manifests, sizeof(*l->images));
                if (!l->images)
                        return ps_error_errno(err, ENOMEM, "reading %s", ar->name);
        }
        l->n_images = idx->n_manifests;
        for (size_t i = 0; i < idx->n_manifests; i++) {
                r = resolve(l, &idx->manifests[i], "index.json", 0, &l->images[i], err);
                if (r < 0)
                        return ps_error_wrap(err, "%s", ar->name);
        }
        *out = steal_pointer(&l);
        return 0;
}

static int add_unique(const ps_descriptor ***v, size_t *n, size_t *cap, const ps_descriptor *d,
                      ps_error *err)
{
        for (size_t i = 0; i < *n; i++)
                if (ps_digest_equal(&(*v)[i]->digest, &d->digest))
                        return 0;
        if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                const ps_descriptor **nv = realloc(*v, nc * sizeof(*nv));
                if (!nv)
                        return ps_error_errno(err, ENOMEM, "listing blobs");
                *v = nv;
                *cap = nc;
        }
        (*v)[(*n)++] = d;
        return 0;
}

static int collect(const ps_archive_image *img, const ps_descriptor ***v, size_t *n, size_t *cap,
                   ps_error *err)
{
        int r;
        if (img->manifest) {
                if ((r = add_unique(v, n, cap, &img->manifest->config, err)) < 0)
                        return r;
                for (size_t i = 0; i < img->manifest->n_layers; i++)
                        if ((r = add_unique(v, n, cap, &img->manifest->layers[i], err)) < 0)
                                return r;
        }
        for (size_t i = 0; i < img->n_children; i++)
                if ((r = collect(&img->children[i], v, n, cap, err)) < 0)
                        return r;
        return 0;
}

int ps_archive_image_blobs(const ps_archive_image *img, const ps_descriptor ***out, size_t *n,
                           ps_error *err)
{
        const ps_descriptor **v = NULL;
        size_t cnt = 0, cap = 0;
        int r = collect(img, &v, &cnt, &cap, err);
        if (r < 0) {
                free(v);
                return r;
        }
        *out = v;
        *n = cnt;
        return 0;
}

struct pass2 {
        const ps_archive_layout *l;
        bool *seen;
        int (*blob)(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err);
        void *ud;
        const char *name;
};

static int p2_index(void *ud, ps_index *idx, ps_error *err)
{
        struct pass2 *p = ud;
        bool same = ps_digest_equal(&idx->digest, &p->l->index->digest);
        ps_index_free(idx);
        if (!same)
                return ps_error_set(err, EBUSY, "%s changed since it was first read: index.json differs",
                                    p->name);
        return 0;
}

static int p2_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        struct pass2 *p = ud;
        const ps_archive_blobinfo *bi = ps_archive_layout_find(p->l, &b->digest);
        if (!bi || bi->size != b->size)
                return ps_error_set(err, EBUSY, "%s changed since it was first read: blob %s %s",
                                    p->name, b->digest.str, bi ? "has another size" : "is new");
        p->seen[bi - p->l->blobs] = true;
        return p->blob ? p->blob(p->ud, ar, b, err) : 0;
}

int ps_archive_stream_blobs(ps_archive *ar, const ps_archive_layout *l,
                            int (*blob)(void *ud, ps_archive *ar, const ps_archive_blob *b,
                                        ps_error *err),
                            void *ud, ps_error *err)
{
        _cleanup_free_ bool *seen = calloc(l->n_blobs ? l->n_blobs : 1, sizeof(bool));
        if (!seen)
                return ps_error_errno(err, ENOMEM, "reading %s", ar->name);
        struct pass2 p = { .l = l, .seen = seen, .blob = blob, .ud = ud, .name = ar->name };
        const ps_archive_ops ops = { .index = p2_index, .blob = p2_blob };
        int r = ps_archive_walk(ar, l->arch, &ops, &p, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n_blobs; i++)
                if (!seen[i])
                        return ps_error_set(err, EBUSY,
                                            "%s changed since it was first read: blob %s is gone",
                                            ar->name, l->blobs[i].digest.str);
        return 0;
}
