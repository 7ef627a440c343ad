/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the nginx JSON listing a client node parses
 * (ps_keysync_parse_listing), with invariants on every name it accepts
 * (plain, no '/', no leading '.', at most 255 bytes, one of the three
 * kinds, no duplicates, policy.json present), and the set and manifest
 * built from those names.
 *
 * Run: build-fuzz/fuzz/fuzz-keysync -timeout=5 fuzz/corpus/keysync */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "keysync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ps_error err = PS_ERROR_INIT;
        char **names = NULL;
        int r = ps_keysync_parse_listing((const char *)data, size, "fuzz", &names, &err);
        ps_error_clear(&err);
        if (r < 0) {
                if (names)
                        abort();
                return 0;
        }
        ps_ks_set s = { 0 };
        bool policy = false;
        for (size_t i = 0; names[i]; i++) {
                const char *n = names[i];
                size_t len = strlen(n);
                ps_ks_kind k;
                if (len == 0 || len > PS_KEYSYNC_NAME_MAX || n[0] == '.' || strchr(n, '/') ||
                    ps_keysync_name_check(n, &k, NULL) < 0)
                        abort();
                if (k == PS_KS_POLICY)
                        policy = true;
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(names[j], n))
                                abort();
                if (ps_ks_set_add(&s, n, n, len, &err) < 0)
                        abort();
        }
        if (!policy)
                abort();
        for (size_t i = 1; i < s.n; i++)
                if (strcmp(s.files[i - 1].name, s.files[i].name) >= 0)
                        abort();
        size_t mlen = 0;
        char *m = ps_keysync_manifest(&s, &mlen);
        if (m && (mlen == 0 || m[mlen - 1] != '\n'))
                abort();
        free(m);
        ps_ks_set_clear(&s);
        ps_strv_free(names);
        return 0;
}
