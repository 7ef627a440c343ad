/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container configuration in effect for root or a user, found as
 * containers/image finds it (podman, skopeo and CRI-O read the same files):
 *
 *   policy.json      HOME/.config/containers/policy.json when it exists,
 *                    else /etc/containers/policy.json;
 *   registries.d     HOME/.config/containers/registries.d when it exists
 *                    (it REPLACES the system directory), else
 *                    /etc/containers/registries.d;
 *   registries.conf  HOME/.config/containers/registries.conf when it
 *                    exists, else /etc/containers/registries.conf;
 *   lookaside        the built-in default for a section-less image is
 *                    /var/lib/containers/sigstore for uid 0 and
 *                    HOME/.local/share/containers/sigstore for others.
 *
 * The user and home come from ROOT/etc/passwd (never from the host's
 * databases when a root tree is given).  All paths are also given as seen
 * on the node (without the ROOT prefix) for messages and reports. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "error.h"
#include "policy.h"
#include "registries.h"

typedef struct ps_effective {
        char *root;              /* copy of ROOT, NULL for the host */
        char *user;              /* "root" by default */
        uid_t uid;
        char *home;              /* as on the node */
        char *policy_path;       /* policy.json in effect, as on the node */
        char *policy_file;       /* the same under ROOT (what is read) */
        bool policy_user;        /* the user's own file */
        bool policy_exists;      /* false: neither file exists */
        char *regd_path;         /* registries.d directory, as on the node */
        char *regd_dir;          /* the same under ROOT */
        bool regd_user;
        char *regconf_path;      /* registries.conf, as on the node (may not exist) */
        char *regconf_file;      /* the same under ROOT */
        bool regconf_user;
} ps_effective;

/* Find the configuration of USER (NULL: root) under ROOT (NULL: host).
 * An unknown USER is -ENOENT ("unknown user \"x\": not in ROOT/etc/passwd");
 * a root tree without a root entry in passwd gives root with home /root.
 * A missing policy is not an error here (policy_exists = false; see
 * ps_effective_load_policy). */
int ps_effective_find(const char *root, const char *user, ps_effective *out, ps_error *err);
void ps_effective_clear(ps_effective *e);

/* HOME for the built-in lookaside default: NULL for uid 0, else the home. */
const char *ps_effective_builtin_home(const ps_effective *e);

/* Load the policy in effect (FLAGS as ps_policy_load_flags: COMPAT is what
 * podman applies).  No policy file at all is -ENOENT naming both paths
 * ("podman and skopeo would refuse to pull any image"). */
int ps_effective_load_policy(const ps_effective *e, unsigned flags, ps_policy **out, ps_error *err);
/* Load the registries.d directory in effect (user_dir is set). */
int ps_effective_load_regd(const ps_effective *e, ps_regd **out, ps_error *err);

/* 1 when REGISTRY (host[:port]) is marked insecure = true in the
 * registries.conf in effect ([[registry]] location or prefix equal to it),
 * 0 when not (also when there is no registries.conf), < 0 when the file
 * cannot be read or parsed. */
int ps_effective_registry_insecure(const ps_effective *e, const char *registry, ps_error *err);

/* PATH (under ROOT) as seen on the node: ROOT's prefix removed.  Returns a
 * pointer into PATH. */
const char *ps_effective_node_path(const char *root, const char *path);
