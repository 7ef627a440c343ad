/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "fetch.h"
#include "cleanup.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init_once(void)
{
        global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool has_scheme(const char *url, const char *scheme)
{
        size_t n = strlen(scheme);
        return strncasecmp(url, scheme, n) == 0 && url[n] == ':' && url[n + 1] == '/' && url[n + 2] == '/';
}

int ps_fetch_url_check(const char *url, ps_error *err)
{
        if (!url || !*url)
                return ps_error_set(err, EINVAL, "empty URL");
        for (const char *p = url; *p; p++)
                if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                        return ps_error_set(err, EINVAL, "URL '%s' contains white space or control characters",
                                            url);
        if (!has_scheme(url, "http") && !has_scheme(url, "https"))
                return ps_error_set(err, EINVAL, "URL '%s': only http:// and https:// URLs can be fetched", url);
        const char *host = strstr(url, "://") + 3;
        if (!*host || *host == '/')
                return ps_error_set(err, EINVAL, "URL '%s' has no host", url);
        return 0;
}

void ps_fetch_result_clear(ps_fetch_result *r)
{
        if (!r)
                return;
        free(r->data);
        free(r->effective_url);
        memset(r, 0, sizeof *r);
}

bool ps_fetch_unreachable(int r)
{
        switch (-r) {
        case ENOENT:
        case EREMOTEIO:
        case ECONNREFUSED:
        case ETIMEDOUT:
        case EHOSTUNREACH:
        case ECONNRESET:
        case EIO:
                return true;
        default:
                return false;
        }
}

typedef struct sink {
        char *buf;
        size_t len, cap, max;
        bool too_big;
        bool oom;
} sink;

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        sink *s = userdata;
        size_t n = size * nmemb;
        if (n > s->max - s->len) {
                s->too_big = true;
                return 0;    /* makes curl stop with CURLE_WRITE_ERROR */
        }
        if (s->len + n + 1 > s->cap) {
                size_t ncap = s->cap ? s->cap : 4096;
                while (ncap < s->len + n + 1)
                        ncap *= 2;
                if (ncap > s->max + 1)
                        ncap = s->max + 1;
                char *nb = realloc(s->buf, ncap);
                if (!nb) {
                        s->oom = true;
                        return 0;
                }
                s->buf = nb;
                s->cap = ncap;
        }
        memcpy(s->buf + s->len, ptr, n);
        s->len += n;
        s->buf[s->len] = '\0';
        return n;
}

static int errno_for(CURLcode cc)
{
        switch (cc) {
        case CURLE_COULDNT_CONNECT:
                return ECONNREFUSED;
        case CURLE_OPERATION_TIMEDOUT:
                return ETIMEDOUT;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return EHOSTUNREACH;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_TOO_MANY_REDIRECTS:
                return EPROTO;
        case CURLE_URL_MALFORMAT:
                return EINVAL;
        case CURLE_FILESIZE_EXCEEDED:
                return EFBIG;
        case CURLE_OUT_OF_MEMORY:
                return ENOMEM;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return ECONNRESET;
        default:
                return EIO;
        }
}

static void set_protocols(CURL *h)
{
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static void easy_cleanup(CURL **h)
{
        if (*h)
                curl_easy_cleanup(*h);
}

static void slist_free(struct curl_slist **l)
{
        if (*l)
                curl_slist_free_all(*l);
}

static int fetch(const char *url, const ps_fetch_opts *opts, ps_fetch_result *out, ps_error *err);

int ps_fetch(const char *url, const ps_fetch_opts *opts, ps_fetch_result *out, ps_error *err)
{
        int r = fetch(url, opts, out, err);
        if (r < 0) {
                /* only the status survives a failure */
                free(out->effective_url);
                out->effective_url = NULL;
        }
        return r;
}

static int fetch(const char *url, const ps_fetch_opts *opts, ps_fetch_result *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        int r = ps_fetch_url_check(url, err);
        if (r < 0)
                return r;
        if (!opts || opts->max_size == 0)
                return ps_error_set(err, EINVAL, "fetch %s: no size limit given", url);
        pthread_once(&global_once, global_init_once);
        if (global_rc != CURLE_OK)
                return ps_error_set(err, EIO, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));

        __attribute__((cleanup(easy_cleanup))) CURL *h = curl_easy_init();
        if (!h)
                return ps_error_set(err, ENOMEM, "cannot create a libcurl handle");
        __attribute__((cleanup(slist_free))) struct curl_slist *resolve = NULL;
        for (const char *const *e = opts->resolve; e && *e; e++) {
                struct curl_slist *n = curl_slist_append(resolve, *e);
                if (!n)
                        return ps_error_set(err, ENOMEM, "out of memory");
                resolve = n;
        }
        char errbuf[CURL_ERROR_SIZE] = "";
        sink s = { .max = opts->max_size };
        _cleanup_free_ char *ua = NULL;
        if (!opts->user_agent && asprintf(&ua, "podsec/%s", PODSEC_VERSION) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");

        set_protocols(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, opts->user_agent ? opts->user_agent : ua);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)PS_FETCH_MAX_REDIRECTS);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, opts->timeout_ms > 0 ? opts->timeout_ms : 60000L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, opts->stall_s > 0 ? opts->stall_s : 15L);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_size);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        /* no compressed transfer: the size limit applies to what is stored */
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
        if (resolve)
                curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);

        CURLcode cc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        out->status = status;
        char *eff = NULL;
        if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff) {
                out->effective_url = strdup(eff);
                if (!out->effective_url) {
                        free(s.buf);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        const char *shown = out->effective_url && strcmp(out->effective_url, url) ? out->effective_url : url;
        if (s.oom) {
                free(s.buf);
                return ps_error_set(err, ENOMEM, "out of memory while fetching %s", url);
        }
        if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
                free(s.buf);
                return ps_error_set(err, EFBIG, "%s is larger than the limit of %zu bytes", shown, opts->max_size);
        }
        if (cc != CURLE_OK) {
                free(s.buf);
                const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
                if (cc == CURLE_UNSUPPORTED_PROTOCOL)
                        return ps_error_set(err, EPROTO,
                                            "fetch %s: redirected to a URL that is not http:// or https:// (%s)",
                                            url, why);
                if (cc == CURLE_TOO_MANY_REDIRECTS)
                        return ps_error_set(err, EPROTO, "fetch %s: more than %d redirects", url,
                                            PS_FETCH_MAX_REDIRECTS);
                return ps_error_set(err, errno_for(cc), "cannot fetch %s: %s", shown, why);
        }
        if (status != 200) {
                free(s.buf);
                if (status == 404 || status == 410)
                        return ps_error_set(err, ENOENT, "%s: not found on the server (HTTP %ld)", shown, status);
                return ps_error_set(err, EREMOTEIO, "%s: the server answered HTTP %ld instead of 200", shown,
                                    status);
        }
        if (!s.buf) {
                s.buf = strdup("");
                if (!s.buf)
                        return ps_error_set(err, ENOMEM, "out of memory");
        }
        out->data = s.buf;
        out->len = s.len;
        return 0;
}
