/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fanotify backend of the layer watcher (see watch.h). */
#include "watch-int.h"
#include "cleanup.h"
#include "digest.h"
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* fanotify: a mount through which handles of one filesystem are opened */
struct fmount {
        int fsid[2];
        int mnt_id;
        int fd;
};

/* fanotify: what a directory handle stands for */
struct fentry {
        uint64_t hash;
        unsigned char *key;   /* fsid, handle type, handle bytes */
        size_t keylen;
        enum wkind kind;      /* W_OVERLAY, W_LAYER, W_DIFF, W_DISCOVERY, W_OTHER, W_GONE */
        size_t storage;
        char *layer;
        char *indir;
        char *path;           /* W_DISCOVERY */
};

#define FCACHE_SLOTS (1u << 17)
#define FCACHE_MAX (FCACHE_SLOTS / 2)

int watch_fan_init(void)
{
        return fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME,
                             O_RDONLY | O_CLOEXEC | O_LARGEFILE);
}

/* PATH with its deepest existing ancestor resolved (realpath) and the rest
 * appended: how the kernel will name it once it exists. */
static char *canon(const char *path)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return NULL;
        for (;;) {
                char *real = realpath(p, NULL);
                if (real) {
                        /* p is PATH cut at a '/' (or "/" itself) */
                        size_t cut = strcmp(p, "/") ? strlen(p) : 0;
                        char *out = NULL;
                        if (asprintf(&out, "%s%s", strcmp(real, "/") ? real : "", path + cut) < 0)
                                out = NULL;
                        free(real);
                        if (out && !*out) {
                                free(out);
                                out = strdup("/");
                        }
                        return out;
                }
                char *slash = strrchr(p, '/');
                if (!slash || (slash == p && !p[1]))
                        return strdup(path);
                if (slash == p)
                        p[1] = '\0';
                else
                        *slash = '\0';
        }
}

static void fentry_free(struct fentry *e)
{
        if (!e)
                return;
        free(e->key);
        free(e->layer);
        free(e->indir);
        free(e->path);
        free(e);
}

static void fan_clear_cache(ps_watch *w)
{
        if (!w->cache || !w->ncache)
                return;   /* (directories move often on a busy filesystem) */
        for (size_t i = 0; i < FCACHE_SLOTS; i++) {
                fentry_free(w->cache[i]);
                w->cache[i] = NULL;
        }
        w->ncache = 0;
}

void watch_fan_release(ps_watch *w)
{
        fan_clear_cache(w);
        free(w->cache);
        w->cache = NULL;
        for (size_t i = 0; i < w->ncands; i++)
                free(w->cands[i]);
        free(w->cands);
        free(w->cand_home);
        w->cands = NULL;
        w->cand_home = NULL;
        w->ncands = 0;
        for (size_t i = 0; i < w->nmounts; i++)
                close(w->mounts[i].fd);
        free(w->mounts);
        w->mounts = NULL;
        w->nmounts = 0;
        w->nfs = 0;
        free(w->etcdir);
        w->etcdir = NULL;
}

#define FAN_EVENTS (FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ONDIR)

/* Mark the filesystem holding the existing directory PATH (once per
 * filesystem) and keep a descriptor on its mount to open handles with.
 * Checks that handles of this filesystem can be opened.  Returns 0 or
 * -errno with *WHAT naming the step that failed. */
static int fan_mark_path(ps_watch *w, const char *path, const char **what)
{
        struct statfs sfs;
        if (statfs(path, &sfs) < 0) {
                *what = "statfs";
                return -errno;
        }
        int fsid[2];
        memcpy(fsid, &sfs.f_fsid, sizeof fsid);
        union watch_fhandle h = { .fh.handle_bytes = MAX_HANDLE_SZ };
        int mnt_id = -1;
        if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt_id, 0) < 0) {
                *what = "name_to_handle_at (the filesystem does not report file handles)";
                return -errno;
        }
        bool fs_marked = false;
        for (size_t i = 0; i < w->nmounts; i++) {
                if (memcmp(w->mounts[i].fsid, fsid, sizeof fsid))
                        continue;
                if (w->mounts[i].mnt_id == mnt_id)
                        return 0;
                fs_marked = true;
        }
        if (!fs_marked && fanotify_mark(w->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_EVENTS, AT_FDCWD, path) < 0) {
                *what = "fanotify_mark FAN_MARK_FILESYSTEM";
                return -errno;
        }
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                *what = "open";
                return -errno;
        }
        int t = open_by_handle_at(fd, &h.fh, O_PATH | O_CLOEXEC);
        if (t < 0) {
                int e = errno;
                close(fd);
                *what = "open_by_handle_at";
                return -e;
        }
        close(t);
        struct fmount *n = realloc(w->mounts, (w->nmounts + 1) * sizeof *n);
        if (!n) {
                close(fd);
                *what = "memory";
                return -ENOMEM;
        }
        w->mounts = n;
        w->mounts[w->nmounts++] = (struct fmount){ { fsid[0], fsid[1] }, mnt_id, fd };
        if (!fs_marked)
                w->nfs++;
        return 0;
}

/* The deepest existing directory at or above PATH. */
static char *existing_dir(const char *path)
{
        char *p = strdup(path);
        if (!p)
                return NULL;
        for (;;) {
                struct stat st;
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                        return p;
                char *slash = strrchr(p, '/');
                if (!slash) {
                        free(p);
                        return NULL;
                }
                if (slash == p) {
                        p[1] = '\0';
                        continue;
                }
                *slash = '\0';
        }
}

struct fan_ctx {
        char **cands;
        bool *home;
        size_t ncands;
};

static void fan_ctx_free(struct fan_ctx *c)
{
        for (size_t i = 0; i < c->ncands; i++)
                free(c->cands[i]);
        free(c->cands);
        free(c->home);
}

static int fan_cand(ps_watch *w, const char *home, const char *overlay, void *ctx)
{
        (void)w;
        struct fan_ctx *c = ctx;
        char *cp = canon(overlay);
        if (!cp)
                return -ENOMEM;
        for (size_t i = 0; i < c->ncands; i++)
                if (!strcmp(c->cands[i], cp)) {
                        free(cp);
                        return 0;
                }
        char **n = realloc(c->cands, (c->ncands + 1) * sizeof *n);
        if (n)
                c->cands = n;
        bool *hn = n ? realloc(c->home, (c->ncands + 1) * sizeof *hn) : NULL;
        if (!hn) {
                free(cp);
                return -ENOMEM;
        }
        c->home = hn;
        struct stat st;
        c->home[c->ncands] = stat(home, &st) == 0 && S_ISDIR(st.st_mode);
        c->cands[c->ncands++] = cp;
        return 0;
}

static bool has_storage(const ps_watch *w, const char *path)
{
        for (size_t i = 0; i < w->nstorages; i++)
                if (!strcmp(w->storages[i], path))
                        return true;
        return false;
}

/* Mark the filesystem of PATH where only discovery depends on it: a failure
 * is remembered, not fatal. */
static int fan_mark_soft(ps_watch *w, const char *path)
{
        const char *what = NULL;
        int r = fan_mark_path(w, path, &what);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && !w->reason)
                watch_set_reason(w, what, -r);   /* kept for the record; fanotify stays in use */
        return 0;
}

/* Find the candidate storages, mark the filesystems of the existing ones
 * (a failure is fatal: -errno, *WHAT says which step) and of the places
 * where new ones would appear (a failure is not), report new storages.
 * Returns 1 when the set of candidates or storages changed, else 0. */
static int fan_discover(ps_watch *w, ps_watch_fn fn, void *ud, const char **what)
{
        *what = "discovery";
        struct fan_ctx c = { 0 };
        int r = watch_for_each_candidate(w, true, fan_cand, &c);
        bool changed = false;
        if (r >= 0) {
                changed = c.ncands != w->ncands;
                for (size_t i = 0; !changed && i < c.ncands; i++)
                        changed = strcmp(c.cands[i], w->cands[i]) != 0 || c.home[i] != w->cand_home[i];
        }
        if (r < 0 || !changed) {
                fan_ctx_free(&c);
        } else {
                for (size_t i = 0; i < w->ncands; i++)
                        free(w->cands[i]);
                free(w->cands);
                free(w->cand_home);
                w->cands = c.cands;
                w->cand_home = c.home;
                w->ncands = c.ncands;
        }
        if (r < 0)
                return r;
        if (!w->etcdir) {
                _cleanup_free_ char *etc = ps_root_path(w->root, "/etc");
                _cleanup_free_ char *home = ps_root_path(w->root, "/home");
                if (!etc || !home || !(w->etcdir = canon(etc)))
                        return -ENOMEM;
                _cleanup_free_ char *d = existing_dir(w->etcdir);
                _cleanup_free_ char *hd = existing_dir(home);
                if ((d && fan_mark_soft(w, d) < 0) || (hd && fan_mark_soft(w, hd) < 0))
                        return -ENOMEM;
        }
        for (size_t i = 0; i < w->ncands; i++) {
                _cleanup_free_ char *d = existing_dir(w->cands[i]);
                if (!d)
                        continue;
                if (strcmp(d, w->cands[i])) {
                        /* not there yet: see it appear where its home exists */
                        if (w->cand_home[i] && fan_mark_soft(w, d) < 0)
                                return -ENOMEM;
                        continue;
                }
                if ((r = fan_mark_path(w, d, what)) < 0)
                        return r;
                if (has_storage(w, d))
                        continue;
                char **n = realloc(w->storages, (w->nstorages + 1) * sizeof *n);
                if (!n)
                        return -ENOMEM;
                w->storages = n;
                if (!(w->storages[w->nstorages] = strdup(d)))
                        return -ENOMEM;
                w->nstorages++;
                changed = true;
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "watching container storage %s", d) >= 0)
                        watch_report(fn, ud, PS_WATCH_NEW_STORAGE, m);
        }
        if (changed)
                fan_clear_cache(w);   /* "not a layer" answers may be wrong now */
        return changed;
}

static bool excluded_dir(const char *indir)
{
        static const char *const ex[] = { "/var/", "/proc/", "/tmp/", "/run/" };
        for (size_t i = 0; i < sizeof ex / sizeof *ex; i++)
                if (!strncmp(indir, ex[i], strlen(ex[i])))
                        return true;
        return false;
}

/* What the directory at PATH is to us. */
static int fan_classify(ps_watch *w, const char *path, struct fentry *e)
{
        e->kind = W_OTHER;
        for (size_t i = 0; i < w->nstorages; i++) {
                const char *st = w->storages[i];
                size_t sl = strlen(st);
                if (strncmp(path, st, sl) || (path[sl] && path[sl] != '/'))
                        continue;
                e->storage = i;
                if (!path[sl]) {
                        e->kind = W_OVERLAY;
                        return 0;
                }
                const char *rest = path + sl + 1;
                const char *slash = strchr(rest, '/');
                if (rest[0] == '.' || (!strncmp(rest, "l", 1) && (rest[1] == '/' || !rest[1])))
                        return 0;
                if (!slash) {
                        e->kind = W_LAYER;
                        return (e->layer = strdup(rest)) ? 0 : -ENOMEM;
                }
                const char *after = slash + 1;
                if (strncmp(after, "diff", 4) || (after[4] && after[4] != '/'))
                        return 0;
                char *indir = NULL;
                if (asprintf(&indir, "/%s%s", after[4] ? after + 5 : "", after[4] ? "/" : "") < 0)
                        return -ENOMEM;
                if (excluded_dir(indir)) {
                        free(indir);
                        return 0;
                }
                e->indir = indir;
                if (!(e->layer = strndup(rest, (size_t)(slash - rest))))
                        return -ENOMEM;
                e->kind = W_DIFF;
                return 0;
        }
        size_t pl = strlen(path);
        bool disc = w->etcdir && !strcmp(path, w->etcdir);
        for (size_t i = 0; !disc && i < w->ncands; i++) {
                const char *c = w->cands[i];
                /* PATH is the (not yet known) storage or one of its ancestors */
                disc = !strncmp(c, path, pl) && (c[pl] == '/' || !c[pl] || !strcmp(path, "/"));
        }
        if (disc) {
                e->kind = W_DISCOVERY;
                return (e->path = strdup(path)) ? 0 : -ENOMEM;
        }
        return 0;
}

/* The cache entry for a directory handle, resolving it when new; NULL with
 * errno on memory failure. */
static struct fentry *fan_lookup(ps_watch *w, const int fsid[2], struct file_handle *fh)
{
        unsigned char key[8 + 4 + MAX_HANDLE_SZ];
        size_t keylen = 12 + fh->handle_bytes;
        memcpy(key, fsid, 8);
        memcpy(key + 8, &fh->handle_type, 4);
        memcpy(key + 12, fh->f_handle, fh->handle_bytes);
        uint64_t h = ps_fnv1a64(key, keylen);
        if (!w->cache && !(w->cache = calloc(FCACHE_SLOTS, sizeof *w->cache))) {
                errno = ENOMEM;
                return NULL;
        }
        size_t slot = (size_t)h & (FCACHE_SLOTS - 1);
        for (struct fentry *e; (e = w->cache[slot]); slot = (slot + 1) & (FCACHE_SLOTS - 1))
                if (e->hash == h && e->keylen == keylen && !memcmp(e->key, key, keylen))
                        return e;
        struct fentry *e = calloc(1, sizeof *e);
        if (!e || !(e->key = malloc(keylen))) {
                free(e);
                errno = ENOMEM;
                return NULL;
        }
        memcpy(e->key, key, keylen);
        e->keylen = keylen;
        e->hash = h;
        e->kind = W_GONE;
        for (size_t i = 0; i < w->nmounts; i++) {
                if (memcmp(w->mounts[i].fsid, fsid, 8))
                        continue;
                int dfd = open_by_handle_at(w->mounts[i].fd, fh, O_PATH | O_CLOEXEC);
                if (dfd < 0)
                        continue;
                char lnk[64], path[PATH_MAX];
                snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", dfd);
                ssize_t n = readlink(lnk, path, sizeof path - 1);
                close(dfd);
                if (n <= 0 || path[0] != '/')
                        continue;
                path[n] = '\0';
                if (n > 10 && !strcmp(path + n - 10, " (deleted)"))
                        break;
                if (fan_classify(w, path, e) < 0) {
                        fentry_free(e);
                        errno = ENOMEM;
                        return NULL;
                }
                break;
        }
        if (w->ncache >= FCACHE_MAX) {
                fan_clear_cache(w);
                slot = (size_t)h & (FCACHE_SLOTS - 1);
        }
        while (w->cache[slot])
                slot = (slot + 1) & (FCACHE_SLOTS - 1);
        w->cache[slot] = e;
        w->ncache++;
        return e;
}

int watch_fan_setup(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        const char *what = NULL;
        int r = fan_discover(w, fn, ud, &what);
        if (r >= 0)
                return 0;
        if (r == -ENOMEM)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (w->want == PS_WATCH_FANOTIFY)
                return ps_error_errno(err, -r, "cannot use fanotify (%s)", what);
        /* fall back to inotify */
        watch_set_reason(w, what, -r);
        watch_fan_release(w);
        watch_clear_storages(w);
        int nfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (nfd < 0)
                return ps_error_errno(err, errno, "cannot create an inotify instance");
        close(w->fd);
        w->fd = nfd;
        w->backend = PS_WATCH_INOTIFY;
        return watch_ino_setup(w, fn, ud, err);
}

static int fan_rescan(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        fan_clear_cache(w);
        const char *what = NULL;
        int r = fan_discover(w, fn, ud, &what);
        if (r < 0)
                return ps_error_errno(err, -r, "cannot look for storages again (%s)", what);
        char *m = NULL;
        if (asprintf(&m, "rescanned: %zu storages on %zu filesystems watched", w->nstorages, w->nfs) < 0)
                m = NULL;
        watch_report(fn, ud, PS_WATCH_RESCANNED, m ? m : "rescanned");
        free(m);
        return 0;
}

static const uint32_t fan_bits[] = { FAN_CREATE, FAN_MOVED_TO, FAN_MODIFY, FAN_MOVED_FROM, FAN_DELETE };
static const char *const fan_bit_names[] = { "CREATE", "MOVED_TO", "MODIFY", "MOVED_FROM", "DELETE" };

/* The next event of a read buffer: see watch-int.h. */
int watch_fan_next(const void *buf, size_t len, size_t *off, watch_fan_rec *rec)
{
        /* not FAN_EVENT_OK/NEXT: they read the metadata in place, and the
         * kernel pads records to 4 bytes only, so an event after one whose
         * name has an odd length is not aligned for the 64-bit mask */
        const unsigned char *base = buf;
        if (*off > len || len - *off < FAN_EVENT_METADATA_LEN)
                return 0;
        const unsigned char *raw = base + *off;
        struct fanotify_event_metadata m;
        memcpy(&m, raw, sizeof m);
        if (m.event_len < FAN_EVENT_METADATA_LEN || m.event_len > len - *off || m.metadata_len < FAN_EVENT_METADATA_LEN ||
            m.metadata_len > m.event_len)
                return -EBADMSG;
        *off += m.event_len;
        if (m.vers != FANOTIFY_METADATA_VERSION)
                return -EPROTO;
        memset(rec, 0, sizeof *rec);
        rec->mask = m.mask;
        rec->fd = m.fd;
        /* the information records: the one that names the directory and the entry */
        const unsigned char *p = raw + m.metadata_len, *end = raw + m.event_len;
        while ((size_t)(end - p) >= sizeof(struct fanotify_event_info_header)) {
                struct fanotify_event_info_header hdr;
                memcpy(&hdr, p, sizeof hdr);
                if (hdr.len < sizeof hdr || hdr.len > (size_t)(end - p))
                        break;
                size_t fixed = sizeof(struct fanotify_event_info_fid) + sizeof(struct file_handle);
                if (hdr.info_type == FAN_EVENT_INFO_TYPE_DFID_NAME && hdr.len > fixed) {
                        const unsigned char *rec_end = p + hdr.len;
                        const unsigned char *fh = p + sizeof(struct fanotify_event_info_fid);
                        struct file_handle fhh;
                        memcpy(&fhh, fh, sizeof fhh);
                        const unsigned char *hb = fh + sizeof fhh;
                        if (fhh.handle_bytes <= MAX_HANDLE_SZ && fhh.handle_bytes < (size_t)(rec_end - hb)) {
                                const char *name = (const char *)hb + fhh.handle_bytes;
                                size_t room = (size_t)((const char *)rec_end - name);
                                size_t nlen = strnlen(name, room);
                                if (nlen < room) {   /* terminated inside the record */
                                        memcpy(rec->fsid, p + sizeof(struct fanotify_event_info_header),
                                               sizeof rec->fsid);
                                        memcpy(&rec->handle.fh, fh, sizeof fhh + fhh.handle_bytes);
                                        rec->name = name;
                                        rec->name_len = nlen;
                                        rec->has_name = true;
                                }
                        }
                }
                p += hdr.len;
        }
        return 1;
}

/* One event with its directory and entry name (REC->has_name). */
static int fan_event(ps_watch *w, watch_fan_rec *rec, ps_watch_fn fn, void *ud, ps_error *err)
{
        const char *name = rec->name;
        size_t nlen = rec->name_len;
        if (!strcmp(name, "."))
                return 0;
        struct fentry *e = fan_lookup(w, rec->fsid, &rec->handle.fh);
        if (!e)
                return ps_error_set(err, ENOMEM, "out of memory");
        bool isdir = rec->mask & FAN_ONDIR;
        bool dirent = rec->mask & (FAN_CREATE | FAN_MOVED_TO);
        int count = 0;
        switch (e->kind) {
        case W_GONE:
                w->unplaced++;
                break;
        case W_OTHER:
                break;
        case W_DISCOVERY: {
                bool again = !strcmp(e->path, w->etcdir ? w->etcdir : "") && !strcmp(name, "passwd");
                if (!again && dirent && isdir) {
                        _cleanup_free_ char *full = ps_path_join(e->path, name);
                        if (!full)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        size_t fl = strlen(full);
                        for (size_t i = 0; !again && i < w->ncands; i++)
                                again = !strncmp(w->cands[i], full, fl) && (!w->cands[i][fl] || w->cands[i][fl] == '/');
                }
                if (again) {
                        const char *what = NULL;
                        int r = fan_discover(w, fn, ud, &what);   /* may empty the cache: e is gone */
                        if (r < 0 && r != -ENOENT) {
                                char *msg = NULL;
                                if (asprintf(&msg, "cannot watch a new storage: %s: %s", what, strerror(-r)) < 0)
                                        msg = NULL;
                                watch_report(fn, ud, PS_WATCH_LIMIT, msg ? msg : "cannot watch a new storage");
                                free(msg);
                        }
                }
                break;
        }
        case W_OVERLAY:
                if (dirent && isdir && name[0] != '.' && strcmp(name, "l")) {
                        _cleanup_free_ char *msg = NULL;
                        if (asprintf(&msg, "watching layer %s of %s", name, w->storages[e->storage]) >= 0)
                                watch_report(fn, ud, PS_WATCH_NEW_LAYER, msg);
                }
                break;
        case W_LAYER:
                break;
        case W_DIFF:
                /* the kernel merges events on one name: report each kind */
                for (size_t i = 0; i < sizeof fan_bits / sizeof *fan_bits; i++) {
                        if (!(rec->mask & fan_bits[i]))
                                continue;
                        char names[64];
                        snprintf(names, sizeof names, "%s%s", fan_bit_names[i], isdir ? ",ISDIR" : "");
                        int r = watch_emit_file(w, fn, ud, e->storage, e->layer, e->indir, name, nlen,
                                          fan_bits[i] | (isdir ? IN_ISDIR : 0), names);
                        if (r < 0)
                                return ps_error_set(err, -r, "event handler failed");
                        count++;
                }
                break;
        }
        /* a directory moved: cached paths below it may be wrong now */
        if (isdir && (rec->mask & (FAN_MOVED_FROM | FAN_MOVED_TO)))
                fan_clear_cache(w);
        return count;
}

int watch_fan_process(ps_watch *w, ps_watch_fn fn, void *ud, ps_error *err)
{
        char buf[64 * 1024] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
        int count = 0;
        for (;;) {
                ssize_t n = watch_read(w, buf, sizeof buf, err);
                if (n < 0)
                        return -1;
                if (n == 0)
                        break;
                size_t off = 0;
                watch_fan_rec rec;
                int k;
                while ((k = watch_fan_next(buf, (size_t)n, &off, &rec)) > 0) {
                        if (rec.fd >= 0)
                                close(rec.fd);
                        if (rec.mask & FAN_Q_OVERFLOW) {
                                watch_report(fn, ud, PS_WATCH_OVERFLOW,
                                             "the kernel event queue overflowed: events were lost; rescanning");
                                count++;
                                if (fan_rescan(w, fn, ud, err) < 0)
                                        return -1;
                                continue;
                        }
                        if (!rec.has_name)
                                continue;
                        int r = fan_event(w, &rec, fn, ud, err);
                        if (r < 0)
                                return r;
                        count += r;
                }
                if (k == -EPROTO)
                        return ps_error_set(err, EPROTO, "unexpected fanotify metadata version");
                if (k < 0)
                        return ps_error_set(err, EBADMSG, "malformed fanotify event at offset %zu of %zd bytes", off,
                                            n);
        }
        return count;
}

ps_watch_backend ps_watch_probe(const char *root, char **why)
{
        *why = NULL;
        ps_watch *w = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_watch_new(root, PS_WATCH_AUTO, &w, &err) < 0) {
                *why = strdup(ps_error_msg(&err));
                ps_error_clear(&err);
                return PS_WATCH_INOTIFY;
        }
        ps_watch_backend b = w->backend;
        if (b == PS_WATCH_FANOTIFY) {
                _cleanup_free_ char *st = ps_root_path(w->root, "/var/lib/containers/storage/overlay");
                _cleanup_free_ char *d = st ? existing_dir(st) : NULL;
                const char *what = "memory";
                int r = d ? fan_mark_path(w, d, &what) : -ENOMEM;
                if (r < 0) {
                        watch_set_reason(w, what, -r);
                        b = PS_WATCH_INOTIFY;
                }
        }
        if (b == PS_WATCH_INOTIFY && w->reason)
                *why = strdup(w->reason);
        ps_watch_free(w);
        return b;
}

