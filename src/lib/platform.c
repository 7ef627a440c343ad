/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "platform.h"
#include "cleanup.h"
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* value of KEY in os-release text, with one level of quotes removed */
static char *osr_get(const char *text, const char *key)
{
        size_t kl = strlen(key);
        const char *p = text;
        while (p && *p) {
                const char *eol = strchr(p, '\n');
                size_t ll = eol ? (size_t)(eol - p) : strlen(p);
                if (ll > kl && !strncmp(p, key, kl) && p[kl] == '=') {
                        const char *v = p + kl + 1;
                        size_t vl = ll - kl - 1;
                        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                                vl--;
                        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
                                v++;
                                vl -= 2;
                        }
                        return strndup(v, vl);
                }
                p = eol ? eol + 1 : NULL;
        }
        return NULL;
}

int ps_platform_from_os_release(const char *text, char **out, ps_error *err)
{
        _cleanup_free_ char *branch = osr_get(text, "ALT_BRANCH_ID");
        if (branch && *branch) {
                *out = !strncmp(branch, "c10f", 4) ? strdup("c10f") : steal_pointer(&branch);
                return *out ? 0 : ps_error_set(err, ENOMEM, "out of memory");
        }
        _cleanup_free_ char *cpe = osr_get(text, "CPE_NAME");
        if (!cpe || !*cpe)
                return ps_error_set(err, ENOENT, "os-release has neither ALT_BRANCH_ID nor CPE_NAME");
        /* cpe:/o:VENDOR:PRODUCT:VERSION -> fields 4 and 5 */
        char *f[6] = { 0 };
        char *s = cpe;
        for (int i = 0; i < 6 && s; i++) {
                f[i] = s;
                s = strchr(s, ':');
                if (s)
                        *s++ = '\0';
        }
        const char *product = f[3], *version = f[4];
        if (!product || !*product)
                return ps_error_set(err, EINVAL, "CPE_NAME has no product field");
        if (!strcmp(product, "spserver"))
                *out = strdup("c10f");
        else if (!strcmp(product, "sisyphus"))
                *out = strdup("sisyphus");
        else {
                if (!version || !*version)
                        return ps_error_set(err, EINVAL, "CPE_NAME has no version field");
                size_t ml = strcspn(version, ".");
                if (asprintf(out, "p%.*s", (int)ml, version) < 0)
                        *out = NULL;
        }
        return *out ? 0 : ps_error_set(err, ENOMEM, "out of memory");
}

int ps_platform(const char *root, const char *override, char **out, bool *from_env, ps_error *err)
{
        if (from_env)
                *from_env = false;
        if (override && *override) {
                if (from_env)
                        *from_env = true;
                *out = strdup(override);
                return *out ? 0 : ps_error_set(err, ENOMEM, "out of memory");
        }
        _cleanup_free_ char *path = ps_root_path(root, "/etc/os-release");
        if (!path)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *text = NULL;
        int r = ps_read_file(path, 1 << 16, &text, NULL, err);
        if (r < 0) {
                /* /usr/lib/os-release is the documented fallback */
                ps_error_clear(err);
                free(path);
                path = ps_root_path(root, "/usr/lib/os-release");
                if (!path)
                        return ps_error_set(err, ENOMEM, "out of memory");
                r = ps_read_file(path, 1 << 16, &text, NULL, err);
                if (r < 0)
                        return ps_error_wrap(err, "cannot determine the platform");
        }
        r = ps_platform_from_os_release(text, out, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot determine the platform from %s", path);
        return 0;
}
