/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"
#include "fs.h"
#include "cleanup.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ps_fault_point(void)
{
#if PODSEC_FAULT_INJECTION
        static long limit = -2, count;
        if (limit == -2) {
                const char *s = getenv("PODSEC_FAULT_AFTER");
                char *end = NULL;
                limit = -1;
                if (s && *s) {
                        errno = 0;
                        long v = strtol(s, &end, 10);
                        if (!errno && end && !*end && v > 0)
                                limit = v;
                }
        }
        if (limit > 0 && ++count >= limit) {
                signal(SIGABRT, SIG_DFL);
                abort();
        }
#endif
}

char *ps_path_join(const char *a, const char *b)
{
        size_t la = strlen(a);
        while (la > 0 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        char *r = NULL;
        if (asprintf(&r, "%.*s/%s", (int)la, a, b) < 0)
                return NULL;
        return r;
}

char *ps_root_path(const char *root, const char *path)
{
        if (!root || !*root || (root[0] == '/' && root[strspn(root, "/")] == '\0'))
                return strdup(path);
        return ps_path_join(root, path);
}

int ps_read_fd(int fd, const char *shown, size_t max, size_t size_hint, char **out, size_t *lenp, ps_error *err)
{
        *out = NULL;
        if (lenp)
                *lenp = 0;
        size_t cap = (size_hint < max ? size_hint : max) + 1, len = 0;
        if (cap < 64)
                cap = 64;
        _cleanup_free_ char *buf = malloc(cap);
        if (!buf)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > max + 1)
                                return ps_error_set(err, EFBIG, "%s is too large (limit %zu bytes)", shown, max);
                        char *n = realloc(buf, cap * 2);
                        if (!n)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        buf = n;
                        cap *= 2;
                }
                ssize_t r = read(fd, buf + len, cap - 1 - len);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(err, errno, "cannot read %s", shown);
                }
                if (r == 0)
                        break;
                len += (size_t)r;
                if (len > max)
                        return ps_error_set(err, EFBIG, "%s is too large (limit %zu bytes)", shown, max);
        }
        buf[len] = '\0';
        if (lenp)
                *lenp = len;
        *out = steal_pointer(&buf);
        return 0;
}

int ps_fstat_regular(int fd, const char *shown, size_t max, struct stat *st, ps_error *err)
{
        if (fstat(fd, st) < 0)
                return ps_error_errno(err, errno, "cannot stat %s", shown);
        if (!S_ISREG(st->st_mode))
                return ps_error_set(err, EINVAL, "%s is not a regular file", shown);
        if ((uint64_t)st->st_size > max)
                return ps_error_set(err, EFBIG, "%s is too large (%lld bytes, limit %zu)", shown,
                                    (long long)st->st_size, max);
        return 0;
}

int ps_read_file(const char *path, size_t max, char **out, size_t *lenp, ps_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open %s", path);
        struct stat st;
        int r = ps_fstat_regular(fd, path, max, &st, err);
        if (r < 0)
                return r;
        return ps_read_fd(fd, path, max, (size_t)st.st_size, out, lenp, err);
}

static int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                len -= (size_t)w;
        }
        return 0;
}

static char *dir_of(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return NULL;
        return strdup(dirname(copy));
}

static char *base_of(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return NULL;
        return strdup(basename(copy));
}

int ps_fsync_dir(const char *dir)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

/* Write DATA to a fresh temp file next to PATH; returns its name. */
static int write_temp(const char *path, const void *data, size_t len, mode_t mode, char **tmpname,
                      ps_error *err)
{
        _cleanup_free_ char *dir = dir_of(path);
        _cleanup_free_ char *base = base_of(path);
        if (!dir || !base)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *tmpl = NULL;
        if (asprintf(&tmpl, "%s/.%s.XXXXXX", dir, base) < 0)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int fd = mkostemp(tmpl, O_CLOEXEC);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot create a temporary file in %s", dir);
        int r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && close(ps_steal_fd(&fd)) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmpl);
                return ps_error_errno(err, -r, "cannot write %s", tmpl);
        }
        ps_fault_point();
        *tmpname = steal_pointer(&tmpl);
        return 0;
}

int ps_write_atomic(const char *path, const void *data, size_t len, mode_t mode, ps_error *err)
{
        _cleanup_free_ char *tmp = NULL;
        int r = write_temp(path, data, len, mode, &tmp, err);
        if (r < 0)
                return r;
        if (rename(tmp, path) < 0) {
                r = errno;
                unlink(tmp);
                return ps_error_errno(err, r, "cannot replace %s", path);
        }
        ps_fault_point();
        _cleanup_free_ char *dir = dir_of(path);
        if (dir)
                ps_fsync_dir(dir);
        return 0;
}

int ps_create_excl(const char *path, const void *data, size_t len, mode_t mode, ps_error *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot create %s", path);
        int r = write_all(fd, data, len);
        if (r == 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && close(ps_steal_fd(&fd)) < 0)
                r = -errno;
        if (r < 0) {
                unlink(path);
                return ps_error_errno(err, -r, "cannot write %s", path);
        }
        ps_fault_point();
        return 0;
}

int ps_symlink_atomic(const char *target, const char *linkpath, ps_error *err)
{
        _cleanup_free_ char *dir = dir_of(linkpath);
        _cleanup_free_ char *base = base_of(linkpath);
        if (!dir || !base)
                return ps_error_set(err, ENOMEM, "out of memory");
        for (int attempt = 0; attempt < 100; attempt++) {
                _cleanup_free_ char *tmp = NULL;
                if (asprintf(&tmp, "%s/.%s.lnk%08x", dir, base, (unsigned)random()) < 0)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if (symlink(target, tmp) < 0) {
                        if (errno == EEXIST)
                                continue;
                        return ps_error_errno(err, errno, "cannot create a symlink in %s", dir);
                }
                ps_fault_point();
                if (rename(tmp, linkpath) < 0) {
                        int e = errno;
                        unlink(tmp);
                        return ps_error_errno(err, e, "cannot switch %s to %s", linkpath, target);
                }
                ps_fault_point();
                ps_fsync_dir(dir);
                return 0;
        }
        return ps_error_set(err, EEXIST, "cannot find a free temporary name in %s", dir);
}

int ps_mkdir_p(const char *path, mode_t mode, ps_error *err)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
                p[--n] = '\0';
        for (char *s = p + 1; ; s++) {
                bool last = (*s == '\0');
                if (*s == '/' || last) {
                        char saved = *s;
                        *s = '\0';
                        struct stat st;
                        if (stat(p, &st) == 0) {
                                if (!S_ISDIR(st.st_mode))
                                        return ps_error_set(err, ENOTDIR, "%s exists and is not a directory", p);
                        } else if (errno == ENOENT) {
                                if (mkdir(p, last ? mode : 0755) < 0 && errno != EEXIST)
                                        return ps_error_errno(err, errno, "cannot create directory %s", p);
                                if (last && chmod(p, mode) < 0)
                                        return ps_error_errno(err, errno, "cannot set the mode of %s", p);
                                ps_fault_point();
                        } else {
                                return ps_error_errno(err, errno, "cannot stat %s", p);
                        }
                        *s = saved;
                        if (last)
                                break;
                }
        }
        return 0;
}

int ps_set_owner_mode(const char *path, uid_t uid, gid_t gid, mode_t mode, bool *changed, ps_error *err)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat %s", path);
        if (S_ISLNK(st.st_mode))
                return ps_error_set(err, ELOOP, "%s is a symbolic link; refusing to change its owner", path);
        bool ch = false;
        if ((uid != (uid_t)-1 && st.st_uid != uid) || (gid != (gid_t)-1 && st.st_gid != gid)) {
                if (lchown(path, uid, gid) < 0)
                        return ps_error_errno(err, errno, "cannot change the owner of %s", path);
                ch = true;
                ps_fault_point();
        }
        if ((st.st_mode & 07777) != (mode & 07777) || ch) {
                /* chown clears set-id bits; re-apply the mode after it */
                if (chmod(path, mode) < 0)
                        return ps_error_errno(err, errno, "cannot change the mode of %s", path);
                if ((st.st_mode & 07777) != (mode & 07777))
                        ch = true;
                ps_fault_point();
        }
        if (changed)
                *changed = *changed || ch;
        return 0;
}

bool ps_file_exists(const char *path)
{
        struct stat st;
        return lstat(path, &st) == 0;
}

bool ps_same_content(const char *path, const void *data, size_t len)
{
        _cleanup_free_ char *buf = NULL;
        size_t blen = 0;
        if (ps_read_file(path, len + 1, &buf, &blen, NULL) < 0)
                return false;
        return blen == len && memcmp(buf, data, len) == 0;
}

void ps_timestamp(time_t t, char buf[static 32])
{
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%d_%H:%M:%S", &tm);
}

/* Preserve the regular file at PATH under BACKUP (hard link).  If BACKUP
 * exists with other content, try BACKUP.1, BACKUP.2, ... */
static int preserve(const char *path, const char *backup, ps_error *err)
{
        _cleanup_free_ char *old = NULL;
        size_t oldlen = 0;
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *name = NULL;
                if (i == 0)
                        name = strdup(backup);
                else if (asprintf(&name, "%s.%d", backup, i) < 0)
                        name = NULL;
                if (!name)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if (link(path, name) == 0) {
                        ps_fault_point();
                        return 0;
                }
                if (errno != EEXIST)
                        return ps_error_errno(err, errno, "cannot keep a backup of %s as %s", path, name);
                if (!old && ps_read_file(path, 64 << 20, &old, &oldlen, err) < 0)
                        return ps_error_wrap(err, "cannot back up %s", path);
                if (ps_same_content(name, old, oldlen))
                        return 0;
        }
        return ps_error_set(err, EEXIST, "no free backup name for %s", path);
}

int ps_dated_install(const ps_dated *d, time_t now, const void *data, size_t len, char **target,
                     ps_error *err)
{
        char ts_now[32], ts_yday[32];
        ps_timestamp(now, ts_now);
        ps_timestamp(now - 24 * 60 * 60, ts_yday);

        _cleanup_free_ char *managed = ps_path_join(d->dir, d->name);
        if (!managed)
                return ps_error_set(err, ENOMEM, "out of memory");

        struct stat st;
        if (lstat(managed, &st) == 0) {
                if (S_ISREG(st.st_mode)) {
                        _cleanup_free_ char *b = NULL;
                        if (asprintf(&b, "%s/%s%s", d->dir, d->backup_prefix, ts_yday) < 0)
                                return ps_error_set(err, ENOMEM, "out of memory");
                        int r = preserve(managed, b, err);
                        if (r < 0)
                                return r;
                } else if (!S_ISLNK(st.st_mode)) {
                        return ps_error_set(err, EINVAL, "%s is neither a file nor a symbolic link", managed);
                }
        } else if (errno != ENOENT) {
                return ps_error_errno(err, errno, "cannot stat %s", managed);
        }

        /* The new dated file: temp + fsync, then link() to a free dated name. */
        _cleanup_free_ char *tmp = NULL;
        int r = write_temp(managed, data, len, d->mode, &tmp, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dated = NULL;
        for (int i = 0; i < 1000 && !dated; i++) {
                _cleanup_free_ char *cand = NULL;
                if ((i == 0 ? asprintf(&cand, "%s%s", d->dated_prefix, ts_now)
                            : asprintf(&cand, "%s%s.%d", d->dated_prefix, ts_now, i)) < 0) {
                        unlink(tmp);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                _cleanup_free_ char *full = ps_path_join(d->dir, cand);
                if (!full) {
                        unlink(tmp);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                if (link(tmp, full) == 0)
                        dated = steal_pointer(&cand);
                else if (errno != EEXIST) {
                        int e = errno;
                        unlink(tmp);
                        return ps_error_errno(err, e, "cannot create %s", full);
                }
        }
        unlink(tmp);
        if (!dated)
                return ps_error_set(err, EEXIST, "no free dated name for %s", managed);
        ps_fault_point();
        r = ps_symlink_atomic(dated, managed, err);
        if (r < 0)
                return r;
        if (target)
                *target = steal_pointer(&dated);
        return 0;
}
