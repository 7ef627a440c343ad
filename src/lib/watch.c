/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The layer watcher (see watch.h): discovery of the storages, the inotify
 * backend, and the calls that dispatch to a backend.  fanotify is in
 * watch-fanotify.c. */
#include "watch-int.h"
#include "cleanup.h"
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DIFF_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | \
                   IN_DONT_FOLLOW | IN_EXCL_UNLINK)
#define DISC_MASK (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW)

struct wrec {
        enum wkind kind;
        char *path;       /* host path of the watched directory */
        size_t storage;   /* index into w->storages (OVERLAY, LAYER, DIFF) */
        char *layer;      /* LAYER, DIFF */
        char *indir;      /* DIFF: in-layer directory with a trailing '/' */
};

static void rec_free(struct wrec *r)
{
        if (!r)
                return;
        free(r->path);
        free(r->layer);
        free(r->indir);
        free(r);
}

static void clear_watches(ps_watch *w)
{
        for (size_t i = 0; i < w->cap; i++)
                rec_free(w->by_wd[i]);
        free(w->by_wd);
        w->by_wd = NULL;
        w->cap = 0;
        w->ndirs = 0;
}

void watch_clear_storages(ps_watch *w)
{
        for (size_t i = 0; i < w->nstorages; i++)
                free(w->storages[i]);
        free(w->storages);
        w->storages = NULL;
        w->nstorages = 0;
}

void ps_watch_free(ps_watch *w)
{
        if (!w)
                return;
        clear_watches(w);
        watch_clear_storages(w);
        watch_fan_release(w);
        if (w->fd >= 0)
                close(w->fd);
        free(w->root);
        free(w->reason);
        free(w);
}

void watch_set_reason(ps_watch *w, const char *what, int e)
{
        free(w->reason);
        if (asprintf(&w->reason, "%s: %s", what, strerror(e)) < 0)
                w->reason = NULL;
}

int ps_watch_new(const char *root, ps_watch_backend want, ps_watch **out, ps_error *err)
{
        ps_watch *w = calloc(1, sizeof *w);
        if (!w)
                return ps_error_set(err, ENOMEM, "out of memory");
        w->fd = -1;
        w->want = want;
        w->root = root && *root && strcmp(root, "/") ? strdup(root) : NULL;
        if (root && *root && strcmp(root, "/") && !w->root) {
                ps_watch_free(w);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (want != PS_WATCH_INOTIFY) {
                w->fd = watch_fan_init();
                if (w->fd >= 0) {
                        w->backend = PS_WATCH_FANOTIFY;
                        *out = w;
                        return 0;
                }
                int e = errno;
                if (want == PS_WATCH_FANOTIFY) {
                        ps_watch_free(w);
                        return ps_error_errno(err, e, "cannot use fanotify (fanotify_init with FAN_REPORT_DFID_NAME)");
                }
                watch_set_reason(w, "fanotify_init", e);
        }
        w->backend = PS_WATCH_INOTIFY;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0) {
                int e = errno;
                ps_watch_free(w);
                return ps_error_errno(err, e, "cannot create an inotify instance");
        }
        *out = w;
        return 0;
}

int ps_watch_fd(const ps_watch *w) { return w->fd; }

ps_watch_backend ps_watch_backend_used(const ps_watch *w) { return w->backend; }

const char *ps_watch_fallback_reason(const ps_watch *w)
{
        return w->backend == PS_WATCH_INOTIFY ? w->reason : NULL;
}

const char *ps_watch_backend_name(ps_watch_backend b)
{
        return b == PS_WATCH_FANOTIFY ? "fanotify" : b == PS_WATCH_INOTIFY ? "inotify" : "auto";
}

unsigned long ps_watch_unplaced(const ps_watch *w) { return w->unplaced; }

void ps_watch_counts(const ps_watch *w, size_t *dirs, size_t *storages, size_t *filesystems)
{
        if (dirs)
                *dirs = w->ndirs;
        if (storages)
                *storages = w->nstorages;
        if (filesystems)
                *filesystems = w->nfs;
}

int watch_report(ps_watch_fn fn, void *ud, ps_watch_kind kind, const char *msg)
{
        if (!fn)
                return 0;
        ps_watch_event ev = { .kind = kind, .message = msg, .dir = "", .name = "", .events = "" };
        return fn(ud, &ev);
}

/* Add a watch; returns the record (new or existing) or NULL with errno. */
static struct wrec *add(ps_watch *w, const char *path, uint32_t mask, enum wkind kind, size_t storage,
                        const char *layer, const char *indir)
{
        int wd = inotify_add_watch(w->fd, path, mask);
        if (wd < 0)
                return NULL;
        if ((size_t)wd >= w->cap) {
                size_t ncap = w->cap ? w->cap : 1024;
                while (ncap <= (size_t)wd)
                        ncap *= 2;
                struct wrec **n = realloc(w->by_wd, ncap * sizeof *n);
                if (!n) {
                        errno = ENOMEM;
                        return NULL;
                }
                memset(n + w->cap, 0, (ncap - w->cap) * sizeof *n);
                w->by_wd = n;
                w->cap = ncap;
        }
        if (w->by_wd[wd]) {
                /* the same directory again: after a rename it has a new name */
                struct wrec *r = w->by_wd[wd];
                if (r->kind == kind && strcmp(r->path, path)) {
                        char *np = strdup(path), *ni = indir ? strdup(indir) : NULL;
                        if (!np || (indir && !ni)) {
                                free(np);
                                free(ni);
                                errno = ENOMEM;
                                return NULL;
                        }
                        free(r->path);
                        free(r->indir);
                        r->path = np;
                        r->indir = ni;
                }
                return r;
        }
        struct wrec *r = calloc(1, sizeof *r);
        if (!r || !(r->path = strdup(path)) || (layer && !(r->layer = strdup(layer))) ||
            (indir && !(r->indir = strdup(indir)))) {
                rec_free(r);
                errno = ENOMEM;
                return NULL;
        }
        r->kind = kind;
        r->storage = storage;
        w->by_wd[wd] = r;
        w->ndirs++;
        return r;
}

static int limit_hit(ps_watch *w, const char *path, int e, ps_watch_fn fn, void *ud)
{
        if (e == ENOSPC || e == ENOMEM) {
                if (!w->limit_reported) {
                        char *m = NULL;
                        if (asprintf(&m, "cannot watch %s: %s (raise fs.inotify.max_user_watches)", path,
                                     strerror(e)) < 0)
                                m = NULL;
                        watch_report(fn, ud, PS_WATCH_LIMIT, m ? m : "inotify watch limit reached");
                        free(m);
                        w->limit_reported = true;
                }
                return -e;
        }
        return 0;   /* vanished meanwhile (ENOENT, ENOTDIR): not an error */
}

static bool excluded_top(const char *indir, const char *name)
{
        /* the in-container /var, /proc, /tmp and /run change all the time */
        return !strcmp(indir, "/") &&
               (!strcmp(name, "var") || !strcmp(name, "proc") || !strcmp(name, "tmp") || !strcmp(name, "run"));
}

int watch_emit_file(ps_watch *w, ps_watch_fn fn, void *ud, size_t storage, const char *layer, const char *indir,
                     const char *name, size_t name_len, uint32_t mask, const char *events)
{
        if (!fn)
                return 0;
        ps_watch_event ev = { .kind = PS_WATCH_FILE, .storage = w->storages[storage], .layer = layer,
                              .dir = indir, .name = name, .name_len = name_len, .events = events, .mask = mask };
        return fn(ud, &ev);
}

#define GETDENTS_BUF 32768

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

/* Watch the directory tree at PATH, open as DFD (in-layer directory INDIR).
 * With FOUND set, report every entry met (used for directories that
 * appeared after an event: what was created before the watch existed is
 * not lost).  The watch is added before the directory is listed, so that
 * nothing created in between is missed.  Children are opened relative to
 * their parent and listed with getdents64: this walk is most of the setup
 * time of the inotify backend. */
static int add_tree_at(ps_watch *w, int dfd, const char *path, size_t storage, const char *layer, const char *indir,
                       bool found, ps_watch_fn fn, void *ud, unsigned depth)
{
        if (depth > 256)
                return 0;
        if (!add(w, path, DIFF_MASK, W_DIFF, storage, layer, indir))
                return limit_hit(w, path, errno, fn, ud);
        /* on the heap: up to 256 levels of recursion */
        _cleanup_free_ char *buf = malloc(GETDENTS_BUF);
        if (!buf)
                return -ENOMEM;
        int r = 0;
        for (;;) {
                long n = syscall(SYS_getdents64, dfd, buf, GETDENTS_BUF);
                if (n <= 0)
                        break;
                for (long off = 0; off < n && r >= 0;) {
                        struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);
                        off += de->d_reclen;
                        const char *name = de->d_name;
                        if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
                                continue;
                        bool isdir = de->d_type == DT_DIR;
                        if (de->d_type == DT_UNKNOWN) {
                                struct stat st;
                                isdir = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
                        }
                        if (found)
                                watch_emit_file(w, fn, ud, storage, layer, indir, name, strlen(name),
                                          IN_CREATE | (isdir ? IN_ISDIR : 0), isdir ? "CREATE,ISDIR" : "CREATE");
                        if (!isdir || excluded_top(indir, name))
                                continue;
                        int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        if (cfd < 0)
                                continue;   /* gone, or replaced by something else meanwhile */
                        _cleanup_free_ char *sub = ps_path_join(path, name);
                        _cleanup_free_ char *subin = NULL;
                        if (!sub || asprintf(&subin, "%s%s/", indir, name) < 0)
                                r = -ENOMEM;
                        else
                                r = add_tree_at(w, cfd, sub, storage, layer, subin, found, fn, ud, depth + 1);
                        close(cfd);
                }
                if (r < 0)
                        break;
        }
        return r;
}

static int add_tree(ps_watch *w, const char *path, size_t storage, const char *layer, const char *indir, bool found,
                    ps_watch_fn fn, void *ud, unsigned depth)
{
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return 0;
        int r = add_tree_at(w, dfd, path, storage, layer, indir, found, fn, ud, depth);
        close(dfd);
        return r;
}

static int add_layer(ps_watch *w, size_t storage, const char *layer, bool found, ps_watch_fn fn, void *ud)
{
        _cleanup_free_ char *ldir = ps_path_join(w->storages[storage], layer);
        if (!ldir)
                return -ENOMEM;
        if (!add(w, ldir, DISC_MASK, W_LAYER, storage, layer, NULL))
                return limit_hit(w, ldir, errno, fn, ud);
        _cleanup_free_ char *diff = ps_path_join(ldir, "diff");
        if (!diff)
                return -ENOMEM;
        struct stat st;
        if (lstat(diff, &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        int r = add_tree(w, diff, storage, layer, "/", found, fn, ud, 0);
        if (r >= 0 && fn) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "watching layer %s of %s", layer, w->storages[storage]) >= 0)
                        watch_report(fn, ud, PS_WATCH_NEW_LAYER, m);
        }
        return r;
}

static int add_storage(ps_watch *w, const char *overlay, ps_watch_fn fn, void *ud)
{
        for (size_t i = 0; i < w->nstorages; i++)
                if (!strcmp(w->storages[i], overlay))
                        return 0;
        char **n = realloc(w->storages, (w->nstorages + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        w->storages = n;
        if (!(w->storages[w->nstorages] = strdup(overlay)))
                return -ENOMEM;
        size_t idx = w->nstorages++;
        if (!add(w, overlay, DISC_MASK, W_OVERLAY, idx, NULL, NULL))
                return limit_hit(w, overlay, errno, fn, ud);
        _cleanup_free_ char *m = NULL;
        if (asprintf(&m, "watching container storage %s", overlay) >= 0)
                watch_report(fn, ud, PS_WATCH_NEW_STORAGE, m);
        _cleanup_closedir_ DIR *d = opendir(overlay);
        if (!d)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || !strcmp(de->d_name, "l"))
                        continue;
                int r = add_layer(w, idx, de->d_name, false, fn, ud);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* PATH does not exist yet: watch its deepest existing ancestor below STOP
 * so that its creation is noticed. */
static int watch_ancestor(ps_watch *w, const char *path, const char *stop, ps_watch_fn fn, void *ud)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        size_t stoplen = strlen(stop);
        for (;;) {
                char *slash = strrchr(p, '/');
                if (!slash || (size_t)(slash - p) < stoplen)
                        return 0;
                *slash = '\0';
                struct stat st;
                if (stat(p, &st) == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return 0;
                        if (!add(w, p, DISC_MASK, W_DISCOVERY, 0, NULL, NULL))
                                return limit_hit(w, p, errno, fn, ud);
                        return 0;
                }
        }
}

static int cand_one(ps_watch *w, const char *home_rel, const char *tail, watch_cand_fn cb, void *ctx)
{
        _cleanup_free_ char *home = ps_root_path(w->root, home_rel);
        _cleanup_free_ char *overlay = home ? ps_path_join(home, tail) : NULL;
        if (!overlay)
                return -ENOMEM;
        return cb(w, home, overlay, ctx);
}

/* ALL_HOMES: also users whose home does not exist (yet). */
int watch_for_each_candidate(ps_watch *w, bool all_homes, watch_cand_fn cb, void *ctx)
{
        int r = cand_one(w, "/var/lib/containers", "storage/overlay", cb, ctx);
        if (r < 0)
                return r;
        r = cand_one(w, "/var/lib/u7s-admin", ".local/share/usernetes/containers/storage/overlay", cb, ctx);
        if (r < 0)
                return r;
        _cleanup_free_ char *pwpath = ps_root_path(w->root, "/etc/passwd");
        if (!pwpath)
                return -ENOMEM;
        _cleanup_fclose_ FILE *f = fopen(pwpath, "re");
        if (!f)
                return 0;
        struct passwd *pw;
        while ((pw = fgetpwent(f))) {
                if (!pw->pw_dir || pw->pw_dir[0] != '/' || !strcmp(pw->pw_dir, "/") ||
                    !strcmp(pw->pw_dir, "/nonexistent") || !strcmp(pw->pw_dir, "/var/lib/containers"))
                        continue;
                _cleanup_free_ char *h = ps_root_path(w->root, pw->pw_dir);
                struct stat st;
                if (!h)
                        return -ENOMEM;
                if (!all_homes && (stat(h, &st) < 0 || !S_ISDIR(st.st_mode)))
                        continue;
                r = cand_one(w, pw->pw_dir, ".local/share/containers/storage/overlay", cb, ctx);
                if (r < 0)
                        return r;
        }
        return 0;
}

struct ino_ctx {
        ps_watch_fn fn;
        void *ud;
};

static int ino_consider(ps_watch *w, const char *home, const char *overlay, void *ctx)
{
        struct ino_ctx *c = ctx;
        struct stat st;
        if (stat(overlay, &st) == 0 && S_ISDIR(st.st_mode))
                return add_storage(w, overlay, c->fn, c->ud);
        return watch_ancestor(w, overlay, home, c->fn, c->ud);
}

static int discover(ps_watch *w, ps_watch_fn fn, void *ud)
{
        /* new users: /etc/passwd is replaced by rename, and /home gets entries */
        _cleanup_free_ char *etc = ps_root_path(w->root, "/etc");
        _cleanup_free_ char *home = ps_root_path(w->root, "/home");
        if (!etc || !home)
                return -ENOMEM;
        int r;
        if (!add(w, etc, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR, W_DISCOVERY, 0, NULL, NULL) && errno != ENOENT)
                if ((r = limit_hit(w, etc, errno, fn, ud)) < 0)
                        return r;
        if (!add(w, home, DISC_MASK, W_DISCOVERY, 0, NULL, NULL) && errno != ENOENT)
                if ((r = limit_hit(w, home, errno, fn, ud)) < 0)
                        return r;
        struct ino_ctx c = { fn, ud };
        return watch_for_each_candidate(w, false, ino_consider, &c);
}

int watch_ino_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        int r = discover(w, fn, ud);
        if (r < 0 && r != -ENOSPC)
                return ps_error_set(err, -r, "cannot set up the watches: %s", strerror(-r));
        return 0;
}

static int rescan(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        int nfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (nfd < 0)
                return ps_error_errno(err, errno, "cannot create an inotify instance");
        /* keep the same descriptor number for pollers */
        if (dup3(nfd, w->fd, O_CLOEXEC) < 0) {
                int e = errno;
                close(nfd);
                return ps_error_errno(err, e, "cannot replace the inotify instance");
        }
        close(nfd);
        clear_watches(w);
        watch_clear_storages(w);
        w->limit_reported = false;
        int r = discover(w, NULL, NULL);
        if (r < 0 && r != -ENOSPC)
                return ps_error_set(err, -r, "cannot rebuild the watches: %s", strerror(-r));
        char *m = NULL;
        if (asprintf(&m, "rescanned: %zu directories in %zu storages watched", w->ndirs, w->nstorages) < 0)
                m = NULL;
        watch_report(fn, ud, PS_WATCH_RESCANNED, m ? m : "rescanned");
        free(m);
        return 0;
}

static void event_names(uint32_t m, char buf[static 64])
{
        const char *n = (m & IN_CREATE) ? "CREATE" : (m & IN_DELETE) ? "DELETE" : (m & IN_MODIFY) ? "MODIFY" :
                        (m & IN_MOVED_FROM) ? "MOVED_FROM" : (m & IN_MOVED_TO) ? "MOVED_TO" : "OTHER";
        snprintf(buf, 64, "%s%s", n, (m & IN_ISDIR) ? ",ISDIR" : "");
}

ssize_t watch_read(ps_watch *w, void *buf, size_t size, ps_error *err)
{
        for (;;) {
                ssize_t n = read(w->fd, buf, size);
                if (n >= 0)
                        return n;
                if (errno == EAGAIN)
                        return 0;
                if (errno != EINTR)
                        return ps_error_errno(err, errno, "cannot read %s events", ps_watch_backend_name(w->backend));
        }
}

static int ino_process(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
        int count = 0;
        bool rediscover = false;
        for (;;) {
                ssize_t n = watch_read(w, buf, sizeof buf, err);
                if (n < 0)
                        return -1;
                if (n == 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *ev = (struct inotify_event *)p;
                        p += sizeof *ev + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                watch_report(fn, ud, PS_WATCH_OVERFLOW,
                                       "the kernel event queue overflowed: events were lost; rescanning");
                                count++;
                                int r = rescan(w, fn, ud, err);
                                return r < 0 ? r : count;
                        }
                        if (ev->wd < 0 || (size_t)ev->wd >= w->cap || !w->by_wd[ev->wd])
                                continue;
                        struct wrec *rec = w->by_wd[ev->wd];
                        if (ev->mask & IN_IGNORED) {
                                rec_free(rec);
                                w->by_wd[ev->wd] = NULL;
                                w->ndirs--;
                                continue;
                        }
                        const char *name = ev->len ? ev->name : "";
                        size_t nlen = strnlen(name, ev->len);
                        switch (rec->kind) {
                        case W_OTHER:
                        case W_GONE:
                                break;   /* fanotify only */
                        case W_DISCOVERY:
                                rediscover = true;
                                break;
                        case W_OVERLAY:
                                if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR) &&
                                    name[0] != '.' && strcmp(name, "l")) {
                                        int r = add_layer(w, rec->storage, name, true, fn, ud);
                                        if (r < 0 && r != -ENOSPC)
                                                return ps_error_set(err, -r, "cannot watch a new layer");
                                }
                                break;
                        case W_LAYER:
                                if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR) &&
                                    !strcmp(name, "diff")) {
                                        _cleanup_free_ char *diff = ps_path_join(rec->path, "diff");
                                        _cleanup_free_ char *layer = strdup(rec->layer);
                                        size_t st = rec->storage;
                                        if (!diff || !layer)
                                                return ps_error_set(err, ENOMEM, "out of memory");
                                        int r = add_tree(w, diff, st, layer, "/", true, fn, ud, 0);
                                        if (r < 0 && r != -ENOSPC)
                                                return ps_error_set(err, -r, "cannot watch a new layer");
                                        _cleanup_free_ char *m = NULL;
                                        if (asprintf(&m, "watching layer %s of %s", layer, w->storages[st]) >= 0)
                                                watch_report(fn, ud, PS_WATCH_NEW_LAYER, m);
                                }
                                break;
                        case W_DIFF: {
                                char names[64];
                                event_names(ev->mask, names);
                                /* copy what the callback and add_tree need: rec may move */
                                size_t st = rec->storage;
                                _cleanup_free_ char *layer = strdup(rec->layer);
                                _cleanup_free_ char *indir = strdup(rec->indir);
                                _cleanup_free_ char *path = strdup(rec->path);
                                if (!layer || !indir || !path)
                                        return ps_error_set(err, ENOMEM, "out of memory");
                                int r = watch_emit_file(w, fn, ud, st, layer, indir, name, nlen, ev->mask, names);
                                if (r < 0)
                                        return ps_error_set(err, -r, "event handler failed");
                                count++;
                                if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && (ev->mask & IN_ISDIR) &&
                                    !excluded_top(indir, name)) {
                                        _cleanup_free_ char *sub = ps_path_join(path, name);
                                        _cleanup_free_ char *subin = NULL;
                                        if (!sub || asprintf(&subin, "%s%s/", indir, name) < 0)
                                                return ps_error_set(err, ENOMEM, "out of memory");
                                        r = add_tree(w, sub, st, layer, subin, true, fn, ud, 0);
                                        if (r < 0 && r != -ENOSPC)
                                                return ps_error_set(err, -r, "cannot watch %s", sub);
                                }
                                break;
                        }
                        }
                }
        }
        if (rediscover) {
                int r = discover(w, fn, ud);
                if (r < 0 && r != -ENOSPC)
                        return ps_error_set(err, -r, "cannot look for new storages");
        }
        return count;
}

int ps_watch_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        return w->backend == PS_WATCH_FANOTIFY ? watch_fan_setup(w, fn, ud, err) : watch_ino_setup(w, fn, ud, err);
}

int ps_watch_process(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        return w->backend == PS_WATCH_FANOTIFY ? watch_fan_process(w, fn, ud, err) : ino_process(w, fn, ud, err);
}


char *ps_watch_escape(const char *name, size_t len)
{
        char *out = malloc(len * 4 + 1);
        if (!out)
                return NULL;
        char *o = out;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)name[i];
                if (c == '\\') {
                        *o++ = '\\';
                        *o++ = '\\';
                } else if (c == '\n') {
                        *o++ = '\\';
                        *o++ = 'n';
                } else if (c == '\t') {
                        *o++ = '\\';
                        *o++ = 't';
                } else if (c < 0x20 || c == 0x7f) {
                        o += snprintf(o, 5, "\\x%02x", c);
                } else {
                        *o++ = (char)c;
                }
        }
        *o = '\0';
        return out;
}
