/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: one registries.d YAML document (ps_regd_parse), a
 * lookup over what was parsed, and the same bytes as a registries.conf
 * (ps_regconf_add_insecure).
 *
 * Run: LSAN_OPTIONS=suppressions=fuzz/fuzz-registries.supp \
 *        build-fuzz/fuzz/fuzz-registries -timeout=5 fuzz/corpus/registries
 * (the suppression covers a small leak inside libfyaml 0.7.12 itself). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "registries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        ps_error err = PS_ERROR_INIT;
        ps_regd *c = ps_regd_new();
        if (!c)
                return 0;
        if (ps_regd_parse(c, (const char *)data, size, "fuzz.yaml", &err) == 0) {
                /* a second identical document must conflict when it defines anything */
                int r = ps_regd_parse(c, (const char *)data, size, "again.yaml", &err);
                if (r == 0 && (c->default_docker || c->n_scopes))
                        abort();
                ps_error_clear(&err);
                for (size_t i = 0; i < c->n_scopes && i < 8; i++) {
                        ps_regd_match m = { 0 };
                        if (ps_regd_lookup_scope(c, c->scopes[i].name, i & 1, NULL, &m, &err) == 0) {
                                char *u = NULL;
                                if (ps_regd_repo_url(m.url, "ns/app", &u, &err) == 0)
                                        free(u);
                                if (ps_regd_url_is_file(m.url) &&
                                    ps_regd_file_url_path("/root", m.url, &u, &err) == 0)
                                        free(u);
                        }
                        ps_regd_match_clear(&m);
                        ps_error_clear(&err);
                }
                char *u = NULL;
                if (ps_regd_sigurl(c, "registry.local:5000/ns/app:1", NULL, 1, true, "/home/u", &u, NULL,
                                   &err) == 0)
                        free(u);
        }
        ps_error_clear(&err);
        ps_regd_free(c);

        char *out = NULL;
        size_t olen = 0;
        int r = ps_regconf_add_insecure((const char *)data, size, "fuzz.conf", "registry.local", &out, &olen,
                                        &err);
        if (r == 1) {
                /* the original bytes are kept, and a second pass changes nothing */
                if (olen < size || memcmp(out, data, size))
                        abort();
                char *again = NULL;
                if (ps_regconf_add_insecure(out, olen, "fuzz.conf", "registry.local", &again, NULL, &err) != 0)
                        abort();
        }
        free(out);
        ps_error_clear(&err);
        return 0;
}
