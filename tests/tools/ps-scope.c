/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps-scope [--json] [--strict] POLICY.json REFERENCE
 *
 * Which containers-policy.json scope applies to a docker: REFERENCE, as
 * c/image (skopeo, podman) decides.  Prints exactly one line:
 *   docker:<scope>   a transports.docker scope ("docker:" alone for "")
 *   default          the global default
 * With --json: {"scope":...,"kind":...,"requirements":[...]} (scope null
 * for the global default).  The policy is parsed as c/image parses it
 * (PS_POLICY_COMPAT) unless --strict.  Errors go to stderr, exit 1; usage
 * errors exit 2. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

static int usage(void)
{
        fprintf(stderr, "usage: ps-scope [--json] [--strict] POLICY.json REFERENCE\n");
        return 2;
}

int main(int argc, char **argv)
{
        bool as_json = false;
        unsigned flags = PS_POLICY_COMPAT;
        int i = 1;
        for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
                if (!strcmp(argv[i], "--json"))
                        as_json = true;
                else if (!strcmp(argv[i], "--strict"))
                        flags = PS_POLICY_STRICT;
                else if (!strcmp(argv[i], "--")) {
                        i++;
                        break;
                } else
                        return usage();
        }
        if (argc - i != 2)
                return usage();
        const char *policy_path = argv[i], *reference = argv[i + 1];

        ps_error err = PS_ERROR_INIT;
        _cleanup_policy_ ps_policy *p = NULL;
        if (ps_policy_load_flags(policy_path, flags, &p, &err) < 0) {
                fprintf(stderr, "ps-scope: %s\n", ps_error_msg(&err));
                ps_error_clear(&err);
                return 1;
        }
        const char *scope = NULL;
        ps_scope_kind kind;
        const json_t *reqs = NULL;
        if (ps_policy_scope_for(p, reference, &scope, &kind, &reqs, &err) < 0) {
                fprintf(stderr, "ps-scope: %s\n", ps_error_msg(&err));
                ps_error_clear(&err);
                return 1;
        }
        if (as_json) {
                json_t *o = json_pack("{s:o, s:s, s:O}",
                                      "scope", scope ? json_string(scope) : json_null(),
                                      "kind", ps_scope_kind_name(kind),
                                      "requirements", (json_t *)reqs);
                char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                json_decref(o);
                if (!s) {
                        fprintf(stderr, "ps-scope: out of memory\n");
                        return 1;
                }
                printf("%s\n", s);
                free(s);
        } else if (kind == PS_SCOPE_GLOBAL_DEFAULT) {
                printf("default\n");
        } else {
                printf("docker:%s\n", scope);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("ps-scope: write");
                return 1;
        }
        return 0;
}
