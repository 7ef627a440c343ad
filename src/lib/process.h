/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Run programs by argv vector (posix_spawn): never a shell. */
#pragma once
#include <stddef.h>
#include "error.h"

typedef struct ps_spawn_opts {
        const char *const *env;   /* extra "K=V" entries added to a clean environment */
        const char *stdin_data;   /* fed to stdin (NULL: /dev/null) */
        size_t stdin_len;
        char **out;               /* captured stdout (malloc'd, NUL-terminated) or NULL: inherit */
        char **errout;            /* captured stderr or NULL: inherit */
        int quiet;                /* without errout: send stderr to /dev/null */
} ps_spawn_opts;

/* Run ARGV[0] (looked up in a fixed PATH when it has no '/').  *status gets
 * the exit code (128+N for a signal).  Returns <0 only when it could not
 * be run at all. */
int ps_spawn(const char *const argv[], const ps_spawn_opts *opts, int *status, ps_error *err);
/* Find PROG in the fixed PATH; malloc'd full path or NULL. */
char *ps_which(const char *prog);
