/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Users and groups of a root tree (ROOT/etc/passwd, ROOT/etc/group), read
 * directly so that --root never consults the host's databases, and changed
 * only through the shadow tools (groupadd/useradd/usermod --prefix). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "error.h"

typedef struct ps_user {
        char *name;
        uid_t uid;
        gid_t gid;
        char *home;   /* as written in passwd (host path; prefix with root to use) */
        char *shell;
} ps_user;

void ps_user_free(ps_user *u);
/* 1 found, 0 not found, <0 error */
int ps_root_getpwnam(const char *root, const char *name, ps_user *out, ps_error *err);
int ps_root_getgrnam(const char *root, const char *name, gid_t *gid, ps_error *err);
/* NULL-terminated list of the group's supplementary members (malloc'd). */
int ps_root_group_members(const char *root, const char *name, char ***members, ps_error *err);
/* groupadd [-r] NAME unless it exists; *created tells which. */
int ps_groupadd(const char *root, const char *name, bool system, bool *created, ps_error *err);
