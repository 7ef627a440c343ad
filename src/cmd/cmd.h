/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command handlers: the only code that prints.  Each handler parses its own
 * options (getopt_long on argc/argv, argv[0] = "GROUP VERB") and returns the
 * process exit code. */
#pragma once
#include <libintl.h>
#include <stdbool.h>
#include <stdio.h>
#include "conf.h"
#include "error.h"

#define _(s) gettext(s)

typedef struct ps_ctx {
        const char *root;      /* NULL: the host */
        const char *config;    /* --config FILE or NULL */
        bool json;
        bool dry_run;
        int verbose;
        const char *prog;      /* name to show in messages */
        ps_conf conf;
} ps_ctx;

typedef int (*ps_cmd_fn)(ps_ctx *ctx, int argc, char **argv);

/* Print "podsec: MESSAGE" to stderr. */
void ps_err(ps_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ps_info(ps_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a ps_error with context and return CODE. */
int ps_fail(ps_ctx *ctx, ps_error *err, int code);
/* Returns 1 after printing usage when -h/--help is among argv (before "--"). */
bool ps_wants_help(int argc, char **argv);

#define PS_CMD(name) int name(ps_ctx *ctx, int argc, char **argv)
PS_CMD(cmd_platform);
PS_CMD(cmd_image_load_sign);
PS_CMD(cmd_policy_init);
PS_CMD(cmd_policy_show);
PS_CMD(cmd_policy_sync);
PS_CMD(cmd_policy_sign);
PS_CMD(cmd_user_add_imagemaker);
PS_CMD(cmd_user_add_podman);
PS_CMD(cmd_services_setup);
PS_CMD(cmd_services_run);
PS_CMD(cmd_services_status);
PS_CMD(cmd_image_verify);
PS_CMD(cmd_image_sign);
PS_CMD(cmd_image_save);
PS_CMD(cmd_check_containers);
PS_CMD(cmd_check_policy);
PS_CMD(cmd_check_images);
PS_CMD(cmd_check_kubeapi);
PS_CMD(cmd_check_vuln);
PS_CMD(cmd_check_build_image);
