/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "conf.h"
#include "cleanup.h"
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_HOSTPORT, K_URL, K_ABSPATH, K_NAME, K_LISTEN, K_WORDS };

static const struct {
        const char *key;
        size_t off;
        const char *def;
        enum kind kind;
} keys[] = {
        { "registry", offsetof(ps_conf, registry), "registry.local", K_HOSTPORT },
        { "sigstore_url", offsetof(ps_conf, sigstore_url), "http://sigstore.local:81/sigstore/", K_URL },
        { "keys_url", offsetof(ps_conf, keys_url), "http://sigstore.local:81/keys/", K_URL },
        { "sigstore_dir", offsetof(ps_conf, sigstore_dir), "/var/sigstore", K_ABSPATH },
        { "group_user", offsetof(ps_conf, group_user), "podman", K_NAME },
        { "group_dev", offsetof(ps_conf, group_dev), "podman_dev", K_NAME },
        { "registry_listen", offsetof(ps_conf, registry_listen), "0.0.0.0:80", K_LISTEN },
        { "registry_storage", offsetof(ps_conf, registry_storage),
          "/var/lib/containers/storage/volumes/registry/_data", K_ABSPATH },
        { "sigstore_listen", offsetof(ps_conf, sigstore_listen), "0.0.0.0:81", K_LISTEN },
        { "hosts_names", offsetof(ps_conf, hosts_names), "registry.local sigstore.local trivy.local", K_WORDS },
        { "policy_signing_key", offsetof(ps_conf, policy_signing_key), "", K_WORDS },
};

static char **slot(ps_conf *c, size_t i) { return (char **)((char *)c + keys[i].off); }

void ps_conf_free(ps_conf *c)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(keys); i++) {
                free(*slot(c, i));
                *slot(c, i) = NULL;
        }
        free(c->source);
        c->source = NULL;
}

void ps_conf_defaults(ps_conf *c)
{
        ps_conf_free(c);
        for (size_t i = 0; i < PS_ARRAY_SIZE(keys); i++)
                *slot(c, i) = strdup(keys[i].def);
}

static bool valid_name(const char *v)
{
        if (!*v || strlen(v) > 32 || v[0] == '-')
                return false;
        for (const char *p = v; *p; p++)
                if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
                        return false;
        return true;
}

static bool valid_hostport(const char *v)
{
        if (!*v || strlen(v) > 255)
                return false;
        for (const char *p = v; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr(".-:[]_", *p))
                        return false;
        return v[0] != '-' && v[0] != ':' && v[0] != '.';
}

static const char *check(enum kind k, const char *v)
{
        switch (k) {
        case K_HOSTPORT:
                return valid_hostport(v) ? NULL : "expected host or host:port";
        case K_LISTEN:
                return valid_hostport(v) && strchr(v, ':') ? NULL : "expected address:port";
        case K_URL:
                if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) && strncmp(v, "file:///", 8))
                        return "expected an http://, https:// or file:/// URL";
                for (const char *p = v; *p; p++)
                        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
                                return "URL contains white space";
                return NULL;
        case K_ABSPATH:
                return v[0] == '/' && !strstr(v, "/../") ? NULL : "expected an absolute path";
        case K_NAME:
                return valid_name(v) ? NULL : "expected a group or user name";
        case K_WORDS:
                return *v ? NULL : "expected at least one name";
        }
        return "invalid";
}

static char *trim(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                s[--n] = '\0';
        return s;
}

int ps_conf_parse(ps_conf *c, const char *text, const char *name, ps_error *err)
{
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return ps_error_set(err, ENOMEM, "out of memory");
        unsigned lineno = 0;
        char *line = copy;
        while (line) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                lineno++;
                char *l = trim(line);
                if (*l && *l != '#') {
                        char *eq = strchr(l, '=');
                        if (!eq)
                                return ps_error_set(err, EINVAL, "%s:%u: expected KEY=VALUE", name, lineno);
                        *eq = '\0';
                        char *k = trim(l), *v = trim(eq + 1);
                        size_t vl = strlen(v);
                        if (vl >= 2 && ((v[0] == '"' && v[vl - 1] == '"') || (v[0] == '\'' && v[vl - 1] == '\''))) {
                                v[vl - 1] = '\0';
                                v++;
                        }
                        size_t i;
                        for (i = 0; i < PS_ARRAY_SIZE(keys); i++)
                                if (!strcmp(keys[i].key, k))
                                        break;
                        if (i == PS_ARRAY_SIZE(keys))
                                return ps_error_set(err, EINVAL, "%s:%u: unknown setting '%s'", name, lineno, k);
                        const char *why = check(keys[i].kind, v);
                        if (why)
                                return ps_error_set(err, EINVAL, "%s:%u: invalid value for %s: %s", name, lineno,
                                                    k, why);
                        char *nv = strdup(v);
                        if (!nv)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        free(*slot(c, i));
                        *slot(c, i) = nv;
                }
                line = nl ? nl + 1 : NULL;
        }
        return 0;
}

int ps_conf_load(ps_conf *c, const char *root, const char *file, ps_error *err)
{
        ps_conf_defaults(c);
        for (size_t i = 0; i < PS_ARRAY_SIZE(keys); i++)
                if (!*slot(c, i))
                        return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *path = file ? strdup(file) : ps_root_path(root, "/etc/podsec/podsec.conf");
        if (!path)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (!file && !ps_file_exists(path))
                return 0;
        _cleanup_free_ char *text = NULL;
        int r = ps_read_file(path, 1 << 20, &text, NULL, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot read the site settings");
        r = ps_conf_parse(c, text, path, err);
        if (r < 0)
                return r;
        c->source = steal_pointer(&path);
        return 0;
}

char *ps_conf_registry_host(const ps_conf *c)
{
        const char *r = c->registry;
        if (r[0] == '[') {
                const char *e = strchr(r, ']');
                return e ? strndup(r, (size_t)(e - r + 1)) : strdup(r);
        }
        const char *colon = strchr(r, ':');
        return colon ? strndup(r, (size_t)(colon - r)) : strdup(r);
}
