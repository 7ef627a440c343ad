/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The registry node's services: docker-registry (the image registry) and a
 * dedicated nginx instance serving the signature store (spec core §2.2,
 * §2.6, §5.2).  Pure generators of their configuration, so that both the
 * installed files and the runtime files of "services run" come from one
 * place; and an HTTP probe for "services status". */
#pragma once
#include <stdbool.h>
#include "conf.h"
#include "error.h"

typedef struct ps_service_paths {
        const char *prefix;      /* prepended to every host path (--root), or NULL */
        const char *rundir;      /* nginx pid and temp files (host path, unprefixed) */
        const char *logdir;      /* nginx logs (host path, unprefixed) */
        bool foreground;         /* "daemon off;" */
} ps_service_paths;

/* docker-registry's config.yml. */
char *ps_registry_config(const ps_conf *c, const ps_service_paths *p);
/* A complete nginx.conf for the signature server: SIGSTORE_DIR as the
 * document root, JSON directory listings, GET/HEAD only. */
char *ps_sigstore_nginx_config(const ps_conf *c, const ps_service_paths *p);
/* systemd units for both services. */
char *ps_registry_unit(const char *config_path);
char *ps_sigstore_unit(const char *config_path);

typedef struct ps_probe {
        long status;             /* HTTP status, 0 when no answer */
        char *error;             /* transport error or NULL */
        char *body;              /* first bytes of the body (NUL-terminated) */
} ps_probe;
/* GET URL with a short timeout; never fails except for ENOMEM. */
int ps_http_probe(const char *url, long timeout_ms, ps_probe *out);
void ps_probe_free(ps_probe *p);
