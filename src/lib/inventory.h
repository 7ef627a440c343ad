/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The accounts podsec's configuration and image checks inspect, the facts
 * they need about each, and the rules of `podsec check policy` and `podsec
 * check images` (spec monitor §2.7, §3, §4).
 *
 * Accounts (fixing the original's "/home/<dir> is a user" scan, defects 14
 * and 34): root (the system policy), every user of ROOT/etc/passwd, and
 * u7s-admin (home from passwd; /var/lib/u7s-admin when it has a storage but
 * no passwd entry).  Group membership is exact: the primary group of the
 * passwd entry plus the groups of ROOT/etc/group that list the user; never
 * a substring of `id -Gn`.
 *
 * Container storage: root's /var/lib/containers/storage, a user's
 * ~/.local/share/containers/storage, u7s-admin's
 * ~/.local/share/usernetes/containers/storage (or the standard one).  The
 * accounts of rules 101-106 (the "inventory") are root, u7s-admin and the
 * users that have a storage.
 *
 * Configuration in effect (as containers/image finds it, see effective.h):
 * ~/.config/containers/policy.json when it exists, else
 * /etc/containers/policy.json; ~/.config/containers/registries.d when it
 * exists (it replaces the system directory), else
 * /etc/containers/registries.d (every *.yaml merged).  Root reads users'
 * files: inside a home nothing is followed through a symbolic link (the
 * walk is descriptor based, O_NOFOLLOW), so a user cannot make the check
 * read another file; storage files (images.json, manifests) may lie behind
 * the symlinks podsec-k8s makes, but must be owned by the account.
 * Policies are parsed by the policy engine in containers/image's
 * compatibility mode (what podman would load), never matched as text.
 *
 * Whether a user can change ~/.config/containers is decided from owners,
 * modes and the immutable attribute (ioctl FS_IOC_GETFLAGS); nothing is
 * written (the original left a root-owned ".test" file, defect 5).
 *
 * Errors: functions return < 0 only when nothing sensible can be reported
 * (out of memory, passwd unreadable).  A problem with one account (an
 * unreadable or invalid policy, a planted symlink) is recorded in that
 * account (config_error) and reported as "could not check". */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>
#include "error.h"
#include "policy.h"
#include "registries.h"
#include "verify.h"

#define PS_INV_U7S_USER "u7s-admin"
#define PS_INV_U7S_HOME "/var/lib/u7s-admin"
#define PS_INV_ROOT_STORAGE "/var/lib/containers/storage"
#define PS_INV_USER_STORAGE ".local/share/containers/storage"
#define PS_INV_U7S_STORAGE ".local/share/usernetes/containers/storage"

typedef struct ps_inv_opts {
        const char *root;               /* NULL: the host */
        const char *group_user;         /* image users' group; NULL: "podman" */
        const char *group_dev;          /* image makers' group; NULL: "podman_dev" */
        const char *group_admin;        /* administrators; NULL: "wheel" */
        const char *u7s_user;           /* NULL: "u7s-admin" */
        const char *registry;           /* the site registry (rule 103); NULL: "registry.local" */
        const char *sigstore_url;       /* the site lookaside (rule 106); NULL: http://sigstore.local:81/sigstore/ */
} ps_inv_opts;

typedef enum ps_inv_kind {
        PS_INV_ROOT,                    /* root: the system (rootful) configuration */
        PS_INV_USER,
        PS_INV_U7S,                     /* the rootless Kubernetes service account */
} ps_inv_kind;

/* What a requirement list lets through (all requirements must hold). */
typedef enum ps_reqs_class {
        PS_REQS_REJECT,                 /* reject or signedBaseLayer: nothing (c/image never satisfies the latter) */
        PS_REQS_SIGNED,                 /* signedBy / sigstoreSigned: only signed images */
        PS_REQS_ANY,                    /* only insecureAcceptAnything: anything, unsigned too */
} ps_reqs_class;

/* Class of a requirement list (an invalid entry counts as REJECT: podman
 * would not load the policy). */
ps_reqs_class ps_inv_reqs_class(const json_t *reqs);
/* "reject", "signed", "any" */
const char *ps_reqs_class_name(ps_reqs_class c);

typedef struct ps_inv_account {
        ps_inv_kind kind;
        char *name;
        bool in_passwd;                 /* false: a pseudo record (root without entry, u7s-admin storage only) */
        uid_t uid;
        gid_t gid;
        char *home;                     /* as on the node; NULL when unknown */
        char **groups;                  /* primary group (its number when unnamed), then supplementary ones */
        gid_t *gids;                    /* the same as numbers */
        size_t n_groups;
        bool in_user_group;             /* exact member of group_user */
        bool in_dev_group;              /* exact member of group_dev */
        bool in_admin_group;            /* exact member of group_admin */
        char *storage;                  /* container storage as on the node, NULL: none */
        bool inventory;                 /* one of the accounts of rules 101-106 */

        /* ---- configuration: ps_inventory_load_config ---------------- */
        bool config_loaded;
        char *config_error;             /* could not be inspected: why (the facts below are not set) */
        char *policy_path;              /* policy.json in effect, as on the node */
        bool policy_user;               /* the user's own file */
        bool policy_missing;            /* no policy at all: podman refuses every image */
        const ps_policy *policy;        /* NULL when missing */
        char *default_types;            /* requirement types of "default", comma separated */
        ps_reqs_class default_class;
        char **signed_scopes;           /* docker scopes that need a signature */
        char **unsigned_scopes;         /* docker scopes ("" = transport default) that accept unsigned images */
        char **open_transports;         /* transports other than docker with a scope that does not reject */
        char *regd_path;                /* registries.d in effect, as on the node */
        bool regd_user;
        const ps_regd *regd;
        char *default_lookaside;        /* default-docker lookaside (or old sigstore), NULL: none */
        bool has_storage_conf;          /* ~/.config/containers/storage.conf is a regular file */
        bool has_config_dir;            /* ~/.config/containers exists */
        int config_writable;            /* 1: the user can change ~/.config/containers, 0: locked, -1: unknown */
        char *writable_why;             /* the reason for config_writable */

        /* private */
        ps_policy *own_policy;
        ps_regd *own_regd;
} ps_inv_account;

typedef struct ps_inventory {
        char *root;
        ps_inv_account *accounts;       /* root first, then passwd order, u7s-admin pseudo record last */
        size_t n_accounts;
        struct ps_inv_private *priv;
} ps_inventory;

/* Read ROOT/etc/passwd and ROOT/etc/group and find the accounts and their
 * storages.  Only an unreadable passwd file (or ENOMEM) is an error. */
int ps_inventory_scan(const ps_inv_opts *o, ps_inventory **out, ps_error *err);
void ps_inventory_free(ps_inventory *inv);
static inline void ps_inventory_freep(ps_inventory **p) { ps_inventory_free(*p); }
#define _cleanup_inventory_ __attribute__((cleanup(ps_inventory_freep)))

/* The account named NAME, or NULL. */
ps_inv_account *ps_inventory_find(ps_inventory *inv, const char *name);
/* Is A an exact member of group NAME? */
bool ps_inv_account_in_group(const ps_inv_account *a, const char *name);

/* Fill the configuration facts of A (once; again is a no-op).  Problems of
 * the account are recorded in a->config_error; < 0 only for ENOMEM. */
int ps_inventory_load_config(ps_inventory *inv, ps_inv_account *a, ps_error *err);

/* ---- rules and reports ------------------------------------------------ */

typedef struct ps_inv_finding {
        char *user;
        char *why;                      /* what exactly, e.g. "default insecureAcceptAnything in
                                         * /home/a/.config/containers/policy.json" */
} ps_inv_finding;

typedef struct ps_inv_rule {
        int id;                         /* 101..107; 0 for the two share rules of check policy */
        const char *label;              /* perfdata label: "r101".."r107", "no_storage_conf", "writable_config" */
        const char *heading;            /* short heading for verbose output */
        int weight;                     /* added to the metric when the rule matched (n > 0) */
        ps_inv_finding *v;
        size_t n;
        char *message;                  /* the journal message without the level prefix (NULL when n == 0) */
} ps_inv_rule;

typedef struct ps_inv_image {
        char *account;
        char *store;                    /* storage as on the node */
        char *id;                       /* image id (64 hex digits) */
        char *name;                     /* the name checked; NULL: the image has no name */
        bool in_policy;                 /* a docker scope of the account's policy covers the name */
        char *scope;                    /* that scope ("" transport default, NULL global default) */
        int verdict;                    /* ps_verdict; -1 when not verified */
        char *signer;                   /* fingerprint of the signature that satisfied the policy */
        char *reason;                   /* why it is not accepted or outside */
} ps_inv_image;

typedef struct ps_inv_report {
        ps_inv_rule *rules;             /* in evaluation order */
        size_t n_rules;
        int metric;                     /* sum of the weights of the matched rules */
        size_t checked;                 /* accounts checked */
        size_t share_population;        /* check policy: N of the share rules (image users) */
        ps_inv_finding *unchecked;      /* accounts that could not be inspected, and why */
        size_t n_unchecked;
        ps_inv_image *images;           /* check images: every image name checked */
        size_t n_images;
} ps_inv_report;

void ps_inv_report_clear(ps_inv_report *r);

/* check policy (spec monitor §3.2, defects fixed):
 *   101  inventory minus root: in neither group_user nor group_dev
 *   102  inventory: default requirement not "reject" and not in group_dev
 *   103  inventory: no docker scope of the site registry (host[:port] equal
 *        to opts->registry) needs a signature
 *   104  inventory: a docker scope accepts unsigned images
 *   105  inventory: a transport other than docker has a scope that does not
 *        reject
 *   106  inventory: registries.d's default-docker lookaside is not the
 *        site's sigstore URL (trailing slashes ignored)
 *   107  every account but root: in group_user and group_admin, not in group_dev
 *   share rules, over the image users U (accounts in group_user, not in
 *   group_dev, not root or u7s-admin; N = |U|; weight floor(90 n / N), 0
 *   when N = 0):
 *        no regular ~/.config/containers/storage.conf
 *        has storage.conf, and the user can change ~/.config/containers */
int ps_inventory_policy_rules(ps_inventory *inv, ps_inv_report *out, ps_error *err);

typedef struct ps_inv_images_opts {
        bool all;                       /* verify images outside the policy's scopes too (CHECKALLIMAGES) */
        long timeout_s;                 /* per lookaside request (0: 10 s) */
        const char *ca_file;            /* https lookaside CA bundle */
        /* Signatures from here instead of the lookaside registries.d names
         * (tests); only its signatures function is used. */
        const ps_verify_source *signatures;
} ps_inv_images_opts;

/* check images (spec monitor §4.2, defects fixed), over root, u7s-admin and
 * the users with a storage that are not in group_dev:
 *   101  the policy has docker scopes that accept unsigned images
 *   102  images whose names a docker scope covers and that the policy does
 *        not accept: every signature is verified (GPG, signed digest,
 *        identity) against the account's policy, read from the lookaside
 *        registries.d gives for the name; manifests are the stored ones
 *   103  images outside every docker scope of the policy (only the
 *        transport default or the global default applies), and images
 *        without a name */
int ps_inventory_images_rules(ps_inventory *inv, const ps_inv_images_opts *o, ps_inv_report *out, ps_error *err);

/* ---- container storages ------------------------------------------------ */

/* The storages of A that exist, as paths under the root (NULL-terminated,
 * free with ps_strv_free; duplicates by inode removed). */
int ps_inventory_stores(const ps_inventory *inv, const ps_inv_account *a, char ***stores, ps_error *err);

/* containers-storage keeps an image's "big data" items in
 * <driver>-images/<id>/<file>: FILE is KEY when KEY has only [a-z0-9.],
 * else "=" + base64(KEY).  malloc'd, NULL on ENOMEM. */
char *ps_store_bigdata_name(const char *key);

/* The manifest of image ID in the images directory IMAGES_DIR (a
 * "<driver>-images" directory under the root): for a digest "manifest-" +
 * DIGEST, else (or when that is missing and DIGEST is the image's digest)
 * "manifest".  Files must be regular and owned by OWNER ((uid_t)-1: any). */
int ps_store_manifest(const char *images_dir, const char *id, const char *image_digest, const char *digest,
                      uid_t owner, char **data, size_t *len, ps_error *err);

/* ---- presentation ------------------------------------------------------ */

/* Names as the original listed them: JSON string literals separated by
 * one blank ("\"alice\" \"bob\"").  malloc'd, NULL on ENOMEM. */
char *ps_inv_quote_list(const ps_inv_finding *v, size_t n);
/* The facts of an account as JSON (new reference, NULL on ENOMEM). */
json_t *ps_inv_account_json(const ps_inv_account *a);
/* A rule as JSON: id, label, heading, weight, users [{user, why}], message. */
json_t *ps_inv_rule_json(const ps_inv_rule *r);
json_t *ps_inv_image_json(const ps_inv_image *im);
