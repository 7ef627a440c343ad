/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ocisave: argument parsing (architectures, transports, image names), the
 * layer decompressor, the xz/tar packer (read back with ps-archive.h), the
 * output directory checks.  The registry side is covered by
 * tests/integration/image-save.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "oci.h"
#include "ocisave.h"
#include "ps-archive.h"

#define assert_msg(err, needle)                                                         \
        do {                                                                            \
                if (!(err).msg || !strstr((err).msg, (needle)))                         \
                        fail_msg("message \"%s\" lacks \"%s\"", (err).msg ? (err).msg : "(none)", \
                                 (needle));                                             \
        } while (0)

static char *joinv(char **v)
{
        size_t n = 1;
        for (char **p = v; p && *p; p++)
                n += strlen(*p) + 1;
        char *s = calloc(1, n);
        assert_non_null(s);
        for (char **p = v; p && *p; p++) {
                if (p != v)
                        strcat(s, " ");
                strcat(s, *p);
        }
        return s;
}

/* ---- architectures ---- */

static void test_archs(void **state)
{
        static const struct { const char *in, *want; } ok[] = {
                { "amd64", "amd64" },
                { "amd64,arm64", "amd64 arm64" },
                { "arm64 amd64", "arm64 amd64" },
                { "  ppc64le ,386 ", "ppc64le 386" },
                { "amd64,amd64", "amd64" },
                { "all", "amd64 arm64 arm ppc64le 386" },
                { "arm,all", "amd64 arm64 arm ppc64le 386" },
                { "386,arm,arm64,ppc64le,amd64", "386 arm arm64 ppc64le amd64" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ok); i++) {
                ps_error err = PS_ERROR_INIT;
                _cleanup_strv_ char **v = NULL;
                if (ps_save_parse_archs(ok[i].in, &v, &err) < 0)
                        fail_msg("%s: %s", ok[i].in, ps_error_msg(&err));
                _cleanup_free_ char *got = joinv(v);
                assert_string_equal(got, ok[i].want);
        }
        static const struct { const char *in, *msg; } bad[] = {
                { "", "no architecture" },
                { "   ", "no architecture" },
                { ",", "empty entry" },
                { "amd64,", "empty entry" },
                { ",amd64", "empty entry" },
                { "amd64,,arm64", "empty entry" },
                { "sparc", "unknown architecture \"sparc\"" },
                { "amd64,sparc", "unknown architecture \"sparc\"" },   /* D16: every entry */
                { "amd64,arm64,mips", "\"mips\"" },
                { "AMD64", "unknown architecture" },
                { "x86_64", "unknown architecture" },
                { "arm/v7", "unknown architecture" },
                { "amd64;rm -rf", "unknown architecture" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                ps_error err = PS_ERROR_INIT;
                char **v = NULL;
                if (ps_save_parse_archs(bad[i].in, &v, &err) != -EINVAL)
                        fail_msg("\"%s\" accepted", bad[i].in);
                assert_null(v);
                assert_msg(err, bad[i].msg);
                ps_error_clear(&err);
        }
}

/* ---- transports ---- */

static void test_is_transport(void **state)
{
        static const struct { const char *in; bool want; } t[] = {
                { "", true },
                { "docker://", true },
                { "docker://registry.altlinux.org", true },
                { "containers-storage:[share/usernetes/images/c10f/amd64]", true },
                { "oci:/tmp/x", true },
                { "oci-archive:/tmp/x.tar", true },
                { "docker-archive:/x", true },
                { "dir:/x", true },
                { "c10f/pause:3.9", false },
                { "registry.local/c10f/pause:3.9", false },
                { "docker:foo", false },
                { "dockerx://x", false },
                { "pause", false },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++)
                if (ps_save_is_transport(t[i].in) != t[i].want)
                        fail_msg("\"%s\": expected %d", t[i].in, t[i].want);
}

static void test_transport(void **state)
{
        static const struct { const char *in, *host, *prefix; } ok[] = {
                { "", NULL, NULL },
                { "docker://", NULL, NULL },
                { "docker://registry.altlinux.org", "registry.altlinux.org", NULL },
                { "docker://registry.altlinux.org/", "registry.altlinux.org", NULL },
                { "docker://127.0.0.1:5000", "127.0.0.1:5000", NULL },
                { "docker://localhost", "localhost", NULL },
                { "docker://localhost:5000/c10f", "localhost:5000", "c10f" },
                { "docker://reg.io/a/b/", "reg.io", "a/b" },
                { "docker://reg.io//a", "reg.io", "a" },
                { "docker://[::1]:5000", "[::1]:5000", NULL },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ok); i++) {
                ps_error err = PS_ERROR_INIT;
                ps_save_source s;
                if (ps_save_parse_transport(ok[i].in, &s, &err) < 0)
                        fail_msg("%s: %s", ok[i].in, ps_error_msg(&err));
                if (ok[i].host)
                        assert_string_equal(s.host, ok[i].host);
                else
                        assert_null(s.host);
                if (ok[i].prefix)
                        assert_string_equal(s.prefix, ok[i].prefix);
                else
                        assert_null(s.prefix);
                ps_save_source_clear(&s);
        }
        static const struct { const char *in; int code; const char *msg; } bad[] = {
                { "containers-storage:[share/usernetes/images/c10f/amd64]", -ENOTSUP, "containers-storage" },
                { "oci:/tmp/layout", -ENOTSUP, "not supported" },
                { "docker-daemon:x", -ENOTSUP, "never reads a local image store" },
                { "docker:x", -EINVAL, "not a transport" },
                { "docker://c10f", -EINVAL, "not a registry host" },
                { "docker://c10f/pause", -EINVAL, "not a registry host" },
                { "docker://bad_host.io", -EINVAL, "not a registry host" },
                { "docker://reg.io/UPPER", -EINVAL, "repository path prefix" },
                { "docker://reg.io/a b", -EINVAL, "repository path prefix" },
                { "docker://reg.io/a/../b", -EINVAL, "repository path prefix" },
                { "https://reg.io", -EINVAL, "not a transport" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                ps_error err = PS_ERROR_INIT;
                ps_save_source s;
                int r = ps_save_parse_transport(bad[i].in, &s, &err);
                if (r != bad[i].code)
                        fail_msg("\"%s\": %d, expected %d (%s)", bad[i].in, r, bad[i].code, ps_error_msg(&err));
                assert_null(s.host);
                assert_msg(err, bad[i].msg);
                ps_error_clear(&err);
        }
}

/* ---- image names ---- */

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_ref(void **state)
{
        static const struct {
                const char *in, *host, *prefix;
                const char *name, *rhost, *repo, *ref, *digest;
        } ok[] = {
                { "c10f/pause:3.9", "registry.altlinux.org", NULL,
                  "c10f/pause:3.9", "registry.altlinux.org", "c10f/pause", "3.9", NULL },
                { "c10f/pause", "reg.io", NULL, "c10f/pause:latest", "reg.io", "c10f/pause", "latest", NULL },
                { "alt/distroless-base:p10", "reg.io", NULL,
                  "alt/distroless-base:p10", "reg.io", "alt/distroless-base", "p10", NULL },
                { "pause:3.9", "reg.io", NULL, "pause:3.9", "reg.io", "pause", "3.9", NULL },
                /* docker.io: the repository gets library/, the archive name stays as given */
                { "pause:3.9", "docker.io", NULL, "pause:3.9", "docker.io", "library/pause", "3.9", NULL },
                { "reg2.io:5000/c10f/x:1", "reg.io", NULL, "c10f/x:1", "reg2.io:5000", "c10f/x", "1", NULL },
                { "localhost/c10f/x:1", "reg.io", NULL, "c10f/x:1", "localhost", "c10f/x", "1", NULL },
                { "127.0.0.1:5000/a/b/c:v1.2", "reg.io", NULL, "a/b/c:v1.2", "127.0.0.1:5000", "a/b/c", "v1.2", NULL },
                { "pause:3.9", "reg.io", "c10f", "pause:3.9", "reg.io", "c10f/pause", "3.9", NULL },
                { "k8s/pause:3.9", "reg.io", "alt/c10f", "k8s/pause:3.9", "reg.io", "alt/c10f/k8s/pause", "3.9", NULL },
                { "c10f/p:1@sha256:" D64, "reg.io", NULL,
                  "c10f/p:1", "reg.io", "c10f/p", "sha256:" D64, "sha256:" D64 },
                { "reg.io:443/c10f/p:1@sha256:" D64, "other.io", NULL,
                  "c10f/p:1", "reg.io:443", "c10f/p", "sha256:" D64, "sha256:" D64 },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ok); i++) {
                ps_error err = PS_ERROR_INIT;
                ps_save_ref r;
                if (ps_save_ref_parse(ok[i].in, ok[i].host, ok[i].prefix, &r, &err) < 0)
                        fail_msg("%s: %s", ok[i].in, ps_error_msg(&err));
                assert_string_equal(r.given, ok[i].in);
                assert_string_equal(r.name, ok[i].name);
                assert_string_equal(r.host, ok[i].rhost);
                assert_string_equal(r.repo, ok[i].repo);
                assert_string_equal(r.ref, ok[i].ref);
                if (ok[i].digest)
                        assert_string_equal(r.digest, ok[i].digest);
                else
                        assert_null(r.digest);
                ps_save_ref_clear(&r);
        }
        static const struct { const char *in, *host; const char *msg; } bad[] = {
                { "", "reg.io", "empty image name" },
                { "c10f/p@sha256:" D64, "reg.io", "needs a tag" },
                { "C10F/pause:1", "reg.io", "lowercase" },
                { "c10f/pause:bad tag", "reg.io", "c10f/pause:bad tag" },
                { "c10f//pause", "reg.io", "invalid reference" },
                { "docker://reg.io/c10f/p:1", "reg.io", "give the transport once" },
                { "c10f/p:1@sha256:short", "reg.io", "c10f/p:1@sha256:short" },
                { "c10f/p", NULL, "no registry" },
                { "c10f/p", "", "no registry" },
                { "c10f/p:1\n", "reg.io", "\\x0a" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                ps_error err = PS_ERROR_INIT;
                ps_save_ref r;
                if (ps_save_ref_parse(bad[i].in, bad[i].host, NULL, &r, &err) >= 0)
                        fail_msg("\"%s\" accepted", bad[i].in);
                assert_null(r.name);
                assert_msg(err, bad[i].msg);
                ps_error_clear(&err);
        }
}

/* ---- scratch directories ---- */

static int rm_cb(const char *p, const struct stat *st, int f, struct FTW *w)
{
        (void)st;
        (void)w;
        return f == FTW_DP ? rmdir(p) : unlink(p);
}

static char *scratch(void)
{
        char *d = strdup("/tmp/test-ocisave.XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void rmrf(char *d)
{
        nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
        _cleanup_free_ char *p = ps_path_join(dir, name);
        assert_non_null(p);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

/* ---- decompression ---- */

/* DATA compressed with libarchive's FILTER (a raw stream, no tar) */
static char *compress_with(int filter, const void *data, size_t len, size_t *outlen)
{
        size_t cap = len + 65536, used = 0;
        char *buf = malloc(cap);
        assert_non_null(buf);
        struct archive *a = archive_write_new();
        assert_int_equal(archive_write_add_filter(a, filter), ARCHIVE_OK);
        assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
        assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "x");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
        archive_entry_free(e);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        *outlen = used;
        return buf;
}

static int memfd_with(const void *data, size_t len)
{
        char tmpl[] = "/tmp/test-ocisave-in.XXXXXX";
        int fd = mkostemp(tmpl, O_CLOEXEC);
        assert_true(fd >= 0);
        unlink(tmpl);
        if (len)
                assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void check_decompress(int filter, int want_compressed, const void *data, size_t len)
{
        size_t clen = len;
        _cleanup_free_ char *c = filter == ARCHIVE_FILTER_NONE ? NULL : compress_with(filter, data, len, &clen);
        _cleanup_close_ int in = memfd_with(c ? c : data, clen);
        _cleanup_close_ int out = memfd_with(NULL, 0);
        ps_error err = PS_ERROR_INIT;
        ps_digest got, want;
        uint64_t size = 0;
        if (ps_save_decompress(in, out, want_compressed, &got, &size, &err) < 0)
                fail_msg("filter %d: %s", filter, ps_error_msg(&err));
        assert_int_equal(ps_digest_buffer(data, len, &want, NULL), 0);
        assert_string_equal(got.str, want.str);
        assert_int_equal(size, len);
        ps_digest back;
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
        assert_int_equal(ps_digest_fd(out, &back, NULL, NULL), 0);
        assert_string_equal(back.str, want.str);
}

static void test_decompress(void **state)
{
        size_t len = 3 * 1024 * 1024 + 17;
        _cleanup_free_ char *data = malloc(len);
        assert_non_null(data);
        for (size_t i = 0; i < len; i++)
                data[i] = (char)((i * 7919) % 251 ^ (i >> 12));
        check_decompress(ARCHIVE_FILTER_GZIP, 1, data, len);
        check_decompress(ARCHIVE_FILTER_GZIP, -1, data, len);
        if (archive_libzstd_version())
                check_decompress(ARCHIVE_FILTER_ZSTD, 1, data, len);
        check_decompress(ARCHIVE_FILTER_NONE, 0, data, len);
        check_decompress(ARCHIVE_FILTER_NONE, -1, data, len);
        check_decompress(ARCHIVE_FILTER_NONE, -1, "", 0);
        check_decompress(ARCHIVE_FILTER_GZIP, 1, "", 0);

        /* labels that do not fit the content */
        ps_error err = PS_ERROR_INIT;
        ps_digest d;
        size_t clen;
        _cleanup_free_ char *gz = compress_with(ARCHIVE_FILTER_GZIP, data, len, &clen);
        {
                _cleanup_close_ int in = memfd_with(gz, clen), out = memfd_with(NULL, 0);
                assert_int_equal(ps_save_decompress(in, out, 0, &d, NULL, &err), -EINVAL);
                assert_msg(err, "labelled uncompressed but holds gzip");
                ps_error_clear(&err);
        }
        {
                _cleanup_close_ int in = memfd_with(data, 1000), out = memfd_with(NULL, 0);
                assert_int_equal(ps_save_decompress(in, out, 1, &d, NULL, &err), -EINVAL);
                assert_msg(err, "labelled compressed but is not gzip or zstd");
                ps_error_clear(&err);
        }
        /* bzip2 and xz are not layer compressions: passed through as data,
         * so a compressed label refuses them */
        size_t bzlen;
        _cleanup_free_ char *bz = compress_with(ARCHIVE_FILTER_BZIP2, data, 4096, &bzlen);
        {
                _cleanup_close_ int in = memfd_with(bz, bzlen), out = memfd_with(NULL, 0);
                assert_int_equal(ps_save_decompress(in, out, 1, &d, NULL, &err), -EINVAL);
                ps_error_clear(&err);
        }
        /* truncated and corrupted gzip */
        {
                _cleanup_close_ int in = memfd_with(gz, clen / 2), out = memfd_with(NULL, 0);
                assert_true(ps_save_decompress(in, out, 1, &d, NULL, &err) < 0);
                assert_msg(err, "layer");
                ps_error_clear(&err);
        }
        {
                size_t glen;
                _cleanup_free_ char *g = compress_with(ARCHIVE_FILTER_GZIP, data, len, &glen);
                for (size_t i = glen / 3; i < glen / 3 + 64; i++)
                        g[i] ^= 0x55;
                _cleanup_close_ int in = memfd_with(g, glen), out = memfd_with(NULL, 0);
                /* libarchive does not check gzip's CRC: either it fails, or the
                 * bytes differ, which the diff_id check catches */
                ps_digest want;
                ps_digest_buffer(data, len, &want, NULL);
                if (ps_save_decompress(in, out, 1, &d, NULL, &err) == 0)
                        assert_false(ps_digest_equal(&d, &want));
                ps_error_clear(&err);
        }
}

/* ---- packing ---- */

typedef struct layout {
        char *dir;
        ps_digest blobs[8];
        size_t n;
} layout;

static void add_blob(layout *l, const void *data, size_t len)
{
        ps_digest d;
        assert_int_equal(ps_digest_buffer(data, len, &d, NULL), 0);
        _cleanup_free_ char *bd = ps_path_join(l->dir, "blobs/sha256");
        assert_int_equal(ps_mkdir_p(bd, 0755, NULL), 0);
        write_file(bd, ps_digest_hex(&d), data, len);
        l->blobs[l->n++] = d;
}

/* a real little layout: one image, config + two layers */
static void make_layout(layout *l, size_t big)
{
        memset(l, 0, sizeof(*l));
        l->dir = scratch();
        _cleanup_free_ char *layer1 = malloc(big);
        assert_non_null(layer1);
        for (size_t i = 0; i < big; i++)
                layer1[i] = (char)(i % 97 == 0 ? (i * 31) >> 3 : 'a' + i % 26);
        static const char layer2[] = "second layer";
        ps_digest d1, d2;
        ps_digest_buffer(layer1, big, &d1, NULL);
        ps_digest_buffer(layer2, sizeof(layer2) - 1, &d2, NULL);
        _cleanup_free_ char *cfg = NULL, *man = NULL, *idx = NULL;
        assert_true(asprintf(&cfg, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                                   "\"diff_ids\":[\"%s\",\"%s\"]}}", d1.str, d2.str) > 0);
        ps_digest dc;
        ps_digest_buffer(cfg, strlen(cfg), &dc, NULL);
        assert_true(asprintf(&man, "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                                   "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":"
                                   "\"%s\",\"size\":%zu},{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                             PS_MT_OCI_MANIFEST, PS_MT_OCI_CONFIG, dc.str, strlen(cfg), PS_MT_OCI_LAYER, d1.str,
                             big, PS_MT_OCI_LAYER, d2.str, sizeof(layer2) - 1) > 0);
        ps_digest dm;
        ps_digest_buffer(man, strlen(man), &dm, NULL);
        assert_true(asprintf(&idx, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
                                   "\"size\":%zu,\"annotations\":{\"%s\":\"c10f/test:1\"}}]}",
                             PS_MT_OCI_MANIFEST, dm.str, strlen(man), PS_OCI_REF_NAME) > 0);
        add_blob(l, man, strlen(man));
        add_blob(l, cfg, strlen(cfg));
        add_blob(l, layer1, big);
        add_blob(l, layer2, sizeof(layer2) - 1);
        write_file(l->dir, "index.json", idx, strlen(idx));
        write_file(l->dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
}

struct walk {
        char order[16][80];
        size_t n;
};

static int on_index(void *ud, ps_index *idx, ps_error *err)
{
        struct walk *w = ud;
        snprintf(w->order[w->n++], 80, "index %zu", idx->n_manifests);
        ps_index_free(idx);
        return 0;
}

static int on_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        struct walk *w = ud;
        assert_true(w->n < 16);
        snprintf(w->order[w->n++], 80, "%s", b->digest.str);
        return 0;
}

static void test_pack(void **state)
{
        layout l;
        make_layout(&l, 300 * 1024);
        char *out = scratch();
        _cleanup_free_ char *a1 = ps_path_join(out, "amd64.tar.xz");
        _cleanup_free_ char *a2 = ps_path_join(out, "again.tar.xz");
        ps_error err = PS_ERROR_INIT;
        ps_xz_opts xz = { .level = 1, .threads = 1, .block_size = 64 * 1024 };
        ps_digest sha;
        uint64_t size = 0, tar = 0, blocks = 0;
        int r = ps_save_pack(l.dir, "amd64", l.blobs, l.n, a1, &xz, NULL, NULL, &sha, &size, &tar, &blocks, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        struct stat st;
        assert_int_equal(stat(a1, &st), 0);
        assert_int_equal((uint64_t)st.st_size, size);
        assert_true(tar > 300 * 1024);
        assert_true(blocks >= 5);       /* 64 KiB blocks */
        ps_digest fsha;
        assert_int_equal(ps_digest_file(a1, &fsha, NULL, NULL), 0);
        assert_string_equal(fsha.str, sha.str);

        /* podsec's reader: index.json first, then the blobs in the given order */
        ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_file(a1, &ar, &err), 0);
        struct walk w = { 0 };
        ps_archive_ops ops = { .index = on_index, .blob = on_blob };
        r = ps_archive_walk(ar, "amd64", &ops, &w, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_int_equal(w.n, 1 + l.n);
        assert_string_equal(w.order[0], "index 1");
        for (size_t i = 0; i < l.n; i++)
                assert_string_equal(w.order[1 + i], l.blobs[i].str);
        ps_archive_layout *lay = NULL;
        r = ps_archive_walk(ar, "amd64", NULL, NULL, &err);
        assert_int_equal(r, 0);
        ps_archive_free(ar);
        ar = NULL;
        assert_int_equal(ps_archive_open_file(a1, &ar, &err), 0);
        r = ps_archive_read_layout(ar, "amd64", &lay, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_int_equal(lay->n_images, 1);
        assert_string_equal(lay->images[0].ref_name, "c10f/test:1");
        assert_int_equal(lay->n_blobs, l.n);
        ps_archive_layout_free(lay);
        ps_archive_free(ar);

        /* the same bytes again, whatever the thread count */
        ps_xz_opts xz2 = { .level = 1, .threads = 2, .block_size = 64 * 1024 };
        ps_digest sha2;
        assert_int_equal(ps_save_pack(l.dir, "amd64", l.blobs, l.n, a2, &xz2, NULL, NULL, &sha2, NULL, NULL,
                                      NULL, &err), 0);
        assert_string_equal(sha.str, sha2.str);

        /* an existing output is not overwritten */
        assert_int_equal(ps_save_pack(l.dir, "amd64", l.blobs, l.n, a2, &xz2, NULL, NULL, NULL, NULL, NULL,
                                      NULL, &err), -EEXIST);
        assert_msg(err, "again.tar.xz");
        ps_error_clear(&err);
        ps_digest sha3;
        assert_int_equal(ps_digest_file(a2, &sha3, NULL, NULL), 0);
        assert_string_equal(sha3.str, sha.str);

        /* a blob that changed on disk is not packed; nothing is left */
        _cleanup_free_ char *a3 = ps_path_join(out, "bad.tar.xz");
        _cleanup_free_ char *bd = ps_path_join(l.dir, "blobs/sha256");
        write_file(bd, ps_digest_hex(&l.blobs[3]), "SECOND layer", 12);
        assert_int_equal(ps_save_pack(l.dir, "amd64", l.blobs, l.n, a3, &xz, NULL, NULL, NULL, NULL, NULL,
                                      NULL, &err), -EBADMSG);
        assert_msg(err, "does not match its digest");
        ps_error_clear(&err);
        assert_false(ps_file_exists(a3));

        /* a missing blob */
        _cleanup_free_ char *gone = ps_path_join(bd, ps_digest_hex(&l.blobs[2]));
        assert_int_equal(unlink(gone), 0);
        assert_int_equal(ps_save_pack(l.dir, "amd64", l.blobs, l.n, a3, &xz, NULL, NULL, NULL, NULL, NULL,
                                      NULL, &err), -ENOENT);
        assert_msg(err, ps_digest_hex(&l.blobs[2]));
        ps_error_clear(&err);
        assert_false(ps_file_exists(a3));

        /* a bad level */
        ps_xz_opts bad = { .level = 10 };
        assert_int_equal(ps_save_pack(l.dir, "amd64", l.blobs, 2, a3, &bad, NULL, NULL, NULL, NULL, NULL, NULL,
                                      &err), -EINVAL);
        ps_error_clear(&err);
        assert_false(ps_file_exists(a3));
        rmrf(l.dir);
        rmrf(out);
}

struct prog {
        uint64_t last, total;
        size_t calls;
};

static void on_progress(void *ud, const ps_save_event *ev)
{
        struct prog *p = ud;
        assert_int_equal(ev->kind, PS_SAVE_PACK);
        assert_string_equal(ev->arch, "arm64");
        assert_true(ev->done >= p->last);
        p->last = ev->done;
        p->total = ev->total;
        p->calls++;
}

static void test_pack_progress(void **state)
{
        layout l;
        make_layout(&l, 9 * 1024 * 1024);
        char *out = scratch();
        _cleanup_free_ char *a = ps_path_join(out, "arm64.tar.xz");
        struct prog p = { 0 };
        ps_xz_opts xz = { .level = 0 };
        ps_error err = PS_ERROR_INIT;
        uint64_t tar = 0, blocks = 0;
        assert_int_equal(ps_save_pack(l.dir, "arm64", l.blobs, l.n, a, &xz, on_progress, &p, NULL, NULL, &tar,
                                      &blocks, &err), 0);
        assert_true(p.calls >= 2);
        assert_int_equal(blocks, 1);    /* default 32 MiB blocks */
        assert_true(p.last <= tar && p.last + 10240 >= p.total);
        rmrf(l.dir);
        rmrf(out);
}

/* ---- output directory ---- */

static void test_check_dir(void **state)
{
        char *d = scratch();
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *fresh = ps_path_join(d, "new");
        _cleanup_free_ char *fresh_slash = ps_path_join(d, "new/");
        _cleanup_free_ char *deep = ps_path_join(d, "no/such");
        _cleanup_free_ char *file = ps_path_join(d, "file");
        _cleanup_free_ char *under_file = ps_path_join(d, "file/x");
        write_file(d, "file", "x", 1);
        assert_int_equal(ps_save_check_dir(fresh, &err), 0);
        assert_int_equal(ps_save_check_dir(fresh_slash, &err), 0);
        assert_int_equal(ps_save_check_dir(d, &err), -EEXIST);
        assert_msg(err, "already exists");
        ps_error_clear(&err);
        assert_int_equal(ps_save_check_dir(file, &err), -EEXIST);
        ps_error_clear(&err);
        assert_int_equal(ps_save_check_dir(deep, &err), -ENOENT);
        assert_msg(err, "parent directory");
        ps_error_clear(&err);
        assert_int_equal(ps_save_check_dir(under_file, &err), -ENOTDIR);
        assert_msg(err, "Not a directory");
        ps_error_clear(&err);
        assert_int_equal(ps_save_check_dir("", &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_save_check_dir("relative-new-dir-for-test", &err), 0);
        rmrf(d);
}

/* ---- the run's own argument checks (no registry needed) ---- */

static void test_run_checks(void **state)
{
        char *d = scratch();
        _cleanup_free_ char *out = ps_path_join(d, "out");
        ps_error err = PS_ERROR_INIT;
        ps_save_ref imgs[2];
        assert_int_equal(ps_save_ref_parse("c10f/a:1", "127.0.0.1:9", NULL, &imgs[0], &err), 0);
        assert_int_equal(ps_save_ref_parse("127.0.0.1:9/c10f/a:1", "reg.io", NULL, &imgs[1], &err), 0);
        char *archs[] = { "amd64", NULL };
        ps_save_opts o = { .dir = out, .archs = archs, .images = imgs, .n_images = 2, .level = -1 };
        ps_save_result res;
        assert_int_equal(ps_save_run(&o, &res, &err), -EINVAL);
        assert_msg(err, "given twice");
        ps_error_clear(&err);
        assert_false(ps_file_exists(out));
        o.n_images = 0;
        assert_int_equal(ps_save_run(&o, &res, &err), -EINVAL);
        ps_error_clear(&err);
        o.n_images = 1;
        o.dir = d;
        assert_int_equal(ps_save_run(&o, &res, &err), -EEXIST);
        ps_error_clear(&err);
        ps_save_result_free(&res);
        ps_save_ref_clear(&imgs[0]);
        ps_save_ref_clear(&imgs[1]);
        rmrf(d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_archs),
                cmocka_unit_test(test_is_transport),
                cmocka_unit_test(test_transport),
                cmocka_unit_test(test_ref),
                cmocka_unit_test(test_decompress),
                cmocka_unit_test(test_pack),
                cmocka_unit_test(test_pack_progress),
                cmocka_unit_test(test_check_dir),
                cmocka_unit_test(test_run_checks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
