/* SPDX-License-Identifier: GPL-2.0-or-later */
/* containers-policy.json(5): a strict model, scope resolution, editing and
 * serialisation.
 *
 * Parsing follows containers/image (signature/policy_config*.go): duplicate
 * keys, unknown keys, wrong types, empty requirement lists, a missing
 * "default", invalid requirement or identity fields and scopes a known
 * transport refuses all reject the whole policy.  Error messages name the
 * JSON path, e.g.
 *     transports.docker."registry.local/x"[0]: unknown key "keypath"
 *
 * Two levels of strictness:
 *   PS_POLICY_COMPAT  accept exactly what c/image accepts (it is the oracle
 *                     for what podman/skopeo/CRI-O will load);
 *   PS_POLICY_STRICT  (the default of ps_policy_parse/ps_policy_load) also
 *                     refuses entries c/image loads but that can never take
 *                     effect, which are always mistakes in a podsec policy:
 *                     docker scopes that no image can match (not in the fully
 *                     expanded form, "*." wildcards with a port, bad
 *                     characters), a signedBy keyType other than "GPGKeys"
 *                     (c/image rejects every image for them), an empty
 *                     signedBy "keyPaths" list, and present-but-empty (or
 *                     null) string fields.
 *
 * The parsed JSON tree (jansson) is kept and edited in place, so content
 * podsec does not interpret (other transports, sigstoreSigned fields, ...)
 * survives an edit; key order is preserved.  ps_policy_serialise prints it
 * exactly as `jq .` does (2-space indent, trailing newline).
 *
 * Strings returned by accessors point into the tree: they stay valid until
 * the policy is edited or freed. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define PS_POLICY_MAX_SIZE (4u * 1024 * 1024)   /* larger input is refused */
#define PS_POLICY_KEY_MAX_SIZE (8u * 1024 * 1024) /* largest key file read */

enum {
        PS_POLICY_STRICT = 0,
        PS_POLICY_COMPAT = 1 << 0,
};

typedef struct ps_policy ps_policy;          /* opaque */

/* Parse TEXT (LEN bytes, need not be NUL-terminated) strictly. */
int ps_policy_parse(const char *text, size_t len, ps_policy **out, ps_error *err);
int ps_policy_parse_flags(const char *text, size_t len, unsigned flags, ps_policy **out, ps_error *err);
/* Read and parse a file; errors are prefixed with the file name. */
int ps_policy_load(const char *path, ps_policy **out, ps_error *err);
int ps_policy_load_flags(const char *path, unsigned flags, ps_policy **out, ps_error *err);
/* podsec's initial policy: {"default":[{"type":"reject"}],"transports":{"docker":{}}} */
int ps_policy_new_initial(ps_policy **out, ps_error *err);
/* Deep copy (NULL on ENOMEM). */
ps_policy *ps_policy_copy(const ps_policy *p);
void ps_policy_free(ps_policy *p);
static inline void ps_policy_freep(ps_policy **p) { ps_policy_free(*p); }
#define _cleanup_policy_ __attribute__((cleanup(ps_policy_freep)))

/* Pretty JSON exactly as `jq .` prints it, plus '\n'.  malloc'd, NULL on
 * ENOMEM (or for a tree nested deeper than 64 levels, which no valid
 * policy is: parsing is bounded by jansson's depth limit and the schema). */
char *ps_policy_serialise(const ps_policy *p);
/* Any JSON value in the same format (no trailing newline). */
char *ps_json_dump_jq(const json_t *v);

/* The tree, read-only. */
const json_t *ps_policy_json(const ps_policy *p);

/* ---- scope resolution ------------------------------------------------ */

typedef enum {
        PS_SCOPE_EXACT,                 /* "host/repo:tag" or "host/repo@digest" */
        PS_SCOPE_NAMESPACE,             /* the repository or a parent namespace */
        PS_SCOPE_HOST,                  /* "host[:port]" */
        PS_SCOPE_WILDCARD,              /* "*.example.com" */
        PS_SCOPE_TRANSPORT_DEFAULT,     /* transports.docker."" */
        PS_SCOPE_GLOBAL_DEFAULT,        /* default */
} ps_scope_kind;

/* "exact", "namespace", "host", "wildcard", "transport_default", "global_default" */
const char *ps_scope_kind_name(ps_scope_kind kind);

/* For a docker reference string (optionally prefixed "docker://"): which
 * scope applies, as c/image requirementsForImageRef decides: the full
 * identity, then the repository and its parent namespaces up to
 * host[:port], then "*." wildcards of the host without port, then the
 * transport default "", then "default".  *scope = "" for the transport
 * default, NULL for the global default.  A name without tag or digest is
 * looked up with ":latest"; a reference with both is an error, as in
 * c/image.  Any out-pointer may be NULL. */
int ps_policy_scope_for(const ps_policy *p, const char *reference, const char **scope,
                        ps_scope_kind *kind, const json_t **requirements, ps_error *err);

/* ---- reading -------------------------------------------------------- */

/* The global default requirement list. */
const json_t *ps_policy_default(const ps_policy *p);
/* Transport names in file order (NULL-terminated; free with ps_strv_free).
 * NULL on ENOMEM. */
char **ps_policy_transports(const ps_policy *p);
/* Scope names of TRANSPORT in file order ("" included); an empty vector
 * when the transport is absent.  NULL on ENOMEM. */
char **ps_policy_scopes(const ps_policy *p, const char *transport);
/* The requirement list of TRANSPORT/SCOPE, NULL when absent. */
const json_t *ps_policy_requirements(const ps_policy *p, const char *transport, const char *scope);

/* Callback iteration over every transport/scope in file order; a non-zero
 * return from FN stops and is returned. */
typedef int (*ps_policy_scope_fn)(const char *transport, const char *scope,
                                  const json_t *requirements, void *userdata);
int ps_policy_foreach_scope(const ps_policy *p, ps_policy_scope_fn fn, void *userdata);

/* ---- a typed view of one requirement -------------------------------- */

typedef enum {
        PS_REQ_INSECURE_ACCEPT_ANYTHING,
        PS_REQ_REJECT,
        PS_REQ_SIGNED_BY,
        PS_REQ_SIGNED_BASE_LAYER,
        PS_REQ_SIGSTORE_SIGNED,
} ps_req_type;

typedef enum {
        PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT,    /* the default when absent */
        PS_IDENT_MATCH_EXACT,
        PS_IDENT_MATCH_REPOSITORY,
        PS_IDENT_EXACT_REFERENCE,
        PS_IDENT_EXACT_REPOSITORY,
        PS_IDENT_REMAP_IDENTITY,
} ps_ident_type;

typedef struct ps_identity {
        ps_ident_type type;
        bool implicit;                  /* no signedIdentity given: the default applies */
        const char *docker_reference;   /* exactReference */
        const char *docker_repository;  /* exactRepository */
        const char *prefix;             /* remapIdentity */
        const char *signed_prefix;      /* remapIdentity */
} ps_identity;

typedef struct ps_requirement {
        ps_req_type type;
        const char *type_name;          /* as in the file */
        const char *key_type;           /* signedBy keyType; NULL for other types */
        const char **key_paths;         /* keyPath or keyPaths entries, NULL-terminated
                                         * (the array is owned by the view) */
        size_t n_key_paths;
        bool key_paths_list;            /* given as "keyPaths" */
        size_t n_key_data;              /* 1 for keyData, n for keyDatas */
        bool fulcio;                    /* sigstoreSigned with "fulcio" */
        bool pki;                       /* sigstoreSigned with "pki" */
        bool rekor;                     /* sigstoreSigned with a rekorPublicKey* field */
        ps_identity identity;           /* signedIdentity, or baseLayerIdentity */
        const json_t *json;
} ps_requirement;

/* Fill a view of REQ (which is validated in COMPAT mode first). */
int ps_requirement_view(const json_t *req, ps_requirement *out, ps_error *err);
void ps_requirement_view_clear(ps_requirement *r);
const char *ps_req_type_name(ps_req_type t);
const char *ps_ident_type_name(ps_ident_type t);

/* ---- validation of pieces -------------------------------------------- */

/* Is SCOPE (not "") acceptable for TRANSPORT?  Known transports check it as
 * c/image does; docker scopes are checked fully in STRICT mode. */
int ps_policy_check_scope(const char *transport, const char *scope, unsigned flags, ps_error *err);
/* Validate one requirement list; PATH names it in messages. */
int ps_policy_check_requirements(const json_t *reqs, const char *path, unsigned flags, ps_error *err);

/* ---- editing ----------------------------------------------------------- */

/* Set or replace transports.TRANSPORT.SCOPE (an existing key keeps its
 * position; a new one is appended; "transports" and the transport are
 * created when missing).  REQUIREMENTS is stolen, also on failure; it and
 * SCOPE are validated in STRICT mode first. */
int ps_policy_set_scope(ps_policy *p, const char *transport, const char *scope,
                        json_t *requirements, ps_error *err);
/* Remove transports.TRANSPORT.SCOPE; -ENOENT when absent. */
int ps_policy_remove_scope(ps_policy *p, const char *transport, const char *scope, ps_error *err);
/* Replace "default" (REQUIREMENTS stolen, validated). */
int ps_policy_set_default(ps_policy *p, json_t *requirements, ps_error *err);
/* Add an empty transports.TRANSPORT object unless it exists. */
int ps_policy_add_transport(ps_policy *p, const char *transport, ps_error *err);

/* Requirement builders; new references, NULL on ENOMEM. */
json_t *ps_requirement_new_simple(ps_req_type type);   /* reject / insecureAcceptAnything */
/* {"type":"signedBy","keyType":"GPGKeys","keyPath":KEY_PATH} */
json_t *ps_requirement_new_signed_by(const char *key_path);
/* A one-element list holding REQ (stolen). */
json_t *ps_requirements_of(json_t *req);

/* ---- key files -------------------------------------------------------- */

typedef struct ps_policy_key {
        char *config_path;      /* as written in the policy; NULL for keyData */
        char *path;             /* resolved under the root; NULL for keyData */
        unsigned char *data;    /* file content or decoded keyData */
        size_t len;
} ps_policy_key;

/* keyPath/keyPaths of a signedBy or sigstoreSigned requirement resolved
 * under ROOT (ps_root_path; NULL = host).  *paths is a NULL-terminated
 * vector (empty for keyData). */
int ps_policy_key_paths(const json_t *req, const char *root, char ***paths, ps_error *err);
/* Read every key the requirement names (files under ROOT, or keyData /
 * keyDatas decoded).  Errors name the file. */
int ps_policy_read_keys(const json_t *req, const char *root, ps_policy_key **keys, size_t *n_keys,
                        ps_error *err);
void ps_policy_keys_free(ps_policy_key *keys, size_t n_keys);

/* Go encoding/json []byte decoding (standard base64 with padding; CR and
 * LF ignored).  *out malloc'd.  -EINVAL on invalid input. */
int ps_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len);
