/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the OCI model: every parser (manifest with and
 * without media type hints, index, layout index.json, config, oci-layout,
 * detection, digest strings) runs over the input; what parses is pushed
 * through the helpers (blob lists, platform selection, rewriting) and the
 * invariants are checked: raw bytes kept exactly, digest = sha256(raw),
 * rewritten documents parse again. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "digest.h"
#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_raw(const char *raw, size_t raw_len, const ps_digest *d, const uint8_t *data,
                      size_t size)
{
        assert(raw_len == size);
        assert(size == 0 || memcmp(raw, data, size) == 0);
        assert(raw[raw_len] == '\0');
        ps_digest again;
        assert(ps_digest_buffer(data, size, &again, NULL) == 0);
        assert(ps_digest_equal(&again, d));
}

static void manifest(const uint8_t *data, size_t size, const char *hint)
{
        ps_manifest *m = NULL;
        ps_error err = PS_ERROR_INIT;
        int r = ps_manifest_parse(data, size, hint, &m, &err);
        if (r < 0) {
                assert(err.msg && !m);
                ps_error_clear(&err);
                return;
        }
        check_raw(m->raw, m->raw_len, &m->digest, data, size);
        assert(ps_oci_kind_is_manifest(m->kind));
        assert(ps_oci_detect(data, size) == m->kind || !hint || ps_oci_detect(data, size) == PS_OCI_MANIFEST);
        const ps_descriptor **b = NULL;
        size_t n = 0;
        assert(ps_manifest_blobs(m, &b, &n, NULL) == 0);
        assert(n >= 1 && n <= m->n_layers + 1 && b[0] == &m->config);
        free(b);
        ps_descriptor md;
        assert(ps_manifest_descriptor(m, &md, NULL) == 0);
        ps_descriptor_clear(&md);
        /* rewriting with its own layers gives an OCI manifest that parses */
        ps_manifest *u = NULL;
        if (ps_manifest_replace_layers(m, m->layers, m->n_layers, &u, &err) == 0) {
                assert(u->kind == PS_OCI_MANIFEST);
                assert(u->n_layers == m->n_layers);
                for (size_t i = 0; i < u->n_layers; i++)
                        assert(ps_digest_equal(&u->layers[i].digest, &m->layers[i].digest));
                assert(ps_digest_equal(&u->config.digest, &m->config.digest));
                ps_manifest_free(u);
        } else {
                /* only a re-serialisation past the size limit may fail */
                assert(err.code == EFBIG || err.code == ENOMEM || err.code == E2BIG);
                ps_error_clear(&err);
        }
        ps_manifest_free(m);
}

static void index_doc(const uint8_t *data, size_t size, bool layout)
{
        ps_index *idx = NULL;
        ps_error err = PS_ERROR_INIT;
        int r = layout ? ps_layout_index_parse(data, size, &idx, &err)
                       : ps_index_parse(data, size, NULL, &idx, &err);
        if (r < 0) {
                assert(err.msg && !idx);
                ps_error_clear(&err);
                return;
        }
        check_raw(idx->raw, idx->raw_len, &idx->digest, data, size);
        static const char *arches[] = { "amd64", "arm64", "arm", "386", "ppc64le" };
        for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
                int p = ps_index_select(idx, NULL, arches[i], NULL, &err);
                assert(p == -ENOENT || (p >= 0 && (size_t)p < idx->n_manifests));
                ps_error_clear(&err);
        }
        for (size_t i = 0; i < idx->n_manifests; i++) {
                const ps_descriptor *d = &idx->manifests[i];
                (void)ps_descriptor_annotation(d, PS_OCI_REF_NAME);
                char *ps = ps_platform_string(d->platform);
                assert(ps);
                free(ps);
        }
        if (idx->n_manifests) {
                ps_index *ni = NULL;
                if (ps_index_replace(idx, &idx->manifests[0].digest, &idx->manifests[0], &ni, &err) == 0) {
                        assert(ni->n_manifests == idx->n_manifests);
                        assert(ni->kind == PS_OCI_INDEX);
                        ps_index_free(ni);
                } else {
                        ps_error_clear(&err);
                }
                char *out = NULL;
                size_t len = 0;
                assert(ps_index_build(idx->manifests, idx->n_manifests, &out, &len, NULL) == 0);
                ps_index *back = NULL;
                if (ps_layout_index_parse(out, len, &back, &err) == 0) {
                        assert(back->n_manifests == idx->n_manifests);
                        ps_index_free(back);
                } else {
                        ps_error_clear(&err);
                }
                free(out);
        }
        ps_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ps_error err = PS_ERROR_INIT;
        manifest(data, size, NULL);
        manifest(data, size, PS_MT_OCI_MANIFEST);
        manifest(data, size, PS_MT_DOCKER_MANIFEST);
        index_doc(data, size, false);
        index_doc(data, size, true);
        ps_image_config *c = NULL;
        if (ps_image_config_parse(data, size, &c, &err) == 0) {
                check_raw(c->raw, c->raw_len, &c->digest, data, size);
                ps_image_config_free(c);
        } else {
                assert(err.msg && !c);
                ps_error_clear(&err);
        }
        if (ps_oci_layout_check(data, size, &err) < 0)
                ps_error_clear(&err);
        (void)ps_oci_detect(data, size);
        ps_digest d;
        if (ps_digest_parse_n((const char *)data, size, &d, &err) == 0)
                assert(strlen(d.str) == PS_DIGEST_STRLEN - 1);
        else
                ps_error_clear(&err);
        if (ps_json_depth_check((const char *)data, size, PS_OCI_MAX_DEPTH, &err) < 0)
                ps_error_clear(&err);
        return 0;
}
