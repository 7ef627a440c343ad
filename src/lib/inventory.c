/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Accounts, their container configuration and storages, and the rules of
 * check policy / check images; see inventory.h. */
#include "inventory.h"
#include "cleanup.h"
#include "effective.h"
#include "fs.h"
#include "reference.h"
#include "trivy.h"
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ACCOUNTS_MAX_FILE ((size_t)64 << 20)
#define STORE_MAX_FILE ((size_t)256 << 20)
#define MANIFEST_MAX ((size_t)4 << 20)
#define TREE_MAX_ENTRIES 4096
#define TREE_MAX_DEPTH 8

static const char *const drivers[] = { "overlay", "vfs", "btrfs", "zfs", "aufs", "devmapper" };

typedef struct pw_entry {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;
} pw_entry;

typedef struct gr_entry {
        char *name;
        gid_t gid;
        char **members;         /* NULL-terminated */
} gr_entry;

enum { SYS_UNLOADED, SYS_LOADED, SYS_MISSING, SYS_ERROR };

struct ps_inv_private {
        char *group_user, *group_dev, *group_admin, *u7s_user, *registry, *sigstore_url;
        int policy_state;
        ps_policy *sys_policy;
        char *sys_policy_error;
        int regd_state;
        ps_regd *sys_regd;
        char *sys_regd_error;
};

static int oom(ps_error *err)
{
        return ps_error_set(err, ENOMEM, "out of memory");
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int k = vasprintf(&s, fmt, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

static size_t strv_len(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

static bool strv_has(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (!strcmp(v[i], s))
                        return true;
        return false;
}

/* Append a copy of S; -ENOMEM. */
static int strv_push(char ***v, const char *s)
{
        size_t n = strv_len(*v);
        char **nv = realloc(*v, (n + 2) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[n] = strdup(s);
        nv[n + 1] = NULL;
        return nv[n] ? 0 : -ENOMEM;
}

static char *strv_join(char *const *v, const char *sep)
{
        size_t len = 1, sl = strlen(sep);
        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + (i ? sl : 0);
        char *s = malloc(len), *p = s;
        if (!s)
                return NULL;
        for (size_t i = 0; v && v[i]; i++) {
                if (i) {
                        memcpy(p, sep, sl);
                        p += sl;
                }
                size_t l = strlen(v[i]);
                memcpy(p, v[i], l);
                p += l;
        }
        *p = '\0';
        return s;
}

/* ---- requirement classes --------------------------------------------- */

ps_reqs_class ps_inv_reqs_class(const json_t *reqs)
{
        if (!json_is_array(reqs) || json_array_size(reqs) == 0)
                return PS_REQS_REJECT;
        bool sig = false;
        size_t i;
        json_t *e;
        json_array_foreach(reqs, i, e) {
                const char *t = json_string_value(json_object_get(e, "type"));
                if (!t)
                        return PS_REQS_REJECT;
                if (!strcmp(t, "reject") || !strcmp(t, "signedBaseLayer"))
                        return PS_REQS_REJECT;
                if (!strcmp(t, "signedBy") || !strcmp(t, "sigstoreSigned"))
                        sig = true;
                else if (strcmp(t, "insecureAcceptAnything") != 0)
                        return PS_REQS_REJECT;     /* unknown: c/image refuses the policy */
        }
        return sig ? PS_REQS_SIGNED : PS_REQS_ANY;
}

const char *ps_reqs_class_name(ps_reqs_class c)
{
        switch (c) {
        case PS_REQS_REJECT: return "reject";
        case PS_REQS_SIGNED: return "signed";
        case PS_REQS_ANY: return "any";
        }
        return "reject";
}

/* ---- passwd and group -------------------------------------------------- */

static bool parse_id(const char *s, unsigned long *out)
{
        if (!*s || strlen(s) > 10)
                return false;
        unsigned long v = 0;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (unsigned long)(*p - '0');
        }
        if (v > UINT32_MAX - 1)
                return false;
        *out = v;
        return true;
}

/* Split LINE (modified) at ':' into at most N fields; returns the count. */
static size_t split_fields(char *line, char **f, size_t n)
{
        size_t k = 0;
        f[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = '\0';
                        f[k++] = p + 1;
                }
        return k;
}

static void pw_free(pw_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].home);
        }
        free(v);
}

static void gr_free(gr_entry *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                ps_strv_free(v[i].members);
        }
        free(v);
}

/* The text of a colon-separated account file (no NUL bytes). */
static int read_lines(const char *path, char **text, ps_error *err)
{
        size_t len = 0;
        int r = ps_read_file(path, ACCOUNTS_MAX_FILE, text, &len, err);
        if (r < 0)
                return r;
        if (memchr(*text, '\0', len)) {
                free(*text);
                *text = NULL;
                return ps_error_set(err, EINVAL, "%s holds a NUL byte", path);
        }
        return 0;
}

static int read_passwd(const char *root, pw_entry **out, size_t *n_out, ps_error *err)
{
        *out = NULL;
        *n_out = 0;
        _cleanup_free_ char *path = ps_root_path(root, "/etc/passwd");
        if (!path)
                return oom(err);
        _cleanup_free_ char *text = NULL;
        int r = read_lines(path, &text, err);
        if (r < 0)
                return r;
        pw_entry *v = NULL;
        size_t n = 0, cap = 0;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t l = strlen(line);
                if (l && line[l - 1] == '\r')
                        line[l - 1] = '\0';
                if (line[0] == '#' || line[0] == '+' || line[0] == '-' || !line[0])
                        continue;
                char *f[7];
                unsigned long uid, gid;
                if (split_fields(line, f, 7) < 7 || !f[0][0] || !parse_id(f[2], &uid) || !parse_id(f[3], &gid))
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        pw_entry *nv = realloc(v, cap * sizeof *nv);
                        if (!nv) {
                                pw_free(v, n);
                                return oom(err);
                        }
                        v = nv;
                }
                v[n] = (pw_entry){ .name = strdup(f[0]), .uid = (uid_t)uid, .gid = (gid_t)gid,
                                   .home = strdup(f[5]) };
                n++;
                if (!v[n - 1].name || !v[n - 1].home) {
                        pw_free(v, n);
                        return oom(err);
                }
        }
        *out = v;
        *n_out = n;
        return 0;
}

static int read_group(const char *root, gr_entry **out, size_t *n_out, ps_error *err)
{
        *out = NULL;
        *n_out = 0;
        _cleanup_free_ char *path = ps_root_path(root, "/etc/group");
        if (!path)
                return oom(err);
        _cleanup_free_ char *text = NULL;
        int r = read_lines(path, &text, err);
        if (r == -ENOENT) {
                ps_error_clear(err);
                return 0;       /* no group file: primary gids only */
        }
        if (r < 0)
                return r;
        gr_entry *v = NULL;
        size_t n = 0, cap = 0;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t l = strlen(line);
                if (l && line[l - 1] == '\r')
                        line[l - 1] = '\0';
                if (line[0] == '#' || line[0] == '+' || line[0] == '-' || !line[0])
                        continue;
                char *f[4];
                unsigned long gid;
                if (split_fields(line, f, 4) < 4 || !f[0][0] || !parse_id(f[2], &gid))
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        gr_entry *nv = realloc(v, cap * sizeof *nv);
                        if (!nv) {
                                gr_free(v, n);
                                return oom(err);
                        }
                        v = nv;
                }
                gr_entry *g = &v[n++];
                *g = (gr_entry){ .name = strdup(f[0]), .gid = (gid_t)gid, .members = calloc(1, sizeof(char *)) };
                if (!g->name || !g->members) {
                        gr_free(v, n);
                        return oom(err);
                }
                char *s2 = NULL;
                for (char *m = strtok_r(f[3], ",", &s2); m; m = strtok_r(NULL, ",", &s2)) {
                        /* tolerate blanks around names */
                        while (*m == ' ' || *m == '\t')
                                m++;
                        size_t ml = strlen(m);
                        while (ml && (m[ml - 1] == ' ' || m[ml - 1] == '\t'))
                                m[--ml] = '\0';
                        if (*m && strv_push(&g->members, m) < 0) {
                                gr_free(v, n);
                                return oom(err);
                        }
                }
        }
        *out = v;
        *n_out = n;
        return 0;
}

/* ---- accounts ----------------------------------------------------------- */

static void account_clear(ps_inv_account *a)
{
        free(a->name);
        free(a->home);
        ps_strv_free(a->groups);
        free(a->gids);
        free(a->storage);
        free(a->config_error);
        free(a->policy_path);
        free(a->default_types);
        ps_strv_free(a->signed_scopes);
        ps_strv_free(a->unsigned_scopes);
        ps_strv_free(a->open_transports);
        free(a->regd_path);
        free(a->default_lookaside);
        free(a->writable_why);
        ps_policy_free(a->own_policy);
        ps_regd_free(a->own_regd);
        memset(a, 0, sizeof *a);
}

void ps_inventory_free(ps_inventory *inv)
{
        if (!inv)
                return;
        for (size_t i = 0; i < inv->n_accounts; i++)
                account_clear(&inv->accounts[i]);
        free(inv->accounts);
        free(inv->root);
        if (inv->priv) {
                struct ps_inv_private *p = inv->priv;
                free(p->group_user);
                free(p->group_dev);
                free(p->group_admin);
                free(p->u7s_user);
                free(p->registry);
                free(p->sigstore_url);
                ps_policy_free(p->sys_policy);
                free(p->sys_policy_error);
                ps_regd_free(p->sys_regd);
                free(p->sys_regd_error);
                free(p);
        }
        free(inv);
}

bool ps_inv_account_in_group(const ps_inv_account *a, const char *name)
{
        return name && strv_has(a->groups, name);
}

ps_inv_account *ps_inventory_find(ps_inventory *inv, const char *name)
{
        for (size_t i = 0; i < inv->n_accounts; i++)
                if (!strcmp(inv->accounts[i].name, name))
                        return &inv->accounts[i];
        return NULL;
}

static int add_group(ps_inv_account *a, const char *name, gid_t gid)
{
        if (strv_has(a->groups, name))
                return 0;
        gid_t *ng = realloc(a->gids, (a->n_groups + 1) * sizeof *ng);
        if (!ng)
                return -ENOMEM;
        a->gids = ng;
        if (strv_push(&a->groups, name) < 0)
                return -ENOMEM;
        a->gids[a->n_groups++] = gid;
        return 0;
}

static int fill_groups(ps_inv_account *a, const gr_entry *gr, size_t n_gr, const struct ps_inv_private *p)
{
        if (!(a->groups = calloc(1, sizeof(char *))))
                return -ENOMEM;
        if (a->in_passwd) {
                const char *pname = NULL;
                for (size_t i = 0; i < n_gr && !pname; i++)
                        if (gr[i].gid == a->gid)
                                pname = gr[i].name;
                char num[24];
                if (!pname) {
                        snprintf(num, sizeof num, "%lu", (unsigned long)a->gid);
                        pname = num;
                }
                if (add_group(a, pname, a->gid) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < n_gr; i++)
                        if (strv_has(gr[i].members, a->name) && add_group(a, gr[i].name, gr[i].gid) < 0)
                                return -ENOMEM;
        }
        a->in_user_group = ps_inv_account_in_group(a, p->group_user);
        a->in_dev_group = ps_inv_account_in_group(a, p->group_dev);
        a->in_admin_group = ps_inv_account_in_group(a, p->group_admin);
        return 0;
}

static bool is_dir_under(const char *root, const char *path)
{
        _cleanup_free_ char *full = ps_root_path(root, path);
        struct stat st;
        return full && stat(full, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The storage of A as on the node, or NULL (*out); -ENOMEM. */
static int find_storage(const char *root, const ps_inv_account *a, char **out)
{
        *out = NULL;
        if (a->kind == PS_INV_ROOT) {
                if (is_dir_under(root, PS_INV_ROOT_STORAGE) && !(*out = strdup(PS_INV_ROOT_STORAGE)))
                        return -ENOMEM;
                return 0;
        }
        if (!a->home || a->home[0] != '/')
                return 0;
        const char *rels[2] = { PS_INV_USER_STORAGE, NULL };
        if (a->kind == PS_INV_U7S) {
                rels[0] = PS_INV_U7S_STORAGE;
                rels[1] = PS_INV_USER_STORAGE;
        }
        for (size_t i = 0; i < 2 && rels[i]; i++) {
                _cleanup_free_ char *p = ps_path_join(a->home, rels[i]);
                if (!p)
                        return -ENOMEM;
                if (is_dir_under(root, p)) {
                        *out = steal_pointer(&p);
                        return 0;
                }
        }
        return 0;
}

static int new_account(ps_inventory *inv, size_t *cap, ps_inv_account **out)
{
        if (inv->n_accounts == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                ps_inv_account *nv = realloc(inv->accounts, nc * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                inv->accounts = nv;
                *cap = nc;
        }
        *out = &inv->accounts[inv->n_accounts++];
        memset(*out, 0, sizeof **out);
        (*out)->config_writable = -1;
        return 0;
}

static int dup_opt(char **dst, const char *v, const char *dflt)
{
        *dst = strdup(v && *v ? v : dflt);
        return *dst ? 0 : -ENOMEM;
}

int ps_inventory_scan(const ps_inv_opts *o, ps_inventory **out, ps_error *err)
{
        *out = NULL;
        ps_inv_opts none = { 0 };
        if (!o)
                o = &none;
        _cleanup_inventory_ ps_inventory *inv = calloc(1, sizeof *inv);
        if (!inv || !(inv->priv = calloc(1, sizeof *inv->priv)))
                return oom(err);
        struct ps_inv_private *p = inv->priv;
        if ((o->root && *o->root && strcmp(o->root, "/") != 0 && !(inv->root = strdup(o->root))) ||
            dup_opt(&p->group_user, o->group_user, "podman") < 0 ||
            dup_opt(&p->group_dev, o->group_dev, "podman_dev") < 0 ||
            dup_opt(&p->group_admin, o->group_admin, "wheel") < 0 ||
            dup_opt(&p->u7s_user, o->u7s_user, PS_INV_U7S_USER) < 0 ||
            dup_opt(&p->registry, o->registry, "registry.local") < 0 ||
            dup_opt(&p->sigstore_url, o->sigstore_url, "http://sigstore.local:81/sigstore/") < 0)
                return oom(err);

        pw_entry *pw = NULL;
        gr_entry *gr = NULL;
        size_t n_pw = 0, n_gr = 0;
        int r = read_passwd(inv->root, &pw, &n_pw, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot list the accounts");
        r = read_group(inv->root, &gr, &n_gr, err);
        if (r < 0) {
                pw_free(pw, n_pw);
                return ps_error_wrap(err, "cannot list the groups");
        }
        size_t cap = 0;
        ps_inv_account *a = NULL;
        bool have_u7s = false;
        /* root first */
        if (new_account(inv, &cap, &a) < 0)
                goto nomem;
        a->kind = PS_INV_ROOT;
        for (size_t i = 0; i < n_pw; i++)
                if (!strcmp(pw[i].name, "root")) {
                        a->in_passwd = true;
                        a->uid = pw[i].uid;
                        a->gid = pw[i].gid;
                        a->home = strdup(pw[i].home);
                        break;
                }
        if (!a->in_passwd)
                a->home = strdup("/root");
        if (!(a->name = strdup("root")) || !a->home)
                goto nomem;
        for (size_t i = 0; i < n_pw; i++) {
                if (!strcmp(pw[i].name, "root"))
                        continue;
                bool dup = false;
                for (size_t j = 1; j < inv->n_accounts && !dup; j++)
                        dup = !strcmp(inv->accounts[j].name, pw[i].name);
                if (dup)
                        continue;       /* the first entry wins, as getpwnam */
                if (new_account(inv, &cap, &a) < 0)
                        goto nomem;
                a->kind = !strcmp(pw[i].name, p->u7s_user) ? PS_INV_U7S : PS_INV_USER;
                have_u7s |= a->kind == PS_INV_U7S;
                a->in_passwd = true;
                a->uid = pw[i].uid;
                a->gid = pw[i].gid;
                if (!(a->name = strdup(pw[i].name)) || !(a->home = strdup(pw[i].home)))
                        goto nomem;
        }
        if (!have_u7s) {
                /* a storage of u7s-admin without an account: still inspected */
                ps_inv_account probe = { .kind = PS_INV_U7S, .home = (char *)PS_INV_U7S_HOME };
                _cleanup_free_ char *st = NULL;
                if (find_storage(inv->root, &probe, &st) < 0)
                        goto nomem;
                if (st) {
                        if (new_account(inv, &cap, &a) < 0)
                                goto nomem;
                        a->kind = PS_INV_U7S;
                        a->uid = (uid_t)-1;
                        a->gid = (gid_t)-1;
                        _cleanup_free_ char *h = ps_root_path(inv->root, PS_INV_U7S_HOME);
                        struct stat hs;
                        if (h && stat(h, &hs) == 0) {
                                a->uid = hs.st_uid;
                                a->gid = hs.st_gid;
                        }
                        if (!(a->name = strdup(p->u7s_user)) || !(a->home = strdup(PS_INV_U7S_HOME)))
                                goto nomem;
                }
        }
        for (size_t i = 0; i < inv->n_accounts; i++) {
                a = &inv->accounts[i];
                if (fill_groups(a, gr, n_gr, p) < 0 || find_storage(inv->root, a, &a->storage) < 0)
                        goto nomem;
                a->inventory = a->kind != PS_INV_USER || a->storage;
        }
        pw_free(pw, n_pw);
        gr_free(gr, n_gr);
        *out = steal_pointer(&inv);
        return 0;
nomem:
        pw_free(pw, n_pw);
        gr_free(gr, n_gr);
        return oom(err);
}

/* ---- configuration ----------------------------------------------------- */

static int set_config_error(ps_inv_account *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_config_error(ps_inv_account *a, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        int k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(a->config_error);
        a->config_error = s;
        return 0;
}

/* Open directory NAME in DIRFD without following a symlink: 1 opened, 0
 * missing, < 0 with *why set (malloc'd). */
static int open_dir_nofollow(int dirfd, const char *name, const char *shown, int *fd, char **why)
{
        *fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (*fd >= 0)
                return 1;
        int e = errno;
        if (e == ENOENT)
                return 0;
        struct stat st;
        if ((e == ELOOP || e == ENOTDIR) && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(st.st_mode))
                        *why = xasprintf("%s is a symbolic link; not followed", shown);
                else
                        *why = xasprintf("%s is not a directory", shown);
        } else {
                *why = xasprintf("cannot open %s: %s", shown, strerror(e));
        }
        return *why ? -EINVAL : -ENOMEM;
}

static int open_home(const char *root, const char *home, int *fd, char **why)
{
        *fd = -1;
        _cleanup_free_ char *path = ps_root_path(root, home);
        if (!path)
                return -ENOMEM;
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                *why = xasprintf("cannot stat the home directory %s: %s", home, strerror(errno));
                return *why ? -EINVAL : -ENOMEM;
        }
        if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
                *why = xasprintf("the home directory %s is %s", home,
                                 S_ISLNK(st.st_mode) ? "a symbolic link; not followed" : "not a directory");
                return *why ? -EINVAL : -ENOMEM;
        }
        *fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (*fd < 0) {
                *why = xasprintf("cannot open the home directory %s: %s", home, strerror(errno));
                return *why ? -EINVAL : -ENOMEM;
        }
        return 1;
}

static const ps_policy *system_policy(ps_inventory *inv, const char **error, bool *missing)
{
        struct ps_inv_private *p = inv->priv;
        if (p->policy_state == SYS_UNLOADED) {
                ps_error e = PS_ERROR_INIT;
                _cleanup_free_ char *path = ps_root_path(inv->root, "/etc/containers/policy.json");
                int r = path ? ps_policy_load_flags(path, PS_POLICY_COMPAT, &p->sys_policy, &e) : -ENOMEM;
                if (r == 0) {
                        p->policy_state = SYS_LOADED;
                } else if (r == -ENOENT) {
                        p->policy_state = SYS_MISSING;
                } else {
                        p->policy_state = SYS_ERROR;
                        p->sys_policy_error = strdup(r == -ENOMEM ? "out of memory" : ps_error_msg(&e));
                }
                ps_error_clear(&e);
        }
        *missing = p->policy_state == SYS_MISSING;
        *error = p->policy_state == SYS_ERROR ? (p->sys_policy_error ? p->sys_policy_error : "out of memory")
                                              : NULL;
        return p->sys_policy;
}

static const ps_regd *system_regd(ps_inventory *inv, const char **error)
{
        struct ps_inv_private *p = inv->priv;
        if (p->regd_state == SYS_UNLOADED) {
                ps_error e = PS_ERROR_INIT;
                _cleanup_free_ char *path = ps_root_path(inv->root, "/etc/containers/registries.d");
                int r = path ? ps_regd_load_dir(path, &p->sys_regd, &e) : -ENOMEM;
                if (r == 0) {
                        p->regd_state = SYS_LOADED;
                } else {
                        p->regd_state = SYS_ERROR;
                        p->sys_regd_error = strdup(r == -ENOMEM ? "out of memory" : ps_error_msg(&e));
                }
                ps_error_clear(&e);
        }
        *error = p->regd_state == SYS_ERROR ? (p->sys_regd_error ? p->sys_regd_error : "out of memory") : NULL;
        return p->sys_regd;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A user's registries.d, read through DIRFD (no symlinks followed). */
static int load_regd_at(int dirfd, const char *shown, ps_regd **out, char **why)
{
        *out = NULL;
        int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) {
                *why = xasprintf("cannot open %s: %s", shown, strerror(errno));
                return *why ? -EINVAL : -ENOMEM;
        }
        _cleanup_closedir_ DIR *dir = fdopendir(d);
        if (!dir) {
                close(d);
                *why = xasprintf("cannot read %s: %s", shown, strerror(errno));
                return *why ? -EINVAL : -ENOMEM;
        }
        _cleanup_strv_ char **names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        struct dirent *de;
        size_t count = 0;
        while ((de = readdir(dir))) {
                size_t l = strlen(de->d_name);
                if (l > 5 && !strcmp(de->d_name + l - 5, ".yaml")) {
                        if (++count > TREE_MAX_ENTRIES) {
                                *why = xasprintf("%s has more than %d files", shown, TREE_MAX_ENTRIES);
                                return *why ? -EINVAL : -ENOMEM;
                        }
                        if (strv_push(&names, de->d_name) < 0)
                                return -ENOMEM;
                }
        }
        qsort(names, strv_len(names), sizeof *names, cmp_str);
        ps_regd *c = ps_regd_new();
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *file = ps_path_join(shown, names[i]);
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                ps_error e = PS_ERROR_INIT;
                if (!file) {
                        ps_regd_free(c);
                        return -ENOMEM;
                }
                int r = ps_read_at(dirfd, names[i], file, PS_REGD_MAX_FILE, &text, &len, NULL, &e);
                if (r > 0)
                        r = ps_regd_parse(c, text, len, file, &e);
                if (r < 0) {
                        *why = r == -ENOMEM ? NULL : strdup(ps_error_msg(&e));
                        ps_error_clear(&e);
                        ps_regd_free(c);
                        return *why ? -EINVAL : -ENOMEM;
                }
        }
        free(c->dir);
        c->dir = strdup(shown);
        c->user_dir = true;
        if (!c->dir) {
                ps_regd_free(c);
                return -ENOMEM;
        }
        *out = c;
        return 0;
}

typedef struct facts_ctx {
        ps_inv_account *a;
        int error;
} facts_ctx;

static int scope_fact(const char *transport, const char *scope, const json_t *reqs, void *ud)
{
        facts_ctx *c = ud;
        ps_reqs_class k = ps_inv_reqs_class(reqs);
        int r = 0;
        if (!strcmp(transport, "docker")) {
                if (k == PS_REQS_SIGNED)
                        r = strv_push(&c->a->signed_scopes, scope);
                else if (k == PS_REQS_ANY)
                        r = strv_push(&c->a->unsigned_scopes, scope);
        } else if (k != PS_REQS_REJECT && !strv_has(c->a->open_transports, transport)) {
                r = strv_push(&c->a->open_transports, transport);
        }
        if (r < 0) {
                c->error = r;
                return 1;
        }
        return 0;
}

static int policy_facts(ps_inv_account *a, const ps_policy *pol)
{
        if (!(a->signed_scopes = calloc(1, sizeof(char *))) || !(a->unsigned_scopes = calloc(1, sizeof(char *))) ||
            !(a->open_transports = calloc(1, sizeof(char *))))
                return -ENOMEM;
        if (!pol) {
                /* no policy: podman refuses every image */
                a->default_class = PS_REQS_REJECT;
                a->default_types = strdup("");
                return a->default_types ? 0 : -ENOMEM;
        }
        const json_t *def = ps_policy_default(pol);
        a->default_class = ps_inv_reqs_class(def);
        _cleanup_strv_ char **types = calloc(1, sizeof(char *));
        if (!types)
                return -ENOMEM;
        size_t i;
        json_t *e;
        json_array_foreach(def, i, e) {
                const char *t = json_string_value(json_object_get(e, "type"));
                if (strv_push(&types, t ? t : "?") < 0)
                        return -ENOMEM;
        }
        if (!(a->default_types = strv_join(types, ",")))
                return -ENOMEM;
        facts_ctx c = { .a = a };
        ps_policy_foreach_scope(pol, scope_fact, &c);
        return c.error;
}

static bool in_gids(const ps_inv_account *a, gid_t g)
{
        for (size_t i = 0; i < a->n_groups; i++)
                if (a->gids[i] == g)
                        return true;
        return false;
}

/* Can A write an object with ST (not immutable)?  *how says why. */
static bool user_can_write(const ps_inv_account *a, const struct stat *st, const char **how)
{
        if (a->uid == 0) {
                *how = "the account is root";
                return true;
        }
        if (st->st_uid == a->uid) {
                *how = "it is owned by the user (who can change its mode)";
                return true;
        }
        if (st->st_mode & S_IWOTH) {
                *how = "it is writable by everyone";
                return true;
        }
        if ((st->st_mode & S_IWGRP) && in_gids(a, st->st_gid)) {
                *how = "it is writable by a group of the user";
                return true;
        }
        return false;
}

/* 1 immutable, 0 not (or the filesystem has no such attribute), < 0 error. */
static int is_immutable(int fd)
{
        bool on = false;
        ps_error e = PS_ERROR_INIT;
        int r = ps_immutable_get(fd, "", &on, &e);
        ps_error_clear(&e);
        if (r == -EOPNOTSUPP)
                return 0;
        if (r < 0)
                return r;
        return on;
}

/* Entries of DIRFD (shown as SHOWN): 1 when the user can change one (why
 * set), 0 when all are locked, < 0 on error (why set unless ENOMEM). */
static int tree_writable(const ps_inv_account *a, int dirfd, const char *shown, int depth, size_t *budget,
                         char **why)
{
        int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d < 0) {
                *why = xasprintf("cannot open %s: %s", shown, strerror(errno));
                return *why ? -EIO : -ENOMEM;
        }
        _cleanup_closedir_ DIR *dir = fdopendir(d);
        if (!dir) {
                close(d);
                *why = xasprintf("cannot read %s: %s", shown, strerror(errno));
                return *why ? -EIO : -ENOMEM;
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (*budget == 0 || depth > TREE_MAX_DEPTH) {
                        *why = xasprintf("%s holds too many entries to check", shown);
                        return *why ? -E2BIG : -ENOMEM;
                }
                (*budget)--;
                _cleanup_free_ char *sub = ps_path_join(shown, de->d_name);
                if (!sub)
                        return -ENOMEM;
                struct stat st;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        *why = xasprintf("cannot stat %s: %s", sub, strerror(errno));
                        return *why ? -EIO : -ENOMEM;
                }
                if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                        continue;       /* a symlink can only be changed through its directory */
                _cleanup_close_ int fd = openat(dirfd, de->d_name,
                                                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                                        (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;
                        *why = xasprintf("cannot open %s: %s", sub, strerror(errno));
                        return *why ? -EIO : -ENOMEM;
                }
                int imm = is_immutable(fd);
                if (imm < 0) {
                        *why = xasprintf("cannot read the attributes of %s: %s", sub, strerror(-imm));
                        return *why ? imm : -ENOMEM;
                }
                const char *how = NULL;
                if (!imm && user_can_write(a, &st, &how)) {
                        *why = xasprintf("%s is not immutable and %s", sub, how);
                        return *why ? 1 : -ENOMEM;
                }
                if (S_ISDIR(st.st_mode)) {
                        int r = tree_writable(a, fd, sub, depth + 1, budget, why);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

/* Can A change ~/.config/containers (CFG, in CONFIG = ~/.config)? */
static int config_writable(ps_inv_account *a, int config, int cfg, const char *cfg_shown, const char *config_shown)
{
        struct stat st;
        if (fstat(cfg, &st) < 0)
                return (a->writable_why = xasprintf("cannot stat %s: %s", cfg_shown, strerror(errno))) ? -1
                                                                                                       : -ENOMEM;
        int imm = is_immutable(cfg);
        if (imm < 0)
                return (a->writable_why = xasprintf("cannot read the attributes of %s: %s", cfg_shown,
                                                    strerror(-imm)))
                               ? -1
                               : -ENOMEM;
        const char *how = NULL;
        if (!imm) {
                if (user_can_write(a, &st, &how))
                        return (a->writable_why = xasprintf("%s is not immutable and %s", cfg_shown, how)) ? 1
                                                                                                         : -ENOMEM;
                struct stat ps;
                if (fstat(config, &ps) == 0 && is_immutable(config) == 0 && user_can_write(a, &ps, &how))
                        return (a->writable_why = xasprintf("%s is not immutable and can be renamed and replaced: "
                                                            "%s, which holds it, is not immutable and %s",
                                                            cfg_shown, config_shown, how))
                                       ? 1
                                       : -ENOMEM;
        }
        size_t budget = TREE_MAX_ENTRIES;
        char *why = NULL;
        int r = tree_writable(a, cfg, cfg_shown, 1, &budget, &why);
        if (r == -ENOMEM && !why)
                return -ENOMEM;
        if (r == 0) {
                why = xasprintf("%s%s and everything in it is locked (immutable or not writable by the user)",
                                cfg_shown, imm ? " is immutable" : "");
                if (!why)
                        return -ENOMEM;
        }
        a->writable_why = why;
        return r < 0 ? -1 : r;
}

int ps_inventory_load_config(ps_inventory *inv, ps_inv_account *a, ps_error *err)
{
        if (a->config_loaded)
                return 0;
        a->config_loaded = true;
        a->config_writable = -1;
        int r = 0;
        char *why = NULL;
        _cleanup_close_ int home = -1, config = -1, cfg = -1;
        _cleanup_free_ char *config_shown = NULL, *cfg_shown = NULL;
        if (a->home && a->home[0] == '/') {
                if (!(config_shown = ps_path_join(a->home, ".config")) ||
                    !(cfg_shown = ps_path_join(a->home, ".config/containers")))
                        return oom(err);
                r = open_home(inv->root, a->home, &home, &why);
                if (r > 0)
                        r = open_dir_nofollow(home, ".config", config_shown, &config, &why);
                if (r > 0)
                        r = open_dir_nofollow(config, "containers", cfg_shown, &cfg, &why);
                if (r == -ENOMEM)
                        return oom(err);
                if (r < 0) {
                        a->config_error = why;
                        return 0;
                }
        }
        a->has_config_dir = cfg >= 0;

        /* policy.json */
        const ps_policy *pol = NULL;
        if (cfg >= 0) {
                _cleanup_free_ char *shown = ps_path_join(cfg_shown, "policy.json");
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                ps_error e = PS_ERROR_INIT;
                if (!shown)
                        return oom(err);
                r = ps_read_at(cfg, "policy.json", shown, PS_POLICY_MAX_SIZE, &text, &len, NULL, &e);
                if (r > 0) {
                        r = ps_policy_parse_flags(text, len, PS_POLICY_COMPAT, &a->own_policy, &e);
                        if (r < 0 && r != -ENOMEM)
                                ps_error_wrap(&e, "%s", shown);
                }
                if (r == -ENOMEM) {
                        ps_error_clear(&e);
                        return oom(err);
                }
                if (r < 0) {
                        r = set_config_error(a, "%s", ps_error_msg(&e));
                        ps_error_clear(&e);
                        return r < 0 ? oom(err) : 0;
                }
                if (a->own_policy) {
                        pol = a->own_policy;
                        a->policy_user = true;
                        a->policy_path = steal_pointer(&shown);
                }
        }
        if (!a->policy_user) {
                const char *e = NULL;
                bool missing = false;
                pol = system_policy(inv, &e, &missing);
                if (e)
                        return set_config_error(a, "%s", e) < 0 ? oom(err) : 0;
                a->policy_missing = missing;
                if (!(a->policy_path = strdup("/etc/containers/policy.json")))
                        return oom(err);
        }
        a->policy = pol;
        if (policy_facts(a, pol) < 0)
                return oom(err);

        /* registries.d */
        struct stat st;
        bool user_regd = false;
        _cleanup_free_ char *regd_shown = cfg_shown ? ps_path_join(cfg_shown, "registries.d") : NULL;
        if (cfg >= 0) {
                if (!regd_shown)
                        return oom(err);
                if (fstatat(cfg, "registries.d", &st, AT_SYMLINK_NOFOLLOW) == 0) {
                        if (S_ISLNK(st.st_mode))
                                return set_config_error(a, "%s is a symbolic link; not followed", regd_shown) < 0
                                               ? oom(err)
                                               : 0;
                        user_regd = true;
                } else if (errno != ENOENT) {
                        return set_config_error(a, "cannot stat %s: %s", regd_shown, strerror(errno)) < 0 ? oom(err)
                                                                                                           : 0;
                }
        }
        if (user_regd) {
                _cleanup_close_ int rd = -1;
                r = open_dir_nofollow(cfg, "registries.d", regd_shown, &rd, &why);
                if (r > 0)
                        r = load_regd_at(rd, regd_shown, &a->own_regd, &why);
                if (r == -ENOMEM || (r < 0 && !why))
                        return oom(err);
                if (r < 0) {
                        a->config_error = why;
                        return 0;
                }
                a->regd = a->own_regd;
                a->regd_user = true;
                a->regd_path = steal_pointer(&regd_shown);
        } else {
                const char *e = NULL;
                a->regd = system_regd(inv, &e);
                if (e)
                        return set_config_error(a, "%s", e) < 0 ? oom(err) : 0;
                if (!(a->regd_path = strdup("/etc/containers/registries.d")))
                        return oom(err);
        }
        if (a->regd && a->regd->default_docker) {
                const char *l = a->regd->default_docker->lookaside ? a->regd->default_docker->lookaside
                                                                   : a->regd->default_docker->sigstore;
                if (l && !(a->default_lookaside = strdup(l)))
                        return oom(err);
        }

        /* storage.conf and whether the configuration can be changed */
        if (cfg >= 0)
                a->has_storage_conf = fstatat(cfg, "storage.conf", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
        if (a->kind != PS_INV_USER || a->uid == 0) {
                if (!(a->writable_why = strdup("not checked for root and service accounts")))
                        return oom(err);
        } else if (cfg >= 0) {
                r = config_writable(a, config, cfg, cfg_shown, config_shown);
                if (r == -ENOMEM)
                        return oom(err);
                a->config_writable = r < 0 ? -1 : r;
        } else {
                if (!(a->writable_why = xasprintf("%s does not exist", cfg_shown ? cfg_shown : "~/.config/containers")))
                        return oom(err);
        }
        return 0;
}

/* ---- reports ------------------------------------------------------------- */

static void findings_free(ps_inv_finding *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].user);
                free(v[i].why);
        }
        free(v);
}

static void image_clear(ps_inv_image *im)
{
        free(im->account);
        free(im->store);
        free(im->id);
        free(im->name);
        free(im->scope);
        free(im->signer);
        free(im->reason);
}

void ps_inv_report_clear(ps_inv_report *r)
{
        for (size_t i = 0; i < r->n_rules; i++) {
                findings_free(r->rules[i].v, r->rules[i].n);
                free(r->rules[i].message);
        }
        free(r->rules);
        findings_free(r->unchecked, r->n_unchecked);
        for (size_t i = 0; i < r->n_images; i++)
                image_clear(&r->images[i]);
        free(r->images);
        memset(r, 0, sizeof *r);
}

/* Takes WHY (malloc'd or NULL). */
static int add_finding(ps_inv_finding **v, size_t *n, const char *user, char *why)
{
        ps_inv_finding *nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (!nv) {
                free(why);
                return -ENOMEM;
        }
        *v = nv;
        nv[*n] = (ps_inv_finding){ .user = strdup(user), .why = why };
        if (!nv[*n].user) {
                free(why);
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

char *ps_inv_quote_list(const ps_inv_finding *v, size_t n)
{
        size_t cap = 1, len = 0;
        char *s = malloc(cap);
        if (!s)
                return NULL;
        s[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                json_t *j = json_string(v[i].user);
                char *q = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
                json_decref(j);
                if (!q) {
                        free(s);
                        return NULL;
                }
                size_t ql = strlen(q);
                char *ns = realloc(s, cap + ql + 1);
                if (!ns) {
                        free(q);
                        free(s);
                        return NULL;
                }
                s = ns;
                cap += ql + 1;
                if (i)
                        s[len++] = ' ';
                memcpy(s + len, q, ql);
                len += ql;
                s[len] = '\0';
                free(q);
        }
        return s;
}

static int add_rule(ps_inv_report *rep, int id, const char *label, const char *heading, int weight,
                    ps_inv_rule **out)
{
        ps_inv_rule *nv = realloc(rep->rules, (rep->n_rules + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        rep->rules = nv;
        *out = &nv[rep->n_rules++];
        **out = (ps_inv_rule){ .id = id, .label = label, .heading = heading, .weight = weight };
        return 0;
}

/* The message of R: PRE + quoted list + POST, or, for the images rules, the
 * caller's text. */
static int rule_message(ps_inv_rule *r, const char *pre, const char *post)
{
        if (!r->n)
                return 0;
        _cleanup_free_ char *list = ps_inv_quote_list(r->v, r->n);
        if (!list || !(r->message = xasprintf("%s%s%s", pre, list, post)))
                return -ENOMEM;
        return 0;
}

static char *scopes_text(char *const *v)
{
        size_t n = strv_len(v);
        _cleanup_strv_ char **shown = calloc(n + 1, sizeof *shown);
        if (!shown)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                shown[i] = *v[i] ? strdup(v[i]) : strdup("\"\" (the transport default)");
                if (!shown[i])
                        return NULL;
        }
        return strv_join(shown, ", ");
}

static size_t trimmed_len(const char *s)
{
        size_t l = strlen(s);
        while (l && s[l - 1] == '/')
                l--;
        return l;
}

static bool same_url(const char *a, const char *b)
{
        size_t la = trimmed_len(a), lb = trimmed_len(b);
        return la == lb && !strncmp(a, b, la);
}

/* The registry part of a docker scope ("host[:port]" before the first '/'). */
static bool scope_of_registry(const char *scope, const char *registry)
{
        size_t l = strlen(registry);
        return !strncmp(scope, registry, l) && (scope[l] == '\0' || scope[l] == '/');
}

static int unchecked(ps_inv_report *rep, const ps_inv_account *a)
{
        char *why = strdup(a->config_error);
        return why ? add_finding(&rep->unchecked, &rep->n_unchecked, a->name, why) : -ENOMEM;
}

static int policy_messages(ps_inv_report *out, const struct ps_inv_private *p)
{
        ps_inv_rule *R = out->rules;
        _cleanup_free_ char *m101 = xasprintf(" have images but are not in the %s group", p->group_user);
        _cleanup_free_ char *m102 = xasprintf(" have defaultPolicy!=reject in policy.json but are not in the %s group",
                                              p->group_dev);
        _cleanup_free_ char *m103 = xasprintf(" do not have %s in the list of registries for which the presence of "
                                              "digital image signature is checked",
                                              p->registry);
        _cleanup_free_ char *m106 = xasprintf(" do not use the signature store %s as the default signature store",
                                              p->sigstore_url);
        _cleanup_free_ char *m107 = xasprintf(" users are members of the %s and %s groups", p->group_user,
                                              p->group_admin);
        if (!m101 || !m102 || !m103 || !m106 || !m107 || rule_message(&R[0], "Users ", m101) < 0 ||
            rule_message(&R[1], "Users ", m102) < 0 || rule_message(&R[2], "Users ", m103) < 0 ||
            rule_message(&R[3], "Users ",
                         " have registries in the policy for which the presence of an electronic image signature "
                         "is not checked") < 0 ||
            rule_message(&R[4], "Users ", " have transports other than docker in the list of supported transports") < 0 ||
            rule_message(&R[5], "Users ", m106) < 0 || rule_message(&R[6], "the ", m107) < 0 ||
            rule_message(&R[7], "", " users do not have config file .config/containers/storage.conf") < 0 ||
            rule_message(&R[8], "", " users have writable configuration directory .config/containers") < 0)
                return -ENOMEM;
        return 0;
}

int ps_inventory_policy_rules(ps_inventory *inv, ps_inv_report *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        struct ps_inv_private *p = inv->priv;
        ps_inv_rule *r101, *r102, *r103, *r104, *r105, *r106, *r107, *rc1, *rc2;
        /* headings as the original's verbose output */
        if (add_rule(out, 101, "r101", "outside the podman group,", 101, &r101) < 0 ||
            add_rule(out, 102, "r102", "capable of receiving any image", 102, &r102) < 0 ||
            add_rule(out, 103, "r103", "capable of getting a local image without a signature", 103, &r103) < 0 ||
            add_rule(out, 104, "r104", "capable of receiving any image without a signature", 104, &r104) < 0 ||
            add_rule(out, 105, "r105", "capable of receiving any image via prohibited transport", 105, &r105) < 0 ||
            add_rule(out, 106, "r106", "not using a local signature store", 106, &r106) < 0 ||
            add_rule(out, 107, "r107", "included in the wheel group", 107, &r107) < 0 ||
            add_rule(out, 0, "no_storage_conf", "without a config file", 0, &rc1) < 0 ||
            add_rule(out, 0, "writable_config", "able to change configuration", 0, &rc2) < 0)
                goto nomem;
        /* pointers stay valid: no more rules are added */
        r101 = &out->rules[0];
        r102 = &out->rules[1];
        r103 = &out->rules[2];
        r104 = &out->rules[3];
        r105 = &out->rules[4];
        r106 = &out->rules[5];
        r107 = &out->rules[6];
        rc1 = &out->rules[7];
        rc2 = &out->rules[8];

        for (size_t i = 0; i < inv->n_accounts; i++) {
                ps_inv_account *a = &inv->accounts[i];
                bool image_user = a->kind == PS_INV_USER && a->uid != 0 && a->in_user_group && !a->in_dev_group;
                if (!a->inventory && !image_user && !(a->kind != PS_INV_ROOT && a->in_user_group && a->in_admin_group))
                        continue;
                if (a->kind != PS_INV_ROOT && a->in_user_group && a->in_admin_group && !a->in_dev_group) {
                        char *why = xasprintf("member of %s and %s", p->group_user, p->group_admin);
                        if (!why || add_finding(&r107->v, &r107->n, a->name, why) < 0)
                                goto nomem;
                }
                if (!a->inventory && !image_user)
                        continue;
                if (ps_inventory_load_config(inv, a, err) < 0)
                        return -ENOMEM;
                if (a->config_error) {
                        if (unchecked(out, a) < 0)
                                goto nomem;
                        continue;
                }
                out->checked++;
                if (image_user) {
                        out->share_population++;
                        if (!a->has_storage_conf) {
                                char *why = xasprintf("%s/.config/containers/storage.conf is %s", a->home,
                                                      a->has_config_dir ? "missing or not a regular file"
                                                                        : "missing (no ~/.config/containers)");
                                if (!why || add_finding(&rc1->v, &rc1->n, a->name, why) < 0)
                                        goto nomem;
                        } else if (a->config_writable == 1) {
                                char *why = strdup(a->writable_why);
                                if (!why || add_finding(&rc2->v, &rc2->n, a->name, why) < 0)
                                        goto nomem;
                        }
                }
                if (!a->inventory)
                        continue;
                if (a->kind != PS_INV_ROOT && !a->in_user_group && !a->in_dev_group) {
                        _cleanup_free_ char *g = strv_join(a->groups, ",");
                        char *why = g ? xasprintf("groups: %s", *g ? g : "(none)") : NULL;
                        if (!why || add_finding(&r101->v, &r101->n, a->name, why) < 0)
                                goto nomem;
                }
                if (a->default_class != PS_REQS_REJECT && !a->in_dev_group) {
                        char *why = xasprintf("default requirement %s in %s", a->default_types, a->policy_path);
                        if (!why || add_finding(&r102->v, &r102->n, a->name, why) < 0)
                                goto nomem;
                }
                bool has_site = false;
                for (size_t k = 0; a->signed_scopes[k] && !has_site; k++)
                        has_site = scope_of_registry(a->signed_scopes[k], p->registry);
                if (!has_site) {
                        char *why = a->policy_missing
                                            ? xasprintf("no policy (neither ~/.config/containers/policy.json nor "
                                                        "/etc/containers/policy.json)")
                                            : xasprintf("no scope of %s needs a signature in %s", p->registry,
                                                        a->policy_path);
                        if (!why || add_finding(&r103->v, &r103->n, a->name, why) < 0)
                                goto nomem;
                }
                if (a->unsigned_scopes[0]) {
                        _cleanup_free_ char *s = scopes_text(a->unsigned_scopes);
                        char *why = s ? xasprintf("%s accept unsigned images (%s)", s, a->policy_path) : NULL;
                        if (!why || add_finding(&r104->v, &r104->n, a->name, why) < 0)
                                goto nomem;
                }
                if (a->open_transports[0]) {
                        _cleanup_free_ char *s = strv_join(a->open_transports, ", ");
                        char *why = s ? xasprintf("transports %s (%s)", s, a->policy_path) : NULL;
                        if (!why || add_finding(&r105->v, &r105->n, a->name, why) < 0)
                                goto nomem;
                }
                if (!a->default_lookaside || !same_url(a->default_lookaside, p->sigstore_url)) {
                        char *why = a->default_lookaside
                                            ? xasprintf("default-docker lookaside %s in %s", a->default_lookaside,
                                                        a->regd_path)
                                            : xasprintf("no default-docker lookaside in %s", a->regd_path);
                        if (!why || add_finding(&r106->v, &r106->n, a->name, why) < 0)
                                goto nomem;
                }
        }
        size_t N = out->share_population;
        rc1->weight = N ? (int)(90 * rc1->n / N) : 0;
        rc2->weight = N ? (int)(90 * rc2->n / N) : 0;
        if (policy_messages(out, p) < 0)
                goto nomem;
        for (size_t i = 0; i < out->n_rules; i++)
                if (out->rules[i].n)
                        out->metric += out->rules[i].weight;
        return 0;
nomem:
        ps_inv_report_clear(out);
        return oom(err);
}

/* ---- storages and images ------------------------------------------------- */

int ps_inventory_stores(const ps_inventory *inv, const ps_inv_account *a, char ***stores, ps_error *err)
{
        *stores = calloc(1, sizeof(char *));
        if (!*stores)
                return oom(err);
        const char *rels[2] = { NULL, NULL };
        if (a->kind == PS_INV_ROOT) {
                rels[0] = PS_INV_ROOT_STORAGE;
        } else if (a->home && a->home[0] == '/') {
                rels[0] = a->kind == PS_INV_U7S ? PS_INV_U7S_STORAGE : PS_INV_USER_STORAGE;
                rels[1] = a->kind == PS_INV_U7S ? PS_INV_USER_STORAGE : NULL;
        }
        dev_t devs[2];
        ino_t inos[2];
        size_t n = 0;
        for (size_t i = 0; i < 2 && rels[i]; i++) {
                _cleanup_free_ char *node = a->kind == PS_INV_ROOT ? strdup(rels[i]) : ps_path_join(a->home, rels[i]);
                _cleanup_free_ char *full = node ? ps_root_path(inv->root, node) : NULL;
                if (!full) {
                        ps_strv_free(*stores);
                        *stores = NULL;
                        return oom(err);
                }
                struct stat st;
                if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                bool seen = false;
                for (size_t k = 0; k < n; k++)
                        seen |= devs[k] == st.st_dev && inos[k] == st.st_ino;
                if (seen)
                        continue;
                devs[n] = st.st_dev;
                inos[n] = st.st_ino;
                n++;
                if (strv_push(stores, full) < 0) {
                        ps_strv_free(*stores);
                        *stores = NULL;
                        return oom(err);
                }
        }
        return 0;
}

char *ps_store_bigdata_name(const char *key)
{
        bool plain = *key != '\0';
        for (const char *p = key; *p && plain; p++)
                plain = *p == '.' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z');
        if (plain)
                return strdup(key);
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t l = strlen(key);
        char *s = malloc(2 + 4 * ((l + 2) / 3)), *o = s;
        if (!s)
                return NULL;
        *o++ = '=';
        const unsigned char *in = (const unsigned char *)key;
        for (size_t i = 0; i < l; i += 3) {
                unsigned v = (unsigned)in[i] << 16;
                if (i + 1 < l)
                        v |= (unsigned)in[i + 1] << 8;
                if (i + 2 < l)
                        v |= in[i + 2];
                *o++ = tab[(v >> 18) & 63];
                *o++ = tab[(v >> 12) & 63];
                *o++ = i + 1 < l ? tab[(v >> 6) & 63] : '=';
                *o++ = i + 2 < l ? tab[v & 63] : '=';
        }
        *o = '\0';
        return s;
}

/* Read PATH (following symlinks: storages may sit behind podsec-k8s's
 * links) when it is a regular file owned by OWNER ((uid_t)-1: any). */
static int read_owned(const char *path, uid_t owner, size_t max, char **data, size_t *len, ps_error *err)
{
        *data = NULL;
        *len = 0;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open %s", path);
        struct stat st;
        int r = ps_fstat_regular(fd, path, max, &st, err);
        if (r < 0)
                return r;
        if (owner != (uid_t)-1 && st.st_uid != owner)
                return ps_error_set(err, EPERM, "%s is owned by uid %lu, not by the storage's account (uid %lu); not read",
                                    path, (unsigned long)st.st_uid, (unsigned long)owner);
        return ps_read_fd(fd, path, max, (size_t)st.st_size, data, len, err);
}

int ps_store_manifest(const char *images_dir, const char *id, const char *image_digest, const char *digest,
                      uid_t owner, char **data, size_t *len, ps_error *err)
{
        *data = NULL;
        *len = 0;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return ps_error_set(err, EINVAL, "invalid image id \"%s\"", id);
        const char *keys[2] = { "manifest", NULL };
        _cleanup_free_ char *k1 = NULL;
        if (digest) {
                if (!(k1 = xasprintf("manifest-%s", digest)))
                        return oom(err);
                keys[0] = k1;
                keys[1] = image_digest && !strcmp(image_digest, digest) ? "manifest" : NULL;
        }
        int r = -ENOENT;
        for (size_t i = 0; i < 2 && keys[i]; i++) {
                _cleanup_free_ char *file = ps_store_bigdata_name(keys[i]);
                _cleanup_free_ char *path = file ? xasprintf("%s/%s/%s", images_dir, id, file) : NULL;
                if (!path)
                        return oom(err);
                ps_error_clear(err);
                r = read_owned(path, owner, MANIFEST_MAX, data, len, err);
                if (r != -ENOENT)
                        return r;
        }
        if (digest)
                return ps_error_set(err, ENOENT, "image %.12s has no stored manifest %s in %s", id, digest, images_dir);
        return ps_error_set(err, ENOENT, "image %.12s has no stored manifest in %s", id, images_dir);
}

typedef struct store_src {
        const char *images_dir;
        const ps_store_image *img;
        uid_t owner;
        const ps_verify_source *sigs;
} store_src;

static int store_manifest(void *ctx, const ps_reference *ref, const char *what, char **data, size_t *len,
                          char **media_type, ps_error *err)
{
        (void)ref;
        store_src *s = ctx;
        *media_type = NULL;
        const char *digest = strchr(what, ':') ? what : NULL;
        return ps_store_manifest(s->images_dir, s->img->id, s->img->digest, digest, s->owner, data, len, err);
}

static int store_signatures(void *ctx, const ps_reference *ref, const char *reference, const char *digest,
                            ps_sig_list *out, char **where, ps_error *err)
{
        store_src *s = ctx;
        return s->sigs->signatures(s->sigs->ctx, ref, reference, digest, out, where, err);
}

static const char *signer_of(const ps_verify_result *res)
{
        for (size_t i = 0; i < res->n_images; i++)
                for (size_t j = 0; j < res->images[i].n_reqs; j++) {
                        const ps_verify_req *q = &res->images[i].reqs[j];
                        for (size_t k = 0; k < q->n_sigs; k++)
                                if (q->sigs[k].accepted && q->sigs[k].fingerprint)
                                        return q->sigs[k].fingerprint;
                }
        return NULL;
}

static int add_image(ps_inv_report *rep, ps_inv_image **out)
{
        ps_inv_image *nv = realloc(rep->images, (rep->n_images + 1) * sizeof *nv);
        if (!nv)
                return -ENOMEM;
        rep->images = nv;
        *out = &nv[rep->n_images++];
        memset(*out, 0, sizeof **out);
        (*out)->verdict = -1;
        return 0;
}

static int set_str(char **dst, const char *s)
{
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

/* Check one name of IMG (NAME NULL: the image has none). */
static int check_name(ps_inventory *inv, ps_inv_account *a, const ps_inv_images_opts *o, const char *images_dir,
                      const char *store_node, const ps_store_image *img, const char *name, const ps_verify_source *sigs,
                      ps_inv_report *rep)
{
        ps_inv_image *im = NULL;
        if (add_image(rep, &im) < 0 || set_str(&im->account, a->name) < 0 || set_str(&im->store, store_node) < 0 ||
            set_str(&im->id, img->id) < 0 || set_str(&im->name, name) < 0)
                return -ENOMEM;
        if (!name) {
                im->reason = strdup("the image has no name (an untagged or dangling image no policy scope covers)");
                return im->reason ? 0 : -ENOMEM;
        }
        if (!a->policy) {
                im->reason = strdup("there is no policy: podman would refuse every image");
                return im->reason ? 0 : -ENOMEM;
        }
        const char *scope = NULL;
        ps_scope_kind kind = PS_SCOPE_GLOBAL_DEFAULT;
        ps_error e = PS_ERROR_INIT;
        int r = ps_policy_scope_for(a->policy, name, &scope, &kind, NULL, &e);
        if (r == -ENOMEM) {
                ps_error_clear(&e);
                return -ENOMEM;
        }
        if (r < 0) {
                im->reason = strdup(ps_error_msg(&e));
                ps_error_clear(&e);
                return im->reason ? 0 : -ENOMEM;
        }
        if (set_str(&im->scope, scope) < 0)
                return -ENOMEM;
        im->in_policy = kind != PS_SCOPE_TRANSPORT_DEFAULT && kind != PS_SCOPE_GLOBAL_DEFAULT;
        if (!im->in_policy) {
                im->reason = kind == PS_SCOPE_TRANSPORT_DEFAULT
                                     ? strdup("no docker scope of the policy covers it (the transport default \"\" applies)")
                                     : strdup("no docker scope of the policy covers it (the global default applies)");
                if (!im->reason)
                        return -ENOMEM;
                if (!o->all)
                        return 0;
        }
        store_src ss = { .images_dir = images_dir, .img = img, .owner = a->kind == PS_INV_ROOT ? 0 : a->uid,
                         .sigs = sigs };
        ps_verify_source src = { .manifest = store_manifest, .signatures = store_signatures, .ctx = &ss };
        ps_verify_opts vo = { .root = inv->root, .source = &src };
        ps_verify_result res;
        r = ps_verify_image(a->policy, name, &vo, &res, &e);
        if (r == -ENOMEM) {
                ps_error_clear(&e);
                return -ENOMEM;
        }
        if (r < 0) {
                free(im->reason);
                im->reason = strdup(ps_error_msg(&e));
                im->verdict = PS_VERDICT_UNKNOWN;
                ps_error_clear(&e);
                return im->reason ? 0 : -ENOMEM;
        }
        im->verdict = (int)res.verdict;
        if (res.verdict == PS_VERDICT_ACCEPTED) {
                r = set_str(&im->signer, signer_of(&res));
        } else if (im->in_policy) {
                free(im->reason);
                im->reason = res.reason ? strdup(res.reason) : strdup(ps_verdict_name(res.verdict));
                r = im->reason ? 0 : -ENOMEM;
        }
        ps_verify_result_clear(&res);
        return r;
}

static int account_images(ps_inventory *inv, ps_inv_account *a, const ps_inv_images_opts *o, ps_inv_report *rep,
                          char **error)
{
        _cleanup_strv_ char **stores = NULL;
        ps_error e = PS_ERROR_INIT;
        if (ps_inventory_stores(inv, a, &stores, &e) < 0) {
                ps_error_clear(&e);
                return -ENOMEM;
        }
        ps_verify_net *net = NULL;
        ps_verify_source sigs;
        if (o->signatures) {
                sigs = *o->signatures;
        } else {
                ps_verify_net_opts no = {
                        .root = inv->root,
                        .regd = a->regd,
                        .home = a->uid == 0 || a->kind == PS_INV_ROOT ? NULL : a->home,
                        .ca_file = o->ca_file,
                        .timeout_s = o->timeout_s > 0 ? o->timeout_s : 10,
                };
                if (ps_verify_net_new(&no, &net, &e) < 0) {
                        *error = strdup(ps_error_msg(&e));
                        ps_error_clear(&e);
                        return *error ? -EINVAL : -ENOMEM;
                }
                sigs = ps_verify_net_source(net);
        }
        int r = 0;
        for (size_t s = 0; stores[s] && r == 0; s++) {
                const char *node = ps_effective_node_path(inv->root, stores[s]);
                for (size_t d = 0; d < PS_ARRAY_SIZE(drivers) && r == 0; d++) {
                        _cleanup_free_ char *dir = xasprintf("%s/%s-images", stores[s], drivers[d]);
                        _cleanup_free_ char *file = dir ? xasprintf("%s/images.json", dir) : NULL;
                        if (!file) {
                                r = -ENOMEM;
                                break;
                        }
                        struct stat st;
                        if (stat(file, &st) < 0)
                                continue;
                        _cleanup_free_ char *text = NULL;
                        size_t len = 0;
                        ps_store_image *imgs = NULL;
                        size_t n = 0;
                        r = read_owned(file, a->kind == PS_INV_ROOT ? 0 : a->uid, STORE_MAX_FILE, &text, &len, &e);
                        if (r == 0)
                                r = ps_store_images_parse(text, len, &imgs, &n, &e);
                        if (r < 0 && r != -ENOMEM) {
                                if (r == -EBADMSG)
                                        ps_error_wrap(&e, "%s", file);
                                *error = strdup(ps_error_msg(&e));
                                r = *error ? -EINVAL : -ENOMEM;
                        }
                        ps_error_clear(&e);
                        for (size_t i = 0; i < n && r == 0; i++) {
                                if (!imgs[i].n_names)
                                        r = check_name(inv, a, o, dir, node, &imgs[i], NULL, &sigs, rep);
                                for (size_t k = 0; k < imgs[i].n_names && r == 0; k++)
                                        r = check_name(inv, a, o, dir, node, &imgs[i], imgs[i].names[k], &sigs, rep);
                        }
                        ps_store_images_free(imgs, n);
                }
        }
        ps_verify_net_free(net);
        return r;
}

/* "user: a, b" for the images of ACCOUNT in REP[from..) matching PRED. */
static char *images_of(const ps_inv_report *rep, size_t from, const char *account, bool outside, bool *any)
{
        _cleanup_strv_ char **names = calloc(1, sizeof(char *));
        if (!names)
                return NULL;
        *any = false;
        for (size_t i = from; i < rep->n_images; i++) {
                const ps_inv_image *im = &rep->images[i];
                if (strcmp(im->account, account) != 0)
                        continue;
                bool hit = outside ? !im->in_policy
                                   : (im->in_policy || im->verdict >= 0) && im->verdict != PS_VERDICT_ACCEPTED;
                if (!hit)
                        continue;
                char shortid[13];
                snprintf(shortid, sizeof shortid, "%.12s", im->id);
                const char *shown = im->name ? im->name : shortid;
                if (!strv_has(names, shown) && strv_push(&names, shown) < 0)
                        return NULL;
                *any = true;
        }
        qsort(names, strv_len(names), sizeof *names, cmp_str);
        return strv_join(names, ", ");
}

static char *details_text(const ps_inv_rule *r)
{
        _cleanup_strv_ char **parts = calloc(r->n + 1, sizeof *parts);
        if (!parts)
                return NULL;
        for (size_t i = 0; i < r->n; i++)
                if (!(parts[i] = xasprintf("%s: %s", r->v[i].user, r->v[i].why ? r->v[i].why : "")))
                        return NULL;
        return strv_join(parts, "; ");
}

int ps_inventory_images_rules(ps_inventory *inv, const ps_inv_images_opts *o, ps_inv_report *out, ps_error *err)
{
        memset(out, 0, sizeof *out);
        ps_inv_images_opts dflt = { 0 };
        if (!o)
                o = &dflt;
        ps_inv_rule *r101, *r102, *r103;
        if (add_rule(out, 101, "r101", "have registry that do not support electronic signatures,", 101, &r101) < 0 ||
            add_rule(out, 102, "r102", "have unsigned images,", 102, &r102) < 0 ||
            add_rule(out, 103, "r103", "have images outside of supported policies,", 103, &r103) < 0)
                goto nomem;
        r101 = &out->rules[0];
        r102 = &out->rules[1];
        r103 = &out->rules[2];
        for (size_t i = 0; i < inv->n_accounts; i++) {
                ps_inv_account *a = &inv->accounts[i];
                if (a->kind == PS_INV_USER && (!a->storage || a->in_dev_group))
                        continue;       /* image makers may hold anything; users without storage hold nothing */
                if (ps_inventory_load_config(inv, a, err) < 0)
                        return -ENOMEM;
                if (a->config_error) {
                        if (unchecked(out, a) < 0)
                                goto nomem;
                        continue;
                }
                out->checked++;
                if (a->unsigned_scopes[0]) {
                        char *s = scopes_text(a->unsigned_scopes);
                        if (!s || add_finding(&r101->v, &r101->n, a->name, s) < 0)
                                goto nomem;
                }
                size_t from = out->n_images;
                char *error = NULL;
                int r = account_images(inv, a, o, out, &error);
                if (r == -ENOMEM || (r < 0 && !error))
                        goto nomem;
                if (r < 0) {
                        if (add_finding(&out->unchecked, &out->n_unchecked, a->name, error) < 0)
                                goto nomem;
                        continue;
                }
                bool any = false;
                char *s = images_of(out, from, a->name, false, &any);
                if (!s)
                        goto nomem;
                if (any) {
                        if (add_finding(&r102->v, &r102->n, a->name, s) < 0)
                                goto nomem;
                } else {
                        free(s);
                }
                s = images_of(out, from, a->name, true, &any);
                if (!s)
                        goto nomem;
                if (any) {
                        if (add_finding(&r103->v, &r103->n, a->name, s) < 0)
                                goto nomem;
                } else {
                        free(s);
                }
        }
        static const char *const texts[] = {
                "users have registry that do not support electronic signatures",
                "users have unsigned images",
                "users have images outside of supported policies",
        };
        for (size_t k = 0; k < 3; k++) {
                ps_inv_rule *r = &out->rules[k];
                if (!r->n)
                        continue;
                _cleanup_free_ char *list = ps_inv_quote_list(r->v, r->n);
                _cleanup_free_ char *det = details_text(r);
                if (!list || !det || !(r->message = xasprintf("%d:: %s %s: %s", r->id, list, texts[k], det)))
                        goto nomem;
                out->metric += r->weight;
        }
        return 0;
nomem:
        ps_inv_report_clear(out);
        return oom(err);
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *strv_json(char *const *v)
{
        json_t *a = json_array();
        for (size_t i = 0; a && v && v[i]; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static const char *kind_name(ps_inv_kind k)
{
        return k == PS_INV_ROOT ? "root" : k == PS_INV_U7S ? "u7s-admin" : "user";
}

json_t *ps_inv_account_json(const ps_inv_account *a)
{
        json_t *j = json_pack("{s:s,s:s,s:b,s:o,s:o,s:b,s:b,s:b,s:b}", "name", a->name, "kind", kind_name(a->kind),
                              "in_passwd", a->in_passwd, "home", a->home ? json_string(a->home) : json_null(),
                              "groups", strv_json(a->groups), "in_user_group", a->in_user_group, "in_dev_group",
                              a->in_dev_group, "in_admin_group", a->in_admin_group, "inventory", a->inventory);
        if (!j)
                return NULL;
        if (a->in_passwd && json_object_set_new(j, "uid", json_integer((json_int_t)a->uid)) < 0)
                goto fail;
        if (json_object_set_new(j, "storage", a->storage ? json_string(a->storage) : json_null()) < 0)
                goto fail;
        if (!a->config_loaded)
                return j;
        if (a->config_error) {
                if (json_object_set_new(j, "error", json_string(a->config_error)) < 0)
                        goto fail;
                return j;
        }
        json_t *c = json_pack("{s:s,s:b,s:b,s:s,s:s,s:o,s:o,s:o,s:s,s:b,s:o,s:b,s:b}", "policy", a->policy_path,
                              "policy_user", a->policy_user, "policy_missing", a->policy_missing, "default",
                              a->default_types, "default_class", ps_reqs_class_name(a->default_class), "signed_scopes",
                              strv_json(a->signed_scopes), "unsigned_scopes", strv_json(a->unsigned_scopes),
                              "open_transports", strv_json(a->open_transports), "registries_d", a->regd_path,
                              "registries_d_user", a->regd_user, "default_lookaside",
                              a->default_lookaside ? json_string(a->default_lookaside) : json_null(),
                              "storage_conf", a->has_storage_conf, "config_dir", a->has_config_dir);
        if (!c)
                goto fail;
        json_t *w = a->config_writable < 0 ? json_null() : json_boolean(a->config_writable == 1);
        if (json_object_set_new(c, "config_writable", w) < 0 ||
            json_object_set_new(c, "config_writable_why", a->writable_why ? json_string(a->writable_why) : json_null()) < 0 ||
            json_object_update(j, c) < 0) {
                json_decref(c);
                goto fail;
        }
        json_decref(c);
        return j;
fail:
        json_decref(j);
        return NULL;
}

json_t *ps_inv_rule_json(const ps_inv_rule *r)
{
        json_t *users = json_array();
        for (size_t i = 0; users && i < r->n; i++)
                if (json_array_append_new(users, json_pack("{s:s,s:o}", "user", r->v[i].user, "why",
                                                           r->v[i].why ? json_string(r->v[i].why) : json_null())) < 0) {
                        json_decref(users);
                        return NULL;
                }
        if (!users)
                return NULL;
        return json_pack("{s:i,s:s,s:s,s:i,s:b,s:o,s:o}", "id", r->id, "label", r->label, "heading", r->heading,
                         "weight", r->weight, "matched", r->n > 0, "users", users, "message",
                         r->message ? json_string(r->message) : json_null());
}

json_t *ps_inv_image_json(const ps_inv_image *im)
{
        return json_pack("{s:s,s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:o}", "account", im->account, "store", im->store, "id",
                         im->id, "name", im->name ? json_string(im->name) : json_null(), "in_policy", im->in_policy,
                         "scope", im->scope ? json_string(im->scope) : json_null(), "verdict",
                         im->verdict >= 0 ? json_string(ps_verdict_name((ps_verdict)im->verdict)) : json_null(),
                         "signer", im->signer ? json_string(im->signer) : json_null(), "reason",
                         im->reason ? json_string(im->reason) : json_null());
}
