/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "oci.h"

static char *fixture(const char *name, size_t *len)
{
        const char *dir = getenv("PODSEC_FIXTURES");
        assert_non_null(dir);
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/oci/%s", dir, name) > 0);
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(p, 1 << 20, &buf, len, &err) < 0)
                fail_msg("%s", err.msg);
        return buf;
}

#define assert_msg(err, needle)                                                         \
        do {                                                                            \
                if (!(err).msg || !strstr((err).msg, (needle)))                         \
                        fail_msg("message \"%s\" lacks \"%s\"", (err).msg ? (err).msg : "(none)", \
                                 (needle));                                             \
        } while (0)

static void test_kinds(void **s)
{
        assert_int_equal(ps_oci_kind_of(PS_MT_OCI_MANIFEST), PS_OCI_MANIFEST);
        assert_int_equal(ps_oci_kind_of(PS_MT_DOCKER_LIST), PS_OCI_DOCKER_LIST);
        assert_int_equal(ps_oci_kind_of(PS_MT_DOCKER_V1_SIGNED), PS_OCI_DOCKER_V1);
        assert_int_equal(ps_oci_kind_of("text/plain"), PS_OCI_UNKNOWN);
        assert_int_equal(ps_oci_kind_of(NULL), PS_OCI_UNKNOWN);
        assert_string_equal(ps_oci_media_type(PS_OCI_INDEX), PS_MT_OCI_INDEX);
        assert_string_equal(ps_oci_media_type(PS_OCI_UNKNOWN), "");
        assert_true(ps_oci_kind_is_manifest(PS_OCI_DOCKER_MANIFEST));
        assert_false(ps_oci_kind_is_manifest(PS_OCI_INDEX));
        assert_true(ps_oci_kind_is_index(PS_OCI_DOCKER_LIST));
}

static void test_manifest_oci(void **s)
{
        size_t len;
        _cleanup_free_ char *buf = fixture("manifest-oci.json", &len);
        _cleanup_(ps_manifest_freep) ps_manifest *m = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_manifest_parse(buf, len, NULL, &m, &err), 0);
        assert_int_equal(m->kind, PS_OCI_MANIFEST);
        assert_string_equal(m->media_type, PS_MT_OCI_MANIFEST);
        assert_string_equal(m->config.media_type, PS_MT_OCI_CONFIG);
        assert_int_equal(m->n_layers, 2);
        assert_int_equal(m->layers[1].size, 5678);
        assert_string_equal(m->layers[0].annotations[0].key,
                            "io.github.containers.zstd-chunked.manifest-checksum");
        assert_int_equal(m->n_annotations, 1);
        /* the exact bytes are kept and hashed */
        assert_int_equal(m->raw_len, len);
        assert_memory_equal(m->raw, buf, len);
        ps_digest d;
        assert_int_equal(ps_digest_buffer(buf, len, &d, &err), 0);
        assert_string_equal(m->digest.str, d.str);
        /* same with a matching hint */
        ps_manifest *m2 = NULL;
        assert_int_equal(ps_manifest_parse(buf, len, PS_MT_OCI_MANIFEST, &m2, &err), 0);
        ps_manifest_free(m2);
        /* a contradicting hint */
        assert_int_equal(ps_manifest_parse(buf, len, PS_MT_DOCKER_MANIFEST, &m2, &err), -EINVAL);
        assert_msg(err, "does not match");
        ps_error_clear(&err);
        /* an index hint */
        assert_int_equal(ps_manifest_parse(buf, len, PS_MT_OCI_INDEX, &m2, &err), -EINVAL);
        assert_msg(err, "does not match the media type " PS_MT_OCI_INDEX " it was referred to by");
        ps_error_clear(&err);
        /* blobs */
        const ps_descriptor **blobs = NULL;
        size_t nb = 0;
        assert_int_equal(ps_manifest_blobs(m, &blobs, &nb, &err), 0);
        assert_int_equal(nb, 3);
        assert_ptr_equal(blobs[0], &m->config);
        assert_ptr_equal(blobs[2], &m->layers[1]);
        free(blobs);
        ps_descriptor md;
        assert_int_equal(ps_manifest_descriptor(m, &md, &err), 0);
        assert_string_equal(md.media_type, PS_MT_OCI_MANIFEST);
        assert_int_equal(md.size, (int64_t)len);
        assert_true(ps_digest_equal(&md.digest, &m->digest));
        ps_descriptor_clear(&md);
}

static void test_manifest_docker(void **s)
{
        size_t len;
        _cleanup_free_ char *buf = fixture("manifest-docker.json", &len);
        _cleanup_(ps_manifest_freep) ps_manifest *m = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_manifest_parse(buf, len, PS_MT_DOCKER_MANIFEST, &m, &err), 0);
        assert_int_equal(m->kind, PS_OCI_DOCKER_MANIFEST);
        assert_string_equal(m->config.media_type, PS_MT_DOCKER_CONFIG);
        assert_int_equal(ps_oci_detect(buf, len), PS_OCI_DOCKER_MANIFEST);
}

static void test_manifest_kind_rules(void **s)
{
        const char *nomt = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\",\"digest\":"
                           "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\","
                           "\"size\":0},\"layers\":[]}";
        ps_error err = PS_ERROR_INIT;
        ps_manifest *m = NULL;
        assert_int_equal(ps_manifest_parse(nomt, strlen(nomt), NULL, &m, &err), 0);
        assert_int_equal(m->kind, PS_OCI_MANIFEST);
        assert_int_equal(m->n_layers, 0);
        ps_manifest_free(m);
        assert_int_equal(ps_manifest_parse(nomt, strlen(nomt), PS_MT_DOCKER_MANIFEST, &m, &err), 0);
        assert_int_equal(m->kind, PS_OCI_DOCKER_MANIFEST);
        ps_manifest_free(m);
        assert_int_equal(ps_oci_detect(nomt, strlen(nomt)), PS_OCI_MANIFEST);
        assert_int_equal(ps_manifest_parse(nomt, strlen(nomt), "text/plain", &m, &err), -EINVAL);
        assert_msg(err, "not a supported image manifest type");
        ps_error_clear(&err);
}

struct bad {
        const char *json;
        int code;
        const char *msg;
};

#define DG "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
#define CFG "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":" DG ",\"size\":2}"

static void test_manifest_bad(void **s)
{
        static const struct bad cases[] = {
                { "", -EINVAL, "not valid JSON" },
                { "[]", -EINVAL, "not a JSON object" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[]} x", -EINVAL, "not valid JSON" },
                { "{" CFG ",\"layers\":[]}", -EINVAL, "\"schemaVersion\" is missing" },
                { "{\"schemaVersion\":\"2\"," CFG ",\"layers\":[]}", -EINVAL, "must be an integer" },
                { "{\"schemaVersion\":3," CFG ",\"layers\":[]}", -EINVAL, "expected 2" },
                { "{\"schemaVersion\":1,\"fsLayers\":[]}", -ENOTSUP, "schema 1" },
                { "{\"schemaVersion\":2,\"mediaType\":\"" PS_MT_DOCKER_V1_SIGNED "\"," CFG ",\"layers\":[]}", -ENOTSUP, "schema 1" },
                { "{\"schemaVersion\":2,\"layers\":[]}", -EINVAL, "\"config\" is missing" },
                { "{\"schemaVersion\":2," CFG "}", -EINVAL, "\"layers\" is missing" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":{}}", -EINVAL, "\"layers\" must be an array" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":\"sha512:00\",\"size\":1}]}",
                  -EINVAL, "layers[0]: \"digest\": invalid digest \"sha512:00\": only sha256" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":" DG ",\"size\":-1}]}",
                  -EINVAL, "\"size\" is negative" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":" DG ",\"size\":1.5}]}",
                  -EINVAL, "\"size\" must be an integer" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":" DG "}]}",
                  -EINVAL, "\"size\" is missing" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"nonsense\",\"digest\":" DG ",\"size\":1}]}",
                  -EINVAL, "not a valid media type" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"digest\":" DG ",\"size\":1}]}",
                  -EINVAL, "layers[0]: \"mediaType\" is missing" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":" DG ",\"size\":1,\"annotations\":{\"k\":1}}]}",
                  -EINVAL, "annotation \"k\" must be a string" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[],\"annotations\":[]}", -EINVAL, "\"annotations\" must be an object" },
                { "{\"schemaVersion\":2,\"schemaVersion\":2," CFG ",\"layers\":[]}", -EINVAL, "duplicate" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[],\"manifests\":[]}", -EINVAL, "ambiguous" },
                { "{\"schemaVersion\":2,\"mediaType\":\"" PS_MT_OCI_INDEX "\"," CFG ",\"layers\":[]}", -EINVAL, "not an image manifest" },
                { "{\"schemaVersion\":2,\"mediaType\":\"x/y\"," CFG ",\"layers\":[]}", -EINVAL, "not a image manifest media type" },
                { "{\"schemaVersion\":2,\"mediaType\":7," CFG ",\"layers\":[]}", -EINVAL, "\"mediaType\" must be a string" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[],\"subject\":{\"mediaType\":\"a/b\"}}", -EINVAL, "subject" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[{\"mediaType\":\"a/b\",\"digest\":" DG ",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
                  -EINVAL, "platform: \"architecture\" is missing" },
                { "{\"schemaVersion\":2,\"config\":\"x\",\"layers\":[]}", -EINVAL, "config: a descriptor must be an object" },
                { "{\"schemaVersion\":2," CFG ",\"layers\":[],\"x\":\"\\u0000\"}", -EINVAL, "not valid JSON" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                ps_error err = PS_ERROR_INIT;
                ps_manifest *m = NULL;
                int r = ps_manifest_parse(cases[i].json, strlen(cases[i].json), NULL, &m, &err);
                if (r != cases[i].code)
                        fail_msg("case %zu: got %d (%s), expected %d", i, r, err.msg, cases[i].code);
                assert_null(m);
                assert_msg(err, cases[i].msg);
                assert_msg(err, "image manifest");
                ps_error_clear(&err);
        }
}

static void test_limits(void **s)
{
        ps_error err = PS_ERROR_INIT;
        /* 10000 '[' is refused before jansson sees it */
        char *deep = malloc(20001);
        memset(deep, '[', 10000);
        memset(deep + 10000, ']', 10000);
        deep[20000] = '\0';
        ps_manifest *m = NULL;
        assert_int_equal(ps_manifest_parse(deep, 20000, NULL, &m, &err), -E2BIG);
        assert_msg(err, "deeper than 64 levels");
        ps_error_clear(&err);
        assert_int_equal(ps_oci_detect(deep, 20000), PS_OCI_UNKNOWN);
        /* the boundary */
        assert_int_equal(ps_json_depth_check(deep, 20000, 10000, &err), 0);
        assert_int_equal(ps_json_depth_check(deep + 9936, 128, 64, &err), 0);
        assert_int_equal(ps_json_depth_check(deep + 9935, 130, 64, &err), -E2BIG);
        ps_error_clear(&err);
        free(deep);
        /* brackets inside strings do not count; escaped quotes do not end them */
        const char *str = "{\"a\":\"[[[[[[[[[[\\\"[[[[[[[[[[[[\",\"b\":[[]]}";
        assert_int_equal(ps_json_depth_check(str, strlen(str), 3, &err), 0);
        assert_int_equal(ps_json_depth_check(str, strlen(str), 2, &err), -E2BIG);
        ps_error_clear(&err);
        /* deep nesting in an object value also counts */
        _cleanup_free_ char *obj = malloc(1000);
        int n = snprintf(obj, 1000, "{\"schemaVersion\":2,\"x\":");
        for (int i = 0; i < 70; i++)
                obj[n++] = '{', obj[n++] = '"', obj[n++] = 'a', obj[n++] = '"', obj[n++] = ':';
        obj[n++] = '1';
        for (int i = 0; i < 71; i++)
                obj[n++] = '}';
        assert_int_equal(ps_manifest_parse(obj, (size_t)n, NULL, &m, &err), -E2BIG);
        ps_error_clear(&err);
        /* size limit */
        size_t big = PS_OCI_MAX_MANIFEST + 1;
        char *huge = malloc(big);
        memset(huge, ' ', big);
        huge[0] = '{';
        huge[big - 1] = '}';
        assert_int_equal(ps_manifest_parse(huge, big, NULL, &m, &err), -EFBIG);
        assert_msg(err, "too large");
        ps_error_clear(&err);
        ps_index *idx = NULL;
        assert_int_equal(ps_layout_index_parse(huge, big, &idx, &err), -EFBIG);
        assert_msg(err, "index.json is too large");
        ps_error_clear(&err);
        free(huge);
}

static void test_index(void **s)
{
        size_t len;
        _cleanup_free_ char *buf = fixture("index-multiarch.json", &len);
        _cleanup_(ps_index_freep) ps_index *idx = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_index_parse(buf, len, PS_MT_OCI_INDEX, &idx, &err), 0);
        assert_int_equal(idx->kind, PS_OCI_INDEX);
        assert_int_equal(idx->n_manifests, 8);
        assert_int_equal(ps_oci_detect(buf, len), PS_OCI_INDEX);
        assert_string_equal(idx->manifests[1].platform->variant, "v8");
        assert_null(idx->manifests[0].platform->variant);
        assert_int_equal(idx->raw_len, len);

        assert_int_equal(ps_index_select(idx, NULL, "amd64", NULL, &err), 0);
        assert_int_equal(ps_index_select(idx, "linux", "x86_64", NULL, &err), 0);
        assert_int_equal(ps_index_select(idx, NULL, "arm64", NULL, &err), 1);
        assert_int_equal(ps_index_select(idx, NULL, "arm64", "v8", &err), 1);
        assert_int_equal(ps_index_select(idx, NULL, "aarch64", NULL, &err), 1);
        assert_int_equal(ps_index_select(idx, NULL, "arm", NULL, &err), 3);
        assert_int_equal(ps_index_select(idx, NULL, "arm", "v6", &err), 2);
        assert_int_equal(ps_index_select(idx, NULL, "ppc64le", NULL, &err), 4);
        assert_int_equal(ps_index_select(idx, NULL, "386", NULL, &err), 5);
        /* an unknown media type is ignored even though its platform matches */
        assert_int_equal(ps_index_select(idx, NULL, "s390x", NULL, &err), -ENOENT);
        assert_msg(err, "no manifest for linux/s390x in the index (it has linux/amd64, linux/arm64/v8, linux/arm/v6");
        ps_error_clear(&err);
        assert_int_equal(ps_index_select(idx, NULL, "arm64", "v9", &err), -ENOENT);
        assert_msg(err, "linux/arm64/v9");
        ps_error_clear(&err);
        assert_int_equal(ps_index_select(idx, "windows", "amd64", NULL, &err), -ENOENT);
        ps_error_clear(&err);
        assert_int_equal(ps_index_select(idx, NULL, "", NULL, &err), -EINVAL);
        ps_error_clear(&err);

        _cleanup_free_ char *ps = ps_platform_string(idx->manifests[3].platform);
        assert_string_equal(ps, "linux/arm/v7");
        _cleanup_free_ char *np = ps_platform_string(NULL);
        assert_string_equal(np, "(no platform)");

        /* an index refuses to be a manifest and vice versa */
        ps_manifest *m = NULL;
        assert_int_equal(ps_manifest_parse(buf, len, NULL, &m, &err), -EINVAL);
        assert_msg(err, "not an image manifest");
        ps_error_clear(&err);
        size_t mlen;
        _cleanup_free_ char *mbuf = fixture("manifest-oci.json", &mlen);
        ps_index *i2 = NULL;
        assert_int_equal(ps_index_parse(mbuf, mlen, NULL, &i2, &err), -EINVAL);
        assert_msg(err, "not an image index");
        ps_error_clear(&err);
        const char *amb = "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}";
        assert_int_equal(ps_index_parse(amb, strlen(amb), NULL, &i2, &err), -EINVAL);
        assert_msg(err, "ambiguous");
        ps_error_clear(&err);
        const char *nom = "{\"schemaVersion\":2}";
        assert_int_equal(ps_index_parse(nom, strlen(nom), NULL, &i2, &err), -EINVAL);
        assert_msg(err, "image index: \"manifests\" is missing");
        ps_error_clear(&err);
        const char *badp = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"a/b\",\"digest\":" DG
                           ",\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\",\"variant\":3}}]}";
        assert_int_equal(ps_index_parse(badp, strlen(badp), NULL, &i2, &err), -EINVAL);
        assert_msg(err, "manifests[0]: platform: \"variant\" must be a string");
        ps_error_clear(&err);
}

static void test_docker_list(void **s)
{
        size_t len;
        _cleanup_free_ char *buf = fixture("list-docker.json", &len);
        _cleanup_(ps_index_freep) ps_index *idx = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_index_parse(buf, len, NULL, &idx, &err), 0);
        assert_int_equal(idx->kind, PS_OCI_DOCKER_LIST);
        assert_int_equal(ps_index_select(idx, NULL, "arm64", NULL, &err), 1);
        assert_int_equal(ps_oci_detect(buf, len), PS_OCI_DOCKER_LIST);
        /* a layout's index.json must be an OCI index */
        ps_index *i2 = NULL;
        assert_int_equal(ps_layout_index_parse(buf, len, &i2, &err), -EINVAL);
        assert_msg(err, "index.json: mediaType " PS_MT_DOCKER_LIST " does not match");
        ps_error_clear(&err);
}

static void test_layout_index(void **s)
{
        size_t len;
        _cleanup_free_ char *buf = fixture("index.json", &len);
        _cleanup_(ps_index_freep) ps_index *idx = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_layout_index_parse(buf, len, &idx, &err), 0);
        assert_int_equal(idx->n_manifests, 2);
        assert_string_equal(ps_descriptor_annotation(&idx->manifests[0], PS_OCI_REF_NAME), "c10f/pause:3.9");
        assert_string_equal(ps_descriptor_annotation(&idx->manifests[1], PS_OCI_REF_NAME), "c10f/flannel:v0.19.2");
        assert_string_equal(idx->manifests[1].annotations[1].key, "org.example");
        assert_null(ps_descriptor_annotation(&idx->manifests[1], "nope"));
        assert_null(idx->manifests[0].platform);
        size_t olen;
        _cleanup_free_ char *ol = fixture("oci-layout", &olen);
        assert_int_equal(ps_oci_layout_check(ol, olen, &err), 0);
        assert_int_equal(ps_oci_layout_check("{\"imageLayoutVersion\":\"2.0.0\"}", 30, &err), -ENOTSUP);
        assert_msg(err, "not supported");
        ps_error_clear(&err);
        assert_int_equal(ps_oci_layout_check("{}", 2, &err), -EINVAL);
        assert_msg(err, "oci-layout: \"imageLayoutVersion\" is missing");
        ps_error_clear(&err);
        assert_int_equal(ps_oci_layout_check("1.0.0", 5, &err), -EINVAL);
        assert_msg(err, "oci-layout is not valid JSON");
        ps_error_clear(&err);
}

static void test_config(void **s)
{
        size_t len;
        _cleanup_free_ char *buf = fixture("config.json", &len);
        _cleanup_(ps_image_config_freep) ps_image_config *c = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_image_config_parse(buf, len, &c, &err), 0);
        assert_string_equal(c->architecture, "amd64");
        assert_string_equal(c->os, "linux");
        assert_null(c->variant);
        assert_int_equal(c->n_diff_ids, 2);
        assert_int_equal(ps_oci_detect(buf, len), PS_OCI_UNKNOWN);
        static const struct bad cases[] = {
                { "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}", -EINVAL, "\"architecture\" is missing" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\"}", -EINVAL, "\"rootfs\" is missing" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"x\",\"diff_ids\":[]}}", -EINVAL, "expected \"layers\"" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}", -EINVAL, "\"diff_ids\" is missing" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:1\"]}}", -EINVAL, "diff_ids[0]: invalid digest" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]}}", -EINVAL, "diff_ids[0] must be a string" },
                { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":[]}", -EINVAL, "\"rootfs\" must be an object" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                ps_image_config *c2 = NULL;
                int r = ps_image_config_parse(cases[i].json, strlen(cases[i].json), &c2, &err);
                if (r != cases[i].code)
                        fail_msg("case %zu: got %d (%s)", i, r, err.msg);
                assert_msg(err, cases[i].msg);
                assert_msg(err, "image config");
                ps_error_clear(&err);
        }
}

static void test_blobs_dedup(void **s)
{
        const char *j = "{\"schemaVersion\":2," CFG ",\"layers\":["
                        "{\"mediaType\":\"a/b\",\"digest\":" DG ",\"size\":2},"
                        "{\"mediaType\":\"a/b\",\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":3}]}";
        _cleanup_(ps_manifest_freep) ps_manifest *m = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_manifest_parse(j, strlen(j), NULL, &m, &err), 0);
        const ps_descriptor **b = NULL;
        size_t n = 0;
        assert_int_equal(ps_manifest_blobs(m, &b, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_ptr_equal(b[1], &m->layers[1]);
        free(b);
}

static void test_rewrite(void **s)
{
        size_t len, clen;
        _cleanup_free_ char *buf = fixture("manifest-docker.json", &len);
        _cleanup_free_ char *cbuf = fixture("config.json", &clen);
        _cleanup_(ps_manifest_freep) ps_manifest *m = NULL;
        _cleanup_(ps_image_config_freep) ps_image_config *c = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_manifest_parse(buf, len, NULL, &m, &err), 0);
        assert_int_equal(ps_image_config_parse(cbuf, clen, &c, &err), 0);
        int64_t sizes[2] = { 10240, 20480 };
        _cleanup_(ps_manifest_freep) ps_manifest *u = NULL;
        assert_int_equal(ps_manifest_uncompress_layers(m, c, sizes, &u, &err), 0);
        assert_int_equal(u->kind, PS_OCI_MANIFEST);
        assert_string_equal(u->config.media_type, PS_MT_OCI_CONFIG);
        assert_true(ps_digest_equal(&u->config.digest, &m->config.digest));
        assert_int_equal(u->config.size, m->config.size);
        assert_int_equal(u->n_layers, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(u->layers[i].media_type, PS_MT_OCI_LAYER);
                assert_true(ps_digest_equal(&u->layers[i].digest, &c->diff_ids[i]));
                assert_int_equal(u->layers[i].size, sizes[i]);
        }
        assert_false(ps_digest_equal(&u->digest, &m->digest));
        /* its raw bytes parse to the same and hash to its digest */
        ps_digest d;
        assert_int_equal(ps_digest_buffer(u->raw, u->raw_len, &d, &err), 0);
        assert_true(ps_digest_equal(&d, &u->digest));
        assert_non_null(strstr(u->raw, "\"mediaType\":\"" PS_MT_OCI_MANIFEST "\""));

        /* an OCI manifest keeps its unknown fields and annotations; layer
         * annotations go */
        size_t olen;
        _cleanup_free_ char *obuf = fixture("manifest-oci.json", &olen);
        _cleanup_(ps_manifest_freep) ps_manifest *om = NULL;
        assert_int_equal(ps_manifest_parse(obuf, olen, NULL, &om, &err), 0);
        _cleanup_(ps_manifest_freep) ps_manifest *ou = NULL;
        assert_int_equal(ps_manifest_uncompress_layers(om, c, sizes, &ou, &err), 0);
        assert_non_null(strstr(ou->raw, "\"x-unknown-field\":{\"nested\":[1,2,3]}"));
        assert_null(strstr(ou->raw, "zstd-chunked"));
        assert_int_equal(ou->n_annotations, 1);
        assert_null(ou->layers[0].annotations);

        /* a config that does not belong, or whose diff_ids do not add up */
        _cleanup_(ps_image_config_freep) ps_image_config *c1 = NULL;
        const char *one = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" DG "]}}";
        assert_int_equal(ps_image_config_parse(one, strlen(one), &c1, &err), 0);
        ps_manifest *bad = NULL;
        assert_int_equal(ps_manifest_uncompress_layers(m, c1, sizes, &bad, &err), -EINVAL);
        assert_msg(err, "is not its config");
        ps_error_clear(&err);
        c1->digest = m->config.digest;
        assert_int_equal(ps_manifest_uncompress_layers(m, c1, sizes, &bad, &err), -EINVAL);
        assert_msg(err, "has 2 layers but its config lists 1 diff_ids");
        ps_error_clear(&err);
        assert_int_equal(ps_manifest_replace_layers(m, u->layers, 1, &bad, &err), -EINVAL);
        ps_error_clear(&err);

        /* index rewriting: the entry's platform and annotations stay */
        size_t ilen;
        _cleanup_free_ char *ibuf = fixture("index-multiarch.json", &ilen);
        _cleanup_(ps_index_freep) ps_index *idx = NULL;
        assert_int_equal(ps_index_parse(ibuf, ilen, NULL, &idx, &err), 0);
        ps_descriptor nd;
        assert_int_equal(ps_manifest_descriptor(u, &nd, &err), 0);
        _cleanup_(ps_index_freep) ps_index *ni = NULL;
        assert_int_equal(ps_index_replace(idx, &idx->manifests[3].digest, &nd, &ni, &err), 0);
        assert_int_equal(ni->n_manifests, 8);
        assert_true(ps_digest_equal(&ni->manifests[3].digest, &u->digest));
        assert_int_equal(ni->manifests[3].size, (int64_t)u->raw_len);
        assert_string_equal(ni->manifests[3].platform->variant, "v7");
        assert_true(ps_digest_equal(&ni->manifests[2].digest, &idx->manifests[2].digest));
        assert_int_equal(ps_index_select(ni, NULL, "arm", NULL, &err), 3);
        ps_index *none = NULL;
        assert_int_equal(ps_index_replace(idx, &u->digest, &nd, &none, &err), -ENOENT);
        assert_msg(err, "has no entry for");
        ps_error_clear(&err);
        /* a Docker list becomes an OCI index */
        size_t llen;
        _cleanup_free_ char *lbuf = fixture("list-docker.json", &llen);
        _cleanup_(ps_index_freep) ps_index *dl = NULL;
        assert_int_equal(ps_index_parse(lbuf, llen, NULL, &dl, &err), 0);
        _cleanup_(ps_index_freep) ps_index *dl2 = NULL;
        assert_int_equal(ps_index_replace(dl, &dl->manifests[0].digest, &nd, &dl2, &err), 0);
        assert_int_equal(dl2->kind, PS_OCI_INDEX);
        ps_descriptor_clear(&nd);
}

static void test_index_build(void **s)
{
        ps_error err = PS_ERROR_INIT;
        ps_descriptor d[2];
        ps_digest a, b;
        assert_int_equal(ps_digest_buffer("a", 1, &a, &err), 0);
        assert_int_equal(ps_digest_buffer("b", 1, &b, &err), 0);
        assert_int_equal(ps_descriptor_init(&d[0], PS_MT_OCI_MANIFEST, &a, 10, &err), 0);
        assert_int_equal(ps_descriptor_annotate(&d[0], PS_OCI_REF_NAME, "c10f/pause:3.9", &err), 0);
        assert_int_equal(ps_descriptor_annotate(&d[0], "z", "1", &err), 0);
        assert_int_equal(ps_descriptor_annotate(&d[0], PS_OCI_REF_NAME, "c10f/pause:3.10", &err), 0);
        assert_int_equal(ps_descriptor_init(&d[1], PS_MT_OCI_INDEX, &b, 20, &err), 0);
        d[1].platform = calloc(1, sizeof(*d[1].platform));
        d[1].platform->architecture = strdup("arm");
        d[1].platform->os = strdup("linux");
        d[1].platform->variant = strdup("v7");
        char *out = NULL;
        size_t len = 0;
        assert_int_equal(ps_index_build(d, 2, &out, &len, &err), 0);
        _cleanup_(ps_index_freep) ps_index *idx = NULL;
        assert_int_equal(ps_layout_index_parse(out, len, &idx, &err), 0);
        assert_int_equal(idx->n_manifests, 2);
        assert_string_equal(ps_descriptor_annotation(&idx->manifests[0], PS_OCI_REF_NAME), "c10f/pause:3.10");
        assert_int_equal(idx->manifests[0].n_annotations, 2);
        assert_string_equal(idx->manifests[1].platform->variant, "v7");
        ps_descriptor cp;
        assert_int_equal(ps_descriptor_copy(&cp, &d[1], &err), 0);
        assert_string_equal(cp.platform->architecture, "arm");
        ps_descriptor_clear(&cp);
        assert_int_equal(ps_descriptor_copy(&cp, &d[0], &err), 0);
        assert_string_equal(ps_descriptor_annotation(&cp, "z"), "1");
        ps_descriptor_clear(&cp);
        ps_descriptor_clear(&d[0]);
        ps_descriptor_clear(&d[1]);
        free(out);
        assert_int_equal(ps_descriptor_init(&cp, "bad", &a, 1, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_descriptor_init(&cp, "a/b", &a, -1, &err), -EINVAL);
        ps_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_manifest_oci),
                cmocka_unit_test(test_manifest_docker),
                cmocka_unit_test(test_manifest_kind_rules),
                cmocka_unit_test(test_manifest_bad),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_index),
                cmocka_unit_test(test_docker_list),
                cmocka_unit_test(test_layout_index),
                cmocka_unit_test(test_config),
                cmocka_unit_test(test_blobs_dedup),
                cmocka_unit_test(test_rewrite),
                cmocka_unit_test(test_index_build),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
