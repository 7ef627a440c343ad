/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec platform (= podsec-get-platform) */
#include "cmd.h"
#include "cleanup.h"
#include "platform.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>

PS_CMD(cmd_platform)
{
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (o == 'h') {
                        printf(_("Usage: %s\n\n"
                                 "Print the ALT platform name used as the image-name prefix:\n"
                                 "U7S_PLATFORM if set, else ALT_BRANCH_ID from ROOT/etc/os-release\n"
                                 "(c10f* -> c10f), else the CPE_NAME product (spserver -> c10f,\n"
                                 "sisyphus -> sisyphus, otherwise p<major version>).\n"),
                               argv[0]);
                        return 0;
                }
                return 2;
        }
        if (optind != argc) {
                ps_err(ctx, _("platform takes no arguments"));
                return 2;
        }
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *p = NULL;
        bool from_env = false;
        if (ps_platform(ctx->root, getenv("U7S_PLATFORM"), &p, &from_env, &err) < 0)
                return ps_fail(ctx, &err, 1);
        if (from_env)
                ps_info(ctx, _("using the predefined U7S_PLATFORM=%s"), p);
        if (ctx->json) {
                json_t *j = json_pack("{s:s,s:s}", "platform", p, "source", from_env ? "U7S_PLATFORM" : "os-release");
                char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
                if (s)
                        printf("%s\n", s);
                free(s);
                json_decref(j);
        } else {
                printf("%s\n", p);
        }
        return 0;
}
