/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "digest.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "cleanup.h"

#define READ_BLOCK (1024 * 1024)

struct ps_sha256 {
        EVP_MD *md;
        EVP_MD_CTX *ctx;
        uint64_t count;
};

static bool is_lower_hex(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return false;
        }
        return true;
}

static int bad_digest(ps_error *err, const char *s, size_t len, const char *why)
{
        _cleanup_free_ char *v = ps_shown(s, len, 80);
        return ps_error_set(err, EINVAL, "invalid digest \"%s\": %s", v ? v : "?", why);
}

int ps_digest_parse_n(const char *s, size_t len, ps_digest *out, ps_error *err)
{
        if (!s)
                return ps_error_set(err, EINVAL, "invalid digest: no value");
        const char *colon = memchr(s, ':', len);
        if (!colon)
                return bad_digest(err, s, len, "expected ALGORITHM:HEX");
        size_t alen = (size_t)(colon - s);
        const char *hex = colon + 1;
        size_t hlen = len - alen - 1;
        if (alen != 6 || memcmp(s, "sha256", 6) != 0) {
                if (alen == 0)
                        return bad_digest(err, s, len, "the algorithm is empty");
                return bad_digest(err, s, len, "only sha256 digests are supported");
        }
        if (hlen != PS_SHA256_HEX_LEN)
                return bad_digest(err, s, len, "a sha256 digest has 64 hex digits");
        if (!is_lower_hex(hex, hlen))
                return bad_digest(err, s, len, "a sha256 digest has only lowercase hex digits");
        out->alg = PS_DIGEST_SHA256;
        memcpy(out->str, s, len);
        out->str[len] = '\0';
        return 0;
}

int ps_digest_parse(const char *s, ps_digest *out, ps_error *err)
{
        if (!s)
                return ps_error_set(err, EINVAL, "invalid digest: no value");
        return ps_digest_parse_n(s, strlen(s), out, err);
}

int ps_digest_from_hex(const char *hex, ps_digest *out, ps_error *err)
{
        if (!hex)
                return ps_error_set(err, EINVAL, "invalid sha256 digest: no value");
        size_t len = strlen(hex);
        if (len != PS_SHA256_HEX_LEN || !is_lower_hex(hex, len)) {
                _cleanup_free_ char *v = ps_shown(hex, len, 80);
                return ps_error_set(err, EINVAL,
                                    "\"%s\" is not a sha256 digest (64 lowercase hex digits)",
                                    v ? v : "?");
        }
        out->alg = PS_DIGEST_SHA256;
        memcpy(out->str, "sha256:", 7);
        memcpy(out->str + 7, hex, len + 1);
        return 0;
}

bool ps_digest_valid(const char *s)
{
        ps_digest d;
        return ps_digest_parse(s, &d, NULL) == 0;
}

bool ps_digest_equal(const ps_digest *a, const ps_digest *b)
{
        return a->alg == b->alg && a->alg != PS_DIGEST_NONE && strcmp(a->str, b->str) == 0;
}

void ps_digest_from_raw(const unsigned char raw[32], ps_digest *out)
{
        static const char hx[] = "0123456789abcdef";
        out->alg = PS_DIGEST_SHA256;
        memcpy(out->str, "sha256:", 7);
        for (int i = 0; i < 32; i++) {
                out->str[7 + 2 * i] = hx[raw[i] >> 4];
                out->str[7 + 2 * i + 1] = hx[raw[i] & 15];
        }
        out->str[7 + PS_SHA256_HEX_LEN] = '\0';
}

int ps_sha256_new(ps_sha256 **out, ps_error *err)
{
        ps_sha256 *h = calloc(1, sizeof(*h));
        if (!h)
                return ps_error_errno(err, ENOMEM, "sha256");
        h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        h->ctx = EVP_MD_CTX_new();
        if (!h->md || !h->ctx || EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1) {
                ps_sha256_free(h);
                return ps_error_set(err, EIO, "sha256: OpenSSL could not set up the digest");
        }
        *out = h;
        return 0;
}

int ps_sha256_update(ps_sha256 *h, const void *data, size_t len, ps_error *err)
{
        if (len == 0)
                return 0;
        if (EVP_DigestUpdate(h->ctx, data, len) != 1)
                return ps_error_set(err, EIO, "sha256: OpenSSL digest update failed");
        h->count += len;
        return 0;
}

int ps_sha256_reset(ps_sha256 *h, ps_error *err)
{
        h->count = 0;
        if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1)
                return ps_error_set(err, EIO, "sha256: OpenSSL digest reset failed");
        return 0;
}

int ps_sha256_final(ps_sha256 *h, ps_digest *out, ps_error *err)
{
        unsigned char raw[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_DigestFinal_ex(h->ctx, raw, &n) != 1 || n != 32)
                return ps_error_set(err, EIO, "sha256: OpenSSL digest final failed");
        ps_digest_from_raw(raw, out);
        return ps_sha256_reset(h, err);
}

uint64_t ps_sha256_count(const ps_sha256 *h)
{
        return h->count;
}

void ps_sha256_free(ps_sha256 *h)
{
        if (!h)
                return;
        EVP_MD_CTX_free(h->ctx);
        EVP_MD_free(h->md);
        free(h);
}

int ps_digest_buffer(const void *data, size_t len, ps_digest *out, ps_error *err)
{
        _cleanup_(ps_sha256_freep) ps_sha256 *h = NULL;
        int r = ps_sha256_new(&h, err);
        if (r < 0)
                return r;
        r = ps_sha256_update(h, data, len, err);
        if (r < 0)
                return r;
        return ps_sha256_final(h, out, err);
}

int ps_digest_fd(int fd, ps_digest *out, uint64_t *size, ps_error *err)
{
        _cleanup_(ps_sha256_freep) ps_sha256 *h = NULL;
        int r = ps_sha256_new(&h, err);
        if (r < 0)
                return r;
        _cleanup_free_ unsigned char *buf = malloc(READ_BLOCK);
        if (!buf)
                return ps_error_errno(err, ENOMEM, "sha256: allocating a read buffer");
        for (;;) {
                ssize_t n = read(fd, buf, READ_BLOCK);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(err, errno, "sha256: reading input");
                }
                if (n == 0)
                        break;
                r = ps_sha256_update(h, buf, (size_t)n, err);
                if (r < 0)
                        return r;
        }
        if (size)
                *size = h->count;
        return ps_sha256_final(h, out, err);
}

int ps_digest_file(const char *path, ps_digest *out, uint64_t *size, ps_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open %s", path);
        int r = ps_digest_fd(fd, out, size, err);
        if (r < 0)
                return ps_error_wrap(err, "%s", path);
        return 0;
}

int ps_digest_verify_buffer(const void *data, size_t len, const ps_digest *want,
                            const char *what, ps_error *err)
{
        ps_digest got;
        int r = ps_digest_buffer(data, len, &got, err);
        if (r < 0)
                return r;
        if (!ps_digest_equal(&got, want))
                return ps_error_set(err, EBADMSG,
                                    "%s content does not match its digest %s (sha256 of the content is %s)",
                                    what ? what : "blob", want->str, got.str);
        return 0;
}

uint64_t ps_fnv1a64(const void *data, size_t len)
{
        const unsigned char *p = data;
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}
