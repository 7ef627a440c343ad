/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "users.h"
#include "cleanup.h"
#include "fs.h"
#include "process.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <pwd.h>
#include <shadow.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int oom(ps_error *err)
{
        return ps_error_set(err, ENOMEM, "out of memory");
}

/* ---- names and arguments ---------------------------------------------- */

int ps_user_name_check(const char *name, ps_error *err)
{
        size_t len = strlen(name);
        if (len == 0)
                return ps_error_set(err, EINVAL, "the user name is empty");
        if (len > PS_USER_NAME_MAX)
                return ps_error_set(err, EINVAL, "user name '%s' is longer than %d characters", name,
                                    PS_USER_NAME_MAX);
        if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
                return ps_error_set(err, EINVAL,
                                    "invalid user name '%s': it must begin with a lowercase letter or '_'", name);
        for (const char *p = name; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
                        return ps_error_set(err, EINVAL,
                                            "invalid user name '%s': only lowercase letters, digits, '_', '-' and "
                                            "'.' are allowed", name);
        }
        return 0;
}

void ps_maker_args_free(ps_maker_arg *a, size_t n)
{
        if (!a)
                return;
        for (size_t i = 0; i < n; i++) {
                free(a[i].user);
                free(a[i].scope);
        }
        free(a);
}

/* Printable form of an argument for messages (control characters as '?'). */
static char *shown_arg(const char *s)
{
        char *d = strdup(s);
        if (d)
                for (char *p = d; *p; p++)
                        if ((unsigned char)*p < 0x20 || *p == 0x7f)
                                *p = '?';
        return d;
}

static int split_maker(const char *arg, bool several, ps_maker_arg *out, ps_error *err)
{
        _cleanup_free_ char *shown = shown_arg(arg);
        if (!shown)
                return oom(err);
        const char *at = strchr(arg, '@');
        if (!at)
                return ps_error_set(err, EINVAL, "'%s': %s", shown,
                                    several ? "with several arguments each one must be USER@SCOPE"
                                            : "expected USER@SCOPE");
        if (strchr(at + 1, '@'))
                return ps_error_set(err, EINVAL, "'%s': more than one '@' (expected USER@SCOPE)", shown);
        if (at == arg)
                return ps_error_set(err, EINVAL, "'%s': the user name before '@' is empty", shown);
        if (!at[1])
                return ps_error_set(err, EINVAL, "'%s': the scope after '@' is empty", shown);
        out->user = strndup(arg, (size_t)(at - arg));
        out->scope = strdup(at + 1);
        if (!out->user || !out->scope)
                return oom(err);
        int r = ps_user_name_check(out->user, err);
        if (r < 0)
                return ps_error_wrap(err, "'%s'", shown);
        r = ps_policy_check_scope("docker", out->scope, PS_POLICY_STRICT, err);
        if (r < 0)
                return ps_error_wrap(err, "'%s': invalid scope", shown);
        return 0;
}

int ps_maker_args_parse(char *const *args, size_t n, const char *registry, ps_maker_arg **out, size_t *n_out,
                        int *why, ps_error *err)
{
        *out = NULL;
        *n_out = 0;
        *why = PS_MAKER_ARGS_INVALID;
        size_t count = n ? n : 1;
        ps_maker_arg *v = calloc(count, sizeof *v);
        if (!v)
                return oom(err);
        int r = 0;
        if (n == 0 || (n == 1 && !strchr(args[0], '@'))) {
                _cleanup_free_ char *a = NULL;
                if (asprintf(&a, "%s@%s", n ? args[0] : "imagemaker", registry) < 0)
                        r = oom(err);
                else
                        r = split_maker(a, false, &v[0], err);
        } else {
                for (size_t i = 0; i < n && r == 0; i++)
                        r = split_maker(args[i], n > 1, &v[i], err);
        }
        if (r < 0) {
                ps_maker_args_free(v, count);
                return r;
        }
        for (size_t i = 0; i < count; i++)
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(v[i].scope, v[j].scope)) {
                                r = ps_error_set(err, EEXIST,
                                                 "scope %s is given twice (%s@%s and %s@%s): one scope, one image "
                                                 "maker per run", v[i].scope, v[j].user, v[j].scope, v[i].user,
                                                 v[i].scope);
                                ps_maker_args_free(v, count);
                                *why = PS_MAKER_ARGS_DUPLICATE;
                                return r;
                        }
        *why = PS_MAKER_ARGS_OK;
        *out = v;
        *n_out = count;
        return 0;
}

char *ps_scope_host(const char *scope)
{
        const char *s = scope;
        if (!strncmp(s, "*.", 2))
                s += 2;
        size_t n = strcspn(s, "/");
        if (s[0] == '[') {
                const char *e = memchr(s, ']', n);
                if (e)
                        return strndup(s + 1, (size_t)(e - s - 1));
        }
        const char *colon = memchr(s, ':', n);
        if (colon)
                n = (size_t)(colon - s);
        return strndup(s, n);
}

/* ---- secrets ------------------------------------------------------------ */

void ps_secret_free(char *s)
{
        if (!s)
                return;
        explicit_bzero(s, strlen(s));
        free(s);
}

int ps_secret_read_file(const char *path, const char *what, char **out, ps_error *err)
{
        *out = NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open the %s %s", what, path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat the %s %s", what, path);
        if (!S_ISREG(st.st_mode))
                return ps_error_set(err, EINVAL, "the %s %s is not a regular file", what, path);
        if (st.st_size > PS_SECRET_FILE_MAX)
                return ps_error_set(err, EFBIG, "the %s %s is larger than %d bytes", what, path, PS_SECRET_FILE_MAX);
        char *buf = calloc(1, PS_SECRET_FILE_MAX + 2);
        if (!buf)
                return oom(err);
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, buf + len, PS_SECRET_FILE_MAX + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;
                        explicit_bzero(buf, len);
                        free(buf);
                        return ps_error_errno(err, e, "cannot read the %s %s", what, path);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > PS_SECRET_FILE_MAX) {
                        explicit_bzero(buf, len);
                        free(buf);
                        return ps_error_set(err, EFBIG, "the %s %s is larger than %d bytes", what, path,
                                            PS_SECRET_FILE_MAX);
                }
        }
        const char *problem = NULL;
        if (memchr(buf, '\0', len))
                problem = "contains a NUL byte";
        if (!problem && len && buf[len - 1] == '\n') {
                buf[--len] = '\0';
                if (len && buf[len - 1] == '\r')
                        buf[--len] = '\0';
        }
        if (!problem && len == 0)
                problem = "is empty";
        if (!problem && (memchr(buf, '\n', len) || memchr(buf, '\r', len)))
                problem = "has more than one line";
        if (problem) {
                explicit_bzero(buf, PS_SECRET_FILE_MAX + 2);
                free(buf);
                return ps_error_set(err, EINVAL, "the %s %s %s (it must hold exactly one line)", what, path,
                                    problem);
        }
        *out = buf;
        return 0;
}

int ps_password_hash(const char *password, char **hash, ps_error *err)
{
        *hash = NULL;
        if (!*password)
                return ps_error_set(err, EINVAL, "the password is empty");
        errno = 0;
        char *setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
        if (!setting)
                return ps_error_errno(err, errno ? errno : EINVAL, "cannot make a password salt (crypt_gensalt)");
        void *data = NULL;
        int size = 0;
        errno = 0;
        char *h = crypt_ra(password, setting, &data, &size);
        int e = errno;
        free(setting);
        int r = 0;
        if (!h || h[0] == '*' || h[0] != '$')
                r = ps_error_errno(err, e ? e : EINVAL, "cannot hash the password (crypt)");
        else if (!(*hash = strdup(h)))
                r = oom(err);
        if (data) {
                explicit_bzero(data, (size_t)size);
                free(data);
        }
        return r;
}

/* ---- shadow tools ------------------------------------------------------- */

static bool is_host(const char *root)
{
        return !root || !*root || (root[0] == '/' && root[strspn(root, "/")] == '\0');
}

static void chomp(char *s)
{
        size_t l = s ? strlen(s) : 0;
        while (l && (s[l - 1] == '\n' || s[l - 1] == ' '))
                s[--l] = '\0';
}

static int run_tool(const char *const *argv, const char *what, ps_error *err)
{
        _cleanup_free_ char *errout = NULL;
        ps_spawn_opts o = { .errout = &errout };
        int status = 0;
        int r = ps_spawn(argv, &o, &status, err);
        if (r < 0)
                return ps_error_wrap(err, "%s", what);
        if (status != 0) {
                chomp(errout);
                return ps_error_set(err, EIO, "%s: %s failed (exit %d): %s", what, argv[0], status,
                                    errout && *errout ? errout : "no message");
        }
        ps_fault_point();
        return 0;
}

/* The value of KEY= in ROOT/etc/default/useradd (an absolute path), or DEF. */
static int default_useradd_path(const char *root, const char *key, const char *def, char **out, ps_error *err);

int ps_useradd(const char *root, const char *name, const char *primary, const char *supplementary, ps_error *err)
{
        const char *argv[16];
        int n = 0;
        _cleanup_free_ char *skel = NULL, *rskel = NULL;
        argv[n++] = "useradd";
        if (!is_host(root)) {
                argv[n++] = "--prefix";
                argv[n++] = root;
                /* useradd --prefix (shadow 4.13) copies the HOST's skeleton
                 * directory unless -k names one; name the root's (a missing
                 * one gives an empty home) */
                int r = default_useradd_path(root, "SKEL", "/etc/skel", &skel, err);
                if (r < 0)
                        return r;
                if (!(rskel = ps_root_path(root, skel)))
                        return oom(err);
                argv[n++] = "-k";
                argv[n++] = rskel;
        }
        argv[n++] = "-m";
        argv[n++] = "-g";
        argv[n++] = primary;
        if (supplementary && *supplementary) {
                argv[n++] = "-G";
                argv[n++] = supplementary;
        }
        argv[n++] = "--";
        argv[n++] = name;
        argv[n] = NULL;
        _cleanup_free_ char *what = NULL;
        if (asprintf(&what, "cannot create user %s", name) < 0)
                return oom(err);
        return run_tool(argv, what, err);
}

int ps_usermod(const char *root, const char *name, const char *const *opts, const char *what, ps_error *err)
{
        size_t nopts = 0;
        while (opts[nopts])
                nopts++;
        _cleanup_free_ const char **argv = calloc(nopts + 6, sizeof *argv);
        if (!argv)
                return oom(err);
        int n = 0;
        argv[n++] = "usermod";
        if (!is_host(root)) {
                argv[n++] = "--prefix";
                argv[n++] = root;
        }
        for (size_t i = 0; i < nopts; i++)
                argv[n++] = opts[i];
        argv[n++] = "--";
        argv[n++] = name;
        argv[n] = NULL;
        _cleanup_free_ char *w = NULL;
        if (asprintf(&w, "cannot %s of user %s", what, name) < 0)
                return oom(err);
        return run_tool(argv, w, err);
}

static FILE *open_root_file(const char *root, const char *file, ps_error *err, int *r)
{
        *r = 0;
        _cleanup_free_ char *p = ps_root_path(root, file);
        if (!p) {
                *r = oom(err);
                return NULL;
        }
        FILE *f = fopen(p, "re");
        if (!f && errno != ENOENT)
                *r = ps_error_errno(err, errno, "cannot read %s", p);
        return f;
}

int ps_shadow_password_state(const char *root, const char *name, ps_pw_state *state, ps_error *err)
{
        *state = PS_PW_MISSING;
        int r;
        _cleanup_fclose_ FILE *f = open_root_file(root, "/etc/shadow", err, &r);
        if (!f)
                return r;
        struct spwd *sp;
        while ((sp = fgetspent(f))) {
                if (strcmp(sp->sp_namp, name))
                        continue;
                const char *pw = sp->sp_pwdp ? sp->sp_pwdp : "";
                if (!*pw)
                        *state = PS_PW_EMPTY;
                else if (pw[0] == '!' || pw[0] == '*')
                        *state = PS_PW_LOCKED;
                else
                        *state = PS_PW_SET;
                return 0;
        }
        return 0;
}

static int default_useradd_path(const char *root, const char *key, const char *def, char **out, ps_error *err)
{
        *out = NULL;
        int r;
        _cleanup_fclose_ FILE *f = open_root_file(root, "/etc/default/useradd", err, &r);
        if (r < 0)
                return r;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, klen = strlen(key);
        while (f && getline(&line, &cap, f) > 0) {
                chomp(line);
                if (!strncmp(line, key, klen) && line[klen] == '=' && line[klen + 1] == '/') {
                        free(*out);
                        if (!(*out = strdup(line + klen + 1)))
                                return oom(err);
                }
        }
        if (!*out && !(*out = strdup(def)))
                return oom(err);
        return 0;
}

int ps_useradd_home_base(const char *root, char **base, ps_error *err)
{
        return default_useradd_path(root, "HOME", "/home", base, err);
}

unsigned long ps_login_defs_ulong(const char *root, const char *key, unsigned long def)
{
        int r;
        _cleanup_fclose_ FILE *f = open_root_file(root, "/etc/login.defs", NULL, &r);
        if (!f)
                return def;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, klen = strlen(key);
        unsigned long v = def;
        while (getline(&line, &cap, f) > 0) {
                const char *s = line + strspn(line, " \t");
                if (strncmp(s, key, klen) || (s[klen] != ' ' && s[klen] != '\t'))
                        continue;
                s += klen;
                s += strspn(s, " \t");
                char *end;
                errno = 0;
                unsigned long x = strtoul(s, &end, 0);
                if (!errno && end != s && (*end == '\0' || isspace((unsigned char)*end)))
                        v = x;
        }
        return v;
}

typedef int (*subid_fn)(const char *owner, unsigned long start, unsigned long count, void *userdata);

static int subid_scan(const char *root, const char *file, subid_fn fn, void *userdata, ps_error *err)
{
        int r;
        _cleanup_fclose_ FILE *f = open_root_file(root, file, err, &r);
        if (!f)
                return r;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
                chomp(line);
                char *c1 = strchr(line, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c1 || !c2)
                        continue;
                *c1 = *c2 = '\0';
                char *e1, *e2;
                errno = 0;
                unsigned long start = strtoul(c1 + 1, &e1, 10);
                unsigned long count = strtoul(c2 + 1, &e2, 10);
                if (errno || *e1 || *e2 || e1 == c1 + 1 || e2 == c2 + 1)
                        continue;
                r = fn(line, start, count, userdata);
                if (r)
                        return r;
        }
        return 0;
}

typedef struct subid_has {
        const char *name;
        unsigned long id;
        bool has;
} subid_has;

static int has_cb(const char *owner, unsigned long start, unsigned long count, void *userdata)
{
        subid_has *h = userdata;
        (void)start;
        if (count == 0)
                return 0;
        char num[32];
        snprintf(num, sizeof num, "%lu", h->id);
        if (!strcmp(owner, h->name) || !strcmp(owner, num))
                h->has = true;
        return 0;
}

int ps_subid_has(const char *root, const char *file, const char *name, unsigned long id, bool *has,
                 ps_error *err)
{
        subid_has h = { .name = name, .id = id };
        int r = subid_scan(root, file, has_cb, &h, err);
        *has = h.has;
        return r < 0 ? r : 0;
}

static int high_cb(const char *owner, unsigned long start, unsigned long count, void *userdata)
{
        unsigned long *high = userdata;
        (void)owner;
        if (count && start + count > *high)
                *high = start + count;
        return 0;
}

int ps_subid_free_range(const char *root, const char *file, unsigned long min, unsigned long count,
                        unsigned long *start, ps_error *err)
{
        unsigned long high = min;
        int r = subid_scan(root, file, high_cb, &high, err);
        if (r < 0)
                return r;
        if (high > 0xffffffffUL - count)
                return ps_error_set(err, ERANGE, "no free subordinate id range of %lu ids left in %s", count, file);
        *start = high;
        return 0;
}

static int cmpstr(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int ps_root_users_of_group(const char *root, const char *name, gid_t gid, char ***users, ps_error *err)
{
        *users = NULL;
        char **members = NULL;
        int r = ps_root_group_members(root, name, &members, err);
        if (r < 0)
                return r;
        size_t n = 0, cap = 8;
        while (members && members[n])
                n++;
        if (n + 1 > cap)
                cap = n + 1;
        char **v = realloc(members, cap * sizeof *v);
        if (!v) {
                ps_strv_free(members);
                return oom(err);
        }
        v[n] = NULL;
        int pr;
        _cleanup_fclose_ FILE *f = open_root_file(root, "/etc/passwd", err, &pr);
        if (pr < 0) {
                ps_strv_free(v);
                return pr;
        }
        struct passwd *pw;
        while (f && (pw = fgetpwent(f))) {
                if (pw->pw_gid != gid)
                        continue;
                if (n + 2 > cap) {
                        char **nv = realloc(v, cap * 2 * sizeof *v);
                        if (!nv) {
                                ps_strv_free(v);
                                return oom(err);
                        }
                        v = nv;
                        cap *= 2;
                }
                if (!(v[n] = strdup(pw->pw_name))) {
                        ps_strv_free(v);
                        return oom(err);
                }
                v[++n] = NULL;
        }
        qsort(v, n, sizeof *v, cmpstr);
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
                if (w && !strcmp(v[w - 1], v[i])) {
                        free(v[i]);
                        continue;
                }
                v[w++] = v[i];
        }
        v[w] = NULL;
        *users = v;
        return 0;
}

int ps_root_user_in_group(const char *root, const ps_user *u, const char *name, gid_t gid, bool *in,
                          ps_error *err)
{
        *in = u->gid == gid;
        if (*in)
                return 0;
        _cleanup_strv_ char **members = NULL;
        int r = ps_root_group_members(root, name, &members, err);
        if (r < 0)
                return r;
        for (char **m = members; m && *m; m++)
                if (!strcmp(*m, u->name))
                        *in = true;
        return 0;
}

/* ---- files in users' homes ---------------------------------------------- */

int ps_home_open(const char *root, const ps_user *u, int *fd, ps_error *err)
{
        *fd = -1;
        if (!u->home || u->home[0] != '/')
                return ps_error_set(err, EINVAL, "user %s has no absolute home directory in /etc/passwd ('%s')",
                                    u->name, u->home ? u->home : "");
        _cleanup_free_ char *path = ps_root_path(root, u->home);
        if (!path)
                return oom(err);
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return ps_error_set(err, ENOENT, "the home directory %s of user %s does not exist", u->home,
                                            u->name);
                return ps_error_errno(err, errno, "cannot stat the home directory %s of user %s", u->home, u->name);
        }
        if (S_ISLNK(st.st_mode))
                return ps_error_set(err, ELOOP, "the home directory %s of user %s is a symbolic link; refusing to "
                                    "follow it", u->home, u->name);
        if (!S_ISDIR(st.st_mode))
                return ps_error_set(err, ENOTDIR, "the home directory %s of user %s is not a directory", u->home,
                                    u->name);
        if (st.st_uid != u->uid)
                return ps_error_set(err, EPERM, "the home directory %s of user %s is owned by uid %u, not by %s "
                                    "(uid %u)", u->home, u->name, (unsigned)st.st_uid, u->name, (unsigned)u->uid);
        int d = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d < 0)
                return ps_error_errno(err, errno, "cannot open the home directory %s of user %s", u->home, u->name);
        struct stat st2;
        if (fstat(d, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
                close(d);
                return ps_error_set(err, EAGAIN, "the home directory %s of user %s changed while it was opened",
                                    u->home, u->name);
        }
        *fd = d;
        return 0;
}

static int not_dir_error(int dirfd, const char *name, const char *shown, int e, ps_error *err)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(st.st_mode))
                        return ps_error_set(err, ELOOP, "%s is a symbolic link; refusing to follow it", shown);
                if (!S_ISDIR(st.st_mode))
                        return ps_error_set(err, ENOTDIR, "%s exists and is not a directory", shown);
        }
        return ps_error_errno(err, e, "cannot open %s", shown);
}

int ps_dir_at(int dirfd, const char *name, const char *shown, bool create, uid_t uid, gid_t gid, mode_t mode,
              int *fd, bool *created, ps_error *err)
{
        *fd = -1;
        if (created)
                *created = false;
        int d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (d >= 0) {
                *fd = d;
                return 0;
        }
        if (errno != ENOENT)
                return not_dir_error(dirfd, name, shown, errno, err);
        if (!create)
                return 0;
        /* made complete (owner, mode) under a temporary name, then renamed
         * into place: a crash leaves no half-made directory under NAME */
        char tmp[300];
        if (strlen(name) > 200 || strchr(name, '/'))
                return ps_error_set(err, EINVAL, "invalid directory name '%s'", name);
        bool made = false;
        for (int attempt = 0; attempt < 100 && !made; attempt++) {
                uint64_t rnd;
                if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
                        return ps_error_errno(err, errno, "cannot get random bytes for a temporary name");
                snprintf(tmp, sizeof tmp, ".%s.%016llx", name, (unsigned long long)rnd);
                if (mkdirat(dirfd, tmp, 0700) == 0)
                        made = true;
                else if (errno != EEXIST)
                        return ps_error_errno(err, errno, "cannot create %s", shown);
        }
        if (!made)
                return ps_error_set(err, EEXIST, "cannot find a free temporary name beside %s", shown);
        d = openat(dirfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = d < 0 ? ps_error_errno(err, errno, "cannot open the new %s", shown)
                      : ps_fd_owner_mode(d, shown, uid, gid, mode, NULL, err);
        if (r == 0 && renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) < 0) {
                if (errno == EEXIST) {
                        /* made meanwhile by someone else: use that one */
                        close(d);
                        unlinkat(dirfd, tmp, AT_REMOVEDIR);
                        d = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (d < 0)
                                return not_dir_error(dirfd, name, shown, errno, err);
                        *fd = d;
                        return 0;
                }
                r = ps_error_errno(err, errno, "cannot create %s", shown);
        }
        if (r < 0) {
                if (d >= 0)
                        close(d);
                unlinkat(dirfd, tmp, AT_REMOVEDIR);
                return r;
        }
        ps_fault_point();
        *fd = d;
        if (created)
                *created = true;
        return 0;
}

int ps_read_at(int dirfd, const char *name, const char *shown, size_t max, char **data, size_t *len,
               struct stat *st, ps_error *err)
{
        *data = NULL;
        if (len)
                *len = 0;
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP)
                        return ps_error_set(err, ELOOP, "%s is a symbolic link; refusing to follow it", shown);
                return ps_error_errno(err, errno, "cannot open %s", shown);
        }
        struct stat s;
        int r = ps_fstat_regular(fd, shown, max, &s, err);
        if (r == 0)
                r = ps_read_fd(fd, shown, max, (size_t)s.st_size, data, len, err);
        if (r < 0)
                return r;
        if (st)
                *st = s;
        return 1;
}

static int write_all(int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int ps_write_atomic_at(int dirfd, const char *name, const char *shown, const void *data, size_t len, uid_t uid,
                       gid_t gid, mode_t mode, ps_error *err)
{
        char tmp[300];
        int fd = -1;
        if (strlen(name) > 200 || strchr(name, '/'))
                return ps_error_set(err, EINVAL, "invalid file name '%s'", name);
        for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
                uint64_t rnd;
                if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
                        return ps_error_errno(err, errno, "cannot get random bytes for a temporary name");
                snprintf(tmp, sizeof tmp, ".%s.%016llx", name, (unsigned long long)rnd);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && errno != EEXIST)
                        return ps_error_errno(err, errno, "cannot create a temporary file beside %s", shown);
        }
        if (fd < 0)
                return ps_error_set(err, EEXIST, "cannot find a free temporary name beside %s", shown);
        int r = write_all(fd, data, len);
        const char *step = "write";
        if (r == 0 && (uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) {
                r = -errno;
                step = "set the owner of";
        }
        if (r == 0 && fchmod(fd, mode) < 0) {
                r = -errno;
                step = "set the mode of";
        }
        if (r == 0 && fsync(fd) < 0) {
                r = -errno;
                step = "sync";
        }
        if (close(fd) < 0 && r == 0) {
                r = -errno;
                step = "write";
        }
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return ps_error_errno(err, -r, "cannot %s a new %s", step, shown);
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                int e = errno;
                unlinkat(dirfd, tmp, 0);
                return ps_error_errno(err, e, "cannot replace %s", shown);
        }
        ps_fault_point();
        fsync(dirfd);
        return 0;
}

int ps_fd_owner_mode(int fd, const char *shown, uid_t uid, gid_t gid, mode_t mode, bool *changed, ps_error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat %s", shown);
        bool ch = false;
        if ((uid != (uid_t)-1 && st.st_uid != uid) || (gid != (gid_t)-1 && st.st_gid != gid)) {
                if (fchown(fd, uid, gid) < 0)
                        return ps_error_errno(err, errno, "cannot set the owner of %s to %u:%u", shown,
                                              (unsigned)uid, (unsigned)gid);
                ch = true;
                ps_fault_point();
        }
        if ((st.st_mode & 07777) != (mode & 07777) || ch) {
                if (fchmod(fd, mode) < 0)
                        return ps_error_errno(err, errno, "cannot set the mode of %s to %04o", shown,
                                              (unsigned)mode);
                if ((st.st_mode & 07777) != (mode & 07777))
                        ch = true;
                ps_fault_point();
        }
        if (changed)
                *changed = ch;
        return 0;
}

static int flags_error(int e, const char *shown, const char *what, ps_error *err)
{
        if (e == ENOTTY || e == EOPNOTSUPP || e == EINVAL || e == ENOSYS)
                return ps_error_set(err, EOPNOTSUPP, "the filesystem of %s has no immutable attribute (%s: %s)",
                                    shown, what, strerror(e));
        return ps_error_errno(err, e, "cannot %s of %s", what, shown);
}

int ps_immutable_get(int fd, const char *shown, bool *on, ps_error *err)
{
        *on = false;
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return flags_error(errno, shown, "read the file attributes", err);
        *on = (flags & FS_IMMUTABLE_FL) != 0;
        return 0;
}

int ps_immutable_set(int fd, const char *shown, bool on, ps_error *err)
{
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return flags_error(errno, shown, "read the file attributes", err);
        int want = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        if (want == flags)
                return 0;
        if (ioctl(fd, FS_IOC_SETFLAGS, &want) < 0)
                return flags_error(errno, shown, on ? "set the immutable attribute" : "clear the immutable attribute",
                                   err);
        ps_fault_point();
        return 0;
}

/* ---- running code as a user -------------------------------------------- */

typedef struct as_user_header {
        int32_t rc;
        int32_t code;
        uint64_t msg_len;
        uint64_t out_len;
} as_user_header;

static int read_all_fd(int fd, char **buf, size_t *len)
{
        ps_error e = PS_ERROR_INIT;
        int r = ps_read_fd(fd, "the helper's output", (size_t)64 << 20, 4096, buf, len, &e);
        ps_error_clear(&e);
        return r;
}

static _Noreturn void child_run(int wfd, uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups,
                                const char *name, const char *homepath, ps_as_user_fn fn, void *userdata)
{
        ps_error e = PS_ERROR_INIT;
        char *out = NULL;
        size_t out_len = 0;
        int rc = 0;
        if (geteuid() == 0) {
                if (setgroups(n_groups, groups) < 0)
                        rc = ps_error_errno(&e, errno, "cannot set the supplementary groups of %s", name);
                else if (setresgid(gid, gid, gid) < 0)
                        rc = ps_error_errno(&e, errno, "cannot switch to gid %u", (unsigned)gid);
                else if (setresuid(uid, uid, uid) < 0)
                        rc = ps_error_errno(&e, errno, "cannot switch to uid %u", (unsigned)uid);
        } else if (getuid() != uid || geteuid() != uid) {
                rc = ps_error_set(&e, EPERM, "only root can run code as %s (uid %u)", name, (unsigned)uid);
        }
        if (rc == 0 && (getuid() != uid || geteuid() != uid))
                rc = ps_error_set(&e, EPERM, "the switch to uid %u did not take effect", (unsigned)uid);
        if (rc == 0 && uid != 0 && setuid(0) == 0)
                rc = ps_error_set(&e, EPERM, "root privileges could be regained after switching to %s", name);
        if (rc == 0) {
                umask(077);
                clearenv();
                if (setenv("PATH", "/usr/local/bin:/usr/bin:/bin", 1) < 0 || setenv("HOME", homepath, 1) < 0 ||
                    setenv("USER", name, 1) < 0 || setenv("LOGNAME", name, 1) < 0 || setenv("LC_ALL", "C", 1) < 0)
                        rc = ps_error_set(&e, ENOMEM, "out of memory");
        }
        if (rc == 0 && chdir(homepath) < 0)
                rc = ps_error_errno(&e, errno, "cannot enter %s as %s", homepath, name);
        if (rc == 0)
                rc = fn(userdata, &out, &out_len, &e);
        if (rc >= 0)
                rc = 0;
        const char *msg = rc < 0 ? ps_error_msg(&e) : "";
        as_user_header h = { .rc = rc, .code = e.code, .msg_len = strlen(msg), .out_len = out ? out_len : 0 };
        int w = write_all(wfd, &h, sizeof h);
        if (w == 0)
                w = write_all(wfd, msg, h.msg_len);
        if (w == 0 && h.out_len)
                w = write_all(wfd, out, h.out_len);
        _exit(w == 0 ? 0 : 125);
}

int ps_run_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, const char *name,
                   const char *homepath, ps_as_user_fn fn, void *userdata, char **out, size_t *out_len,
                   ps_error *err)
{
        if (out)
                *out = NULL;
        if (out_len)
                *out_len = 0;
        if (geteuid() != 0 && (getuid() != uid || geteuid() != uid))
                return ps_error_set(err, EPERM, "only root can run code as %s (uid %u)", name, (unsigned)uid);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return ps_error_errno(err, errno, "cannot create a pipe");
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return ps_error_errno(err, e, "cannot start a process as %s", name);
        }
        if (pid == 0) {
                close(p[0]);
                child_run(p[1], uid, gid, groups, n_groups, name, homepath, fn, userdata);
        }
        close(p[1]);
        char *buf = NULL;
        size_t len = 0;
        int rr = read_all_fd(p[0], &buf, &len);
        close(p[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        _cleanup_free_ char *b = buf;
        if (rr < 0)
                return ps_error_errno(err, -rr, "cannot read the result of the process running as %s", name);
        if (WIFSIGNALED(status))
                return ps_error_set(err, EIO, "the process running as %s was killed by signal %d", name,
                                    WTERMSIG(status));
        as_user_header h;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len < sizeof h)
                return ps_error_set(err, EIO, "the process running as %s failed (exit %d)", name,
                                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        memcpy(&h, b, sizeof h);
        if (h.msg_len > len - sizeof h || h.out_len > len - sizeof h - h.msg_len)
                return ps_error_set(err, EIO, "the process running as %s sent a malformed result", name);
        const char *msg = b + sizeof h;
        if (h.rc < 0) {
                ps_error_set(err, h.code > 0 ? h.code : EIO, "%.*s", (int)h.msg_len, msg);
                return h.rc;
        }
        if (out) {
                char *o = malloc(h.out_len + 1);
                if (!o)
                        return oom(err);
                memcpy(o, msg + h.msg_len, h.out_len);
                o[h.out_len] = '\0';
                *out = o;
                if (out_len)
                        *out_len = h.out_len;
        }
        return 0;
}

/* ---- what podsec writes ------------------------------------------------- */

char *ps_storage_conf_text(bool fuse_overlayfs)
{
        char *s = NULL;
        if (asprintf(&s,
                     "# Written by podsec (user add-podman).  Rootless container storage of this image\n"
                     "# user: graphroot and runroot are not set, so podman uses its rootless\n"
                     "# defaults, $HOME/.local/share/containers/storage and\n"
                     "# $XDG_RUNTIME_DIR/containers.\n"
                     "[storage]\n"
                     "driver = \"overlay\"\n"
                     "%s",
                     fuse_overlayfs ? "\n[storage.options.overlay]\n"
                                      "mount_program = \"/usr/bin/fuse-overlayfs\"\n"
                                      "mountopt = \"nodev,metacopy=on\"\n"
                                    : "") < 0)
                return NULL;
        return s;
}

char *ps_maker_regd_yaml(const char *lookaside, const char *staging)
{
        char *s = NULL;
        if (asprintf(&s,
                     "default-docker:\n"
                     "  lookaside: %s\n"
                     "  sigstore: %s\n"
                     "  lookaside-staging: %s\n"
                     "  sigstore-staging: %s\n",
                     lookaside, lookaside, staging, staging) < 0)
                return NULL;
        return s;
}

const char *ps_scope_change_name(ps_scope_change c)
{
        switch (c) {
        case PS_SCOPE_NEW: return "new";
        case PS_SCOPE_HAS_KEY: return "has-key";
        case PS_SCOPE_ADD_KEY: return "add-key";
        default: return "foreign";
        }
}

/* A signedBy GPGKeys requirement with key files only. */
static bool plain_signed_by(const json_t *req)
{
        const char *type = json_string_value(json_object_get(req, "type"));
        const char *kt = json_string_value(json_object_get(req, "keyType"));
        if (!type || strcmp(type, "signedBy") || !kt || strcmp(kt, "GPGKeys"))
                return false;
        if (json_object_get(req, "keyData") || json_object_get(req, "keyDatas"))
                return false;
        const json_t *kp = json_object_get(req, "keyPath");
        const json_t *kps = json_object_get(req, "keyPaths");
        if ((kp != NULL) == (kps != NULL))
                return false;
        if (kp && !json_is_string(kp))
                return false;
        if (kps) {
                if (!json_is_array(kps) || json_array_size(kps) == 0)
                        return false;
                size_t i;
                const json_t *e;
                json_array_foreach(kps, i, e)
                        if (!json_is_string(e))
                                return false;
        }
        return true;
}

int ps_scope_add_key(const json_t *current, const char *key_path, ps_scope_change *change, json_t **reqs,
                     ps_error *err)
{
        *reqs = NULL;
        const json_t *req = json_is_array(current) && json_array_size(current) == 1 ? json_array_get(current, 0)
                                                                                    : NULL;
        if (!current || !req || !plain_signed_by(req)) {
                *change = current ? PS_SCOPE_FOREIGN : PS_SCOPE_NEW;
                *reqs = ps_requirements_of(ps_requirement_new_signed_by(key_path));
                return *reqs ? 0 : oom(err);
        }
        const json_t *kp = json_object_get(req, "keyPath");
        const json_t *kps = json_object_get(req, "keyPaths");
        if (kp && !strcmp(json_string_value(kp), key_path)) {
                *change = PS_SCOPE_HAS_KEY;
                return 0;
        }
        size_t i;
        const json_t *e;
        if (kps)
                json_array_foreach(kps, i, e)
                        if (!strcmp(json_string_value(e), key_path)) {
                                *change = PS_SCOPE_HAS_KEY;
                                return 0;
                        }
        /* rebuild the object, keyPath(s) replaced in place by keyPaths */
        json_t *paths = json_array();
        json_t *nreq = json_object();
        if (!paths || !nreq) {
                json_decref(paths);
                json_decref(nreq);
                return oom(err);
        }
        int bad = 0;
        if (kp)
                bad |= json_array_append_new(paths, json_string(json_string_value(kp)));
        if (kps)
                json_array_foreach(kps, i, e)
                        bad |= json_array_append_new(paths, json_string(json_string_value(e)));
        bad |= json_array_append_new(paths, json_string(key_path));
        const char *k;
        json_t *v;
        bool placed = false;
        json_object_foreach((json_t *)req, k, v) {
                if (!strcmp(k, "keyPath") || !strcmp(k, "keyPaths")) {
                        if (!placed)
                                bad |= json_object_set(nreq, "keyPaths", paths);
                        placed = true;
                        continue;
                }
                json_t *c = json_deep_copy(v);
                bad |= !c || json_object_set_new(nreq, k, c);
        }
        json_decref(paths);
        if (bad) {
                json_decref(nreq);
                return oom(err);
        }
        json_t *list = ps_requirements_of(nreq);   /* steals nreq */
        if (!list)
                return oom(err);
        *change = PS_SCOPE_ADD_KEY;
        *reqs = list;
        return 0;
}

int ps_policy_personal(const ps_policy *sys, ps_policy **out, ps_error *err)
{
        *out = NULL;
        ps_policy *p = ps_policy_copy(sys);
        if (!p)
                return oom(err);
        json_t *def = ps_requirements_of(ps_requirement_new_simple(PS_REQ_INSECURE_ACCEPT_ANYTHING));
        if (!def) {
                ps_policy_free(p);
                return oom(err);
        }
        int r = ps_policy_set_default(p, def, err);
        if (r < 0) {
                ps_policy_free(p);
                return r;
        }
        *out = p;
        return 0;
}
