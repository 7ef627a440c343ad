/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target for the archive reader over an in-memory archive: a
 * one-pass walk (blobs read by blocks, by small copies, or skipped, chosen
 * by the digest), then pass 1 and pass 2.  Invariants: a blob read to its
 * end returns 0 only when its sha256 equals its name; the byte count of a
 * verified blob is its header size; pass 2 sees exactly pass 1's blobs. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "digest.h"
#include "ps-archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_index(void *ud, ps_index *idx, ps_error *err)
{
        ps_index_free(idx);
        return 0;
}

static int on_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        unsigned mode = (unsigned char)ps_digest_hex(&b->digest)[0] % 3;
        if (mode == 2)
                return PS_ARCHIVE_SKIP;
        ps_sha256 *h = NULL;
        if (ps_sha256_new(&h, err) < 0)
                return -ENOMEM;
        uint64_t n = 0;
        int r;
        if (mode == 0) {
                const void *d;
                size_t len;
                while ((r = ps_archive_read_block(ar, &d, &len, err)) > 0) {
                        ps_sha256_update(h, d, len, NULL);
                        n += len;
                }
        } else {
                char buf[13];
                ssize_t k;
                while ((k = ps_archive_read(ar, buf, sizeof(buf), err)) > 0) {
                        ps_sha256_update(h, buf, (size_t)k, NULL);
                        n += (uint64_t)k;
                }
                r = (int)k;
        }
        if (r == 0) {
                ps_digest got;
                assert(ps_sha256_final(h, &got, NULL) == 0);
                assert(ps_digest_equal(&got, &b->digest));
                assert(n == (uint64_t)b->size);
        }
        ps_sha256_free(h);
        return r;
}

static int count(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        (*(size_t *)ud)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ps_error err = PS_ERROR_INIT;
        ps_archive *ar = NULL;
        if (ps_archive_open_memory(data, size, &ar, &err) < 0)
                abort();
        const ps_archive_ops ops = { .index = on_index, .blob = on_blob };
        if (ps_archive_walk(ar, "amd64", &ops, NULL, &err) < 0) {
                assert(err.msg);
                ps_error_clear(&err);
        }
        ps_archive_layout *l = NULL;
        if (ps_archive_read_layout(ar, "amd64", &l, &err) == 0) {
                for (size_t i = 0; i < l->n_images; i++) {
                        const ps_descriptor **v = NULL;
                        size_t n = 0;
                        assert(ps_archive_image_blobs(&l->images[i], &v, &n, NULL) == 0);
                        for (size_t j = 0; j < n; j++)
                                assert(ps_archive_layout_find(l, &v[j]->digest));
                        free(v);
                }
                size_t seen = 0;
                if (ps_archive_stream_blobs(ar, l, count, &seen, &err) == 0)
                        assert(seen == l->n_blobs);
                else
                        ps_error_clear(&err);
                ps_archive_layout_free(l);
        } else {
                assert(err.msg && !l);
                ps_error_clear(&err);
        }
        ps_archive_free(ar);
        return 0;
}
