/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps-oci: test driver over digest/oci/archive.
 *
 *   ps-oci list ARCHIVE ARCH   both passes: metadata, then every blob
 *                              streamed and verified; one line per
 *                              index.json entry:
 *                              REF<TAB>DIGEST<TAB>MEDIATYPE<TAB>BLOBS
 *                              (REF "-" when there is none; BLOBS = config
 *                              and layer blobs, each once, including those
 *                              of a nested index's manifests)
 *   ps-oci stream ARCHIVE ARCH the same listing from one pass
 *                              (ps_archive_read_layout_streaming)
 *   ps-oci walk ARCHIVE ARCH   one pass: "index N" and "blob DIGEST SIZE"
 *                              lines as entries come, every blob verified
 *   ps-oci parse manifest|index|config|layout FILE
 *                              parse one document; prints kind and digest
 *
 * ARCHIVE "-" is standard input.  Errors go to stderr as
 * "ps-oci: MESSAGE" with exit status 1; usage errors exit 2. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cleanup.h"
#include "digest.h"
#include "fs.h"
#include "oci.h"
#include "ps-archive.h"

static int fail(ps_error *err)
{
        fprintf(stderr, "ps-oci: %s\n", ps_error_msg(err));
        ps_error_clear(err);
        return 1;
}

static int open_archive(const char *path, ps_archive **ar, ps_error *err)
{
        if (strcmp(path, "-") == 0)
                return ps_archive_open_fd(STDIN_FILENO, "standard input", ar, err);
        return ps_archive_open_file(path, ar, err);
}

static int count_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        uint64_t *bytes = ud;
        const void *d;
        size_t len;
        int r;
        while ((r = ps_archive_read_block(ar, &d, &len, err)) > 0)
                *bytes += len;
        return r;
}

static int cmd_list(const char *path, const char *arch, bool one_pass)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        if (open_archive(path, &ar, &err) < 0)
                return fail(&err);
        _cleanup_(ps_archive_layout_freep) ps_archive_layout *l = NULL;
        uint64_t bytes = 0;
        if (one_pass) {
                if (ps_archive_read_layout_streaming(ar, arch, count_blob, &bytes, &l, &err) < 0)
                        return fail(&err);
        } else {
                if (ps_archive_read_layout(ar, arch, &l, &err) < 0)
                        return fail(&err);
                if (ps_archive_stream_blobs(ar, l, count_blob, &bytes, &err) < 0)
                        return fail(&err);
        }
        if (bytes != l->blob_bytes) {
                fprintf(stderr, "ps-oci: streamed %" PRIu64 " blob bytes, expected %" PRIu64 "\n",
                        bytes, l->blob_bytes);
                return 1;
        }
        for (size_t i = 0; i < l->n_images; i++) {
                const ps_archive_image *img = &l->images[i];
                const ps_descriptor **blobs = NULL;
                size_t nb = 0;
                if (ps_archive_image_blobs(img, &blobs, &nb, &err) < 0)
                        return fail(&err);
                free(blobs);
                printf("%s\t%s\t%s\t%zu\n", img->ref_name ? img->ref_name : "-",
                       img->desc->digest.str, img->desc->media_type, nb);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("ps-oci: writing output");
                return 1;
        }
        return 0;
}

static int w_index(void *ud, ps_index *idx, ps_error *err)
{
        printf("index %zu\n", idx->n_manifests);
        ps_index_free(idx);
        return 0;
}

static int w_blob(void *ud, ps_archive *ar, const ps_archive_blob *b, ps_error *err)
{
        uint64_t n = 0;
        int r = count_blob(&n, ar, b, err);
        if (r < 0)
                return r;
        printf("blob %s %" PRId64 "\n", b->digest.str, b->size);
        return 0;
}

static int cmd_walk(const char *path, const char *arch)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_(ps_archive_freep) ps_archive *ar = NULL;
        if (open_archive(path, &ar, &err) < 0)
                return fail(&err);
        const ps_archive_ops ops = { .index = w_index, .blob = w_blob };
        if (ps_archive_walk(ar, arch, &ops, NULL, &err) < 0)
                return fail(&err);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("ps-oci: writing output");
                return 1;
        }
        return 0;
}

static int cmd_parse(const char *what, const char *path)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        if (ps_read_file(path, 16u << 20, &buf, &len, &err) < 0)
                return fail(&err);
        if (strcmp(what, "manifest") == 0) {
                ps_manifest *m = NULL;
                if (ps_manifest_parse(buf, len, NULL, &m, &err) < 0)
                        return fail(&err);
                printf("%s %s layers %zu\n", m->media_type, m->digest.str, m->n_layers);
                ps_manifest_free(m);
        } else if (strcmp(what, "index") == 0 || strcmp(what, "layout") == 0) {
                ps_index *idx = NULL;
                int r = what[0] == 'i' ? ps_index_parse(buf, len, NULL, &idx, &err)
                                       : ps_layout_index_parse(buf, len, &idx, &err);
                if (r < 0)
                        return fail(&err);
                printf("%s %s manifests %zu\n", idx->media_type, idx->digest.str, idx->n_manifests);
                ps_index_free(idx);
        } else if (strcmp(what, "config") == 0) {
                ps_image_config *c = NULL;
                if (ps_image_config_parse(buf, len, &c, &err) < 0)
                        return fail(&err);
                printf("%s/%s %s diff_ids %zu\n", c->os, c->architecture, c->digest.str, c->n_diff_ids);
                ps_image_config_free(c);
        } else {
                fprintf(stderr, "ps-oci: unknown document kind \"%s\"\n", what);
                return 2;
        }
        return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "list") == 0)
                return cmd_list(argv[2], argv[3], false);
        if (argc == 4 && strcmp(argv[1], "stream") == 0)
                return cmd_list(argv[2], argv[3], true);
        if (argc == 4 && strcmp(argv[1], "walk") == 0)
                return cmd_walk(argv[2], argv[3]);
        if (argc == 4 && strcmp(argv[1], "parse") == 0)
                return cmd_parse(argv[2], argv[3]);
        fprintf(stderr,
                "usage: ps-oci list ARCHIVE ARCH\n"
                "       ps-oci stream ARCHIVE ARCH\n"
                "       ps-oci walk ARCHIVE ARCH\n"
                "       ps-oci parse manifest|index|config|layout FILE\n");
        return 2;
}
