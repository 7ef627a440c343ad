/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps-sigurl [--write] [--home HOME] [--root ROOT] [--file-path]
 *           REGISTRIES_D_DIR REFERENCE DIGEST [N]
 *
 * Prints the URL of signature N (default 1) of REFERENCE at manifest
 * DIGEST (sha256:<hex>; "-" uses the reference's own digest, or prints a
 * template) as containers/image resolves it from REGISTRIES_D_DIR: the
 * read URL, or with --write the staging URL.  --home gives the user's home
 * for the built-in default; --file-path prints the local path of a file://
 * URL (under --root) instead of the URL.  A second line on stderr with -v
 * tells which section decided.  Errors: exit 1; usage: exit 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cleanup.h"
#include "registries.h"

static int usage(void)
{
        fprintf(stderr, "usage: ps-sigurl [--write] [--home HOME] [--root ROOT] [--file-path] [-v] "
                        "REGISTRIES_D_DIR REFERENCE DIGEST [N]\n");
        return 2;
}

int main(int argc, char **argv)
{
        bool write = false, file_path = false, verbose = false;
        const char *home = NULL, *root = NULL;
        int i = 1;
        for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
                if (!strcmp(argv[i], "--write"))
                        write = true;
                else if (!strcmp(argv[i], "--file-path"))
                        file_path = true;
                else if (!strcmp(argv[i], "-v"))
                        verbose = true;
                else if (!strcmp(argv[i], "--home") && i + 1 < argc)
                        home = argv[++i];
                else if (!strcmp(argv[i], "--root") && i + 1 < argc)
                        root = argv[++i];
                else if (!strcmp(argv[i], "--")) {
                        i++;
                        break;
                } else
                        return usage();
        }
        if (argc - i != 3 && argc - i != 4)
                return usage();
        const char *dir = argv[i], *ref = argv[i + 1], *digest = argv[i + 2];
        unsigned long n = 1;
        if (argc - i == 4) {
                char *end = NULL;
                errno = 0;
                n = strtoul(argv[i + 3], &end, 10);
                if (errno || !end || *end || n < 1 || n > 1000000)
                        return usage();
        }
        if (!strcmp(digest, "-"))
                digest = NULL;

        ps_error err = PS_ERROR_INIT;
        ps_regd *c _cleanup_regd_ = NULL;
        _cleanup_free_ char *url = NULL;
        ps_regd_match m = { 0 };
        if (ps_regd_load_dir(dir, &c, &err) < 0 ||
            ps_regd_sigurl(c, ref, digest, (unsigned)n, write, home, &url, &m, &err) < 0) {
                fprintf(stderr, "ps-sigurl: %s\n", ps_error_msg(&err));
                ps_error_clear(&err);
                return 1;
        }
        if (verbose)
                fprintf(stderr, "ps-sigurl: %s from %s (%s)\n", m.builtin ? "built-in default" : m.key,
                        m.builtin ? "-" : m.scope, m.builtin ? "-" : m.file);
        ps_regd_match_clear(&m);
        if (file_path) {
                _cleanup_free_ char *p = NULL;
                if (ps_regd_file_url_path(root, url, &p, &err) < 0) {
                        fprintf(stderr, "ps-sigurl: %s\n", ps_error_msg(&err));
                        ps_error_clear(&err);
                        return 1;
                }
                printf("%s\n", p);
        } else {
                printf("%s\n", url);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("ps-sigurl: writing the output");
                return 1;
        }
        return 0;
}
