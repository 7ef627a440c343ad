/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "accounts.h"
#include "cleanup.h"
#include "fs.h"

static char root[] = "/tmp/podsec-acc-XXXXXX";

static int setup(void **s)
{
        if (!mkdtemp(root))
                return -1;
        char *etc = ps_path_join(root, "etc");
        mkdir(etc, 0755);
        ps_error err = PS_ERROR_INIT;
        char *p = ps_path_join(etc, "passwd");
        ps_write_atomic(p, "root:x:0:0:root:/root:/bin/bash\nimk:x:1001:990:Image maker:/home/imk:/bin/bash\n", 78, 0644, &err);
        free(p);
        p = ps_path_join(etc, "group");
        const char *g = "root:x:0:\npodman:x:990:alice,bob\npodman_dev:x:989:imk\n";
        ps_write_atomic(p, g, strlen(g), 0644, &err);
        free(p);
        free(etc);
        return 0;
}

static int teardown(void **s)
{
        char *cmd = NULL;
        if (asprintf(&cmd, "rm -rf '%s'", root) > 0 && system(cmd) != 0)
                return -1;
        free(cmd);
        return 0;
}

static void test_lookup(void **s)
{
        ps_user u = { 0 };
        assert_int_equal(ps_root_getpwnam(root, "imk", &u, NULL), 1);
        assert_int_equal(u.uid, 1001);
        assert_int_equal(u.gid, 990);
        assert_string_equal(u.home, "/home/imk");
        ps_user_free(&u);
        assert_int_equal(ps_root_getpwnam(root, "nobody-here", &u, NULL), 0);
        gid_t gid = 0;
        assert_int_equal(ps_root_getgrnam(root, "podman_dev", &gid, NULL), 1);
        assert_int_equal(gid, 989);
        assert_int_equal(ps_root_getgrnam(root, "podman_de", &gid, NULL), 0);
        char **m = NULL;
        assert_int_equal(ps_root_group_members(root, "podman", &m, NULL), 1);
        assert_string_equal(m[0], "alice");
        assert_string_equal(m[1], "bob");
        assert_null(m[2]);
        ps_strv_free(m);
        /* a root without /etc/passwd has no users */
        assert_int_equal(ps_root_getpwnam("/nonexistent", "root", &u, NULL), 0);
}

static void test_groupadd(void **s)
{
        if (access("/usr/sbin/groupadd", X_OK) != 0)
                skip();
        /* groupadd --prefix needs gshadow and login.defs are optional */
        char *gs = ps_path_join(root, "etc/gshadow");
        ps_write_atomic(gs, "root:*::\n", 9, 0640, NULL);
        free(gs);
        bool created = false;
        ps_error err = PS_ERROR_INIT;
        assert_int_equal(ps_groupadd(root, "podsectest", true, &created, &err), 0);
        assert_true(created);
        assert_int_equal(ps_groupadd(root, "podsectest", true, &created, &err), 0);
        assert_false(created);
        gid_t gid;
        assert_int_equal(ps_root_getgrnam(root, "podsectest", &gid, NULL), 1);
        assert_true(ps_groupadd(root, "bad name", true, &created, &err) < 0);
        assert_non_null(strstr(err.msg, "groupadd"));
        ps_error_clear(&err);
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_lookup), cmocka_unit_test(test_groupadd) };
        return cmocka_run_group_tests(tests, setup, teardown);
}
