/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "services.h"
#include "cleanup.h"
#include "fs.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *pfx(const ps_service_paths *p, const char *path)
{
        return ps_root_path(p ? p->prefix : NULL, path);
}

char *ps_registry_config(const ps_conf *c, const ps_service_paths *p)
{
        _cleanup_free_ char *storage = pfx(p, c->registry_storage);
        if (!storage)
                return NULL;
        char *s = NULL;
        if (asprintf(&s,
                     "# docker-registry configuration written by podsec (services setup/run)\n"
                     "version: 0.1\n"
                     "log:\n"
                     "  level: info\n"
                     "  fields:\n"
                     "    service: registry\n"
                     "storage:\n"
                     "  filesystem:\n"
                     "    rootdirectory: %s\n"
                     "  delete:\n"
                     "    enabled: true\n"
                     "http:\n"
                     "  addr: %s\n"
                     "  headers:\n"
                     "    X-Content-Type-Options: [nosniff]\n",
                     storage, c->registry_listen) < 0)
                return NULL;
        return s;
}

char *ps_sigstore_nginx_config(const ps_conf *c, const ps_service_paths *p)
{
        const char *rundir = p && p->rundir ? p->rundir : "/run/podsec/sigstore";
        const char *logdir = p && p->logdir ? p->logdir : "/var/log/podsec";
        _cleanup_free_ char *root = pfx(p, c->sigstore_dir);
        _cleanup_free_ char *run = pfx(p, rundir);
        _cleanup_free_ char *log = pfx(p, logdir);
        if (!root || !run || !log)
                return NULL;
        char *s = NULL;
        if (asprintf(&s,
                     "# nginx for the podsec signature store, written by podsec (services setup/run)\n"
                     "# Serves %s read-only: keys/ (public keys and the distributed\n"
                     "# policy.json) and sigstore/ (the lookaside signatures), with JSON\n"
                     "# directory listings that client nodes parse.\n"
                     "worker_processes 1;\n"
                     "%s"
                     "pid %s/nginx.pid;\n"
                     "error_log %s/sigstore-error.log warn;\n"
                     "events { worker_connections 256; }\n"
                     "http {\n"
                     "    access_log %s/sigstore-access.log;\n"
                     "    client_body_temp_path %s/body;\n"
                     "    proxy_temp_path %s/proxy;\n"
                     "    fastcgi_temp_path %s/fastcgi;\n"
                     "    uwsgi_temp_path %s/uwsgi;\n"
                     "    scgi_temp_path %s/scgi;\n"
                     "    default_type application/octet-stream;\n"
                     "    types { application/json json; text/html html; application/pgp-keys pgp; }\n"
                     "    server_tokens off;\n"
                     "    server {\n"
                     "        listen %s;\n"
                     "        server_name sigstore.local;\n"
                     "        root %s;\n"
                     "        autoindex on;\n"
                     "        autoindex_format json;\n"
                     "        location / {\n"
                     "            limit_except GET { deny all; }\n"
                     "        }\n"
                     "    }\n"
                     "}\n",
                     c->sigstore_dir, p && p->foreground ? "daemon off;\n" : "", run, log, log, run, run, run,
                     run, run, c->sigstore_listen, root) < 0)
                return NULL;
        return s;
}

char *ps_registry_unit(const char *config_path)
{
        char *s = NULL;
        if (asprintf(&s,
                     "[Unit]\n"
                     "Description=podsec image registry (docker-registry)\n"
                     "After=network-online.target\n"
                     "Wants=network-online.target\n\n"
                     "[Service]\n"
                     "ExecStart=/usr/bin/docker-registry serve %s\n"
                     "Restart=on-failure\n"
                     "RestartSec=2\n\n"
                     "[Install]\n"
                     "WantedBy=multi-user.target\n",
                     config_path) < 0)
                return NULL;
        return s;
}

char *ps_sigstore_unit(const char *config_path)
{
        char *s = NULL;
        if (asprintf(&s,
                     "[Unit]\n"
                     "Description=podsec signature server (nginx)\n"
                     "After=network-online.target\n"
                     "Wants=network-online.target\n\n"
                     "[Service]\n"
                     "Type=forking\n"
                     "RuntimeDirectory=podsec/sigstore\n"
                     "LogsDirectory=podsec\n"
                     "ExecStartPre=/usr/sbin/nginx -t -q -c %s\n"
                     "ExecStart=/usr/sbin/nginx -c %s\n"
                     "ExecReload=/usr/sbin/nginx -c %s -s reload\n"
                     "PIDFile=/run/podsec/sigstore/nginx.pid\n"
                     "Restart=on-failure\n"
                     "RestartSec=2\n\n"
                     "[Install]\n"
                     "WantedBy=multi-user.target\n",
                     config_path, config_path, config_path) < 0)
                return NULL;
        return s;
}

struct body {
        char *buf;
        size_t len;
};

static size_t collect(char *ptr, size_t size, size_t n, void *ud)
{
        struct body *b = ud;
        size_t add = size * n;
        if (b->len + add > 64 * 1024)
                add = b->len < 64 * 1024 ? 64 * 1024 - b->len : 0;
        if (add) {
                char *nb = realloc(b->buf, b->len + add + 1);
                if (!nb)
                        return 0;
                b->buf = nb;
                memcpy(b->buf + b->len, ptr, add);
                b->len += add;
                b->buf[b->len] = '\0';
        }
        return size * n;
}

int ps_http_probe(const char *url, long timeout_ms, ps_probe *out)
{
        memset(out, 0, sizeof *out);
        CURL *h = curl_easy_init();
        if (!h)
                return -ENOMEM;
        struct body b = { 0 };
        char ebuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_USERAGENT, "podsec/" PODSEC_VERSION);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK)
                out->error = strdup(ebuf[0] ? ebuf : curl_easy_strerror(rc));
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        out->body = b.buf ? b.buf : strdup("");
        curl_easy_cleanup(h);
        return 0;
}

void ps_probe_free(ps_probe *p)
{
        free(p->error);
        free(p->body);
        memset(p, 0, sizeof *p);
}
