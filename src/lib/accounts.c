/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "accounts.h"
#include "cleanup.h"
#include "fs.h"
#include "process.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ps_user_free(ps_user *u)
{
        if (!u)
                return;
        free(u->name);
        free(u->home);
        free(u->shell);
        memset(u, 0, sizeof *u);
}

static FILE *open_db(const char *root, const char *file, ps_error *err)
{
        _cleanup_free_ char *p = ps_root_path(root, file);
        if (!p) {
                ps_error_set(err, ENOMEM, "out of memory");
                return NULL;
        }
        FILE *f = fopen(p, "re");
        if (!f && errno != ENOENT)
                ps_error_errno(err, errno, "cannot read %s", p);
        if (!f && errno == ENOENT)
                ps_error_clear(err);
        return f;
}

int ps_root_getpwnam(const char *root, const char *name, ps_user *out, ps_error *err)
{
        errno = 0;
        _cleanup_fclose_ FILE *f = open_db(root, "/etc/passwd", err);
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        struct passwd *pw;
        while ((pw = fgetpwent(f))) {
                if (!strcmp(pw->pw_name, name)) {
                        out->name = strdup(pw->pw_name);
                        out->uid = pw->pw_uid;
                        out->gid = pw->pw_gid;
                        out->home = strdup(pw->pw_dir);
                        out->shell = strdup(pw->pw_shell);
                        if (!out->name || !out->home || !out->shell) {
                                ps_user_free(out);
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                        return 1;
                }
        }
        return 0;
}

int ps_root_getgrnam(const char *root, const char *name, gid_t *gid, ps_error *err)
{
        errno = 0;
        _cleanup_fclose_ FILE *f = open_db(root, "/etc/group", err);
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        struct group *gr;
        while ((gr = fgetgrent(f))) {
                if (!strcmp(gr->gr_name, name)) {
                        *gid = gr->gr_gid;
                        return 1;
                }
        }
        return 0;
}

int ps_root_group_members(const char *root, const char *name, char ***members, ps_error *err)
{
        *members = NULL;
        errno = 0;
        _cleanup_fclose_ FILE *f = open_db(root, "/etc/group", err);
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        struct group *gr;
        while ((gr = fgetgrent(f))) {
                if (strcmp(gr->gr_name, name))
                        continue;
                size_t n = 0;
                while (gr->gr_mem && gr->gr_mem[n])
                        n++;
                char **v = calloc(n + 1, sizeof *v);
                if (!v)
                        return ps_error_set(err, ENOMEM, "out of memory");
                for (size_t i = 0; i < n; i++)
                        if (!(v[i] = strdup(gr->gr_mem[i]))) {
                                ps_strv_free(v);
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                *members = v;
                return 1;
        }
        return 0;
}

int ps_groupadd(const char *root, const char *name, bool system, bool *created, ps_error *err)
{
        gid_t gid;
        int r = ps_root_getgrnam(root, name, &gid, err);
        if (r < 0)
                return r;
        if (created)
                *created = false;
        if (r > 0)
                return 0;
        const char *argv[8];
        int n = 0;
        argv[n++] = "groupadd";
        bool host = !root || !*root || !strcmp(root, "/");
        if (!host) {
                argv[n++] = "--prefix";
                argv[n++] = root;
        }
        if (system)
                argv[n++] = "-r";
        argv[n++] = "--";
        argv[n++] = name;
        argv[n] = NULL;
        _cleanup_free_ char *errout = NULL;
        ps_spawn_opts o = { .errout = &errout };
        int status;
        r = ps_spawn(argv, &o, &status, err);
        if (r < 0)
                return r;
        if (status != 0) {
                size_t l = errout ? strlen(errout) : 0;
                while (l && errout[l - 1] == '\n')
                        errout[--l] = '\0';
                return ps_error_set(err, EIO, "groupadd %s failed (exit %d): %s", name, status,
                                    errout && *errout ? errout : "no message");
        }
        ps_fault_point();
        if (created)
                *created = true;
        return 0;
}
