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
#include "fs.h"
#include "trivy.h"

static char *fixture(const char *name)
{
        const char *d = getenv("PODSEC_FIXTURES");
        char *p = NULL;
        assert_true(asprintf(&p, "%s/trivy/%s", d ? d : "tests/fixtures", name) > 0);
        return p;
}

static char *slurp(const char *name, size_t *len)
{
        _cleanup_free_ char *path = fixture(name);
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(path, 1 << 24, &buf, len, &err) < 0)
                fail_msg("%s", err.msg);
        return buf;
}

/* ---- the fixture table -------------------------------------------------- */

typedef struct row {
        const char *file;
        int rc;                 /* 0 or -EBADMSG */
        const char *why;        /* substring of the error message */
        /* UNKNOWN LOW MEDIUM HIGH CRITICAL */
        size_t counts[PS_TRIVY_SEVERITIES];
        size_t targets;
        enum ps_trivy_verdict verdict;
        int exit;
        const char *artifact;
} row;

static const row table[] = {
        { "clean.json", 0, NULL, { 0, 0, 0, 0, 0 }, 1, PS_TRIVY_CLEAN, 0, "registry.local/alt/alt:p10" },
        { "low-medium.json", 0, NULL, { 0, 1, 2, 0, 0 }, 1, PS_TRIVY_MINOR, 0, "docker.io/library/alpine:3.17.2" },
        { "high.json", 0, NULL, { 1, 1, 1, 2, 0 }, 1, PS_TRIVY_HIGH_FOUND, 4, "registry.local/web/nginx:1.22" },
        { "critical.json", 0, NULL, { 0, 0, 1, 0, 1 }, 1, PS_TRIVY_CRITICAL_FOUND, 5, "registry.local/tools/curl:7.86" },
        { "multi-target.json", 0, NULL, { 0, 0, 2, 3, 2 }, 4, PS_TRIVY_CRITICAL_FOUND, 5,
          "registry.local/apps/billing:2.4.1" },
        { "null-vulns.json", 0, NULL, { 0, 0, 0, 0, 0 }, 2, PS_TRIVY_CLEAN, 0, "registry.local/alt/base:p11" },
        { "null-results.json", 0, NULL, { 0, 0, 0, 0, 0 }, 0, PS_TRIVY_CLEAN, 0, "scratch-app:latest" },
        /* unknown members ignored; NEGLIGIBLE and a missing Severity are UNKNOWN;
         * HIGH misconfigurations and secrets are not vulnerabilities */
        { "extra-fields.json", 0, NULL, { 2, 0, 1, 0, 0 }, 2, PS_TRIVY_MINOR, 0, "registry.local/ops/agent:3.1" },
        { "truncated.json", -EBADMSG, "not a trivy JSON report: line 1", { 0 }, 0, 0, 0, NULL },
        { "legacy-array.json", -EBADMSG, "the top level is not an object", { 0 }, 0, 0, 0, NULL },
        { "no-schema.json", -EBADMSG, "SchemaVersion is missing", { 0 }, 0, 0, 0, NULL },
        { "duplicate-key.json", -EBADMSG, "duplicate object key", { 0 }, 0, 0, 0, NULL },
        { "vulns-not-array.json", -EBADMSG, "Results[0].Vulnerabilities is not an array", { 0 }, 0, 0, 0, NULL },
        { "severity-not-string.json", -EBADMSG, "Results[0].Vulnerabilities[0].Severity is not a string", { 0 }, 0, 0, 0,
          NULL },
        { "not-json.txt", -EBADMSG, "not a trivy JSON report", { 0 }, 0, 0, 0, NULL },
};

static void test_fixtures(void **state)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(table); i++) {
                const row *t = &table[i];
                size_t len = 0;
                _cleanup_free_ char *json = slurp(t->file, &len);
                ps_trivy_report r;
                ps_error err = PS_ERROR_INIT;
                int rc = ps_trivy_report_parse(json, len, &r, &err);
                if (rc != t->rc)
                        fail_msg("%s: rc %d, expected %d (%s)", t->file, rc, t->rc, ps_error_msg(&err));
                if (rc < 0) {
                        if (!strstr(ps_error_msg(&err), t->why))
                                fail_msg("%s: message \"%s\" lacks \"%s\"", t->file, ps_error_msg(&err), t->why);
                        ps_error_clear(&err);
                        ps_trivy_report_free(&r);
                        continue;
                }
                for (int s = 0; s < PS_TRIVY_SEVERITIES; s++)
                        if (r.counts[s] != t->counts[s])
                                fail_msg("%s: %zu %s, expected %zu", t->file, r.counts[s], ps_trivy_severity_name(s),
                                         t->counts[s]);
                assert_int_equal(r.n_targets, t->targets);
                size_t total = 0, per_target = 0;
                for (int s = 0; s < PS_TRIVY_SEVERITIES; s++)
                        total += t->counts[s];
                for (size_t k = 0; k < r.n_targets; k++)
                        for (int s = 0; s < PS_TRIVY_SEVERITIES; s++)
                                per_target += r.targets[k].counts[s];
                assert_int_equal(r.n_vulns, total);
                assert_int_equal(per_target, total);
                if (ps_trivy_report_verdict(&r) != t->verdict)
                        fail_msg("%s: verdict %d, expected %d", t->file, ps_trivy_report_verdict(&r), t->verdict);
                assert_int_equal(ps_trivy_verdict_exit(ps_trivy_report_verdict(&r)), t->exit);
                assert_int_equal(r.schema_version, 2);
                assert_string_equal(r.artifact_name, t->artifact);
                ps_trivy_report_free(&r);
        }
}

static void test_fields(void **state)
{
        size_t len = 0;
        _cleanup_free_ char *json = slurp("multi-target.json", &len);
        ps_trivy_report r;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_trivy_report_parse(json, len, &r, &err), 0);
        assert_string_equal(r.artifact_type, "container_image");
        assert_string_equal(r.targets[0].target, "registry.local/apps/billing:2.4.1 (alpine 3.16.2)");
        assert_string_equal(r.targets[0].klass, "os-pkgs");
        assert_string_equal(r.targets[0].type, "alpine");
        assert_string_equal(r.targets[2].type, "gobinary");
        assert_int_equal(r.targets[2].counts[PS_TRIVY_CRITICAL], 1);
        assert_int_equal(r.targets[1].counts[PS_TRIVY_HIGH], 1);
        assert_string_equal(r.targets[3].type, "npm");
        /* vulnerabilities in report order, with their target */
        ps_trivy_vuln *v = &r.vulns[0];
        assert_string_equal(v->id, "CVE-2022-37434");
        assert_string_equal(v->pkg, "zlib");
        assert_string_equal(v->installed, "1.2.12-r1");
        assert_string_equal(v->fixed, "1.2.12-r2");
        assert_string_equal(v->severity_text, "CRITICAL");
        assert_int_equal(v->severity, PS_TRIVY_CRITICAL);
        assert_int_equal(v->target, 0);
        v = &r.vulns[6];
        assert_string_equal(v->id, "CVE-2023-24534");
        assert_string_equal(v->fixed, "1.19.8, 1.20.3");
        assert_int_equal(v->target, 2);
        ps_trivy_report_free(&r);

        /* absent fields are NULL; an unknown severity keeps its text */
        json = (free(json), slurp("extra-fields.json", &len));
        assert_int_equal(ps_trivy_report_parse(json, len, &r, &err), 0);
        assert_string_equal(r.vulns[1].severity_text, "NEGLIGIBLE");
        assert_int_equal(r.vulns[1].severity, PS_TRIVY_UNKNOWN);
        assert_null(r.vulns[1].fixed);
        assert_null(r.vulns[2].severity_text);
        assert_null(r.targets[1].type);
        ps_trivy_report_free(&r);

        json = (free(json), slurp("high.json", &len));
        assert_int_equal(ps_trivy_report_parse(json, len, &r, &err), 0);
        assert_null(r.vulns[0].fixed);  /* "affected", no fix */
        assert_string_equal(r.vulns[0].title, "bash: a heap-buffer-overflow in valid_parameter_transform");
        ps_trivy_report_free(&r);
}

static void test_edge_cases(void **state)
{
        static const struct {
                const char *json;
                int rc;
                const char *why;
        } cases[] = {
                { "{\"SchemaVersion\":2}", 0, NULL },
                { "{\"SchemaVersion\":3,\"Results\":[]}", 0, NULL },
                { "{\"SchemaVersion\":1,\"Results\":[]}", -EBADMSG, "SchemaVersion is not an integer >= 2" },
                { "{\"SchemaVersion\":2.0}", -EBADMSG, "SchemaVersion is not an integer" },
                { "{\"SchemaVersion\":\"2\"}", -EBADMSG, "SchemaVersion is not an integer" },
                { "{\"SchemaVersion\":2,\"Results\":{}}", -EBADMSG, "Results is not an array" },
                { "{\"SchemaVersion\":2,\"Results\":[1]}", -EBADMSG, "Results[0] is not an object" },
                { "{\"SchemaVersion\":2,\"Results\":[{\"Vulnerabilities\":[null]}]}", -EBADMSG,
                  "Results[0].Vulnerabilities[0] is not an object" },
                { "{\"SchemaVersion\":2,\"ArtifactName\":7}", -EBADMSG, "ArtifactName is not a string" },
                { "{\"SchemaVersion\":2,\"Results\":[{\"Target\":[]}]}", -EBADMSG, "Results[0].Target is not a string" },
                { "{\"SchemaVersion\":2,\"ArtifactName\":\"a\\u0000b\"}", -EBADMSG, "not a trivy JSON report" },
                { "", -EBADMSG, "not a trivy JSON report" },
                { "null", -EBADMSG, "not a trivy JSON report" },
                { "{\"SchemaVersion\":2} trailing", -EBADMSG, "not a trivy JSON report" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                ps_trivy_report r;
                ps_error err = PS_ERROR_INIT;
                int rc = ps_trivy_report_parse(cases[i].json, strlen(cases[i].json), &r, &err);
                if (rc != cases[i].rc)
                        fail_msg("case %zu (%s): rc %d (%s)", i, cases[i].json, rc, ps_error_msg(&err));
                if (rc < 0 && !strstr(ps_error_msg(&err), cases[i].why))
                        fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, ps_error_msg(&err), cases[i].why);
                ps_error_clear(&err);
                ps_trivy_report_free(&r);
        }
        /* a raw NUL byte in the input */
        static const char nul[] = "{\"SchemaVersion\":2}\0";
        ps_trivy_report r;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_trivy_report_parse(nul, sizeof nul - 1, &r, &err), -EBADMSG);
        ps_error_clear(&err);
        ps_trivy_report_free(&r);
        /* too large */
        assert_int_equal(ps_trivy_report_parse("{}", PS_TRIVY_MAX_REPORT + 1, &r, &err), -EFBIG);
        ps_error_clear(&err);
        ps_trivy_report_free(&r);
}

static void test_severity_names(void **state)
{
        for (int s = 0; s < PS_TRIVY_SEVERITIES; s++)
                assert_int_equal(ps_trivy_severity_parse(ps_trivy_severity_name(s)), s);
        assert_int_equal(ps_trivy_severity_parse("critical"), PS_TRIVY_UNKNOWN);
        assert_int_equal(ps_trivy_severity_parse(NULL), PS_TRIVY_UNKNOWN);
        assert_null(ps_trivy_severity_name(PS_TRIVY_SEVERITIES));
        assert_int_equal(ps_trivy_verdict_exit(PS_TRIVY_CLEAN), 0);
        assert_int_equal(ps_trivy_verdict_exit(PS_TRIVY_MINOR), 0);
        assert_int_equal(ps_trivy_verdict_exit(PS_TRIVY_HIGH_FOUND), 4);
        assert_int_equal(ps_trivy_verdict_exit(PS_TRIVY_CRITICAL_FOUND), 5);
}

static void test_server_url(void **state)
{
        static const struct {
                const char *in, *out;
        } good[] = {
                { NULL, "http://trivy.local:4954" },
                { "", "http://trivy.local:4954" },
                { "trivy.local", "http://trivy.local:4954" },
                { "10.0.0.5", "http://10.0.0.5:4954" },
                { "scanner:8080", "http://scanner:8080" },
                { "fd00::5", "http://[fd00::5]:4954" },
                { "[fd00::5]", "http://[fd00::5]:4954" },
                { "[fd00::5]:99", "http://[fd00::5]:99" },
                { "http://127.0.0.1:4954", "http://127.0.0.1:4954" },
                { "HTTPS://scanner.example/trivy", "HTTPS://scanner.example/trivy" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(good); i++) {
                char *u = NULL;
                ps_error err = PS_ERROR_INIT;
                if (ps_trivy_server_url(good[i].in, &u, &err) < 0)
                        fail_msg("%s: %s", good[i].in, ps_error_msg(&err));
                assert_string_equal(u, good[i].out);
                free(u);
        }
        static const char *const badv[] = {
                "-oops", "ftp://x", "http://", "http:///x", "a b", "host:0", "host:70000", "host:", ":80",
                "host/path", "user@host", "[fd00::5", "[]", "[fd00::1]x", "h\xc3\xa9", "x\n",
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(badv); i++) {
                char *u = NULL;
                ps_error err = PS_ERROR_INIT;
                if (ps_trivy_server_url(badv[i], &u, &err) != -EINVAL)
                        fail_msg("\"%s\" accepted as %s", badv[i], u ? u : "(null)");
                assert_null(u);
                assert_non_null(strstr(ps_error_msg(&err), "invalid trivy server"));
                ps_error_clear(&err);
        }
}

static void test_store_images(void **state)
{
        _cleanup_free_ char *path = fixture("images.json");
        ps_store_image *v = NULL;
        size_t n = 0;
        ps_error err = PS_ERROR_INIT;
        if (ps_store_images_load(path, &v, &n, &err) < 0)
                fail_msg("%s", ps_error_msg(&err));
        assert_int_equal(n, 3);
        assert_int_equal(v[0].n_names, 2);
        assert_string_equal(ps_store_image_label(&v[0]), "registry.local/alt/alt:p10");
        assert_string_equal(v[0].digest, "sha256:1f0e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0");
        /* a dangling image (no names) is kept and shown by its short id */
        assert_int_equal(v[1].n_names, 0);
        assert_null(v[1].names[0]);
        assert_string_equal(ps_store_image_label(&v[1]), "b2aa39c304c2");
        /* option-like and control-character names are dropped */
        assert_int_equal(v[2].n_names, 1);
        assert_string_equal(v[2].names[0], "registry.local/web/nginx:1.22");
        ps_store_images_free(v, n);

        static const struct {
                const char *json;
                int rc;
                size_t n;
        } cases[] = {
                { "", 0, 0 },
                { " \n", 0, 0 },
                { "[]", 0, 0 },
                { "[{\"id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]", 0, 1 },
                { "[{\"id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"names\":null}]", 0, 1 },
                { "[{\"id\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}]", -EBADMSG, 0 },
                { "[{\"id\":\"../../etc\"}]", -EBADMSG, 0 },
                { "[{\"names\":[\"a\"]}]", -EBADMSG, 0 },
                { "[{\"id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"names\":\"a\"}]",
                  -EBADMSG, 0 },
                { "{}", -EBADMSG, 0 },
                { "[1]", -EBADMSG, 0 },
                { "[", -EBADMSG, 0 },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                v = NULL;
                n = 99;
                int rc = ps_store_images_parse(cases[i].json, strlen(cases[i].json), &v, &n, &err);
                if (rc != cases[i].rc)
                        fail_msg("case %zu (%s): rc %d (%s)", i, cases[i].json, rc, ps_error_msg(&err));
                if (rc == 0)
                        assert_int_equal(n, cases[i].n);
                else
                        assert_non_null(strstr(ps_error_msg(&err), "images.json"));
                ps_error_clear(&err);
                ps_store_images_free(v, rc == 0 ? n : 0);
        }
        assert_int_equal(ps_store_images_load("/nonexistent/images.json", &v, &n, &err), -ENOENT);
        ps_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixtures),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_edge_cases),
                cmocka_unit_test(test_severity_names),
                cmocka_unit_test(test_server_url),
                cmocka_unit_test(test_store_images),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
