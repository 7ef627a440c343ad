/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container configuration in effect for root or a user; see
 * effective.h. */
#include "effective.h"
#include "accounts.h"
#include "cleanup.h"
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REGCONF_MAX (4u * 1024 * 1024)

const char *ps_effective_node_path(const char *root, const char *path)
{
        if (!root || !*root || !path)
                return path;
        size_t rl = strlen(root);
        while (rl > 0 && root[rl - 1] == '/')
                rl--;
        if (rl && !strncmp(path, root, rl) && path[rl] == '/')
                return path + rl;
        return path;
}

void ps_effective_clear(ps_effective *e)
{
        free(e->root);
        free(e->user);
        free(e->home);
        free(e->policy_path);
        free(e->policy_file);
        free(e->regd_path);
        free(e->regd_dir);
        free(e->regconf_path);
        free(e->regconf_file);
        memset(e, 0, sizeof *e);
}

const char *ps_effective_builtin_home(const ps_effective *e)
{
        return e->uid == 0 ? NULL : e->home;
}

/* 1 exists, 0 does not, < 0 cannot tell */
static int exists(const char *file, ps_error *err)
{
        struct stat st;
        if (stat(file, &st) == 0)
                return 1;
        if (errno == ENOENT || errno == ENOTDIR)
                return 0;
        return ps_error_errno(err, errno, "cannot check %s", file);
}

/* The user's file HOME/REL when it exists, else the system file SYS. */
static int pick(const ps_effective *e, const char *rel, const char *sys, char **path, char **file, bool *user,
                ps_error *err)
{
        _cleanup_free_ char *up = ps_path_join(e->home, rel);
        _cleanup_free_ char *uf = up ? ps_root_path(e->root, up) : NULL;
        _cleanup_free_ char *sf = ps_root_path(e->root, sys);
        if (!uf || !sf)
                return ps_error_set(err, ENOMEM, "out of memory");
        int k = exists(uf, err);
        if (k < 0)
                return k;
        if (k) {
                *path = steal_pointer(&up);
                *file = steal_pointer(&uf);
                *user = true;
                return 0;
        }
        *path = strdup(sys);
        if (!*path)
                return ps_error_set(err, ENOMEM, "out of memory");
        *file = steal_pointer(&sf);
        *user = false;
        return 0;
}

int ps_effective_find(const char *root, const char *user, ps_effective *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        ps_effective e = { 0 };
        if (root && *root && !(e.root = strdup(root)))
                return ps_error_set(err, ENOMEM, "out of memory");
        ps_user u = { 0 };
        int r = ps_root_getpwnam(e.root, user ? user : "root", &u, err);
        if (r < 0)
                goto fail;
        if (r == 0) {
                if (user) {
                        _cleanup_free_ char *pw = ps_root_path(e.root, "/etc/passwd");
                        r = ps_error_set(err, ENOENT, "unknown user \"%s\": not in %s", user,
                                         pw ? pw : "/etc/passwd");
                        goto fail;
                }
                /* a root tree without a root entry: root's usual home */
                e.user = strdup("root");
                e.home = strdup("/root");
                e.uid = 0;
        } else {
                e.user = steal_pointer(&u.name);
                e.home = steal_pointer(&u.home);
                e.uid = u.uid;
        }
        ps_user_free(&u);
        if (!e.user || !e.home) {
                r = ps_error_set(err, ENOMEM, "out of memory");
                goto fail;
        }
        r = pick(&e, ".config/containers/policy.json", "/etc/containers/policy.json", &e.policy_path,
                 &e.policy_file, &e.policy_user, err);
        if (r < 0)
                goto fail;
        r = exists(e.policy_file, err);
        if (r < 0)
                goto fail;
        e.policy_exists = r;
        r = ps_regd_dir_for(e.root, e.home, &e.regd_dir, &e.regd_user, err);
        if (r < 0)
                goto fail;
        e.regd_path = strdup(ps_effective_node_path(e.root, e.regd_dir));
        if (!e.regd_path) {
                r = ps_error_set(err, ENOMEM, "out of memory");
                goto fail;
        }
        r = pick(&e, ".config/containers/registries.conf", "/etc/containers/registries.conf", &e.regconf_path,
                 &e.regconf_file, &e.regconf_user, err);
        if (r < 0)
                goto fail;
        *out = e;
        return 0;
fail:
        ps_user_free(&u);
        ps_effective_clear(&e);
        return r;
}

int ps_effective_load_policy(const ps_effective *e, unsigned flags, ps_policy **out, ps_error *err)
{
        *out = NULL;
        if (!e->policy_exists) {
                _cleanup_free_ char *up = ps_path_join(e->home, ".config/containers/policy.json");
                _cleanup_free_ char *uf = up ? ps_root_path(e->root, up) : NULL;
                _cleanup_free_ char *sf = ps_root_path(e->root, "/etc/containers/policy.json");
                if (!uf || !sf)
                        return ps_error_set(err, ENOMEM, "out of memory");
                return ps_error_set(err, ENOENT,
                                    "no policy for %s: neither %s nor %s exists (podman and skopeo would refuse "
                                    "to pull any image)",
                                    e->user, uf, sf);
        }
        return ps_policy_load_flags(e->policy_file, flags, out, err);
}

int ps_effective_load_regd(const ps_effective *e, ps_regd **out, ps_error *err)
{
        *out = NULL;
        int r = ps_regd_load_dir(e->regd_dir, out, err);
        if (r < 0)
                return r;
        (*out)->user_dir = e->regd_user;
        return 0;
}

int ps_effective_registry_insecure(const ps_effective *e, const char *registry, ps_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = ps_read_file(e->regconf_file, REGCONF_MAX, &text, &len, err);
        if (r == -ENOENT || r == -ENOTDIR) {
                ps_error_clear(err);
                return 0;
        }
        if (r < 0)
                return r;
        /* the editor's scanner answers the question: "nothing to add"
         * means an entry with insecure = true is there */
        _cleanup_free_ char *out = NULL;
        ps_error e2 = PS_ERROR_INIT;
        r = ps_regconf_add_insecure(text, len, e->regconf_file, registry, &out, NULL, &e2);
        if (r == 0) {
                return 1;
        } else if (r == 1 || r == -EEXIST) {
                ps_error_clear(&e2);
                return 0;
        }
        if (r == -ENOMEM) {
                ps_error_clear(&e2);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        r = ps_error_set(err, -r, "cannot tell whether registry %s is insecure from %s: %s", registry,
                         e->regconf_file, ps_error_msg(&e2));
        ps_error_clear(&e2);
        return r;
}
