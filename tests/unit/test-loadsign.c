/* SPDX-License-Identifier: GPL-2.0-or-later */
/* load-sign: naming rules (D17, D19), group check (D22), and the engine's
 * read/check/plan on generated archives (dry run: no registry, no gpg). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cleanup.h"
#include "digest.h"
#include "loadsign.h"

/* ---- naming ---- */

static void test_parse_ref_name(void **s)
{
        char *p = NULL, *t = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_ls_parse_ref_name("c10f/pause:3.9", &p, &t, &err), 0);
        assert_string_equal(p, "c10f/pause");
        assert_string_equal(t, "3.9");
        free(p);
        free(t);
        assert_int_equal(ps_ls_parse_ref_name("alt/distroless-base", &p, &t, &err), 0);
        assert_string_equal(p, "alt/distroless-base");
        assert_string_equal(t, "latest");
        free(p);
        free(t);
        static const char *bad[] = { "", "c10f/Pause:1", "c10f/x@sha256:0000", "c10f/x:", "c10f//x:1",
                                     "c10f/x:bad tag", "/x:1", "c10f/x:-1" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                p = t = NULL;
                if (ps_ls_parse_ref_name(bad[i], &p, &t, &err) == 0)
                        fail_msg("\"%s\" accepted", bad[i]);
                assert_non_null(err.msg);
                ps_error_clear(&err);
        }
}

static void test_ref_platform(void **s)
{
        char *p = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_ls_ref_platform("c10f/pause:3.9", &p, &err), 0);
        assert_string_equal(p, "c10f");
        free(p);
        assert_int_equal(ps_ls_ref_platform("k8s-c10f1/a/b:1", &p, &err), 0);
        assert_string_equal(p, "k8s-c10f1");
        free(p);
        assert_true(ps_ls_ref_platform("pause:3.9", &p, &err) < 0);
        assert_non_null(strstr(err.msg, "no platform prefix"));
        ps_error_clear(&err);
}

static void test_namespace(void **s)
{
        static const struct {
                const char *ns;
                bool path;
                int why;
        } cases[] = {
                { "registry.local/c10f", true, 0 },
                { "my.reg/team/c10f", true, 0 },
                { "127.0.0.1:5000/c10f", true, 0 },
                { "localhost:5000/c10f", true, 0 },
                { "localhost/c10f", true, 0 },
                { "registry.local", false, 0 },
                { "127.0.0.1:5000", false, 0 },
                { "registry.local", true, PS_LS_BAD_NO_PATH },
                { "registry.local/", true, PS_LS_BAD_NO_PATH },
                { "", true, PS_LS_BAD_NO_PATH },
                { "registry/c10f", true, PS_LS_BAD_HOST },        /* the original: no dot, exit 5 */
                { "registry", false, PS_LS_BAD_HOST },
                { "", false, PS_LS_BAD_HOST },
                { "reg_istry.local/c10f", true, PS_LS_BAD_HOST },
                { "registry.local/C10F", true, PS_LS_BAD_PATH },
                { "registry.local/c10f/", true, PS_LS_BAD_PATH },
                { "registry.local/a b", true, PS_LS_BAD_PATH },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                ps_error err = PS_ERROR_INIT;
                int why = -1;
                int r = ps_ls_check_namespace(cases[i].ns, cases[i].path, &why, &err);
                if ((r == 0) != (cases[i].why == 0) || why != cases[i].why)
                        fail_msg("case %zu \"%s\": r=%d why=%d, want why=%d (%s)", i, cases[i].ns, r, why,
                                 cases[i].why, ps_error_msg(&err));
                ps_error_clear(&err);
        }
}

static void test_destinations(void **s)
{
        static const struct {
                const char *ns, *reg, *plat, *ref;
                bool alias;
                const char *want0, *want1;
        } cases[] = {
                /* 3 arguments: every image keeps its name on the registry */
                { NULL, "registry.local", "c10f", "c10f/pause:3.9", true, "registry.local/c10f/pause:3.9",
                  "registry.local/k8s-c10f2/pause:3.9" },
                { NULL, "registry.local", "c10f", "c10f/pause:3.9", false, "registry.local/c10f/pause:3.9", NULL },
                { NULL, "registry.local", "p10", "p10/x:1", true, "registry.local/p10/x:1", NULL },
                { NULL, "127.0.0.1:5000", "c10f", "c10f/a/b", false, "127.0.0.1:5000/c10f/a/b:latest", NULL },
                /* D17: no alias for images outside the prefix, none built by offset */
                { NULL, "registry.local", "c10f", "alt/alt:p10", true, "registry.local/alt/alt:p10", NULL },
                { NULL, "registry.local", "c10f", "c10fx/pause:1", true, "registry.local/c10fx/pause:1", NULL },
                { NULL, "registry.local", "c10f", "c10f/flannel/cni:v1", true, "registry.local/c10f/flannel/cni:v1",
                  "registry.local/k8s-c10f2/flannel/cni:v1" },
                /* 4 arguments: the namespace takes every image of the prefix (D19)... */
                { "my.reg/team/c10f", "registry.local", "c10f", "c10f/pause:3.9", true, "my.reg/team/c10f/pause:3.9",
                  "my.reg/k8s-c10f2/pause:3.9" },
                { "registry.local/other", "registry.local", "c10f", "c10f/a/b:1", false,
                  "registry.local/other/a/b:1", NULL },
                /* ...and images outside it go to the chosen registry, not registry.local */
                { "my.reg:5000/team", "registry.local", "c10f", "alt/alt:p10", true, "my.reg:5000/alt/alt:p10",
                  NULL },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                char **d = NULL;
                ps_error err = PS_ERROR_INIT;
                int r = ps_ls_destinations(cases[i].ns, cases[i].reg, cases[i].plat, cases[i].ref, cases[i].alias,
                                           &d, &err);
                if (r < 0)
                        fail_msg("case %zu: %s", i, ps_error_msg(&err));
                if (strcmp(d[0], cases[i].want0) != 0)
                        fail_msg("case %zu: got %s want %s", i, d[0], cases[i].want0);
                if (cases[i].want1 ? !d[1] || strcmp(d[1], cases[i].want1) != 0 : d[1] != NULL)
                        fail_msg("case %zu: alias %s want %s", i, d[1] ? d[1] : "(none)",
                                 cases[i].want1 ? cases[i].want1 : "(none)");
                ps_strv_free(d);
        }
        char **d = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_true(ps_ls_destinations(NULL, "registry.local", "c10f", "c10f/UPPER:1", true, &d, &err) < 0);
        ps_error_clear(&err);
}

static void test_gid_member(void **s)
{
        const unsigned groups[] = { 100, 1001, 1002 };
        assert_true(ps_ls_gid_member(1001, 100, groups, 3));
        assert_true(ps_ls_gid_member(100, 100, NULL, 0));
        assert_false(ps_ls_gid_member(1003, 100, groups, 3));
        assert_false(ps_ls_gid_member(10010, 100, groups, 3));
}

/* ---- generated archives ---- */

struct tarb {
        struct archive *a;
        char path[64];
};

static void tar_open(struct tarb *t, bool xz)
{
        strcpy(t->path, "/tmp/test-loadsign-XXXXXX");
        int fd = mkstemp(t->path);
        assert_true(fd >= 0);
        close(fd);
        t->a = archive_write_new();
        archive_write_set_format_pax_restricted(t->a);
        if (xz)
                archive_write_add_filter_xz(t->a);
        assert_int_equal(archive_write_open_filename(t->a, t->path), ARCHIVE_OK);
}

static void tar_entry(struct tarb *t, const char *name, unsigned type, const char *target, const void *data,
                      size_t len)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
        if (type == AE_IFLNK)
                archive_entry_set_symlink(e, target);
        archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
        assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
        if (type == AE_IFREG && len)
                assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
        archive_entry_free(e);
}

static void tar_file(struct tarb *t, const char *name, const void *data, size_t len)
{
        tar_entry(t, name, AE_IFREG, NULL, data, len);
}

static void tar_close(struct tarb *t)
{
        assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
        archive_write_free(t->a);
}

/* A blob of an image being built. */
struct blob {
        char *data;
        size_t len;
        ps_digest d;
};

static void mkblob(struct blob *b, const char *data, size_t len)
{
        b->data = malloc(len + 1);
        memcpy(b->data, data, len);
        b->data[len] = '\0';
        b->len = len;
        assert_int_equal(ps_digest_buffer(data, len, &b->d, NULL), 0);
}

/* An image: layer (big or small) + config + manifest. */
struct img {
        struct blob layer, config, manifest;
};

static void mkimg(struct img *im, const char *arch, size_t layer_size, char fill)
{
        char *l = malloc(layer_size);
        for (size_t i = 0; i < layer_size; i++)
                l[i] = (char)(fill + (char)(i % 7));
        mkblob(&im->layer, l, layer_size);
        free(l);
        char *c = NULL;
        assert_true(asprintf(&c,
                             "{\"architecture\":\"%s\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
                             "\"diff_ids\":[\"%s\"]}}",
                             arch, im->layer.d.str) > 0);
        mkblob(&im->config, c, strlen(c));
        free(c);
        char *m = NULL;
        assert_true(asprintf(&m,
                             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                             "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                             "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
                             im->config.d.str, im->config.len, im->layer.d.str, im->layer.len) > 0);
        mkblob(&im->manifest, m, strlen(m));
        free(m);
}

static void freeimg(struct img *im)
{
        free(im->layer.data);
        free(im->config.data);
        free(im->manifest.data);
}

static void tar_blob(struct tarb *t, const char *arch, const struct blob *b)
{
        char name[128];
        snprintf(name, sizeof(name), "%s/blobs/sha256/%s", arch, ps_digest_hex(&b->d));
        tar_file(t, name, b->data, b->len);
}

static char *index_json(size_t n, const struct blob *const *m, const char *const *refs, const char *const *mts)
{
        char *out = strdup("{\"schemaVersion\":2,\"manifests\":[");
        for (size_t i = 0; i < n; i++) {
                char *e = NULL;
                assert_true(asprintf(&e,
                                     "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
                                     "\"org.opencontainers.image.ref.name\":\"%s\"}}",
                                     i ? "," : "",
                                     mts && mts[i] ? mts[i] : "application/vnd.oci.image.manifest.v1+json",
                                     m[i]->d.str, m[i]->len, refs[i]) > 0);
                char *o = NULL;
                assert_true(asprintf(&o, "%s%s", out, e) > 0);
                free(out);
                free(e);
                out = o;
        }
        char *o = NULL;
        assert_true(asprintf(&o, "%s]}", out) > 0);
        free(out);
        return o;
}

struct run {
        bool confirm;
        int asked;
};

static bool confirm_cb(void *ud, const char *ap, const char *hp)
{
        struct run *r = ud;
        r->asked++;
        return r->confirm;
}

static int dry(const char *path, const char *arch, const char *host_platform, struct run *rn,
               ps_loadsign_result *res, ps_error *err)
{
        ps_loadsign_opts o = { .archive = path, .arch = arch, .registry = "registry.local",
                               .host_platform = host_platform, .legacy_alias = true, .dry_run = true,
                               .confirm_platform = confirm_cb, .ud = rn };
        return ps_loadsign(&o, res, err);
}

#define BIG ((size_t)5 << 20)   /* above the in-memory limit: streamed, or verified only in a dry run */

/* Three images (one multi-arch index), metadata first, like `image save`. */
static void test_engine_ok(void **s)
{
        struct img a, b, c1, c2;
        mkimg(&a, "amd64", BIG, 'a');
        mkimg(&b, "amd64", 1000, 'b');
        mkimg(&c1, "amd64", 2000, 'c');
        mkimg(&c2, "arm64", 3000, 'd');
        char *ix = NULL;
        assert_true(asprintf(&ix,
                             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                             "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                             "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"architecture\":\"amd64\",\"os\":"
                             "\"linux\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                             "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"architecture\":\"arm64\",\"os\":"
                             "\"linux\"}}]}",
                             c1.manifest.d.str, c1.manifest.len, c2.manifest.d.str, c2.manifest.len) > 0);
        struct blob idx;
        mkblob(&idx, ix, strlen(ix));
        free(ix);
        const struct blob *ms[] = { &a.manifest, &b.manifest, &idx, &b.manifest };
        const char *refs[] = { "c10f/big:1", "c10f/small:2", "alt/multi:3", "c10f/small:other" };
        const char *mts[] = { NULL, NULL, "application/vnd.oci.image.index.v1+json", NULL };
        char *index = index_json(4, ms, refs, mts);

        struct tarb t;
        tar_open(&t, true);
        tar_entry(&t, "amd64", AE_IFDIR, NULL, NULL, 0);
        tar_file(&t, "amd64/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        tar_file(&t, "amd64/index.json", index, strlen(index));
        tar_blob(&t, "amd64", &idx);
        struct img *all[] = { &a, &b, &c1, &c2 };
        for (size_t i = 0; i < 4; i++) {
                tar_blob(&t, "amd64", &all[i]->manifest);
                tar_blob(&t, "amd64", &all[i]->config);
        }
        for (size_t i = 0; i < 4; i++)
                tar_blob(&t, "amd64", &all[i]->layer);
        tar_close(&t);

        struct run rn = { .confirm = false };
        ps_loadsign_result res;
        ps_error err = PS_ERROR_INIT;
        int r = dry(t.path, "amd64", "c10f", &rn, &res, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_int_equal(res.stage, PS_LS_OK);
        assert_int_equal(rn.asked, 0);
        assert_string_equal(res.archive_platform, "c10f");
        assert_int_equal(res.n_images, 4);
        assert_int_equal(res.n_blobs, 13);
        assert_int_equal(res.blobs_streamed, 0);     /* dry run */
        assert_int_equal(res.blobs_spooled, 0);
        assert_string_equal(res.images[0].dests[0].ref, "registry.local/c10f/big:1");
        assert_string_equal(res.images[0].dests[1].ref, "registry.local/k8s-c10f2/big:1");
        assert_int_equal(res.images[2].n_dests, 1);
        assert_string_equal(res.images[2].dests[0].ref, "registry.local/alt/multi:3");
        assert_int_equal(res.images[2].n_manifests, 3);
        assert_string_equal(res.images[3].dests[0].ref, "registry.local/c10f/small:other");
        ps_loadsign_result_clear(&res);

        /* another platform: asked; declined, then accepted (names kept: no re-homing) */
        r = dry(t.path, "amd64", "p10", &rn, &res, &err);
        assert_true(r < 0);
        assert_int_equal(res.stage, PS_LS_DECLINED);
        assert_int_equal(rn.asked, 1);
        ps_error_clear(&err);
        ps_loadsign_result_clear(&res);
        rn.confirm = true;
        r = dry(t.path, "amd64", "p10", &rn, &res, &err);
        assert_int_equal(r, 0);
        assert_string_equal(res.images[0].dests[0].ref, "registry.local/c10f/big:1");
        ps_loadsign_result_clear(&res);

        /* the xz stream cut in the middle (decoded in its own thread) */
        {
                FILE *f = fopen(t.path, "rb");
                assert_non_null(f);
                fseek(f, 0, SEEK_END);
                long len = ftell(f);
                rewind(f);
                char *buf = malloc((size_t)len);
                assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
                fclose(f);
                char cut[] = "/tmp/test-loadsign-cut-XXXXXX";
                int fd = mkstemp(cut);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, buf, (size_t)len / 2), len / 2);
                close(fd);
                free(buf);
                r = dry(cut, "amd64", "c10f", &rn, &res, &err);
                assert_true(r < 0);
                assert_int_equal(res.stage, PS_LS_ARCHIVE);
                if (!strstr(err.msg, "truncated xz stream"))
                        fail_msg("%s", err.msg);
                ps_error_clear(&err);
                ps_loadsign_result_clear(&res);
                unlink(cut);
        }

        /* the wrong architecture: exit 7's case */
        r = dry(t.path, "arm64", "c10f", &rn, &res, &err);
        assert_true(r < 0);
        assert_int_equal(res.stage, PS_LS_NO_ARCH);
        ps_error_clear(&err);
        ps_loadsign_result_clear(&res);
        unlink(t.path);

        /* layers first, index last (directory order): still one read */
        tar_open(&t, false);
        for (size_t i = 0; i < 4; i++)
                tar_blob(&t, "amd64", &all[i]->layer);
        for (size_t i = 0; i < 4; i++) {
                tar_blob(&t, "amd64", &all[i]->manifest);
                tar_blob(&t, "amd64", &all[i]->config);
        }
        tar_blob(&t, "amd64", &idx);
        tar_file(&t, "amd64/index.json", index, strlen(index));
        tar_file(&t, "amd64/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        tar_close(&t);
        rn.confirm = false;
        r = dry(t.path, "amd64", "c10f", &rn, &res, &err);
        if (r < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_int_equal(res.n_images, 4);
        ps_loadsign_result_clear(&res);
        unlink(t.path);

        for (size_t i = 0; i < 4; i++)
                freeimg(all[i]);
        free(idx.data);
        free(index);
}

enum hostile {
        H_TRAVERSAL,
        H_ABSOLUTE,
        H_SYMLINK,
        H_MISMATCH,
        H_MISSING,
        H_NO_INDEX,
        H_DEEP,
        H_K8S,
        H_DUP_DEST,
        H_NO_NAME,
        H_DEEP_MANIFEST,
};

static ps_ls_stage hostile(enum hostile h, char **msg)
{
        struct img a;
        mkimg(&a, "amd64", 100, 'a');
        const struct blob *ms[] = { &a.manifest, &a.config };
        const char *refs[] = { h == H_K8S ? "k8s-c10f1/pause:1" : "c10f/pause:1", "c10f/pause:1" };
        const char *mts[] = { NULL, "application/vnd.oci.image.manifest.v1+json" };
        char *index = index_json(h == H_DUP_DEST ? 2 : 1, ms, refs, mts);
        if (h == H_NO_NAME) {
                free(index);
                assert_true(asprintf(&index, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
                                             "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\","
                                             "\"size\":%zu}]}",
                                     a.manifest.d.str, a.manifest.len) > 0);
        }
        if (h == H_DEEP) {
                free(index);
                size_t depth = 200;
                index = malloc(depth * 2 + 64);
                char *p = index + sprintf(index, "{\"schemaVersion\":2,\"manifests\":[],\"x\":");
                for (size_t i = 0; i < depth; i++)
                        *p++ = '[';
                for (size_t i = 0; i < depth; i++)
                        *p++ = ']';
                strcpy(p, "}");
        }
        if (h == H_DEEP_MANIFEST) {
                /* a manifest nested too deep replaces the real one */
                size_t depth = 100;
                char *m = malloc(depth * 2 + 64);
                char *p = m + sprintf(m, "{\"schemaVersion\":2,\"x\":");
                for (size_t i = 0; i < depth; i++)
                        *p++ = '[';
                for (size_t i = 0; i < depth; i++)
                        *p++ = ']';
                strcpy(p, "}");
                free(a.manifest.data);
                mkblob(&a.manifest, m, strlen(m));
                free(m);
                free(index);
                const struct blob *ms2[] = { &a.manifest };
                index = index_json(1, ms2, refs, NULL);
        }
        struct tarb t;
        tar_open(&t, false);
        tar_file(&t, "amd64/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        if (h != H_NO_INDEX)
                tar_file(&t, "amd64/index.json", index, strlen(index));
        tar_blob(&t, "amd64", &a.manifest);
        if (h != H_MISSING)
                tar_blob(&t, "amd64", &a.config);
        if (h == H_TRAVERSAL)
                tar_file(&t, "amd64/../../etc/evil", "x", 1);
        if (h == H_ABSOLUTE)
                tar_file(&t, "/amd64/blobs/sha256/evil", "x", 1);
        if (h == H_SYMLINK) {
                char name[128];
                snprintf(name, sizeof(name), "amd64/blobs/sha256/%s", ps_digest_hex(&a.layer.d));
                tar_entry(&t, name, AE_IFLNK, "/etc/passwd", NULL, 0);
        } else if (h == H_MISMATCH) {
                char name[128];
                snprintf(name, sizeof(name), "amd64/blobs/sha256/%s", ps_digest_hex(&a.layer.d));
                a.layer.data[0] ^= 1;
                tar_file(&t, name, a.layer.data, a.layer.len);
        } else {
                tar_blob(&t, "amd64", &a.layer);
        }
        tar_close(&t);
        struct run rn = { 0 };
        ps_loadsign_result res;
        ps_error err = PS_ERROR_INIT;
        int r = dry(t.path, "amd64", "c10f", &rn, &res, &err);
        ps_ls_stage st = r < 0 ? res.stage : PS_LS_OK;
        *msg = err.msg ? strdup(err.msg) : NULL;
        ps_error_clear(&err);
        ps_loadsign_result_clear(&res);
        unlink(t.path);
        free(index);
        freeimg(&a);
        return st;
}

static void test_engine_hostile(void **s)
{
        static const struct {
                enum hostile h;
                ps_ls_stage want;
                const char *msg;
        } cases[] = {
                { H_TRAVERSAL, PS_LS_ARCHIVE, "escapes the archive" },
                { H_ABSOLUTE, PS_LS_ARCHIVE, "absolute paths" },
                { H_SYMLINK, PS_LS_ARCHIVE, "symbolic links" },
                { H_MISMATCH, PS_LS_ARCHIVE, "does not match" },
                { H_MISSING, PS_LS_ARCHIVE, "not in the archive" },
                { H_NO_INDEX, PS_LS_NO_INDEX, "index.json" },
                { H_DEEP, PS_LS_ARCHIVE, "nesting" },
                { H_K8S, PS_LS_DECLINED, "k8s-" },
                { H_DUP_DEST, PS_LS_ARCHIVE, "different digests" },
                { H_NO_NAME, PS_LS_ARCHIVE, "no org.opencontainers.image.ref.name" },
                { H_DEEP_MANIFEST, PS_LS_ARCHIVE, "nesting" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                char *msg = NULL;
                ps_ls_stage st = hostile(cases[i].h, &msg);
                if (st != cases[i].want || !msg || !strstr(msg, cases[i].msg))
                        fail_msg("case %zu: stage %d (want %d): %s (want \"%s\")", i, st, cases[i].want,
                                 msg ? msg : "(no message)", cases[i].msg);
                free(msg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_ref_name), cmocka_unit_test(test_ref_platform),
                cmocka_unit_test(test_namespace),      cmocka_unit_test(test_destinations),
                cmocka_unit_test(test_gid_member),     cmocka_unit_test(test_engine_ok),
                cmocka_unit_test(test_engine_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
