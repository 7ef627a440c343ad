/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the simple-signing payload parser (ps_sig_payload_parse).
 * An accepted payload with a fully expanded reference must survive a
 * build/parse round trip unchanged.  The same bytes, as a string, are also
 * tried as a lookaside base URL (ps_sigstore_url / ps_sigstore_local_dir). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "signature.h"
#include "sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DIG "sha256:6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a06f535a4757146e3576c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ps_error err = PS_ERROR_INIT;
        ps_sig_payload p;
        if (ps_sig_payload_parse(data, size, &p, &err) == 0) {
                if (!p.docker_reference || !ps_sig_digest_valid(p.manifest_digest))
                        abort();
                if (ps_sig_reference_check(p.docker_reference, NULL) == 0) {
                        char *out = NULL;
                        size_t len = 0;
                        if (ps_sig_payload_build(p.docker_reference, p.manifest_digest, p.creator,
                                                 p.has_timestamp && p.timestamp >= 0 ? p.timestamp : 0, &out, &len,
                                                 &err) == 0) {
                                ps_sig_payload q;
                                if (ps_sig_payload_parse(out, len, &q, &err) != 0)
                                        abort();
                                if (strcmp(p.docker_reference, q.docker_reference) != 0 ||
                                    strcmp(p.manifest_digest, q.manifest_digest) != 0 ||
                                    (p.creator && strcmp(p.creator, q.creator) != 0))
                                        abort();
                                ps_sig_payload_clear(&q);
                                free(out);
                        }
                }
                ps_sig_payload_clear(&p);
        }
        ps_error_clear(&err);

        char *s = strndup((const char *)data, size > 4096 ? 4096 : size);
        if (s) {
                char *u = NULL;
                if (ps_sigstore_url(s, "c10f/pause", DIG, 3, &u, &err) == 0) {
                        /* BASE (configuration, may hold anything) + fixed suffix */
                        static const char suffix[] = "/c10f/pause@sha256=6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a"
                                                     "06f535a4757146e3576c/signature-3";
                        size_t ul = strlen(u), sl = strlen(suffix);
                        if (ul < sl || strcmp(u + ul - sl, suffix) != 0 || strncmp(u, s, ul - sl) != 0)
                                abort();
                        free(u);
                }
                ps_error_clear(&err);
                if (ps_sigstore_local_dir("/root", s, "c10f/pause", DIG, &u, &err) == 0) {
                        if (strncmp(u, "/root/", 6) != 0)
                                abort();
                        free(u);
                }
                ps_error_clear(&err);
                free(s);
        }
        return 0;
}
