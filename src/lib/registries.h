/* SPDX-License-Identifier: GPL-2.0-or-later */
/* containers-registries.d(5): where signatures of an image are read and
 * written (lookaside storage), and containers-registries.conf(5) v2 edits.
 *
 * The rules follow containers/image (docker/registries_d.go):
 *  - directory: HOME/.config/containers/registries.d if it exists (it
 *    REPLACES the system directory), else /etc/containers/registries.d;
 *  - every *.yaml file in it is read (sorted by name) and merged; the same
 *    "docker" scope, or "default-docker", in two files is an error naming
 *    both files;
 *  - lookup for a reference: full identity (host/path:tag or @digest), then
 *    host/path and its parent namespaces up to host[:port] (no fall-back to
 *    the port-less host), then wildcard domains *.b.c, *.c built from the
 *    port-less host; a matching section without the wanted key falls
 *    through to the next candidate; then "default-docker"; then the
 *    built-in default file:///var/lib/containers/sigstore (root) or
 *    file://HOME/.local/share/containers/sigstore (users);
 *  - reading uses "lookaside", else the old "sigstore"; writing uses
 *    "lookaside-staging", else "sigstore-staging", else the read URL;
 *  - signature N (from 1) of an image lives at
 *    BASE/PATH@ALGO=HEX/signature-N, PATH being the repository path without
 *    the registry host (BASE loses its trailing slashes; containers/image
 *    would keep one and write "//", which names the same file and, behind
 *    nginx's default merge_slashes, the same URL). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* Largest registries.d file accepted. */
#define PS_REGD_MAX_FILE (4u * 1024 * 1024)

typedef struct ps_regd_section {
        char *lookaside;            /* NULL: not set */
        char *lookaside_staging;
        char *sigstore;             /* old name of lookaside */
        char *sigstore_staging;     /* old name of lookaside-staging */
        int use_sigstore_attachments;  /* -1 not set, 0 false, 1 true */
        char *file;                 /* file that defined the section */
        int line;                   /* line of its key in that file (from 1) */
} ps_regd_section;

typedef struct ps_regd_scope {
        char *name;                 /* the "docker" key, e.g. "registry.local:5000/ns" */
        ps_regd_section section;
} ps_regd_scope;

typedef struct ps_regd {
        char *dir;                  /* directory read; NULL if built from text */
        bool user_dir;              /* dir is the user's ~/.config/containers/registries.d */
        char **files;               /* NULL-terminated, the *.yaml files merged, in order */
        size_t n_files;
        ps_regd_section *default_docker;  /* NULL: none */
        ps_regd_scope *scopes;      /* sorted by name (strcmp), for lookup */
        size_t n_scopes;
} ps_regd;

ps_regd *ps_regd_new(void);
void ps_regd_free(ps_regd *c);
static inline void ps_regd_freep(ps_regd **c) { ps_regd_free(*c); }
#define _cleanup_regd_ __attribute__((cleanup(ps_regd_freep)))

/* Parse one registries.d YAML document (TEXT of LEN bytes; FILE names it
 * in messages and is recorded as the origin of its sections) and merge it
 * into C.  Strict: the document must be empty or a mapping with only
 * "default-docker" and "docker"; sections only the keys above; strings
 * must be strings and use-sigstore-attachments (old name
 * use-cosign-attachments) a boolean; duplicate keys, aliases and more than
 * one document are errors.  A conflict with an earlier file names both.
 * On error C is unchanged. */
int ps_regd_parse(ps_regd *c, const char *text, size_t len, const char *file, ps_error *err);

/* Read and merge every *.yaml in DIR (sorted by name).  A missing DIR gives
 * an empty configuration. */
int ps_regd_load_dir(const char *dir, ps_regd **out, ps_error *err);

/* The registries.d directory in effect: ROOT+HOME/.config/containers/
 * registries.d when it exists (HOME may be NULL: root's view without a
 * home), else ROOT/etc/containers/registries.d.  *user_dir (may be NULL)
 * tells which.  HOME is a path inside ROOT. */
int ps_regd_dir_for(const char *root, const char *home, char **dir, bool *user_dir, ps_error *err);
/* ps_regd_dir_for + ps_regd_load_dir. */
int ps_regd_load(const char *root, const char *home, ps_regd **out, ps_error *err);

/* Result of a lookup. */
typedef struct ps_regd_match {
        char *url;          /* configured (or built-in) base URL */
        char *scope;        /* matching "docker" key, "default-docker", or NULL (built-in) */
        const char *key;    /* "lookaside", "lookaside-staging", "sigstore",
                               "sigstore-staging", or NULL (built-in) */
        char *file;         /* file of the matching section, NULL for built-in */
        bool builtin;
} ps_regd_match;
void ps_regd_match_clear(ps_regd_match *m);

/* Built-in default base: file:///var/lib/containers/sigstore for HOME ==
 * NULL (root), else file://HOME/.local/share/containers/sigstore. */
char *ps_regd_builtin_url(const char *home);

/* Base URL for image REFERENCE (a docker reference; normalised like
 * docker: "busybox" is docker.io/library/busybox:latest).  WRITE selects
 * the staging URL.  HOME as for ps_regd_builtin_url. */
int ps_regd_lookup_ref(const ps_regd *c, const char *reference, bool write, const char *home,
                       ps_regd_match *out, ps_error *err);
/* Base URL for a policy.json "docker" SCOPE: the scope itself (a full
 * identity, a namespace, host[:port], or *.domain), then its parents and
 * wildcards as for a reference; "" means only default-docker/built-in. */
int ps_regd_lookup_scope(const ps_regd *c, const char *scope, bool write, const char *home,
                         ps_regd_match *out, ps_error *err);

/* "BASE/REPO_PATH" (BASE's trailing slashes dropped, its ?query/#fragment
 * kept after the path).  REPO_PATH is the repository path without host. */
int ps_regd_repo_url(const char *base, const char *repo_path, char **url, ps_error *err);
/* "BASE/REPO_PATH@ALGO=HEX/signature-INDEX".  DIGEST is "sha256:<64 hex>"
 * or "sha512:<128 hex>"; INDEX counts from 1.  DIGEST NULL gives the
 * template "...@sha256=<digest>/signature-INDEX". */
int ps_regd_signature_url(const char *base, const char *repo_path, const char *digest,
                          unsigned index, char **url, ps_error *err);
/* Everything at once: signature INDEX of REFERENCE at DIGEST (or the
 * reference's own digest when DIGEST is NULL; the template if it has
 * none).  MATCH (may be NULL) receives which section decided. */
int ps_regd_sigurl(const ps_regd *c, const char *reference, const char *digest, unsigned index,
                   bool write, const char *home, char **url, ps_regd_match *match, ps_error *err);

/* Map a file:// URL to a local path under ROOT (percent-escapes decoded).
 * Errors for other schemes, for a host part other than "" or "localhost"
 * ("file://var/x" is a typo containers/image would take as /x), and for
 * relative or NUL-containing paths. */
int ps_regd_file_url_path(const char *root, const char *url, char **path, ps_error *err);
/* true when URL is a file:// URL (case-insensitive scheme). */
bool ps_regd_url_is_file(const char *url);

/* containers-registries.conf(5) v2: make REGISTRY (host[:port]) insecure.
 * TEXT (LEN bytes; NULL or empty for a missing file) is the current file.
 * Returns 1 and *out (malloc'd, NUL-terminated, *out_len may be NULL) =
 * TEXT (with a final newline added if missing) + a blank line +
 *   [[registry]]
 *   location = "REGISTRY"
 *   insecure = true
 * Returns 0 (unchanged, *out NULL) when a [[registry]] table (or an inline
 * registry = [{...}] entry) already has location or prefix == REGISTRY
 * with insecure = true.  Errors: -EEXIST when such an entry exists without
 * insecure = true (appending would define the registry twice with
 * conflicting settings); -EINVAL for a v1 file ([registries.search],
 * [registries.insecure], [registries.block]; mixing v1 and v2 is invalid),
 * for syntax the scanner cannot follow, or for an invalid REGISTRY.
 * Messages name FILE (may be NULL) and the line. */
int ps_regconf_add_insecure(const char *text, size_t len, const char *file, const char *registry,
                            char **out, size_t *out_len, ps_error *err);
