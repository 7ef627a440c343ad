/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the trivy report parser (counts must agree with the
 * entries and the per-target counts, the verdict with the counts), the
 * images.json inventory parser (ids are 64 hex digits, names are safe to
 * pass as arguments) and the server URL normaliser, all on the same
 * input. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "trivy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_report(const char *s, size_t n)
{
        ps_trivy_report r;
        ps_error err = PS_ERROR_INIT;
        if (ps_trivy_report_parse(s, n, &r, &err) < 0) {
                assert(err.msg && *err.msg);
                ps_error_clear(&err);
                ps_trivy_report_free(&r);
                return;
        }
        assert(r.schema_version >= 2);
        size_t total = 0, per_target = 0;
        for (int i = 0; i < PS_TRIVY_SEVERITIES; i++)
                total += r.counts[i];
        assert(total == r.n_vulns);
        for (size_t t = 0; t < r.n_targets; t++)
                for (int i = 0; i < PS_TRIVY_SEVERITIES; i++)
                        per_target += r.targets[t].counts[i];
        assert(per_target == total);
        for (size_t v = 0; v < r.n_vulns; v++) {
                assert(r.vulns[v].target < r.n_targets);
                assert((unsigned)r.vulns[v].severity < PS_TRIVY_SEVERITIES);
                if (r.vulns[v].severity != PS_TRIVY_UNKNOWN)
                        assert(r.vulns[v].severity_text &&
                               !strcmp(r.vulns[v].severity_text, ps_trivy_severity_name(r.vulns[v].severity)));
        }
        enum ps_trivy_verdict vd = ps_trivy_report_verdict(&r);
        assert((vd == PS_TRIVY_CRITICAL_FOUND) == (r.counts[PS_TRIVY_CRITICAL] > 0));
        assert((vd == PS_TRIVY_CLEAN) == (total == 0));
        ps_trivy_report_free(&r);
}

static void check_images(const char *s, size_t n)
{
        ps_store_image *v = NULL;
        size_t cnt = 0;
        ps_error err = PS_ERROR_INIT;
        if (ps_store_images_parse(s, n, &v, &cnt, &err) < 0) {
                assert(err.msg && *err.msg && !v && cnt == 0);
                ps_error_clear(&err);
                return;
        }
        for (size_t i = 0; i < cnt; i++) {
                assert(strlen(v[i].id) == 64 && strspn(v[i].id, "0123456789abcdef") == 64);
                assert(strlen(v[i].short_id) == 12);
                for (size_t k = 0; k < v[i].n_names; k++) {
                        const char *nm = v[i].names[k];
                        assert(*nm && *nm != '-');
                        for (const unsigned char *p = (const unsigned char *)nm; *p; p++)
                                assert(*p >= 0x20 && *p != 0x7f);
                }
                assert(v[i].names[v[i].n_names] == NULL);
                assert(ps_store_image_label(&v[i]));
        }
        ps_store_images_free(v, cnt);
}

static void check_url(const char *s, size_t n)
{
        if (n > 512 || memchr(s, '\0', n))
                return;
        char *z = strndup(s, n);
        if (!z)
                return;
        char *u = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_trivy_server_url(z, &u, &err) == 0) {
                assert(!strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8));
                for (const unsigned char *p = (const unsigned char *)u; *p; p++)
                        assert(*p > 0x20 && *p < 0x7f);
                /* normalising is idempotent */
                char *u2 = NULL;
                assert(ps_trivy_server_url(u, &u2, NULL) == 0 && !strcmp(u, u2));
                free(u2);
        } else {
                assert(!u && err.msg);
        }
        ps_error_clear(&err);
        free(u);
        free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        check_report(s, size);
        check_images(s, size);
        check_url(s, size);
        return 0;
}
