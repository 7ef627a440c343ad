/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cleanup.h"
#include "digest.h"
#include "oci.h"
#include "ps-archive.h"

#define assert_msg(err, needle)                                                         \
        do {                                                                            \
                if (!(err).msg || !strstr((err).msg, (needle)))                         \
                        fail_msg("message \"%s\" lacks \"%s\"", (err).msg ? (err).msg : "(none)", \
                                 (needle));                                             \
        } while (0)

/* ---- building archives in memory with libarchive's writer ---- */

typedef struct tent {
        char *name;
        mode_t type;
        char *data;
        size_t len;
        char *link;
        bool hard;
} tent;

typedef struct tlist {
        tent v[64];
        size_t n;
} tlist;

static void add(tlist *t, const char *name, mode_t type, const void *data, size_t len,
                const char *link, bool hard)
{
        assert_true(t->n < PS_ARRAY_SIZE(t->v));
        tent *e = &t->v[t->n++];
        e->name = strdup(name);
        e->type = type;
        e->data = malloc(len + 1);
        if (len)
                memcpy(e->data, data, len);
        e->data[len] = '\0';
        e->len = len;
        e->link = link ? strdup(link) : NULL;
        e->hard = hard;
}

static void add_file(tlist *t, const char *name, const char *data)
{
        add(t, name, AE_IFREG, data, strlen(data), NULL, false);
}

static void tlist_free(tlist *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free(t->v[i].name);
                free(t->v[i].data);
                free(t->v[i].link);
        }
        t->n = 0;
}

static ps_digest add_blob(tlist *t, const char *arch, const void *data, size_t len)
{
        ps_digest d;
        assert_int_equal(ps_digest_buffer(data, len, &d, NULL), 0);
        char name[256];
        snprintf(name, sizeof(name), "%s/blobs/sha256/%s", arch, ps_digest_hex(&d));
        add(t, name, AE_IFREG, data, len, NULL, false);
        return d;
}

typedef struct obuf {
        unsigned char *p;
        size_t len, cap;
} obuf;

static la_ssize_t w_cb(struct archive *a, void *ud, const void *buf, size_t n)
{
        obuf *o = ud;
        if (o->len + n > o->cap) {
                size_t nc = (o->len + n) * 2;
                o->p = realloc(o->p, nc);
                assert_non_null(o->p);
                o->cap = nc;
        }
        memcpy(o->p + o->len, buf, n);
        o->len += n;
        return (la_ssize_t)n;
}

/* The entries of T as a tar stream compressed with FILTER ("none", "xz",
 * "gzip", "zstd", "bzip2"). */
static unsigned char *build(const tlist *t, const char *filter, size_t *len)
{
        obuf o = { 0 };
        struct archive *a = archive_write_new();
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        if (strcmp(filter, "none") != 0)
                assert_true(archive_write_add_filter_by_name(a, filter) >= ARCHIVE_WARN);
        assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
        assert_int_equal(archive_write_open2(a, &o, NULL, w_cb, NULL, NULL), ARCHIVE_OK);
        for (size_t i = 0; i < t->n; i++) {
                const tent *e = &t->v[i];
                struct archive_entry *ae = archive_entry_new();
                archive_entry_set_pathname(ae, e->name);
                archive_entry_set_filetype(ae, e->type);
                archive_entry_set_perm(ae, e->type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_mtime(ae, 0, 0);
                if (e->type == AE_IFLNK)
                        archive_entry_set_symlink(ae, e->link);
                if (e->hard)
                        archive_entry_set_hardlink(ae, e->link);
                if (e->type == AE_IFCHR)
                        archive_entry_set_rdev(ae, 0x0103);
                archive_entry_set_size(ae, e->type == AE_IFREG && !e->hard ? (la_int64_t)e->len : 0);
                assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
                if (e->type == AE_IFREG && !e->hard && e->len)
                        assert_int_equal(archive_write_data(a, e->data, e->len), (la_ssize_t)e->len);
                archive_entry_free(ae);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        *len = o.len;
        return o.p;
}

/* One image: a layer (not JSON), its config and manifest, all under ARCH.
 * *md gets the manifest's descriptor (media type, digest, size). */
static void add_image(tlist *t, const char *arch, const char *content, const char *cfg_arch,
                      ps_descriptor *md)
{
        ps_digest l = add_blob(t, arch, content, strlen(content));
        char cfg[512];
        snprintf(cfg, sizeof(cfg),
                 "{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                 cfg_arch, l.str);
        ps_digest c = add_blob(t, arch, cfg, strlen(cfg));
        char man[1024];
        snprintf(man, sizeof(man),
                 "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
                 "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                 PS_MT_OCI_MANIFEST, PS_MT_OCI_CONFIG, c.str, strlen(cfg), PS_MT_OCI_LAYER, l.str,
                 strlen(content));
        ps_digest m = add_blob(t, arch, man, strlen(man));
        assert_int_equal(ps_descriptor_init(md, PS_MT_OCI_MANIFEST, &m, (int64_t)strlen(man), NULL), 0);
}

static void add_index(tlist *t, const char *arch, ps_descriptor *d, size_t n)
{
        char *js = NULL;
        size_t len = 0;
        assert_int_equal(ps_index_build(d, n, &js, &len, NULL), 0);
        char name[128];
        snprintf(name, sizeof(name), "%s/index.json", arch);
        add(t, name, AE_IFREG, js, len, NULL, false);
        free(js);
}

static void add_layout(tlist *t, const char *arch)
{
        char name[128];
        snprintf(name, sizeof(name), "%s/oci-layout", arch);
        add_file(t, name, "{\"imageLayoutVersion\":\"1.0.0\"}");
}

/* A valid archive: amd64/ with one image "c10f/pause:3.9". */
static void valid_layout(tlist *t, ps_descriptor *md)
{
        add(t, "amd64", AE_IFDIR, NULL, 0, NULL, false);
        add(t, "amd64/blobs", AE_IFDIR, NULL, 0, NULL, false);
        add(t, "amd64/blobs/sha256", AE_IFDIR, NULL, 0, NULL, false);
        add_image(t, "amd64", "layer-bytes-for-pause", "amd64", md);
        assert_int_equal(ps_descriptor_annotate(md, PS_OCI_REF_NAME, "c10f/pause:3.9", NULL), 0);
        add_index(t, "amd64", md, 1);
        add_layout(t, "amd64");
}

/* ---- consumers ---- */

typedef struct seen {
        size_t blobs;
        size_t bytes;
        size_t indexes;
        bool use_copy;          /* read with ps_archive_read instead of blocks */
        int last_rc;
        ps_digest last;
} seen;

static int c_index(void *ud, ps_index *idx, ps_error *err)
{
        seen *s = ud;
        s->indexes++;
        ps_index_free(idx);
        return 0;
}

static int c_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        seen *s = ud;
        s->blobs++;
        s->last = b->digest;
        int r;
        if (s->use_copy) {
                char buf[7];
                ssize_t n;
                while ((n = ps_archive_read(ar, buf, sizeof(buf), err)) > 0)
                        s->bytes += (size_t)n;
                r = (int)n;
        } else {
                const void *d;
                size_t len;
                while ((r = ps_archive_read_block(ar, &d, &len, err)) > 0)
                        s->bytes += len;
        }
        s->last_rc = r;
        return r;
}

static int walk_mem(const void *buf, size_t len, const char *arch, seen *s, ps_error *err)
{
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf, len, &ar, err), 0);
        const ps_archive_ops ops = { .index = c_index, .blob = c_blob };
        return ps_archive_walk(ar, arch, &ops, s, err);
}

static int layout_mem(const void *buf, size_t len, const char *arch, ps_archive_layout **l,
                      ps_error *err)
{
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf, len, &ar, err), 0);
        return ps_archive_read_layout(ar, arch, l, err);
}

/* Expect both the one-pass walk and pass 1 to fail with NEEDLE. */
static void expect_bad(const tlist *t, const char *filter, const char *arch, int code,
                       const char *needle)
{
        size_t len;
        _cleanup_free_ unsigned char *buf = build(t, filter, &len);
        ps_error err = PS_ERROR_INIT;
        seen s = { 0 };
        int r = walk_mem(buf, len, arch, &s, &err);
        if (r != code)
                fail_msg("walk: got %d (%s), expected %d (%s)", r, err.msg, code, needle);
        assert_msg(err, needle);
        ps_error_clear(&err);
        ps_archive_layout *l = NULL;
        r = layout_mem(buf, len, arch, &l, &err);
        if (r != code)
                fail_msg("layout: got %d (%s), expected %d (%s)", r, err.msg, code, needle);
        assert_null(l);
        assert_msg(err, needle);
        ps_error_clear(&err);
}

/* ---- tests ---- */

static void test_valid_walk(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "none", &len);
        ps_error err = PS_ERROR_INIT;
        seen s = { 0 };
        if (walk_mem(buf, len, "amd64", &s, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(s.blobs, 3);
        assert_int_equal(s.indexes, 1);
        assert_int_equal(s.last_rc, 0);
        size_t total = 0;
        for (size_t i = 0; i < t.n; i++)
                if (strstr(t.v[i].name, "/blobs/sha256/"))
                        total += t.v[i].len;
        assert_int_equal(s.bytes, total);
        /* copying reads in small pieces */
        seen s2 = { .use_copy = true };
        assert_int_equal(walk_mem(buf, len, "amd64", &s2, &err), 0);
        assert_int_equal(s2.bytes, total);
        /* no callbacks: every blob is still verified */
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
        assert_int_equal(ps_archive_walk(ar, "amd64", NULL, NULL, &err), 0);
        /* and the reader can walk again from the start */
        assert_int_equal(ps_archive_walk(ar, "amd64", NULL, NULL, &err), 0);
        /* reading outside a blob callback is refused */
        const void *d;
        size_t dl;
        assert_int_equal(ps_archive_read_block(ar, &d, &dl, &err), -EINVAL);
        ps_error_clear(&err);
        /* the wrong architecture */
        assert_int_equal(ps_archive_walk(ar, "arm64", NULL, NULL, &err), -EINVAL);
        assert_msg(err, "archive entry amd64: outside the arm64/ directory");
        ps_error_clear(&err);
        assert_int_equal(ps_archive_walk(ar, "../x", NULL, NULL, &err), -EINVAL);
        assert_msg(err, "invalid architecture");
        ps_error_clear(&err);
        ps_descriptor_clear(&md);
        tlist_free(&t);
}

static void test_layout_two_pass(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        /* an unrelated regular file inside ARCH/ is ignored */
        add_file(&t, "amd64/README", "{ not referenced }");
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "xz", &len);
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
        if (ps_archive_read_layout(ar, "amd64", &l, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(l->n_images, 1);
        assert_int_equal(l->n_blobs, 3);
        const ps_archive_image *img = &l->images[0];
        assert_string_equal(img->ref_name, "c10f/pause:3.9");
        assert_non_null(img->manifest);
        assert_true(ps_digest_equal(&img->manifest->digest, &md.digest));
        assert_string_equal(img->config->architecture, "amd64");
        assert_null(img->index);
        /* manifest and config are kept; the layer is not */
        const ps_archive_blobinfo *bi = ps_archive_layout_find(l, &md.digest);
        assert_non_null(bi);
        assert_non_null(bi->data);
        bi = ps_archive_layout_find(l, &img->manifest->layers[0].digest);
        assert_non_null(bi);
        assert_null(bi->data);
        assert_int_equal(bi->size, strlen("layer-bytes-for-pause"));
        const ps_descriptor **blobs = NULL;
        size_t nb = 0;
        assert_int_equal(ps_archive_image_blobs(img, &blobs, &nb, &err), 0);
        assert_int_equal(nb, 2);
        free(blobs);
        /* pass 2 streams every blob again, verified */
        seen s = { 0 };
        if (ps_archive_stream_blobs(ar, l, c_blob, &s, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(s.blobs, 3);
        ps_descriptor_clear(&md);
        tlist_free(&t);
}

static void test_compressions(void **st)
{
        static const char *filters[] = { "none", "gzip", "xz", "zstd", "bzip2" };
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        /* a blob of 3 MiB + 3 crosses the 1 MiB input blocks */
        size_t big = 3 * 1024 * 1024 + 3;
        char *bb = malloc(big);
        for (size_t i = 0; i < big; i++)
                bb[i] = (char)('a' + (i * 2654435761u >> 13) % 26);
        add_blob(&t, "amd64", bb, big);
        free(bb);
        for (size_t f = 0; f < PS_ARRAY_SIZE(filters); f++) {
                size_t len;
                _cleanup_free_ unsigned char *buf = build(&t, filters[f], &len);
                ps_error err = PS_ERROR_INIT;
                seen s = { 0 };
                if (walk_mem(buf, len, "amd64", &s, &err) < 0)
                        fail_msg("%s: %s", filters[f], err.msg);
                assert_int_equal(s.blobs, 4);
                ps_archive_layout *l = NULL;
                if (layout_mem(buf, len, "amd64", &l, &err) < 0)
                        fail_msg("%s: %s", filters[f], err.msg);
                assert_int_equal(l->n_blobs, 4);
                assert_int_equal(l->n_images, 1);
                ps_archive_layout_free(l);
        }
        ps_descriptor_clear(&md);
        tlist_free(&t);
}

static void test_multi_image_multiarch(void **st)
{
        tlist t = { 0 };
        ps_descriptor a, x, y;
        add_image(&t, "amd64", "pause-layer", "amd64", &a);
        assert_int_equal(ps_descriptor_annotate(&a, PS_OCI_REF_NAME, "c10f/pause:3.9", NULL), 0);
        add_image(&t, "amd64", "flannel-amd64-layer", "amd64", &x);
        add_image(&t, "amd64", "flannel-arm64-layer", "arm64", &y);
        x.platform = calloc(1, sizeof(*x.platform));
        x.platform->architecture = strdup("amd64");
        x.platform->os = strdup("linux");
        y.platform = calloc(1, sizeof(*y.platform));
        y.platform->architecture = strdup("arm64");
        y.platform->os = strdup("linux");
        y.platform->variant = strdup("v8");
        ps_descriptor kids[2] = { x, y };
        char *ijs = NULL;
        size_t ilen = 0;
        assert_int_equal(ps_index_build(kids, 2, &ijs, &ilen, NULL), 0);
        ps_digest id = add_blob(&t, "amd64", ijs, ilen);
        free(ijs);
        ps_descriptor top[2];
        top[0] = a;
        assert_int_equal(ps_descriptor_init(&top[1], PS_MT_OCI_INDEX, &id, (int64_t)ilen, NULL), 0);
        assert_int_equal(ps_descriptor_annotate(&top[1], PS_OCI_REF_NAME, "c10f/flannel:v0.19.2", NULL), 0);
        add_index(&t, "amd64", top, 2);
        add_layout(&t, "amd64");
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "xz", &len);
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
        if (layout_mem(buf, len, "amd64", &l, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(l->n_images, 2);
        assert_int_equal(l->n_blobs, 10);
        assert_string_equal(l->images[0].ref_name, "c10f/pause:3.9");
        const ps_archive_image *fl = &l->images[1];
        assert_string_equal(fl->ref_name, "c10f/flannel:v0.19.2");
        assert_null(fl->manifest);
        assert_non_null(fl->index);
        assert_int_equal(fl->n_children, 2);
        assert_string_equal(fl->children[1].config->architecture, "arm64");
        assert_int_equal(ps_index_select(fl->index, NULL, "arm64", NULL, &err), 1);
        const ps_descriptor **blobs = NULL;
        size_t nb = 0;
        assert_int_equal(ps_archive_image_blobs(fl, &blobs, &nb, &err), 0);
        assert_int_equal(nb, 4);
        free(blobs);
        ps_descriptor_clear(&x);
        ps_descriptor_clear(&y);
        ps_descriptor_clear(&top[0]);
        ps_descriptor_clear(&top[1]);
        tlist_free(&t);
}

static void test_hostile_paths(void **st)
{
        ps_descriptor md;
        struct {
                const char *name;
                mode_t type;
                const char *link;
                bool hard;
                int code;
                const char *msg;
        } cases[] = {
                { "../x", AE_IFREG, NULL, false, -EINVAL, "archive entry ../x: path escapes the archive" },
                { "amd64/../../x", AE_IFREG, NULL, false, -EINVAL, "path escapes the archive" },
                { "amd64/blobs/..", AE_IFDIR, NULL, false, -EINVAL, "path escapes the archive" },
                { "/etc/passwd", AE_IFREG, NULL, false, -EINVAL, "archive entry /etc/passwd: absolute paths are not allowed" },
                { "amd64/blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000",
                  AE_IFLNK, "/etc/shadow", false, -EINVAL, "symbolic links are not allowed" },
                { "amd64/link", AE_IFLNK, "index.json", false, -EINVAL, "symbolic links are not allowed" },
                { "amd64/blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111",
                  AE_IFREG, "amd64/index.json", true, -EINVAL, "hard links are not allowed" },
                { "amd64/dev", AE_IFCHR, NULL, false, -EINVAL, "device nodes are not allowed" },
                { "amd64/blk", AE_IFBLK, NULL, false, -EINVAL, "device nodes are not allowed" },
                { "amd64/fifo", AE_IFIFO, NULL, false, -EINVAL, "FIFOs are not allowed" },
                { "arm64/index.json", AE_IFREG, NULL, false, -EINVAL, "archive entry arm64/index.json: outside the amd64/ directory" },
                { "amd64x/index.json", AE_IFREG, NULL, false, -EINVAL, "outside the amd64/ directory" },
                { "index.json", AE_IFREG, NULL, false, -EINVAL, "outside the amd64/ directory" },
                { "amd64/blobs/sha256/xyz", AE_IFREG, NULL, false, -EINVAL, "blob name is not a sha256 digest" },
                { "amd64/blobs/sha256/ABCDEF0000000000000000000000000000000000000000000000000000000000",
                  AE_IFREG, NULL, false, -EINVAL, "blob name is not a sha256 digest" },
                { "amd64/blobs/sha512/00", AE_IFREG, NULL, false, -ENOTSUP, "only sha256 blobs are supported" },
                { "amd64/blobs/sha256/d/x", AE_IFREG, NULL, false, -EINVAL, "unexpected subdirectory" },
                { "amd64/index.json/", AE_IFDIR, NULL, false, -EEXIST, "appears twice" },
                { "./amd64/oci-layout", AE_IFREG, NULL, false, -EEXIST, "archive entry ./amd64/oci-layout: appears twice" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                tlist t = { 0 };
                valid_layout(&t, &md);
                ps_descriptor_clear(&md);
                add(&t, cases[i].name, cases[i].type, "x", cases[i].type == AE_IFREG ? 1 : 0,
                    cases[i].link, cases[i].hard);
                expect_bad(&t, "none", "amd64", cases[i].code, cases[i].msg);
                tlist_free(&t);
        }
}

static void test_wrong_types(void **st)
{
        /* without directory entries, so that the names are not duplicates */
        static const struct {
                const char *name;
                mode_t type;
                const char *msg;
        } cases[] = {
                { "amd64/blobs", AE_IFREG, "archive entry amd64/blobs: expected a directory" },
                { "amd64", AE_IFREG, "archive entry amd64: expected a directory" },
                { "amd64/oci-layout", AE_IFDIR, "expected a regular file, found a directory" },
                { "amd64/blobs/sha256/2222222222222222222222222222222222222222222222222222222222222222",
                  AE_IFDIR, "expected a regular file, found a directory" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                tlist t = { 0 };
                ps_descriptor md;
                add_image(&t, "amd64", "x", "amd64", &md);
                add_index(&t, "amd64", &md, 1);
                if (strcmp(cases[i].name, "amd64/oci-layout") != 0)
                        add_layout(&t, "amd64");
                add(&t, cases[i].name, cases[i].type, "x", cases[i].type == AE_IFREG ? 1 : 0, NULL, false);
                expect_bad(&t, "none", "amd64", -EINVAL, cases[i].msg);
                tlist_free(&t);
                ps_descriptor_clear(&md);
        }
}

static void test_names_normalised(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        add(&t, "./", AE_IFDIR, NULL, 0, NULL, false);
        add(&t, "./amd64/", AE_IFDIR, NULL, 0, NULL, false);
        add(&t, "amd64//blobs/./", AE_IFDIR, NULL, 0, NULL, false);
        add_image(&t, "amd64", "x", "amd64", &md);
        add_index(&t, "amd64", &md, 1);
        add(&t, "./amd64/./oci-layout", AE_IFREG, "{\"imageLayoutVersion\":\"1.0.0\"}", 30, NULL, false);
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "none", &len);
        ps_error err = PS_ERROR_INIT;
        seen s = { 0 };
        if (walk_mem(buf, len, "amd64", &s, &err) < 0)
                fail_msg("%s", err.msg);
        assert_int_equal(s.blobs, 3);
        ps_descriptor_clear(&md);
        tlist_free(&t);
}

static void test_mismatch(void **st)
{
        /* a JSON blob (the config) whose content does not match its name:
         * found by both passes */
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        for (size_t i = 0; i < t.n; i++)
                if (t.v[i].len && t.v[i].data[0] == '{' && strstr(t.v[i].data, "rootfs"))
                        t.v[i].data[2] ^= 1;
        expect_bad(&t, "xz", "amd64", -EBADMSG, "content does not match its name");
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* a layer: pass 1 does not hash layers, pass 2 and the walk do */
        valid_layout(&t, &md);
        char *bad_hex = NULL;
        for (size_t i = 0; i < t.n; i++)
                if (t.v[i].len && t.v[i].data[0] == 'l') {
                        t.v[i].data[0] = 'L';
                        bad_hex = t.v[i].name + strlen("amd64/blobs/sha256/");
                }
        assert_non_null(bad_hex);
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "xz", &len);
        ps_error err = PS_ERROR_INIT;
        seen s = { 0 };
        assert_int_equal(walk_mem(buf, len, "amd64", &s, &err), -EBADMSG);
        /* the consumer saw it at the end of the blob */
        assert_int_equal(s.last_rc, -EBADMSG);
        char want[128];
        snprintf(want, sizeof(want), "blob sha256:%s content does not match its name", bad_hex);
        assert_msg(err, want);
        ps_error_clear(&err);
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
        assert_int_equal(ps_archive_read_layout(ar, "amd64", &l, &err), 0);
        assert_int_equal(ps_archive_stream_blobs(ar, l, NULL, NULL, &err), -EBADMSG);
        assert_msg(err, want);
        ps_error_clear(&err);
        /* a consumer that skips does not verify (documented) */
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

static int skipper(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        return PS_ARCHIVE_SKIP;
}

static int failer(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        return ps_error_set(err, EPIPE, "registry went away while pushing %s", b->digest.str);
}

static int ignorer(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        const void *d;
        size_t len;
        while (ps_archive_read_block(ar, &d, &len, err) > 0)
                ;
        ps_error_clear(err);
        return 0;       /* ignores a mismatch: the walk must still fail */
}

static void test_consumers(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        for (size_t i = 0; i < t.n; i++)
                if (t.v[i].len && t.v[i].data[0] == 'l')
                        t.v[i].data[0] = 'L';
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "gzip", &len);
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
        ps_archive_ops ops = { .blob = skipper };
        assert_int_equal(ps_archive_walk(ar, "amd64", &ops, NULL, &err), 0);
        ops.blob = failer;
        assert_int_equal(ps_archive_walk(ar, "amd64", &ops, NULL, &err), -EPIPE);
        assert_msg(err, "registry went away");
        ps_error_clear(&err);
        ops.blob = ignorer;
        assert_int_equal(ps_archive_walk(ar, "amd64", &ops, NULL, &err), -EBADMSG);
        assert_msg(err, "content does not match its name");
        ps_error_clear(&err);
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

static void test_truncated(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        size_t big = 256 * 1024;
        char *bb = malloc(big);
        for (size_t i = 0; i < big; i++)
                bb[i] = (char)(i * 7 + (i >> 9));
        add_blob(&t, "amd64", bb, big);
        free(bb);
        static const char *filters[] = { "xz", "gzip", "zstd", "none" };
        for (size_t f = 0; f < PS_ARRAY_SIZE(filters); f++) {
                size_t len;
                _cleanup_free_ unsigned char *buf = build(&t, filters[f], &len);
                /* (an uncompressed tar cut inside its end-of-archive
                 * padding is still whole; cut into the last blob instead) */
                size_t cuts[] = { len / 2, strcmp(filters[f], "none") ? len - 1 : len - 1100, 40 };
                for (size_t c = 0; c < PS_ARRAY_SIZE(cuts); c++) {
                        ps_error err = PS_ERROR_INIT;
                        seen s = { 0 };
                        int r = walk_mem(buf, cuts[c], "amd64", &s, &err);
                        if (r >= 0)
                                fail_msg("%s cut at %zu of %zu: accepted", filters[f], cuts[c], len);
                        assert_msg(err, "archive in memory");
                        /* "truncated gzip input", "Truncated tar archive",
                         * "... (truncated xz stream: ...)" */
                        bool headerless = cuts[c] < 512 && strcmp(filters[f], "none") == 0;
                        if (!headerless && !strcasestr(err.msg, "truncated"))
                                fail_msg("%s cut at %zu: %s", filters[f], cuts[c], err.msg);
                        ps_error_clear(&err);
                }
        }
        /* the xz message from libarchive is passed on */
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "xz", &len);
        ps_error err = PS_ERROR_INIT;
        seen s = { 0 };
        assert_true(walk_mem(buf, len - 1, "amd64", &s, &err) < 0);
        char want[64];
        snprintf(want, sizeof(want), "(truncated xz stream: the input ends after %zu bytes)", len - 1);
        assert_msg(err, want);
        ps_error_clear(&err);
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

static void test_missing(void **st)
{
        ps_error err = PS_ERROR_INIT;
        tlist t = { 0 };
        ps_descriptor md;
        /* index naming a missing manifest */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_layout(&t, "amd64");
        md.digest.str[10] ^= 1;
        add_index(&t, "amd64", &md, 1);
        size_t len;
        unsigned char *buf = build(&t, "none", &len);
        ps_archive_layout *l = NULL;
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), -ENOENT);
        char want[160];
        snprintf(want, sizeof(want), "index.json names %s which is not in the archive", md.digest.str);
        assert_msg(err, want);
        ps_error_clear(&err);
        free(buf);
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* the size in index.json is wrong */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_layout(&t, "amd64");
        md.size++;
        add_index(&t, "amd64", &md, 1);
        buf = build(&t, "none", &len);
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), -EBADMSG);
        assert_msg(err, "index.json gives sha256:");
        ps_error_clear(&err);
        free(buf);
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* the manifest names a layer that is not there */
        add_image(&t, "amd64", "layer", "amd64", &md);
        add_layout(&t, "amd64");
        add_index(&t, "amd64", &md, 1);
        for (size_t i = 0; i < t.n; i++)
                if (t.v[i].len && t.v[i].data[0] == 'l')
                        t.v[i].name[strlen(t.v[i].name) - 1] ^= 1;
        buf = build(&t, "none", &len);
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), -ENOENT);
        assert_msg(err, "names layer sha256:");
        assert_msg(err, "which is not in the archive");
        ps_error_clear(&err);
        free(buf);
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* index.json names a layer-like blob as a manifest */
        ps_digest ld = add_blob(&t, "amd64", "not json", 8);
        add_layout(&t, "amd64");
        assert_int_equal(ps_descriptor_init(&md, PS_MT_OCI_MANIFEST, &ld, 8, NULL), 0);
        add_index(&t, "amd64", &md, 1);
        buf = build(&t, "none", &len);
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), -EINVAL);
        assert_msg(err, "which is not a JSON document");
        ps_error_clear(&err);
        free(buf);
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* missing index.json, oci-layout, ARCH/ */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_layout(&t, "amd64");
        expect_bad(&t, "none", "amd64", -ENOENT, "archive in memory has no amd64/index.json");
        tlist_free(&t);
        add_index(&t, "amd64", &md, 1);
        expect_bad(&t, "none", "amd64", -ENOENT, "has no amd64/oci-layout");
        tlist_free(&t);
        add(&t, "./", AE_IFDIR, NULL, 0, NULL, false);
        expect_bad(&t, "xz", "amd64", -ENOENT, "has no amd64/ directory");
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* no blobs at all: an empty index is fine, a named manifest is not */
        ps_descriptor none[1];
        ps_digest nd;
        assert_int_equal(ps_digest_buffer("m", 1, &nd, NULL), 0);
        assert_int_equal(ps_descriptor_init(&none[0], PS_MT_OCI_MANIFEST, &nd, 1, NULL), 0);
        add_layout(&t, "amd64");
        add_index(&t, "amd64", none, 0);
        buf = build(&t, "none", &len);
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), 0);
        assert_int_equal(l->n_images, 0);
        assert_int_equal(l->n_blobs, 0);
        assert_null(ps_archive_layout_find(l, &nd));
        ps_archive_layout_free(l);
        l = NULL;
        free(buf);
        tlist_free(&t);
        add_layout(&t, "amd64");
        add_index(&t, "amd64", none, 1);
        buf = build(&t, "none", &len);
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), -ENOENT);
        assert_msg(err, "index.json names sha256:");
        ps_error_clear(&err);
        free(buf);
        tlist_free(&t);
        ps_descriptor_clear(&none[0]);

        /* not an archive at all */
        const char junk[] = "this is not a tar archive, just some text that goes on for a while..........";
        seen s = { 0 };
        assert_true(walk_mem(junk, sizeof(junk), "amd64", &s, &err) < 0);
        assert_msg(err, "reading archive in memory: ");
        ps_error_clear(&err);
        assert_true(walk_mem(NULL, 0, "amd64", &s, &err) < 0);
        ps_error_clear(&err);
}

static void test_bad_metadata(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        /* 10000 '[' as index.json */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_layout(&t, "amd64");
        char *deep = malloc(10001);
        memset(deep, '[', 10000);
        deep[10000] = '\0';
        add_file(&t, "amd64/index.json", deep);
        free(deep);
        expect_bad(&t, "xz", "amd64", -E2BIG, "archive entry amd64/index.json: index.json: JSON nesting is deeper than 64 levels");
        tlist_free(&t);
        ps_descriptor_clear(&md);
        /* an oversized index.json */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_layout(&t, "amd64");
        size_t big = PS_OCI_MAX_INDEX + 1;
        char *huge = malloc(big);
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        add(&t, "amd64/index.json", AE_IFREG, huge, big, NULL, false);
        free(huge);
        expect_bad(&t, "xz", "amd64", -EFBIG, "archive entry amd64/index.json: too large (4194305 bytes, the limit is 4194304)");
        tlist_free(&t);
        ps_descriptor_clear(&md);
        /* index.json that is a manifest */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_layout(&t, "amd64");
        add_file(&t, "amd64/index.json", "{\"schemaVersion\":2,\"config\":{},\"layers\":[]}");
        expect_bad(&t, "none", "amd64", -EINVAL, "ambiguous");
        tlist_free(&t);
        ps_descriptor_clear(&md);
        /* a bad oci-layout */
        add_image(&t, "amd64", "x", "amd64", &md);
        add_index(&t, "amd64", &md, 1);
        add_file(&t, "amd64/oci-layout", "{\"imageLayoutVersion\":\"9\"}");
        expect_bad(&t, "none", "amd64", -ENOTSUP, "archive entry amd64/oci-layout: oci-layout: imageLayoutVersion \"9\" is not supported");
        tlist_free(&t);
        ps_descriptor_clear(&md);
        /* layer count and diff_ids disagree */
        ps_digest l = add_blob(&t, "amd64", "lay", 3);
        const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
        ps_digest c = add_blob(&t, "amd64", cfg, strlen(cfg));
        char man[1024];
        snprintf(man, sizeof(man),
                 "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
                 "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":3}]}",
                 PS_MT_OCI_CONFIG, c.str, strlen(cfg), PS_MT_OCI_LAYER, l.str);
        ps_digest m = add_blob(&t, "amd64", man, strlen(man));
        assert_int_equal(ps_descriptor_init(&md, PS_MT_OCI_MANIFEST, &m, (int64_t)strlen(man), NULL), 0);
        add_index(&t, "amd64", &md, 1);
        add_layout(&t, "amd64");
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "none", &len);
        ps_error err = PS_ERROR_INIT;
        ps_archive_layout *lay = NULL;
        assert_int_equal(layout_mem(buf, len, "amd64", &lay, &err), -EINVAL);
        assert_msg(err, "has 1 layers but its config");
        ps_error_clear(&err);
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

static uint64_t prog_done, prog_total;
static unsigned prog_calls;

static void progress(void *ud, uint64_t done, uint64_t total)
{
        assert_true(done >= prog_done);
        prog_done = done;
        prog_total = total;
        prog_calls++;
}

static void test_file_and_fd(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        size_t big = 2 * 1024 * 1024 + 11;
        char *bb = malloc(big);
        for (size_t i = 0; i < big; i++)
                bb[i] = (char)(i * 13 + (i >> 11));
        add_blob(&t, "amd64", bb, big);
        free(bb);
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "none", &len);
        char path[] = "/tmp/podsec-archive-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, len), (ssize_t)len);
        close(fd);
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_file(path, &ar, &err), 0);
        ps_archive_set_progress(ar, progress, NULL);
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
        if (ps_archive_read_layout(ar, "amd64", &l, &err) < 0)
                fail_msg("%s", err.msg);
        /* uncompressed: the big blob was skipped by seeking */
        assert_int_equal(prog_total, len);
        assert_true(prog_calls >= 1);
        prog_done = 0;
        prog_calls = 0;
        seen s = { 0 };
        assert_int_equal(ps_archive_stream_blobs(ar, l, c_blob, &s, &err), 0);
        assert_int_equal(s.blobs, 4);
        assert_true(prog_calls >= 3);
        assert_true(prog_done >= len - 10240);
        /* errors name the file */
        ps_archive *bad = NULL;
        assert_int_equal(ps_archive_open_file("/nonexistent/x.tar.xz", &bad, &err), -ENOENT);
        assert_msg(err, "cannot open archive /nonexistent/x.tar.xz");
        ps_error_clear(&err);
        assert_int_equal(ps_archive_open_file("/", &bad, &err), -EINVAL);
        assert_msg(err, "archive / is not a regular file");
        ps_error_clear(&err);
        /* a pipe can be walked once */
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                size_t off = 0;
                while (off < len) {
                        ssize_t n = write(p[1], buf + off, len - off);
                        if (n <= 0)
                                _exit(1);
                        off += (size_t)n;
                }
                _exit(0);
        }
        close(p[1]);
        ps_archive *pa = NULL;
        assert_int_equal(ps_archive_open_fd(p[0], "stdin", &pa, &err), 0);
        assert_int_equal(ps_archive_walk(pa, "amd64", NULL, NULL, &err), 0);
        assert_int_equal(ps_archive_walk(pa, "amd64", NULL, NULL, &err), -ESPIPE);
        assert_msg(err, "cannot read stdin a second time");
        ps_error_clear(&err);
        ps_archive_free(pa);
        close(p[0]);
        int status;
        waitpid(pid, &status, 0);
        unlink(path);
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

static void test_layout_streaming(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        /* one blob above the in-memory limit */
        size_t big = PS_OCI_MAX_MANIFEST + 1;
        char *bb = malloc(big);
        for (size_t i = 0; i < big; i++)
                bb[i] = (char)('a' + i % 23);
        ps_digest bigd = add_blob(&t, "amd64", bb, big);
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "zstd", &len);
        ps_error err = PS_ERROR_INIT;
        for (int copy = 0; copy < 2; copy++) {
                _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
                assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
                seen s = { .use_copy = copy };
                _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
                if (ps_archive_read_layout_streaming(ar, "amd64", c_blob, &s, &l, &err) < 0)
                        fail_msg("%s", err.msg);
                assert_int_equal(s.blobs, 4);
                assert_int_equal(s.bytes, l->blob_bytes);
                assert_int_equal(l->n_images, 1);
                assert_string_equal(l->images[0].ref_name, "c10f/pause:3.9");
                /* the JSON blobs are kept, the layers are not */
                assert_non_null(ps_archive_layout_find(l, &md.digest)->data);
                assert_null(ps_archive_layout_find(l, &bigd)->data);
                assert_null(ps_archive_layout_find(l, &l->images[0].manifest->layers[0].digest)->data);
        }
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* a mismatching big blob: the consumer sees -EBADMSG at its end */
        valid_layout(&t, &md);
        bb[100] ^= 1;
        add(&t, "amd64/blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000",
            AE_IFREG, bb, big, NULL, false);
        free(buf);
        buf = build(&t, "none", &len);
        {
                _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
                assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
                seen s = { 0 };
                ps_archive_layout *l = NULL;
                assert_int_equal(ps_archive_read_layout_streaming(ar, "amd64", c_blob, &s, &l, &err), -EBADMSG);
                assert_null(l);
                assert_int_equal(s.last_rc, -EBADMSG);
                assert_msg(err, "blob sha256:0000000000000000000000000000000000000000000000000000000000000000 content does not match its name");
                ps_error_clear(&err);
        }
        tlist_free(&t);
        ps_descriptor_clear(&md);

        /* a mismatching small layer: refused before the consumer sees it */
        valid_layout(&t, &md);
        add(&t, "amd64/blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111",
            AE_IFREG, "small", 5, NULL, false);
        free(buf);
        buf = build(&t, "xz", &len);
        {
                _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
                assert_int_equal(ps_archive_open_memory(buf, len, &ar, &err), 0);
                seen s = { 0 };
                ps_archive_layout *l = NULL;
                assert_int_equal(ps_archive_read_layout_streaming(ar, "amd64", c_blob, &s, &l, &err), -EBADMSG);
                assert_int_equal(s.blobs, 3);
                ps_error_clear(&err);
                /* a failing consumer stops the read */
                assert_int_equal(ps_archive_read_layout_streaming(ar, "amd64", failer, NULL, &l, &err), -EPIPE);
                assert_msg(err, "registry went away");
                ps_error_clear(&err);
        }
        free(bb);
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

static void test_changed_between_passes(void **st)
{
        tlist t = { 0 };
        ps_descriptor md;
        valid_layout(&t, &md);
        size_t len;
        _cleanup_free_ unsigned char *buf = build(&t, "none", &len);
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
        assert_int_equal(layout_mem(buf, len, "amd64", &l, &err), 0);
        /* a different archive for pass 2 */
        add_blob(&t, "amd64", "extra", 5);
        size_t len2;
        _cleanup_free_ unsigned char *buf2 = build(&t, "none", &len2);
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        assert_int_equal(ps_archive_open_memory(buf2, len2, &ar, &err), 0);
        assert_int_equal(ps_archive_stream_blobs(ar, l, NULL, NULL, &err), -EBUSY);
        assert_msg(err, "changed since it was first read");
        ps_error_clear(&err);
        tlist_free(&t);
        ps_descriptor_clear(&md);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid_walk),
                cmocka_unit_test(test_layout_two_pass),
                cmocka_unit_test(test_compressions),
                cmocka_unit_test(test_multi_image_multiarch),
                cmocka_unit_test(test_hostile_paths),
                cmocka_unit_test(test_wrong_types),
                cmocka_unit_test(test_names_normalised),
                cmocka_unit_test(test_mismatch),
                cmocka_unit_test(test_consumers),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_missing),
                cmocka_unit_test(test_bad_metadata),
                cmocka_unit_test(test_file_and_fd),
                cmocka_unit_test(test_layout_streaming),
                cmocka_unit_test(test_changed_between_passes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
