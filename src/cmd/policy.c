/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec policy init (= podsec-create-policy) and the policy sync stub.
 *
 * policy init works in three phases:
 *   1. arguments: the IP address and the node's role; refused early;
 *   2. plan: every managed item is read and validated and its action
 *      (create, change, keep) decided; anything wrong is refused here,
 *      before a single change;
 *   3. apply, in an order where each intermediate state is consistent:
 *      groups, sysctl, /etc/hosts, the /var/sigstore tree, policy.json,
 *      registries.d/default.yaml, registries.conf.  Every file is replaced
 *      atomically (ps_write_atomic / ps_dated_install), so a crash leaves
 *      each one old or new, and running again finishes the job. */
#include "cmd.h"
#include "accounts.h"
#include "cleanup.h"
#include "fs.h"
#include "hosts.h"
#include "ipaddr.h"
#include "log.h"
#include "policy.h"
#include "registries.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exit codes of policy init (documented in --help). */
enum {
        EXIT_OK = 0,
        EXIT_REFUSED = 1,     /* usage, unusable address, existing configuration refused */
        EXIT_NOT_QUAD = 2,    /* = PS_IP_NOT_QUAD */
        EXIT_BAD_FIELD = 3,   /* = PS_IP_BAD_FIELD */
        EXIT_CLIENT = 4,      /* client node: not implemented yet */
        EXIT_FAILED = 5,      /* failed while changing the system */
};

#define MAX_CONFIG_FILE (16u << 20)

static const char initial_policy[] =
        "{\n"
        "  \"default\": [\n"
        "    {\n"
        "      \"type\": \"reject\"\n"
        "    }\n"
        "  ],\n"
        "  \"transports\": {\n"
        "    \"docker\": {}\n"
        "  }\n"
        "}\n";

static const char sysctl_text[] = "kernel.unprivileged_userns_clone = 1\n";
static const char sysctl_proc[] = "/proc/sys/kernel/unprivileged_userns_clone";

static const char index_html[] =
        "<!DOCTYPE html><html><head><title>podsec sigstore</title></head>"
        "<body><p>The podsec signature store works.</p></body></html>\n";

enum act { ACT_UNCHANGED, ACT_CREATED, ACT_CHANGED, ACT_SKIPPED };

static const char *act_name(enum act a)
{
        switch (a) {
        case ACT_CREATED: return "created";
        case ACT_CHANGED: return "changed";
        case ACT_SKIPPED: return "skipped";
        default: return "unchanged";
        }
}

static const char *act_plan_name(enum act a)
{
        switch (a) {
        case ACT_CREATED: return _("would create");
        case ACT_CHANGED: return _("would change");
        case ACT_SKIPPED: return _("would skip");
        default: return _("unchanged");
        }
}

enum {
        IT_GROUP_USER, IT_GROUP_DEV, IT_SYSCTL_FILE, IT_SYSCTL_LIVE, IT_HOSTS,
        IT_SIGDIR, IT_KEYS, IT_SIGS, IT_INDEX, IT_POLICY, IT_REGD, IT_REGCONF, IT_COUNT
};

typedef struct item {
        const char *kind;     /* "group", "file", "directory", "sysctl" */
        char *name;           /* group name, path as seen on the node, sysctl key */
        bool present;         /* part of this run */
        enum act act;
        char *detail;         /* NULL or a note */
        bool done;            /* applied (or nothing to do) */
} item;

/* A file managed through the dated-file + symlink scheme. */
typedef struct dated_file {
        char *dir;            /* root-prefixed directory */
        ps_dated d;
        char *data;           /* wanted content when it must be installed */
        size_t len;
        bool install;
} dated_file;

typedef struct plan {
        ps_ctx *ctx;
        const char *root;
        const char *ip;
        time_t now;
        char **names;         /* hosts names */
        gid_t gid_user, gid_dev;
        bool have_user, have_dev;

        char *sysctl_path;
        bool sysctl_write;
        bool live_apply;

        char *hosts_path;
        char *hosts_data;
        size_t hosts_len;
        mode_t hosts_mode;
        bool hosts_write;

        char *sigdir, *keys, *sigs, *index;
        bool index_write;

        dated_file policy, regd, regconf;
        item it[IT_COUNT];
} plan;

static void plan_free(plan *p)
{
        ps_strv_free(p->names);
        free(p->sysctl_path);
        free(p->hosts_path);
        free(p->hosts_data);
        free(p->sigdir);
        free(p->keys);
        free(p->sigs);
        free(p->index);
        dated_file *df[] = { &p->policy, &p->regd, &p->regconf };
        for (size_t i = 0; i < PS_ARRAY_SIZE(df); i++) {
                free(df[i]->dir);
                free(df[i]->data);
        }
        for (int i = 0; i < IT_COUNT; i++) {
                free(p->it[i].name);
                free(p->it[i].detail);
        }
}

static int set_item(plan *p, int i, const char *kind, const char *name, ps_error *err)
{
        p->it[i].kind = kind;
        p->it[i].present = true;
        free(p->it[i].name);
        p->it[i].name = strdup(name);
        if (!p->it[i].name)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static void set_detail(plan *p, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_detail(plan *p, int i, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(p->it[i].detail);
        p->it[i].detail = s;
}

/* ---------- reading the current state ---------- */

enum cur_state { CUR_MISSING, CUR_DANGLING, CUR_PRESENT };

typedef struct current {
        enum cur_state state;
        bool is_link;
        char *link_target;   /* as read by readlink */
        char *text;          /* content (following one symlink) */
        size_t len;
        mode_t mode;         /* of the file read */
} current;

static void current_clear(current *c)
{
        free(c->link_target);
        free(c->text);
        memset(c, 0, sizeof *c);
}

static char *read_link(const char *path, ps_error *err)
{
        size_t cap = 256;
        for (;;) {
                char *buf = malloc(cap);
                if (!buf) {
                        ps_error_set(err, ENOMEM, "out of memory");
                        return NULL;
                }
                ssize_t n = readlink(path, buf, cap);
                if (n < 0) {
                        ps_error_errno(err, errno, "cannot read the symbolic link %s", path);
                        free(buf);
                        return NULL;
                }
                if ((size_t)n < cap) {
                        buf[n] = '\0';
                        return buf;
                }
                free(buf);
                if (cap > 65536) {
                        ps_error_set(err, ENAMETOOLONG, "the symbolic link %s is too long", path);
                        return NULL;
                }
                cap *= 2;
        }
}

/* Read the managed file FULL (root-prefixed; SHOWN in messages), following
 * one symbolic link; an absolute link target is resolved inside ROOT. */
static int read_current(const char *root, const char *full, const char *shown, current *c, ps_error *err)
{
        memset(c, 0, sizeof *c);
        struct stat st;
        if (lstat(full, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return ps_error_errno(err, errno, "cannot read %s", shown);
        }
        _cleanup_free_ char *target_path = NULL;
        const char *path = full;
        if (S_ISLNK(st.st_mode)) {
                c->is_link = true;
                c->link_target = read_link(full, err);
                if (!c->link_target)
                        return -err->code;
                if (c->link_target[0] == '/') {
                        target_path = ps_root_path(root, c->link_target);
                } else {
                        _cleanup_free_ char *dir = strdup(full);
                        if (dir) {
                                char *slash = strrchr(dir, '/');
                                if (slash)
                                        *slash = '\0';
                                target_path = ps_path_join(dir, c->link_target);
                        }
                }
                if (!target_path)
                        return ps_error_set(err, ENOMEM, "out of memory");
                path = target_path;
                if (stat(path, &st) < 0) {
                        if (errno == ENOENT || errno == ELOOP) {
                                c->state = CUR_DANGLING;
                                return 0;
                        }
                        return ps_error_errno(err, errno, "cannot read %s (a symbolic link to %s)", shown,
                                              c->link_target);
                }
        }
        if (S_ISDIR(st.st_mode))
                return ps_error_set(err, EISDIR, "%s is a directory, not a file", shown);
        if (!S_ISREG(st.st_mode))
                return ps_error_set(err, EINVAL, "%s is not a regular file", shown);
        ps_error e2 = PS_ERROR_INIT;
        int r = ps_read_file(path, MAX_CONFIG_FILE, &c->text, &c->len, &e2);
        if (r < 0) {
                ps_error_set(err, -r, "cannot read %s: %s", shown, ps_error_msg(&e2));
                ps_error_clear(&e2);
                return r;
        }
        c->mode = st.st_mode & 07777;
        c->state = CUR_PRESENT;
        return 0;
}

/* ---------- validation of existing files ---------- */

typedef struct policy_info {
        bool default_reject;     /* "default" is [{"type":"reject"}] */
        size_t docker_scopes;    /* keys of transports.docker */
        size_t other_scopes;     /* keys of other transports */
} policy_info;

/* The one place where an existing policy.json is validated: with the
 * policy engine in COMPAT mode, i.e. refused exactly when podman, skopeo
 * and CRI-O would refuse to load it (duplicate or unknown keys, wrong
 * types, no "default", empty requirement lists, ...). */
static int check_policy(const char *shown, const char *text, size_t len, policy_info *info, ps_error *err)
{
        memset(info, 0, sizeof *info);
        _cleanup_policy_ ps_policy *pol = NULL;
        int r = ps_policy_parse_flags(text, len, PS_POLICY_COMPAT, &pol, err);
        if (r < 0)
                return ps_error_wrap(err, "%s is not a valid policy", shown);
        const json_t *def = ps_policy_default(pol);
        size_t i;
        const json_t *req;
        info->default_reject = json_array_size(def) > 0;
        json_array_foreach(def, i, req) {
                const char *type = json_string_value(json_object_get(req, "type"));
                if (!type || strcmp(type, "reject"))
                        info->default_reject = false;
        }
        _cleanup_strv_ char **transports = ps_policy_transports(pol);
        if (!transports)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (char **t = transports; *t; t++) {
                _cleanup_strv_ char **scopes = ps_policy_scopes(pol, *t);
                if (!scopes)
                        return ps_error_set(err, ENOMEM, "out of memory");
                size_t n = 0;
                while (scopes[n])
                        n++;
                if (!strcmp(*t, "docker"))
                        info->docker_scopes += n;
                else
                        info->other_scopes += n;
        }
        return 0;
}

static void fy_quiet(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
}

/* An existing registries.d file must at least be YAML. */
static int check_yaml(const char *shown, const char *text, size_t len, ps_error *err)
{
        struct fy_diag_cfg dc;
        fy_diag_cfg_default(&dc);
        dc.fp = NULL;
        dc.output_fn = fy_quiet;
        dc.level = FYET_ERROR;
        dc.colorize = false;
        struct fy_diag *diag = fy_diag_create(&dc);
        if (!diag)
                return ps_error_set(err, ENOMEM, "out of memory");
        fy_diag_set_collect_errors(diag, true);
        struct fy_parse_cfg pc = { .flags = FYPCF_QUIET, .diag = diag };
        struct fy_document *fyd = fy_document_build_from_string(&pc, text, len);
        int r = 0;
        if (!fyd) {
                void *iter = NULL;
                struct fy_diag_error *e = fy_diag_errors_iterate(diag, &iter);
                if (e)
                        r = ps_error_set(err, EINVAL, "%s is not valid YAML: line %d, column %d: %s", shown, e->line,
                                         e->column, e->msg ? e->msg : "syntax error");
                /* no message: an empty stream (only blanks or comments), which is valid */
        } else {
                fy_document_destroy(fyd);
        }
        fy_diag_unref(diag);
        return r;
}

/* ---------- planning ---------- */

static int split_names(const char *words, char ***out, ps_error *err)
{
        size_t cap = 4, n = 0;
        char **v = calloc(cap, sizeof *v);
        if (!v)
                return ps_error_set(err, ENOMEM, "out of memory");
        const char *s = words;
        for (;;) {
                while (*s && isspace((unsigned char)*s))
                        s++;
                if (!*s)
                        break;
                const char *e = s;
                while (*e && !isspace((unsigned char)*e))
                        e++;
                for (const char *c = s; c < e; c++) {
                        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') {
                                ps_strv_free(v);
                                return ps_error_set(err, EINVAL,
                                                    "site setting hosts_names: '%.*s' is not a host name "
                                                    "(letters, digits, '.' and '-' only)", (int)(e - s), s);
                        }
                }
                if (n + 2 > cap) {
                        char **nv = realloc(v, cap * 2 * sizeof *v);
                        if (!nv) {
                                ps_strv_free(v);
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                        v = nv;
                        cap *= 2;
                }
                v[n] = strndup(s, (size_t)(e - s));
                if (!v[n]) {
                        ps_strv_free(v);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                v[++n] = NULL;
                s = e;
        }
        if (n == 0) {
                free(v);
                return ps_error_set(err, EINVAL, "site setting hosts_names is empty");
        }
        *out = v;
        return 0;
}

static char *host_path(const char *dir, const char *name)
{
        return ps_path_join(dir, name);
}

static int plan_groups(plan *p, ps_error *err)
{
        const ps_conf *c = &p->ctx->conf;
        int r;
        if ((r = set_item(p, IT_GROUP_USER, "group", c->group_user, err)) < 0 ||
            (r = set_item(p, IT_GROUP_DEV, "group", c->group_dev, err)) < 0)
                return r;
        r = ps_root_getgrnam(p->root, c->group_user, &p->gid_user, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot look up group %s", c->group_user);
        p->have_user = r > 0;
        r = ps_root_getgrnam(p->root, c->group_dev, &p->gid_dev, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot look up group %s", c->group_dev);
        p->have_dev = r > 0;
        p->it[IT_GROUP_USER].act = p->have_user ? ACT_UNCHANGED : ACT_CREATED;
        p->it[IT_GROUP_DEV].act = p->have_dev ? ACT_UNCHANGED : ACT_CREATED;
        return 0;
}

static bool is_host(const char *root)
{
        return !root || !*root || (root[0] == '/' && root[strspn(root, "/")] == '\0');
}

static int plan_sysctl(plan *p, ps_error *err)
{
        const char *hp = "/etc/sysctl.d/99-podman.conf";
        int r = set_item(p, IT_SYSCTL_FILE, "file", hp, err);
        if (r < 0)
                return r;
        p->sysctl_path = ps_root_path(p->root, hp);
        if (!p->sysctl_path)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_(current_clear) current c;
        r = read_current(p->root, p->sysctl_path, hp, &c, err);
        if (r < 0)
                return r;
        if (c.state == CUR_PRESENT && c.len == strlen(sysctl_text) && !memcmp(c.text, sysctl_text, c.len)) {
                p->it[IT_SYSCTL_FILE].act = ACT_UNCHANGED;
        } else {
                p->sysctl_write = true;
                p->it[IT_SYSCTL_FILE].act = c.state == CUR_PRESENT ? ACT_CHANGED : ACT_CREATED;
        }

        if (!is_host(p->root))
                return 0;   /* --root: never touch the running kernel */
        if ((r = set_item(p, IT_SYSCTL_LIVE, "sysctl", "kernel.unprivileged_userns_clone", err)) < 0)
                return r;
        if (access(sysctl_proc, F_OK) < 0) {
                p->it[IT_SYSCTL_LIVE].act = ACT_SKIPPED;
                set_detail(p, IT_SYSCTL_LIVE, "this kernel has no such setting (unprivileged user namespaces "
                           "are not restricted by it)");
                return 0;
        }
        _cleanup_free_ char *v = NULL;
        if (ps_read_file(sysctl_proc, 64, &v, NULL, NULL) == 0 && atoi(v) == 1) {
                p->it[IT_SYSCTL_LIVE].act = ACT_UNCHANGED;
        } else {
                p->live_apply = true;
                p->it[IT_SYSCTL_LIVE].act = ACT_CHANGED;
        }
        return 0;
}

static int plan_hosts(plan *p, bool replace, ps_error *err)
{
        const char *hp = "/etc/hosts";
        int r = set_item(p, IT_HOSTS, "file", hp, err);
        if (r < 0)
                return r;
        p->hosts_path = ps_root_path(p->root, hp);
        if (!p->hosts_path)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_(current_clear) current c;
        r = read_current(p->root, p->hosts_path, hp, &c, err);
        if (r < 0)
                return r;
        if (c.state == CUR_DANGLING)
                return ps_error_set(err, ENOENT, "%s is a symbolic link to the missing %s", hp, c.link_target);
        p->hosts_mode = c.state == CUR_PRESENT ? c.mode : 0644;
        ps_hosts *h = NULL;
        r = ps_hosts_parse(c.text ? c.text : "", c.len, hp, &h, err);
        if (r < 0)
                return r;
        ps_hosts_conflict conf;
        ps_hosts_state s = ps_hosts_check(h, p->ip, p->names, &conf);
        _cleanup_free_ char *names = NULL;
        for (char **n = p->names; *n; n++) {
                char *nn = NULL;
                if (asprintf(&nn, "%s%s%s", names ? names : "", names ? " " : "", *n) < 0) {
                        ps_hosts_free(h);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                free(names);
                names = nn;
        }
        if (s == PS_HOSTS_CONFLICT && !replace) {
                r = ps_error_set(err, EEXIST,
                                 "%s line %zu binds %s to %s, not to %s; remove that binding first, or run again "
                                 "with --replace-hosts to rebind %s to %s", hp, conf.line, conf.name, conf.addr,
                                 p->ip, names, p->ip);
                ps_hosts_free(h);
                return r;
        }
        if (s == PS_HOSTS_BOUND) {
                p->it[IT_HOSTS].act = ACT_UNCHANGED;
                set_detail(p, IT_HOSTS, "%s already bound to %s", names, p->ip);
                ps_hosts_free(h);
                return 0;
        }
        if (c.is_link) {
                ps_hosts_free(h);
                return ps_error_set(err, EINVAL, "%s is a symbolic link (to %s); refusing to replace it with a "
                                    "file: edit the file it points to, or remove the link", hp, c.link_target);
        }
        char *conflict_note = NULL;
        if (s == PS_HOSTS_CONFLICT &&
            asprintf(&conflict_note, "; replaced the binding to %s on line %zu", conf.addr, conf.line) < 0)
                conflict_note = NULL;
        r = ps_hosts_bind(h, p->ip, p->names, NULL, err);
        if (r == 0) {
                p->hosts_data = ps_hosts_format(h, &p->hosts_len);
                if (!p->hosts_data)
                        r = ps_error_set(err, ENOMEM, "out of memory");
        }
        ps_hosts_free(h);
        if (r < 0) {
                free(conflict_note);
                return r;
        }
        p->hosts_write = true;
        p->it[IT_HOSTS].act = c.state == CUR_PRESENT ? ACT_CHANGED : ACT_CREATED;
        set_detail(p, IT_HOSTS, "%s %s%s%s", p->ip, names, conflict_note ? conflict_note : "",
                   c.state == CUR_PRESENT && c.len > 0 && c.text[c.len - 1] != '\n'
                           ? "; added the missing final newline" : "");
        free(conflict_note);
        return 0;
}

/* A directory of the signature store: refuse anything but a directory. */
static int plan_dir(plan *p, int i, const char *full, const char *shown, uid_t uid, gid_t gid, bool gid_known,
                    mode_t mode, ps_error *err)
{
        int r = set_item(p, i, "directory", shown, err);
        if (r < 0)
                return r;
        struct stat st;
        if (lstat(full, &st) < 0) {
                if (errno != ENOENT)
                        return ps_error_errno(err, errno, "cannot stat %s", shown);
                p->it[i].act = ACT_CREATED;
                return 0;
        }
        if (!S_ISDIR(st.st_mode))
                return ps_error_set(err, ENOTDIR, "%s exists and is not a directory%s", shown,
                                    S_ISLNK(st.st_mode) ? " (a symbolic link); refusing to follow it" : "");
        if (st.st_uid != uid || !gid_known || st.st_gid != gid || (st.st_mode & 07777) != mode)
                p->it[i].act = ACT_CHANGED;
        else
                p->it[i].act = ACT_UNCHANGED;
        return 0;
}

static int plan_sigstore(plan *p, ps_error *err)
{
        const char *sd = p->ctx->conf.sigstore_dir;
        _cleanup_free_ char *hk = host_path(sd, "keys");
        _cleanup_free_ char *hs = host_path(sd, "sigstore");
        _cleanup_free_ char *hi = host_path(sd, "index.html");
        if (!hk || !hs || !hi)
                return ps_error_set(err, ENOMEM, "out of memory");
        p->sigdir = ps_root_path(p->root, sd);
        p->keys = ps_root_path(p->root, hk);
        p->sigs = ps_root_path(p->root, hs);
        p->index = ps_root_path(p->root, hi);
        if (!p->sigdir || !p->keys || !p->sigs || !p->index)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r;
        if ((r = plan_dir(p, IT_SIGDIR, p->sigdir, sd, 0, 0, true, 0755, err)) < 0 ||
            (r = plan_dir(p, IT_KEYS, p->keys, hk, 0, p->gid_dev, p->have_dev, 0775, err)) < 0 ||
            (r = plan_dir(p, IT_SIGS, p->sigs, hs, 0, p->gid_dev, p->have_dev, 0775, err)) < 0)
                return r;
        if ((r = set_item(p, IT_INDEX, "file", hi, err)) < 0)
                return r;
        struct stat st;
        if (lstat(p->index, &st) < 0) {
                if (errno != ENOENT)
                        return ps_error_errno(err, errno, "cannot stat %s", hi);
                p->index_write = true;
                p->it[IT_INDEX].act = ACT_CREATED;
                return 0;
        }
        if (!S_ISREG(st.st_mode))
                return ps_error_set(err, EINVAL, "%s exists and is not a regular file%s", hi,
                                    S_ISLNK(st.st_mode) ? " (a symbolic link); refusing to follow it" : "");
        if (!ps_same_content(p->index, index_html, strlen(index_html))) {
                p->index_write = true;
                p->it[IT_INDEX].act = ACT_CHANGED;
        } else if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0644) {
                p->it[IT_INDEX].act = ACT_CHANGED;
        }
        return 0;
}

static int dated_setup(plan *p, dated_file *f, const char *hostdir, const char *name, const char *dprefix,
                       const char *bprefix, ps_error *err)
{
        f->dir = ps_root_path(p->root, hostdir);
        if (!f->dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        f->d = (ps_dated){ .dir = f->dir, .name = name, .dated_prefix = dprefix, .backup_prefix = bprefix,
                           .mode = 0644 };
        return 0;
}

static int want_install(dated_file *f, const char *data, size_t len, ps_error *err)
{
        f->data = malloc(len + 1);
        if (!f->data)
                return ps_error_set(err, ENOMEM, "out of memory");
        memcpy(f->data, data, len);
        f->data[len] = '\0';
        f->len = len;
        f->install = true;
        return 0;
}

static int plan_policy(plan *p, bool reset, ps_error *err)
{
        const char *hp = "/etc/containers/policy.json";
        int r;
        if ((r = set_item(p, IT_POLICY, "file", hp, err)) < 0 ||
            (r = dated_setup(p, &p->policy, "/etc/containers", "policy.json", "policy_", "policy_", err)) < 0)
                return r;
        _cleanup_free_ char *full = ps_path_join(p->policy.dir, "policy.json");
        if (!full)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_(current_clear) current c;
        if ((r = read_current(p->root, full, hp, &c, err)) < 0)
                return r;
        size_t ilen = strlen(initial_policy);
        if (c.state == CUR_MISSING) {
                p->it[IT_POLICY].act = ACT_CREATED;
                set_detail(p, IT_POLICY, "reject everything not explicitly allowed");
                return want_install(&p->policy, initial_policy, ilen, err);
        }
        if (c.state == CUR_DANGLING) {
                p->it[IT_POLICY].act = ACT_CREATED;
                set_detail(p, IT_POLICY, "was a dangling symbolic link to %s", c.link_target);
                return want_install(&p->policy, initial_policy, ilen, err);
        }
        policy_info info;
        if ((r = check_policy(hp, c.text, c.len, &info, err)) < 0)
                return r;
        if (c.len == ilen && !memcmp(c.text, initial_policy, ilen)) {
                p->it[IT_POLICY].act = ACT_UNCHANGED;
                return 0;
        }
        if (reset) {
                p->it[IT_POLICY].act = ACT_CHANGED;
                set_detail(p, IT_POLICY, "reset to reject-all (--reset-policy); %zu scope%s dropped%s",
                           info.docker_scopes + info.other_scopes,
                           info.docker_scopes + info.other_scopes == 1 ? "" : "s",
                           c.is_link ? "" : ", old file kept as a backup");
                return want_install(&p->policy, initial_policy, ilen, err);
        }
        if (info.default_reject) {
                p->it[IT_POLICY].act = ACT_UNCHANGED;
                set_detail(p, IT_POLICY, "kept existing policy with %zu scope%s", info.docker_scopes + info.other_scopes,
                           info.docker_scopes + info.other_scopes == 1 ? "" : "s");
                return 0;
        }
        if (info.docker_scopes > 0)
                return ps_error_set(err, EEXIST,
                                    "%s does not reject by default but has %zu docker scope%s; not replacing it, "
                                    "so as not to lose them: give --reset-policy to replace it with the reject-all "
                                    "policy (the old file is kept)", hp, info.docker_scopes,
                                    info.docker_scopes == 1 ? "" : "s");
        /* A permissive policy without docker scopes: the distribution's
         * stock file.  Replace it (it is kept as a backup). */
        p->it[IT_POLICY].act = ACT_CHANGED;
        set_detail(p, IT_POLICY, "replaced a policy that does not reject by default and has no docker scopes%s",
                   c.is_link ? "" : "; old file kept as a backup");
        return want_install(&p->policy, initial_policy, ilen, err);
}

static int plan_regd(plan *p, ps_error *err)
{
        const char *hp = "/etc/containers/registries.d/default.yaml";
        int r;
        if ((r = set_item(p, IT_REGD, "file", hp, err)) < 0 ||
            (r = dated_setup(p, &p->regd, "/etc/containers/registries.d", "default.yaml", "default_",
                             "default.yaml.", err)) < 0)
                return r;
        const char *url = p->ctx->conf.sigstore_url;
        _cleanup_free_ char *want = NULL;
        if (asprintf(&want, "default-docker:\n  lookaside: %s\n  sigstore: %s\n", url, url) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *full = ps_path_join(p->regd.dir, "default.yaml");
        if (!full)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_(current_clear) current c;
        if ((r = read_current(p->root, full, hp, &c, err)) < 0)
                return r;
        size_t wl = strlen(want);
        if (c.state == CUR_PRESENT) {
                if ((r = check_yaml(hp, c.text, c.len, err)) < 0)
                        return r;
                if (c.len == wl && !memcmp(c.text, want, wl)) {
                        p->it[IT_REGD].act = ACT_UNCHANGED;
                        return 0;
                }
                p->it[IT_REGD].act = ACT_CHANGED;
                set_detail(p, IT_REGD, "lookaside %s%s", url, c.is_link ? "" : "; old file kept as a backup");
        } else {
                p->it[IT_REGD].act = ACT_CREATED;
                set_detail(p, IT_REGD, "lookaside %s", url);
        }
        return want_install(&p->regd, want, wl, err);
}

static int plan_regconf(plan *p, ps_error *err)
{
        const char *hp = "/etc/containers/registries.conf";
        int r;
        if ((r = set_item(p, IT_REGCONF, "file", hp, err)) < 0 ||
            (r = dated_setup(p, &p->regconf, "/etc/containers", "registries.conf", "registries_",
                             "registries.conf.", err)) < 0)
                return r;
        _cleanup_free_ char *full = ps_path_join(p->regconf.dir, "registries.conf");
        if (!full)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_(current_clear) current c;
        if ((r = read_current(p->root, full, hp, &c, err)) < 0)
                return r;
        _cleanup_free_ char *out = NULL;
        size_t olen = 0;
        const char *reg = p->ctx->conf.registry;
        r = ps_regconf_add_insecure(c.state == CUR_PRESENT ? c.text : NULL, c.state == CUR_PRESENT ? c.len : 0, hp,
                                    reg, &out, &olen, err);
        if (r < 0)
                return r;
        if (r == 0) {
                p->it[IT_REGCONF].act = ACT_UNCHANGED;
                set_detail(p, IT_REGCONF, "%s already insecure (plain HTTP)", reg);
                return 0;
        }
        p->it[IT_REGCONF].act = c.state == CUR_PRESENT ? ACT_CHANGED : ACT_CREATED;
        set_detail(p, IT_REGCONF, "[[registry]] %s, insecure (plain HTTP)%s", reg,
                   c.state == CUR_PRESENT && !c.is_link ? "; old file kept as a backup" : "");
        return want_install(&p->regconf, out, olen, err);
}

/* ---------- applying ---------- */

static int apply_group(plan *p, int i, const char *name, gid_t *gid, bool *have, ps_error *err)
{
        bool created = false;
        int r = ps_groupadd(p->root, name, true, &created, err);
        if (r < 0)
                return r;
        p->it[i].act = created ? ACT_CREATED : ACT_UNCHANGED;
        r = ps_root_getgrnam(p->root, name, gid, err);
        if (r < 0)
                return r;
        if (r == 0)
                return ps_error_set(err, ENOENT, "group %s is missing after groupadd", name);
        *have = true;
        return 0;
}

static int apply_dir(plan *p, int i, const char *full, gid_t gid, mode_t mode, ps_error *err)
{
        struct stat st;
        bool existed = lstat(full, &st) == 0;
        if (existed && !S_ISDIR(st.st_mode))
                return ps_error_set(err, ENOTDIR, "%s exists and is not a directory", p->it[i].name);
        int r = ps_mkdir_p(full, mode, err);
        if (r < 0)
                return r;
        bool changed = false;
        r = ps_set_owner_mode(full, 0, gid, mode, &changed, err);
        if (r < 0)
                return r;
        p->it[i].act = !existed ? ACT_CREATED : changed ? ACT_CHANGED : ACT_UNCHANGED;
        return 0;
}

static int apply_live_sysctl(plan *p, ps_error *err)
{
        _cleanup_close_ int fd = open(sysctl_proc, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open %s", sysctl_proc);
        if (write(fd, "1\n", 2) != 2)
                return ps_error_errno(err, errno, "cannot write %s", sysctl_proc);
        return 0;
}

static int apply_dated(dated_file *f, time_t now, int item_index, plan *p, ps_error *err)
{
        int r = ps_mkdir_p(f->dir, 0755, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *target = NULL;
        r = ps_dated_install(&f->d, now, f->data, f->len, &target, err);
        if (r < 0)
                return r;
        const char *old = p->it[item_index].detail;
        set_detail(p, item_index, "%s%slink to %s", old ? old : "", old ? "; " : "", target);
        return 0;
}

static int apply(plan *p, ps_error *err)
{
        const ps_conf *c = &p->ctx->conf;
        int r;
        /* 1. groups (the directories below are owned by podman_dev) */
        if ((r = apply_group(p, IT_GROUP_USER, c->group_user, &p->gid_user, &p->have_user, err)) < 0)
                return r;
        p->it[IT_GROUP_USER].done = true;
        if ((r = apply_group(p, IT_GROUP_DEV, c->group_dev, &p->gid_dev, &p->have_dev, err)) < 0)
                return r;
        p->it[IT_GROUP_DEV].done = true;

        /* 2. sysctl drop-in, then the running kernel (host only) */
        if (p->sysctl_write) {
                _cleanup_free_ char *dir = ps_root_path(p->root, "/etc/sysctl.d");
                if (!dir)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if ((r = ps_mkdir_p(dir, 0755, err)) < 0 ||
                    (r = ps_write_atomic(p->sysctl_path, sysctl_text, strlen(sysctl_text), 0644, err)) < 0)
                        return r;
        }
        p->it[IT_SYSCTL_FILE].done = true;
        if (p->live_apply) {
                ps_error e2 = PS_ERROR_INIT;
                if (apply_live_sysctl(p, &e2) < 0) {
                        /* not fatal: the drop-in applies at the next boot */
                        p->it[IT_SYSCTL_LIVE].act = ACT_SKIPPED;
                        set_detail(p, IT_SYSCTL_LIVE, "not applied now (%s); the drop-in applies at boot",
                                   ps_error_msg(&e2));
                        ps_error_clear(&e2);
                }
        }
        p->it[IT_SYSCTL_LIVE].done = true;

        /* 3. name resolution */
        if (p->hosts_write) {
                _cleanup_free_ char *dir = ps_root_path(p->root, "/etc");
                if (!dir)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if ((r = ps_mkdir_p(dir, 0755, err)) < 0 ||
                    (r = ps_write_atomic(p->hosts_path, p->hosts_data, p->hosts_len, p->hosts_mode, err)) < 0)
                        return r;
        }
        p->it[IT_HOSTS].done = true;

        /* 4. the signature store skeleton */
        if ((r = apply_dir(p, IT_SIGDIR, p->sigdir, 0, 0755, err)) < 0)
                return r;
        p->it[IT_SIGDIR].done = true;
        if ((r = apply_dir(p, IT_KEYS, p->keys, p->gid_dev, 0775, err)) < 0)
                return r;
        p->it[IT_KEYS].done = true;
        if ((r = apply_dir(p, IT_SIGS, p->sigs, p->gid_dev, 0775, err)) < 0)
                return r;
        p->it[IT_SIGS].done = true;
        if (p->index_write && (r = ps_write_atomic(p->index, index_html, strlen(index_html), 0644, err)) < 0)
                return r;
        if ((r = ps_set_owner_mode(p->index, 0, 0, 0644, NULL, err)) < 0)
                return r;
        p->it[IT_INDEX].done = true;

        /* 5. policy, lookaside, registries: each new dated file is complete
         * before its link is switched */
        if (p->policy.install && (r = apply_dated(&p->policy, p->now, IT_POLICY, p, err)) < 0)
                return r;
        p->it[IT_POLICY].done = true;
        if (p->regd.install && (r = apply_dated(&p->regd, p->now, IT_REGD, p, err)) < 0)
                return r;
        p->it[IT_REGD].done = true;
        if (p->regconf.install && (r = apply_dated(&p->regconf, p->now, IT_REGCONF, p, err)) < 0)
                return r;
        p->it[IT_REGCONF].done = true;
        return 0;
}

/* ---------- output ---------- */

static void report_human(plan *p, bool dry_run, bool failed)
{
        unsigned counts[4] = { 0 };
        for (int i = 0; i < IT_COUNT; i++) {
                item *t = &p->it[i];
                if (!t->present || (failed && !t->done))
                        continue;
                counts[t->act]++;
                const char *a = dry_run ? act_plan_name(t->act) : _(act_name(t->act));
                fprintf(stderr, "  %-13s %s %s%s%s\n", a, t->kind, t->name, t->detail ? ": " : "",
                        t->detail ? t->detail : "");
        }
        if (failed) {
                fprintf(stderr, _("%s: stopped after the changes above; every file is either old or new: fix the "
                                  "problem and run again\n"), p->ctx->prog);
                return;
        }
        if (dry_run)
                fprintf(stderr, _("%s: dry run: %u to create, %u to change, %u unchanged; nothing was changed\n"),
                        p->ctx->prog, counts[ACT_CREATED], counts[ACT_CHANGED], counts[ACT_UNCHANGED]);
        else if (counts[ACT_CREATED] + counts[ACT_CHANGED] == 0)
                fprintf(stderr, _("%s: nothing to change: registry node %s is already set up\n"), p->ctx->prog,
                        p->ip);
        else
                fprintf(stderr, _("%s: registry node %s: %u created, %u changed, %u unchanged\n"), p->ctx->prog,
                        p->ip, counts[ACT_CREATED], counts[ACT_CHANGED], counts[ACT_UNCHANGED]);
}

static void report_json(plan *p, bool dry_run, const char *error)
{
        json_t *items = json_array();
        json_t *o = json_object();
        if (!items || !o) {
                json_decref(items);
                json_decref(o);
                return;
        }
        bool changed = false;
        for (int i = 0; i < IT_COUNT; i++) {
                item *t = &p->it[i];
                if (!t->present || (error && !t->done))
                        continue;
                if (t->act == ACT_CREATED || t->act == ACT_CHANGED)
                        changed = true;
                json_t *e = json_pack("{s:s,s:s,s:s}", "kind", t->kind, "name", t->name, "action",
                                      act_name(t->act));
                if (e && t->detail)
                        json_object_set_new(e, "detail", json_string(t->detail));
                if (e)
                        json_array_append_new(items, e);
        }
        json_object_set_new(o, "ip", json_string(p->ip));
        json_object_set_new(o, "role", json_string("registry"));
        json_object_set_new(o, "root", p->root ? json_string(p->root) : json_null());
        json_object_set_new(o, "dry_run", json_boolean(dry_run));
        json_object_set_new(o, "changed", json_boolean(changed && !dry_run));
        if (error)
                json_object_set_new(o, "error", json_string(error));
        json_object_set_new(o, "items", items);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
                printf("%s\n", s);
        free(s);
        json_decref(o);
}

static void usage(FILE *f, const char *prog, bool orig)
{
        fprintf(f, _("Usage: %s%s IP\n\n"), prog,
                orig ? "" : " [--registry-node|--client-node] [--replace-hosts] [--reset-policy]");
        fputs(_("Prepare this node for signed container images, with IP the address of the\n"
                "registry node (which runs registry.local and sigstore.local).\n\n"
                "On the registry node (IP is one of this host's interface addresses):\n"
                "  - groups podman and podman_dev (system groups);\n"
                "  - /etc/sysctl.d/99-podman.conf: kernel.unprivileged_userns_clone = 1 (also\n"
                "    applied to the running kernel when it has that setting; never with --root);\n"
                "  - /etc/hosts: \"IP registry.local sigstore.local trivy.local\";\n"
                "  - /var/sigstore (root:root 0755) with keys/ and sigstore/ (root:podman_dev\n"
                "    0775) and index.html;\n"
                "  - /etc/containers/policy.json: reject everything not explicitly allowed;\n"
                "  - /etc/containers/registries.d/default.yaml: signatures are read from\n"
                "    http://sigstore.local:81/sigstore/;\n"
                "  - /etc/containers/registries.conf: registry.local is reached over plain HTTP.\n"
                "The three files in /etc/containers are symbolic links to dated files\n"
                "(policy_DATE, default_DATE, registries_DATE); a regular file found in their place\n"
                "is kept as policy_YESTERDAY, default.yaml.YESTERDAY or\n"
                "registries.conf.YESTERDAY.  Names, groups and URLs come from the site settings\n"
                "(/etc/podsec/podsec.conf).\n\n"
                "Only what differs is changed: running it again with the same IP changes nothing.\n"
                "A summary goes to stderr; with the global --json option an object on stdout\n"
                "lists every item with its kind, name, action (created, changed, unchanged,\n"
                "skipped) and detail.\n"
                "Existing files are checked first; if one cannot be read or parsed, nothing is\n"
                "changed.  An existing policy.json that rejects by default is kept as it is,\n"
                "with its image-maker scopes; one that accepts by default and has no docker\n"
                "scopes (a distribution's stock file) is replaced; one that accepts by default\n"
                "and has docker scopes is refused unless --reset-policy is given.\n\n"
                "On a client node (IP is not an address of this host) the keys and the policy\n"
                "are to be fetched from the signature server: not implemented yet, so the\n"
                "command stops with exit status 4 before changing anything.\n\n"
                "IP is an IPv4 address: four decimal numbers from 0 to 255 separated by '.',\n"
                "without signs, blanks or leading zeros (\"010\" is refused: some tools read it\n"
                "as octal 8).  Loopback (127.0.0.0/8), 0.0.0.0/8, multicast and reserved\n"
                "addresses are refused, and so is IPv6 (not supported).\n\n"), f);
        if (!orig)
                fputs(_("Options:\n"
                        "  --registry-node   act as the registry node even if IP is not an address of\n"
                        "                    this host (image builders, tests)\n"
                        "  --client-node     act as a client node even if IP is an address of this host\n"
                        "  --replace-hosts   rebind the names in /etc/hosts when a line binds them to\n"
                        "                    another address (otherwise that is refused)\n"
                        "  --reset-policy    replace an existing policy.json that differs from the\n"
                        "                    initial reject-all policy (dropping its scopes; the old\n"
                        "                    file stays on disk)\n"
                        "  -h, --help        this help\n"
                        "Global options such as --root DIR, --dry-run and --json go before 'policy'.\n\n"),
                      f);
        else
                fputs(_("Under this name the root tree is taken from the environment variable\n"
                        "PODSEC_ROOT (default /); 'podsec policy init --help' lists more options.\n\n"), f);
        fputs(_("Exit status:\n"
                "  0  done, or nothing to change\n"
                "  1  usage error (no IP, more than one, unknown option), unusable address\n"
                "     (loopback, 0.0.0.0, ...), not run as root, or an existing file refused\n"
                "     (unreadable, invalid, conflicting /etc/hosts binding); nothing changed\n"
                "  2  IP does not have four '.'-separated fields, or is IPv6; nothing changed\n"
                "  3  a field of IP is not a decimal number from 0 to 255; nothing changed\n"
                "  4  client node: not implemented yet; nothing changed\n"
                "  5  failed while changing the system: the changes made are listed; each file\n"
                "     is either old or new; fix the cause and run again\n"), f);
}

PS_CMD(cmd_policy_init)
{
        enum { O_REGISTRY = 256, O_CLIENT, O_REPLACE_HOSTS, O_RESET_POLICY };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "registry-node", no_argument, NULL, O_REGISTRY },
                { "client-node", no_argument, NULL, O_CLIENT },
                { "replace-hosts", no_argument, NULL, O_REPLACE_HOSTS },
                { "reset-policy", no_argument, NULL, O_RESET_POLICY },
                { 0 },
        };
        /* under the original name, argv[0] is a path: show the name */
        bool orig = strcmp(ctx->prog, "podsec") != 0;
        const char *prog = orig ? ctx->prog : argv[0];
        int role = -1;          /* -1 detect, 0 client, 1 registry */
        bool replace_hosts = false, reset_policy = false;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (o) {
                case 'h':
                        usage(stdout, prog, orig);
                        return EXIT_OK;
                case O_REGISTRY:
                case O_CLIENT:
                        if (role != -1 && role != (o == O_REGISTRY)) {
                                ps_err(ctx, _("--registry-node and --client-node exclude each other"));
                                return EXIT_REFUSED;
                        }
                        role = o == O_REGISTRY;
                        break;
                case O_REPLACE_HOSTS: replace_hosts = true; break;
                case O_RESET_POLICY: reset_policy = true; break;
                default:
                        fprintf(stderr, _("Usage: %s [OPTIONS] IP   (see --help)\n"), prog);
                        return EXIT_REFUSED;
                }
        }
        int nargs = argc - optind;
        if (nargs == 0) {
                ps_err(ctx, _("the IP address of the registry and signature server is missing"));
                fprintf(stderr, _("Usage: %s IP   (see --help)\n"), prog);
                return EXIT_REFUSED;
        }
        if (nargs > 1) {
                ps_err(ctx, _("only one IP address may be given, got %d arguments"), nargs);
                fprintf(stderr, _("Usage: %s IP   (see --help)\n"), prog);
                return EXIT_REFUSED;
        }

        ps_error err = PS_ERROR_INIT;
        const char *ip_text = argv[optind];
        struct in_addr addr;
        ps_ip_class cls;
        if (ps_ipv4_parse(ip_text, &addr, &cls, &err) < 0)
                return ps_fail(ctx, &err, cls == PS_IP_VALID ? EXIT_REFUSED : (int)cls);
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &addr, ip, sizeof ip);

        bool forced = role != -1;
        if (role == -1) {
                int r = ps_ipv4_is_local(&addr, &err);
                if (r < 0) {
                        ps_error_wrap(&err, "cannot tell whether %s is an address of this host "
                                      "(give --registry-node or --client-node)", ip);
                        return ps_fail(ctx, &err, EXIT_REFUSED);
                }
                role = r;
        }
        if (role == 0) {
                if (forced)
                        ps_err(ctx, _("--client-node given: this is a client node"));
                else
                        ps_err(ctx, _("%s is not one of this host's addresses: this is a client node (give "
                                      "--registry-node to override)"), ip);
                ps_err(ctx, _("client-node setup: fetching keys and policy from %s is not implemented yet; "
                              "nothing was changed"), ctx->conf.keys_url);
                return EXIT_CLIENT;
        }
        if (!ctx->dry_run && geteuid() != 0) {
                ps_err(ctx, _("must be run as root (it creates groups and changes files owned by root); "
                              "nothing was changed"));
                return EXIT_REFUSED;
        }

        plan p = { .ctx = ctx, .root = ctx->root, .ip = ip, .now = time(NULL) };
        int r = split_names(ctx->conf.hosts_names, &p.names, &err);
        if (r == 0)
                r = plan_groups(&p, &err);
        if (r == 0)
                r = plan_sysctl(&p, &err);
        if (r == 0)
                r = plan_hosts(&p, replace_hosts, &err);
        if (r == 0)
                r = plan_sigstore(&p, &err);
        if (r == 0)
                r = plan_policy(&p, reset_policy, &err);
        if (r == 0)
                r = plan_regd(&p, &err);
        if (r == 0)
                r = plan_regconf(&p, &err);
        if (r < 0) {
                ps_err(ctx, _("%s; nothing was changed"), ps_error_msg(&err));
                ps_error_clear(&err);
                plan_free(&p);
                return EXIT_REFUSED;
        }

        if (ctx->dry_run) {
                fprintf(stderr, _("%s: registry node %s (dry run)\n"), ctx->prog, ip);
                report_human(&p, true, false);
                if (ctx->json)
                        report_json(&p, true, NULL);
                plan_free(&p);
                return EXIT_OK;
        }

        r = apply(&p, &err);
        if (r < 0) {
                ps_err(ctx, "%s", ps_error_msg(&err));
                report_human(&p, false, true);
                if (ctx->json)
                        report_json(&p, false, ps_error_msg(&err));
                ps_error_clear(&err);
                plan_free(&p);
                return EXIT_FAILED;
        }
        report_human(&p, false, false);
        if (ctx->json)
                report_json(&p, false, NULL);
        unsigned n = 0;
        for (int i = 0; i < IT_COUNT; i++)
                if (p.it[i].present && (p.it[i].act == ACT_CREATED || p.it[i].act == ACT_CHANGED))
                        n++;
        if (n > 0 && ps_log_target_in_use() != PS_LOG_STDERR)
                ps_log(LOG_NOTICE, "policy init: registry node %s%s%s: %u item%s created or changed", ip,
                       p.root ? " under " : "", p.root ? p.root : "", n, n == 1 ? "" : "s");
        plan_free(&p);
        return EXIT_OK;
}

PS_CMD(cmd_policy_sync)
{
        if (ps_wants_help(argc, argv)) {
                printf(_("Usage: %s\n\nClient node: refresh the keys and the policy from the signature server.\n"
                         "Not implemented yet.\n"), argv[0]);
                return 0;
        }
        ps_err(ctx, _("policy sync: client-node sync (fetching keys and policy from %s) is not implemented yet"),
               ctx->conf.keys_url);
        return 4;
}
