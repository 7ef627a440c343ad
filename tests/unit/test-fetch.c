/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps_fetch against a small HTTP server run by the test itself on
 * 127.0.0.1 (one thread per connection, canned answers by path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fetch.h"

static int listen_fd = -1;
static int port;
static pthread_t acceptor;
static atomic_bool stopping;

static void send_all(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return;
                s += w;
                n -= (size_t)w;
        }
}

static void sendf(int fd, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n > 0)
                send_all(fd, s, (size_t)n);
        free(s);
}

static void *serve(void *arg)
{
        int fd = (int)(intptr_t)arg;
        char req[4096];
        size_t len = 0;
        while (len < sizeof req - 1) {
                ssize_t n = recv(fd, req + len, sizeof req - 1 - len, 0);
                if (n <= 0)
                        break;
                len += (size_t)n;
                req[len] = '\0';
                if (strstr(req, "\r\n\r\n"))
                        break;
        }
        req[len] = '\0';
        char path[256] = "";
        sscanf(req, "GET %255s", path);
        if (!strcmp(path, "/ok")) {
                sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        } else if (!strcmp(path, "/empty")) {
                sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        } else if (!strcmp(path, "/ua")) {
                const char *ua = strstr(req, "User-Agent: ");
                char v[128] = "";
                if (ua)
                        sscanf(ua + 12, "%127[^\r]", v);
                sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(v), v);
        } else if (!strcmp(path, "/missing")) {
                sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
        } else if (!strcmp(path, "/err")) {
                sendf(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops");
        } else if (!strcmp(path, "/big-cl")) {
                sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
                char buf[1000];
                memset(buf, 'x', sizeof buf);
                for (int i = 0; i < 100; i++)
                        send_all(fd, buf, sizeof buf);
        } else if (!strcmp(path, "/big-nolength")) {
                /* no Content-Length: the body ends when the connection closes */
                sendf(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                char buf[1000];
                memset(buf, 'y', sizeof buf);
                for (int i = 0; i < 100; i++)
                        send_all(fd, buf, sizeof buf);
        } else if (!strcmp(path, "/redir-file")) {
                sendf(fd, "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n");
        } else if (!strcmp(path, "/redir-ftp")) {
                sendf(fd, "HTTP/1.1 301 Moved\r\nLocation: ftp://127.0.0.1/x\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n");
        } else if (!strcmp(path, "/redir-ok")) {
                sendf(fd, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        } else if (!strcmp(path, "/loop")) {
                sendf(fd, "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        } else if (!strcmp(path, "/slow")) {
                /* never answers within the client's timeout */
                for (int i = 0; i < 30 && !atomic_load(&stopping); i++)
                        usleep(100000);
        } else if (!strcmp(path, "/short")) {
                sendf(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly a bit");
        } else {
                sendf(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
        shutdown(fd, SHUT_WR);
        close(fd);
        return NULL;
}

static void *accept_loop(void *arg)
{
        while (!atomic_load(&stopping)) {
                struct pollfd p = { .fd = listen_fd, .events = POLLIN };
                if (poll(&p, 1, 100) <= 0)
                        continue;
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                pthread_t t;
                if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0)
                        pthread_detach(t);
                else
                        close(fd);
        }
        return NULL;
}

static int group_setup(void **state)
{
        listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(listen_fd >= 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(bind(listen_fd, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t l = sizeof a;
        assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&a, &l), 0);
        port = ntohs(a.sin_port);
        assert_int_equal(listen(listen_fd, 16), 0);
        assert_int_equal(pthread_create(&acceptor, NULL, accept_loop, NULL), 0);
        return 0;
}

static int group_teardown(void **state)
{
        atomic_store(&stopping, true);
        pthread_join(acceptor, NULL);
        close(listen_fd);
        usleep(200000);   /* let detached handlers finish */
        return 0;
}

static char *url(const char *path)
{
        char *u = NULL;
        assert_true(asprintf(&u, "http://127.0.0.1:%d%s", port, path) > 0);
        return u;
}

static int get(const char *path, size_t max, long timeout_ms, ps_fetch_result *res, ps_error *err)
{
        char *u = url(path);
        ps_fetch_opts o = { .max_size = max, .timeout_ms = timeout_ms };
        int r = ps_fetch(u, &o, res, err);
        free(u);
        return r;
}

static void test_ok(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        assert_int_equal(get("/ok", 100, 0, &res, &err), 0);
        assert_int_equal(res.status, 200);
        assert_int_equal(res.len, 5);
        assert_string_equal(res.data, "hello");
        ps_fetch_result_clear(&res);

        assert_int_equal(get("/empty", 100, 0, &res, &err), 0);
        assert_int_equal(res.len, 0);
        assert_non_null(res.data);
        assert_string_equal(res.data, "");
        ps_fetch_result_clear(&res);

        /* exactly at the limit is fine */
        assert_int_equal(get("/ok", 5, 0, &res, &err), 0);
        ps_fetch_result_clear(&res);

        assert_int_equal(get("/ua", 100, 0, &res, &err), 0);
        assert_true(!strncmp(res.data, "podsec/", 7));
        ps_fetch_result_clear(&res);
}

static void test_status(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        int r = get("/missing", 100, 0, &res, &err);
        assert_int_equal(r, -ENOENT);
        assert_int_equal(res.status, 404);
        assert_null(res.data);
        assert_non_null(strstr(err.msg, "HTTP 404"));
        assert_non_null(strstr(err.msg, "/missing"));
        assert_true(ps_fetch_unreachable(r));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        r = get("/err", 100, 0, &res, &err);
        assert_int_equal(r, -EREMOTEIO);
        assert_int_equal(res.status, 500);
        assert_non_null(strstr(err.msg, "HTTP 500"));
        assert_true(ps_fetch_unreachable(r));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);
}

static void test_size_limit(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        int r = get("/ok", 4, 0, &res, &err);
        assert_int_equal(r, -EFBIG);
        assert_non_null(strstr(err.msg, "limit of 4 bytes"));
        assert_false(ps_fetch_unreachable(r));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        r = get("/big-cl", 1000, 0, &res, &err);
        assert_int_equal(r, -EFBIG);
        assert_null(res.data);
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        r = get("/big-nolength", 1000, 0, &res, &err);
        assert_int_equal(r, -EFBIG);
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        /* a body shorter than its Content-Length is a broken transfer */
        r = get("/short", 1000, 0, &res, &err);
        assert_true(r < 0);
        assert_true(ps_fetch_unreachable(r));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);
}

static void test_redirects(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        assert_int_equal(get("/redir-ok", 100, 0, &res, &err), 0);
        assert_string_equal(res.data, "hello");
        assert_non_null(strstr(res.effective_url, "/ok"));
        ps_fetch_result_clear(&res);

        int r = get("/redir-file", 100, 0, &res, &err);
        assert_int_equal(r, -EPROTO);
        assert_non_null(strstr(err.msg, "not http:// or https://"));
        assert_false(ps_fetch_unreachable(r));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        r = get("/redir-ftp", 100, 0, &res, &err);
        assert_int_equal(r, -EPROTO);
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        r = get("/loop", 100, 0, &res, &err);
        assert_int_equal(r, -EPROTO);
        assert_non_null(strstr(err.msg, "redirects"));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);
}

static void test_bad_urls(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        ps_fetch_opts o = { .max_size = 10 };
        const char *bad[] = { "ftp://127.0.0.1/x", "file:///etc/passwd", "/etc/passwd", "",
                              "http://exa mple/", "http://x/\n", "gopher://x/", "http:///path", "httpx://a/" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                int r = ps_fetch(bad[i], &o, &res, &err);
                if (r != -EINVAL)
                        fail_msg("'%s': %d", bad[i], r);
                assert_null(res.data);
                ps_error_clear(&err);
        }
        /* no size limit: a programming error, refused */
        char *u = url("/ok");
        ps_fetch_opts none = { 0 };
        assert_int_equal(ps_fetch(u, &none, &res, &err), -EINVAL);
        ps_error_clear(&err);
        free(u);
        assert_int_equal(ps_fetch_url_check("HTTPS://host/", &err), 0);
        assert_int_equal(ps_fetch_url_check("http://host:81/keys/", &err), 0);
}

static void test_refused_and_timeout(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        /* a port nobody listens on */
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t l = sizeof a;
        getsockname(s, (struct sockaddr *)&a, &l);
        close(s);
        char *u = NULL;
        assert_true(asprintf(&u, "http://127.0.0.1:%d/x", ntohs(a.sin_port)) > 0);
        ps_fetch_opts o = { .max_size = 10 };
        int r = ps_fetch(u, &o, &res, &err);
        assert_int_equal(r, -ECONNREFUSED);
        assert_int_equal(res.status, 0);
        assert_true(ps_fetch_unreachable(r));
        assert_non_null(strstr(err.msg, u));
        free(u);
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        r = get("/slow", 100, 300, &res, &err);
        assert_int_equal(r, -ETIMEDOUT);
        assert_true(ps_fetch_unreachable(r));
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);

        /* a name that does not resolve (.invalid is reserved, RFC 6761) */
        ps_fetch_opts o2 = { .max_size = 10, .connect_timeout_ms = 2000 };
        r = ps_fetch("http://no-such-host.invalid/x", &o2, &res, &err);
        assert_int_equal(r, -EHOSTUNREACH);
        ps_fetch_result_clear(&res);
        ps_error_clear(&err);
}

static void test_resolve(void **state)
{
        ps_error err = PS_ERROR_INIT;
        ps_fetch_result res;
        char *u = NULL, *entry = NULL;
        assert_true(asprintf(&u, "http://sigstore.test.invalid:%d/ok", port) > 0);
        assert_true(asprintf(&entry, "sigstore.test.invalid:%d:127.0.0.1", port) > 0);
        const char *resolve[] = { entry, NULL };
        ps_fetch_opts o = { .max_size = 100, .resolve = resolve };
        assert_int_equal(ps_fetch(u, &o, &res, &err), 0);
        assert_string_equal(res.data, "hello");
        ps_fetch_result_clear(&res);
        free(u);
        free(entry);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ok),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_redirects),
                cmocka_unit_test(test_bad_urls),
                cmocka_unit_test(test_refused_and_timeout),
                cmocka_unit_test(test_resolve),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
