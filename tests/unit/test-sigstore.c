/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The lookaside signature store: URLs, O_EXCL-style numbering, concurrent
 * writers, shared-directory modes, symlink refusal, reading from file://
 * and from a small HTTP server started by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "sigstore.h"

#define HEX "6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a06f535a4757146e3576c"
#define DIG "sha256:" HEX

static int rm_entry(const char *p, const struct stat *sb, int t, struct FTW *f) { remove(p); return 0; }

static char *tmpdir(void)
{
        char t[] = "/tmp/podsec-sigstore-XXXXXX";
        assert_non_null(mkdtemp(t));
        return strdup(t);
}

static void rmrf(char *d)
{
        nftw(d, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
}

static char *file_url(const char *dir)
{
        char *u = NULL;
        assert_true(asprintf(&u, "file://%s/sigstore/", dir) > 0);
        return u;
}

static char *slurp(const char *path)
{
        char *b = NULL;
        size_t n = 0;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(path, 1 << 20, &b, &n, &err) < 0)
                return NULL;
        return b;
}

static size_t count_entries(const char *dir, const char *prefix)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        if (!d)
                return 0;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
                if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
                        n++;
        return n;
}

static void test_urls(void **s)
{
        ps_error err = PS_ERROR_INIT;
        char *u = NULL;
        assert_int_equal(ps_sigstore_url("file:///var/sigstore/sigstore/", "c10f/pause", DIG, 1, &u, &err), 0);
        assert_string_equal(u, "file:///var/sigstore/sigstore/c10f/pause@sha256=" HEX "/signature-1");
        free(u);
        assert_int_equal(ps_sigstore_url("http://sigstore.local:81/sigstore/", "c10f/pause", DIG, 2, &u, &err), 0);
        assert_string_equal(u, "http://sigstore.local:81/sigstore/c10f/pause@sha256=" HEX "/signature-2");
        free(u);
        assert_int_equal(ps_sigstore_url("https://h/s", "a", DIG, 0, &u, &err), 0);
        assert_string_equal(u, "https://h/s/a@sha256=" HEX "/");
        free(u);
        assert_int_equal(ps_sigstore_url("HTTP://h", "a/b-c/d__e", "sha512:" HEX HEX, 7, &u, &err), 0);
        assert_string_equal(u, "HTTP://h/a/b-c/d__e@sha512=" HEX HEX "/signature-7");
        free(u);

        const char *bad_bases[] = { "ftp://h/x", "file://host/x", "file:relative", "http://", "http:///x",
                                    "http://h/x?q=1", "http://h/x#f", "http://h/a b", "", "/var/sigstore",
                                    "file://" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad_bases); i++) {
                u = NULL;
                if (ps_sigstore_url(bad_bases[i], "a", DIG, 1, &u, &err) >= 0)
                        fail_msg("base \"%s\" accepted as %s", bad_bases[i], u);
                ps_error_clear(&err);
        }
        const char *bad_repos[] = { "", "/a", "a/", "a//b", "../a", "a/../b", "A", "a/B", "a b", "a@b", "a:1",
                                    "-a", "a.", "a_-b" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad_repos); i++) {
                assert_false(ps_sigstore_repo_valid(bad_repos[i]));
                assert_int_equal(ps_sigstore_url("http://h", bad_repos[i], DIG, 1, &u, &err), -EINVAL);
                ps_error_clear(&err);
        }
        assert_true(ps_sigstore_repo_valid("k8s-c10f1/pause"));
        assert_true(ps_sigstore_repo_valid("a.b/c_d/e--f/g__h"));
        const char *bad_digests[] = { "sha256:" HEX "0", "sha256:../" HEX, "sha256=" HEX, HEX, "SHA256:" HEX, "" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad_digests); i++) {
                assert_int_equal(ps_sigstore_url("http://h", "a", bad_digests[i], 1, &u, &err), -EINVAL);
                ps_error_clear(&err);
        }
}

static void test_local_dir(void **s)
{
        ps_error err = PS_ERROR_INIT;
        char *d = NULL;
        assert_int_equal(ps_sigstore_local_dir("/r", "file:///var/sigstore/sigstore/", "c10f/pause", DIG, &d, &err), 0);
        assert_string_equal(d, "/r/var/sigstore/sigstore/c10f/pause@sha256=" HEX);
        free(d);
        assert_int_equal(ps_sigstore_local_dir(NULL, "file://localhost/a%20b//", "x", DIG, &d, &err), 0);
        assert_string_equal(d, "/a b/x@sha256=" HEX);
        free(d);
        assert_int_equal(ps_sigstore_local_dir(NULL, "file:///", "x", DIG, &d, &err), 0);
        assert_string_equal(d, "/x@sha256=" HEX);
        free(d);
        assert_int_equal(ps_sigstore_local_dir(NULL, "file:///a%zz", "x", DIG, &d, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_local_dir(NULL, "file:///a%00b", "x", DIG, &d, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_local_dir(NULL, "http://h/x", "x", DIG, &d, &err), -EPROTONOSUPPORT);
        ps_error_clear(&err);
}

static void test_write_and_read(void **s)
{
        char *root = tmpdir();
        _cleanup_free_ char *base = file_url("");     /* file:///sigstore/ below the root */
        ps_error err = PS_ERROR_INIT;
        mode_t old = umask(077);      /* modes must not depend on the umask */
        unsigned idx = 0;
        char *path = NULL;
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "first", 5, &idx, &path, &err), 0);
        assert_int_equal(idx, 1);
        _cleanup_free_ char *dir = NULL;
        assert_true(asprintf(&dir, "%s/sigstore/c10f/pause@sha256=" HEX, root) > 0);
        _cleanup_free_ char *want = ps_path_join(dir, "signature-1");
        assert_string_equal(path, want);
        free(path);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "second", 6, &idx, NULL, &err), 0);
        assert_int_equal(idx, 2);
        umask(old);

        struct stat st;
        _cleanup_free_ char *sig2 = ps_path_join(dir, "signature-2");
        assert_int_equal(stat(sig2, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_nlink, 1);       /* the temporary name is gone */
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0775);
        _cleanup_free_ char *c10f = NULL;
        assert_true(asprintf(&c10f, "%s/sigstore/c10f", root) > 0);
        assert_int_equal(stat(c10f, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0775);
        assert_int_equal(count_entries(dir, ".sig-tmp"), 0);

        _cleanup_free_ char *c1 = slurp(want), *c2 = slurp(sig2);
        assert_string_equal(c1, "first");
        assert_string_equal(c2, "second");

        ps_sig_list l;
        ps_sigstore_read_opts ro = { .root = root };
        assert_int_equal(ps_sigstore_read(base, "c10f/pause", DIG, &ro, &l, &err), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.v[0].len, 5);
        assert_memory_equal(l.v[0].data, "first", 5);
        assert_memory_equal(l.v[1].data, "second", 6);
        ps_sig_list_clear(&l);
        /* nothing stored for another digest or repository */
        assert_int_equal(ps_sigstore_read(base, "c10f/other", DIG, &ro, &l, &err), 0);
        assert_int_equal(l.n, 0);
        ps_sig_list_clear(&l);

        /* an existing signature is never replaced; a gap is filled first */
        _cleanup_free_ char *sig4 = ps_path_join(dir, "signature-4");
        assert_int_equal(ps_create_excl(sig4, "fourth", 6, 0644, &err), 0);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "third", 5, &idx, NULL, &err), 0);
        assert_int_equal(idx, 3);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "fifth", 5, &idx, NULL, &err), 0);
        assert_int_equal(idx, 5);
        _cleanup_free_ char *c4 = slurp(sig4);
        assert_string_equal(c4, "fourth");
        assert_int_equal(ps_sigstore_read(base, "c10f/pause", DIG, &ro, &l, &err), 0);
        assert_int_equal(l.n, 5);
        ps_sig_list_clear(&l);
        /* reading stops at the first missing index */
        assert_int_equal(unlink(want), 0);
        assert_int_equal(ps_sigstore_read(base, "c10f/pause", DIG, &ro, &l, &err), 0);
        assert_int_equal(l.n, 0);
        ps_sig_list_clear(&l);

        /* refused writes */
        assert_int_equal(ps_sigstore_write(root, "http://h/s", "c10f/pause", DIG, "x", 1, &idx, NULL, &err),
                         -EPROTONOSUPPORT);
        assert_non_null(strstr(err.msg, "read-only"));
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "", 0, &idx, NULL, &err), -EINVAL);
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_write(root, base, "C10f", DIG, "x", 1, &idx, NULL, &err), -EINVAL);
        ps_error_clear(&err);
        rmrf(root);
}

static void test_read_errors(void **s)
{
        char *root = tmpdir();
        _cleanup_free_ char *base = file_url("");
        ps_error err = PS_ERROR_INIT;
        ps_sigstore_read_opts ro = { .root = root };
        ps_sig_list l;
        /* signature-1 is a directory */
        _cleanup_free_ char *d = NULL;
        assert_true(asprintf(&d, "%s/sigstore/a@sha256=" HEX "/signature-1", root) > 0);
        assert_int_equal(ps_mkdir_p(d, 0755, &err), 0);
        assert_int_equal(ps_sigstore_read(base, "a", DIG, &ro, &l, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "signature-1"));
        assert_int_equal(l.n, 0);
        ps_error_clear(&err);
        /* an oversized signature */
        _cleanup_free_ char *big = NULL;
        assert_true(asprintf(&big, "%s/sigstore/b@sha256=" HEX, root) > 0);
        assert_int_equal(ps_mkdir_p(big, 0755, &err), 0);
        _cleanup_free_ char *bigf = ps_path_join(big, "signature-1");
        char *data = calloc(1, PS_SIGSTORE_SIG_MAX + 1);
        assert_int_equal(ps_write_atomic(bigf, data, PS_SIGSTORE_SIG_MAX + 1, 0644, &err), 0);
        assert_int_equal(ps_sigstore_read(base, "b", DIG, &ro, &l, &err), -EFBIG);
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_write(root, base, "b", DIG, data, PS_SIGSTORE_SIG_MAX + 1, NULL, NULL, &err), -EFBIG);
        ps_error_clear(&err);
        free(data);
        rmrf(root);
}

static void test_limit(void **s)
{
        char *root = tmpdir();
        _cleanup_free_ char *base = file_url("");
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *dir = NULL;
        assert_true(asprintf(&dir, "%s/sigstore/many@sha256=" HEX, root) > 0);
        assert_int_equal(ps_mkdir_p(dir, 0755, &err), 0);
        for (int i = 1; i <= PS_SIGSTORE_MAX_SIGS; i++) {
                _cleanup_free_ char *f = NULL;
                assert_true(asprintf(&f, "%s/signature-%d", dir, i) > 0);
                assert_int_equal(ps_create_excl(f, "s", 1, 0644, &err), 0);
        }
        unsigned idx = 0;
        assert_int_equal(ps_sigstore_write(root, base, "many", DIG, "x", 1, &idx, NULL, &err), -E2BIG);
        ps_error_clear(&err);
        assert_int_equal(count_entries(dir, ".sig-tmp"), 0);
        assert_int_equal(count_entries(dir, "signature-"), PS_SIGSTORE_MAX_SIGS);
        ps_sig_list l;
        ps_sigstore_read_opts ro = { .root = root };
        assert_int_equal(ps_sigstore_read(base, "many", DIG, &ro, &l, &err), 0);
        assert_int_equal(l.n, PS_SIGSTORE_MAX_SIGS);
        ps_sig_list_clear(&l);
        /* signature-128 makes c/image give up; so do we */
        _cleanup_free_ char *f = NULL;
        assert_true(asprintf(&f, "%s/signature-%d", dir, PS_SIGSTORE_MAX_SIGS + 1) > 0);
        assert_int_equal(ps_create_excl(f, "s", 1, 0644, &err), 0);
        assert_int_equal(ps_sigstore_read(base, "many", DIG, &ro, &l, &err), -E2BIG);
        assert_int_equal(l.n, 0);
        ps_error_clear(&err);
        rmrf(root);
}

static void test_symlink_refused(void **s)
{
        char *root = tmpdir();
        _cleanup_free_ char *base = file_url("");
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *store = NULL, *elsewhere = NULL, *link = NULL;
        assert_true(asprintf(&store, "%s/sigstore", root) > 0);
        assert_true(asprintf(&elsewhere, "%s/elsewhere", root) > 0);
        assert_true(asprintf(&link, "%s/sigstore/c10f", root) > 0);
        assert_int_equal(ps_mkdir_p(store, 0775, &err), 0);
        assert_int_equal(ps_mkdir_p(elsewhere, 0755, &err), 0);
        assert_int_equal(symlink(elsewhere, link), 0);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "x", 1, NULL, NULL, &err), -ENOTDIR);
        assert_non_null(strstr(err.msg, "symbolic link"));
        ps_error_clear(&err);
        assert_int_equal(count_entries(elsewhere, ""), 2);      /* only . and .. */
        /* the digest directory itself */
        assert_int_equal(unlink(link), 0);
        assert_int_equal(ps_mkdir_p(link, 0775, &err), 0);
        _cleanup_free_ char *dl = NULL;
        assert_true(asprintf(&dl, "%s/pause@sha256=" HEX, link) > 0);
        assert_int_equal(symlink(elsewhere, dl), 0);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "x", 1, NULL, NULL, &err), -ENOTDIR);
        ps_error_clear(&err);
        assert_int_equal(count_entries(elsewhere, ""), 2);
        rmrf(root);
}

static void test_shared_group(void **s)
{
        if (geteuid() != 0) {
                print_message("# not root: group inheritance not tested\n");
                skip();
        }
        char *root = tmpdir();
        _cleanup_free_ char *base = file_url("");
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *store = NULL;
        assert_true(asprintf(&store, "%s/sigstore", root) > 0);
        assert_int_equal(ps_mkdir_p(store, 0775, &err), 0);
        /* like /var/sigstore/sigstore: root:podman_dev 0775 (no setgid) */
        assert_int_equal(chown(store, 0, 4242), 0);
        assert_int_equal(ps_sigstore_write(root, base, "c10f/pause", DIG, "x", 1, NULL, NULL, &err), 0);
        _cleanup_free_ char *c10f = ps_path_join(store, "c10f");
        _cleanup_free_ char *dig = NULL;
        assert_true(asprintf(&dig, "%s/pause@sha256=" HEX, c10f) > 0);
        struct stat st;
        assert_int_equal(stat(c10f, &st), 0);
        assert_int_equal(st.st_gid, 4242);
        assert_int_equal(st.st_mode & 07777, 0775);
        assert_int_equal(stat(dig, &st), 0);
        assert_int_equal(st.st_gid, 4242);
        /* a setgid store passes the bit on */
        assert_int_equal(chmod(store, 02775), 0);
        assert_int_equal(ps_sigstore_write(root, base, "alt/x", DIG, "x", 1, NULL, NULL, &err), 0);
        _cleanup_free_ char *alt = ps_path_join(store, "alt");
        assert_int_equal(stat(alt, &st), 0);
        assert_int_equal(st.st_gid, 4242);
        assert_int_equal(st.st_mode & 07777, 02775);
        /* so does a sticky one (policy init makes sigstore/ 3775: W4) */
        assert_int_equal(chmod(store, 03775), 0);
        assert_int_equal(ps_sigstore_write(root, base, "w4/y", DIG, "x", 1, NULL, NULL, &err), 0);
        _cleanup_free_ char *w4 = ps_path_join(store, "w4");
        _cleanup_free_ char *w4dig = NULL;
        assert_true(asprintf(&w4dig, "%s/y@sha256=" HEX, w4) > 0);
        assert_int_equal(stat(w4, &st), 0);
        assert_int_equal(st.st_mode & 07777, 03775);
        assert_int_equal(stat(w4dig, &st), 0);
        assert_int_equal(st.st_mode & 07777, 03775);
        rmrf(root);
}

static void test_missing_base_created(void **s)
{
        char *root = tmpdir();
        ps_error err = PS_ERROR_INIT;
        /* the store itself does not exist yet */
        assert_int_equal(ps_sigstore_write(root, "file:///var/lib/containers/sigstore", "a/b", DIG, "x", 1, NULL, NULL,
                                           &err), 0);
        _cleanup_free_ char *f = NULL;
        assert_true(asprintf(&f, "%s/var/lib/containers/sigstore/a/b@sha256=" HEX "/signature-1", root) > 0);
        assert_true(ps_file_exists(f));
        rmrf(root);
}

/* Eight processes add a signature to the same digest at the same moment. */
static void test_concurrent_writers(void **s)
{
        char *root = tmpdir();
        _cleanup_free_ char *base = file_url("");
        enum { N = 8 };
        int go[2];
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        pid_t pids[N];
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(go[1]);
                        char c;
                        (void)!read(go[0], &c, 1);      /* wait for the start */
                        char content[64];
                        int n = snprintf(content, sizeof content, "signature from writer %d", i);
                        ps_error err = PS_ERROR_INIT;
                        unsigned idx = 0;
                        int r = ps_sigstore_write(root, base, "c10f/pause", DIG, content, (size_t)n, &idx, NULL, &err);
                        _exit(r < 0 ? 100 : (int)idx);
                }
        }
        close(go[0]);
        close(go[1]);           /* EOF releases all writers at once */
        bool seen_idx[N + 1] = { false };
        for (int i = 0; i < N; i++) {
                int st = 0;
                assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
                assert_true(WIFEXITED(st));
                int idx = WEXITSTATUS(st);
                assert_true(idx >= 1 && idx <= N);
                assert_false(seen_idx[idx]);
                seen_idx[idx] = true;
        }
        _cleanup_free_ char *dir = NULL;
        assert_true(asprintf(&dir, "%s/sigstore/c10f/pause@sha256=" HEX, root) > 0);
        assert_int_equal(count_entries(dir, "signature-"), N);
        assert_int_equal(count_entries(dir, ".sig-tmp"), 0);
        bool seen_writer[N] = { false };
        for (int i = 1; i <= N; i++) {
                _cleanup_free_ char *f = NULL;
                assert_true(asprintf(&f, "%s/signature-%d", dir, i) > 0);
                _cleanup_free_ char *c = slurp(f);
                assert_non_null(c);
                int w = -1;
                assert_int_equal(sscanf(c, "signature from writer %d", &w), 1);
                assert_true(w >= 0 && w < N);
                assert_false(seen_writer[w]);
                seen_writer[w] = true;
        }
        rmrf(root);
}

/* ---- HTTP ---------------------------------------------------------------- */

static pid_t server_pid = -1;
static int server_port;

static void respond(int fd, const char *status, const char *extra, const char *body, size_t len)
{
        char head[512];
        int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                         len, extra ? extra : "");
        (void)!write(fd, head, (size_t)n);
        while (len > 0) {
                ssize_t w = write(fd, body, len);
                if (w <= 0)
                        return;
                body += w;
                len -= (size_t)w;
        }
}

static void serve(int lfd)
{
        signal(SIGPIPE, SIG_IGN);
        static char big[(5 << 20)];
        memset(big, 'b', sizeof big);
        for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                char req[8192];
                size_t len = 0;
                while (len < sizeof req - 1) {
                        ssize_t r = read(fd, req + len, sizeof req - 1 - len);
                        if (r <= 0)
                                break;
                        len += (size_t)r;
                        req[len] = '\0';
                        if (strstr(req, "\r\n\r\n"))
                                break;
                }
                req[len] = '\0';
                char path[4096] = "";
                sscanf(req, "GET %4095s", path);
                const char *sig = strstr(path, "/signature-");
                int n = sig ? atoi(sig + 11) : 0;
                char loc[256];
                if (strstr(path, "/ok/x@sha256=" HEX "/") && (n == 1 || n == 2))
                        respond(fd, "200 OK", NULL, n == 1 ? "one" : "two", 3);
                else if (strstr(path, "/err/x@"))
                        respond(fd, "500 Internal Server Error", NULL, "oops", 4);
                else if (strstr(path, "/forbidden/x@"))
                        respond(fd, "403 Forbidden", NULL, "no", 2);
                else if (strstr(path, "/big/x@"))
                        respond(fd, "200 OK", NULL, big, sizeof big);
                else if (strstr(path, "/many/x@"))
                        respond(fd, "200 OK", NULL, "s", 1);
                else if (strstr(path, "/redir/x@") && n == 1) {
                        snprintf(loc, sizeof loc, "Location: /sigstore/ok/x@sha256=" HEX "/signature-1\r\n");
                        respond(fd, "302 Found", loc, "", 0);
                } else
                        respond(fd, "404 Not Found", NULL, "nope", 4);
                close(fd);
        }
}

static int http_setup(void **s)
{
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
        assert_int_equal(listen(lfd, 16), 0);
        socklen_t al = sizeof a;
        assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
        server_port = ntohs(a.sin_port);
        server_pid = fork();
        assert_true(server_pid >= 0);
        if (server_pid == 0) {
                serve(lfd);
                _exit(0);
        }
        close(lfd);
        return 0;
}

static int http_teardown(void **s)
{
        if (server_pid > 0) {
                kill(server_pid, SIGTERM);
                waitpid(server_pid, NULL, 0);
        }
        return 0;
}

static void test_http_read(void **s)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *base = NULL;
        assert_true(asprintf(&base, "http://127.0.0.1:%d/sigstore/", server_port) > 0);
        ps_sig_list l;
        assert_int_equal(ps_sigstore_read(base, "ok/x", DIG, NULL, &l, &err), 0);
        assert_int_equal(l.n, 2);
        assert_memory_equal(l.v[0].data, "one", 3);
        assert_memory_equal(l.v[1].data, "two", 3);
        ps_sig_list_clear(&l);
        assert_int_equal(ps_sigstore_read(base, "none/x", DIG, NULL, &l, &err), 0);
        assert_int_equal(l.n, 0);
        ps_sig_list_clear(&l);
        assert_int_equal(ps_sigstore_read(base, "redir/x", DIG, NULL, &l, &err), 0);
        assert_int_equal(l.n, 1);
        assert_memory_equal(l.v[0].data, "one", 3);
        ps_sig_list_clear(&l);

        assert_int_equal(ps_sigstore_read(base, "err/x", DIG, NULL, &l, &err), -EIO);
        print_message("# %s\n", err.msg);
        assert_non_null(strstr(err.msg, "HTTP status 500"));
        assert_non_null(strstr(err.msg, "/sigstore/err/x@sha256=" HEX "/signature-1"));
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_read(base, "forbidden/x", DIG, NULL, &l, &err), -EIO);
        assert_non_null(strstr(err.msg, "403"));
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_read(base, "big/x", DIG, NULL, &l, &err), -EFBIG);
        print_message("# %s\n", err.msg);
        ps_error_clear(&err);
        assert_int_equal(ps_sigstore_read(base, "many/x", DIG, NULL, &l, &err), -E2BIG);
        assert_int_equal(l.n, 0);
        ps_error_clear(&err);

        /* nothing listening */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t al = sizeof a;
        getsockname(fd, (struct sockaddr *)&a, &al);
        _cleanup_free_ char *dead = NULL;
        assert_true(asprintf(&dead, "http://127.0.0.1:%d/sigstore", ntohs(a.sin_port)) > 0);
        assert_int_equal(ps_sigstore_read(dead, "ok/x", DIG, &(ps_sigstore_read_opts){ .connect_timeout = 2 }, &l, &err),
                         -EIO);
        print_message("# %s\n", err.msg);
        assert_non_null(strstr(err.msg, dead));
        ps_error_clear(&err);
        close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_urls),
                cmocka_unit_test(test_local_dir),
                cmocka_unit_test(test_write_and_read),
                cmocka_unit_test(test_read_errors),
                cmocka_unit_test(test_limit),
                cmocka_unit_test(test_symlink_refused),
                cmocka_unit_test(test_shared_group),
                cmocka_unit_test(test_missing_base_created),
                cmocka_unit_test(test_concurrent_writers),
                cmocka_unit_test_setup_teardown(test_http_read, http_setup, http_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
