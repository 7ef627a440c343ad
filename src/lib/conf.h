/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Site settings: compiled defaults overridden by /etc/podsec/podsec.conf
 * (under --root) or by --config FILE.  KEY=VALUE lines, '#' comments. */
#pragma once
#include "error.h"

typedef struct ps_conf {
        char *registry;          /* host[:port], default registry.local */
        char *sigstore_url;      /* lookaside base for readers */
        char *keys_url;          /* where client nodes fetch keys + policy */
        char *sigstore_dir;      /* /var/sigstore */
        char *group_user;        /* podman */
        char *group_dev;         /* podman_dev */
        char *registry_listen;   /* 0.0.0.0:80 */
        char *registry_storage;  /* /var/lib/containers/storage/volumes/registry/_data */
        char *sigstore_listen;   /* 0.0.0.0:81 */
        char *hosts_names;       /* names bound in /etc/hosts */
        char *policy_signing_key; /* fingerprint of the key that signs keys/policy.json, or "" */
        char *source;            /* file the settings came from, or NULL */
} ps_conf;

/* Fill defaults, then read FILE if given (must exist), else
 * ROOT/etc/podsec/podsec.conf if it exists. */
int ps_conf_load(ps_conf *c, const char *root, const char *file, ps_error *err);
/* Parse TEXT (named NAME in messages) over the current values. */
int ps_conf_parse(ps_conf *c, const char *text, const char *name, ps_error *err);
void ps_conf_defaults(ps_conf *c);
void ps_conf_free(ps_conf *c);
/* Host part of conf->registry without the port ("127.0.0.1" for "127.0.0.1:5000"). */
char *ps_conf_registry_host(const ps_conf *c);
