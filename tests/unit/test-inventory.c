/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inventory: accounts from passwd/group (exact membership), storages, the
 * configuration in effect per account, the writability probe, the rules of
 * check policy and check images, containers-storage big-data names and
 * stored manifests.  Tests that need root (chown to other uids, chattr)
 * skip themselves otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fs.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cleanup.h"
#include "fs.h"
#include "inventory.h"
#include "sigstore.h"

static char *root_dir;

/* ---- helpers -------------------------------------------------------------- */

static char *rp(const char *path)
{
        char *p = ps_root_path(root_dir, path);
        assert_non_null(p);
        return p;
}

static void mkdirs(const char *path)
{
        _cleanup_free_ char *p = rp(path);
        ps_error err = PS_ERROR_INIT;
        if (ps_mkdir_p(p, 0755, &err) < 0)
                fail_msg("%s", err.msg);
}

static void put(const char *path, const char *text)
{
        _cleanup_free_ char *p = rp(path);
        _cleanup_free_ char *dir = strdup(p);
        *strrchr(dir, '/') = '\0';
        ps_error err = PS_ERROR_INIT;
        if (ps_mkdir_p(dir, 0755, &err) < 0)
                fail_msg("%s", err.msg);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static uid_t chown_uid;
static gid_t chown_gid;
static int chown_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return lchown(p, chown_uid, chown_gid);
}

static void own_tree(const char *path, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *p = rp(path);
        chown_uid = uid;
        chown_gid = gid;
        assert_int_equal(nftw(p, chown_one, 16, FTW_PHYS), 0);
}

static int set_immutable(const char *path, bool on)
{
        _cleanup_free_ char *p = rp(path);
        _cleanup_close_ int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -1;
        int flags = 0;
        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0)
                return -1;
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

static int unlock_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)ftw;
        (void)flag;
        if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
                int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                if (fd >= 0) {
                        int flags = 0;
                        if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
                                flags &= ~FS_IMMUTABLE_FL;
                                ioctl(fd, FS_IOC_SETFLAGS, &flags);
                        }
                        close(fd);
                }
        }
        return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static const char *SYS_POLICY =
        "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
        "\"registry.local\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/var/sigstore/keys/bob.pgp\"}]}}}";
static const char *SYS_REGD = "default-docker:\n  lookaside: http://sigstore.local:81/sigstore/\n";

/* passwd/group of the scenario:
 *   alice  image user with storage, locked config (podman primary)
 *   bob    image maker (podman + podman_dev) with a personal policy
 *   carol  podman + wheel, no storage, no storage.conf
 *   dave   storage; groups "xpodmanx" and "podman_devs" (substring traps)
 *   erin   image user with storage; her policy.json is a symlink
 *   frank  image user; personal policy: insecure default, docker.io any, dir transport,
 *          registries.d with another lookaside, writable config
 *   u7s-admin  service account, usernetes storage
 *   nobody */
static void scenario(void)
{
        mkdirs("/etc/containers/registries.d");
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                           "alice:x:1000:999::/home/alice:/bin/sh\n"
                           "bob:x:1001:999::/home/bob:/bin/sh\n"
                           "carol:x:1002:100::/home/carol:/bin/sh\n"
                           "dave:x:1003:100::/home/dave:/bin/sh\n"
                           "erin:x:1004:999::/home/erin:/bin/sh\n"
                           "frank:x:1005:999::/home/frank:/bin/sh\n"
                           "alice:x:2000:2000::/elsewhere:/bin/sh\n"
                           "broken line\n"
                           "u7s-admin:x:990:990:usernet user account:/var/lib/u7s-admin:/sbin/nologin\n"
                           "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        put("/etc/group", "root:x:0:\n"
                          "users:x:100:\n"
                          "podman:x:999:carol,u7s-admin\n"
                          "podman_dev:x:998:bob\n"
                          "wheel:x:10:carol, dave\n"
                          "xpodmanx:x:500:dave\n"
                          "podman_devs:x:501:dave\n"
                          "u7s-admin:x:990:\n"
                          "systemd-journal:x:101:u7s-admin\n");
        put("/etc/containers/policy.json", SYS_POLICY);
        put("/etc/containers/registries.d/default.yaml", SYS_REGD);
        mkdirs("/var/lib/containers/storage");
        mkdirs("/root");
        /* alice: locked by hand below (needs root) */
        mkdirs("/home/alice/.local/share/containers/storage");
        put("/home/alice/.config/containers/storage.conf", "[storage]\ndriver = \"overlay\"\n");
        own_tree("/home/alice", 1000, 999);
        /* bob */
        mkdirs("/home/bob/.local/share/containers/storage");
        put("/home/bob/.config/containers/policy.json",
            "{\"default\":[{\"type\":\"insecureAcceptAnything\"}],\"transports\":{\"docker\":{"
            "\"registry.local\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/var/sigstore/keys/bob.pgp\"}]}}}");
        put("/home/bob/.config/containers/registries.d/default.yaml",
            "default-docker:\n  lookaside: http://sigstore.local:81/sigstore\n  lookaside-staging: file:///var/sigstore/sigstore/\n");
        own_tree("/home/bob", 1001, 999);
        /* carol */
        mkdirs("/home/carol");
        own_tree("/home/carol", 1002, 100);
        /* dave */
        mkdirs("/home/dave/.local/share/containers/storage");
        own_tree("/home/dave", 1003, 100);
        /* erin: a planted symlink */
        mkdirs("/home/erin/.local/share/containers/storage");
        mkdirs("/home/erin/.config/containers");
        _cleanup_free_ char *link = rp("/home/erin/.config/containers/policy.json");
        assert_int_equal(symlink("/etc/shadow", link), 0);
        own_tree("/home/erin", 1004, 999);
        /* frank */
        mkdirs("/home/frank/.local/share/containers/storage");
        put("/home/frank/.config/containers/policy.json",
            "{\"default\":[{\"type\":\"insecureAcceptAnything\"}],\"transports\":{"
            "\"docker\":{\"docker.io\":[{\"type\":\"insecureAcceptAnything\"}],\"quay.io\":[{\"type\":\"reject\"}],"
            "\"registry.local/frank\":[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k.pgp\"}]},"
            "\"dir\":{\"\":[{\"type\":\"insecureAcceptAnything\"}]},"
            "\"oci\":{\"\":[{\"type\":\"reject\"}]}}}");
        put("/home/frank/.config/containers/registries.d/a.yaml", "default-docker:\n  sigstore: http://elsewhere/\n");
        put("/home/frank/.config/containers/registries.d/b.yaml",
            "docker:\n  registry.local:\n    lookaside: http://sigstore.local:81/sigstore/\n");
        put("/home/frank/.config/containers/storage.conf", "[storage]\n");
        own_tree("/home/frank", 1005, 999);
        /* u7s-admin: storage behind podsec-k8s's symlink */
        mkdirs("/var/lib/u7s-admin/.local/share/usernetes/containers/storage");
        _cleanup_free_ char *ul = rp("/var/lib/u7s-admin/.local/share/containers");
        assert_int_equal(symlink("usernetes/containers", ul), 0);
        own_tree("/var/lib/u7s-admin", 990, 990);
}

static int setup(void **state)
{
        (void)state;
        char tmpl[] = "/tmp/test-inventory.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        root_dir = strdup(tmpl);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        nftw(root_dir, unlock_one, 16, FTW_PHYS);
        nftw(root_dir, rm_one, 16, FTW_PHYS | FTW_DEPTH);
        free(root_dir);
        root_dir = NULL;
        return 0;
}

static bool is_root(void)
{
        return geteuid() == 0;
}

static ps_inventory *scan(void)
{
        ps_inv_opts o = { .root = root_dir };
        ps_inventory *inv = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_inventory_scan(&o, &inv, &err) < 0)
                fail_msg("%s", err.msg);
        return inv;
}

static const ps_inv_rule *rule(const ps_inv_report *r, const char *label)
{
        for (size_t i = 0; i < r->n_rules; i++)
                if (!strcmp(r->rules[i].label, label))
                        return &r->rules[i];
        fail_msg("no rule %s", label);
        return NULL;
}

static bool has_user(const ps_inv_rule *r, const char *user)
{
        for (size_t i = 0; i < r->n; i++)
                if (!strcmp(r->v[i].user, user))
                        return true;
        return false;
}

static const char *why_of(const ps_inv_rule *r, const char *user)
{
        for (size_t i = 0; i < r->n; i++)
                if (!strcmp(r->v[i].user, user))
                        return r->v[i].why;
        return NULL;
}

/* ---- pure functions -------------------------------------------------------- */

static void test_reqs_class(void **state)
{
        (void)state;
        static const struct {
                const char *json;
                ps_reqs_class c;
        } t[] = {
                { "[{\"type\":\"reject\"}]", PS_REQS_REJECT },
                { "[{\"type\":\"insecureAcceptAnything\"}]", PS_REQS_ANY },
                { "[{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\"}]", PS_REQS_SIGNED },
                { "[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/k\"}]", PS_REQS_SIGNED },
                /* all must hold: a reject anywhere rejects everything */
                { "[{\"type\":\"insecureAcceptAnything\"},{\"type\":\"reject\"}]", PS_REQS_REJECT },
                { "[{\"type\":\"insecureAcceptAnything\"},{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"/k\"}]",
                  PS_REQS_SIGNED },
                /* c/image never satisfies signedBaseLayer */
                { "[{\"type\":\"signedBaseLayer\",\"baseLayerIdentity\":{\"type\":\"matchRepository\"}}]", PS_REQS_REJECT },
                { "[]", PS_REQS_REJECT },
                { "[{\"type\":\"bogus\"}]", PS_REQS_REJECT },
                { "[{}]", PS_REQS_REJECT },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                json_t *j = json_loads(t[i].json, 0, NULL);
                assert_non_null(j);
                if (ps_inv_reqs_class(j) != t[i].c)
                        fail_msg("%s: class %s, expected %s", t[i].json, ps_reqs_class_name(ps_inv_reqs_class(j)),
                                 ps_reqs_class_name(t[i].c));
                json_decref(j);
        }
        assert_int_equal(ps_inv_reqs_class(NULL), PS_REQS_REJECT);
}

static void test_bigdata_name(void **state)
{
        (void)state;
        static const char *keys[] = {
                "manifest",
                "manifest-sha256:3f1e8a9c2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "a", "ab", "abc", "Manifest", "x-y", "signatures-sha256:00",
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(keys); i++) {
                _cleanup_free_ char *n = ps_store_bigdata_name(keys[i]);
                assert_non_null(n);
                bool plain = strspn(keys[i], "abcdefghijklmnopqrstuvwxyz0123456789.") == strlen(keys[i]);
                if (plain) {
                        assert_string_equal(n, keys[i]);
                        continue;
                }
                unsigned char b64[512];
                int k = EVP_EncodeBlock(b64, (const unsigned char *)keys[i], (int)strlen(keys[i]));
                assert_true(k > 0);
                assert_int_equal(n[0], '=');
                assert_string_equal(n + 1, (const char *)b64);
        }
}

static void test_quote_list(void **state)
{
        (void)state;
        ps_inv_finding v[] = { { .user = "alice" }, { .user = "b\"ob" }, { .user = "c\nd" } };
        _cleanup_free_ char *s = ps_inv_quote_list(v, 3);
        assert_string_equal(s, "\"alice\" \"b\\\"ob\" \"c\\nd\"");
        _cleanup_free_ char *e = ps_inv_quote_list(v, 0);
        assert_string_equal(e, "");
}

/* ---- accounts ---------------------------------------------------------- */

static void test_scan(void **state)
{
        (void)state;
        if (!is_root())
                skip();
        scenario();
        _cleanup_inventory_ ps_inventory *inv = scan();
        const char *order[] = { "root", "alice", "bob", "carol", "dave", "erin", "frank", "u7s-admin", "nobody" };
        assert_int_equal(inv->n_accounts, PS_ARRAY_SIZE(order));
        for (size_t i = 0; i < PS_ARRAY_SIZE(order); i++)
                assert_string_equal(inv->accounts[i].name, order[i]);
        ps_inv_account *root = &inv->accounts[0];
        assert_int_equal(root->kind, PS_INV_ROOT);
        assert_true(root->inventory);
        assert_string_equal(root->storage, "/var/lib/containers/storage");

        ps_inv_account *alice = ps_inventory_find(inv, "alice");
        assert_int_equal(alice->uid, 1000);     /* the first entry wins */
        assert_string_equal(alice->home, "/home/alice");
        assert_string_equal(alice->groups[0], "podman");
        assert_null(alice->groups[1]);
        assert_true(alice->in_user_group && !alice->in_dev_group && !alice->in_admin_group);
        assert_string_equal(alice->storage, "/home/alice/.local/share/containers/storage");
        assert_true(alice->inventory);

        ps_inv_account *bob = ps_inventory_find(inv, "bob");
        assert_true(bob->in_user_group && bob->in_dev_group);

        ps_inv_account *carol = ps_inventory_find(inv, "carol");
        assert_string_equal(carol->groups[0], "users");
        assert_true(carol->in_user_group && carol->in_admin_group && !carol->in_dev_group);
        assert_null(carol->storage);
        assert_false(carol->inventory);

        /* exact names: "xpodmanx" is not podman, "podman_devs" is not podman_dev;
         * " dave" with a blank in the member list is dave */
        ps_inv_account *dave = ps_inventory_find(inv, "dave");
        assert_false(dave->in_user_group);
        assert_false(dave->in_dev_group);
        assert_true(dave->in_admin_group);
        assert_true(ps_inv_account_in_group(dave, "xpodmanx"));
        assert_false(ps_inv_account_in_group(dave, "podman"));

        ps_inv_account *u7s = ps_inventory_find(inv, "u7s-admin");
        assert_int_equal(u7s->kind, PS_INV_U7S);
        assert_true(u7s->inventory);
        assert_string_equal(u7s->storage, "/var/lib/u7s-admin/.local/share/usernetes/containers/storage");
        assert_true(u7s->in_user_group);
        assert_true(ps_inv_account_in_group(u7s, "systemd-journal"));

        ps_inv_account *nobody = ps_inventory_find(inv, "nobody");
        assert_false(nobody->inventory);
        assert_null(ps_inventory_find(inv, "broken line"));

        /* u7s-admin's storage is listed once although two paths lead to it */
        _cleanup_strv_ char **stores = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_inventory_stores(inv, u7s, &stores, &err), 0);
        assert_non_null(stores[0]);
        assert_null(stores[1]);
}

static void test_no_passwd(void **state)
{
        (void)state;
        ps_inv_opts o = { .root = root_dir };
        ps_inventory *inv = NULL;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_inventory_scan(&o, &inv, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "cannot list the accounts"));
        assert_non_null(strstr(err.msg, "/etc/passwd"));
        ps_error_clear(&err);
        assert_null(inv);
}

static void test_u7s_without_passwd(void **state)
{
        (void)state;
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
        mkdirs("/var/lib/u7s-admin/.local/share/containers/storage");
        _cleanup_inventory_ ps_inventory *inv = scan();
        assert_int_equal(inv->n_accounts, 2);
        ps_inv_account *u = ps_inventory_find(inv, "u7s-admin");
        assert_non_null(u);
        assert_false(u->in_passwd);
        assert_true(u->inventory);
        assert_string_equal(u->storage, "/var/lib/u7s-admin/.local/share/containers/storage");
}

/* ---- configuration ----------------------------------------------------- */

static void test_config(void **state)
{
        (void)state;
        if (!is_root())
                skip();
        scenario();
        _cleanup_inventory_ ps_inventory *inv = scan();
        ps_error err = PS_ERROR_INIT;
        for (size_t i = 0; i < inv->n_accounts; i++)
                assert_int_equal(ps_inventory_load_config(inv, &inv->accounts[i], &err), 0);

        ps_inv_account *root = ps_inventory_find(inv, "root");
        assert_null(root->config_error);
        assert_false(root->policy_user);
        assert_string_equal(root->policy_path, "/etc/containers/policy.json");
        assert_int_equal(root->default_class, PS_REQS_REJECT);
        assert_string_equal(root->default_types, "reject");
        assert_string_equal(root->signed_scopes[0], "registry.local");
        assert_null(root->unsigned_scopes[0]);
        assert_string_equal(root->default_lookaside, "http://sigstore.local:81/sigstore/");
        assert_string_equal(root->regd_path, "/etc/containers/registries.d");

        ps_inv_account *bob = ps_inventory_find(inv, "bob");
        assert_true(bob->policy_user);
        assert_string_equal(bob->policy_path, "/home/bob/.config/containers/policy.json");
        assert_int_equal(bob->default_class, PS_REQS_ANY);
        assert_true(bob->regd_user);
        assert_string_equal(bob->default_lookaside, "http://sigstore.local:81/sigstore");
        /* the system policy object is shared, the personal one is not */
        assert_ptr_equal(root->policy, ps_inventory_find(inv, "alice")->policy);
        assert_ptr_not_equal(root->policy, bob->policy);

        /* erin planted a symlink: not followed, reported */
        ps_inv_account *erin = ps_inventory_find(inv, "erin");
        assert_non_null(erin->config_error);
        assert_non_null(strstr(erin->config_error, "policy.json is a symbolic link"));

        ps_inv_account *frank = ps_inventory_find(inv, "frank");
        assert_null(frank->config_error);
        assert_string_equal(frank->unsigned_scopes[0], "docker.io");
        assert_null(frank->unsigned_scopes[1]);   /* quay.io rejects: not "unsigned" */
        assert_string_equal(frank->signed_scopes[0], "registry.local/frank");
        assert_string_equal(frank->open_transports[0], "dir");
        assert_null(frank->open_transports[1]);   /* oci only rejects */
        /* all *.yaml merged; old "sigstore" key read */
        assert_string_equal(frank->default_lookaside, "http://elsewhere/");
        assert_true(frank->has_storage_conf);
        assert_int_equal(frank->config_writable, 1);
        assert_non_null(strstr(frank->writable_why, "owned by the user"));

        ps_inv_account *carol = ps_inventory_find(inv, "carol");
        assert_null(carol->config_error);
        assert_false(carol->has_config_dir);
        assert_false(carol->has_storage_conf);

        /* loading twice is a no-op */
        assert_int_equal(ps_inventory_load_config(inv, frank, &err), 0);

        json_t *j = ps_inv_account_json(frank);
        assert_non_null(j);
        assert_true(json_is_true(json_object_get(j, "config_writable")));
        assert_string_equal(json_string_value(json_object_get(j, "default_lookaside")), "http://elsewhere/");
        json_decref(j);
}

static void test_system_policy_missing_or_invalid(void **state)
{
        (void)state;
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
        {
                _cleanup_inventory_ ps_inventory *inv = scan();
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_inventory_load_config(inv, &inv->accounts[0], &err), 0);
                assert_null(inv->accounts[0].config_error);
                assert_true(inv->accounts[0].policy_missing);
                assert_int_equal(inv->accounts[0].default_class, PS_REQS_REJECT);
                assert_null(inv->accounts[0].default_lookaside);
        }
        put("/etc/containers/policy.json", "{\"default\":[{\"type\":\"reject\"}],\"default\":[]}");
        {
                _cleanup_inventory_ ps_inventory *inv = scan();
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_inventory_load_config(inv, &inv->accounts[0], &err), 0);
                assert_non_null(inv->accounts[0].config_error);
                assert_non_null(strstr(inv->accounts[0].config_error, "policy.json"));
                ps_inv_report rep;
                assert_int_equal(ps_inventory_policy_rules(inv, &rep, &err), 0);
                assert_int_equal(rep.n_unchecked, 1);
                assert_string_equal(rep.unchecked[0].user, "root");
                assert_int_equal(rep.metric, 0);
                ps_inv_report_clear(&rep);
        }
}

static void test_writable(void **state)
{
        (void)state;
        if (!is_root())
                skip();
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nann:x:1500:999::/home/ann:/bin/sh\n");
        put("/etc/group", "podman:x:999:\nstaff:x:50:ann\n");
        put("/etc/containers/policy.json", SYS_POLICY);
        put("/home/ann/.config/containers/storage.conf", "[storage]\n");
        own_tree("/home/ann", 1500, 999);
        _cleanup_free_ char *cfg = rp("/home/ann/.config/containers");
        _cleanup_free_ char *conf = rp("/home/ann/.config/containers/storage.conf");
        _cleanup_free_ char *dotconfig = rp("/home/ann/.config");
        if (set_immutable("/home/ann/.config/containers", true) < 0)
                skip();         /* no immutable attribute on this filesystem */
        set_immutable("/home/ann/.config/containers", false);

        struct {
                const char *what;
                bool dir_imm, file_imm;
                uid_t dir_uid, file_uid, parent_uid;
                mode_t dir_mode, file_mode, parent_mode;
                gid_t file_gid;
                int expect;
                const char *why;
        } t[] = {
                { "as podsec locks it", true, true, 1500, 1500, 1500, 0500, 0400, 0755, 999, 0, "is immutable" },
                { "storage.conf not immutable", true, false, 1500, 1500, 1500, 0500, 0400, 0755, 999, 1,
                  "storage.conf is not immutable and it is owned by the user" },
                { "directory not immutable", false, true, 1500, 1500, 1500, 0500, 0400, 0755, 999, 1,
                  "containers is not immutable and it is owned by the user" },
                { "root-owned, ~/.config the user's", false, false, 0, 0, 1500, 0555, 0444, 0755, 0, 1,
                  "can be renamed and replaced" },
                { "root-owned all the way", false, false, 0, 0, 0, 0555, 0444, 0555, 0, 0, "locked" },
                { "group-writable file", false, false, 0, 0, 0, 0555, 0664, 0555, 50, 1,
                  "writable by a group of the user" },
                { "world-writable file", true, false, 0, 0, 0, 0555, 0646, 0555, 0, 1, "writable by everyone" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(t); i++) {
                set_immutable("/home/ann/.config/containers/storage.conf", false);
                set_immutable("/home/ann/.config/containers", false);
                assert_int_equal(chown(dotconfig, t[i].parent_uid, 999), 0);
                assert_int_equal(chmod(dotconfig, t[i].parent_mode), 0);
                assert_int_equal(chown(cfg, t[i].dir_uid, 999), 0);
                assert_int_equal(chmod(cfg, t[i].dir_mode), 0);
                assert_int_equal(chown(conf, t[i].file_uid, t[i].file_gid), 0);
                assert_int_equal(chmod(conf, t[i].file_mode), 0);
                if (t[i].file_imm)
                        assert_int_equal(set_immutable("/home/ann/.config/containers/storage.conf", true), 0);
                if (t[i].dir_imm)
                        assert_int_equal(set_immutable("/home/ann/.config/containers", true), 0);
                _cleanup_inventory_ ps_inventory *inv = scan();
                ps_inv_account *ann = ps_inventory_find(inv, "ann");
                ps_error err = PS_ERROR_INIT;
                assert_int_equal(ps_inventory_load_config(inv, ann, &err), 0);
                assert_null(ann->config_error);
                if (ann->config_writable != t[i].expect || !strstr(ann->writable_why, t[i].why))
                        fail_msg("%s: writable %d (%s), expected %d (%s)", t[i].what, ann->config_writable,
                                 ann->writable_why, t[i].expect, t[i].why);
                /* nothing was written into the directory */
                _cleanup_free_ char *probe = rp("/home/ann/.config/containers/.test");
                assert_int_equal(access(probe, F_OK), -1);
        }
        set_immutable("/home/ann/.config/containers/storage.conf", false);
        set_immutable("/home/ann/.config/containers", false);
}

/* ---- check policy rules ------------------------------------------------------ */

static void test_policy_rules(void **state)
{
        (void)state;
        if (!is_root())
                skip();
        scenario();
        /* lock alice as podsec does, when the filesystem can */
        bool locked = set_immutable("/home/alice/.config/containers/storage.conf", true) == 0 &&
                      set_immutable("/home/alice/.config/containers", true) == 0;
        _cleanup_inventory_ ps_inventory *inv = scan();
        ps_inv_report rep;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_inventory_policy_rules(inv, &rep, &err), 0);

        /* 101: dave (substring groups do not count); bob (podman_dev) and u7s-admin are fine */
        const ps_inv_rule *r = rule(&rep, "r101");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "dave"));
        assert_string_equal(r->message, "Users \"dave\" have images but are not in the podman group");
        /* 102: frank (insecure default, not podman_dev), dave has the system reject policy */
        r = rule(&rep, "r102");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "frank"));
        assert_non_null(strstr(why_of(r, "frank"), "insecureAcceptAnything"));
        /* 103: frank only has registry.local/frank, which is a scope of registry.local */
        r = rule(&rep, "r103");
        assert_int_equal(r->n, 0);
        assert_null(r->message);
        /* 104 and 105: frank */
        r = rule(&rep, "r104");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "frank"));
        assert_non_null(strstr(why_of(r, "frank"), "docker.io"));
        r = rule(&rep, "r105");
        assert_int_equal(r->n, 1);
        assert_non_null(strstr(why_of(r, "frank"), "dir"));
        /* 106: frank's lookaside is elsewhere; bob's differs only by the trailing slash */
        r = rule(&rep, "r106");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "frank"));
        /* 107: carol (podman + wheel), dave is in wheel but not podman */
        r = rule(&rep, "r107");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "carol"));
        assert_string_equal(r->message, "the \"carol\" users are members of the podman and wheel groups");
        /* share rules: image users alice, carol, erin (unchecked), frank: N = 3 */
        assert_int_equal(rep.share_population, 3);
        r = rule(&rep, "no_storage_conf");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "carol"));
        assert_int_equal(r->weight, 30);
        r = rule(&rep, "writable_config");
        assert_int_equal(r->n, locked ? 1 : 2);
        assert_true(has_user(r, "frank"));
        assert_int_equal(r->weight, locked ? 30 : 60);
        /* erin: could not check */
        assert_int_equal(rep.n_unchecked, 1);
        assert_string_equal(rep.unchecked[0].user, "erin");
        /* the metric: 101 + 102 + 104 + 105 + 106 + 107 + 30 + 30 (or 60) */
        assert_int_equal(rep.metric, 101 + 102 + 104 + 105 + 106 + 107 + 30 + (locked ? 30 : 60));
        json_t *j = ps_inv_rule_json(rule(&rep, "r107"));
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "id")), 107);
        assert_true(json_is_true(json_object_get(j, "matched")));
        json_decref(j);
        ps_inv_report_clear(&rep);
}

static void test_policy_rules_empty(void **state)
{
        (void)state;
        /* no image user at all: the share rules weigh 0, no division by zero */
        put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
        put("/etc/containers/policy.json", "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
        _cleanup_inventory_ ps_inventory *inv = scan();
        ps_inv_report rep;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_inventory_policy_rules(inv, &rep, &err), 0);
        assert_int_equal(rep.share_population, 0);
        assert_int_equal(rule(&rep, "no_storage_conf")->weight, 0);
        /* root: 102 (default accepts), 103 (no scope), 106 (no registries.d) */
        assert_true(has_user(rule(&rep, "r102"), "root"));
        assert_true(has_user(rule(&rep, "r103"), "root"));
        assert_true(has_user(rule(&rep, "r106"), "root"));
        assert_int_equal(rule(&rep, "r101")->n, 0);     /* root is never 101 */
        assert_int_equal(rep.metric, 102 + 103 + 106);
        ps_inv_report_clear(&rep);
}

/* ---- storages, manifests, check images ----------------------------------- */

static const char *MANIFEST = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                              "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
                              "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",\"size\":2},"
                              "\"layers\":[]}";
#define ID1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID3 "3333333333333333333333333333333333333333333333333333333333333333"
#define ID4 "4444444444444444444444444444444444444444444444444444444444444444"
#define DG "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_store_manifest(void **state)
{
        (void)state;
        put("/s/overlay-images/" ID1 "/manifest", MANIFEST);
        _cleanup_free_ char *other = ps_store_bigdata_name("manifest-" DG);
        _cleanup_free_ char *op = NULL;
        assert_true(asprintf(&op, "/s/overlay-images/" ID1 "/%s", other) > 0);
        put(op, "{\"other\":1}");
        _cleanup_free_ char *dir = rp("/s/overlay-images");
        char *data = NULL;
        size_t len = 0;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_store_manifest(dir, ID1, DG, NULL, (uid_t)-1, &data, &len, &err), 0);
        assert_string_equal(data, MANIFEST);
        free(data);
        assert_int_equal(ps_store_manifest(dir, ID1, NULL, DG, (uid_t)-1, &data, &len, &err), 0);
        assert_string_equal(data, "{\"other\":1}");
        free(data);
        /* the image's own digest falls back to "manifest" */
        const char *own = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        assert_int_equal(ps_store_manifest(dir, ID1, own, own, (uid_t)-1, &data, &len, &err), 0);
        free(data);
        assert_int_equal(ps_store_manifest(dir, ID1, DG, "sha256:cccc", (uid_t)-1, &data, &len, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "no stored manifest sha256:cccc"));
        ps_error_clear(&err);
        assert_int_equal(ps_store_manifest(dir, "../x", NULL, NULL, (uid_t)-1, &data, &len, &err), -EINVAL);
        ps_error_clear(&err);
        if (is_root()) {
                /* another owner's file is not read */
                assert_int_equal(ps_store_manifest(dir, ID1, NULL, NULL, 4242, &data, &len, &err), -EPERM);
                assert_non_null(strstr(err.msg, "not by the storage's account"));
                ps_error_clear(&err);
        }
}

static int no_signatures(void *ctx, const ps_reference *ref, const char *reference, const char *digest,
                         ps_sig_list *out, char **where, ps_error *err)
{
        (void)ctx;
        (void)ref;
        (void)reference;
        (void)digest;
        (void)err;
        memset(out, 0, sizeof *out);
        if (where)
                *where = strdup("test: no signatures");
        return 0;
}

static void images_json(const char *store, const char *text)
{
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/overlay-images/images.json", store) > 0);
        put(p, text);
}

static void manifest_of(const char *store, const char *id)
{
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/overlay-images/%s/manifest", store, id) > 0);
        put(p, MANIFEST);
}

static char *fixture(const char *name, size_t *len)
{
        const char *d = getenv("PODSEC_FIXTURES");
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/signature/%s", d ? d : "tests/fixtures", name) > 0);
        char *buf = NULL;
        ps_error err = PS_ERROR_INIT;
        if (ps_read_file(p, 1 << 20, &buf, len, &err) < 0)
                fail_msg("%s", err.msg);
        return buf;
}

static void put_bytes(const char *path, const char *data, size_t len)
{
        _cleanup_free_ char *p = rp(path);
        _cleanup_free_ char *dir = strdup(p);
        *strrchr(dir, '/') = '\0';
        ps_error err = PS_ERROR_INIT;
        if (ps_mkdir_p(dir, 0755, &err) < 0)
                fail_msg("%s", err.msg);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

#define FIX_DIGEST "sha256:6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a06f535a4757146e3576c"
#define ID5 "5555555555555555555555555555555555555555555555555555555555555555"
#define ID6 "6666666666666666666666666666666666666666666666666666666666666666"

/* The signature skopeo made (tests/fixtures/signature) is verified through
 * a file:// lookaside: accepted for the signed name, rejected for another
 * tag of the same manifest, for a changed manifest and for an image without
 * signatures; docker.io is outside root's scopes; an image without a name
 * is outside; frank's insecure docker.io scope accepts anything (101). */
static void test_images_rules(void **state)
{
        (void)state;
        if (!is_root())
                skip();
        scenario();
        size_t klen = 0, slen = 0, mlen = 0;
        _cleanup_free_ char *key = fixture("signer.pgp", &klen);
        _cleanup_free_ char *sig = fixture("skopeo.sig", &slen);
        _cleanup_free_ char *man = fixture("manifest.json", &mlen);
        _cleanup_free_ char *fpr = fixture("signer.fpr", NULL);
        fpr[strcspn(fpr, "\n")] = '\0';
        put_bytes("/var/sigstore/keys/bob.pgp", key, klen);
        put_bytes("/var/sigstore/sigstore/c10f/pause@sha256=6eebdbd687dc423174e621cc069797fdd6d9af4f6d7a06f535a4757146e3576c/signature-1",
                  sig, slen);
        put("/etc/containers/registries.d/zz-local.yaml",
            "docker:\n  registry.local:\n    lookaside: file:///var/sigstore/sigstore\n");
        const char *rs = "/var/lib/containers/storage";
        images_json(rs, "[{\"id\":\"" ID1 "\",\"digest\":\"" FIX_DIGEST "\",\"names\":[\"registry.local/c10f/pause:3.9\","
                        "\"registry.local/c10f/pause:3.8\"]},"
                        "{\"id\":\"" ID2 "\",\"names\":[\"docker.io/library/alpine:3\"]},"
                        "{\"id\":\"" ID3 "\"},"
                        "{\"id\":\"" ID5 "\",\"names\":[\"registry.local/app:1\"]},"
                        "{\"id\":\"" ID6 "\",\"names\":[\"registry.local/c10f/pause:3.9\"]}]");
        _cleanup_free_ char *m1 = NULL;
        assert_true(asprintf(&m1, "%s/overlay-images/%s/manifest", rs, ID1) > 0);
        put_bytes(m1, man, mlen);
        manifest_of(rs, ID2);
        manifest_of(rs, ID5);
        /* ID6: the signed manifest with one byte changed */
        _cleanup_free_ char *m6 = NULL;
        assert_true(asprintf(&m6, "%s/overlay-images/%s/manifest", rs, ID6) > 0);
        _cleanup_free_ char *tampered = NULL;
        assert_true(asprintf(&tampered, "%.*s ", (int)mlen, man) > 0);
        put_bytes(m6, tampered, mlen + 1);
        /* frank: docker.io accepts anything (101), in scope and accepted */
        const char *fs = "/home/frank/.local/share/containers/storage";
        images_json(fs, "[{\"id\":\"" ID4 "\",\"names\":[\"docker.io/library/busybox:1\"]}]");
        manifest_of(fs, ID4);
        own_tree("/home/frank/.local", 1005, 999);
        /* dave: images.json owned by someone else is not read */
        images_json("/home/dave/.local/share/containers/storage", "[]");
        /* bob: an image maker, skipped */
        images_json("/home/bob/.local/share/containers/storage", "[{\"id\":\"" ID1 "\",\"names\":[\"quay.io/x/y:1\"]}]");

        _cleanup_inventory_ ps_inventory *inv = scan();
        ps_inv_images_opts o = { .timeout_s = 5 };
        ps_inv_report rep;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_inventory_images_rules(inv, &o, &rep, &err), 0);

        const ps_inv_rule *r = rule(&rep, "r101");
        assert_int_equal(r->n, 1);
        assert_true(has_user(r, "frank"));
        r = rule(&rep, "r102");
        assert_int_equal(r->n, 1);
        assert_string_equal(why_of(r, "root"), "registry.local/app:1, registry.local/c10f/pause:3.8, "
                                               "registry.local/c10f/pause:3.9");
        assert_non_null(strstr(r->message, "102:: \"root\" users have unsigned images: root: registry.local/app:1"));
        r = rule(&rep, "r103");
        assert_int_equal(r->n, 1);
        assert_string_equal(why_of(r, "root"), "333333333333, docker.io/library/alpine:3");
        size_t checked = 0;
        for (size_t i = 0; i < rep.n_images; i++) {
                const ps_inv_image *im = &rep.images[i];
                assert_string_not_equal(im->account, "bob");
                if (!im->name)
                        continue;
                if (!strcmp(im->name, "docker.io/library/busybox:1")) {
                        assert_true(im->in_policy);
                        assert_int_equal(im->verdict, PS_VERDICT_ACCEPTED);
                        checked++;
                } else if (!strcmp(im->name, "registry.local/c10f/pause:3.9") && !strcmp(im->id, ID1)) {
                        if (im->verdict != PS_VERDICT_ACCEPTED)
                                fail_msg("the skopeo signature is not accepted: %s", im->reason);
                        assert_string_equal(im->signer, fpr);
                        assert_string_equal(im->scope, "registry.local");
                        checked++;
                } else if (!strcmp(im->name, "registry.local/c10f/pause:3.8")) {
                        assert_int_equal(im->verdict, PS_VERDICT_REJECTED);
                        checked++;
                } else if (!strcmp(im->name, "registry.local/c10f/pause:3.9")) {
                        assert_int_equal(im->verdict, PS_VERDICT_REJECTED);     /* tampered manifest */
                        checked++;
                } else if (!strcmp(im->name, "registry.local/app:1")) {
                        assert_int_equal(im->verdict, PS_VERDICT_REJECTED);
                        assert_non_null(strstr(im->reason, "no signature"));
                        checked++;
                } else if (!strcmp(im->name, "docker.io/library/alpine:3")) {
                        assert_false(im->in_policy);
                        assert_int_equal(im->verdict, -1);
                        checked++;
                }
        }
        assert_int_equal(checked, 6);
        /* dave's images.json belongs to root: not read, dave is unchecked; erin is unchecked */
        bool dave = false, erin = false;
        for (size_t i = 0; i < rep.n_unchecked; i++) {
                if (!strcmp(rep.unchecked[i].user, "dave")) {
                        dave = true;
                        assert_non_null(strstr(rep.unchecked[i].why, "not by the storage's account"));
                }
                erin |= !strcmp(rep.unchecked[i].user, "erin");
        }
        assert_true(dave && erin);
        assert_int_equal(rep.metric, 101 + 102 + 103);
        json_t *j = ps_inv_image_json(&rep.images[0]);
        assert_non_null(j);
        json_decref(j);
        ps_inv_report_clear(&rep);

        /* --all-images: the outside image is verified too (and rejected by the default) */
        o.all = true;
        _cleanup_inventory_ ps_inventory *inv2 = scan();
        assert_int_equal(ps_inventory_images_rules(inv2, &o, &rep, &err), 0);
        assert_non_null(strstr(why_of(rule(&rep, "r102"), "root"), "docker.io/library/alpine:3"));
        ps_inv_report_clear(&rep);

        /* a signature source given by the caller is used instead of the lookaside */
        ps_verify_source none = { .signatures = no_signatures };
        o = (ps_inv_images_opts){ .signatures = &none };
        _cleanup_inventory_ ps_inventory *inv3 = scan();
        assert_int_equal(ps_inventory_images_rules(inv3, &o, &rep, &err), 0);
        assert_non_null(strstr(why_of(rule(&rep, "r102"), "root"), "registry.local/c10f/pause:3.9"));
        ps_inv_report_clear(&rep);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reqs_class),
                cmocka_unit_test(test_bigdata_name),
                cmocka_unit_test(test_quote_list),
                cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
                cmocka_unit_test_setup_teardown(test_no_passwd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_u7s_without_passwd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_system_policy_missing_or_invalid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_writable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_policy_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_policy_rules_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_store_manifest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_images_rules, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
