/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "registries.h"

static char *fixture(const char *rel)
{
        const char *f = getenv("PODSEC_FIXTURES");
        char *p = NULL;
        assert_non_null(f);
        assert_true(asprintf(&p, "%s/registries/%s", f, rel) > 0);
        return p;
}

static char *tmpdir(void)
{
        char t[] = "/tmp/podsec-test-XXXXXX";
        assert_non_null(mkdtemp(t));
        return strdup(t);
}

static void rmrf(const char *d)
{
        char *cmd = NULL;
        /* test helper only: remove the scratch directory */
        assert_true(asprintf(&cmd, "rm -rf -- '%s'", d) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static ps_regd *load_fixture(const char *dir)
{
        _cleanup_free_ char *d = fixture(dir);
        ps_error err = PS_ERROR_INIT;
        ps_regd *c = NULL;
        int r = ps_regd_load_dir(d, &c, &err);
        if (r < 0)
                fail_msg("loading %s: %s", d, ps_error_msg(&err));
        return c;
}

static ps_regd *parse_text(const char *text)
{
        ps_error err = PS_ERROR_INIT;
        ps_regd *c = ps_regd_new();
        assert_non_null(c);
        int r = ps_regd_parse(c, text, strlen(text), "test.yaml", &err);
        if (r < 0)
                fail_msg("parse: %s", ps_error_msg(&err));
        return c;
}

/* Strip the fixture directory so golden text is location independent. */
static const char *base_name(const char *p)
{
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

static void dump_section(FILE *f, const ps_regd_section *s)
{
        fprintf(f, "  from %s line %d\n", base_name(s->file), s->line);
        if (s->lookaside)
                fprintf(f, "  lookaside %s\n", s->lookaside);
        if (s->lookaside_staging)
                fprintf(f, "  lookaside-staging %s\n", s->lookaside_staging);
        if (s->sigstore)
                fprintf(f, "  sigstore %s\n", s->sigstore);
        if (s->sigstore_staging)
                fprintf(f, "  sigstore-staging %s\n", s->sigstore_staging);
        if (s->use_sigstore_attachments >= 0)
                fprintf(f, "  use-sigstore-attachments %s\n", s->use_sigstore_attachments ? "true" : "false");
}

static char *dump(const ps_regd *c)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        for (size_t i = 0; i < c->n_files; i++)
                fprintf(f, "file %s\n", base_name(c->files[i]));
        if (c->default_docker) {
                fprintf(f, "default-docker\n");
                dump_section(f, c->default_docker);
        }
        for (size_t i = 0; i < c->n_scopes; i++) {
                fprintf(f, "docker %s\n", c->scopes[i].name);
                dump_section(f, &c->scopes[i].section);
        }
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_merge_golden(void **state)
{
        ps_regd *c _cleanup_regd_ = load_fixture("merge");
        _cleanup_free_ char *got = dump(c);
        _cleanup_free_ char *gpath = fixture("merge.golden");
        _cleanup_free_ char *want = NULL;
        ps_error err = PS_ERROR_INIT;
        if (getenv("PODSEC_UPDATE_GOLDEN"))
                write_file(gpath, got);
        assert_int_equal(ps_read_file(gpath, 1 << 20, &want, NULL, &err), 0);
        assert_string_equal(got, want);
        assert_int_equal(c->n_files, 3);
        assert_null(c->files[3]);
}

static void test_conflicts(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_regd *c = NULL;
        _cleanup_free_ char *d = fixture("conflict-scope");
        assert_int_equal(ps_regd_load_dir(d, &c, &err), -EINVAL);
        assert_null(c);
        assert_non_null(strstr(err.msg, "\"docker\" namespace \"registry.local\" defined both in"));
        assert_non_null(strstr(err.msg, "conflict-scope/a.yaml\" and \""));
        assert_non_null(strstr(err.msg, "conflict-scope/b.yaml\""));
        ps_error_clear(&err);

        _cleanup_free_ char *d2 = fixture("conflict-default");
        assert_int_equal(ps_regd_load_dir(d2, &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "\"default-docker\" defined both in"));
        assert_non_null(strstr(err.msg, "conflict-default/a.yaml\" and \""));
        assert_non_null(strstr(err.msg, "conflict-default/b.yaml\""));
        ps_error_clear(&err);

        /* a null default-docker does not count (containers/image treats it as absent) */
        ps_regd *m _cleanup_regd_ = parse_text("default-docker:\n  lookaside: http://x/\n");
        assert_int_equal(ps_regd_parse(m, "default-docker:\n", 16, "second.yaml", &err), 0);
        assert_int_equal(ps_regd_parse(m, "default-docker: {}\n", 19, "third.yaml", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "\"test.yaml\" and \"third.yaml\""));
        ps_error_clear(&err);
        /* a failed merge leaves the configuration unchanged */
        assert_int_equal(m->n_files, 2);
        assert_string_equal(m->default_docker->lookaside, "http://x/");
        /* duplicate scope inside one file */
        assert_int_equal(ps_regd_parse(m, "docker:\n  a.b:\n  c.d:\n  a.b: {}\n", 29, "dup.yaml", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "dup.yaml: \"docker\" scope \"a.b\" given twice (lines 2 and 4)"));
        ps_error_clear(&err);
        assert_int_equal(m->n_scopes, 0);
}

typedef struct lk {
        const char *ref;
        bool write;
        const char *url;     /* expected base URL */
        const char *scope;   /* expected scope (NULL: built-in) */
        const char *key;
} lk;

static void run_lookups(const ps_regd *c, const lk *t, size_t n, const char *home)
{
        for (size_t i = 0; i < n; i++) {
                ps_regd_match m = { 0 };
                ps_error err = PS_ERROR_INIT;
                int r = ps_regd_lookup_ref(c, t[i].ref, t[i].write, home, &m, &err);
                if (r < 0)
                        fail_msg("%s: %s", t[i].ref, ps_error_msg(&err));
                if (strcmp(m.url, t[i].url))
                        fail_msg("%s (%s): url %s, want %s", t[i].ref, t[i].write ? "write" : "read", m.url,
                                 t[i].url);
                if (t[i].scope) {
                        if (!m.scope || strcmp(m.scope, t[i].scope))
                                fail_msg("%s: scope %s, want %s", t[i].ref, m.scope ? m.scope : "(null)",
                                         t[i].scope);
                        assert_string_equal(m.key, t[i].key);
                        assert_false(m.builtin);
                        assert_non_null(m.file);
                } else {
                        assert_true(m.builtin);
                        assert_null(m.scope);
                        assert_null(m.key);
                }
                ps_regd_match_clear(&m);
        }
}

static void test_lookup(void **state)
{
        ps_regd *c _cleanup_regd_ = load_fixture("merge");
        static const lk t[] = {
                { "registry.local/app:1", false, "http://sigstore.local:81/sigstore", "registry.local", "lookaside" },
                { "registry.local/app:1", true, "file:///var/sigstore/sigstore", "registry.local",
                  "lookaside-staging" },
                { "registry.local/k8s-c10f1/pause:3.9", false, "http://sigstore.local:81/k8s",
                  "registry.local/k8s-c10f1", "lookaside" },
                /* the namespace section has no staging: writing uses its lookaside (as containers/image
                 * does), not the parent's staging */
                { "registry.local/k8s-c10f1/pause:3.9", true, "http://sigstore.local:81/k8s",
                  "registry.local/k8s-c10f1", "lookaside" },
                /* only staging set: reading falls through, writing uses it */
                { "registry.local/only-staging/x", false, "http://sigstore.local:81/sigstore", "registry.local",
                  "lookaside" },
                { "registry.local/only-staging/x", true, "file:///srv/staging", "registry.local/only-staging",
                  "lookaside-staging" },
                /* host:port never falls back to the port-less host */
                { "registry.local:5000/other/app:1", false, "https://sig.example.com/port5000",
                  "registry.local:5000", "lookaside" },
                { "registry.local:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                  false, "https://sig.example.com/team-app/", "registry.local:5000/team/app", "lookaside" },
                { "registry.local:5001/x", false, "http://sigstore.local:81/sigstore/", "default-docker",
                  "lookaside" },
                { "registry.local:5001/x", true, "file:///var/sigstore/sigstore/", "default-docker",
                  "lookaside-staging" },
                /* wildcards, after the host's own keys */
                { "a.b.example.com:8443/ns/img", false, "https://wild.example.com/sigs", "*.example.com",
                  "lookaside" },
                { "a.b.example.com:8443/ns/img", true, "https://wild.example.com/sigs", "*.example.com",
                  "lookaside" },
                /* a null section matches but has nothing: falls through to the wildcard */
                { "registry.example.com/empty/x:1", false, "https://wild.example.com/sigs", "*.example.com",
                  "lookaside" },
                /* full identity with a tag */
                { "quay.io/org/app:v2", false, "https://tag.example.org/sigs", "quay.io/org/app:v2", "lookaside" },
                { "quay.io/org/app:v3", false, "http://sigstore.local:81/sigstore/", "default-docker", "lookaside" },
                /* docker.io normalisation */
                { "busybox", false, "http://sigstore.local:81/sigstore/", "default-docker", "lookaside" },
        };
        run_lookups(c, t, PS_ARRAY_SIZE(t), NULL);
        /* files that are not *.yaml were ignored */
        ps_regd_match m = { 0 };
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_regd_lookup_ref(c, "ignored.example/x", false, NULL, &m, &err), 0);
        assert_string_equal(m.scope, "default-docker");
        ps_regd_match_clear(&m);
        /* invalid references are errors */
        assert_int_equal(ps_regd_lookup_ref(c, "Registry.local/UPPER", false, NULL, &m, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_regd_lookup_ref(c, "", false, NULL, &m, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_old_names(void **state)
{
        ps_regd *c _cleanup_regd_ = load_fixture("old-names");
        static const lk t[] = {
                /* both present: the new names win */
                { "both.example/x", false, "http://new.example/read", "both.example", "lookaside" },
                { "both.example/x", true, "file:///new/write", "both.example", "lookaside-staging" },
                { "mixed.example/x", false, "http://old.example/mixed-read", "mixed.example", "sigstore" },
                { "mixed.example/x", true, "file:///new/mixed-write", "mixed.example", "lookaside-staging" },
                /* sigstore-staging beats lookaside for writing */
                { "oldstaging.example/x", true, "file:///old/s", "oldstaging.example", "sigstore-staging" },
                { "oldstaging.example/x", false, "http://new.example/r", "oldstaging.example", "lookaside" },
                { "elsewhere.example/x", false, "http://old.example/read", "default-docker", "sigstore" },
                { "elsewhere.example/x", true, "file:///old/write", "default-docker", "sigstore-staging" },
        };
        run_lookups(c, t, PS_ARRAY_SIZE(t), NULL);
}

static void test_builtin(void **state)
{
        ps_regd *c _cleanup_regd_ = ps_regd_new();
        static const lk root[] = {
                { "registry.local/x", false, "file:///var/lib/containers/sigstore", NULL, NULL },
                { "registry.local/x", true, "file:///var/lib/containers/sigstore", NULL, NULL },
        };
        static const lk user[] = {
                { "registry.local/x", true, "file:///home/u/.local/share/containers/sigstore", NULL, NULL },
        };
        run_lookups(c, root, PS_ARRAY_SIZE(root), NULL);
        run_lookups(c, user, PS_ARRAY_SIZE(user), "/home/u");
        /* a section with no URL at all falls through to the built-in default */
        ps_regd *d _cleanup_regd_ = parse_text("docker:\n  registry.local:\n    use-sigstore-attachments: yes\n");
        run_lookups(d, root, 1, NULL);
        assert_int_equal(d->scopes[0].section.use_sigstore_attachments, 1);
        /* a missing directory is an empty configuration */
        ps_regd *e = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_regd_load_dir("/nonexistent/podsec/registries.d", &e, &err), 0);
        assert_int_equal(e->n_scopes, 0);
        ps_regd_free(e);
}

static void test_user_dir_replaces(void **state)
{
        _cleanup_free_ char *root = tmpdir();
        _cleanup_free_ char *sys = ps_path_join(root, "etc/containers/registries.d");
        _cleanup_free_ char *usr = ps_path_join(root, "home/u/.config/containers/registries.d");
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_mkdir_p(sys, 0755, &err), 0);
        _cleanup_free_ char *sf = ps_path_join(sys, "default.yaml");
        write_file(sf, "default-docker:\n  lookaside: http://system/\n");

        ps_regd *c = NULL;
        /* no user directory: the system one */
        assert_int_equal(ps_regd_load(root, "/home/u", &c, &err), 0);
        assert_false(c->user_dir);
        assert_string_equal(c->dir, sys);
        assert_string_equal(c->default_docker->lookaside, "http://system/");
        ps_regd_free(c);
        /* root without a home */
        assert_int_equal(ps_regd_load(root, NULL, &c, &err), 0);
        assert_string_equal(c->dir, sys);
        ps_regd_free(c);

        /* an empty user directory replaces the system one entirely */
        assert_int_equal(ps_mkdir_p(usr, 0755, &err), 0);
        assert_int_equal(ps_regd_load(root, "/home/u", &c, &err), 0);
        assert_true(c->user_dir);
        assert_string_equal(c->dir, usr);
        assert_null(c->default_docker);
        ps_regd_match m = { 0 };
        assert_int_equal(ps_regd_lookup_ref(c, "registry.local/x", false, "/home/u", &m, &err), 0);
        assert_true(m.builtin);
        assert_string_equal(m.url, "file:///home/u/.local/share/containers/sigstore");
        ps_regd_match_clear(&m);
        ps_regd_free(c);

        _cleanup_free_ char *uf = ps_path_join(usr, "mine.yaml");
        write_file(uf, "docker:\n  registry.local:\n    lookaside: http://mine/\n");
        assert_int_equal(ps_regd_load(root, "/home/u", &c, &err), 0);
        assert_int_equal(ps_regd_lookup_ref(c, "registry.local/x", false, "/home/u", &m, &err), 0);
        assert_string_equal(m.url, "http://mine/");
        assert_string_equal(m.file, uf);
        ps_regd_match_clear(&m);
        ps_regd_free(c);

        /* a broken file is reported with its name */
        _cleanup_free_ char *bf = ps_path_join(usr, "zz-broken.yaml");
        write_file(bf, "docker:\n  registry.local:\n    lookasid: http://typo/\n");
        assert_int_equal(ps_regd_load(root, "/home/u", &c, &err), -EINVAL);
        assert_null(c);
        assert_non_null(strstr(err.msg, "zz-broken.yaml:3:5: \"docker\" scope \"registry.local\": unknown key "
                                        "\"lookasid\""));
        ps_error_clear(&err);
        rmrf(root);
}

typedef struct su {
        const char *ref;
        const char *digest;
        unsigned n;
        bool write;
        const char *want;
} su;

static void test_sigurl(void **state)
{
        ps_regd *c _cleanup_regd_ = load_fixture("merge");
        static const char D[] = "sha256:817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e";
        static const su t[] = {
                { "registry.local/app:1", D, 1, false,
                  "http://sigstore.local:81/sigstore/app@sha256=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e/signature-1" },
                { "registry.local/app/sub:3.9", D, 2, true,
                  "file:///var/sigstore/sigstore/app/sub@sha256=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e/signature-2" },
                /* host:port: the path has no host and no port */
                { "registry.local:5000/team/app:latest", D, 1, false,
                  "https://sig.example.com/team-app/team/app@sha256=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e/signature-1" },
                { "registry.local:5000/a/b/c/d:x", D, 3, false,
                  "https://sig.example.com/port5000/a/b/c/d@sha256=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e/signature-3" },
                /* docker.io gets library/ */
                { "busybox", D, 1, false,
                  "http://sigstore.local:81/sigstore/library/busybox@sha256=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e/signature-1" },
                /* the reference's own digest */
                { "registry.local/app@sha256:817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e",
                  NULL, 1, false,
                  "http://sigstore.local:81/sigstore/app@sha256=817a12c32a39bbe394944ba49de563e085f1d3c5266eb8e9723256bc4448680e/signature-1" },
                /* no digest at all: a template */
                { "registry.local/app:1", NULL, 1, false,
                  "http://sigstore.local:81/sigstore/app@sha256=<digest>/signature-1" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                _cleanup_free_ char *u = NULL;
                ps_error err = PS_ERROR_INIT;
                ps_regd_match m = { 0 };
                int r = ps_regd_sigurl(c, t[i].ref, t[i].digest, t[i].n, t[i].write, NULL, &u, &m, &err);
                if (r < 0)
                        fail_msg("%s: %s", t[i].ref, ps_error_msg(&err));
                assert_string_equal(u, t[i].want);
                assert_non_null(m.url);
                ps_regd_match_clear(&m);
        }
        ps_error err = PS_ERROR_INIT;
        char *u = NULL;
        assert_int_equal(ps_regd_sigurl(c, "registry.local/app:1", "sha256:abc", 1, false, NULL, &u, NULL, &err),
                         -EINVAL);
        assert_null(u);
        ps_error_clear(&err);
        assert_int_equal(ps_regd_sigurl(c, "registry.local/app:1", D, 0, false, NULL, &u, NULL, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_repo_url(void **state)
{
        static const char *const t[][3] = {
                { "http://h:81/sigstore/", "ns/app", "http://h:81/sigstore/ns/app" },
                { "http://h:81/sigstore//", "ns/app", "http://h:81/sigstore/ns/app" },
                { "http://h:81/sigstore", "ns/app", "http://h:81/sigstore/ns/app" },
                { "http://h:81", "app", "http://h:81/app" },
                { "http://h:81/", "app", "http://h:81/app" },
                { "https://h/s?token=1#frag", "app", "https://h/s/app?token=1#frag" },
                { "file:///var/sigstore/", "a/b", "file:///var/sigstore/a/b" },
                { "file:/var/sigstore", "a/b", "file:/var/sigstore/a/b" },
                { "file:///", "a/b", "file:///a/b" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                _cleanup_free_ char *u = NULL;
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_regd_repo_url(t[i][0], t[i][1], &u, &err), 0);
                assert_string_equal(u, t[i][2]);
        }
        char *u = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_regd_repo_url("/var/sigstore", "a", &u, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "has no scheme"));
        ps_error_clear(&err);
        assert_int_equal(ps_regd_repo_url("http://h/a b", "a", &u, &err), -EINVAL);
        ps_error_clear(&err);
}

static void test_file_url_path(void **state)
{
        static const char *const ok[][3] = {
                { NULL, "file:///var/sigstore", "/var/sigstore" },
                { "/r", "file:///var/sigstore/", "/r/var/sigstore/" },
                { "/r", "file://localhost/var/x", "/r/var/x" },
                { "/r", "file:/var/x", "/r/var/x" },
                { "/r/", "FILE:///a%20b/c", "/r/a b/c" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ok); i++) {
                _cleanup_free_ char *p = NULL;
                ps_error err = PS_ERROR_INIT;
                int r = ps_regd_file_url_path(ok[i][0], ok[i][1], &p, &err);
                if (r < 0)
                        fail_msg("%s: %s", ok[i][1], ps_error_msg(&err));
                assert_string_equal(p, ok[i][2]);
        }
        static const char *const bad[][2] = {
                { "http://h/x", "is not a file:// URL" },
                { "file://var/lib/sigstore", "names host \"var\"" },
                { "file://", "does not name an absolute path" },
                { "file:rel/x", "does not name an absolute path" },
                { "file:///a%2", "invalid %-escape" },
                { "file:///a%zz", "invalid %-escape" },
                { "file:///a%00b", "contains %00" },
                { "file:///a?x=1", "query or fragment" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                char *p = NULL;
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_regd_file_url_path("/r", bad[i][0], &p, &err), -EINVAL);
                assert_null(p);
                if (!strstr(err.msg, bad[i][1]))
                        fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i][0], err.msg, bad[i][1]);
                ps_error_clear(&err);
        }
        assert_true(ps_regd_url_is_file("File:///x"));
        assert_false(ps_regd_url_is_file("files:///x"));
        assert_false(ps_regd_url_is_file("/x"));
        _cleanup_free_ char *b = ps_regd_builtin_url("/home/u/");
        assert_string_equal(b, "file:///home/u/.local/share/containers/sigstore");
}

static void test_scope_lookup(void **state)
{
        ps_regd *c _cleanup_regd_ = load_fixture("merge");
        static const char *const t[][3] = {
                /* policy scope, expected URL, expected section */
                { "registry.local", "http://sigstore.local:81/sigstore", "registry.local" },
                { "registry.local/k8s-c10f1", "http://sigstore.local:81/k8s", "registry.local/k8s-c10f1" },
                { "registry.local/k8s-c10f1/pause:3.9", "http://sigstore.local:81/k8s", "registry.local/k8s-c10f1" },
                { "registry.local/other/app", "http://sigstore.local:81/sigstore", "registry.local" },
                { "registry.local:5000", "https://sig.example.com/port5000", "registry.local:5000" },
                { "registry.local:5000/team/app", "https://sig.example.com/team-app/", "registry.local:5000/team/app" },
                { "x.example.com", "https://wild.example.com/sigs", "*.example.com" },
                { "*.example.com", "https://wild.example.com/sigs", "*.example.com" },
                { "*.b.example.com", "https://wild.example.com/sigs", "*.example.com" },
                { "*.org", "http://sigstore.local:81/sigstore/", "default-docker" },
                { "quay.io/org/app:v2", "https://tag.example.org/sigs", "quay.io/org/app:v2" },
                { "", "http://sigstore.local:81/sigstore/", "default-docker" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                ps_regd_match m = { 0 };
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_regd_lookup_scope(c, t[i][0], false, NULL, &m, &err), 0);
                if (strcmp(m.url, t[i][1]) || strcmp(m.scope, t[i][2]))
                        fail_msg("scope \"%s\": %s from %s", t[i][0], m.url, m.scope);
                ps_regd_match_clear(&m);
        }
}

typedef struct pe {
        const char *yaml;
        const char *msg;
} pe;

static void test_parse_errors(void **state)
{
        static const pe t[] = {
                { "- a\n- b\n", "test.yaml:1:1: the document must be a mapping" },
                { "just text\n", "the document must be a mapping" },
                { "default-docker:\n  lookaside: http://a/\nextra: 1\n",
                  "test.yaml:3:1: unknown top-level key \"extra\" (expected default-docker, docker)" },
                { "docker:\n  r.local:\n    lookaside: [http://a/]\n",
                  "test.yaml:3:16: \"docker\" scope \"r.local\": \"lookaside\" must be a string, found a list" },
                { "docker:\n  r.local:\n    lookaside: 42\n",
                  "\"lookaside\" must be a string (a URL), found \"42\"" },
                { "docker:\n  r.local:\n    lookaside: true\n", "\"lookaside\" must be a string (a URL)" },
                { "docker:\n  r.local:\n    use-sigstore-attachments: \"true\"\n",
                  "\"use-sigstore-attachments\" must be true or false, found \"true\"" },
                { "docker:\n  r.local:\n    use-sigstore-attachments: {}\n", "must be true or false, found a mapping" },
                { "docker:\n  r.local: http://a/\n",
                  "\"docker\" scope \"r.local\" must be a mapping with keys lookaside" },
                { "docker:\n  - r.local\n", "\"docker\" must be a mapping of scopes to sections, found a list" },
                { "docker: yes\n", "\"docker\" must be a mapping of scopes to sections" },
                { "default-docker: [1]\n", "\"default-docker\" must be a mapping" },
                { "default-docker:\n  lookaside: http://a/\n  lookaside: http://b/\n",
                  "test.yaml:3:3: \"default-docker\": \"lookaside\" given twice" },
                { "docker: {}\ndocker: {}\n", "test.yaml:2:1: \"docker\" given twice" },
                { "default-docker: &a\n  lookaside: http://a/\ndocker:\n  r.local: *a\n",
                  "must be a mapping with keys lookaside, lookaside-staging, sigstore, sigstore-staging, "
                  "use-sigstore-attachments, found an alias" },
                { "docker:\n  ? [a, b]\n  : {}\n", "a key must be a plain string, found a list" },
                { "docker: {}\n---\ndocker: {}\n", "more than one YAML document" },
                { "docker:\n  r.local:\n    lookaside: \"http://a/\n", "invalid YAML" },
                { "] oops\n", "test.yaml:1:1: invalid YAML: flow sequence with invalid extra closing bracket" },
                { "docker:\n  \"\":\n    lookaside: http://a/\n", "empty scope name" },
                { "docker:\n  r.local:\n    lookaside: !custom http://a/\n", "YAML tag \"!custom\" is not supported" },
                { "docker:\n  r.local:\n    lookaside: \"a\\0b\"\n", "NUL character" },
                { "docker:\n  r.local:\n    use-sigstore-attachments: true\n    use-cosign-attachments: false\n",
                  "\"use-sigstore-attachments\" given twice" },
                { "docker:\n  r.local:\n    sigstore: !!int 1\n", "YAML tag \"tag:yaml.org,2002:int\" is not supported" },
                { "docker:\n  r.local:\n    use-sigstore-attachments: !!bool maybe\n",
                  "value \"maybe\" does not match its YAML tag" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                ps_regd *c _cleanup_regd_ = ps_regd_new();
                ps_error err = PS_ERROR_INIT;
                int r = ps_regd_parse(c, t[i].yaml, strlen(t[i].yaml), "test.yaml", &err);
                if (r != -EINVAL)
                        fail_msg("case %zu: expected an error, got %d", i, r);
                if (!strstr(err.msg, t[i].msg))
                        fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.msg, t[i].msg);
                assert_int_equal(c->n_files, 0);
                assert_int_equal(c->n_scopes, 0);
                assert_null(c->default_docker);
                ps_error_clear(&err);
        }
        /* accepted forms */
        static const char *const okdocs[] = {
                "",
                "# only a comment\n",
                "---\n",
                "~\n",
                "default-docker:\ndocker:\n",
                "docker:\n  r.local:\n    lookaside: !!str http://a/\n    use-sigstore-attachments: !!bool false\n",
                "{\"docker\": {\"r.local\": {\"lookaside\": \"http://a/\"}}}\n",
                "docker:\n  r.local:\n    lookaside: ~\n",
                "docker:\n  r.local:\n    lookaside: 'http://a/'  # comment\n",
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(okdocs); i++) {
                ps_regd *c _cleanup_regd_ = ps_regd_new();
                ps_error err = PS_ERROR_INIT;
                int r = ps_regd_parse(c, okdocs[i], strlen(okdocs[i]), "ok.yaml", &err);
                if (r < 0)
                        fail_msg("ok case %zu: %s", i, ps_error_msg(&err));
        }
        /* a NUL byte and the size limit */
        ps_regd *c _cleanup_regd_ = ps_regd_new();
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_regd_parse(c, "docker:\0{}", 10, "nul.yaml", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "NUL byte"));
        ps_error_clear(&err);
        /* invalid UTF-8 (libfyaml 0.7.12 hangs on it inside a directive) */
        assert_int_equal(ps_regd_parse(c, "%%\xdf%%b", 6, "hang.yaml", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "hang.yaml:1: invalid UTF-8 (byte 0xdf at offset 2)"));
        ps_error_clear(&err);
        assert_int_equal(ps_regd_parse(c, "a: 1\nb: \xc0\xaf\n", strlen("a: 1\nb: \xc0\xaf\n"), "overlong.yaml", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "overlong.yaml:2: invalid UTF-8"));
        ps_error_clear(&err);
        const char *u8 = "docker: {\"\xc3\xa9.example\": {}}\n";
        assert_int_equal(ps_regd_parse(c, u8, strlen(u8), "utf8.yaml", &err), 0);
        assert_string_equal(c->scopes[0].name, "\xc3\xa9.example");
        assert_int_equal(ps_regd_parse(c, "", PS_REGD_MAX_FILE + 1, "big.yaml", &err), -EFBIG);
        ps_error_clear(&err);
        /* deep nesting is refused, not a crash */
        size_t depth = 100000;
        _cleanup_free_ char *deep = malloc(depth * 2 + 16);
        assert_non_null(deep);
        strcpy(deep, "docker: ");
        memset(deep + 8, '[', depth);
        memset(deep + 8 + depth, ']', depth);
        deep[8 + 2 * depth] = '\0';
        assert_true(ps_regd_parse(c, deep, strlen(deep), "deep.yaml", &err) < 0);
        ps_error_clear(&err);
}

static void test_many_scopes(void **state)
{
        /* many scopes in one file and across files: sorted merge + lookup */
        ps_regd *c _cleanup_regd_ = ps_regd_new();
        ps_error err = PS_ERROR_INIT;
        for (int f = 0; f < 3; f++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&buf, &len);
                assert_non_null(m);
                fprintf(m, "docker:\n");
                for (int i = 999; i >= 0; i--)
                        fprintf(m, "  r%d.example/ns%d:\n    lookaside: http://s/%d/%d\n", f, i, f, i);
                assert_int_equal(fclose(m), 0);
                char name[32];
                snprintf(name, sizeof(name), "f%d.yaml", f);
                assert_int_equal(ps_regd_parse(c, buf, len, name, &err), 0);
                free(buf);
        }
        assert_int_equal(c->n_scopes, 3000);
        for (size_t i = 1; i < c->n_scopes; i++)
                assert_true(strcmp(c->scopes[i - 1].name, c->scopes[i].name) < 0);
        ps_regd_match mt = { 0 };
        assert_int_equal(ps_regd_lookup_ref(c, "r1.example/ns517/app:1", false, NULL, &mt, &err), 0);
        assert_string_equal(mt.url, "http://s/1/517");
        assert_string_equal(mt.file, "f1.yaml");
        ps_regd_match_clear(&mt);
}

/* registries.conf golden cases: NAME.in, and NAME.out (new text),
 * NAME.unchanged, or NAME.err ("ERRNO message-substring"); NAME.reg
 * overrides the registry (default registry.local). */
static void test_regconf_cases(void **state)
{
        _cleanup_free_ char *dir = fixture("conf");
        _cleanup_closedir_ DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *de;
        int cases = 0;
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n < 4 || strcmp(de->d_name + n - 3, ".in"))
                        continue;
                _cleanup_free_ char *name = strndup(de->d_name, n - 3);
                _cleanup_free_ char *in = NULL, *outp = NULL, *unch = NULL, *errp = NULL, *regp = NULL;
                assert_true(asprintf(&in, "%s/%s.in", dir, name) > 0);
                assert_true(asprintf(&outp, "%s/%s.out", dir, name) > 0);
                assert_true(asprintf(&unch, "%s/%s.unchanged", dir, name) > 0);
                assert_true(asprintf(&errp, "%s/%s.err", dir, name) > 0);
                assert_true(asprintf(&regp, "%s/%s.reg", dir, name) > 0);
                ps_error err = PS_ERROR_INIT;
                _cleanup_free_ char *text = NULL, *reg = NULL, *want = NULL, *got = NULL;
                size_t len = 0, glen = 0;
                assert_int_equal(ps_read_file(in, 1 << 20, &text, &len, &err), 0);
                const char *registry = "registry.local";
                if (ps_file_exists(regp)) {
                        assert_int_equal(ps_read_file(regp, 1024, &reg, NULL, &err), 0);
                        reg[strcspn(reg, "\n")] = '\0';
                        registry = reg;
                }
                int r = ps_regconf_add_insecure(text, len, NULL, registry, &got, &glen, &err);
                if (ps_file_exists(outp)) {
                        if (r != 1)
                                fail_msg("%s: expected a change, got %d (%s)", name, r, ps_error_msg(&err));
                        assert_int_equal(ps_read_file(outp, 1 << 20, &want, NULL, &err), 0);
                        if (strcmp(got, want))
                                fail_msg("%s: got\n%s\nwant\n%s", name, got, want);
                        assert_int_equal(glen, strlen(want));
                        /* applying it again changes nothing */
                        _cleanup_free_ char *again = NULL;
                        assert_int_equal(ps_regconf_add_insecure(got, glen, NULL, registry, &again, NULL, &err), 0);
                        assert_null(again);
                } else if (ps_file_exists(unch)) {
                        if (r != 0)
                                fail_msg("%s: expected unchanged, got %d (%s)", name, r, ps_error_msg(&err));
                        assert_null(got);
                } else {
                        assert_int_equal(ps_read_file(errp, 4096, &want, NULL, &err), 0);
                        want[strcspn(want, "\n")] = '\0';
                        char *sp = strchr(want, ' ');
                        assert_non_null(sp);
                        *sp = '\0';
                        int code = !strcmp(want, "EEXIST") ? -EEXIST : -EINVAL;
                        if (r != code)
                                fail_msg("%s: expected %s, got %d (%s)", name, want, r, ps_error_msg(&err));
                        if (!strstr(err.msg, sp + 1))
                                fail_msg("%s: message \"%s\" lacks \"%s\"", name, err.msg, sp + 1);
                        assert_null(got);
                        ps_error_clear(&err);
                }
                cases++;
        }
        assert_true(cases >= 15);
}

static void test_regconf_misc(void **state)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *o = NULL;
        size_t ol = 0;
        /* missing file */
        assert_int_equal(ps_regconf_add_insecure(NULL, 0, "/etc/containers/registries.conf", "127.0.0.1:5000", &o,
                                                 &ol, &err), 1);
        assert_string_equal(o, "[[registry]]\nlocation = \"127.0.0.1:5000\"\ninsecure = true\n");
        /* invalid registry names are refused before anything else */
        static const char *const bad[] = { "", "a b", "host/path", "host:", "x\"y", "-bad.host", "h:5000x" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                char *x = NULL;
                assert_int_equal(ps_regconf_add_insecure("", 0, NULL, bad[i], &x, NULL, &err), -EINVAL);
                assert_null(x);
                assert_non_null(strstr(err.msg, "expected host[:port]"));
                ps_error_clear(&err);
        }
        /* the file name and line appear in messages */
        char *x = NULL;
        const char v1[] = "# x\n[registries.insecure]\nregistries = []\n";
        assert_int_equal(ps_regconf_add_insecure(v1, strlen(v1), "/r/etc/containers/registries.conf",
                                                 "registry.local", &x, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "/r/etc/containers/registries.conf:2: the file uses the version 1 format"));
        assert_non_null(strstr(err.msg, "containers-registries.conf(5)"));
        ps_error_clear(&err);
        /* IPv6 with port */
        assert_int_equal(ps_regconf_add_insecure("", 0, NULL, "[::1]:5000", &x, NULL, &err), 1);
        free(x);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_merge_golden),
                cmocka_unit_test(test_conflicts),
                cmocka_unit_test(test_lookup),
                cmocka_unit_test(test_old_names),
                cmocka_unit_test(test_builtin),
                cmocka_unit_test(test_user_dir_replaces),
                cmocka_unit_test(test_sigurl),
                cmocka_unit_test(test_repo_url),
                cmocka_unit_test(test_file_url_path),
                cmocka_unit_test(test_scope_lookup),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_many_scopes),
                cmocka_unit_test(test_regconf_cases),
                cmocka_unit_test(test_regconf_misc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
