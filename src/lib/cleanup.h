/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleanup attributes for scope-bound resources. */
#pragma once
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void ps_freep(void *p) { free(*(void **)p); }
static inline void ps_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void ps_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void ps_closedirp(DIR **d) { if (*d) closedir(*d); }
static inline void ps_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}
static inline void ps_strv_freep(char ***v) { ps_strv_free(*v); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(ps_freep)
#define _cleanup_close_ _cleanup_(ps_closep)
#define _cleanup_fclose_ _cleanup_(ps_fclosep)
#define _cleanup_closedir_ _cleanup_(ps_closedirp)
#define _cleanup_strv_ _cleanup_(ps_strv_freep)

static inline void *ps_steal_ptr(void *pp)
{
        void **p = pp;
        void *r = *p;
        *p = NULL;
        return r;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))ps_steal_ptr(pp))

static inline int ps_steal_fd(int *fd)
{
        int r = *fd;
        *fd = -1;
        return r;
}

#define PS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
