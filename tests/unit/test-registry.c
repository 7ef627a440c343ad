/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cleanup.h"
#include "registry.h"

/* ---- pure helpers ------------------------------------------------------ */

static void test_challenge(void **state)
{
        ps_auth_challenge c;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_registry_parse_challenge(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
                "scope=\"repository:a/b:pull,push\"", &c, &err), 0);
        assert_string_equal(c.scheme, "Bearer");
        assert_string_equal(c.realm, "https://auth.example/token");
        assert_string_equal(c.service, "registry.example");
        assert_string_equal(c.scope, "repository:a/b:pull,push");
        assert_null(c.error);
        ps_auth_challenge_free(&c);

        /* spaces, unquoted values, escapes, error=, unknown keys, case */
        assert_int_equal(ps_registry_parse_challenge(
                "bearer  REALM=http://h/t , Service = \"s\\\"q\" ,x=y, error=\"insufficient_scope\"",
                &c, &err), 0);
        assert_string_equal(c.scheme, "bearer");
        assert_string_equal(c.realm, "http://h/t");
        assert_string_equal(c.service, "s\"q");
        assert_string_equal(c.error, "insufficient_scope");
        assert_null(c.scope);
        ps_auth_challenge_free(&c);

        /* a second challenge in the same header ends the first */
        assert_int_equal(ps_registry_parse_challenge("Basic realm=\"Registry Realm\", Bearer realm=\"x\"",
                                                     &c, &err), 0);
        assert_string_equal(c.scheme, "Basic");
        assert_string_equal(c.realm, "Registry Realm");
        ps_auth_challenge_free(&c);

        assert_int_equal(ps_registry_parse_challenge("Basic", &c, &err), 0);
        assert_string_equal(c.scheme, "Basic");
        assert_null(c.realm);
        ps_auth_challenge_free(&c);

        assert_true(ps_registry_parse_challenge("Bearer realm=\"unterminated", &c, &err) < 0);
        assert_non_null(strstr(err.msg, "malformed"));
        assert_true(ps_registry_parse_challenge("  ", &c, &err) < 0);
        assert_true(ps_registry_parse_challenge(NULL, &c, &err) < 0);
        ps_error_clear(&err);
}

static void test_error_text(void **state)
{
        const char *b1 = "{\"errors\":[{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}";
        char *t = ps_registry_error_text(b1, strlen(b1));
        assert_string_equal(t, "MANIFEST_BLOB_UNKNOWN: blob unknown to registry");
        free(t);

        const char *b2 = "{\"errors\":[{\"code\":\"BLOB_UNKNOWN\",\"message\":\"blob unknown\","
                         "\"detail\":{\"digest\":\"sha256:aa\"}},"
                         "{\"code\":\"DENIED\",\"message\":\"no\",\"detail\":\"read only\"},"
                         "{\"code\":\"X\",\"detail\":{}}]}";
        t = ps_registry_error_text(b2, strlen(b2));
        assert_string_equal(t, "BLOB_UNKNOWN: blob unknown ({\"digest\":\"sha256:aa\"}); DENIED: no (read only); X");
        free(t);

        /* control characters of the registry's text are neutralised */
        const char *b3 = "{\"errors\":[{\"code\":\"C\",\"message\":\"a\\u001b[31mb\\nc\"}]}";
        t = ps_registry_error_text(b3, strlen(b3));
        assert_string_equal(t, "C: a?[31mb?c");
        free(t);

        assert_null(ps_registry_error_text("not json", 8));
        assert_null(ps_registry_error_text("{\"errors\":[]}", 13));
        assert_null(ps_registry_error_text("{\"errors\":[{\"detail\":1}]}", 25));
        assert_null(ps_registry_error_text("{}", 2));
        assert_null(ps_registry_error_text(NULL, 0));
        /* duplicate keys are rejected */
        assert_null(ps_registry_error_text("{\"errors\":[],\"errors\":[]}", 25));
}

static void test_resolve(void **state)
{
        char *u;
        const char *base = "http://127.0.0.1:5000/v2/a/blobs/uploads/";
        u = ps_registry_resolve_url(base, "/v2/a/blobs/uploads/abc?_state=x%3D%3D");
        assert_string_equal(u, "http://127.0.0.1:5000/v2/a/blobs/uploads/abc?_state=x%3D%3D");
        free(u);
        u = ps_registry_resolve_url(base, "https://other:443/up/1?a=b");
        assert_string_equal(u, "https://other:443/up/1?a=b");
        free(u);
        u = ps_registry_resolve_url(base, "xyz?q=1");
        assert_string_equal(u, "http://127.0.0.1:5000/v2/a/blobs/uploads/xyz?q=1");
        free(u);
        u = ps_registry_resolve_url("http://h/v2/a/blobs/uploads/1", "2");
        assert_string_equal(u, "http://h/v2/a/blobs/uploads/2");
        free(u);
        u = ps_registry_resolve_url("http://h/v2/x", "//cdn.example/blob");
        assert_string_equal(u, "http://cdn.example/blob");
        free(u);
        assert_null(ps_registry_resolve_url(base, "file:///etc/passwd"));
        assert_null(ps_registry_resolve_url(base, "/a b"));
        assert_null(ps_registry_resolve_url(base, "/a\r\nX: y"));
        assert_null(ps_registry_resolve_url(base, ""));
        assert_null(ps_registry_resolve_url(NULL, "/relative"));
}

static void test_add_query(void **state)
{
        char *u;
        u = ps_registry_url_add_query("http://h/up/1", "digest", "sha256:ab");
        assert_string_equal(u, "http://h/up/1?digest=sha256:ab");
        free(u);
        u = ps_registry_url_add_query("http://h/up/1?_state=x", "digest", "sha256:ab");
        assert_string_equal(u, "http://h/up/1?_state=x&digest=sha256:ab");
        free(u);
        u = ps_registry_url_add_query("http://h/up/1?", "k", "a b&c=d/é");
        assert_string_equal(u, "http://h/up/1?k=a%20b%26c%3Dd%2F%C3%A9");
        free(u);
        u = ps_registry_url_add_query("http://h/up/1?a=1#frag", "k", "v");
        assert_string_equal(u, "http://h/up/1?a=1&k=v");
        free(u);
}

static void test_link(void **state)
{
        char *n;
        n = ps_registry_link_next("</v2/_catalog?last=b&n=2>; rel=\"next\"");
        assert_string_equal(n, "/v2/_catalog?last=b&n=2");
        free(n);
        n = ps_registry_link_next("<http://h/first>; rel=\"first\", <http://h/2>; rel=next");
        assert_string_equal(n, "http://h/2");
        free(n);
        n = ps_registry_link_next("<http://h/2>; title=\"a, b\"; rel=\"prev next\"");
        assert_string_equal(n, "http://h/2");
        free(n);
        assert_null(ps_registry_link_next("<http://h/2>; rel=\"prev\""));
        assert_null(ps_registry_link_next("garbage"));
        assert_null(ps_registry_link_next("<unterminated; rel=next"));
}

static void test_range(void **state)
{
        int64_t n = -1;
        assert_int_equal(ps_registry_parse_range("bytes=0-99", &n), 0);
        assert_int_equal(n, 100);
        assert_int_equal(ps_registry_parse_range("0-1048575", &n), 0);
        assert_int_equal(n, 1048576);
        assert_int_equal(ps_registry_parse_range("0-0", &n), 1);
        assert_int_equal(n, 0);
        assert_int_equal(ps_registry_parse_range("bytes=0-0", &n), 1);
        assert_int_equal(ps_registry_parse_range("", &n), -EINVAL);
        assert_int_equal(ps_registry_parse_range("5-9", &n), -EINVAL);
        assert_int_equal(ps_registry_parse_range("0-", &n), -EINVAL);
        assert_int_equal(ps_registry_parse_range("0-9x", &n), -EINVAL);
        assert_int_equal(ps_registry_parse_range("0-99999999999999999999999", &n), -EINVAL);
        assert_int_equal(ps_registry_parse_range(NULL, &n), -EINVAL);
}

static void test_backoff(void **state)
{
        assert_int_equal(ps_registry_backoff_ms(NULL, 1), 200);
        assert_int_equal(ps_registry_backoff_ms(NULL, 2), 400);
        assert_int_equal(ps_registry_backoff_ms(NULL, 3), 800);
        assert_int_equal(ps_registry_backoff_ms(NULL, 4), 1600);
        assert_int_equal(ps_registry_backoff_ms(NULL, 5), 3200);
        assert_int_equal(ps_registry_backoff_ms(NULL, 6), 5000);
        assert_int_equal(ps_registry_backoff_ms(NULL, 1000), 5000);
        ps_registry_opts o = { .backoff_ms = 10, .backoff_max_ms = 25 };
        assert_int_equal(ps_registry_backoff_ms(&o, 0), 10);
        assert_int_equal(ps_registry_backoff_ms(&o, 2), 20);
        assert_int_equal(ps_registry_backoff_ms(&o, 3), 25);
        ps_registry_opts big = { .backoff_ms = 1L << 40, .backoff_max_ms = 1L << 50 };
        assert_true(ps_registry_backoff_ms(&big, 60) == 1L << 50);

        assert_true(ps_registry_retryable_status(429));
        assert_true(ps_registry_retryable_status(502));
        assert_true(ps_registry_retryable_status(503));
        assert_true(ps_registry_retryable_status(504));
        assert_false(ps_registry_retryable_status(500));
        assert_false(ps_registry_retryable_status(501));
        assert_false(ps_registry_retryable_status(404));
        assert_false(ps_registry_retryable_status(401));
        assert_false(ps_registry_retryable_status(416));
}

static void test_names(void **state)
{
        assert_true(ps_registry_valid_repo("a"));
        assert_true(ps_registry_valid_repo("c10f/pause"));
        assert_true(ps_registry_valid_repo("a.b/c__d/e--f/g_h"));
        assert_false(ps_registry_valid_repo(""));
        assert_false(ps_registry_valid_repo("A"));
        assert_false(ps_registry_valid_repo("a//b"));
        assert_false(ps_registry_valid_repo("a/"));
        assert_false(ps_registry_valid_repo("/a"));
        assert_false(ps_registry_valid_repo("a/../b"));
        assert_false(ps_registry_valid_repo("a___b"));
        assert_false(ps_registry_valid_repo("a?b"));
        assert_false(ps_registry_valid_repo("a-"));

        assert_true(ps_registry_valid_tag("latest"));
        assert_true(ps_registry_valid_tag("v1.2_3-rc"));
        assert_true(ps_registry_valid_tag("_x"));
        assert_false(ps_registry_valid_tag(".x"));
        assert_false(ps_registry_valid_tag("-x"));
        assert_false(ps_registry_valid_tag("a/b"));
        assert_false(ps_registry_valid_tag(""));
        char longtag[130];
        memset(longtag, 'a', 129);
        longtag[129] = '\0';
        assert_false(ps_registry_valid_tag(longtag));
        longtag[128] = '\0';
        assert_true(ps_registry_valid_tag(longtag));

        const char *d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_true(ps_registry_valid_digest(d));
        assert_false(ps_registry_valid_digest("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
        assert_false(ps_registry_valid_digest("sha256:abc"));
        assert_false(ps_registry_valid_digest("sha256:"));
        assert_false(ps_registry_valid_digest(":abc"));
        assert_false(ps_registry_valid_digest("abc"));
        assert_true(ps_registry_valid_digest("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"));
        assert_false(ps_registry_valid_digest("sha256:../../x"));

        assert_true(ps_registry_valid_host("registry.local"));
        assert_true(ps_registry_valid_host("127.0.0.1:5000"));
        assert_true(ps_registry_valid_host("[::1]:5000"));
        assert_true(ps_registry_valid_host("[::1]"));
        assert_false(ps_registry_valid_host(""));
        assert_false(ps_registry_valid_host("h:0"));
        assert_false(ps_registry_valid_host("h:65536"));
        assert_false(ps_registry_valid_host("h:"));
        assert_false(ps_registry_valid_host("h/x"));
        assert_false(ps_registry_valid_host("user@h"));
        assert_false(ps_registry_valid_host("-h"));
}

static void test_digest_of(void **state)
{
        char *d = ps_registry_digest_of(NULL, "", 0);
        assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        free(d);
        d = ps_registry_digest_of("sha256", "abc", 3);
        assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        free(d);
        d = ps_registry_digest_of("sha512", "abc", 3);
        assert_non_null(d);
        assert_int_equal(strlen(d), 7 + 128);
        free(d);
        assert_null(ps_registry_digest_of("md5", "abc", 3));
}

static void test_new_invalid(void **state)
{
        ps_registry *r = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_registry_new("bad host", NULL, &r, &err), -EINVAL);
        assert_null(r);
        assert_non_null(strstr(err.msg, "invalid registry host"));
        assert_int_equal(ps_registry_new("127.0.0.1:1", NULL, &r, &err), 0);
        assert_string_equal(ps_registry_host(r), "127.0.0.1:1");
        /* names are checked before anything is sent */
        assert_int_equal(ps_registry_blob_head(r, "../etc", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                                               NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "invalid repository name"));
        assert_int_equal(ps_registry_blob_head(r, "a", "sha256:zz", NULL, &err), -EINVAL);
        ps_registry_manifest m;
        assert_int_equal(ps_registry_manifest_get(r, "a", "bad tag", NULL, &m, &err), -EINVAL);
        ps_registry_body b = ps_registry_body_buffer("x", 1);
        assert_int_equal(b.kind, PS_BODY_BUFFER);
        assert_int_equal(b.length, 1);
        b = ps_registry_body_fd(3, 10, 20);
        assert_int_equal(b.kind, PS_BODY_FD);
        assert_int_equal(b.offset, 10);
        ps_registry_stats st;
        ps_registry_get_stats(r, &st);
        assert_int_equal(st.requests, 0);
        ps_registry_free(r);
        ps_error_clear(&err);
}

/* ---- a scripted HTTP server -------------------------------------------- */

#define MAXX 32

struct exchange {
        const char *response;           /* full response text (headers + body) */
        /* recorded */
        char *reqline;                  /* "PUT /v2/… HTTP/1.1" */
        char *authz;                    /* Authorization value */
        char *content_range;
        char *body;
        size_t body_len;
};

struct fake {
        int lfd;
        int port;
        struct exchange x[MAXX];
        int n, done;
        pthread_t th;
};

static char *header_value(const char *head, const char *name)
{
        size_t nl = strlen(name);
        for (const char *p = head; p && *p; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
                if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
                        const char *v = p + nl + 1;
                        while (*v == ' ')
                                v++;
                        return strndup(v, strcspn(v, "\r\n"));
                }
        }
        return NULL;
}

static void *fake_main(void *arg)
{
        struct fake *f = arg;
        for (f->done = 0; f->done < f->n; f->done++) {
                int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        break;
                char *buf = NULL;
                size_t len = 0, cap = 0;
                char *end = NULL;
                while (!end) {
                        if (len + 4096 + 1 > cap) {
                                cap = cap ? cap * 2 : 8192;
                                buf = realloc(buf, cap);
                        }
                        ssize_t r = read(c, buf + len, cap - len - 1);
                        if (r <= 0)
                                break;
                        len += (size_t)r;
                        buf[len] = '\0';
                        end = strstr(buf, "\r\n\r\n");
                }
                struct exchange *x = &f->x[f->done];
                if (end) {
                        *end = '\0';
                        x->reqline = strndup(buf, strcspn(buf, "\r\n"));
                        x->authz = header_value(buf, "Authorization");
                        x->content_range = header_value(buf, "Content-Range");
                        char *cl = header_value(buf, "Content-Length");
                        size_t want = cl ? strtoul(cl, NULL, 10) : 0;
                        free(cl);
                        size_t have = len - (size_t)(end + 4 - buf);
                        x->body = malloc(want + 1);
                        memcpy(x->body, end + 4, have < want ? have : want);
                        while (have < want) {
                                ssize_t r = read(c, x->body + have, want - have);
                                if (r <= 0)
                                        break;
                                have += (size_t)r;
                        }
                        x->body_len = have;
                        x->body[have] = '\0';
                }
                free(buf);
                const char *resp = x->response;
                size_t rl = strlen(resp), off = 0;
                while (off < rl) {
                        ssize_t w = write(c, resp + off, rl - off);
                        if (w <= 0)
                                break;
                        off += (size_t)w;
                }
                close(c);
        }
        return NULL;
}

static void fake_start(struct fake *f, const char *const *responses)
{
        memset(f, 0, sizeof(*f));
        f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->lfd >= 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t sl = sizeof(a);
        assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &sl), 0);
        f->port = ntohs(a.sin_port);
        assert_int_equal(listen(f->lfd, 16), 0);
        while (responses[f->n])
                f->x[f->n].response = responses[f->n], f->n++;
        assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

/* Wait for the script to finish (or fail the test when it does not). */
static void fake_stop(struct fake *f)
{
        shutdown(f->lfd, SHUT_RDWR);
        pthread_join(f->th, NULL);
        close(f->lfd);
}

static void fake_free(struct fake *f)
{
        for (int i = 0; i < MAXX; i++) {
                free(f->x[i].reqline);
                free(f->x[i].authz);
                free(f->x[i].content_range);
                free(f->x[i].body);
        }
}

static ps_registry *client(struct fake *f, const ps_registry_opts *o)
{
        char host[64];
        snprintf(host, sizeof(host), "127.0.0.1:%d", f->port);
        ps_registry_opts def = { .insecure = true, .backoff_ms = 1, .backoff_max_ms = 5, .tries = 4 };
        ps_registry_opts use = o ? *o : def;
        /* an unscripted request must fail the test quickly, not hang it */
        use.request_timeout_ms = 5000;
        use.stall_timeout_s = 5;
        ps_registry *r = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_registry_new(host, &use, &r, &err), 0);
        return r;
}

#define R_CLOSE "Connection: close\r\n"
#define R_503 "HTTP/1.1 503 Service Unavailable\r\n" R_CLOSE "Content-Length: 0\r\n\r\n"

static void test_error_message(void **state)
{
        static const char body[] = "{\"errors\":[{\"code\":\"MANIFEST_BLOB_UNKNOWN\",\"message\":\"blob unknown to registry\"}]}";
        char resp[512];
        snprintf(resp, sizeof(resp), "HTTP/1.1 400 Bad Request\r\n" R_CLOSE
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
        const char *script[] = { resp, NULL };
        struct fake f;
        fake_start(&f, script);
        ps_registry *r = client(&f, NULL);
        ps_error err = PS_ERROR_INIT;
        char *dg = NULL;
        const char *m = "{\"schemaVersion\":2}";
        int ret = ps_registry_manifest_put(r, "x", "1", PS_REGISTRY_MT_OCI_MANIFEST, m, strlen(m), &dg, &err);
        fake_stop(&f);
        assert_int_equal(ret, -EINVAL);
        char want[256];
        snprintf(want, sizeof(want),
                 "registry 127.0.0.1:%d: PUT /v2/x/manifests/1: 400 MANIFEST_BLOB_UNKNOWN: blob unknown to registry",
                 f.port);
        assert_string_equal(err.msg, want);
        assert_string_equal(f.x[0].reqline, "PUT /v2/x/manifests/1 HTTP/1.1");
        assert_string_equal(f.x[0].body, m);
        assert_null(dg);
        ps_error_clear(&err);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_retry_then_ok(void **state)
{
        const char *script[] = {
                R_503,
                "HTTP/1.1 429 Too Many Requests\r\n" R_CLOSE "Content-Length: 0\r\n\r\n",
                "HTTP/1.1 200 OK\r\n" R_CLOSE "Content-Length: 1234\r\nDocker-Content-Digest: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n\r\n",
                "HTTP/1.1 404 Not Found\r\n" R_CLOSE "Content-Length: 0\r\n\r\n",
                NULL,
        };
        struct fake f;
        fake_start(&f, script);
        ps_registry *r = client(&f, NULL);
        ps_error err = PS_ERROR_INIT;
        int64_t size = 0;
        const char *d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_int_equal(ps_registry_blob_head(r, "a/b", d, &size, &err), 1);
        assert_int_equal(size, 1234);
        assert_null(err.msg);           /* the retried failures leave no message */
        /* 404: an answer, not retried */
        assert_int_equal(ps_registry_blob_head(r, "a/b", d, &size, &err), 0);
        fake_stop(&f);
        assert_int_equal(f.done, 4);
        ps_registry_stats st;
        ps_registry_get_stats(r, &st);
        assert_int_equal(st.requests, 4);
        assert_int_equal(st.retries, 2);
        assert_string_equal(f.x[0].reqline, "HEAD /v2/a/b/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 HTTP/1.1");
        ps_registry_free(r);
        fake_free(&f);
}

static void test_retry_gives_up(void **state)
{
        const char *script[] = { R_503, R_503, R_503, NULL };
        struct fake f;
        fake_start(&f, script);
        ps_registry_opts o = { .insecure = true, .backoff_ms = 1, .tries = 3 };
        ps_registry *r = client(&f, &o);
        ps_error err = PS_ERROR_INIT;
        char **tags = NULL;
        assert_int_equal(ps_registry_tags(r, "a", &tags, &err), -EIO);
        fake_stop(&f);
        assert_null(tags);
        assert_non_null(strstr(err.msg, "GET /v2/a/tags/list: 503 Service Unavailable (gave up after 3 tries)"));
        ps_error_clear(&err);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_bearer(void **state)
{
        struct fake f;
        /* the realm points at the fake itself: fill the port in after start */
        static char chal[512], tags_body[256];
        const char *script[] = { chal, "", tags_body, NULL };
        fake_start(&f, script);
        static const char ub[] =
                "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\"detail\":null}]}";
        snprintf(chal, sizeof(chal),
                 "HTTP/1.1 401 Unauthorized\r\n" R_CLOSE
                 "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\",service=\"reg\",scope=\"repository:a:pull\"\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 f.port, strlen(ub), ub);
        static const char tok[] = "{\"access_token\":\"tkn.ABC-_=\",\"expires_in\":300}";
        static char tokresp[256];
        snprintf(tokresp, sizeof(tokresp), "HTTP/1.1 200 OK\r\n" R_CLOSE "Content-Length: %zu\r\n\r\n%s",
                 strlen(tok), tok);
        f.x[1].response = tokresp;
        static const char tb[] = "{\"name\":\"a\",\"tags\":[\"1\",\"2\"]}";
        snprintf(tags_body, sizeof(tags_body), "HTTP/1.1 200 OK\r\n" R_CLOSE "Content-Length: %zu\r\n\r\n%s",
                 strlen(tb), tb);
        ps_registry_opts o = { .insecure = true, .backoff_ms = 1, .username = "u", .password = "p" };
        ps_registry *r = client(&f, &o);
        ps_error err = PS_ERROR_INIT;
        char **tags = NULL;
        int ret = ps_registry_tags(r, "a", &tags, &err);
        fake_stop(&f);
        assert_int_equal(ret, 0);
        assert_string_equal(tags[0], "1");
        assert_string_equal(tags[1], "2");
        assert_null(tags[2]);
        ps_strv_free(tags);
        assert_string_equal(f.x[0].reqline, "GET /v2/a/tags/list HTTP/1.1");
        assert_null(f.x[0].authz);
        assert_string_equal(f.x[1].reqline, "GET /token?service=reg&account=u&scope=repository:a:pull HTTP/1.1");
        assert_string_equal(f.x[1].authz, "Basic dTpw");      /* u:p */
        assert_string_equal(f.x[2].authz, "Bearer tkn.ABC-_=");
        ps_registry_stats st;
        ps_registry_get_stats(r, &st);
        assert_int_equal(st.token_fetches, 1);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_basic_refused(void **state)
{
        const char *r401 = "HTTP/1.1 401 Unauthorized\r\n" R_CLOSE
                           "WWW-Authenticate: Basic realm=\"Registry Realm\"\r\nContent-Length: 0\r\n\r\n";
        const char *script[] = { r401, r401, NULL };
        struct fake f;
        fake_start(&f, script);
        ps_registry_opts o = { .insecure = true, .backoff_ms = 1, .username = "u", .password = "wrong" };
        ps_registry *r = client(&f, &o);
        ps_error err = PS_ERROR_INIT;
        int ret = ps_registry_ping(r, &err);
        fake_stop(&f);
        assert_int_equal(ret, -EACCES);
        assert_non_null(strstr(err.msg, "GET /v2/: 401 Unauthorized (authentication required)"));
        assert_null(f.x[0].authz);
        assert_string_equal(f.x[1].authz, "Basic dTp3cm9uZw==");
        ps_error_clear(&err);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_monolithic(void **state)
{
        static const char data[] = "hello blob";
        char *dg = ps_registry_digest_of("sha256", data, strlen(data));
        static char created[512];
        snprintf(created, sizeof(created), "HTTP/1.1 201 Created\r\n" R_CLOSE
                 "Docker-Content-Digest: %s\r\nLocation: /v2/x/blobs/%s\r\nContent-Length: 0\r\n\r\n", dg, dg);
        const char *script[] = {
                "HTTP/1.1 404 Not Found\r\n" R_CLOSE "Content-Length: 0\r\n\r\n",
                "HTTP/1.1 202 Accepted\r\n" R_CLOSE "Location: /v2/x/blobs/uploads/u1?_state=s1\r\nRange: 0-0\r\nContent-Length: 0\r\n\r\n",
                /* the upload breaks off: a new session is started */
                R_503,
                "HTTP/1.1 202 Accepted\r\n" R_CLOSE "Location: /v2/x/blobs/uploads/u2?_state=s2\r\nContent-Length: 0\r\n\r\n",
                created,
                NULL,
        };
        struct fake f;
        fake_start(&f, script);
        ps_registry *r = client(&f, NULL);
        ps_error err = PS_ERROR_INIT;
        ps_registry_body b = ps_registry_body_buffer(data, strlen(data));
        ps_blob_status st = PS_BLOB_PENDING;
        int ret = ps_registry_blob_upload(r, "x", dg, &b, NULL, &st, &err);
        fake_stop(&f);
        assert_int_equal(ret, 0);
        assert_int_equal(st, PS_BLOB_UPLOADED);
        assert_string_equal(f.x[1].reqline, "POST /v2/x/blobs/uploads/ HTTP/1.1");
        char want[256];
        snprintf(want, sizeof(want), "PUT /v2/x/blobs/uploads/u1?_state=s1&digest=%s HTTP/1.1", dg);
        assert_string_equal(f.x[2].reqline, want);
        snprintf(want, sizeof(want), "PUT /v2/x/blobs/uploads/u2?_state=s2&digest=%s HTTP/1.1", dg);
        assert_string_equal(f.x[4].reqline, want);
        assert_string_equal(f.x[4].body, data);
        ps_registry_stats s;
        ps_registry_get_stats(r, &s);
        assert_int_equal(s.blobs_uploaded, 1);
        assert_int_equal(s.session_restarts, 1);
        free(dg);
        ps_registry_free(r);
        fake_free(&f);
}

struct strm {
        const char *data;
        size_t len, pos;
};

static size_t strm_read(void *ctx, char *buf, size_t n)
{
        struct strm *s = ctx;
        if (n > s->len - s->pos)
                n = s->len - s->pos;
        if (n > 3)
                n = 3;          /* short reads on purpose */
        memcpy(buf, s->data + s->pos, n);
        s->pos += n;
        return n;
}

static void progress_cb(void *ctx, size_t index, const char *digest, int64_t done, int64_t total)
{
        int64_t *last = ctx;
        assert_true(done >= 0 && done <= total);
        *last = done;
}

/* chunked: a 416 in the middle resumes at the registry's offset; the
 * Location switches between relative and absolute */
static void run_chunked(bool stream)
{
        static const char data[] = "0123456789";
        char *dg = ps_registry_digest_of("sha256", data, 10);
        struct fake f;
        static char s_post[256], s_p1[256], s_416[256], s_get[256], s_p2[256], s_p3[256], s_put[512];
        const char *script_buf[] = { s_post, s_p1, s_416, s_get, s_p2, s_put, NULL };
        const char *script_stream[] = { s_post, s_p1, s_416, s_get, s_p2, s_p3, s_put, NULL };
        fake_start(&f, stream ? script_stream : script_buf);
        snprintf(s_post, sizeof(s_post), "HTTP/1.1 202 Accepted\r\n" R_CLOSE
                 "Location: /v2/x/blobs/uploads/c1\r\nRange: 0-0\r\nContent-Length: 0\r\n\r\n");
        snprintf(s_p1, sizeof(s_p1), "HTTP/1.1 202 Accepted\r\n" R_CLOSE
                 "Location: http://127.0.0.1:%d/v2/x/blobs/uploads/c2\r\nRange: 0-3\r\nContent-Length: 0\r\n\r\n", f.port);
        snprintf(s_416, sizeof(s_416), "HTTP/1.1 416 Requested Range Not Satisfiable\r\n" R_CLOSE
                 "Location: /v2/x/blobs/uploads/c3\r\nRange: 0-5\r\nContent-Length: 0\r\n\r\n");
        snprintf(s_get, sizeof(s_get), "HTTP/1.1 204 No Content\r\n" R_CLOSE
                 "Location: c4\r\nRange: bytes=0-5\r\n\r\n");
        if (stream) {
                /* the chunk buffer held bytes 4..7: it resumes at 6 from memory */
                snprintf(s_p2, sizeof(s_p2), "HTTP/1.1 202 Accepted\r\n" R_CLOSE
                         "Location: /v2/x/blobs/uploads/c5\r\nRange: 0-7\r\nContent-Length: 0\r\n\r\n");
                snprintf(s_p3, sizeof(s_p3), "HTTP/1.1 202 Accepted\r\n" R_CLOSE
                         "Location: /v2/x/blobs/uploads/c6\r\nRange: 0-9\r\nContent-Length: 0\r\n\r\n");
        } else {
                snprintf(s_p2, sizeof(s_p2), "HTTP/1.1 202 Accepted\r\n" R_CLOSE
                         "Location: /v2/x/blobs/uploads/c6\r\nRange: 0-9\r\nContent-Length: 0\r\n\r\n");
        }
        snprintf(s_put, sizeof(s_put), "HTTP/1.1 201 Created\r\n" R_CLOSE
                 "Docker-Content-Digest: %s\r\nContent-Length: 0\r\n\r\n", dg);
        ps_registry *r = client(&f, NULL);
        ps_error err = PS_ERROR_INIT;
        struct strm sc = { data, 10, 0 };
        ps_registry_body b = stream ? ps_registry_body_stream(strm_read, NULL, &sc, 10)
                                    : ps_registry_body_buffer(data, 10);
        int64_t last = -1;
        ps_registry_upload_opts o = { .chunk_size = 4, .no_exists_check = true, .progress = progress_cb,
                                      .progress_ctx = &last };
        ps_blob_status st = PS_BLOB_PENDING;
        int ret = ps_registry_blob_upload(r, "x", dg, &b, &o, &st, &err);
        fake_stop(&f);
        if (ret < 0)
                fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(ret, 0);
        assert_int_equal(st, PS_BLOB_UPLOADED);
        assert_int_equal(last, 10);
        int i = 1;
        assert_string_equal(f.x[i].reqline, "PATCH /v2/x/blobs/uploads/c1 HTTP/1.1");
        assert_string_equal(f.x[i].content_range, "0-3");
        assert_string_equal(f.x[i].body, "0123");
        i++;
        assert_string_equal(f.x[i].reqline, "PATCH /v2/x/blobs/uploads/c2 HTTP/1.1");
        assert_string_equal(f.x[i].content_range, "4-7");
        i++;
        assert_string_equal(f.x[i].reqline, "GET /v2/x/blobs/uploads/c3 HTTP/1.1");
        i++;
        assert_string_equal(f.x[i].reqline, "PATCH /v2/x/blobs/uploads/c4 HTTP/1.1");
        if (stream) {
                assert_string_equal(f.x[i].content_range, "6-7");
                assert_string_equal(f.x[i].body, "67");
                i++;
                assert_string_equal(f.x[i].reqline, "PATCH /v2/x/blobs/uploads/c5 HTTP/1.1");
                assert_string_equal(f.x[i].content_range, "8-9");
                assert_string_equal(f.x[i].body, "89");
        } else {
                assert_string_equal(f.x[i].content_range, "6-9");
                assert_string_equal(f.x[i].body, "6789");
        }
        i++;
        char want[256];
        snprintf(want, sizeof(want), "PUT /v2/x/blobs/uploads/c6?digest=%s HTTP/1.1", dg);
        assert_string_equal(f.x[i].reqline, want);
        assert_int_equal(f.x[i].body_len, 0);
        free(dg);
        ps_error_clear(&err);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_chunked_buffer(void **state)
{
        run_chunked(false);
}

static void test_chunked_stream(void **state)
{
        run_chunked(true);
}

/* a stream without rewind cannot restart a monolithic upload */
static void test_stream_no_rewind(void **state)
{
        static const char data[] = "0123456789";
        char *dg = ps_registry_digest_of("sha256", data, 10);
        const char *script[] = {
                "HTTP/1.1 202 Accepted\r\n" R_CLOSE "Location: /u/1\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 502 Bad Gateway\r\n" R_CLOSE "Content-Length: 0\r\n\r\n",
                "HTTP/1.1 202 Accepted\r\n" R_CLOSE "Location: /u/2\r\nContent-Length: 0\r\n\r\n",
                "HTTP/1.1 204 No Content\r\n" R_CLOSE "\r\n",
                NULL,
        };
        struct fake f;
        fake_start(&f, script);
        ps_registry *r = client(&f, NULL);
        ps_error err = PS_ERROR_INIT;
        struct strm sc = { data, 10, 0 };
        ps_registry_body b = ps_registry_body_stream(strm_read, NULL, &sc, 10);
        ps_registry_upload_opts o = { .no_exists_check = true };
        int ret = ps_registry_blob_upload(r, "x", dg, &b, &o, NULL, &err);
        fake_stop(&f);
        assert_int_equal(ret, -ESPIPE);
        assert_non_null(strstr(err.msg, "cannot be read again"));
        /* the abandoned session is cancelled */
        assert_string_equal(f.x[3].reqline, "DELETE /u/2 HTTP/1.1");
        free(dg);
        ps_error_clear(&err);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_manifest_get(void **state)
{
        static const char m[] = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}";
        char *dg = ps_registry_digest_of("sha256", m, strlen(m));
        static char ok[512], bad[512];
        snprintf(ok, sizeof(ok), "HTTP/1.1 200 OK\r\n" R_CLOSE
                 "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nDocker-Content-Digest: %s\r\n"
                 "Content-Length: %zu\r\n\r\n%s", dg, strlen(m), m);
        /* the bytes differ from the digest asked for */
        snprintf(bad, sizeof(bad), "HTTP/1.1 200 OK\r\n" R_CLOSE
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s ", strlen(m) + 1, m);
        const char *script[] = { ok, bad, NULL };
        struct fake f;
        fake_start(&f, script);
        ps_registry *r = client(&f, NULL);
        ps_error err = PS_ERROR_INIT;
        ps_registry_manifest man;
        assert_int_equal(ps_registry_manifest_get(r, "a", "v1", NULL, &man, &err), 0);
        assert_int_equal(man.len, strlen(m));
        assert_memory_equal(man.data, m, man.len);
        assert_string_equal(man.media_type, PS_REGISTRY_MT_OCI_MANIFEST);
        assert_string_equal(man.digest, dg);
        ps_registry_manifest_free(&man);
        assert_int_equal(ps_registry_manifest_get(r, "a", dg, NULL, &man, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "the bytes received have digest"));
        fake_stop(&f);
        assert_string_equal(f.x[0].reqline, "GET /v2/a/manifests/v1 HTTP/1.1");
        free(dg);
        ps_error_clear(&err);
        ps_registry_free(r);
        fake_free(&f);
}

static void test_connection_refused(void **state)
{
        /* a port with nothing behind it */
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t sl = sizeof(a);
        getsockname(s, (struct sockaddr *)&a, &sl);
        close(s);
        char host[64];
        snprintf(host, sizeof(host), "127.0.0.1:%d", ntohs(a.sin_port));
        ps_registry_opts o = { .insecure = true, .backoff_ms = 1, .tries = 3 };
        ps_registry *r = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_registry_new(host, &o, &r, &err), 0);
        assert_int_equal(ps_registry_ping(r, &err), -ECONNREFUSED);
        assert_non_null(strstr(err.msg, "GET /v2/: "));
        assert_non_null(strstr(err.msg, "(gave up after 3 tries)"));
        ps_registry_stats st;
        ps_registry_get_stats(r, &st);
        assert_int_equal(st.requests, 3);
        ps_error_clear(&err);
        ps_registry_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_challenge),
                cmocka_unit_test(test_error_text),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_add_query),
                cmocka_unit_test(test_link),
                cmocka_unit_test(test_range),
                cmocka_unit_test(test_backoff),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_digest_of),
                cmocka_unit_test(test_new_invalid),
                cmocka_unit_test(test_error_message),
                cmocka_unit_test(test_retry_then_ok),
                cmocka_unit_test(test_retry_gives_up),
                cmocka_unit_test(test_bearer),
                cmocka_unit_test(test_basic_refused),
                cmocka_unit_test(test_monolithic),
                cmocka_unit_test(test_chunked_buffer),
                cmocka_unit_test(test_chunked_stream),
                cmocka_unit_test(test_stream_no_rewind),
                cmocka_unit_test(test_manifest_get),
                cmocka_unit_test(test_connection_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
