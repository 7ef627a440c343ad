/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The layer watcher on a real temporary tree, with each backend: what is
 * reported (layer, in-layer directory, name as bytes, event kind), what is
 * not (outside the diff trees, the layer's /var), renames, new layers and
 * storages, and the escaping of names for log lines.  fanotify cases are
 * skipped where fanotify cannot be used (not root, or in a user namespace). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "watch.h"

/* ---- helpers ------------------------------------------------------------ */

struct seen {
        char **lines;   /* "KIND layer dir name events" */
        size_t n;
};

static const char *const kinds[] = { "file", "overflow", "rescanned", "new-layer", "new-storage", "limit" };

static int collect(void *ud, const ps_watch_event *ev)
{
        struct seen *s = ud;
        char *line = NULL;
        if (ev->kind == PS_WATCH_FILE)
                assert_true(asprintf(&line, "file %s %s %.*s %s", ev->layer, ev->dir, (int)ev->name_len, ev->name,
                                     ev->events) > 0);
        else
                assert_true(asprintf(&line, "%s %s", kinds[ev->kind], ev->message) > 0);
        s->lines = realloc(s->lines, (s->n + 1) * sizeof *s->lines);
        assert_non_null(s->lines);
        s->lines[s->n++] = line;
        return 0;
}

static void seen_clear(struct seen *s)
{
        for (size_t i = 0; i < s->n; i++)
                free(s->lines[i]);
        free(s->lines);
        s->lines = NULL;
        s->n = 0;
}

static bool has(const struct seen *s, const char *line)
{
        for (size_t i = 0; i < s->n; i++)
                if (!strcmp(s->lines[i], line))
                        return true;
        return false;
}

static bool has_prefix(const struct seen *s, const char *prefix)
{
        for (size_t i = 0; i < s->n; i++)
                if (!strncmp(s->lines[i], prefix, strlen(prefix)))
                        return true;
        return false;
}

static bool has_substr(const struct seen *s, const char *sub)
{
        for (size_t i = 0; i < s->n; i++)
                if (strstr(s->lines[i], sub))
                        return true;
        return false;
}

/* Process events until LINE was reported (or 3 s passed). */
static bool wait_for(ps_watch *w, struct seen *s, const char *line)
{
        for (int i = 0; i < 60; i++) {
                if (has(s, line))
                        return true;
                struct pollfd p = { ps_watch_fd(w), POLLIN, 0 };
                if (poll(&p, 1, 50) > 0) {
                        ps_error err = PS_ERROR_INIT;
                        int r = ps_watch_process(w, collect, s, &err);
                        if (r < 0)
                                fail_msg("ps_watch_process: %s", ps_error_msg(&err));
                }
        }
        return has(s, line);
}

/* Process what comes within MS milliseconds. */
static void drain(ps_watch *w, struct seen *s, int ms)
{
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &t);
                long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
                if (el >= ms)
                        return;
                struct pollfd p = { ps_watch_fd(w), POLLIN, 0 };
                if (poll(&p, 1, (int)(ms - el)) > 0) {
                        ps_error err = PS_ERROR_INIT;
                        assert_true(ps_watch_process(w, collect, s, &err) >= 0);
                }
        }
}

static void mkdirs(const char *root, const char *rel)
{
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", root, rel) > 0);
        for (char *q = p + strlen(root) + 1; (q = strchr(q, '/')); q++) {
                *q = '\0';
                assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
                *q = '/';
        }
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void touch(const char *root, const char *rel)
{
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", root, rel) > 0);
        int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        close(fd);
}

static void put(const char *root, const char *rel, const char *text)
{
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", root, rel) > 0);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

struct fixture {
        char *root;
        ps_watch_backend backend;
};

#define OV "var/lib/containers/storage/overlay"

static int setup_tree(void **state, ps_watch_backend b)
{
        struct fixture *f = calloc(1, sizeof *f);
        char tmpl[] = "/tmp/podsec-test-watch.XXXXXX";
        if (!f || !mkdtemp(tmpl))
                return -1;
        f->root = strdup(tmpl);
        f->backend = b;
        mkdirs(f->root, "etc");
        put(f->root, "etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
        mkdirs(f->root, OV "/L1/diff/usr/bin");
        mkdirs(f->root, OV "/L1/diff/etc");
        mkdirs(f->root, OV "/L1/diff/var/log");
        mkdirs(f->root, OV "/L1/work/work");
        mkdirs(f->root, OV "/l");
        mkdirs(f->root, "home/alice/.local/share/containers/storage/overlay/A1/diff/home/alice");
        mkdirs(f->root, "outside");
        *state = f;
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        remove(path);
        return 0;
}

static int setup_inotify(void **state) { return setup_tree(state, PS_WATCH_INOTIFY); }
static int setup_fanotify(void **state) { return setup_tree(state, PS_WATCH_FANOTIFY); }

static int teardown_tree(void **state)
{
        struct fixture *f = *state;
        nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f->root);
        free(f);
        return 0;
}

static ps_watch *start(struct fixture *f, struct seen *s)
{
        ps_watch *w = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_watch_new(f->root, f->backend, &w, &err) < 0 || ps_watch_setup(w, collect, s, &err) < 0) {
                ps_watch_free(w);
                if (f->backend == PS_WATCH_FANOTIFY) {
                        print_message("fanotify cannot be used here: %s\n", ps_error_msg(&err));
                        ps_error_clear(&err);
                        return NULL;
                }
                fail_msg("%s", ps_error_msg(&err));
        }
        assert_int_equal(ps_watch_backend_used(w), f->backend);
        return w;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_escape(void **state)
{
        (void)state;
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } t[] = {
                { "plain", 5, "plain" },
                { "sp ace", 6, "sp ace" },
                { "new\nline", 8, "new\\nline" },
                { "tab\there", 8, "tab\\there" },
                { "back\\slash", 10, "back\\\\slash" },
                { "$(touch x)", 10, "$(touch x)" },
                { "esc\x1b[31m", 8, "esc\\x1b[31m" },
                { "del\x7f", 4, "del\\x7f" },
                { "nul\0byte", 8, "nul\\x00byte" },
                { "utf8 \xd0\xbf", 7, "utf8 \xd0\xbf" },
                { "", 0, "" },
        };
        for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
                _cleanup_free_ char *e = ps_watch_escape(t[i].in, t[i].len);
                assert_string_equal(e, t[i].out);
        }
}

static void test_names(void **state)
{
        struct fixture *f = *state;
        struct seen s = { 0 };
        ps_watch *w = start(f, &s);
        if (!w)
                skip();
        size_t dirs, storages, fss;
        ps_watch_counts(w, &dirs, &storages, &fss);
        assert_int_equal(storages, 2);
        if (f->backend == PS_WATCH_INOTIFY) {
                /* 2 overlays, 2 layer dirs; L1: diff etc usr usr/bin (var excluded); A1: diff home home/alice */
                assert_true(dirs >= 11);
                assert_int_equal(fss, 0);
        } else {
                assert_int_equal(dirs, 0);
                assert_true(fss >= 1);
        }
        assert_true(has_prefix(&s, "new-storage watching container storage "));
        seen_clear(&s);

        touch(f->root, OV "/L1/diff/usr/bin/$(id)");
        assert_true(wait_for(w, &s, "file L1 /usr/bin/ $(id) CREATE"));
        assert_true(wait_for(w, &s, "file L1 /usr/bin/ $(id) MODIFY"));
        touch(f->root, OV "/L1/diff/usr/bin/new\nline");
        assert_true(wait_for(w, &s, "file L1 /usr/bin/ new\nline CREATE"));
        touch(f->root, OV "/L1/diff/etc/shadow");
        assert_true(wait_for(w, &s, "file L1 /etc/ shadow CREATE"));
        touch(f->root, "home/alice/.local/share/containers/storage/overlay/A1/diff/home/alice/.profile");
        assert_true(wait_for(w, &s, "file A1 /home/alice/ .profile CREATE"));
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/" OV "/L1/diff/usr/bin/$(id)", f->root) > 0);
        assert_int_equal(unlink(p), 0);
        assert_true(wait_for(w, &s, "file L1 /usr/bin/ $(id) DELETE"));

        /* not reported: outside the diff trees, the layer's /var */
        touch(f->root, "outside/x");
        touch(f->root, OV "/L1/work/work/y");
        touch(f->root, OV "/L1/diff/var/log/z");
        touch(f->root, OV "/L1/diff/usr/marker");
        assert_true(wait_for(w, &s, "file L1 /usr/ marker CREATE"));
        drain(w, &s, 200);
        assert_false(has_substr(&s, " x CREATE"));
        assert_false(has_substr(&s, " y CREATE"));
        assert_false(has_substr(&s, " z CREATE"));
        seen_clear(&s);
        ps_watch_free(w);
}

static void test_rename_and_new_layers(void **state)
{
        struct fixture *f = *state;
        struct seen s = { 0 };
        ps_watch *w = start(f, &s);
        if (!w)
                skip();
        seen_clear(&s);
        mkdirs(f->root, OV "/L1/diff/opt/a/b");
        touch(f->root, OV "/L1/diff/opt/a/b/f1");
        assert_true(wait_for(w, &s, "file L1 /opt/a/b/ f1 CREATE"));
        _cleanup_free_ char *from = NULL, *to = NULL;
        assert_true(asprintf(&from, "%s/" OV "/L1/diff/opt/a", f->root) > 0);
        assert_true(asprintf(&to, "%s/" OV "/L1/diff/opt/c", f->root) > 0);
        assert_int_equal(rename(from, to), 0);
        assert_true(wait_for(w, &s, "file L1 /opt/ a MOVED_FROM,ISDIR"));
        assert_true(wait_for(w, &s, "file L1 /opt/ c MOVED_TO,ISDIR"));
        touch(f->root, OV "/L1/diff/opt/c/b/f2");
        assert_true(wait_for(w, &s, "file L1 /opt/c/b/ f2 CREATE"));

        /* a new layer, and files in it */
        mkdirs(f->root, OV "/L2/diff/srv");
        touch(f->root, OV "/L2/diff/srv/new");
        assert_true(wait_for(w, &s, "file L2 /srv/ new CREATE"));
        assert_true(has_prefix(&s, "new-layer watching layer L2 of "));

        /* a new user with a storage */
        put(f->root, "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n");
        drain(w, &s, 100);
        mkdirs(f->root, "home/bob/.local/share/containers/storage/overlay/B1/diff");
        drain(w, &s, 300);
        touch(f->root, "home/bob/.local/share/containers/storage/overlay/B1/diff/hello");
        assert_true(wait_for(w, &s, "file B1 / hello CREATE"));
        size_t storages;
        ps_watch_counts(w, NULL, &storages, NULL);
        assert_int_equal(storages, 3);
        seen_clear(&s);
        ps_watch_free(w);
}

static void test_backend_names(void **state)
{
        (void)state;
        assert_string_equal(ps_watch_backend_name(PS_WATCH_FANOTIFY), "fanotify");
        assert_string_equal(ps_watch_backend_name(PS_WATCH_INOTIFY), "inotify");
        assert_string_equal(ps_watch_backend_name(PS_WATCH_AUTO), "auto");
        char *why = NULL;
        ps_watch_backend b = ps_watch_probe(NULL, &why);
        assert_true(b == PS_WATCH_FANOTIFY || b == PS_WATCH_INOTIFY);
        /* inotify is chosen only with a reason */
        assert_true(b == PS_WATCH_FANOTIFY ? why == NULL : why != NULL);
        free(why);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_backend_names),
                cmocka_unit_test_setup_teardown(test_names, setup_inotify, teardown_tree),
                cmocka_unit_test_setup_teardown(test_names, setup_fanotify, teardown_tree),
                cmocka_unit_test_setup_teardown(test_rename_and_new_layers, setup_inotify, teardown_tree),
                cmocka_unit_test_setup_teardown(test_rename_and_new_layers, setup_fanotify, teardown_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
