/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `podsec image save`: registry -> per-architecture OCI layouts with
 * uncompressed layers -> DIR/<arch>.tar.xz (see ocisave.h). */
#include "ocisave.h"
#include "cleanup.h"
#include "fs.h"
#include "oci.h"
#include "reference.h"
#include "registry.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BLOCK (1024u * 1024)

const char *const ps_save_known_archs[] = { "amd64", "arm64", "arm", "ppc64le", "386", NULL };

/* ---- arguments ------------------------------------------------------- */

static bool known_arch(const char *a, size_t n)
{
        for (size_t i = 0; ps_save_known_archs[i]; i++)
                if (strlen(ps_save_known_archs[i]) == n && memcmp(ps_save_known_archs[i], a, n) == 0)
                        return true;
        return false;
}

static int strv_add(char ***v, size_t *n, const char *s, size_t len)
{
        char **nv = realloc(*v, (*n + 2) * sizeof(char *));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strndup(s, len);
        if (!nv[*n])
                return -ENOMEM;
        nv[++*n] = NULL;
        return 0;
}

static bool strv_has(char **v, const char *s, size_t len)
{
        for (; v && *v; v++)
                if (strlen(*v) == len && memcmp(*v, s, len) == 0)
                        return true;
        return false;
}

/* printable, shortened copy of untrusted text for messages */
int ps_save_parse_archs(const char *list, char ***out, ps_error *err)
{
        _cleanup_strv_ char **v = NULL;
        size_t n = 0;
        const char *p = list ? list : "";
        bool all = false;
        while (*p) {
                size_t len = strcspn(p, ", \t");
                if (len == 0) {
                        /* separators: a run of blanks is fine, an empty comma entry is not */
                        if (*p == ',' && (p == list || p[1] == ',' || p[1] == '\0'))
                                return ps_error_set(err, EINVAL, "empty entry in the architecture list \"%s\"",
                                                    list);
                        p++;
                        continue;
                }
                if (len == 3 && memcmp(p, "all", 3) == 0) {
                        all = true;
                } else if (!known_arch(p, len)) {
                        _cleanup_free_ char *s = ps_shown(p, len, 80);
                        return ps_error_set(err, EINVAL,
                                            "unknown architecture \"%s\" (known: amd64 arm64 arm ppc64le 386, or all)",
                                            s ? s : "?");
                } else if (!strv_has(v, p, len) && strv_add(&v, &n, p, len) < 0) {
                        return ps_error_errno(err, ENOMEM, "architecture list");
                }
                p += len;
        }
        if (all) {
                ps_strv_free(v);
                v = NULL;
                n = 0;
                for (size_t i = 0; ps_save_known_archs[i]; i++)
                        if (strv_add(&v, &n, ps_save_known_archs[i], strlen(ps_save_known_archs[i])) < 0)
                                return ps_error_errno(err, ENOMEM, "architecture list");
        }
        if (n == 0)
                return ps_error_set(err, EINVAL, "no architecture given (amd64 arm64 arm ppc64le 386, or all)");
        *out = steal_pointer(&v);
        return 0;
}

static const char *const transports[] = {
        "docker", "containers-storage", "oci", "oci-archive", "docker-archive", "docker-daemon",
        "dir", "ostree", "sif", "tarball", NULL,
};

/* length of "NAME" when ARG starts with a known "NAME:", else 0 */
static size_t transport_prefix(const char *arg)
{
        for (size_t i = 0; transports[i]; i++) {
                size_t l = strlen(transports[i]);
                if (strncmp(arg, transports[i], l) == 0 && arg[l] == ':')
                        return l;
        }
        return 0;
}

bool ps_save_is_transport(const char *arg)
{
        if (!arg || !*arg)
                return true;
        size_t l = transport_prefix(arg);
        if (l == 0)
                return false;
        /* "docker:…" is a transport only as "docker://…"; "oci:1.0" could
         * be an image "oci" with tag "1.0", but podsec images carry a
         * platform path ("c10f/…"), so a bare known name is a transport */
        if (l == 6 && strncmp(arg, "docker", 6) == 0)
                return strncmp(arg, "docker://", 9) == 0;
        return true;
}

void ps_save_source_clear(ps_save_source *s)
{
        if (!s)
                return;
        free(s->host);
        free(s->prefix);
        s->host = s->prefix = NULL;
}

static bool looks_like_host(const char *s, size_t len)
{
        if (len == 9 && memcmp(s, "localhost", 9) == 0)
                return true;
        return memchr(s, '.', len) || memchr(s, ':', len) || (len && s[0] == '[');
}

int ps_save_parse_transport(const char *arg, ps_save_source *out, ps_error *err)
{
        memset(out, 0, sizeof(*out));
        if (!arg || !*arg)
                return 0;
        size_t tl = transport_prefix(arg);
        if (tl == 0 || !(tl == 6 && strncmp(arg, "docker://", 9) == 0)) {
                _cleanup_free_ char *s = ps_shown(arg, strlen(arg), 80);
                if (tl && strncmp(arg, "docker:", 7) != 0)
                        return ps_error_set(err, ENOTSUP,
                                            "transport \"%s\" is not supported: podsec copies images straight from "
                                            "a registry (docker://[HOST]) and never reads a local image store "
                                            "(the original's podsec-k8s-save-oci passed containers-storage:[…])",
                                            s ? s : "?");
                return ps_error_set(err, EINVAL,
                                    "\"%s\" is not a transport: give docker://, docker://HOST or docker://HOST/PATH",
                                    s ? s : "?");
        }
        const char *rest = arg + 9;
        if (!*rest)
                return 0;
        size_t hl = strcspn(rest, "/");
        if (!looks_like_host(rest, hl) || !ps_reference_valid_domain(rest, hl, PS_REF_ALLOW_IPV6)) {
                _cleanup_free_ char *s = ps_shown(rest, hl, 80);
                return ps_error_set(err, EINVAL,
                                    "docker://%s: \"%s\" is not a registry host (a host name with a '.' or a "
                                    ":port, or localhost, e.g. docker://registry.altlinux.org)",
                                    s ? s : "?", s ? s : "?");
        }
        _cleanup_free_ char *host = strndup(rest, hl);
        _cleanup_free_ char *prefix = NULL;
        if (!host)
                return ps_error_errno(err, ENOMEM, "transport");
        const char *p = rest + hl;
        while (*p == '/')
                p++;
        size_t pl = strlen(p);
        while (pl && p[pl - 1] == '/')
                pl--;
        if (pl) {
                /* every component must be a repository path component */
                const char *c = p;
                while (c < p + pl) {
                        size_t cl = strcspn(c, "/");
                        if (c + cl > p + pl)
                                cl = (size_t)(p + pl - c);
                        if (!ps_reference_valid_component(c, cl)) {
                                _cleanup_free_ char *s = ps_shown(p, pl, 80);
                                return ps_error_set(err, EINVAL,
                                                    "docker://%s/%s: \"%s\" is not a valid repository path prefix "
                                                    "(lowercase letters, digits, '.', '_', '-')",
                                                    host, s ? s : "?", s ? s : "?");
                        }
                        c += cl + 1;
                }
                prefix = strndup(p, pl);
                if (!prefix)
                        return ps_error_errno(err, ENOMEM, "transport");
        }
        out->host = steal_pointer(&host);
        out->prefix = steal_pointer(&prefix);
        return 0;
}

void ps_save_ref_clear(ps_save_ref *r)
{
        if (!r)
                return;
        free(r->given);
        free(r->name);
        free(r->host);
        free(r->repo);
        free(r->ref);
        free(r->digest);
        memset(r, 0, sizeof(*r));
}

int ps_save_ref_parse(const char *image, const char *default_host, const char *prefix,
                      ps_save_ref *out, ps_error *err)
{
        memset(out, 0, sizeof(*out));
        _cleanup_free_ char *si = ps_shown(image ? image : "", image ? strlen(image) : 0, 80);
        if (!image || !*image)
                return ps_error_set(err, EINVAL, "empty image name");
        if (strstr(image, "://"))
                return ps_error_set(err, EINVAL,
                                    "image \"%s\": give the transport once, before the images (e.g. "
                                    "docker://registry.altlinux.org c10f/pause:3.9)", si ? si : "?");
        size_t fl = strcspn(image, "/");
        const char *host = default_host;
        const char *path = image;
        _cleanup_free_ char *given_host = NULL;
        if (image[fl] == '/' && looks_like_host(image, fl)) {
                given_host = strndup(image, fl);
                if (!given_host)
                        return ps_error_errno(err, ENOMEM, "image name");
                host = given_host;
                path = image + fl + 1;
        }
        if (!host || !*host)
                return ps_error_set(err, EINVAL, "image \"%s\": no registry to read it from", si ? si : "?");
        /* the full reference, checked by the containers/image grammar */
        _cleanup_free_ char *full = NULL;
        if (asprintf(&full, "%s/%s%s%s", host, prefix ? prefix : "", prefix ? "/" : "", path) < 0) {
                full = NULL;
                return ps_error_errno(err, ENOMEM, "image name");
        }
        ps_reference ref = { 0 };
        ps_error e2 = PS_ERROR_INIT;
        int r = ps_reference_parse_flags(full, PS_REF_ALLOW_IPV6, &ref, &e2);
        if (r < 0) {
                r = ps_error_set(err, -r, "image \"%s\": %s", si ? si : "?", ps_error_msg(&e2));
                ps_error_clear(&e2);
                return r;
        }
        if (strcmp(ref.domain, host) != 0 && !(strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0)) {
                r = ps_error_set(err, EINVAL, "image \"%s\": not a path on registry %s", si ? si : "?", host);
                ps_reference_free(&ref);
                return r;
        }
        if (ref.digest && !ref.tag) {
                r = ps_error_set(err, EINVAL,
                                 "image \"%s\": a digest needs a tag too (NAME:TAG@DIGEST): the archive names "
                                 "each image by its tag", si ? si : "?");
                ps_reference_free(&ref);
                return r;
        }
        if (ref.digest && strncmp(ref.digest, "sha256:", 7) != 0) {
                r = ps_error_set(err, ENOTSUP, "image \"%s\": only sha256 digests are supported", si ? si : "?");
                ps_reference_free(&ref);
                return r;
        }
        /* the name in the archive: the path as given (without host, tag, digest) */
        size_t plen = strcspn(path, "@");
        const char *lastslash = NULL;
        for (const char *q = path; q < path + plen; q++)
                if (*q == '/')
                        lastslash = q;
        const char *colon = memchr(lastslash ? lastslash : path, ':', (size_t)(path + plen - (lastslash ? lastslash : path)));
        size_t namelen = colon ? (size_t)(colon - path) : plen;
        const char *tag = ref.tag ? ref.tag : "latest";
        bool pinned = ref.digest != NULL;
        int n = asprintf(&out->name, "%.*s:%s", (int)namelen, path, tag);
        out->given = strdup(image);
        out->host = strdup(host);
        out->repo = strdup(ref.path);
        out->ref = strdup(pinned ? ref.digest : tag);
        out->digest = pinned ? strdup(ref.digest) : NULL;
        ps_reference_free(&ref);
        if (n < 0)
                out->name = NULL;
        if (n < 0 || !out->given || !out->host || !out->repo || !out->ref || (pinned && !out->digest)) {
                ps_save_ref_clear(out);
                return ps_error_errno(err, ENOMEM, "image name");
        }
        return 0;
}

/* ---- small file helpers ---------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
        const char *p = buf;
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (flag == FTW_DP || flag == FTW_D)
                return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf of a directory podsec created itself (no symlinks followed) */
static void rm_tree(const char *path)
{
        if (path)
                nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* write DATA as DIR/blobs/sha256/<hex> unless it is there */
static int put_blob(const char *blobdir, const ps_digest *d, const void *data, size_t len, ps_error *err)
{
        _cleanup_free_ char *path = ps_path_join(blobdir, ps_digest_hex(d));
        if (!path)
                return ps_error_errno(err, ENOMEM, "blob path");
        if (ps_file_exists(path))
                return 0;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return ps_error_errno(err, errno, "creating %s", path);
        int r = write_all(fd, data, len);
        if (r < 0) {
                unlink(path);
                return ps_error_errno(err, -r, "writing %s", path);
        }
        return 0;
}

/* ---- decompression ---------------------------------------------------- */

int ps_save_decompress(int in_fd, int out_fd, int want_compressed, ps_digest *digest,
                       uint64_t *size, ps_error *err)
{
        struct archive *a = archive_read_new();
        if (!a)
                return ps_error_errno(err, ENOMEM, "decompressor");
        /* only built-in decoders: libarchive would otherwise run external
         * programs for formats it lacks */
        if (archive_zlib_version())
                archive_read_support_filter_gzip(a);
        if (archive_libzstd_version())
                archive_read_support_filter_zstd(a);
        archive_read_support_format_raw(a);
        archive_read_support_format_empty(a);   /* an empty (uncompressed) layer */
        _cleanup_(ps_sha256_freep) ps_sha256 *h = NULL;
        _cleanup_free_ char *buf = malloc(IO_BLOCK);
        int r = buf ? ps_sha256_new(&h, err) : ps_error_errno(err, ENOMEM, "decompressor");
        uint64_t total = 0;
        if (r < 0)
                goto out;
        if (archive_read_open_fd(a, in_fd, IO_BLOCK) != ARCHIVE_OK) {
                r = ps_error_set(err, EIO, "cannot read the layer: %s", archive_error_string(a));
                goto out;
        }
        struct archive_entry *e;
        int ar = archive_read_next_header(a, &e);
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN && ar != ARCHIVE_EOF) {
                r = ps_error_set(err, EBADMSG, "decompressing the layer: %s", archive_error_string(a));
                goto out;
        }
        int code = archive_filter_code(a, 0);
        bool compressed = code != ARCHIVE_FILTER_NONE;
        if (code != ARCHIVE_FILTER_NONE && code != ARCHIVE_FILTER_GZIP && code != ARCHIVE_FILTER_ZSTD) {
                r = ps_error_set(err, ENOTSUP, "the layer is compressed with %s (only gzip and zstd)",
                                 archive_filter_name(a, 0));
                goto out;
        }
        if (want_compressed == 1 && !compressed) {
                r = ps_error_set(err, EINVAL, "the layer is labelled compressed but is not gzip or zstd data");
                goto out;
        }
        if (want_compressed == 0 && compressed) {
                r = ps_error_set(err, EINVAL, "the layer is labelled uncompressed but holds %s data",
                                 archive_filter_name(a, 0));
                goto out;
        }
        while (ar != ARCHIVE_EOF) {
                la_ssize_t got = archive_read_data(a, buf, IO_BLOCK);
                if (got == 0)
                        break;
                if (got < 0) {
                        r = ps_error_set(err, EBADMSG, "decompressing the layer: %s", archive_error_string(a));
                        goto out;
                }
                if ((r = ps_sha256_update(h, buf, (size_t)got, err)) < 0)
                        goto out;
                if ((r = write_all(out_fd, buf, (size_t)got)) < 0) {
                        r = ps_error_errno(err, -r, "writing the uncompressed layer");
                        goto out;
                }
                total += (uint64_t)got;
        }
        r = ps_sha256_final(h, digest, err);
        if (r >= 0 && size)
                *size = total;
out:
        archive_read_free(a);
        return r;
}

/* ---- xz + tar writer -------------------------------------------------- */

struct xzout {
        int fd;
        const char *path;
        lzma_stream strm;
        uint8_t *buf;
        size_t cap;
        ps_sha256 *h;
        uint64_t out_bytes;     /* compressed bytes written */
        uint64_t in_bytes;      /* tar bytes in */
        ps_error *err;
        int failed;             /* negative errno once something failed */
        /* progress */
        ps_save_progress_fn progress;
        void *progress_ctx;
        const char *arch;
        uint64_t total;
        uint64_t last_report;
};

static const char *lzma_strerror(lzma_ret r)
{
        switch (r) {
        case LZMA_MEM_ERROR: return "out of memory";
        case LZMA_MEMLIMIT_ERROR: return "memory limit reached";
        case LZMA_OPTIONS_ERROR: return "unsupported options";
        case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
        case LZMA_DATA_ERROR: return "data error";
        case LZMA_BUF_ERROR: return "no progress possible";
        case LZMA_PROG_ERROR: return "programming error";
        default: return "error";
        }
}

static int xz_feed(struct xzout *x, const void *in, size_t n, lzma_action act)
{
        x->strm.next_in = in;
        x->strm.avail_in = n;
        for (;;) {
                x->strm.next_out = x->buf;
                x->strm.avail_out = x->cap;
                lzma_ret lr = lzma_code(&x->strm, act);
                size_t out = x->cap - x->strm.avail_out;
                if (out) {
                        int r = write_all(x->fd, x->buf, out);
                        if (r < 0)
                                return ps_error_errno(x->err, -r, "writing %s", x->path);
                        if ((r = ps_sha256_update(x->h, x->buf, out, x->err)) < 0)
                                return r;
                        x->out_bytes += out;
                }
                if (lr == LZMA_STREAM_END)
                        return 0;
                if (lr != LZMA_OK)
                        return ps_error_set(x->err, lr == LZMA_MEM_ERROR ? ENOMEM : EIO,
                                            "xz compression of %s failed: %s", x->path, lzma_strerror(lr));
                if (act == LZMA_RUN && x->strm.avail_in == 0 && x->strm.avail_out != 0)
                        return 0;
        }
}

static la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
        struct xzout *x = ud;
        if (x->failed)
                return -1;
        int r = xz_feed(x, buf, n, LZMA_RUN);
        if (r < 0) {
                x->failed = r;
                archive_set_error(a, -r, "%s", ps_error_msg(x->err));
                return -1;
        }
        x->in_bytes += n;
        if (x->progress && (x->in_bytes - x->last_report >= 4u * 1024 * 1024 || x->in_bytes >= x->total)) {
                x->last_report = x->in_bytes;
                ps_save_event ev = { .kind = PS_SAVE_PACK, .arch = x->arch, .done = x->in_bytes,
                                     .total = x->total };
                x->progress(x->progress_ctx, &ev);
        }
        return (la_ssize_t)n;
}

static int tar_fail(struct archive *a, struct xzout *x, const char *what)
{
        if (x->failed)
                return x->failed;
        return ps_error_set(x->err, EIO, "writing %s: %s: %s", x->path, what, archive_error_string(a));
}

static int tar_dir(struct archive *a, struct xzout *x, const char *name, int64_t mtime)
{
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return ps_error_errno(x->err, ENOMEM, "tar entry");
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        archive_entry_set_mtime(e, mtime, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : tar_fail(a, x, name);
        archive_entry_free(e);
        return r;
}

static int tar_header(struct archive *a, struct xzout *x, const char *name, int64_t size, int64_t mtime)
{
        struct archive_entry *e = archive_entry_new();
        if (!e)
                return ps_error_errno(x->err, ENOMEM, "tar entry");
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, mtime, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : tar_fail(a, x, name);
        archive_entry_free(e);
        return r;
}

/* add the file SRC as NAME; when WANT is set its sha256 must match (a
 * blob changed on disk since it was written is not packed) */
static int tar_file(struct archive *a, struct xzout *x, const char *src, const char *name,
                    const ps_digest *want, int64_t mtime, char *buf)
{
        _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return ps_error_errno(x->err, errno, "opening %s", src);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(x->err, errno, "stat %s", src);
        if (!S_ISREG(st.st_mode))
                return ps_error_set(x->err, EINVAL, "%s is not a regular file", src);
        int r = tar_header(a, x, name, st.st_size, mtime);
        if (r < 0)
                return r;
        _cleanup_(ps_sha256_freep) ps_sha256 *h = NULL;
        if (want && (r = ps_sha256_new(&h, x->err)) < 0)
                return r;
        int64_t left = st.st_size;
        while (left > 0) {
                ssize_t got = read(fd, buf, left < (int64_t)IO_BLOCK ? (size_t)left : IO_BLOCK);
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(x->err, errno, "reading %s", src);
                }
                if (got == 0)
                        return ps_error_set(x->err, EIO, "%s shrank while it was being packed", src);
                if (h && (r = ps_sha256_update(h, buf, (size_t)got, x->err)) < 0)
                        return r;
                if (archive_write_data(a, buf, (size_t)got) != got)
                        return tar_fail(a, x, name);
                left -= got;
        }
        if (h) {
                ps_digest d;
                if ((r = ps_sha256_final(h, &d, x->err)) < 0)
                        return r;
                if (!ps_digest_equal(&d, want))
                        return ps_error_set(x->err, EBADMSG, "%s does not match its digest %s (got %s)", src,
                                            want->str, d.str);
        }
        return 0;
}

static int xz_init(struct xzout *x, const ps_xz_opts *xz, uint64_t *block_size)
{
        int level = xz && xz->level >= 0 ? xz->level : 9;
        if (level > 9)
                return ps_error_set(x->err, EINVAL, "xz level %d out of range 0..9", level);
        uint64_t bs = xz && xz->block_size ? xz->block_size : PS_SAVE_DEFAULT_BLOCK;
        if (bs < 64 * 1024)
                bs = 64 * 1024;
        uint32_t threads = xz && xz->threads ? xz->threads : lzma_cputhreads();
        if (threads == 0)
                threads = 1;
        if (threads > 64)
                threads = 64;
        lzma_options_lzma lz;
        if (lzma_lzma_preset(&lz, (uint32_t)level))
                return ps_error_set(x->err, EINVAL, "xz preset %d is not supported", level);
        /* the dictionary is reset at each block: more than a block is waste */
        if (lz.dict_size > bs)
                lz.dict_size = bs < LZMA_DICT_SIZE_MIN ? LZMA_DICT_SIZE_MIN : (uint32_t)bs;
        lzma_filter filters[2] = {
                { .id = LZMA_FILTER_LZMA2, .options = &lz },
                { .id = LZMA_VLI_UNKNOWN, .options = NULL },
        };
        lzma_mt mt = {
                .flags = 0, .threads = threads, .block_size = bs, .timeout = 0,
                .filters = filters, .check = LZMA_CHECK_CRC64,
        };
        /* stay within a quarter of the memory: fewer threads if needed */
        uint64_t phys = lzma_physmem();
        while (mt.threads > 1 && phys && lzma_stream_encoder_mt_memusage(&mt) > phys / 4)
                mt.threads--;
        lzma_ret lr = lzma_stream_encoder_mt(&x->strm, &mt);
        if (lr != LZMA_OK)
                return ps_error_set(x->err, lr == LZMA_MEM_ERROR ? ENOMEM : EINVAL,
                                    "cannot start the xz encoder (level %d, %u threads, %" PRIu64 "-byte blocks): %s",
                                    level, mt.threads, bs, lzma_strerror(lr));
        *block_size = bs;
        return 0;
}

int ps_save_pack(const char *layout_dir, const char *arch, const ps_digest *blobs, size_t n,
                 const char *out_path, const ps_xz_opts *xz, ps_save_progress_fn progress,
                 void *progress_ctx, ps_digest *sha256, uint64_t *size, uint64_t *tar_size,
                 uint64_t *blocks, ps_error *err)
{
        int64_t mtime = xz ? xz->mtime : 0;
        struct xzout x = { .fd = -1, .path = out_path, .strm = LZMA_STREAM_INIT, .err = err,
                           .progress = progress, .progress_ctx = progress_ctx, .arch = arch };
        struct archive *a = NULL;
        _cleanup_free_ char *buf = malloc(IO_BLOCK);
        _cleanup_free_ char *blobdir = NULL, *name = NULL;
        bool created = false, lz = false;
        uint64_t bs = 0;
        int r;
        x.cap = IO_BLOCK;
        x.buf = malloc(x.cap);
        blobdir = ps_path_join(layout_dir, "blobs/sha256");
        if (!buf || !x.buf || !blobdir) {
                r = ps_error_errno(err, ENOMEM, "packing %s", out_path);
                goto out;
        }
        /* the tar size, for progress */
        x.total = 0;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = ps_path_join(blobdir, ps_digest_hex(&blobs[i]));
                struct stat st;
                if (!p) {
                        r = ps_error_errno(err, ENOMEM, "packing %s", out_path);
                        goto out;
                }
                if (lstat(p, &st) < 0) {
                        r = ps_error_errno(err, errno, "blob %s", p);
                        goto out;
                }
                x.total += 512 + (((uint64_t)st.st_size + 511) & ~(uint64_t)511);
        }
        if ((r = ps_sha256_new(&x.h, err)) < 0)
                goto out;
        x.fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (x.fd < 0) {
                r = ps_error_errno(err, errno, "creating %s", out_path);
                goto out;
        }
        created = true;
        if ((r = xz_init(&x, xz, &bs)) < 0)
                goto out;
        lz = true;
        a = archive_write_new();
        if (!a) {
                r = ps_error_errno(err, ENOMEM, "tar writer");
                goto out;
        }
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_add_filter_none(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open(a, &x, NULL, tar_write_cb, NULL) != ARCHIVE_OK) {
                r = tar_fail(a, &x, "starting the tar stream");
                goto out;
        }
        static const char *const meta[] = { "oci-layout", "index.json" };
        if ((r = tar_dir(a, &x, arch, mtime)) < 0)
                goto out;
        for (size_t i = 0; i < PS_ARRAY_SIZE(meta); i++) {
                _cleanup_free_ char *src = ps_path_join(layout_dir, meta[i]);
                free(name);
                if (asprintf(&name, "%s/%s", arch, meta[i]) < 0)
                        name = NULL;
                if (!src || !name) {
                        r = ps_error_errno(err, ENOMEM, "packing %s", out_path);
                        goto out;
                }
                if ((r = tar_file(a, &x, src, name, NULL, mtime, buf)) < 0)
                        goto out;
        }
        free(name);
        if (asprintf(&name, "%s/blobs", arch) < 0 || (r = tar_dir(a, &x, name, mtime)) < 0) {
                if (r >= 0)
                        r = ps_error_errno(err, ENOMEM, "packing");
                name = NULL;
                goto out;
        }
        free(name);
        if (asprintf(&name, "%s/blobs/sha256", arch) < 0 || (r = tar_dir(a, &x, name, mtime)) < 0) {
                if (r >= 0)
                        r = ps_error_errno(err, ENOMEM, "packing");
                name = NULL;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *src = ps_path_join(blobdir, ps_digest_hex(&blobs[i]));
                free(name);
                if (asprintf(&name, "%s/blobs/sha256/%s", arch, ps_digest_hex(&blobs[i])) < 0)
                        name = NULL;
                if (!src || !name) {
                        r = ps_error_errno(err, ENOMEM, "packing %s", out_path);
                        goto out;
                }
                if ((r = tar_file(a, &x, src, name, &blobs[i], mtime, buf)) < 0)
                        goto out;
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                r = tar_fail(a, &x, "finishing the tar stream");
                goto out;
        }
        if ((r = xz_feed(&x, NULL, 0, LZMA_FINISH)) < 0)
                goto out;
        if (fsync(x.fd) < 0) {
                r = ps_error_errno(err, errno, "fsync %s", out_path);
                goto out;
        }
        ps_fault_point();
        ps_digest d;
        if ((r = ps_sha256_final(x.h, &d, err)) < 0)
                goto out;
        if (sha256)
                *sha256 = d;
        if (size)
                *size = x.out_bytes;
        if (tar_size)
                *tar_size = x.in_bytes;
        if (blocks)
                *blocks = (x.in_bytes + bs - 1) / bs;
        r = 0;
out:
        if (a)
                archive_write_free(a);
        if (lz)
                lzma_end(&x.strm);
        if (x.fd >= 0)
                close(x.fd);
        if (r < 0 && created)
                unlink(out_path);
        ps_sha256_free(x.h);
        free(x.buf);
        return r;
}

/* ---- the registry side ------------------------------------------------ */

struct regent {
        char *host;
        ps_registry *r;
};

struct job {
        const ps_save_opts *o;
        struct regent *regs;
        size_t n_regs;
        ps_error *err;
};

static int get_registry(struct job *j, const char *host, ps_registry **out)
{
        for (size_t i = 0; i < j->n_regs; i++)
                if (strcmp(j->regs[i].host, host) == 0) {
                        *out = j->regs[i].r;
                        return 0;
                }
        ps_registry_opts ro = { 0 };
        if (j->o->registry_opts)
                ro = *j->o->registry_opts;
        ro.insecure = j->o->insecure ? j->o->insecure(j->o->insecure_ctx, host) : false;
        struct regent *nr = realloc(j->regs, (j->n_regs + 1) * sizeof(*nr));
        if (!nr)
                return ps_error_errno(j->err, ENOMEM, "registry");
        j->regs = nr;
        ps_registry *r = NULL;
        /* Docker Hub's API is not served on its reference domain */
        const char *api = !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ? "registry-1.docker.io" : host;
        int ret = ps_registry_new(api, &ro, &r, j->err);
        if (ret < 0)
                return ret;
        nr[j->n_regs].host = strdup(host);
        if (!nr[j->n_regs].host) {
                ps_registry_free(r);
                return ps_error_errno(j->err, ENOMEM, "registry");
        }
        nr[j->n_regs].r = r;
        j->n_regs++;
        *out = r;
        return 0;
}

struct membuf {
        char *p;
        size_t len, max;
};

static int mem_sink(void *ctx, const void *buf, size_t n)
{
        struct membuf *m = ctx;
        if (n > m->max - m->len)
                return -EFBIG;
        char *np = realloc(m->p, m->len + n + 1);
        if (!np)
                return -ENOMEM;
        m->p = np;
        memcpy(m->p + m->len, buf, n);
        m->len += n;
        m->p[m->len] = '\0';
        return 0;
}

/* One image resolved for one architecture. */
struct resolved {
        ps_manifest *m;                 /* the source manifest for this arch */
        ps_image_config *cfg;
        ps_digest top;                  /* what the tag (or pinned digest) named */
};

static const char *norm_arch(const char *a)
{
        if (!a)
                return "";
        if (strcmp(a, "x86_64") == 0)
                return "amd64";
        if (strcmp(a, "aarch64") == 0)
                return "arm64";
        return a;
}

/* fetch a manifest (by tag or digest) and, through indexes, the one for
 * ARCH; then its config */
static int resolve(struct job *j, const ps_save_ref *img, const char *arch, struct resolved *out)
{
        ps_error *err = j->err;
        ps_registry *reg;
        int r = get_registry(j, img->host, &reg);
        if (r < 0)
                return r;
        _cleanup_free_ char *ref = strdup(img->ref);
        _cleanup_free_ char *mt_want = NULL;   /* media type a parent index gave */
        if (!ref)
                return ps_error_errno(err, ENOMEM, "resolve");
        int64_t want_size = -1;
        for (int depth = 0;; depth++) {
                ps_registry_manifest rm = { 0 };
                r = ps_registry_manifest_get(reg, img->repo, ref, NULL, &rm, err);
                if (r < 0)
                        return r;
                if (depth == 0 && ps_digest_parse(rm.digest, &out->top, NULL) < 0) {
                        ps_digest_buffer(rm.data, rm.len, &out->top, NULL);
                }
                if (want_size >= 0 && (int64_t)rm.len != want_size) {
                        r = ps_error_set(err, EBADMSG, "manifest %s of %s/%s: %zu bytes, its index says %" PRId64,
                                         ref, img->host, img->repo, rm.len, want_size);
                        ps_registry_manifest_free(&rm);
                        return r;
                }
                const char *mt = mt_want ? mt_want : rm.media_type;
                ps_oci_kind k = ps_oci_kind_of(mt);
                if (k == PS_OCI_UNKNOWN)
                        k = ps_oci_detect(rm.data, rm.len);
                if (ps_oci_kind_is_index(k)) {
                        ps_index *idx = NULL;
                        r = ps_index_parse(rm.data, rm.len, ps_oci_media_type(k), &idx, err);
                        ps_registry_manifest_free(&rm);
                        if (r < 0)
                                return ps_error_wrap(err, "index %s of %s/%s", ref, img->host, img->repo);
                        if (depth >= 3) {
                                ps_index_free(idx);
                                return ps_error_set(err, ELOOP, "%s/%s:%s: image indexes nested too deeply",
                                                    img->host, img->repo, img->ref);
                        }
                        int i = ps_index_select(idx, "linux", arch, NULL, err);
                        if (i < 0) {
                                ps_index_free(idx);
                                return ps_error_wrap(err, "%s/%s:%s", img->host, img->repo, img->ref);
                        }
                        free(ref);
                        free(mt_want);
                        ref = strdup(idx->manifests[i].digest.str);
                        mt_want = strdup(idx->manifests[i].media_type);
                        want_size = idx->manifests[i].size;
                        ps_index_free(idx);
                        if (!ref || !mt_want)
                                return ps_error_errno(err, ENOMEM, "resolve");
                        continue;
                }
                if (k == PS_OCI_DOCKER_V1) {
                        ps_registry_manifest_free(&rm);
                        return ps_error_set(err, ENOTSUP,
                                            "%s/%s:%s is a Docker schema 1 image, which cannot be saved "
                                            "(it has no image config and no content digests)",
                                            img->host, img->repo, img->ref);
                }
                r = ps_manifest_parse(rm.data, rm.len, k == PS_OCI_UNKNOWN ? NULL : ps_oci_media_type(k),
                                      &out->m, err);
                ps_registry_manifest_free(&rm);
                if (r < 0)
                        return ps_error_wrap(err, "manifest %s of %s/%s", ref, img->host, img->repo);
                break;
        }
        /* the config */
        const ps_descriptor *cd = &out->m->config;
        if (cd->size < 0 || (uint64_t)cd->size > PS_OCI_MAX_CONFIG)
                return ps_error_set(err, EFBIG, "%s/%s: config %s is %" PRId64 " bytes (at most %u)", img->host,
                                    img->repo, cd->digest.str, cd->size, PS_OCI_MAX_CONFIG);
        struct membuf mb = { .max = (size_t)cd->size };
        r = ps_registry_blob_get(reg, img->repo, cd->digest.str, mem_sink, &mb, NULL, err);
        if (r >= 0 && mb.len != (size_t)cd->size)
                r = ps_error_set(err, EBADMSG, "%s/%s: config %s is %zu bytes, its manifest says %" PRId64,
                                 img->host, img->repo, cd->digest.str, mb.len, cd->size);
        if (r >= 0) {
                r = ps_image_config_parse(mb.p ? mb.p : "", mb.len, &out->cfg, err);
                if (r < 0)
                        ps_error_wrap(err, "%s/%s: config %s", img->host, img->repo, cd->digest.str);
        }
        free(mb.p);
        if (r < 0)
                return r;
        if (strcmp(norm_arch(out->cfg->architecture), arch) != 0 ||
            (out->cfg->os && strcmp(out->cfg->os, "linux") != 0))
                return ps_error_set(err, ENOENT,
                                    "%s/%s:%s has no image for linux/%s (its config says %s/%s)", img->host,
                                    img->repo, img->ref, arch, out->cfg->os ? out->cfg->os : "?",
                                    out->cfg->architecture ? out->cfg->architecture : "?");
        if (out->cfg->n_diff_ids != out->m->n_layers)
                return ps_error_set(err, EINVAL, "%s/%s:%s: the manifest has %zu layers but the config lists %zu diff_ids",
                                    img->host, img->repo, img->ref, out->m->n_layers, out->cfg->n_diff_ids);
        for (size_t i = 0; i < out->m->n_layers; i++) {
                const char *lmt = out->m->layers[i].media_type;
                if (strstr(lmt, "encrypted"))
                        return ps_error_set(err, ENOTSUP, "%s/%s:%s: layer %zu is encrypted (%s)", img->host,
                                            img->repo, img->ref, i + 1, lmt);
                if (strstr(lmt, "nondistributable") || strstr(lmt, "foreign"))
                        return ps_error_set(err, ENOTSUP,
                                            "%s/%s:%s: layer %zu is non-distributable (%s) and cannot be saved",
                                            img->host, img->repo, img->ref, i + 1, lmt);
        }
        return 0;
}

static void resolved_clear(struct resolved *rs)
{
        ps_manifest_free(rs->m);
        ps_image_config_free(rs->cfg);
        memset(rs, 0, sizeof(*rs));
}

/* kinds of layer media types */
static int layer_kind(const char *mt)
{
        if (!strcmp(mt, PS_MT_OCI_LAYER) || !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar"))
                return 0;       /* uncompressed */
        if (!strcmp(mt, PS_MT_OCI_LAYER_GZIP) || !strcmp(mt, PS_MT_DOCKER_LAYER_GZIP) ||
            !strcmp(mt, PS_MT_OCI_LAYER_ZSTD))
                return 1;
        return -1;
}

struct blobent {
        ps_digest d;
        int64_t size;
        int kind;               /* 0 manifest, 1 config, 2 layer */
};

struct archstate {
        const char *arch;
        char *layout;           /* DIR/<arch> */
        char *blobdir;          /* DIR/<arch>/blobs/sha256 */
        char *work;             /* DIR/.work-<arch> */
        struct blobent *blobs;
        size_t n_blobs;
};

static struct blobent *find_blob(struct archstate *as, const ps_digest *d)
{
        for (size_t i = 0; i < as->n_blobs; i++)
                if (ps_digest_equal(&as->blobs[i].d, d))
                        return &as->blobs[i];
        return NULL;
}

static int add_blob(struct archstate *as, const ps_digest *d, int64_t size, int kind, ps_error *err)
{
        if (find_blob(as, d))
                return 0;
        struct blobent *nb = realloc(as->blobs, (as->n_blobs + 1) * sizeof(*nb));
        if (!nb)
                return ps_error_errno(err, ENOMEM, "blob list");
        as->blobs = nb;
        nb[as->n_blobs++] = (struct blobent){ .d = *d, .size = size, .kind = kind };
        return 0;
}

struct filesink {
        int fd;
        uint64_t got, limit;
        struct job *j;
        ps_save_event ev;
};

static int file_sink(void *ctx, const void *buf, size_t n)
{
        struct filesink *fs = ctx;
        if (n > fs->limit - fs->got)
                return -EFBIG;
        int r = write_all(fs->fd, buf, n);
        if (r < 0)
                return r;
        fs->got += n;
        if (fs->j->o->progress) {
                fs->ev.done = fs->got;
                fs->j->o->progress(fs->j->o->progress_ctx, &fs->ev);
        }
        return 0;
}

/* download layer L of IMG and store its uncompressed form as blob DIFF */
static int fetch_layer(struct job *j, struct archstate *as, const ps_save_ref *img, ps_registry *reg,
                       const ps_descriptor *l, const ps_digest *diff, size_t li, size_t nl, size_t ii,
                       size_t ni, uint64_t *usize, uint64_t *downloaded)
{
        ps_error *err = j->err;
        int kind = layer_kind(l->media_type);
        if (kind < 0)
                return ps_error_set(err, ENOTSUP, "%s/%s:%s: layer %zu has media type %s, which podsec cannot save",
                                    img->host, img->repo, img->ref, li, l->media_type);
        if (kind == 0 && !ps_digest_equal(&l->digest, diff))
                return ps_error_set(err, EBADMSG,
                                    "%s/%s:%s: layer %zu is uncompressed but its digest %s is not the config's "
                                    "diff_id %s", img->host, img->repo, img->ref, li, l->digest.str, diff->str);
        _cleanup_free_ char *tmp_u = ps_path_join(as->blobdir, ".partial-XXXXXX");
        _cleanup_free_ char *tmp_c = ps_path_join(as->work, "layer-XXXXXX");
        _cleanup_free_ char *final = ps_path_join(as->blobdir, ps_digest_hex(diff));
        if (!tmp_u || !tmp_c || !final)
                return ps_error_errno(err, ENOMEM, "layer");
        _cleanup_close_ int ufd = mkostemp(tmp_u, O_CLOEXEC);
        if (ufd < 0)
                return ps_error_errno(err, errno, "creating %s", tmp_u);
        int r;
        if (fchmod(ufd, 0644) < 0) {
                r = ps_error_errno(err, errno, "chmod %s", tmp_u);
                goto fail;
        }
        struct filesink fs = { .j = j, .limit = (uint64_t)l->size,
                               .ev = { .kind = PS_SAVE_BYTES, .arch = as->arch, .image = img->name,
                                       .image_index = ii, .n_images = ni, .layer = li, .n_layers = nl,
                                       .total = (uint64_t)l->size } };
        if (kind == 0) {
                fs.fd = ufd;
                r = ps_registry_blob_get(reg, img->repo, l->digest.str, file_sink, &fs, NULL, err);
                if (r < 0)
                        goto fail;
                *usize = fs.got;
        } else {
                _cleanup_close_ int cfd = mkostemp(tmp_c, O_CLOEXEC);
                if (cfd < 0) {
                        r = ps_error_errno(err, errno, "creating %s", tmp_c);
                        goto fail;
                }
                unlink(tmp_c);  /* anonymous from now on */
                fs.fd = cfd;
                r = ps_registry_blob_get(reg, img->repo, l->digest.str, file_sink, &fs, NULL, err);
                if (r < 0)
                        goto fail;
                if (lseek(cfd, 0, SEEK_SET) < 0) {
                        r = ps_error_errno(err, errno, "rewinding %s", tmp_c);
                        goto fail;
                }
                ps_digest got;
                r = ps_save_decompress(cfd, ufd, -1, &got, usize, err);
                if (r < 0) {
                        ps_error_wrap(err, "%s/%s:%s: layer %zu (%s)", img->host, img->repo, img->ref, li,
                                      l->digest.str);
                        goto fail;
                }
                if (!ps_digest_equal(&got, diff)) {
                        r = ps_error_set(err, EBADMSG,
                                         "%s/%s:%s: layer %zu (%s) uncompresses to %s, but the config's diff_id "
                                         "is %s", img->host, img->repo, img->ref, li, l->digest.str, got.str,
                                         diff->str);
                        goto fail;
                }
        }
        if ((uint64_t)l->size != fs.got) {
                r = ps_error_set(err, EBADMSG, "%s/%s: blob %s is %" PRIu64 " bytes, its manifest says %" PRId64,
                                 img->host, img->repo, l->digest.str, fs.got, l->size);
                goto fail;
        }
        if (rename(tmp_u, final) < 0) {
                r = ps_error_errno(err, errno, "renaming %s to %s", tmp_u, final);
                goto fail;
        }
        *downloaded += fs.got;
        return 0;
fail:
        unlink(tmp_u);
        return r;
}

static int platform_of(const ps_image_config *cfg, ps_descriptor *d, ps_error *err)
{
        ps_platform *p = calloc(1, sizeof(*p));
        if (!p)
                return ps_error_errno(err, ENOMEM, "platform");
        d->platform = p;
        p->architecture = strdup(norm_arch(cfg->architecture));
        p->os = strdup(cfg->os ? cfg->os : "linux");
        if (cfg->variant)
                p->variant = strdup(cfg->variant);
        if (!p->architecture || !p->os || (cfg->variant && !p->variant))
                return ps_error_errno(err, ENOMEM, "platform");
        return 0;
}

static int fill_result(ps_save_image_result *ir, const ps_save_ref *img, const struct resolved *rs)
{
        ir->name = strdup(img->name);
        if (asprintf(&ir->source, "docker://%s/%s%s%s", img->host, img->repo, img->digest ? "@" : ":",
                     img->ref) < 0)
                ir->source = NULL;
        ir->source_digest = rs->top;
        ir->source_manifest = rs->m->digest;
        ir->config = rs->cfg->digest;
        ir->architecture = strdup(norm_arch(rs->cfg->architecture));
        ir->os = strdup(rs->cfg->os ? rs->cfg->os : "linux");
        ir->variant = rs->cfg->variant ? strdup(rs->cfg->variant) : NULL;
        ir->n_layers = rs->m->n_layers;
        if (!ir->name || !ir->source || !ir->architecture || !ir->os || (rs->cfg->variant && !ir->variant))
                return -ENOMEM;
        return 0;
}

/* Download and write DIR/<arch>/, then pack it. */
static int save_arch(struct job *j, const char *arch, struct resolved *rs, ps_save_archive *ar)
{
        const ps_save_opts *o = j->o;
        ps_error *err = j->err;
        struct archstate as = { .arch = arch };
        ps_descriptor *descs = calloc(o->n_images ? o->n_images : 1, sizeof(*descs));
        _cleanup_free_ char *tmp_archive = NULL, *final = NULL, *index = NULL;
        _cleanup_free_ ps_digest *order = NULL;
        int64_t *sizes = NULL;
        int r;
        as.layout = ps_path_join(o->dir, arch);
        as.blobdir = as.layout ? ps_path_join(as.layout, "blobs/sha256") : NULL;
        if (asprintf(&as.work, "%s/.work-%s", o->dir, arch) < 0)
                as.work = NULL;
        if (asprintf(&tmp_archive, "%s/.%s.tar.xz.partial", o->dir, arch) < 0)
                tmp_archive = NULL;
        if (asprintf(&final, "%s/%s.tar.xz", o->dir, arch) < 0)
                final = NULL;
        if (!descs || !as.layout || !as.blobdir || !as.work || !tmp_archive || !final) {
                r = ps_error_errno(err, ENOMEM, "saving %s", arch);
                goto out;
        }
        if (mkdir(as.layout, 0755) < 0) {
                r = ps_error_errno(err, errno, "creating %s", as.layout);
                goto out;
        }
        if ((r = ps_mkdir_p(as.blobdir, 0755, err)) < 0)
                goto out;
        if (mkdir(as.work, 0700) < 0) {
                r = ps_error_errno(err, errno, "creating %s", as.work);
                goto out;
        }
        ar->images = calloc(o->n_images ? o->n_images : 1, sizeof(*ar->images));
        ar->arch = strdup(arch);
        if (!ar->images || !ar->arch) {
                r = ps_error_errno(err, ENOMEM, "saving %s", arch);
                goto out;
        }
        for (size_t ii = 0; ii < o->n_images; ii++) {
                const ps_save_ref *img = &o->images[ii];
                struct resolved *rv = &rs[ii];
                ps_save_image_result *ir = &ar->images[ii];
                ar->n_images = ii + 1;
                if (fill_result(ir, img, rv) < 0) {
                        r = ps_error_errno(err, ENOMEM, "result");
                        goto out;
                }
                if (o->progress) {
                        ps_save_event ev = { .kind = PS_SAVE_IMAGE, .arch = arch, .image = img->name,
                                             .image_index = ii, .n_images = o->n_images,
                                             .n_layers = rv->m->n_layers };
                        o->progress(o->progress_ctx, &ev);
                }
                ps_registry *reg;
                if ((r = get_registry(j, img->host, &reg)) < 0)
                        goto out;
                /* config: exactly the bytes fetched */
                if ((r = put_blob(as.blobdir, &rv->cfg->digest, rv->cfg->raw, rv->cfg->raw_len, err)) < 0 ||
                    (r = add_blob(&as, &rv->cfg->digest, (int64_t)rv->cfg->raw_len, 1, err)) < 0)
                        goto out;
                free(sizes);
                sizes = calloc(rv->m->n_layers ? rv->m->n_layers : 1, sizeof(*sizes));
                if (!sizes) {
                        r = ps_error_errno(err, ENOMEM, "layers");
                        goto out;
                }
                for (size_t li = 0; li < rv->m->n_layers; li++) {
                        const ps_digest *diff = &rv->cfg->diff_ids[li];
                        struct blobent *have = find_blob(&as, diff);
                        if (have) {
                                sizes[li] = have->size;
                        } else {
                                uint64_t us = 0;
                                r = fetch_layer(j, &as, img, reg, &rv->m->layers[li], diff, li + 1,
                                                rv->m->n_layers, ii, o->n_images, &us, &ir->downloaded);
                                if (r < 0)
                                        goto out;
                                sizes[li] = (int64_t)us;
                                if ((r = add_blob(&as, diff, (int64_t)us, 2, err)) < 0)
                                        goto out;
                        }
                        ir->layer_bytes += (uint64_t)sizes[li];
                }
                _cleanup_(ps_manifest_freep) ps_manifest *nm = NULL;
                r = ps_manifest_uncompress_layers(rv->m, rv->cfg, sizes, &nm, err);
                if (r < 0) {
                        ps_error_wrap(err, "%s", img->name);
                        goto out;
                }
                if ((r = put_blob(as.blobdir, &nm->digest, nm->raw, nm->raw_len, err)) < 0 ||
                    (r = add_blob(&as, &nm->digest, (int64_t)nm->raw_len, 0, err)) < 0)
                        goto out;
                ir->manifest = nm->digest;
                if ((r = ps_manifest_descriptor(nm, &descs[ii], err)) < 0 ||
                    (r = platform_of(rv->cfg, &descs[ii], err)) < 0 ||
                    (r = ps_descriptor_annotate(&descs[ii], PS_OCI_REF_NAME, img->name, err)) < 0)
                        goto out;
        }
        /* the layout files */
        size_t ilen = 0;
        if ((r = ps_index_build(descs, o->n_images, &index, &ilen, err)) < 0)
                goto out;
        {
                _cleanup_free_ char *ip = ps_path_join(as.layout, "index.json");
                _cleanup_free_ char *lp = ps_path_join(as.layout, "oci-layout");
                static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
                if (!ip || !lp) {
                        r = ps_error_errno(err, ENOMEM, "layout");
                        goto out;
                }
                if ((r = ps_create_excl(lp, layout, sizeof(layout) - 1, 0644, err)) < 0 ||
                    (r = ps_create_excl(ip, index, ilen, 0644, err)) < 0)
                        goto out;
        }
        /* pack: manifests, configs, then layers, each in first-use order */
        order = calloc(as.n_blobs ? as.n_blobs : 1, sizeof(*order));
        if (!order) {
                r = ps_error_errno(err, ENOMEM, "blob list");
                goto out;
        }
        size_t k = 0;
        for (int kind = 0; kind <= 2; kind++)
                for (size_t i = 0; i < as.n_blobs; i++)
                        if (as.blobs[i].kind == kind)
                                order[k++] = as.blobs[i].d;
        rm_tree(as.work);
        ps_xz_opts xz = { .level = o->level, .threads = o->threads, .block_size = o->block_size,
                          .mtime = o->mtime };
        r = ps_save_pack(as.layout, arch, order, k, tmp_archive, &xz, o->progress, o->progress_ctx,
                         &ar->sha256, &ar->size, &ar->tar_size, &ar->blocks, err);
        if (r < 0)
                goto out;
        if (rename(tmp_archive, final) < 0) {
                r = ps_error_errno(err, errno, "renaming %s to %s", tmp_archive, final);
                unlink(tmp_archive);
                goto out;
        }
        ps_fsync_dir(o->dir);
        ps_fault_point();
        ar->path = steal_pointer(&final);
        if (!o->keep_layout)
                rm_tree(as.layout);
        if (o->progress) {
                ps_save_event ev = { .kind = PS_SAVE_ARCHIVE_DONE, .arch = arch, .path = ar->path,
                                     .done = ar->size, .total = ar->tar_size };
                o->progress(o->progress_ctx, &ev);
        }
        r = 0;
out:
        if (r < 0) {
                rm_tree(as.layout);
                if (tmp_archive)
                        unlink(tmp_archive);
        }
        if (as.work)
                rm_tree(as.work);
        for (size_t i = 0; descs && i < o->n_images; i++)
                ps_descriptor_clear(&descs[i]);
        free(descs);
        free(sizes);
        free(as.layout);
        free(as.blobdir);
        free(as.work);
        free(as.blobs);
        return r;
}

static void archive_result_clear(ps_save_archive *a)
{
        free(a->arch);
        free(a->path);
        for (size_t i = 0; a->images && i < a->n_images; i++) {
                ps_save_image_result *ir = &a->images[i];
                free(ir->name);
                free(ir->source);
                free(ir->architecture);
                free(ir->os);
                free(ir->variant);
        }
        free(a->images);
        memset(a, 0, sizeof(*a));
}

void ps_save_result_free(ps_save_result *res)
{
        if (!res)
                return;
        for (size_t i = 0; i < res->n_archives; i++)
                archive_result_clear(&res->archives[i]);
        free(res->archives);
        memset(res, 0, sizeof(*res));
}

int ps_save_check_dir(const char *dir, ps_error *err)
{
        struct stat st;
        if (!dir || !*dir)
                return ps_error_set(err, EINVAL, "no output directory given");
        if (lstat(dir, &st) == 0)
                return ps_error_set(err, EEXIST, "%s already exists (the output directory must be new)", dir);
        if (errno != ENOENT)
                return ps_error_errno(err, errno, "%s", dir);
        _cleanup_free_ char *parent = strdup(dir);
        if (!parent)
                return ps_error_errno(err, ENOMEM, "%s", dir);
        size_t l = strlen(parent);
        while (l > 1 && parent[l - 1] == '/')
                parent[--l] = '\0';
        char *slash = strrchr(parent, '/');
        const char *p = slash ? (slash == parent ? "/" : (*slash = '\0', parent)) : ".";
        if (stat(p, &st) < 0)
                return ps_error_errno(err, errno, "the parent directory %s of %s", p, dir);
        if (!S_ISDIR(st.st_mode))
                return ps_error_set(err, ENOTDIR, "the parent %s of %s is not a directory", p, dir);
        return 0;
}

int ps_save_run(const ps_save_opts *o, ps_save_result *res, ps_error *err)
{
        memset(res, 0, sizeof(*res));
        struct job j = { .o = o, .err = err };
        size_t na = 0;
        while (o->archs && o->archs[na])
                na++;
        if (na == 0 || o->n_images == 0)
                return ps_error_set(err, EINVAL, "nothing to save (no architecture or no image)");
        for (size_t i = 0; i < o->n_images; i++)
                for (size_t k = 0; k < i; k++)
                        if (strcmp(o->images[i].name, o->images[k].name) == 0)
                                return ps_error_set(err, EINVAL, "image %s is given twice (as %s and %s)",
                                                    o->images[i].name, o->images[k].given, o->images[i].given);
        int r = ps_save_check_dir(o->dir, err);
        if (r < 0)
                return r;
        r = ps_registry_global_init(err);
        if (r < 0)
                return r;
        struct resolved *rs = calloc(na * o->n_images, sizeof(*rs));
        res->archives = calloc(na, sizeof(*res->archives));
        if (!rs || !res->archives) {
                free(rs);
                return ps_error_errno(err, ENOMEM, "save");
        }
        /* 1. resolve everything before anything is created */
        for (size_t a = 0; a < na && r >= 0; a++) {
                for (size_t i = 0; i < o->n_images && r >= 0; i++) {
                        if (o->progress) {
                                ps_save_event ev = { .kind = PS_SAVE_RESOLVE, .arch = o->archs[a],
                                                     .image = o->images[i].name, .image_index = i,
                                                     .n_images = o->n_images };
                                o->progress(o->progress_ctx, &ev);
                        }
                        r = resolve(&j, &o->images[i], o->archs[a], &rs[a * o->n_images + i]);
                }
        }
        if (r >= 0 && o->dry_run) {
                for (size_t a = 0; a < na && r >= 0; a++) {
                        ps_save_archive *ar = &res->archives[a];
                        res->n_archives = a + 1;
                        ar->arch = strdup(o->archs[a]);
                        ar->images = calloc(o->n_images, sizeof(*ar->images));
                        if (!ar->arch || !ar->images) {
                                r = ps_error_errno(err, ENOMEM, "save");
                                break;
                        }
                        for (size_t i = 0; i < o->n_images && r >= 0; i++) {
                                ar->n_images = i + 1;
                                if (fill_result(&ar->images[i], &o->images[i], &rs[a * o->n_images + i]) < 0)
                                        r = ps_error_errno(err, ENOMEM, "save");
                        }
                }
                goto out;
        }
        if (r < 0)
                goto out;
        /* 2. per architecture: download, write, pack */
        if (mkdir(o->dir, 0755) < 0) {
                r = ps_error_errno(err, errno, "creating %s", o->dir);
                goto out;
        }
        res->created_dir = true;
        for (size_t a = 0; a < na; a++) {
                r = save_arch(&j, o->archs[a], &rs[a * o->n_images], &res->archives[res->n_archives]);
                if (r < 0) {
                        archive_result_clear(&res->archives[res->n_archives]);
                        break;
                }
                res->n_archives++;
                for (size_t i = 0; i < o->n_images; i++)
                        resolved_clear(&rs[a * o->n_images + i]);
        }
        if (r < 0 && res->n_archives == 0 && rmdir(o->dir) == 0)
                res->created_dir = false;
out:
        for (size_t i = 0; i < na * o->n_images; i++)
                resolved_clear(&rs[i]);
        free(rs);
        for (size_t i = 0; i < j.n_regs; i++) {
                ps_registry_free(j.regs[i].r);
                free(j.regs[i].host);
        }
        free(j.regs);
        return r;
}
