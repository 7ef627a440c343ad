/* SPDX-License-Identifier: GPL-2.0-or-later */
/* users: argument rules, secrets, hashes, shadow-file readers, subordinate
 * ids, descriptor-based file operations, the immutable attribute, running
 * code as another user, the files podsec writes and scope key merging.
 * Work happens in a mkdtemp directory; tests that need root (chown to
 * another uid, chattr, changing identity) skip themselves otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "users.h"

static char *tmp;

static int rm_entry(const char *p, const struct stat *sb, int t, struct FTW *f)
{
        (void)sb;
        (void)t;
        (void)f;
        remove(p);
        return 0;
}

static int setup(void **state)
{
        (void)state;
        char t[] = "/tmp/podsec-users-XXXXXX";
        if (!mkdtemp(t))
                return -1;
        tmp = strdup(t);
        return tmp && chmod(tmp, 0755) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(tmp);
        return 0;
}

static char *tpath(const char *rel)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", tmp, rel) > 0);
        return p;
}

static void put(const char *rel, const char *text)
{
        _cleanup_free_ char *p = tpath(rel);
        _cleanup_free_ char *dir = strdup(p);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(ps_mkdir_p(dir, 0755, NULL), 0);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* ---- names and arguments ---- */

static void test_user_names(void **state)
{
        (void)state;
        const char *good[] = { "a", "_x", "alice", "a.b", "a-b", "a_b", "a1", "imagemaker",
                               "abcdefghijklmnopqrstuvwxyz012345" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(good); i++)
                assert_int_equal(ps_user_name_check(good[i], NULL), 0);
        const char *bad[] = { "", "A", "Alice", "UPPER", "1a", "-bad", ".a", "a b", "a/b", "a:b", "a$", "a@b",
                              "\xc3\xa9", "abcdefghijklmnopqrstuvwxyz0123456", "a\n" };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                ps_error e = PS_ERROR_INIT;
                assert_int_equal(ps_user_name_check(bad[i], &e), -EINVAL);
                assert_non_null(e.msg);
                ps_error_clear(&e);
        }
}

static int parse(const char *const *args, size_t n, const char *reg, ps_maker_arg **out, size_t *nout, int *why,
                 ps_error *e)
{
        return ps_maker_args_parse((char *const *)args, n, reg, out, nout, why, e);
}

static void test_maker_args_defaults(void **state)
{
        (void)state;
        ps_maker_arg *a = NULL;
        size_t n = 0;
        int why = -1;
        assert_int_equal(parse(NULL, 0, "registry.local", &a, &n, &why, NULL), 0);
        assert_int_equal(n, 1);
        assert_int_equal(why, PS_MAKER_ARGS_OK);
        assert_string_equal(a[0].user, "imagemaker");
        assert_string_equal(a[0].scope, "registry.local");
        ps_maker_args_free(a, n);

        const char *one[] = { "alice" };
        assert_int_equal(parse(one, 1, "127.0.0.1:5000", &a, &n, &why, NULL), 0);
        assert_string_equal(a[0].user, "alice");
        assert_string_equal(a[0].scope, "127.0.0.1:5000");
        ps_maker_args_free(a, n);

        const char *given[] = { "bob@registry.local/c10f" };
        assert_int_equal(parse(given, 1, "other.local", &a, &n, &why, NULL), 0);
        assert_string_equal(a[0].user, "bob");
        assert_string_equal(a[0].scope, "registry.local/c10f");
        ps_maker_args_free(a, n);

        /* the same user with two scopes is fine */
        const char *two[] = { "bob@registry.local/a", "bob@registry.local/b", "carol@registry.local" };
        assert_int_equal(parse(two, 3, "x", &a, &n, &why, NULL), 0);
        assert_int_equal(n, 3);
        assert_string_equal(a[1].scope, "registry.local/b");
        assert_string_equal(a[2].user, "carol");
        ps_maker_args_free(a, n);
}

static void test_maker_args_invalid(void **state)
{
        (void)state;
        struct {
                const char *args[3];
                size_t n;
                const char *msg;
        } cases[] = {
                { { "@x" }, 1, "user name before '@' is empty" },
                { { "u@" }, 1, "scope after '@' is empty" },
                { { "u@@x" }, 1, "more than one '@'" },
                { { "a@b@c" }, 1, "more than one '@'" },
                { { "a@registry.local", "b" }, 2, "each one must be USER@SCOPE" },
                { { "a@x" }, 1, "is not a registry host" },
                { { "Alice@registry.local" }, 1, "lowercase" },
                { { "-bad@registry.local" }, 1, "lowercase" },
                { { "UPPER" }, 1, "lowercase" },
                { { "u@registry.local/UPPER" }, 1, "invalid scope" },
                { { "u@registry.local/x:tag:more" }, 1, "invalid scope" },
                { { "u@ spaced" }, 1, "invalid scope" },
                { { "u@registry.local/" }, 1, "invalid scope" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(cases); i++) {
                ps_maker_arg *a = (void *)1;
                size_t n = 99;
                int why = -1;
                ps_error e = PS_ERROR_INIT;
                int r = parse(cases[i].args, cases[i].n, "registry.local", &a, &n, &why, &e);
                if (r != -EINVAL || !e.msg || !strstr(e.msg, cases[i].msg))
                        fail_msg("case %zu (%s): r=%d msg=%s", i, cases[i].args[0], r, e.msg ? e.msg : "(none)");
                assert_int_equal(why, PS_MAKER_ARGS_INVALID);
                assert_null(a);
                assert_int_equal(n, 0);
                ps_error_clear(&e);
        }
}

static void test_maker_args_duplicate(void **state)
{
        (void)state;
        const char *dup[] = { "a@registry.local/x", "b@registry.local", "c@registry.local/x" };
        ps_maker_arg *a = NULL;
        size_t n = 0;
        int why = -1;
        ps_error e = PS_ERROR_INIT;
        assert_int_equal(parse(dup, 3, "r", &a, &n, &why, &e), -EEXIST);
        assert_int_equal(why, PS_MAKER_ARGS_DUPLICATE);
        assert_non_null(strstr(e.msg, "scope registry.local/x is given twice"));
        ps_error_clear(&e);
        /* a format error wins over a duplicate (all formats are checked first) */
        const char *both[] = { "a@registry.local", "b@registry.local", "c@" };
        assert_int_equal(parse(both, 3, "r", &a, &n, &why, &e), -EINVAL);
        assert_int_equal(why, PS_MAKER_ARGS_INVALID);
        ps_error_clear(&e);
}

static void test_scope_host(void **state)
{
        (void)state;
        struct { const char *in, *out; } c[] = {
                { "registry.local", "registry.local" },
                { "registry.local/c10f", "registry.local" },
                { "127.0.0.1:5000/x/y", "127.0.0.1" },
                { "*.example.com", "example.com" },
                { "[::1]:5000/x", "::1" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(c); i++) {
                _cleanup_free_ char *h = ps_scope_host(c[i].in);
                assert_string_equal(h, c[i].out);
        }
}

/* ---- secrets ---- */

static void test_secret_file(void **state)
{
        (void)state;
        struct { const char *text; size_t len; const char *want; } ok[] = {
                { "pw\n", 3, "pw" }, { "pw\r\n", 4, "pw" }, { "pw", 2, "pw" }, { "with space \n", 12, "with space " },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(ok); i++) {
                _cleanup_free_ char *p = tpath("secret");
                assert_int_equal(ps_write_atomic(p, ok[i].text, ok[i].len, 0600, NULL), 0);
                char *s = NULL;
                assert_int_equal(ps_secret_read_file(p, "password file", &s, NULL), 0);
                assert_string_equal(s, ok[i].want);
                ps_secret_free(s);
        }
        struct { const char *text; size_t len; const char *msg; } bad[] = {
                { "", 0, "is empty" }, { "\n", 1, "is empty" }, { "a\nb\n", 4, "more than one line" },
                { "a\0b", 3, "NUL" }, { "a\rb", 3, "more than one line" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(bad); i++) {
                _cleanup_free_ char *p = tpath("secret");
                assert_int_equal(ps_write_atomic(p, bad[i].text, bad[i].len, 0600, NULL), 0);
                char *s = NULL;
                ps_error e = PS_ERROR_INIT;
                assert_int_equal(ps_secret_read_file(p, "password file", &s, &e), -EINVAL);
                assert_null(s);
                assert_non_null(strstr(e.msg, bad[i].msg));
                assert_non_null(strstr(e.msg, "password file"));
                ps_error_clear(&e);
        }
        /* too large, a directory, missing */
        _cleanup_free_ char *big = malloc(PS_SECRET_FILE_MAX + 10);
        memset(big, 'x', PS_SECRET_FILE_MAX + 10);
        _cleanup_free_ char *p = tpath("secret");
        assert_int_equal(ps_write_atomic(p, big, PS_SECRET_FILE_MAX + 10, 0600, NULL), 0);
        char *s = NULL;
        ps_error e = PS_ERROR_INIT;
        assert_int_equal(ps_secret_read_file(p, "x", &s, &e), -EFBIG);
        ps_error_clear(&e);
        assert_int_equal(ps_secret_read_file(tmp, "x", &s, &e), -EINVAL);
        ps_error_clear(&e);
        _cleanup_free_ char *missing = tpath("no-such");
        assert_int_equal(ps_secret_read_file(missing, "x", &s, &e), -ENOENT);
        assert_non_null(strstr(e.msg, missing));
        ps_error_clear(&e);
        /* a FIFO must not hang */
        _cleanup_free_ char *fifo = tpath("fifo");
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(ps_secret_read_file(fifo, "x", &s, &e), -EINVAL);
        ps_error_clear(&e);
        unlink(fifo);
}

static void test_password_hash(void **state)
{
        (void)state;
        _cleanup_free_ char *h1 = NULL, *h2 = NULL;
        assert_int_equal(ps_password_hash("correct horse", &h1, NULL), 0);
        assert_int_equal(ps_password_hash("correct horse", &h2, NULL), 0);
        assert_true(h1[0] == '$');
        assert_null(strchr(h1, ':'));
        assert_string_not_equal(h1, h2);           /* fresh salts */
        struct crypt_data cd;
        memset(&cd, 0, sizeof cd);
        assert_string_equal(crypt_r("correct horse", h1, &cd), h1);
        memset(&cd, 0, sizeof cd);
        assert_string_not_equal(crypt_r("wrong", h1, &cd), h1);
        char *h3 = NULL;
        ps_error e = PS_ERROR_INIT;
        assert_int_equal(ps_password_hash("", &h3, &e), -EINVAL);
        ps_error_clear(&e);
}

/* ---- shadow-file readers, subordinate ids ---- */

static void test_root_files(void **state)
{
        (void)state;
        put("r1/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                             "alice:x:1000:990::/home/alice:/bin/sh\n"
                             "bob:x:1001:991::/srv/bob:/bin/sh\n"
                             "carol:x:1002:100::/home/carol:/bin/sh\n");
        put("r1/etc/group", "root:x:0:\nusers:x:100:\npodman:x:990:carol\npodman_dev:x:991:alice,carol\n");
        put("r1/etc/shadow", "root:*:1:0:99999:7:::\nalice:$y$j9T$abc$def:1:0:99999:7:::\nbob:!:1:0:99999:7:::\n"
                             "carol::1:0:99999:7:::\n");
        put("r1/etc/subuid", "alice:100000:65536\n1001:165536:65536\nbroken line\nzed:300000:0\n");
        put("r1/etc/subgid", "alice:100000:65536\n");
        put("r1/etc/login.defs", "# comment\nSUB_UID_MIN\t\t 200000\nSUB_UID_COUNT 1000\nUMASK 022\n");
        put("r1/etc/default/useradd", "SHELL=/bin/sh\nHOME=/srv/homes\n");
        _cleanup_free_ char *root = tpath("r1");

        ps_pw_state st;
        assert_int_equal(ps_shadow_password_state(root, "alice", &st, NULL), 0);
        assert_int_equal(st, PS_PW_SET);
        assert_int_equal(ps_shadow_password_state(root, "bob", &st, NULL), 0);
        assert_int_equal(st, PS_PW_LOCKED);
        assert_int_equal(ps_shadow_password_state(root, "carol", &st, NULL), 0);
        assert_int_equal(st, PS_PW_EMPTY);
        assert_int_equal(ps_shadow_password_state(root, "nobody", &st, NULL), 0);
        assert_int_equal(st, PS_PW_MISSING);

        bool has;
        assert_int_equal(ps_subid_has(root, "/etc/subuid", "alice", 1000, &has, NULL), 0);
        assert_true(has);
        assert_int_equal(ps_subid_has(root, "/etc/subuid", "bob", 1001, &has, NULL), 0);
        assert_true(has);           /* by number */
        assert_int_equal(ps_subid_has(root, "/etc/subuid", "zed", 1005, &has, NULL), 0);
        assert_false(has);          /* a zero-length range is none */
        assert_int_equal(ps_subid_has(root, "/etc/subgid", "bob", 1001, &has, NULL), 0);
        assert_false(has);
        assert_int_equal(ps_subid_has(root, "/etc/no-such", "bob", 1001, &has, NULL), 0);
        assert_false(has);
        unsigned long start = 0;
        assert_int_equal(ps_subid_free_range(root, "/etc/subuid", 100000, 65536, &start, NULL), 0);
        assert_int_equal(start, 231072);
        assert_int_equal(ps_subid_free_range(root, "/etc/subuid", 500000, 65536, &start, NULL), 0);
        assert_int_equal(start, 500000);
        assert_int_equal(ps_subid_free_range(root, "/etc/no-such", 100000, 65536, &start, NULL), 0);
        assert_int_equal(start, 100000);

        assert_int_equal(ps_login_defs_ulong(root, "SUB_UID_MIN", 1), 200000);
        assert_int_equal(ps_login_defs_ulong(root, "SUB_UID_COUNT", 1), 1000);
        assert_int_equal(ps_login_defs_ulong(root, "SUB_GID_MIN", 7), 7);
        assert_int_equal(ps_login_defs_ulong(root, "SUB_UID", 7), 7);   /* whole keys only */

        _cleanup_free_ char *base = NULL;
        assert_int_equal(ps_useradd_home_base(root, &base, NULL), 0);
        assert_string_equal(base, "/srv/homes");
        _cleanup_free_ char *r2 = tpath("r-empty");
        free(base);
        base = NULL;
        assert_int_equal(ps_useradd_home_base(r2, &base, NULL), 0);
        assert_string_equal(base, "/home");

        _cleanup_strv_ char **devs = NULL;
        assert_int_equal(ps_root_users_of_group(root, "podman_dev", 991, &devs, NULL), 0);
        assert_non_null(devs);
        assert_string_equal(devs[0], "alice");
        assert_string_equal(devs[1], "bob");      /* primary group */
        assert_string_equal(devs[2], "carol");
        assert_null(devs[3]);

        ps_user u = { .name = (char *)"carol", .uid = 1002, .gid = 100 };
        bool in;
        assert_int_equal(ps_root_user_in_group(root, &u, "podman_dev", 991, &in, NULL), 0);
        assert_true(in);
        u.name = (char *)"bob";
        u.gid = 991;
        assert_int_equal(ps_root_user_in_group(root, &u, "podman_dev", 991, &in, NULL), 0);
        assert_true(in);
        assert_int_equal(ps_root_user_in_group(root, &u, "podman", 990, &in, NULL), 0);
        assert_false(in);
}

/* ---- descriptor-based file operations ---- */

static void test_home_and_files(void **state)
{
        (void)state;
        bool root = geteuid() == 0;
        uid_t uid = root ? 4242 : getuid();
        gid_t gid = root ? 4343 : getgid();
        _cleanup_free_ char *r = tpath("r2");
        _cleanup_free_ char *home = tpath("r2/home/u");
        assert_int_equal(ps_mkdir_p(home, 0755, NULL), 0);
        assert_int_equal(chown(home, uid, gid), 0);
        ps_user u = { .name = (char *)"u", .uid = uid, .gid = gid, .home = (char *)"/home/u" };
        int hfd = -1;
        assert_int_equal(ps_home_open(r, &u, &hfd, NULL), 0);

        /* directories: created with owner and mode, existing ones left alone */
        int cfd = -1;
        bool created = false;
        assert_int_equal(ps_dir_at(hfd, ".config", "~/.config", true, uid, gid, 0750, &cfd, &created, NULL), 0);
        assert_true(created);
        struct stat st;
        assert_int_equal(fstat(cfd, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
        close(cfd);
        assert_int_equal(ps_dir_at(hfd, ".config", "~/.config", true, 0, 0, 0700, &cfd, &created, NULL), 0);
        assert_false(created);
        assert_int_equal(fstat(cfd, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
        close(cfd);
        int nfd = 7;
        assert_int_equal(ps_dir_at(hfd, "missing", "~/missing", false, 0, 0, 0, &nfd, NULL, NULL), 0);
        assert_int_equal(nfd, -1);

        /* a symbolic link is never followed */
        _cleanup_free_ char *outside = tpath("outside");
        assert_int_equal(ps_mkdir_p(outside, 0755, NULL), 0);
        assert_int_equal(symlinkat(outside, hfd, "link"), 0);
        ps_error e = PS_ERROR_INIT;
        assert_int_equal(ps_dir_at(hfd, "link", "~/link", true, 0, 0, 0755, &nfd, NULL, &e), -ELOOP);
        assert_non_null(strstr(e.msg, "symbolic link"));
        ps_error_clear(&e);
        _cleanup_free_ char *target = tpath("outside/victim");
        put("outside/victim", "precious\n");
        assert_int_equal(symlinkat(target, hfd, "file-link"), 0);
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(ps_read_at(hfd, "file-link", "~/file-link", 1024, &data, &len, NULL, &e), -ELOOP);
        ps_error_clear(&e);
        /* writing replaces the link itself; the target keeps its bytes */
        assert_int_equal(ps_write_atomic_at(hfd, "file-link", "~/file-link", "new\n", 4, uid, gid, 0640, NULL), 0);
        assert_true(ps_same_content(target, "precious\n", 9));
        assert_int_equal(fstatat(hfd, "file-link", &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
        assert_int_equal(ps_read_at(hfd, "file-link", "~/file-link", 1024, &data, &len, &st, NULL), 1);
        assert_string_equal(data, "new\n");
        assert_int_equal(len, 4);
        free(data);
        /* missing, too big, not regular */
        assert_int_equal(ps_read_at(hfd, "nothing", "~/nothing", 1024, &data, &len, NULL, NULL), 0);
        assert_null(data);
        assert_int_equal(ps_read_at(hfd, "file-link", "~/file-link", 2, &data, &len, NULL, &e), -EFBIG);
        ps_error_clear(&e);
        assert_int_equal(ps_read_at(hfd, ".config", "~/.config", 1024, &data, &len, NULL, &e), -EINVAL);
        ps_error_clear(&e);
        assert_int_equal(mkfifoat(hfd, "fifo", 0600), 0);
        assert_int_equal(ps_read_at(hfd, "fifo", "~/fifo", 1024, &data, &len, NULL, &e), -EINVAL);
        ps_error_clear(&e);
        /* no temporary file is left behind */
        _cleanup_closedir_ DIR *d = opendir(home);
        struct dirent *de;
        while ((de = readdir(d)))
                assert_null(strstr(de->d_name, ".file-link."));
        /* owner and mode on a descriptor */
        int ffd = openat(hfd, "file-link", O_RDONLY | O_CLOEXEC);
        bool changed = true;
        assert_int_equal(ps_fd_owner_mode(ffd, "f", uid, gid, 0640, &changed, NULL), 0);
        assert_false(changed);
        assert_int_equal(ps_fd_owner_mode(ffd, "f", (uid_t)-1, (gid_t)-1, 0600, &changed, NULL), 0);
        assert_true(changed);
        close(ffd);
        close(hfd);

        /* the home itself: missing, a link, not owned by the user */
        ps_user v = u;
        v.home = (char *)"/home/none";
        assert_int_equal(ps_home_open(r, &v, &hfd, &e), -ENOENT);
        assert_non_null(strstr(e.msg, "/home/none of user u does not exist"));
        ps_error_clear(&e);
        _cleanup_free_ char *lhome = tpath("r2/home/l");
        assert_int_equal(symlink(home, lhome), 0);
        v.home = (char *)"/home/l";
        assert_int_equal(ps_home_open(r, &v, &hfd, &e), -ELOOP);
        ps_error_clear(&e);
        v.home = (char *)"relative";
        assert_int_equal(ps_home_open(r, &v, &hfd, &e), -EINVAL);
        ps_error_clear(&e);
        if (root) {
                v.home = (char *)"/home/u";
                v.uid = 4243;
                assert_int_equal(ps_home_open(r, &v, &hfd, &e), -EPERM);
                assert_non_null(strstr(e.msg, "owned by uid 4242, not by u (uid 4243)"));
                ps_error_clear(&e);
        }
}

static void test_immutable(void **state)
{
        (void)state;
        _cleanup_free_ char *dir = tpath("imm");
        assert_int_equal(ps_mkdir_p(dir, 0755, NULL), 0);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        bool on = true;
        ps_error e = PS_ERROR_INIT;
        int r = ps_immutable_get(fd, dir, &on, &e);
        if (r == -EOPNOTSUPP) {
                close(fd);
                ps_error_clear(&e);
                skip();
        }
        assert_int_equal(r, 0);
        assert_false(on);
        r = ps_immutable_set(fd, dir, true, &e);
        if (r == -EPERM) {            /* not root (no CAP_LINUX_IMMUTABLE) */
                assert_non_null(strstr(e.msg, "immutable"));
                ps_error_clear(&e);
                close(fd);
                skip();
        }
        assert_int_equal(r, 0);
        assert_int_equal(ps_immutable_get(fd, dir, &on, NULL), 0);
        assert_true(on);
        _cleanup_free_ char *inside = tpath("imm/x");
        assert_true(open(inside, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0);
        assert_int_equal(errno, EPERM);
        assert_int_equal(ps_immutable_set(fd, dir, true, NULL), 0);   /* idempotent */
        assert_int_equal(ps_immutable_set(fd, dir, false, NULL), 0);
        assert_int_equal(ps_immutable_get(fd, dir, &on, NULL), 0);
        assert_false(on);
        close(fd);
}

/* ---- running code as a user ---- */

static int who_fn(void *userdata, char **out, size_t *out_len, ps_error *err)
{
        (void)userdata;
        gid_t groups[16];
        int n = getgroups(16, groups);
        char cwd[512];
        if (!getcwd(cwd, sizeof cwd))
                return ps_error_errno(err, errno, "getcwd");
        const char *home = getenv("HOME");
        const char *user = getenv("USER");
        const char *leak = getenv("PODSEC_TEST_LEAK");
        if (asprintf(out, "%u %u %d %u %s %s %s %s", (unsigned)getuid(), (unsigned)getgid(), n,
                     n > 0 ? (unsigned)groups[0] : 0, home ? home : "-", user ? user : "-", cwd,
                     leak ? leak : "clean") < 0)
                return ps_error_set(err, ENOMEM, "oom");
        *out_len = strlen(*out);
        return 0;
}

static int fail_fn(void *userdata, char **out, size_t *out_len, ps_error *err)
{
        (void)userdata;
        (void)out;
        (void)out_len;
        return ps_error_set(err, EACCES, "boom: %s", "nothing allowed");
}

static void test_run_as_user(void **state)
{
        (void)state;
        _cleanup_free_ char *home = tpath("runhome");
        assert_int_equal(ps_mkdir_p(home, 0755, NULL), 0);
        setenv("PODSEC_TEST_LEAK", "leaked", 1);
        char *out = NULL;
        size_t len = 0;
        if (geteuid() == 0) {
                gid_t groups[1] = { 4545 };
                assert_int_equal(ps_run_as_user(4444, 4545, groups, 1, "tester", home, who_fn, NULL, &out, &len,
                                                NULL), 0);
                _cleanup_free_ char *want = NULL;
                assert_true(asprintf(&want, "4444 4545 1 4545 %s tester %s clean", home, home) > 0);
                assert_string_equal(out, want);
                assert_int_equal(len, strlen(want));
                free(out);
                out = NULL;
        } else {
                ps_error e = PS_ERROR_INIT;
                assert_int_equal(ps_run_as_user(getuid() + 1, getgid(), NULL, 0, "other", home, who_fn, NULL, &out,
                                                NULL, &e), -EPERM);
                ps_error_clear(&e);
        }
        /* errors travel back with their code and message */
        ps_error e = PS_ERROR_INIT;
        uid_t uid = geteuid() == 0 ? 4444 : getuid();
        gid_t gid = geteuid() == 0 ? 4545 : getgid();
        assert_int_equal(ps_run_as_user(uid, gid, NULL, 0, "tester", home, fail_fn, NULL, &out, NULL, &e), -EACCES);
        assert_int_equal(e.code, EACCES);
        assert_string_equal(e.msg, "boom: nothing allowed");
        ps_error_clear(&e);
        /* a home the user cannot enter */
        _cleanup_free_ char *missing = tpath("no-home");
        assert_true(ps_run_as_user(uid, gid, NULL, 0, "tester", missing, who_fn, NULL, &out, NULL, &e) < 0);
        assert_non_null(strstr(e.msg, "cannot enter"));
        ps_error_clear(&e);
        unsetenv("PODSEC_TEST_LEAK");
}

/* ---- what podsec writes ---- */

static void test_texts(void **state)
{
        (void)state;
        _cleanup_free_ char *plain = ps_storage_conf_text(false);
        _cleanup_free_ char *fuse = ps_storage_conf_text(true);
        assert_non_null(strstr(plain, "[storage]\ndriver = \"overlay\"\n"));
        assert_null(strstr(plain, "graphroot ="));
        assert_null(strstr(plain, "runroot ="));
        assert_null(strstr(plain, "mount_program"));
        assert_non_null(strstr(fuse, "[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n"));
        _cleanup_free_ char *y = ps_maker_regd_yaml("http://sigstore.local:81/sigstore/", "file:///var/sigstore/sigstore/");
        assert_string_equal(y, "default-docker:\n"
                               "  lookaside: http://sigstore.local:81/sigstore/\n"
                               "  sigstore: http://sigstore.local:81/sigstore/\n"
                               "  lookaside-staging: file:///var/sigstore/sigstore/\n"
                               "  sigstore-staging: file:///var/sigstore/sigstore/\n");
}

static json_t *J(const char *s)
{
        json_error_t je;
        json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &je);
        if (!j)
                fail_msg("bad test JSON: %s", je.text);
        return j;
}

static void check_change(const char *cur, ps_scope_change want, const char *want_json)
{
        json_t *c = cur ? J(cur) : NULL;
        json_t *out = NULL;
        ps_scope_change ch;
        assert_int_equal(ps_scope_add_key(c, "/var/sigstore/keys/new.pgp", &ch, &out, NULL), 0);
        if (ch != want)
                fail_msg("%s: got %s, want %s", cur ? cur : "NULL", ps_scope_change_name(ch), ps_scope_change_name(want));
        if (want_json) {
                char *got = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
                assert_string_equal(got, want_json);
                free(got);
        } else {
                assert_null(out);
        }
        json_decref(out);
        json_decref(c);
}

static void test_scope_add_key(void **state)
{
        (void)state;
        const char *mine = "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/var/sigstore/keys/new.pgp\"}]";
        check_change(NULL, PS_SCOPE_NEW, mine);
        check_change(mine, PS_SCOPE_HAS_KEY, NULL);
        check_change("[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"/a.pgp\",\"/var/sigstore/keys/new.pgp\"]}]",
                     PS_SCOPE_HAS_KEY, NULL);
        /* another maker's key: keyPaths in place of keyPath, other fields kept in order */
        check_change("[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/var/sigstore/keys/old.pgp\","
                     "\"signedIdentity\":{\"type\":\"matchRepository\"}}]",
                     PS_SCOPE_ADD_KEY,
                     "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPaths\":[\"/var/sigstore/keys/old.pgp\","
                     "\"/var/sigstore/keys/new.pgp\"],\"signedIdentity\":{\"type\":\"matchRepository\"}}]");
        check_change("[{\"type\":\"signedBy\",\"keyPaths\":[\"/a\",\"/b\"],\"keyType\":\"GPGKeys\"}]", PS_SCOPE_ADD_KEY,
                     "[{\"type\":\"signedBy\",\"keyPaths\":[\"/a\",\"/b\",\"/var/sigstore/keys/new.pgp\"],"
                     "\"keyType\":\"GPGKeys\"}]");
        /* anything else is not podsec's to extend */
        const char *foreign[] = {
                "[{\"type\":\"reject\"}]",
                "[{\"type\":\"insecureAcceptAnything\"}]",
                "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyData\":\"AAAA\"}]",
                "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/a\"},{\"type\":\"signedBy\","
                "\"keyType\":\"GPGKeys\",\"keyPath\":\"/b\"}]",
                "[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/a\"}]",
                "[]",
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(foreign); i++)
                check_change(foreign[i], PS_SCOPE_FOREIGN, mine);
}

static void test_policy_personal(void **state)
{
        (void)state;
        const char *sys = "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"registry.local\":"
                          "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k.pgp\"}]}}}";
        _cleanup_policy_ ps_policy *p = NULL, *pers = NULL;
        assert_int_equal(ps_policy_parse(sys, strlen(sys), &p, NULL), 0);
        assert_int_equal(ps_policy_personal(p, &pers, NULL), 0);
        _cleanup_free_ char *a = ps_policy_serialise(pers);
        _cleanup_free_ char *b = ps_policy_serialise(p);
        assert_non_null(strstr(a, "\"type\": \"insecureAcceptAnything\""));
        assert_non_null(strstr(a, "\"registry.local\""));
        assert_non_null(strstr(b, "\"type\": \"reject\""));   /* the original is untouched */
        assert_null(strstr(b, "insecureAcceptAnything"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_user_names),
                cmocka_unit_test(test_maker_args_defaults),
                cmocka_unit_test(test_maker_args_invalid),
                cmocka_unit_test(test_maker_args_duplicate),
                cmocka_unit_test(test_scope_host),
                cmocka_unit_test(test_secret_file),
                cmocka_unit_test(test_password_hash),
                cmocka_unit_test(test_root_files),
                cmocka_unit_test(test_home_and_files),
                cmocka_unit_test(test_immutable),
                cmocka_unit_test(test_run_as_user),
                cmocka_unit_test(test_texts),
                cmocka_unit_test(test_scope_add_key),
                cmocka_unit_test(test_policy_personal),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
