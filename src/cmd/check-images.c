/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec check images (= podsec-inotify-check-images, spec monitor §4): a
 * Nagios/Icinga plugin auditing the images stored by root, u7s-admin and
 * the users who are not image makers, against the policy in effect for
 * each (rules 101-103).
 *
 * Fixed against the original: signatures are verified cryptographically
 * with the policy's keys, signed digest and identity (the original only
 * checked that signature-1 could be downloaded, defect 6); images are read
 * from the storage's images.json and stored manifests, so locally built and
 * untagged images are seen (20); scopes are resolved by the policy engine,
 * not by prefix text, and nothing from a user's policy reaches a shell (2);
 * the default-docker lookaside is used when no registry section matches
 * (18); messages are single lines (21); the report is printed and the exit
 * code is the Nagios state (10).  The plugin frame is in check-policy.c. */
#include "check-plugin.h"
#include "cleanup.h"

PS_CMD(cmd_check_images)
{
        ps_plugin p;
        int rc = ps_plugin_start(&p, ctx, true, argc, argv);
        if (rc >= 0) {
                ps_plugin_free(&p);
                return rc;
        }
        ps_error err = PS_ERROR_INIT;
        ps_inv_opts io = ps_plugin_inv_opts(&p);
        ps_inv_images_opts imo = { .all = p.all_images, .timeout_s = p.timeout, .ca_file = p.ca_file };
        _cleanup_inventory_ ps_inventory *inv = NULL;
        ps_inv_report rep;
        if (ps_inventory_scan(&io, &inv, &err) < 0 || ps_inventory_images_rules(inv, &imo, &rep, &err) < 0) {
                rc = ps_plugin_unknown(&p, ps_error_msg(&err));
                ps_error_clear(&err);
                ps_plugin_free(&p);
                return rc;
        }
        rc = ps_plugin_report(&p, inv, &rep);
        ps_inv_report_clear(&rep);
        ps_plugin_free(&p);
        return rc;
}
