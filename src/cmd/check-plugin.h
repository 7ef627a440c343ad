/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What `podsec check policy` and `podsec check images` share: the plugin
 * command line (the original's level options plus podsec's own), the
 * start-up checks, and the report: journal lines per matched rule, the
 * Nagios status line with perfdata, verbose details, --json, mail.
 * Implemented in check-policy.c. */
#pragma once
#include "cmd.h"
#include "inventory.h"
#include "nagios.h"

typedef struct ps_plugin {
        ps_ctx *ctx;
        bool images;                    /* check images (else check policy) */
        const char *tag;                /* journal identifier */
        ps_nagios_opts o;
        const char *sendmail;           /* --sendmail PATH */
        bool all_images;                /* --all-images or CHECKALLIMAGES */
        long timeout;                   /* --timeout SEC */
        const char *ca_file;            /* --ca-file FILE */
        bool log_stderr;                /* --log-stderr */
} ps_plugin;

/* Parse the command line and do the start-up checks.  Returns -1 to go on,
 * else the exit code (help printed, usage error or not root reported as
 * UNKNOWN). */
int ps_plugin_start(ps_plugin *p, ps_ctx *ctx, bool images, int argc, char **argv);
void ps_plugin_free(ps_plugin *p);
/* Print an UNKNOWN status line with MSG and return 3. */
int ps_plugin_unknown(const ps_plugin *p, const char *msg);
/* The inventory options from the site settings. */
ps_inv_opts ps_plugin_inv_opts(const ps_plugin *p);
/* Log the matched rules, print the report (text or JSON), mail it; returns
 * the exit code. */
int ps_plugin_report(ps_plugin *p, ps_inventory *inv, ps_inv_report *rep);
