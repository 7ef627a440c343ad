/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec check vuln (= podsec-inotify-check-vuln) and podsec check
 * build-image (= podsec-inotify-build-invulnerable-image), spec monitor §7:
 * scan images with a trivy server and refuse HIGH/CRITICAL vulnerabilities.
 *
 * Fixed against the original: trivy's JSON report is parsed (no scraping of
 * "Total:" lines, an empty report is not "vulnerabilities found"); every
 * image of a store is scanned (dangling ones too, by id) and each once;
 * per-user work runs as that user by argv (runuser), never through a shell
 * or a login session; images of local stores are exported with
 * "podman save" into a private directory and scanned with "trivy --input",
 * so no podman API socket has to be enabled; the mails carry the report;
 * "Fatal" is logged at priority 1 and "Low" at 5; check vuln is a Nagios
 * plugin (0 OK, 1 HIGH, 2 CRITICAL, 3 cannot scan). */
#include "cmd.h"
#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "nagios.h"
#include "process.h"
#include "trivy.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOTFUL_STORE "/var/lib/containers/storage"
#define USER_STORE ".local/share/containers/storage"
#define USERNETES_STORE ".local/share/usernetes/containers/storage"
#define IMAGES_JSON "overlay-images/images.json"
#define PS_VULN_MAIL_SUBJECT "Vulnerabilities found in image %s of user %s"

/* ---- options and targets ------------------------------------------------ */

typedef struct vopts {
        ps_ctx *ctx;
        const char *trivy, *podman, *sendmail, *mailto;
        char *server;           /* normalised URL */
        int verbosity;
        bool keep;              /* build-image: never remove */
} vopts;

typedef struct account {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;             /* host path */
        bool is_caller;         /* no user switch */
} account;

typedef struct target {
        const account *who;
        char *label;            /* what messages call the image */
        char *ref;              /* scan by name (trivy resolves it) or NULL */
        char *id;               /* export from local storage by id, or NULL */
        char *store;            /* podman --root STORE (usernetes), or NULL */
        /* result */
        int code;               /* 0 clean/minor, 3 failed, 4 HIGH, 5 CRITICAL */
        enum ps_trivy_verdict verdict;
        ps_trivy_report report;
        char *error;
} target;

typedef struct tlist {
        target *v;
        size_t n, cap;
        account *acc;
        size_t nacc, capacc;
} tlist;

static void tlist_free(tlist *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].label);
                free(l->v[i].ref);
                free(l->v[i].id);
                free(l->v[i].store);
                free(l->v[i].error);
                ps_trivy_report_free(&l->v[i].report);
        }
        free(l->v);
        for (size_t i = 0; i < l->nacc; i++) {
                free(l->acc[i].name);
                free(l->acc[i].home);
        }
        free(l->acc);
        memset(l, 0, sizeof *l);
}

static target *tlist_add(tlist *l)
{
        if (l->n == l->cap) {
                size_t nc = l->cap ? l->cap * 2 : 8;
                target *nv = realloc(l->v, nc * sizeof *nv);
                if (!nv)
                        return NULL;
                l->v = nv;
                l->cap = nc;
        }
        target *t = &l->v[l->n++];
        memset(t, 0, sizeof *t);
        return t;
}

/* Accounts are kept in a fixed array once targets point at them: reserve first. */
static int tlist_reserve_accounts(tlist *l, size_t n)
{
        if (n <= l->capacc)
                return 0;
        account *na = realloc(l->acc, n * sizeof *na);
        if (!na)
                return -ENOMEM;
        l->acc = na;
        l->capacc = n;
        return 0;
}

/* ---- argv building -------------------------------------------------------- */

typedef struct argvb {
        const char **v;
        size_t n, cap;
        bool oom;
} argvb;

static void argv_add(argvb *a, const char *s)
{
        if (a->oom)
                return;
        if (a->n + 2 > a->cap) {
                size_t nc = a->cap ? a->cap * 2 : 16;
                const char **nv = realloc(a->v, nc * sizeof *nv);
                if (!nv) {
                        a->oom = true;
                        return;
                }
                a->v = nv;
                a->cap = nc;
        }
        a->v[a->n++] = s;
        a->v[a->n] = NULL;
}

/* runuser -u USER -- (only when WHO is not the caller) */
static void argv_as(argvb *a, const account *who)
{
        if (who && !who->is_caller) {
                argv_add(a, "runuser");
                argv_add(a, "-u");
                argv_add(a, who->name);
                argv_add(a, "--");
        }
}

/* Last non-empty line of S (trimmed), for error messages; NULL if none. */
static char *last_line(const char *s)
{
        if (!s)
                return NULL;
        size_t len = strlen(s);
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
                len--;
        if (!len)
                return NULL;
        const char *b = memrchr(s, '\n', len);
        b = b ? b + 1 : s;
        char *r = strndup(b, len - (size_t)(b - s));
        if (r)
                for (char *p = r; *p; p++)
                        if ((unsigned char)*p < 0x20)
                                *p = ' ';
        return r;
}

/* Environment for a program run as the caller: HOME and XDG_RUNTIME_DIR
 * (rootless podman needs them; ps_spawn starts from a clean environment). */
typedef struct envb {
        char *home, *xdg;
        const char *v[3];
} envb;

static const char *const *caller_env(envb *e, const account *who)
{
        size_t n = 0;
        memset(e, 0, sizeof *e);
        if (who && who->is_caller) {
                const char *h = getenv("HOME");
                if (!h || !*h)
                        h = who->home;
                if (h && asprintf(&e->home, "HOME=%s", h) > 0)
                        e->v[n++] = e->home;
                const char *x = getenv("XDG_RUNTIME_DIR");
                if (x && *x && asprintf(&e->xdg, "XDG_RUNTIME_DIR=%s", x) > 0)
                        e->v[n++] = e->xdg;
        } else if (who) {
                /* runuser sets HOME; podman finds the runtime directory */
                char *x = NULL;
                if (asprintf(&x, "/run/user/%u", (unsigned)who->uid) > 0 && access(x, F_OK) == 0 &&
                    asprintf(&e->xdg, "XDG_RUNTIME_DIR=%s", x) > 0)
                        e->v[n++] = e->xdg;
                free(x);
        }
        e->v[n] = NULL;
        return e->v;
}

static void envb_free(envb *e)
{
        free(e->home);
        free(e->xdg);
}

/* ---- private directory for exported images ------------------------------ */

/* Remove the export directory: DIR/image.tar (root's exports) or DIR/u
 * and what is in it (the user's; entries are unlinked, never followed). */
static void remove_tree(const char *dir)
{
        _cleanup_free_ char *u = ps_path_join(dir, "u");
        if (u) {
                int fd = open(u, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                if (d) {
                        struct dirent *de;
                        while ((de = readdir(d)))
                                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                                    unlinkat(dirfd(d), de->d_name, 0) < 0)
                                        unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
                        closedir(d);
                } else if (fd >= 0) {
                        close(fd);
                }
                rmdir(u);
        }
        _cleanup_free_ char *a = ps_path_join(dir, "image.tar");
        if (a)
                unlink(a);
        rmdir(dir);
}

/* A directory the exporting user can write to; *archive gets the path
 * podman writes. */
static int make_workdir(const account *who, char **dir, char **archive, ps_error *err)
{
        *dir = NULL;
        *archive = NULL;
        const char *base = getenv("TMPDIR");
        if (!base || base[0] != '/')
                base = "/var/tmp";
        _cleanup_free_ char *tmpl = ps_path_join(base, "podsec-vuln.XXXXXX");
        if (!tmpl)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (!mkdtemp(tmpl))
                return ps_error_errno(err, errno, "cannot create a temporary directory in %s", base);
        if (who && !who->is_caller) {
                _cleanup_free_ char *u = ps_path_join(tmpl, "u");
                if (!u || chmod(tmpl, 0711) < 0 || mkdir(u, 0700) < 0 || chown(u, who->uid, who->gid) < 0) {
                        int e = u ? errno : ENOMEM;
                        remove_tree(tmpl);
                        return ps_error_errno(err, e, "cannot prepare a directory for %s's image export in %s",
                                              who->name, tmpl);
                }
                *archive = ps_path_join(u, "image.tar");
        } else {
                *archive = ps_path_join(tmpl, "image.tar");
        }
        if (!*archive) {
                remove_tree(tmpl);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        *dir = steal_pointer(&tmpl);
        return 0;
}

/* ---- scanning -------------------------------------------------------------- */

static const char *user_of(const target *t)
{
        return t->who && t->who->name ? t->who->name : "?";
}

static int fail_target(target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_target(target *t, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        free(t->error);
        t->error = NULL;
        if (vasprintf(&t->error, fmt, ap) < 0)
                t->error = NULL;
        va_end(ap);
        t->code = PS_TRIVY_EXIT_FAILED;
        return t->code;
}

/* Export T from its local store into ARCHIVE (as its owner). */
static int export_image(const vopts *o, target *t, const char *archive)
{
        argvb a = { 0 };
        argv_as(&a, t->who);
        argv_add(&a, o->podman);
        if (t->store) {
                argv_add(&a, "--root");
                argv_add(&a, t->store);
        }
        argv_add(&a, "save");
        argv_add(&a, "--quiet");
        argv_add(&a, "--format");
        argv_add(&a, "docker-archive");
        argv_add(&a, "--output");
        argv_add(&a, archive);
        argv_add(&a, t->id);
        if (a.oom) {
                free(a.v);
                return fail_target(t, "out of memory");
        }
        envb e;
        _cleanup_free_ char *errout = NULL;
        ps_spawn_opts so = { .env = caller_env(&e, t->who), .errout = &errout };
        int status = 0;
        ps_error err = PS_ERROR_INIT;
        int r = ps_spawn(a.v, &so, &status, &err);
        free(a.v);
        envb_free(&e);
        if (r < 0) {
                fail_target(t, "cannot export the image %s of the user %s: %s", t->label, user_of(t), ps_error_msg(&err));
                ps_error_clear(&err);
                return t->code;
        }
        if (status != 0) {
                _cleanup_free_ char *why = last_line(errout);
                return fail_target(t, "cannot export the image %s of the user %s: %s save exited with status %d%s%s",
                                   t->label, user_of(t), o->podman, status, why ? ": " : "", why ? why : "");
        }
        return 0;
}

/* Run trivy on T (by name, or on ARCHIVE) and parse its report. */
static int run_trivy(const vopts *o, target *t, const char *archive)
{
        argvb a = { 0 };
        argv_as(&a, t->who);
        argv_add(&a, o->trivy);
        argv_add(&a, "image");
        argv_add(&a, "--server");
        argv_add(&a, o->server);
        argv_add(&a, "--format");
        argv_add(&a, "json");
        argv_add(&a, "--exit-code");
        argv_add(&a, "0");
        argv_add(&a, "--quiet");
        if (archive) {
                argv_add(&a, "--input");
                argv_add(&a, archive);
        } else {
                argv_add(&a, "--");
                argv_add(&a, t->ref);
        }
        if (a.oom) {
                free(a.v);
                return fail_target(t, "out of memory");
        }
        envb e;
        _cleanup_free_ char *out = NULL, *errout = NULL;
        ps_spawn_opts so = { .env = caller_env(&e, t->who), .out = &out, .errout = &errout };
        int status = 0;
        ps_error err = PS_ERROR_INIT;
        int r = ps_spawn(a.v, &so, &status, &err);
        free(a.v);
        envb_free(&e);
        if (r < 0) {
                fail_target(t, "The trivy vulnerability analysis command failed on the image %s of the user %s: %s",
                            t->label, user_of(t), ps_error_msg(&err));
                ps_error_clear(&err);
                return t->code;
        }
        if (status != 0) {
                _cleanup_free_ char *why = last_line(errout);
                return fail_target(t,
                                   "The trivy vulnerability analysis command failed on the image %s of the user %s: %s exited with status %d%s%s",
                                   t->label, user_of(t), o->trivy, status, why ? ": " : "", why ? why : "");
        }
        r = ps_trivy_report_parse(out ? out : "", out ? strlen(out) : 0, &t->report, &err);
        if (r < 0) {
                fail_target(t, "The trivy vulnerability analysis command failed on the image %s of the user %s: %s",
                            t->label, user_of(t), ps_error_msg(&err));
                ps_error_clear(&err);
                return t->code;
        }
        t->verdict = ps_trivy_report_verdict(&t->report);
        t->code = ps_trivy_verdict_exit(t->verdict);
        return t->code;
}

static int scan(const vopts *o, target *t)
{
        if (!t->id)
                return run_trivy(o, t, NULL);
        _cleanup_free_ char *dir = NULL, *archive = NULL;
        ps_error err = PS_ERROR_INIT;
        if (make_workdir(t->who, &dir, &archive, &err) < 0) {
                fail_target(t, "%s", ps_error_msg(&err));
                ps_error_clear(&err);
                return t->code;
        }
        int r = export_image(o, t, archive);
        if (r == 0)
                r = run_trivy(o, t, archive);
        remove_tree(dir);
        return r;
}

/* ---- messages -------------------------------------------------------------- */

static char *counts_text(const ps_trivy_report *r)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        bool first = true;
        for (int i = PS_TRIVY_CRITICAL; i >= PS_TRIVY_UNKNOWN; i--) {
                if (!r->counts[i])
                        continue;
                fprintf(f, "%s%s %zu", first ? "" : ", ", ps_trivy_severity_name(i), r->counts[i]);
                first = false;
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

/* The original's sentence for a scanned image (spec monitor §7.1, typo
 * fixed), and the level it is logged at (PS_LEVEL_NONE: not logged). */
static char *verdict_message(const target *t, enum ps_level *lvl)
{
        char *m = NULL;
        const char *img = t->label, *user = user_of(t);
        int k = -1;
        *lvl = PS_LEVEL_NONE;
        if (t->code == PS_TRIVY_EXIT_FAILED) {
                *lvl = PS_LEVEL_FATAL;
                return strdup(t->error ? t->error : "The trivy vulnerability analysis command failed");
        }
        switch (t->verdict) {
        case PS_TRIVY_CLEAN:
                k = asprintf(&m, _("In the %s image of the user %s no vulnerabilities found."), img, user);
                break;
        case PS_TRIVY_MINOR:
                *lvl = PS_LEVEL_LOW;
                k = asprintf(&m, _("Vulnerabilities were found in the image %s of user %s, but none were high or critical."),
                             img, user);
                break;
        case PS_TRIVY_HIGH_FOUND:
                *lvl = PS_LEVEL_HIGH;
                k = asprintf(&m, _("In the image %s of the user %s high vulnerabilities found."), img, user);
                break;
        case PS_TRIVY_CRITICAL_FOUND:
                *lvl = PS_LEVEL_CRITICAL;
                if (t->report.counts[PS_TRIVY_HIGH])
                        k = asprintf(&m, _("In the image %s of the user %s critical and high vulnerabilities were discovered."),
                                     img, user);
                else
                        k = asprintf(&m, _("In the image %s of the user %s critical vulnerabilities have been discovered."),
                                     img, user);
                break;
        }
        return k < 0 ? NULL : m;
}

/* One line per vulnerability of at least MIN severity. */
static void vuln_lines(FILE *f, const ps_trivy_report *r, enum ps_trivy_severity min, const char *indent)
{
        for (int s = PS_TRIVY_CRITICAL; s >= (int)min; s--)
                for (size_t i = 0; i < r->n_vulns; i++) {
                        const ps_trivy_vuln *v = &r->vulns[i];
                        if ((int)v->severity != s)
                                continue;
                        const char *tg = r->targets[v->target].target;
                        fprintf(f, "%s%s %s %s %s%s%s [%s]%s%s\n", indent, ps_trivy_severity_name(v->severity),
                                v->id ? v->id : "?", v->pkg ? v->pkg : "?", v->installed ? v->installed : "?",
                                v->fixed ? " -> " : "", v->fixed ? v->fixed : "", tg ? tg : "?",
                                v->title ? ": " : "", v->title ? v->title : "");
                }
}

static char *report_text(const target *t, const char *message, enum ps_trivy_severity min)
{
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        fprintf(f, "%s\n", message);
        if (t->code != PS_TRIVY_EXIT_FAILED) {
                _cleanup_free_ char *c = counts_text(&t->report);
                if (c && *c)
                        fprintf(f, "%s\n", c);
                vuln_lines(f, &t->report, min, "");
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        return s;
}

static void mail_target(const vopts *o, const target *t, const char *message)
{
        if (!o->mailto || t->code == 0)
                return;         /* the original mails results > 0 only: 3, 4, 5 */
        _cleanup_free_ char *subject = NULL;
        if (asprintf(&subject, PS_VULN_MAIL_SUBJECT, t->label, user_of(t)) < 0)
                return;
        _cleanup_free_ char *body = report_text(t, message, PS_TRIVY_UNKNOWN);
        ps_error err = PS_ERROR_INIT;
        if (ps_nagios_mail(o->sendmail, o->mailto, subject, body ? body : message, &err) < 0) {
                /* the plugin output names it; the original ignored mail failures */
                ps_nagios_log(PS_LEVEL_WARNING, "%s", ps_error_msg(&err));
                ps_error_clear(&err);
        }
}

/* ---- inventory -------------------------------------------------------------- */

static bool safe_user_name(const char *s)
{
        if (!*s || *s == '-' || strlen(s) > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                      *p == '-' || *p == '.' || (*p == '$' && p[1] == '\0')))
                        return false;
        return true;
}

/* Add the images of STORE (host path HOSTSTORE, read at ROOTSTORE). */
static int add_store(vopts *o, tlist *l, const account *who, const char *rootstore, const char *podman_root)
{
        _cleanup_free_ char *ij = ps_path_join(rootstore, IMAGES_JSON);
        if (!ij)
                return -ENOMEM;
        ps_store_image *imgs = NULL;
        size_t n = 0;
        ps_error err = PS_ERROR_INIT;
        int r = ps_store_images_load(ij, &imgs, &n, &err);
        if (r == -ENOENT) {
                ps_error_clear(&err);
                return 0;
        }
        if (r < 0) {
                /* the store cannot be listed: an UNKNOWN entry for it */
                target *t = tlist_add(l);
                if (!t)
                        return -ENOMEM;
                t->who = who;
                t->label = strdup(rootstore);
                fail_target(t, "cannot list the images of the user %s: %s", who->name, ps_error_msg(&err));
                ps_error_clear(&err);
                return t->label ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                target *t = tlist_add(l);
                if (!t) {
                        ps_store_images_free(imgs, n);
                        return -ENOMEM;
                }
                t->who = who;
                t->label = strdup(ps_store_image_label(&imgs[i]));
                t->id = strdup(imgs[i].id);
                t->store = podman_root ? strdup(podman_root) : NULL;
                if (!t->label || !t->id || (podman_root && !t->store)) {
                        ps_store_images_free(imgs, n);
                        return -ENOMEM;
                }
        }
        ps_store_images_free(imgs, n);
        return 0;
}

static int add_account(tlist *l, const char *name, uid_t uid, gid_t gid, const char *home, bool caller, account **out)
{
        if (l->nacc == l->capacc)
                return -ENOMEM;         /* reserved up front */
        account *a = &l->acc[l->nacc];
        memset(a, 0, sizeof *a);
        a->name = strdup(name);
        a->home = strdup(home ? home : "/");
        if (!a->name || !a->home) {
                free(a->name);
                free(a->home);
                return -ENOMEM;
        }
        a->uid = uid;
        a->gid = gid;
        a->is_caller = caller;
        l->nacc++;
        *out = a;
        return 0;
}

/* The stores of a home directory: the default rootless one and u7s's. */
static int add_home_stores(vopts *o, tlist *l, const account *who)
{
        const char *root = o->ctx->root;
        static const char *const stores[] = { USER_STORE, USERNETES_STORE };
        for (size_t s = 0; s < PS_ARRAY_SIZE(stores); s++) {
                _cleanup_free_ char *host = ps_path_join(who->home, stores[s]);
                _cleanup_free_ char *inroot = host ? ps_root_path(root, host) : NULL;
                if (!inroot)
                        return -ENOMEM;
                int r = add_store(o, l, who, inroot, s == 0 ? NULL : host);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Root: the rootful store and every passwd user's stores; another user:
 * their own stores. */
static int build_inventory(vopts *o, tlist *l, ps_error *err)
{
        const char *root = o->ctx->root;
        uid_t me = geteuid();
        _cleanup_free_ char *pwpath = ps_root_path(root, "/etc/passwd");
        _cleanup_free_ char *pw = NULL;
        if (!pwpath)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = ps_read_file(pwpath, 16 << 20, &pw, NULL, err);
        if (r < 0)
                return r;
        size_t lines = 1;
        for (const char *p = pw; *p; p++)
                lines += *p == '\n';
        if (tlist_reserve_accounts(l, lines + 1) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");

        bool as_root = me == 0;
        account *caller = NULL;
        if (as_root) {
                if (add_account(l, "root", 0, 0, "/root", true, &caller) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                _cleanup_free_ char *rs = ps_root_path(root, ROOTFUL_STORE);
                if (!rs || add_store(o, l, caller, rs, NULL) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
        }
        char *save = NULL;
        for (char *line = strtok_r(pw, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[7] = { 0 };
                char *p = line;
                size_t nf = 0;
                while (nf < 7) {
                        f[nf++] = p;
                        char *c = strchr(p, ':');
                        if (!c)
                                break;
                        *c = '\0';
                        p = c + 1;
                }
                if (nf < 6 || !f[5][0] || f[5][0] != '/')
                        continue;
                char *end = NULL;
                errno = 0;
                unsigned long uid = strtoul(f[2], &end, 10), gid;
                if (errno || !end || *end || !f[2][0])
                        continue;
                gid = strtoul(f[3], &end, 10);
                if (!end || *end)
                        continue;
                if (as_root ? uid == 0 : uid != (unsigned long)me)
                        continue;       /* root's rootful store is done; no recursion into root */
                if (!safe_user_name(f[0]))
                        continue;
                /* the same home twice (aliases): once */
                bool dup = false;
                for (size_t i = 0; i < l->nacc; i++)
                        if (!strcmp(l->acc[i].home, f[5]) && !(as_root && i == 0))
                                dup = true;
                if (dup)
                        continue;
                account *a = NULL;
                if (add_account(l, f[0], (uid_t)uid, (gid_t)gid, f[5], !as_root, &a) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if (add_home_stores(o, l, a) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

/* The caller as an account, for images given on the command line. */
static int caller_account(vopts *o, tlist *l, account **out, ps_error *err)
{
        if (tlist_reserve_accounts(l, 1) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        uid_t me = geteuid();
        struct passwd *p = getpwuid(me);
        char num[32];
        snprintf(num, sizeof num, "%u", (unsigned)me);
        if (add_account(l, p ? p->pw_name : num, me, getegid(), p ? p->pw_dir : NULL, true, out) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

static bool valid_image_arg(const char *s)
{
        if (!*s || *s == '-')
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* ---- common option handling ------------------------------------------------ */

static int finish_opts(vopts *o, const char *server, ps_error *err)
{
        if (!server) {
                server = getenv("U7S_TRIVY_SERVER");
        }
        int r = ps_trivy_server_url(server, &o->server, err);
        if (r < 0)
                return r;
        if (o->mailto && ps_nagios_check_address(o->mailto, err) < 0)
                return -EINVAL;
        return 0;
}

/* Journal entries only where there is a journal or syslog: without one the
 * fallback writes to stderr, which icinga2 would merge into the output. */
static void quiet_fallback_log(const char *tag)
{
        ps_log_open(tag, LOG_USER, PS_LOG_AUTO);
        if (ps_log_target_in_use() == PS_LOG_STDERR)
                ps_log_set_max(-1);
}

static const char *trivy_missing(const vopts *o)
{
        _cleanup_free_ char *p = ps_which(o->trivy);
        return p ? NULL : o->trivy;
}

/* Where a missing program was looked for. */
static const char *searched(const char *prog)
{
        return strchr(prog, '/') ? "it is not an executable file"
                                 : "searched /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

/* ---- check vuln ------------------------------------------------------------- */

static void vuln_help(const char *prog)
{
        printf(_("Usage: %s [OPTIONS] [IMAGE...]\n\n"
                 "Scan container images for vulnerabilities with a trivy server (client mode,\n"
                 "JSON report) and report as a Nagios plugin.  Without IMAGE, scan every image\n"
                 "of the local stores: as root %s and each\n"
                 "user's rootless stores\n"
                 "  ~/%s\n"
                 "  ~/%s\n"
                 "as another user, their own.  Local images are exported with 'podman save' as\n"
                 "their owner (runuser) and scanned with 'trivy image --input'; an IMAGE argument\n"
                 "is given to trivy as it is.\n"
                 "Each image with findings is logged to the journal (tag %s):\n"
                 "Critical (2), High (3), Low (5: only LOW/MEDIUM/UNKNOWN), Fatal (1: not scanned).\n\n"
                 "Options:\n"
                 "      --server URL|HOST[:PORT]  trivy server (default $U7S_TRIVY_SERVER or %s,\n"
                 "                      port %d)\n"
                 "      --trivy PATH    the trivy program (default trivy)\n"
                 "      --podman PATH   the podman program (default podman)\n"
                 "  -M, --mail ADDR     mail a report for each vulnerable or unscanned image\n"
                 "                      (-m ADDR is accepted as in the original)\n"
                 "      --sendmail PATH the sendmail program (default sendmail)\n"
                 "  -v, --verbose       list HIGH and CRITICAL vulnerabilities (-vv: all)\n"
                 "      --help          this help\n"
                 "Global --dry-run lists what would be scanned; it works under --root too.\n\n"
                 "Exit status: 0 OK, 1 WARNING (HIGH found), 2 CRITICAL (CRITICAL found),\n"
                 "3 UNKNOWN (trivy missing or failed, an image could not be exported, usage).\n"),
               prog, ROOTFUL_STORE, USER_STORE, USERNETES_STORE, PS_TAG_CHECK_VULN, PS_TRIVY_DEFAULT_HOST,
               PS_TRIVY_DEFAULT_PORT);
}

static json_t *target_json(const target *t)
{
        json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:i}", "image", t->label, "user", user_of(t), "id", t->id,
                              "store", t->store, "code", t->code);
        if (!o)
                return NULL;
        if (t->code == PS_TRIVY_EXIT_FAILED) {
                json_object_set_new(o, "error", json_string(t->error ? t->error : ""));
                return o;
        }
        static const char *const verdicts[] = { "clean", "minor", "high", "critical" };
        json_object_set_new(o, "verdict", json_string(verdicts[t->verdict]));
        json_t *c = json_object();
        for (int s = 0; s < PS_TRIVY_SEVERITIES; s++)
                json_object_set_new(c, ps_trivy_severity_name(s), json_integer((json_int_t)t->report.counts[s]));
        json_object_set_new(o, "counts", c);
        json_t *vs = json_array();
        for (size_t i = 0; i < t->report.n_vulns; i++) {
                const ps_trivy_vuln *v = &t->report.vulns[i];
                json_array_append_new(vs, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s, s:s?, s:s?}", "id", v->id, "package",
                                                    v->pkg, "installed", v->installed, "fixed", v->fixed, "severity",
                                                    ps_trivy_severity_name(v->severity), "title", v->title, "target",
                                                    t->report.targets[v->target].target));
        }
        json_object_set_new(o, "vulnerabilities", vs);
        return o;
}

static int dry_run_list(vopts *o, tlist *l)
{
        if (o->ctx->json) {
                json_t *a = json_array();
                for (size_t i = 0; i < l->n; i++)
                        json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "image", l->v[i].label, "user",
                                                           user_of(&l->v[i]), "id", l->v[i].id, "store", l->v[i].store,
                                                           "error", l->v[i].error));
                json_dumpf(a, stdout, JSON_INDENT(2));
                putchar('\n');
                json_decref(a);
                return 0;
        }
        if (!l->n)
                printf(_("no images to scan\n"));
        for (size_t i = 0; i < l->n; i++) {
                const target *t = &l->v[i];
                if (t->error)
                        printf(_("cannot scan: %s\n"), t->error);
                else if (t->id)
                        printf(_("would scan %s (%s) of the user %s%s%s\n"), t->label, t->id, user_of(t),
                               t->store ? _(" in ") : "", t->store ? t->store : "");
                else
                        printf(_("would scan %s\n"), t->label);
        }
        return 0;
}

PS_CMD(cmd_check_vuln)
{
        enum { O_SERVER = 256, O_TRIVY, O_PODMAN, O_SENDMAIL, O_HELP };
        static const struct option opts[] = {
                { "server", required_argument, NULL, O_SERVER },
                { "trivy", required_argument, NULL, O_TRIVY },
                { "podman", required_argument, NULL, O_PODMAN },
                { "mail", required_argument, NULL, 'M' },
                { "sendmail", required_argument, NULL, O_SENDMAIL },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, O_HELP },
                { 0 },
        };
        vopts o = { .ctx = ctx, .trivy = "trivy", .podman = "podman", .verbosity = ctx->verbose };
        const char *server = NULL;
        ps_error err = PS_ERROR_INIT;
        quiet_fallback_log(PS_TAG_CHECK_VULN);
        int first = 1;
        if (!strcmp(ctx->prog, "podsec-inotify-check-vuln")) {
                /* the original: "-m ADDR" as the first two words, anything
                 * else ignored (its units passed "-vvv -c 100 >/dev/null 2>&1") */
                if (argc >= 3 && !strcmp(argv[1], "-m"))
                        o.mailto = argv[2];
                first = argc;
        } else {
                opterr = 0;
                int c;
                while ((c = getopt_long(argc, argv, ":M:m:v", opts, NULL)) != -1) {
                        switch (c) {
                        case O_SERVER: server = optarg; break;
                        case O_TRIVY: o.trivy = optarg; break;
                        case O_PODMAN: o.podman = optarg; break;
                        case 'M':
                        case 'm': o.mailto = optarg; break;
                        case O_SENDMAIL: o.sendmail = optarg; break;
                        case 'v': o.verbosity++; break;
                        case O_HELP: vuln_help(argv[0]); return 0;
                        case ':':
                                printf("VULN UNKNOWN: option %s needs a value\n", argv[optind - 1]);
                                return PS_NAGIOS_UNKNOWN;
                        default:
                                printf("VULN UNKNOWN: unknown option %s (see --help)\n", argv[optind - 1]);
                                return PS_NAGIOS_UNKNOWN;
                        }
                }
                first = optind;
        }
        if (finish_opts(&o, server, &err) < 0) {
                printf("VULN UNKNOWN: %s\n", ps_error_msg(&err));
                ps_error_clear(&err);
                free(o.server);
                return PS_NAGIOS_UNKNOWN;
        }
        for (int i = first; i < argc; i++)
                if (!valid_image_arg(argv[i])) {
                        printf("VULN UNKNOWN: invalid image reference \"%s\"\n", argv[i]);
                        free(o.server);
                        return PS_NAGIOS_UNKNOWN;
                }

        tlist l = { 0 };
        ps_nagios_result res;
        int rc = PS_NAGIOS_UNKNOWN;
        if (ps_nagios_result_init(&res, "VULN", &err) < 0) {
                free(o.server);
                return ps_fail(ctx, &err, PS_NAGIOS_UNKNOWN);
        }
        bool host = !ctx->root || !*ctx->root || !strcmp(ctx->root, "/");
        if (first < argc) {
                account *me = NULL;
                if (caller_account(&o, &l, &me, &err) < 0)
                        goto fail;
                for (int i = first; i < argc; i++) {
                        target *t = tlist_add(&l);
                        if (!t || !(t->label = strdup(argv[i])) || !(t->ref = strdup(argv[i]))) {
                                ps_error_set(&err, ENOMEM, "out of memory");
                                goto fail;
                        }
                        t->who = me;
                }
        } else if (build_inventory(&o, &l, &err) < 0) {
                goto fail;
        }
        if (ctx->dry_run) {
                rc = dry_run_list(&o, &l);
                goto out;
        }
        if (first >= argc && !host) {
                ps_error_set(&err, EOPNOTSUPP,
                             "the images of the container stores under --root %s cannot be exported (podman works on the host's stores); give the images to scan as arguments, or use --dry-run to list them",
                             ctx->root);
                goto fail;
        }
        const char *missing = l.n ? trivy_missing(&o) : NULL;
        if (missing) {
                ps_nagios_result_set(&res, PS_NAGIOS_UNKNOWN, NULL,
                                     _("trivy is not installed: %s was not found (%s); install trivy or give --trivy PATH"),
                                     missing, searched(missing));
                ps_nagios_log(PS_LEVEL_FATAL, "The trivy vulnerability analysis command failed: %s is not installed", missing);
                goto print;
        }

        size_t crit = 0, high = 0, failed = 0, ncrit = 0, nhigh = 0;
        for (size_t i = 0; i < l.n; i++) {
                target *t = &l.v[i];
                if (!t->error)
                        scan(&o, t);
                enum ps_level lvl;
                _cleanup_free_ char *msg = verdict_message(t, &lvl);
                if (!msg) {
                        ps_error_set(&err, ENOMEM, "out of memory");
                        goto fail;
                }
                if (lvl != PS_LEVEL_NONE)
                        ps_nagios_log(lvl, "%s", msg);
                if (t->code == PS_TRIVY_EXIT_FAILED) {
                        failed++;
                } else {
                        crit += t->report.counts[PS_TRIVY_CRITICAL];
                        high += t->report.counts[PS_TRIVY_HIGH];
                        ncrit += t->verdict == PS_TRIVY_CRITICAL_FOUND;
                        nhigh += t->verdict == PS_TRIVY_HIGH_FOUND;
                }
                _cleanup_free_ char *c = t->code == PS_TRIVY_EXIT_FAILED ? NULL : counts_text(&t->report);
                ps_nagios_result_detail(&res, NULL, "%s%s%s%s", msg, c && *c ? " (" : "", c && *c ? c : "",
                                        c && *c ? ")" : "");
                if (o.verbosity && t->code != PS_TRIVY_EXIT_FAILED) {
                        char *s = NULL;
                        size_t len = 0;
                        FILE *f = open_memstream(&s, &len);
                        if (f) {
                                vuln_lines(f, &t->report, o.verbosity > 1 ? PS_TRIVY_UNKNOWN : PS_TRIVY_HIGH, "  ");
                                if (fclose(f) == 0 && s) {
                                        char *save = NULL;
                                        for (char *ln = strtok_r(s, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save))
                                                ps_nagios_result_detail(&res, NULL, "%s", ln);
                                }
                                free(s);
                        }
                }
                mail_target(&o, t, msg);
        }
        enum ps_nagios_state st = ncrit ? PS_NAGIOS_CRITICAL
                                  : failed ? PS_NAGIOS_UNKNOWN
                                  : nhigh ? PS_NAGIOS_WARNING
                                  : PS_NAGIOS_OK;
        if (!l.n)
                ps_nagios_result_set(&res, st, NULL, _("no images to scan"));
        else
                ps_nagios_result_set(&res, st, NULL,
                                     _("%zu images scanned: %zu with CRITICAL, %zu with HIGH vulnerabilities, %zu not scanned"),
                                     l.n - failed, ncrit, nhigh, failed);
        double zero = 0;
        ps_nagios_result_perf(&res, "images", (double)l.n, NULL, NULL, NULL, &zero, NULL, NULL);
        ps_nagios_result_perf(&res, "critical", (double)crit, NULL, NULL, NULL, &zero, NULL, NULL);
        ps_nagios_result_perf(&res, "high", (double)high, NULL, NULL, NULL, &zero, NULL, NULL);
        ps_nagios_result_perf(&res, "failed", (double)failed, NULL, NULL, NULL, &zero, NULL, NULL);
        goto print;
fail:
        ps_nagios_result_set(&res, PS_NAGIOS_UNKNOWN, NULL, "%s", ps_error_msg(&err));
        ps_error_clear(&err);
print:
        rc = ps_nagios_exit_code(res.state);
        if (ctx->json) {
                json_t *j = ps_nagios_result_json(&res);
                json_t *imgs = json_array();
                for (size_t i = 0; j && imgs && i < l.n; i++)
                        json_array_append_new(imgs, target_json(&l.v[i]));
                if (j) {
                        json_object_set_new(j, "images", imgs ? imgs : json_null());
                        json_dumpf(j, stdout, JSON_INDENT(2));
                        putchar('\n');
                        json_decref(j);
                }
        } else {
                _cleanup_free_ char *text = ps_nagios_result_format(&res);
                if (text)
                        fputs(text, stdout);
        }
out:
        ps_nagios_result_free(&res);
        tlist_free(&l);
        free(o.server);
        return rc;
}

/* ---- check build-image -------------------------------------------------------- */

static void build_help(const char *prog)
{
        printf(_("Usage: %s [OPTIONS] IMAGE [DOCKERFILE [CONTEXT [BUILD-OPTION...]]]\n\n"
                 "With DOCKERFILE, build IMAGE first (podman build BUILD-OPTION... -f DOCKERFILE\n"
                 "-t IMAGE CONTEXT; CONTEXT defaults to .).  Then export IMAGE from the local store\n"
                 "and scan it with a trivy server; an image built here that has HIGH or CRITICAL\n"
                 "vulnerabilities (or could not be scanned) is removed again (podman rmi).\n"
                 "Findings are logged to the journal (tag %s).\n\n"
                 "Options (before IMAGE):\n"
                 "      --server URL|HOST[:PORT]  trivy server (default $U7S_TRIVY_SERVER or %s)\n"
                 "      --trivy PATH    the trivy program (default trivy)\n"
                 "      --podman PATH   the podman program (default podman)\n"
                 "      --keep          do not remove a vulnerable image\n"
                 "  -v, --verbose       list every vulnerability, not only HIGH and CRITICAL\n"
                 "      --help          this help\n\n"
                 "Exit status: 0 no HIGH or CRITICAL vulnerabilities, 1 usage, 2 the build failed,\n"
                 "3 the image could not be scanned (trivy missing or failed), 4 HIGH found,\n"
                 "5 CRITICAL found.\n"),
               prog, PS_TAG_BUILD_IMAGE, PS_TRIVY_DEFAULT_HOST);
}

static void remove_image(const vopts *o, const target *t, const char *image)
{
        if (o->keep)
                return;
        argvb a = { 0 };
        argv_add(&a, o->podman);
        argv_add(&a, "rmi");
        argv_add(&a, "--");
        argv_add(&a, image);
        if (a.oom) {
                free(a.v);
                return;
        }
        envb e;
        _cleanup_free_ char *errout = NULL;
        ps_spawn_opts so = { .env = caller_env(&e, t->who), .errout = &errout };
        int status = 0;
        ps_error err = PS_ERROR_INIT;
        int r = ps_spawn(a.v, &so, &status, &err);
        free(a.v);
        envb_free(&e);
        if (r < 0 || status != 0) {
                _cleanup_free_ char *why = r < 0 ? strdup(ps_error_msg(&err)) : last_line(errout);
                ps_err(o->ctx, _("cannot remove the image %s: %s"), image, why ? why : "podman rmi failed");
                ps_error_clear(&err);
                return;
        }
        printf(_("Image %s of user %s has been deleted.\n"), image, user_of(t));
}

/* The image id of a local image (podman image inspect --format {{.Id}}). */
static int local_image_id(const vopts *o, target *t, const char *image, char **id)
{
        *id = NULL;
        const char *argv[] = { o->podman, "image", "inspect", "--format", "{{.Id}}", "--", image, NULL };
        envb e;
        _cleanup_free_ char *out = NULL, *errout = NULL;
        ps_spawn_opts so = { .env = caller_env(&e, t->who), .out = &out, .errout = &errout };
        int status = 0;
        ps_error err = PS_ERROR_INIT;
        int r = ps_spawn(argv, &so, &status, &err);
        envb_free(&e);
        if (r < 0) {
                fail_target(t, "cannot find the image %s: %s", image, ps_error_msg(&err));
                ps_error_clear(&err);
                return t->code;
        }
        if (status != 0) {
                _cleanup_free_ char *why = last_line(errout);
                return fail_target(t, "cannot find the image %s in the local store%s%s", image, why ? ": " : "",
                                   why ? why : "");
        }
        size_t n = out ? strcspn(out, "\n") : 0;
        if (n != 64 || strspn(out, "0123456789abcdef") != 64)
                return fail_target(t, "cannot find the image %s: podman gave no image id", image);
        *id = strndup(out, 64);
        return *id ? 0 : fail_target(t, "out of memory");
}

/* Scan IMAGE (local), print and log the verdict, remove it when it was
 * BUILT here and is not acceptable.  Returns the exit code. */
static int scan_built(const vopts *o, target *t, const char *image, bool built)
{
        const char *missing = trivy_missing(o);
        if (missing)
                fail_target(t, "The trivy vulnerability analysis command failed on the image %s: trivy is not installed (%s was not found: %s; install trivy or give --trivy PATH)",
                            image, missing, searched(missing));
        else if (local_image_id(o, t, image, &t->id) == 0)
                scan(o, t);
        enum ps_level lvl;
        _cleanup_free_ char *msg = verdict_message(t, &lvl);
        if (!msg) {
                ps_err(o->ctx, _("out of memory"));
                return PS_TRIVY_EXIT_FAILED;
        }
        if (lvl != PS_LEVEL_NONE)
                ps_nagios_log(lvl, "%s", msg);
        if (t->code == PS_TRIVY_EXIT_FAILED) {
                ps_err(o->ctx, "%s", msg);
        } else {
                _cleanup_free_ char *text = report_text(t, msg, o->verbosity ? PS_TRIVY_UNKNOWN : PS_TRIVY_HIGH);
                fputs(text ? text : msg, stdout);
        }
        if (t->code != 0 && built)
                remove_image(o, t, image);
        return t->code;
}

PS_CMD(cmd_check_build_image)
{
        enum { O_SERVER = 256, O_TRIVY, O_PODMAN, O_KEEP, O_HELP };
        static const struct option opts[] = {
                { "server", required_argument, NULL, O_SERVER },
                { "trivy", required_argument, NULL, O_TRIVY },
                { "podman", required_argument, NULL, O_PODMAN },
                { "keep", no_argument, NULL, O_KEEP },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, O_HELP },
                { 0 },
        };
        vopts o = { .ctx = ctx, .trivy = "trivy", .podman = "podman", .verbosity = ctx->verbose };
        const char *server = NULL;
        ps_error err = PS_ERROR_INIT;
        quiet_fallback_log(PS_TAG_BUILD_IMAGE);
        int first = 1;
        if (strcmp(ctx->prog, "podsec-inotify-build-invulnerable-image") != 0) {
                opterr = 0;
                int c;
                /* '+': the build options after CONTEXT are podman's */
                while ((c = getopt_long(argc, argv, "+:v", opts, NULL)) != -1) {
                        switch (c) {
                        case O_SERVER: server = optarg; break;
                        case O_TRIVY: o.trivy = optarg; break;
                        case O_PODMAN: o.podman = optarg; break;
                        case O_KEEP: o.keep = true; break;
                        case 'v': o.verbosity++; break;
                        case O_HELP: build_help(argv[0]); return 0;
                        case ':':
                                ps_err(ctx, _("option %s needs a value"), argv[optind - 1]);
                                return 1;
                        default:
                                ps_err(ctx, _("unknown option %s (see --help)"), argv[optind - 1]);
                                return 1;
                        }
                }
                first = optind;
        } else if (argc > 1 && !strcmp(argv[1], "--help")) {
                build_help(argv[0]);
                return 0;
        }
        if (first >= argc) {
                printf(_("Format: %s <image_name> [ <docker file> [ <context directory> [ <podman build options> ] ] ]\n"),
                       argv[0]);
                return 1;
        }
        const char *image = argv[first];
        const char *dockerfile = first + 1 < argc ? argv[first + 1] : NULL;
        const char *context = first + 2 < argc ? argv[first + 2] : ".";
        if (!valid_image_arg(image)) {
                ps_err(ctx, _("invalid image name \"%s\""), image);
                return 1;
        }
        if (ctx->root && *ctx->root && strcmp(ctx->root, "/")) {
                ps_err(ctx, _("building and scanning images works on the host's container store only; --root %s is not possible"),
                       ctx->root);
                return 1;
        }
        if (finish_opts(&o, server, &err) < 0) {
                free(o.server);
                return ps_fail(ctx, &err, 1);
        }

        tlist l = { 0 };
        account *me = NULL;
        int rc = PS_TRIVY_EXIT_FAILED;
        target *t = NULL;
        if (caller_account(&o, &l, &me, &err) < 0 || !(t = tlist_add(&l)) || !(t->label = strdup(image))) {
                ps_fail(ctx, &err, 1);
                rc = 1;
                goto out;
        }
        t->who = me;
        if (ctx->dry_run) {
                if (dockerfile)
                        printf(_("would build %s from %s in %s, then scan it with %s\n"), image, dockerfile, context,
                               o.server);
                else
                        printf(_("would scan %s with %s\n"), image, o.server);
                rc = 0;
                goto out;
        }
        if (dockerfile) {
                argvb a = { 0 };
                argv_add(&a, o.podman);
                argv_add(&a, "build");
                for (int i = first + 3; i < argc; i++)
                        argv_add(&a, argv[i]);
                argv_add(&a, "-f");
                argv_add(&a, dockerfile);
                argv_add(&a, "-t");
                argv_add(&a, image);
                argv_add(&a, "--");
                argv_add(&a, context);
                envb e;
                ps_spawn_opts so = { .env = caller_env(&e, me) };
                int status = 0;
                int r = a.oom ? ps_error_set(&err, ENOMEM, "out of memory") : ps_spawn(a.v, &so, &status, &err);
                free(a.v);
                envb_free(&e);
                if (r < 0 || status != 0) {
                        if (r < 0) {
                                ps_err(ctx, "%s", ps_error_msg(&err));
                                ps_error_clear(&err);
                        }
                        ps_err(ctx, _("Building image %s failed. Image analysis is skipped."), image);
                        ps_nagios_log(PS_LEVEL_FATAL, "Building image %s failed. Image analysis is skipped.", image);
                        rc = 2;
                        goto out;
                }
        }
        rc = scan_built(&o, t, image, dockerfile != NULL);
out:
        tlist_free(&l);
        free(o.server);
        return rc;
}
