/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec policy init (= podsec-create-policy), policy sync and policy sign.
 *
 * policy init works in three phases:
 *   1. arguments: the IP address and the node's role; refused early;
 *   2. plan: every managed item is read and validated and its action
 *      (create, change, keep, remove) decided; on a client node the keys
 *      and the policy are downloaded into memory and validated here (and
 *      their signature checked when a trust key is configured); anything
 *      wrong is refused here, before a single change (D7);
 *   3. apply, in an order where each intermediate state is consistent:
 *      groups, sysctl, /etc/hosts, the /var/sigstore tree, the published or
 *      downloaded key files, policy.json, registries.d/default.yaml,
 *      registries.conf, then (client) keys the server no longer lists and
 *      the sync state.  Every file is replaced atomically (ps_write_atomic /
 *      ps_dated_install), so a crash leaves each one old or new, and
 *      running again finishes the job.
 *
 * policy sync is the client part of policy init alone (keys, policy, trust
 * key, state); policy sign signs the registry node's published keys
 * directory (keysync.h describes the signature). */
#include "cmd.h"
#include "accounts.h"
#include "cleanup.h"
#include "fetch.h"
#include "fs.h"
#include "gpg.h"
#include "hosts.h"
#include "ipaddr.h"
#include "keysync.h"
#include "log.h"
#include "policy.h"
#include "registries.h"
#include "users.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The signature store on a registry node (see plan_sigstore: W4). */
#define KEYS_MODE 0755
#define SIGS_MODE (S_ISGID | S_ISVTX | 0775)

/* Exit codes of policy init, sync and sign (documented in --help). */
enum {
        EXIT_OK = 0,
        EXIT_REFUSED = 1,     /* usage, unusable address, existing configuration or server content refused */
        EXIT_NOT_QUAD = 2,    /* = PS_IP_NOT_QUAD */
        EXIT_BAD_FIELD = 3,   /* = PS_IP_BAD_FIELD */
        EXIT_FAILED = 5,      /* failed while changing the system */
        EXIT_UNREACHABLE = 6, /* client: no usable answer from the signature server */
};

/* where a client node keeps the trust key and what it installed */
#define TRUST_KEY_PATH "/etc/podsec/policy-signer.pgp"
#define STATE_PATH "/var/lib/podsec/policy-sync.json"

#define MAX_CONFIG_FILE (16u << 20)
#define N_(s) s

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

enum act { ACT_UNCHANGED, ACT_CREATED, ACT_CHANGED, ACT_SKIPPED, ACT_REMOVED, ACT_COUNT };

static const char *act_name(enum act a)
{
        switch (a) {
        case ACT_CREATED: return "created";
        case ACT_CHANGED: return "changed";
        case ACT_SKIPPED: return "skipped";
        case ACT_REMOVED: return "removed";
        default: return "unchanged";
        }
}

static const char *act_plan_name(enum act a)
{
        switch (a) {
        case ACT_CREATED: return _("would create");
        case ACT_CHANGED: return _("would change");
        case ACT_SKIPPED: return _("would skip");
        case ACT_REMOVED: return _("would remove");
        default: return _("unchanged");
        }
}

/* Fixed items; a client's key files are added after IT_COUNT and shown
 * right after IT_KEYS. */
enum {
        IT_GROUP_USER, IT_GROUP_DEV, IT_SYSCTL_FILE, IT_SYSCTL_LIVE, IT_HOSTS,
        IT_SIGDIR, IT_KEYS, IT_SIGS, IT_INDEX, IT_TRUST, IT_PUBPOL, IT_PUBSIG,
        IT_POLICY, IT_REGD, IT_REGCONF, IT_STATE, IT_COUNT
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

/* A file in SIGSTORE_DIR/keys: a client's downloaded key, policy.json or
 * policy.json.sig, or a key to remove. */
typedef struct keyfile {
        size_t item;          /* index into plan.it */
        char *name;
        char *full;           /* root-prefixed path */
        const ps_ks_file *src;/* wanted content; NULL: remove */
        bool write;           /* content missing or different */
        bool fix;             /* owner or mode to correct */
} keyfile;

typedef struct plan {
        ps_ctx *ctx;
        const char *root;
        const char *ip;
        time_t now;
        bool client;          /* client node (init) or sync */
        bool sync;            /* policy sync: only the distributed files */
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
        char *policy_text;    /* the system policy that stays (registry node) */
        size_t policy_len;

        /* registry node: the published copy of the policy and its signature */
        char *pubpol_path, *pubsig_path;
        bool pubpol_write, pubpol_fix, pubsig_write;
        void *pubsig_data;
        size_t pubsig_len;

        /* client node */
        char *keys_host;      /* SIGSTORE_DIR/keys as on the node */
        ps_ks_set set;        /* what the signature server offers */
        keyfile *kf;
        size_t nkf;
        char *trust_path;     /* ROOT + TRUST_KEY_PATH */
        char *trust_data;     /* the trust key in use, or NULL */
        size_t trust_len;
        bool trust_write;
        char *signer;         /* fingerprint of the verified policy signer */
        int64_t sig_time;
        char *state_path;     /* ROOT + STATE_PATH */
        char *state_text;
        bool state_write;

        item *it;             /* IT_COUNT fixed items, then key files */
        size_t nit;
} plan;

static int plan_init(plan *p, ps_error *err)
{
        p->it = calloc(IT_COUNT, sizeof *p->it);
        if (!p->it)
                return ps_error_set(err, ENOMEM, "out of memory");
        p->nit = IT_COUNT;
        return 0;
}

/* Append an item; returns its index or -ENOMEM. */
static long add_item(plan *p)
{
        item *n = realloc(p->it, (p->nit + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        p->it = n;
        memset(&p->it[p->nit], 0, sizeof *p->it);
        return (long)p->nit++;
}

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
        free(p->policy_text);
        free(p->pubpol_path);
        free(p->pubsig_path);
        free(p->pubsig_data);
        free(p->keys_host);
        ps_ks_set_clear(&p->set);
        for (size_t i = 0; i < p->nkf; i++) {
                free(p->kf[i].name);
                free(p->kf[i].full);
        }
        free(p->kf);
        free(p->trust_path);
        free(p->trust_data);
        free(p->signer);
        free(p->state_path);
        free(p->state_text);
        for (size_t i = 0; p->it && i < p->nit; i++) {
                free(p->it[i].name);
                free(p->it[i].detail);
        }
        free(p->it);
}

static int set_item(plan *p, size_t i, const char *kind, const char *name, ps_error *err)
{
        p->it[i].kind = kind;
        p->it[i].present = true;
        free(p->it[i].name);
        p->it[i].name = strdup(name);
        if (!p->it[i].name)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static void set_detail(plan *p, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_detail(plan *p, size_t i, const char *fmt, ...)
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
        if (ps_read_file(sysctl_proc, 64, &v, NULL, NULL) == 0 && v[0] == '1' && (v[1] == '\n' || v[1] == '\0')) {
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
static int plan_dir(plan *p, size_t i, const char *full, const char *shown, uid_t uid, gid_t gid, bool gid_known,
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
        if (p->client) {
                /* keys/ is root:podman 0755 on a client: not group-writable,
                 * or any image user could swap a key the system trusts */
                if ((r = plan_dir(p, IT_SIGDIR, p->sigdir, sd, 0, 0, true, 0755, err)) < 0 ||
                    (r = plan_dir(p, IT_KEYS, p->keys, hk, 0, p->gid_user, p->have_user, 0755, err)) < 0)
                        return r;
                return 0;
        }
        /* W4: keys/ is written by root only (add-imagemaker, policy init and
         * sign), so it is not group-writable: a podman_dev member could
         * otherwise swap another maker's key.  sigstore/ must take every
         * maker's signatures: group-writable, setgid (new directories keep
         * the group) and sticky (nobody removes or renames what another
         * maker wrote). */
        if ((r = plan_dir(p, IT_SIGDIR, p->sigdir, sd, 0, 0, true, 0755, err)) < 0 ||
            (r = plan_dir(p, IT_KEYS, p->keys, hk, 0, p->gid_dev, p->have_dev, KEYS_MODE, err)) < 0 ||
            (r = plan_dir(p, IT_SIGS, p->sigs, hs, 0, p->gid_dev, p->have_dev, SIGS_MODE, err)) < 0)
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
                p->policy_text = steal_pointer(&c.text);
                p->policy_len = c.len;
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
                p->policy_text = steal_pointer(&c.text);
                p->policy_len = c.len;
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

/* ---------- registry node: the published policy and its signature ---------- */

static int plan_publish(plan *p, ps_error *err)
{
        const ps_conf *c = &p->ctx->conf;
        _cleanup_free_ char *hp = host_path(c->sigstore_dir, "keys/" PS_KEYSYNC_POLICY);
        _cleanup_free_ char *hs = host_path(c->sigstore_dir, "keys/" PS_KEYSYNC_SIG);
        _cleanup_free_ char *hk = host_path(c->sigstore_dir, "keys");
        if (!hp || !hs || !hk)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = set_item(p, IT_PUBPOL, "file", hp, err);
        if (r < 0)
                return r;
        p->pubpol_path = ps_path_join(p->keys, PS_KEYSYNC_POLICY);
        p->pubsig_path = ps_path_join(p->keys, PS_KEYSYNC_SIG);
        if (!p->pubpol_path || !p->pubsig_path)
                return ps_error_set(err, ENOMEM, "out of memory");
        const char *want = p->policy.install ? p->policy.data : p->policy_text;
        size_t wl = p->policy.install ? p->policy.len : p->policy_len;
        if (!want)
                return ps_error_set(err, EINVAL, "internal error: no system policy to publish");
        set_detail(p, IT_PUBPOL, "copy of the system policy, for client nodes");
        struct stat st;
        if (lstat(p->pubpol_path, &st) < 0) {
                if (errno != ENOENT)
                        return ps_error_errno(err, errno, "cannot stat %s", hp);
                p->it[IT_PUBPOL].act = ACT_CREATED;
                p->pubpol_write = true;
        } else if (!S_ISREG(st.st_mode)) {
                return ps_error_set(err, EINVAL, "%s exists and is not a regular file%s", hp,
                                    S_ISLNK(st.st_mode) ? " (a symbolic link); refusing to follow it" : "");
        } else if (!ps_same_content(p->pubpol_path, want, wl)) {
                p->it[IT_PUBPOL].act = ACT_CHANGED;
                p->pubpol_write = true;
        } else if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0644) {
                p->it[IT_PUBPOL].act = ACT_CHANGED;
                p->pubpol_fix = true;
        }

        if (!*c->policy_signing_key)
                return 0;
        if ((r = set_item(p, IT_PUBSIG, "file", hs, err)) < 0)
                return r;
        /* the keys directory as it will be after this run */
        ps_ks_set set = { 0 };
        r = ps_keysync_read_dir(p->keys, &set, err);
        if (r == -ENOENT) {
                ps_error_clear(err);
                r = 0;
        }
        bool had_sig = ps_ks_set_get(&set, PS_KEYSYNC_SIG) != NULL;
        if (r == 0)
                r = ps_ks_set_put(&set, PS_KEYSYNC_POLICY, want, wl, err);
        if (r == 0)
                r = ps_keysync_validate(&set, hk, err);
        ps_gpg_sign_opts o = { .key = c->policy_signing_key };
        bool is_current = false;
        if (r == 0)
                r = ps_keysync_sig_current(&set, &o, &is_current, err);
        if (r == 0 && is_current) {
                set_detail(p, IT_PUBSIG, "covers the published policy and keys");
        } else if (r == 0) {
                (void)ps_ks_set_remove(&set, PS_KEYSYNC_SIG);
                _cleanup_free_ char *fpr = NULL;
                r = ps_keysync_sign(&o, &set, &p->pubsig_data, &p->pubsig_len, &fpr, err);
                if (r == 0) {
                        p->pubsig_write = true;
                        p->it[IT_PUBSIG].act = had_sig ? ACT_CHANGED : ACT_CREATED;
                        set_detail(p, IT_PUBSIG, "signed by %s (policy and %zu key%s)", fpr, set.n - 1,
                                   set.n == 2 ? "" : "s");
                }
        }
        ps_ks_set_clear(&set);
        if (r < 0)
                return ps_error_wrap(err, "cannot sign the published policy with %s (site setting "
                                     "policy_signing_key)", c->policy_signing_key);
        return 0;
}

/* ---------- client node: keys and policy from the signature server ---------- */

typedef struct sync_state {
        bool exists;
        char **files;         /* names podsec installed in SIGSTORE_DIR/keys */
        char *ip;
        char *keys_url;
        bool have_time;
        int64_t sig_time;
} sync_state;

static void sync_state_clear(sync_state *s)
{
        ps_strv_free(s->files);
        free(s->ip);
        free(s->keys_url);
        memset(s, 0, sizeof *s);
}

/* ROOT/var/lib/podsec/policy-sync.json, written by the last client-node run */
static int read_state(const char *root, sync_state *st, ps_error *err)
{
        memset(st, 0, sizeof *st);
        _cleanup_free_ char *path = ps_root_path(root, STATE_PATH);
        if (!path)
                return ps_error_set(err, ENOMEM, "out of memory");
        struct stat sb;
        if (lstat(path, &sb) < 0) {
                if (errno == ENOENT)
                        return 0;
                return ps_error_errno(err, errno, "cannot stat %s", STATE_PATH);
        }
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = ps_read_file(path, 1 << 20, &text, &len, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot read %s", STATE_PATH);
        json_error_t je;
        json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        const char *why = NULL;
        json_t *files = o ? json_object_get(o, "files") : NULL;
        json_t *t = o ? json_object_get(o, "signature_time") : NULL;
        if (!o)
                why = je.text;
        else if (!json_is_array(files) || !json_is_string(json_object_get(o, "registry_ip")) ||
                 !json_is_string(json_object_get(o, "keys_url")) || (t && !json_is_integer(t)))
                why = "expected \"keys_url\", \"registry_ip\" and \"files\"";
        if (!why) {
                st->files = calloc(json_array_size(files) + 1, sizeof *st->files);
                st->ip = strdup(json_string_value(json_object_get(o, "registry_ip")));
                st->keys_url = strdup(json_string_value(json_object_get(o, "keys_url")));
                if (!st->files || !st->ip || !st->keys_url) {
                        json_decref(o);
                        sync_state_clear(st);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                size_t i;
                json_t *e;
                json_array_foreach(files, i, e) {
                        const char *n = json_string_value(e);
                        if (!n || ps_keysync_name_check(n, NULL, NULL) < 0) {
                                why = "a name in \"files\" is not a plain key, policy or signature file name";
                                break;
                        }
                        if (!(st->files[i] = strdup(n))) {
                                json_decref(o);
                                sync_state_clear(st);
                                return ps_error_set(err, ENOMEM, "out of memory");
                        }
                }
                struct in_addr a;
                if (!why && !ps_ipv4_syntax(st->ip, &a))
                        why = "\"registry_ip\" is not an IPv4 address";
        }
        if (t && !why) {
                st->have_time = true;
                st->sig_time = (int64_t)json_integer_value(t);
        }
        json_decref(o);
        if (why) {
                sync_state_clear(st);
                return ps_error_set(err, EINVAL, "%s is damaged (%s): remove it and run 'podsec policy init "
                                    "--client-node IP' again", STATE_PATH, why);
        }
        st->exists = true;
        return 0;
}

/* host (malloc'd) and port of an http:// or https:// URL */
static int url_host_port(const char *url, char **host, unsigned *port)
{
        const char *s = strstr(url, "://");
        if (!s)
                return -EINVAL;
        bool tls = !strncasecmp(url, "https", 5);
        s += 3;
        size_t n = strcspn(s, "/?#");
        const char *at = memrchr(s, '@', n);
        if (at) {
                n -= (size_t)(at + 1 - s);
                s = at + 1;
        }
        if (n == 0 || s[0] == '[')
                return -EINVAL;
        const char *colon = memchr(s, ':', n);
        *port = tls ? 443 : 80;
        size_t hl = n;
        if (colon) {
                hl = (size_t)(colon - s);
                char *end = NULL;
                unsigned long v = strtoul(colon + 1, &end, 10);
                if (end != s + n || v == 0 || v > 65535)
                        return -EINVAL;
                *port = (unsigned)v;
        }
        *host = strndup(s, hl);
        return *host ? 0 : -ENOMEM;
}

/* When keys_url names one of the hosts_names, fetch from the registry
 * node's IP without asking the resolver: the node's own /etc/hosts may not
 * have the binding yet (first run, or --root). */
static int resolve_entries(plan *p, char ***out, ps_error *err)
{
        *out = calloc(2, sizeof **out);
        if (!*out)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *host = NULL;
        unsigned port = 0;
        if (url_host_port(p->ctx->conf.keys_url, &host, &port) < 0)
                return 0;
        for (char **n = p->names; *n; n++) {
                if (strcasecmp(*n, host))
                        continue;
                if (asprintf(&(*out)[0], "%s:%u:%s", host, port, p->ip) < 0) {
                        (*out)[0] = NULL;
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                break;
        }
        return 0;
}

static int read_small(const char *path, const char *shown, char **data, size_t *len, ps_error *err)
{
        int r = ps_read_file(path, PS_KEYSYNC_KEY_MAX, data, len, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot read %s", shown);
        return 0;
}

static char *fpr_list(char **fprs)
{
        char *s = strdup("");
        for (char **f = fprs; s && f && *f; f++) {
                char *n = NULL;
                if (asprintf(&n, "%s%s%s", s, *s ? ", " : "", *f) < 0)
                        n = NULL;
                free(s);
                s = n;
        }
        return s;
}

static int plan_trust(plan *p, const char *trust_arg, ps_error *err)
{
        p->trust_path = ps_root_path(p->root, TRUST_KEY_PATH);
        if (!p->trust_path)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *stored = NULL;
        size_t slen = 0;
        struct stat st;
        bool have_stored = false;
        if (lstat(p->trust_path, &st) == 0) {
                if (!S_ISREG(st.st_mode))
                        return ps_error_set(err, EINVAL, "%s is not a regular file", TRUST_KEY_PATH);
                int r = read_small(p->trust_path, TRUST_KEY_PATH, &stored, &slen, err);
                if (r < 0)
                        return r;
                have_stored = true;
        } else if (errno != ENOENT) {
                return ps_error_errno(err, errno, "cannot stat %s", TRUST_KEY_PATH);
        }
        if (!trust_arg && !have_stored)
                return 0;
        int r = set_item(p, IT_TRUST, "file", TRUST_KEY_PATH, err);
        if (r < 0)
                return r;
        if (trust_arg) {
                if ((r = read_small(trust_arg, trust_arg, &p->trust_data, &p->trust_len, err)) < 0)
                        return ps_error_wrap(err, "--trust-key");
        } else {
                p->trust_data = steal_pointer(&stored);
                p->trust_len = slen;
        }
        _cleanup_strv_ char **fprs = NULL;
        r = ps_gpg_key_data_fingerprints(p->trust_data, p->trust_len, trust_arg ? trust_arg : TRUST_KEY_PATH, &fprs,
                                         err);
        if (r < 0)
                return ps_error_wrap(err, trust_arg ? "--trust-key %s is not an OpenPGP public key file"
                                                    : "the stored policy trust key %s is not usable (give a new "
                                                      "one with --trust-key FILE)",
                                     trust_arg ? trust_arg : TRUST_KEY_PATH);
        _cleanup_free_ char *list = fpr_list(fprs);
        if (!list)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (trust_arg && (!have_stored || slen != p->trust_len || memcmp(stored, p->trust_data, slen))) {
                p->trust_write = true;
                p->it[IT_TRUST].act = have_stored ? ACT_CHANGED : ACT_CREATED;
        } else if (trust_arg && (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0644)) {
                p->trust_write = true;
                p->it[IT_TRUST].act = ACT_CHANGED;
        }
        set_detail(p, IT_TRUST, "policy signer %s", list);
        return 0;
}

static int push_keyfile(plan *p, keyfile *k, ps_error *err)
{
        keyfile *n = realloc(p->kf, (p->nkf + 1) * sizeof *n);
        if (!n)
                return ps_error_set(err, ENOMEM, "out of memory");
        p->kf = n;
        p->kf[p->nkf++] = *k;
        return 0;
}

/* One file of SIGSTORE_DIR/keys: install SRC, or remove NAME (SRC NULL). */
static int plan_keyfile(plan *p, const char *name, const ps_ks_file *src, ps_error *err)
{
        keyfile k = { .src = src };
        k.name = strdup(name);
        k.full = ps_path_join(p->keys, name);
        _cleanup_free_ char *shown = ps_path_join(p->keys_host, name);
        if (!k.name || !k.full || !shown) {
                free(k.name);
                free(k.full);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        enum act act = ACT_UNCHANGED;
        struct stat st;
        int r = 0;
        if (lstat(k.full, &st) < 0) {
                if (errno != ENOENT)
                        r = ps_error_errno(err, errno, "cannot stat %s", shown);
                else if (!src)
                        goto skip;   /* nothing to remove */
                else {
                        act = ACT_CREATED;
                        k.write = true;
                }
        } else if (S_ISLNK(st.st_mode)) {
                act = src ? ACT_CHANGED : ACT_REMOVED;
                k.write = src != NULL;
        } else if (!S_ISREG(st.st_mode)) {
                r = ps_error_set(err, EINVAL, "%s exists and is not a regular file", shown);
        } else if (!src) {
                act = ACT_REMOVED;
        } else if (!ps_same_content(k.full, src->data, src->len)) {
                act = ACT_CHANGED;
                k.write = true;
        } else if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0644) {
                act = ACT_CHANGED;
                k.fix = true;
        }
        if (r < 0)
                goto skip;
        long idx;
        if (src && src->kind == PS_KS_POLICY)
                idx = IT_PUBPOL;
        else if (src && src->kind == PS_KS_SIG)
                idx = IT_PUBSIG;
        else if ((idx = add_item(p)) < 0) {
                r = ps_error_set(err, ENOMEM, "out of memory");
                goto skip;
        }
        k.item = (size_t)idx;
        if ((r = set_item(p, k.item, "file", shown, err)) < 0)
                goto skip;
        p->it[k.item].act = act;
        if (!src) {
                set_detail(p, k.item, "no longer published by the signature server");
        } else if (src->kind == PS_KS_KEY) {
                _cleanup_free_ char *list = fpr_list(src->fprs);
                set_detail(p, k.item, "key %s", list ? list : "?");
        } else if (src->kind == PS_KS_POLICY) {
                set_detail(p, k.item, "the distributed policy");
        } else {
                set_detail(p, k.item, p->signer ? "signature by %s" : "signature%s",
                           p->signer ? p->signer : " (not checked: no trust key)");
        }
        return push_keyfile(p, &k, err);
skip:
        free(k.name);
        free(k.full);
        return r;
}

static int plan_client_policy(plan *p, ps_error *err)
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
        const ps_ks_file *pf = ps_ks_set_get(&p->set, PS_KEYSYNC_POLICY);
        if (c.state == CUR_PRESENT && c.len == pf->len && !memcmp(c.text, pf->data, pf->len)) {
                p->it[IT_POLICY].act = ACT_UNCHANGED;
                set_detail(p, IT_POLICY, "the signature server's policy");
                return 0;
        }
        p->it[IT_POLICY].act = c.state == CUR_PRESENT ? ACT_CHANGED : ACT_CREATED;
        set_detail(p, IT_POLICY, "the signature server's policy%s%s%s",
                   c.state == CUR_DANGLING ? "; was a dangling symbolic link to " : "",
                   c.state == CUR_DANGLING ? c.link_target : "",
                   c.state == CUR_PRESENT && !c.is_link ? "; old file kept as a backup" : "");
        return want_install(&p->policy, pf->data, pf->len, err);
}

static int plan_state(plan *p, ps_error *err)
{
        int r = set_item(p, IT_STATE, "file", STATE_PATH, err);
        if (r < 0)
                return r;
        p->state_path = ps_root_path(p->root, STATE_PATH);
        json_t *files = json_array();
        json_t *o = json_object();
        if (!p->state_path || !files || !o) {
                json_decref(files);
                json_decref(o);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < p->set.n; i++)
                json_array_append_new(files, json_string(p->set.files[i].name));
        json_object_set_new(o, "keys_url", json_string(p->ctx->conf.keys_url));
        json_object_set_new(o, "registry_ip", json_string(p->ip));
        json_object_set_new(o, "files", files);
        if (p->signer) {
                json_object_set_new(o, "signer", json_string(p->signer));
                json_object_set_new(o, "signature_time", json_integer((json_int_t)p->sig_time));
        }
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!text || asprintf(&p->state_text, "%s\n", text) < 0) {
                free(text);
                p->state_text = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        free(text);
        set_detail(p, IT_STATE, "what podsec installed from %s", p->ctx->conf.keys_url);
        struct stat st;
        if (lstat(p->state_path, &st) < 0) {
                p->it[IT_STATE].act = ACT_CREATED;
                p->state_write = true;
        } else if (!ps_same_content(p->state_path, p->state_text, strlen(p->state_text))) {
                p->it[IT_STATE].act = ACT_CHANGED;
                p->state_write = true;
        }
        return 0;
}

static void fmt_time(int64_t t, char buf[static 64])
{
        time_t tt = (time_t)t;
        struct tm tm;
        if (gmtime_r(&tt, &tm))
                strftime(buf, 64, "%Y-%m-%d %H:%M:%S UTC", &tm);
        else
                snprintf(buf, 64, "%" PRId64, t);
}

/* Fetch, validate and plan everything a client node takes from the
 * signature server.  *code is the exit status to use on failure. */
static int plan_distribution(plan *p, const sync_state *old, const char *trust_arg, bool allow_rollback,
                             int *code, ps_error *err)
{
        const ps_conf *c = &p->ctx->conf;
        *code = EXIT_REFUSED;
        p->keys_host = host_path(c->sigstore_dir, "keys");
        if (!p->keys_host)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = plan_trust(p, trust_arg, err);
        if (r < 0)
                return r;

        _cleanup_strv_ char **resolve = NULL;
        if ((r = resolve_entries(p, &resolve, err)) < 0)
                return r;
        ps_fetch_opts fo = { .resolve = (const char *const *)resolve };
        r = ps_keysync_fetch(c->keys_url, &fo, &p->set, err);
        if (r < 0) {
                if (ps_fetch_unreachable(r)) {
                        *code = EXIT_UNREACHABLE;
                        return ps_error_wrap(err, "cannot get the keys and the policy from the signature server "
                                             "%s (registry node %s)", c->keys_url, p->ip);
                }
                return ps_error_wrap(err, "refusing what the signature server %s offers", c->keys_url);
        }
        /* with a trust key, the signature first: nothing unauthenticated is
         * looked at more closely than needed */
        if (p->trust_data) {
                ps_ks_verified v;
                r = ps_keysync_verify(&p->set, p->trust_data, p->trust_len, trust_arg ? trust_arg : TRUST_KEY_PATH,
                                      &v, err);
                if (r < 0)
                        return ps_error_wrap(err, "refusing what the signature server %s offers: the signature "
                                             "check with the trusted key failed", c->keys_url);
                p->signer = steal_pointer(&v.fingerprint);
                p->sig_time = v.sig_time;
                ps_ks_verified_clear(&v);
                if (old->have_time && p->sig_time < old->sig_time && !allow_rollback) {
                        char a[64], b[64];
                        fmt_time(p->sig_time, a);
                        fmt_time(old->sig_time, b);
                        return ps_error_set(err, ESTALE,
                                            "refusing what the signature server %s offers: its policy was signed at "
                                            "%s, before the one installed here (signed at %s); an old signed policy "
                                            "can be replayed by anyone on the path: give --allow-rollback if this "
                                            "is intended", c->keys_url, a, b);
                }
        } else {
                ps_err(p->ctx, _("warning: the keys and the policy from %s are not authenticated (plain download, "
                                 "no signature check): whoever controls the network or that server decides what "
                                 "this node trusts; see --trust-key in --help"), c->keys_url);
        }
        if ((r = ps_keysync_validate(&p->set, p->keys_host, err)) < 0)
                return ps_error_wrap(err, "refusing what the signature server %s offers", c->keys_url);

        for (size_t i = 0; i < p->set.n; i++)
                if ((r = plan_keyfile(p, p->set.files[i].name, &p->set.files[i], err)) < 0)
                        return r;
        for (char **n = old->files; n && *n; n++)
                if (!ps_ks_set_get(&p->set, *n) && (r = plan_keyfile(p, *n, NULL, err)) < 0)
                        return r;
        if ((r = plan_client_policy(p, err)) < 0 || (r = plan_state(p, err)) < 0)
                return r;
        return 0;
}

/* ---------- applying ---------- */

static int apply_group(plan *p, size_t i, const char *name, gid_t *gid, bool *have, ps_error *err)
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

static int apply_dir(plan *p, size_t i, const char *full, gid_t gid, mode_t mode, ps_error *err)
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

static int apply_dated(dated_file *f, time_t now, size_t item_index, plan *p, ps_error *err)
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

/* Write one file of SIGSTORE_DIR/keys: root:root 0644 (nginx on the
 * registry node and every user on a client read it). */
static int apply_keyfile(plan *p, keyfile *k, ps_error *err)
{
        int r;
        if (!k->src) {
                if (unlink(k->full) < 0 && errno != ENOENT)
                        return ps_error_errno(err, errno, "cannot remove %s", p->it[k->item].name);
                ps_fault_point();
                return 0;
        }
        if (k->write && (r = ps_write_atomic(k->full, k->src->data, k->src->len, 0644, err)) < 0)
                return r;
        if ((k->write || k->fix) && (r = ps_set_owner_mode(k->full, 0, 0, 0644, NULL, err)) < 0)
                return r;
        return 0;
}

static int apply_state(plan *p, ps_error *err)
{
        _cleanup_free_ char *dir = ps_root_path(p->root, "/var/lib/podsec");
        if (!dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = ps_mkdir_p(dir, 0755, err);
        if (r < 0)
                return r;
        return ps_write_atomic(p->state_path, p->state_text, strlen(p->state_text), 0644, err);
}

static int apply(plan *p, ps_error *err)
{
        const ps_conf *c = &p->ctx->conf;
        int r;
        /* 1. groups (the directories below are owned by them) */
        if (p->it[IT_GROUP_USER].present) {
                if ((r = apply_group(p, IT_GROUP_USER, c->group_user, &p->gid_user, &p->have_user, err)) < 0)
                        return r;
                p->it[IT_GROUP_USER].done = true;
        }
        if (p->it[IT_GROUP_DEV].present) {
                if ((r = apply_group(p, IT_GROUP_DEV, c->group_dev, &p->gid_dev, &p->have_dev, err)) < 0)
                        return r;
                p->it[IT_GROUP_DEV].done = true;
        }

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
        gid_t keys_gid = p->client ? p->gid_user : p->gid_dev;
        mode_t keys_mode = KEYS_MODE;
        if (p->it[IT_SIGDIR].present) {
                if ((r = apply_dir(p, IT_SIGDIR, p->sigdir, 0, 0755, err)) < 0)
                        return r;
                p->it[IT_SIGDIR].done = true;
        }
        if (p->it[IT_KEYS].present) {
                if ((r = apply_dir(p, IT_KEYS, p->keys, keys_gid, keys_mode, err)) < 0)
                        return r;
                p->it[IT_KEYS].done = true;
        }
        if (p->it[IT_SIGS].present) {
                if ((r = apply_dir(p, IT_SIGS, p->sigs, p->gid_dev, SIGS_MODE, err)) < 0)
                        return r;
                p->it[IT_SIGS].done = true;
        }
        if (p->it[IT_INDEX].present) {
                if (p->index_write && (r = ps_write_atomic(p->index, index_html, strlen(index_html), 0644, err)) < 0)
                        return r;
                if ((r = ps_set_owner_mode(p->index, 0, 0, 0644, NULL, err)) < 0)
                        return r;
                p->it[IT_INDEX].done = true;
        }

        /* 5. client: the trust key, then every new or changed key file (so
         * that the new policy never names a key that is not there yet) */
        if (p->trust_write) {
                _cleanup_free_ char *dir = ps_root_path(p->root, "/etc/podsec");
                if (!dir)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if ((r = ps_mkdir_p(dir, 0755, err)) < 0 ||
                    (r = ps_write_atomic(p->trust_path, p->trust_data, p->trust_len, 0644, err)) < 0)
                        return r;
        }
        if (p->it[IT_TRUST].present)
                p->it[IT_TRUST].done = true;
        for (size_t i = 0; i < p->nkf; i++) {
                keyfile *k = &p->kf[i];
                if (!k->src)
                        continue;
                if ((r = apply_keyfile(p, k, err)) < 0)
                        return r;
                p->it[k->item].done = true;
        }

        /* 6. policy, lookaside, registries: each new dated file is complete
         * before its link is switched */
        if (p->policy.install && (r = apply_dated(&p->policy, p->now, IT_POLICY, p, err)) < 0)
                return r;
        p->it[IT_POLICY].done = true;

        /* registry node: the copy for client nodes, then its signature */
        if (p->pubpol_write) {
                if ((r = ps_write_atomic(p->pubpol_path, p->policy.install ? p->policy.data : p->policy_text,
                                         p->policy.install ? p->policy.len : p->policy_len, 0644, err)) < 0)
                        return r;
        }
        if ((p->pubpol_write || p->pubpol_fix) && (r = ps_set_owner_mode(p->pubpol_path, 0, 0, 0644, NULL, err)) < 0)
                return r;
        if (p->it[IT_PUBPOL].present && !p->client)
                p->it[IT_PUBPOL].done = true;
        if (p->pubsig_write) {
                if ((r = ps_write_atomic(p->pubsig_path, p->pubsig_data, p->pubsig_len, 0644, err)) < 0 ||
                    (r = ps_set_owner_mode(p->pubsig_path, 0, 0, 0644, NULL, err)) < 0)
                        return r;
        }
        if (p->it[IT_PUBSIG].present && !p->client)
                p->it[IT_PUBSIG].done = true;

        if (p->regd.install && (r = apply_dated(&p->regd, p->now, IT_REGD, p, err)) < 0)
                return r;
        p->it[IT_REGD].done = true;
        if (p->regconf.install && (r = apply_dated(&p->regconf, p->now, IT_REGCONF, p, err)) < 0)
                return r;
        p->it[IT_REGCONF].done = true;

        /* 7. client: keys the server no longer lists (the new policy cannot
         * name them), then the record of what is installed */
        for (size_t i = 0; i < p->nkf; i++) {
                keyfile *k = &p->kf[i];
                if (k->src)
                        continue;
                if ((r = apply_keyfile(p, k, err)) < 0)
                        return r;
                p->it[k->item].done = true;
        }
        if (p->state_write && (r = apply_state(p, err)) < 0)
                return r;
        p->it[IT_STATE].done = true;
        return 0;
}

/* ---------- output ---------- */

/* display order: the fixed items, a client's key files right after the
 * keys directory */
static size_t *display_order(const plan *p)
{
        size_t *o = malloc(p->nit * sizeof *o), n = 0;
        if (!o)
                return NULL;
        for (size_t i = 0; i < IT_COUNT; i++) {
                o[n++] = i;
                if (i == IT_KEYS)
                        for (size_t k = IT_COUNT; k < p->nit; k++)
                                o[n++] = k;
        }
        return o;
}

static void report_human(plan *p, bool dry_run, bool failed)
{
        unsigned counts[ACT_COUNT] = { 0 };
        _cleanup_free_ size_t *order = display_order(p);
        for (size_t j = 0; order && j < p->nit; j++) {
                item *t = &p->it[order[j]];
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
        const char *what = p->client ? _("client node of") : _("registry node");
        if (dry_run)
                fprintf(stderr, _("%s: dry run: %u to create, %u to change, %u to remove, %u unchanged; nothing was "
                                  "changed\n"), p->ctx->prog, counts[ACT_CREATED], counts[ACT_CHANGED],
                        counts[ACT_REMOVED], counts[ACT_UNCHANGED]);
        else if (counts[ACT_CREATED] + counts[ACT_CHANGED] + counts[ACT_REMOVED] == 0 && p->client)
                fprintf(stderr, _("%s: nothing to change: the keys and the policy are those of %s\n"), p->ctx->prog,
                        p->ctx->conf.keys_url);
        else if (counts[ACT_CREATED] + counts[ACT_CHANGED] + counts[ACT_REMOVED] == 0)
                fprintf(stderr, _("%s: nothing to change: registry node %s is already set up\n"), p->ctx->prog,
                        p->ip);
        else
                fprintf(stderr, _("%s: %s %s: %u created, %u changed, %u removed, %u unchanged\n"), p->ctx->prog,
                        what, p->ip, counts[ACT_CREATED], counts[ACT_CHANGED], counts[ACT_REMOVED],
                        counts[ACT_UNCHANGED]);
}

static void report_json(plan *p, bool dry_run, const char *error)
{
        json_t *items = json_array();
        json_t *o = json_object();
        _cleanup_free_ size_t *order = display_order(p);
        if (!items || !o || !order) {
                json_decref(items);
                json_decref(o);
                return;
        }
        bool changed = false;
        for (size_t j = 0; j < p->nit; j++) {
                item *t = &p->it[order[j]];
                if (!t->present || (error && !t->done))
                        continue;
                if (t->act == ACT_CREATED || t->act == ACT_CHANGED || t->act == ACT_REMOVED)
                        changed = true;
                json_t *e = json_pack("{s:s,s:s,s:s}", "kind", t->kind, "name", t->name, "action",
                                      act_name(t->act));
                if (e && t->detail)
                        json_object_set_new(e, "detail", json_string(t->detail));
                if (e)
                        json_array_append_new(items, e);
        }
        json_object_set_new(o, "ip", json_string(p->ip));
        json_object_set_new(o, "role", json_string(p->client ? "client" : "registry"));
        if (p->sync)
                json_object_set_new(o, "command", json_string("sync"));
        json_object_set_new(o, "root", p->root ? json_string(p->root) : json_null());
        if (p->client) {
                json_object_set_new(o, "keys_url", json_string(p->ctx->conf.keys_url));
                json_object_set_new(o, "authenticated", json_boolean(p->signer != NULL));
                if (p->signer) {
                        json_object_set_new(o, "signer", json_string(p->signer));
                        json_object_set_new(o, "signature_time", json_integer((json_int_t)p->sig_time));
                }
        }
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

static void report_error_json(ps_ctx *ctx, const char *command, const char *error, int code)
{
        json_t *o = json_pack("{s:s,s:s,s:i,s:b}", "command", command, "error", error, "exit", code, "changed", 0);
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (s)
                printf("%s\n", s);
        free(s);
        json_decref(o);
}

static const char exit_table[] =
        N_("Exit status:\n"
           "  0  done, or nothing to change\n"
           "  1  usage error (no IP, more than one, unknown option), unusable address\n"
           "     (loopback, 0.0.0.0, ...), not run as root, an existing file refused\n"
           "     (unreadable, invalid, conflicting /etc/hosts binding), or on a client\n"
           "     node what the signature server offers refused (a bad file name, a key\n"
           "     that is not OpenPGP, a policy that does not parse or names a key that is\n"
           "     not published, a file over its size limit, a missing or bad signature,\n"
           "     an older signed policy); nothing changed\n"
           "  2  IP does not have four '.'-separated fields, or is IPv6; nothing changed\n"
           "  3  a field of IP is not a decimal number from 0 to 255; nothing changed\n"
           "  5  failed while changing the system: the changes made are listed; each file\n"
           "     is either old or new; fix the cause and run again\n"
           "  6  client node: no usable answer from the signature server (connection\n"
           "     refused, timeout, name not resolved, HTTP error status); nothing changed\n");

static void usage(FILE *f, const char *prog, bool orig)
{
        fprintf(f, _("Usage: %s%s IP\n\n"), prog,
                orig ? "" : " [--registry-node|--client-node] [--replace-hosts] [--reset-policy]\n"
                            "         [--trust-key FILE] [--allow-rollback]");
        fputs(_("Prepare this node for signed container images, with IP the address of the\n"
                "registry node (which runs registry.local and sigstore.local).\n\n"
                "On every node:\n"
                "  - groups podman and podman_dev (system groups);\n"
                "  - /etc/sysctl.d/99-podman.conf: kernel.unprivileged_userns_clone = 1 (also\n"
                "    applied to the running kernel when it has that setting; never with --root);\n"
                "  - /etc/hosts: \"IP registry.local sigstore.local trivy.local\";\n"
                "  - /etc/containers/registries.d/default.yaml: signatures are read from\n"
                "    http://sigstore.local:81/sigstore/;\n"
                "  - /etc/containers/registries.conf: registry.local is reached over plain HTTP.\n\n"
                "On the registry node (IP is one of this host's interface addresses):\n"
                "  - /var/sigstore (root:root 0755) with index.html, keys/ (root:podman_dev\n"
                "    0755: written by root only; the original's 0775 let any podman_dev member\n"
                "    swap another image maker's key) and sigstore/ (root:podman_dev 3775:\n"
                "    every image maker writes signatures; setgid keeps the group on new\n"
                "    directories, the sticky bit stops one maker from removing or renaming\n"
                "    what another wrote);\n"
                "  - /etc/containers/policy.json: reject everything not explicitly allowed;\n"
                "  - /var/sigstore/keys/policy.json: a copy of the system policy for client\n"
                "    nodes (so that a client set up before the first image maker gets the\n"
                "    reject-all policy rather than nothing);\n"
                "  - /var/sigstore/keys/policy.json.sig when the site setting\n"
                "    policy_signing_key names a key in root's GnuPG keyring ($GNUPGHOME or\n"
                "    ~/.gnupg): re-made whenever it no longer covers the published files (see\n"
                "    'podsec policy sign --help').\n"
                "An existing policy.json that rejects by default is kept as it is, with its\n"
                "image-maker scopes; one that accepts by default and has no docker scopes (a\n"
                "distribution's stock file) is replaced; one that accepts by default and has\n"
                "docker scopes is refused unless --reset-policy is given.\n\n"
                "On a client node (IP is not an address of this host):\n"
                "  - /var/sigstore (root:root 0755) with keys/ (root:podman 0755: unlike the\n"
                "    original's 0775, not writable by group podman, whose members could\n"
                "    otherwise replace a key that the system policy trusts);\n"
                "  - the listing of keys_url (default http://sigstore.local:81/keys/, an nginx\n"
                "    JSON autoindex; when its host is one of the bound names it is reached at\n"
                "    IP directly) and every file it lists are downloaded into memory and\n"
                "    checked before anything is changed: names must be plain (letters,\n"
                "    digits, '.', '_', '-'; no leading '.'; at most 255 bytes) and be\n"
                "    NAME.pgp, policy.json or policy.json.sig; every key must be an OpenPGP\n"
                "    public key; policy.json must parse strictly and each keyPath/keyPaths\n"
                "    must be /var/sigstore/keys/NAME.pgp for a key in the listing; at most\n"
                "    1000 files, keys and signature 1 MiB each, the policy 4 MiB, 64 MiB in\n"
                "    all, a 10 s connect and 60 s transfer timeout; redirects only to http(s);\n"
                "  - then the files are written to /var/sigstore/keys (root 0644), the policy\n"
                "    becomes /etc/containers/policy.json (dated file), keys podsec installed\n"
                "    earlier that the server no longer lists are removed (other files there\n"
                "    are left alone), and /var/lib/podsec/policy-sync.json records what was\n"
                "    installed.  Any refusal leaves the node exactly as it was.\n"
                "  - 'podsec policy sync' repeats this part later.\n\n"
                "Trusting the distributed policy: the download is plain HTTP, so by default\n"
                "whoever controls the network or the server decides what a client trusts (a\n"
                "warning says so).  With --trust-key FILE (an OpenPGP public key handed over\n"
                "out of band, e.g. 'gpg --export FPR' on the registry node) the client\n"
                "requires policy.json.sig, made with that key by 'podsec policy sign', to\n"
                "cover exactly the policy and the keys it downloads, and refuses an older\n"
                "signature than the one installed (replay) unless --allow-rollback is given.\n"
                "FILE is kept as /etc/podsec/policy-signer.pgp; later runs and 'policy sync'\n"
                "use it without the option.\n\n"
                "Only what differs is changed: running it again with the same IP changes nothing.\n"
                "A summary goes to stderr; with the global --json option an object on stdout\n"
                "lists every item with its kind, name, action (created, changed, removed,\n"
                "unchanged, skipped) and detail.  Names, groups and URLs come from the site\n"
                "settings (/etc/podsec/podsec.conf).  The three files in /etc/containers are\n"
                "symbolic links to dated files (policy_DATE, default_DATE, registries_DATE);\n"
                "a regular file found in their place is kept as policy_YESTERDAY,\n"
                "default.yaml.YESTERDAY or registries.conf.YESTERDAY.\n\n"
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
                        "  --reset-policy    registry node: replace an existing policy.json that differs\n"
                        "                    from the initial reject-all policy (dropping its scopes;\n"
                        "                    the old file stays on disk)\n"
                        "  --trust-key FILE  client node: accept only a policy signed with this key\n"
                        "  --allow-rollback  client node: accept a signed policy older than the one\n"
                        "                    installed\n"
                        "  -h, --help        this help\n"
                        "Global options such as --root DIR, --dry-run and --json go before 'policy'.\n"
                        "With --dry-run a client node still downloads and checks everything.\n\n"),
                      f);
        else
                fputs(_("Under this name the root tree is taken from the environment variable\n"
                        "PODSEC_ROOT (default /); 'podsec policy init --help' lists more options.\n\n"), f);
        fputs(_(exit_table), f);
}

static int run_plan(ps_ctx *ctx, plan *p, const char *what)
{
        ps_error err = PS_ERROR_INIT;
        if (ctx->dry_run) {
                fprintf(stderr, _("%s: %s (dry run)\n"), ctx->prog, what);
                report_human(p, true, false);
                if (ctx->json)
                        report_json(p, true, NULL);
                return EXIT_OK;
        }
        int r = apply(p, &err);
        if (r < 0) {
                ps_err(ctx, "%s", ps_error_msg(&err));
                report_human(p, false, true);
                if (ctx->json)
                        report_json(p, false, ps_error_msg(&err));
                ps_error_clear(&err);
                return EXIT_FAILED;
        }
        report_human(p, false, false);
        if (ctx->json)
                report_json(p, false, NULL);
        unsigned n = 0;
        for (size_t i = 0; i < p->nit; i++)
                if (p->it[i].present &&
                    (p->it[i].act == ACT_CREATED || p->it[i].act == ACT_CHANGED || p->it[i].act == ACT_REMOVED))
                        n++;
        if (n > 0 && ps_log_target_in_use() != PS_LOG_STDERR)
                ps_log(LOG_NOTICE, "policy %s: %s%s%s: %u item%s created, changed or removed%s%s",
                       p->sync ? "sync" : "init", what, p->root ? " under " : "", p->root ? p->root : "", n,
                       n == 1 ? "" : "s", p->signer ? "; policy signed by " : "", p->signer ? p->signer : "");
        return EXIT_OK;
}

/* Refuse during planning: print, and the JSON object when asked. */
static int refuse(ps_ctx *ctx, const char *command, ps_error *err, int code)
{
        ps_err(ctx, _("%s; nothing was changed"), ps_error_msg(err));
        if (ctx->json)
                report_error_json(ctx, command, ps_error_msg(err), code);
        ps_error_clear(err);
        return code;
}

PS_CMD(cmd_policy_init)
{
        enum { O_REGISTRY = 256, O_CLIENT, O_REPLACE_HOSTS, O_RESET_POLICY, O_TRUST_KEY, O_ALLOW_ROLLBACK };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "registry-node", no_argument, NULL, O_REGISTRY },
                { "client-node", no_argument, NULL, O_CLIENT },
                { "replace-hosts", no_argument, NULL, O_REPLACE_HOSTS },
                { "reset-policy", no_argument, NULL, O_RESET_POLICY },
                { "trust-key", required_argument, NULL, O_TRUST_KEY },
                { "allow-rollback", no_argument, NULL, O_ALLOW_ROLLBACK },
                { 0 },
        };
        /* under the original name, argv[0] is a path: show the name */
        bool orig = strcmp(ctx->prog, "podsec") != 0;
        const char *prog = orig ? ctx->prog : argv[0];
        int role = -1;          /* -1 detect, 0 client, 1 registry */
        bool replace_hosts = false, reset_policy = false, allow_rollback = false;
        const char *trust_key = NULL;
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
                case O_TRUST_KEY: trust_key = optarg; break;
                case O_ALLOW_ROLLBACK: allow_rollback = true; break;
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
        if (role == 1 && (trust_key || allow_rollback)) {
                ps_err(ctx, _("--trust-key and --allow-rollback are for client nodes; %s is this host's address "
                              "(the registry node signs with 'podsec policy sign')"), ip);
                return EXIT_REFUSED;
        }
        if (role == 0 && reset_policy) {
                ps_err(ctx, _("--reset-policy is for the registry node: a client node takes its policy from the "
                              "signature server"));
                return EXIT_REFUSED;
        }
        if (role == 0 && !ctx->json)
                ps_info(ctx, forced ? _("%s: --client-node given: this is a client node of %s")
                                    : _("%s: %s is not one of this host's addresses: this is a client node "
                                        "(give --registry-node to override)"),
                        ctx->prog, ip);
        if (!ctx->dry_run && geteuid() != 0) {
                ps_err(ctx, _("must be run as root (it creates groups and changes files owned by root); "
                              "nothing was changed"));
                return EXIT_REFUSED;
        }

        plan p = { .ctx = ctx, .root = ctx->root, .ip = ip, .now = time(NULL), .client = role == 0 };
        sync_state old = { 0 };
        int code = EXIT_REFUSED;
        int r = plan_init(&p, &err);
        if (r == 0)
                r = split_names(ctx->conf.hosts_names, &p.names, &err);
        if (r == 0)
                r = plan_groups(&p, &err);
        if (r == 0)
                r = plan_sysctl(&p, &err);
        if (r == 0)
                r = plan_hosts(&p, replace_hosts, &err);
        if (r == 0)
                r = plan_sigstore(&p, &err);
        if (r == 0 && p.client) {
                r = read_state(p.root, &old, &err);
                if (r == 0)
                        r = plan_distribution(&p, &old, trust_key, allow_rollback, &code, &err);
        } else if (r == 0) {
                r = plan_policy(&p, reset_policy, &err);
                if (r == 0)
                        r = plan_publish(&p, &err);
        }
        if (r == 0)
                r = plan_regd(&p, &err);
        if (r == 0)
                r = plan_regconf(&p, &err);
        sync_state_clear(&old);
        if (r < 0) {
                plan_free(&p);
                return refuse(ctx, "init", &err, code);
        }
        char what[128];
        snprintf(what, sizeof what, "%s %s", p.client ? "client node of" : "registry node", ip);
        code = run_plan(ctx, &p, what);
        plan_free(&p);
        return code;
}

static void sync_usage(FILE *f, const char *prog)
{
        fprintf(f, _("Usage: %s [--trust-key FILE] [--allow-rollback]\n\n"), prog);
        fputs(_("Client node: fetch the keys and the policy from the signature server again\n"
                "(keys_url, reached at the registry node's address recorded by\n"
                "'podsec policy init'), check them exactly as 'policy init' does, and install\n"
                "what changed: new and changed keys, the policy (a new dated\n"
                "/etc/containers/policy.json), removal of keys podsec installed that the\n"
                "server no longer lists.  Nothing else (groups, hosts, registries) is touched.\n"
                "When nothing changed on the server, nothing changes here.  Any refusal\n"
                "leaves the node as it was.  With a trust key (given now or stored by an\n"
                "earlier run in /etc/podsec/policy-signer.pgp) the policy must carry a valid\n"
                "signature by it that covers the policy and every key.\n\n"
                "It refuses to run on the registry node (whose keys are its own) and on a\n"
                "node that 'podsec policy init IP' has not set up as a client.\n"
                "With the global --dry-run it downloads and checks everything and lists what\n"
                "would change; with --json it prints the same object as 'policy init'.\n\n"
                "Options:\n"
                "  --trust-key FILE  accept only a policy signed with this OpenPGP key (kept\n"
                "                    as /etc/podsec/policy-signer.pgp for later runs)\n"
                "  --allow-rollback  accept a signed policy older than the installed one\n"
                "  -h, --help        this help\n\n"
                "Exit status: 0 done or nothing to change; 1 refused (usage, not a client node,\n"
                "not root, what the server offers refused); 5 failed while changing (run it\n"
                "again); 6 no usable answer from the signature server.\n"), f);
}

PS_CMD(cmd_policy_sync)
{
        enum { O_TRUST_KEY = 256, O_ALLOW_ROLLBACK };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "trust-key", required_argument, NULL, O_TRUST_KEY },
                { "allow-rollback", no_argument, NULL, O_ALLOW_ROLLBACK },
                { 0 },
        };
        const char *trust_key = NULL;
        bool allow_rollback = false;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (o) {
                case 'h':
                        sync_usage(stdout, argv[0]);
                        return EXIT_OK;
                case O_TRUST_KEY: trust_key = optarg; break;
                case O_ALLOW_ROLLBACK: allow_rollback = true; break;
                default:
                        fprintf(stderr, _("Usage: %s [--trust-key FILE] [--allow-rollback]   (see --help)\n"), argv[0]);
                        return EXIT_REFUSED;
                }
        }
        if (optind < argc) {
                ps_err(ctx, _("policy sync takes no arguments (the registry node's address was recorded by "
                              "'podsec policy init IP'), got '%s'"), argv[optind]);
                return EXIT_REFUSED;
        }
        ps_error err = PS_ERROR_INIT;
        sync_state old = { 0 };
        if (read_state(ctx->root, &old, &err) < 0)
                return refuse(ctx, "sync", &err, EXIT_REFUSED);
        if (!old.exists) {
                _cleanup_free_ char *hs = host_path(ctx->conf.sigstore_dir, "sigstore");
                _cleanup_free_ char *full = hs ? ps_root_path(ctx->root, hs) : NULL;
                struct stat st;
                if (full && stat(full, &st) == 0 && S_ISDIR(st.st_mode))
                        ps_error_set(&err, EINVAL, "this is the registry node (%s exists): policy sync is for client "
                                     "nodes, which fetch what the registry node publishes in %s/keys", hs,
                                     ctx->conf.sigstore_dir);
                else
                        ps_error_set(&err, ENOENT, "this node is not set up as a client node (%s is missing): run "
                                     "'podsec policy init IP' with the registry node's address first", STATE_PATH);
                return refuse(ctx, "sync", &err, EXIT_REFUSED);
        }
        if (strcmp(old.keys_url, ctx->conf.keys_url) && !ctx->json)
                ps_info(ctx, _("%s: keys_url is now %s (the last run used %s)"), ctx->prog, ctx->conf.keys_url,
                        old.keys_url);
        if (!ctx->dry_run && geteuid() != 0) {
                sync_state_clear(&old);
                ps_err(ctx, _("must be run as root (it changes files owned by root); nothing was changed"));
                return EXIT_REFUSED;
        }
        plan p = { .ctx = ctx, .root = ctx->root, .ip = old.ip, .now = time(NULL), .client = true, .sync = true };
        int code = EXIT_REFUSED;
        int r = plan_init(&p, &err);
        if (r == 0)
                r = split_names(ctx->conf.hosts_names, &p.names, &err);
        if (r == 0) {
                _cleanup_free_ char *hk = host_path(ctx->conf.sigstore_dir, "keys");
                p.keys = hk ? ps_root_path(p.root, hk) : NULL;
                struct stat st;
                if (!p.keys)
                        r = ps_error_set(&err, ENOMEM, "out of memory");
                else if (stat(p.keys, &st) < 0 || !S_ISDIR(st.st_mode))
                        r = ps_error_set(&err, ENOENT, "%s is missing: run 'podsec policy init %s' again", hk,
                                         old.ip);
        }
        if (r == 0)
                r = plan_distribution(&p, &old, trust_key, allow_rollback, &code, &err);
        if (r < 0) {
                plan_free(&p);
                sync_state_clear(&old);
                return refuse(ctx, "sync", &err, code);
        }
        char what[128];
        snprintf(what, sizeof what, "client node of %s", old.ip);
        code = run_plan(ctx, &p, what);
        plan_free(&p);
        sync_state_clear(&old);
        return code;
}

/* ---------- policy sign ---------- */

static void sign_usage(FILE *f, const char *prog)
{
        fprintf(f, _("Usage: %s [--key KEY] [--gnupg-home DIR] [--passphrase-file FILE] [--force]\n\n"), prog);
        fputs(_("Registry node: sign what client nodes download from SIGSTORE_DIR/keys\n"
                "(/var/sigstore/keys), so that a client given the public key out of band\n"
                "('podsec policy init --trust-key FILE IP') can tell it is authentic.\n\n"
                "The directory is first checked as a client would check it (plain names;\n"
                "NAME.pgp OpenPGP keys, policy.json, policy.json.sig only; the policy parses\n"
                "strictly and names only keys that are there).  Then policy.json.sig is\n"
                "written (root 0644): a binary OpenPGP signed message, as 'gpg --sign' makes\n"
                "it (payload embedded, not armored), whose payload is a JSON manifest with\n"
                "the sha256 digest of policy.json and of every key file:\n"
                "  {\"files\": {\"NAME.pgp\": \"sha256:HEX\", \"policy.json\": \"sha256:HEX\"},\n"
                "   \"type\": \"podsec-policy-distribution\", \"version\": 1}\n"
                "A signature over policy.json alone would not do: the keys it names travel\n"
                "over the same plain HTTP.  Check it by hand with 'gpg --decrypt\n"
                "policy.json.sig' and sha256sum.  An existing signature that still covers\n"
                "the directory exactly is kept (unless --force).\n\n"
                "Sign again after every change of the keys or the policy ('podsec policy init'\n"
                "does it by itself when the site setting policy_signing_key is set); until\n"
                "then clients with a trust key refuse to update.\n\n"
                "Options:\n"
                "  --key KEY              the signing key: fingerprint (best), key id or e-mail;\n"
                "                         default: the site setting policy_signing_key\n"
                "  --gnupg-home DIR       GnuPG home with the secret key (default $GNUPGHOME,\n"
                "                         else ~/.gnupg)\n"
                "  --passphrase-file FILE the key's passphrase (one line); default: gpg-agent\n"
                "  --force                sign even if the signature is current\n"
                "  -h, --help             this help\n\n"
                "Give clients the public key: gpg --export FINGERPRINT > policy-signer.pgp\n\n"
                "Exit status: 0 signed or already current; 1 refused (no key given, the\n"
                "directory is missing or invalid, a client node, the key cannot sign, wrong\n"
                "passphrase); 5 the signature could not be written.\n"), f);
}

PS_CMD(cmd_policy_sign)
{
        enum { O_KEY = 256, O_HOME, O_PASS, O_FORCE };
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "key", required_argument, NULL, O_KEY },
                { "gnupg-home", required_argument, NULL, O_HOME },
                { "passphrase-file", required_argument, NULL, O_PASS },
                { "force", no_argument, NULL, O_FORCE },
                { 0 },
        };
        const char *key = NULL, *home = NULL, *passfile = NULL;
        bool force = false;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (o) {
                case 'h':
                        sign_usage(stdout, argv[0]);
                        return EXIT_OK;
                case O_KEY: key = optarg; break;
                case O_HOME: home = optarg; break;
                case O_PASS: passfile = optarg; break;
                case O_FORCE: force = true; break;
                default:
                        fprintf(stderr, _("Usage: %s [--key KEY] [--gnupg-home DIR] [--passphrase-file FILE] "
                                          "[--force]   (see --help)\n"), argv[0]);
                        return EXIT_REFUSED;
                }
        }
        ps_error err = PS_ERROR_INIT;
        if (optind < argc) {
                ps_error_set(&err, EINVAL, "policy sign takes no arguments, got '%s'", argv[optind]);
                return refuse(ctx, "sign", &err, EXIT_REFUSED);
        }
        if (!key || !*key)
                key = ctx->conf.policy_signing_key;
        if (!key || !*key) {
                ps_error_set(&err, EINVAL, "no signing key: give --key KEY or set policy_signing_key in %s",
                             ctx->conf.source ? ctx->conf.source : "/etc/podsec/podsec.conf");
                return refuse(ctx, "sign", &err, EXIT_REFUSED);
        }
        sync_state st;
        if (read_state(ctx->root, &st, &err) < 0)
                return refuse(ctx, "sign", &err, EXIT_REFUSED);
        bool client = st.exists;
        sync_state_clear(&st);
        if (client) {
                ps_error_set(&err, EINVAL, "this is a client node (%s exists): its keys come from the registry node, "
                             "which signs them", STATE_PATH);
                return refuse(ctx, "sign", &err, EXIT_REFUSED);
        }
        _cleanup_free_ char *hk = host_path(ctx->conf.sigstore_dir, "keys");
        _cleanup_free_ char *dir = hk ? ps_root_path(ctx->root, hk) : NULL;
        if (!dir)
                return ps_fail(ctx, &err, EXIT_FAILED);
        struct stat sb;
        if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
                ps_error_set(&err, ENOENT, "%s does not exist: run 'podsec policy init IP' on the registry node first",
                             hk);
                return refuse(ctx, "sign", &err, EXIT_REFUSED);
        }
        _cleanup_secret_ char *pass = NULL;
        if (passfile && ps_secret_read_file(passfile, "passphrase file", &pass, &err) < 0)
                return refuse(ctx, "sign", &err, EXIT_REFUSED);

        /* say so when the published copy is not the system policy */
        _cleanup_free_ char *sys = ps_root_path(ctx->root, "/etc/containers/policy.json");
        _cleanup_free_ char *pub = ps_path_join(dir, PS_KEYSYNC_POLICY);
        _cleanup_free_ char *systext = NULL;
        size_t syslen = 0;
        if (sys && pub && ps_read_file(sys, PS_POLICY_MAX_SIZE, &systext, &syslen, NULL) == 0 &&
            ps_file_exists(pub) && !ps_same_content(pub, systext, syslen) && !ctx->json)
                ps_info(ctx, _("%s: note: %s/%s differs from /etc/containers/policy.json; signing the published "
                               "copy as it is"), ctx->prog, hk, PS_KEYSYNC_POLICY);

        ps_gpg_sign_opts so = { .homedir = home, .key = key, .passphrase = pass };
        ps_ks_sign_result res;
        _cleanup_free_ char *sigpath = ps_path_join(dir, PS_KEYSYNC_SIG);
        bool existed = sigpath && ps_file_exists(sigpath);
        int r = ps_keysync_sign_dir(dir, hk, &so, force, ctx->dry_run, &res, &err);
        if (r < 0) {
                int code = res.written && !ctx->dry_run ? EXIT_FAILED : EXIT_REFUSED;
                ps_ks_sign_result_clear(&res);
                return refuse(ctx, "sign", &err, code);
        }
        const char *action = !res.written ? "unchanged" : existed ? "changed" : "created";
        if (ctx->json) {
                json_t *j = json_pack("{s:s,s:s,s:s,s:b,s:o,s:I}", "command", "sign", "path", hk, "action", action,
                                      "dry_run", ctx->dry_run, "fingerprint",
                                      res.fingerprint ? json_string(res.fingerprint) : json_null(), "keys",
                                      (json_int_t)res.n_keys);
                char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
                if (s)
                        printf("%s\n", s);
                free(s);
                json_decref(j);
        }
        if (!res.written)
                fprintf(stderr, _("%s: nothing to change: %s/%s already covers %s and %zu key%s\n"), ctx->prog, hk,
                        PS_KEYSYNC_SIG, PS_KEYSYNC_POLICY, res.n_keys, res.n_keys == 1 ? "" : "s");
        else
                fprintf(stderr, _("%s: %s %s/%s: %s and %zu key%s signed by %s\n"), ctx->prog,
                        ctx->dry_run ? _("would write") : _(action), hk, PS_KEYSYNC_SIG, PS_KEYSYNC_POLICY,
                        res.n_keys, res.n_keys == 1 ? "" : "s", res.fingerprint);
        if (res.written && !ctx->dry_run && ps_log_target_in_use() != PS_LOG_STDERR)
                ps_log(LOG_NOTICE, "policy sign: %s/%s signed by %s", hk, PS_KEYSYNC_SIG, res.fingerprint);
        ps_ks_sign_result_clear(&res);
        return EXIT_OK;
}
