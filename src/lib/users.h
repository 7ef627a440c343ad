/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image makers and image users (spec core §5.3, §5.4): argument rules,
 * account creation through the shadow tools, passwords, subordinate ids,
 * safe file operations inside users' home directories, running code as a
 * user, and the files podsec puts there.
 *
 * Root works in directories that users control (their homes).  Every
 * operation there goes through directory descriptors opened with
 * O_NOFOLLOW, one path component at a time, and owners are set on the
 * descriptor (fchown) before a file is renamed into place, so a user who
 * plants a symbolic link gets an error, never a root-owned write or chown
 * somewhere else.  GnuPG runs as the user (ps_run_as_user). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "accounts.h"
#include "error.h"
#include "policy.h"

/* ---- names and arguments ---------------------------------------------- */

/* Portable user names, as upstream shadow (and ALT's useradd) accept them
 * without --badname: a lowercase letter or '_', then lowercase letters,
 * digits, '_', '-' or '.', at most 32 bytes.  (Debian's useradd accepts
 * more, e.g. upper case; podsec does not, so that names mean the same
 * everywhere and are safe as file names.) */
#define PS_USER_NAME_MAX 32
int ps_user_name_check(const char *name, ps_error *err);

typedef struct ps_maker_arg {
        char *user;
        char *scope;
} ps_maker_arg;

/* Why ps_maker_args_parse refused (exit codes of the original). */
enum { PS_MAKER_ARGS_OK = 0, PS_MAKER_ARGS_INVALID = 1, PS_MAKER_ARGS_DUPLICATE = 2 };

/* The argument rules of podsec-create-imagemakeruser:
 *   none                -> imagemaker@REGISTRY
 *   one without '@'     -> ARG@REGISTRY
 *   one with '@'        -> as given
 *   several             -> each must be USER@SCOPE
 * Each is split on '@' into exactly two non-empty fields; the user name
 * must pass ps_user_name_check and the scope must be a docker scope the
 * policy engine accepts (strict).  Two arguments with the same scope are a
 * duplicate (*why = PS_MAKER_ARGS_DUPLICATE); anything else wrong is
 * PS_MAKER_ARGS_INVALID.  The same user may appear with several scopes. */
int ps_maker_args_parse(char *const *args, size_t n, const char *registry, ps_maker_arg **out, size_t *n_out,
                        int *why, ps_error *err);
void ps_maker_args_free(ps_maker_arg *a, size_t n);

/* Host of a scope, without port or "*." ("registry.local:5000/x" ->
 * "registry.local"); malloc'd. */
char *ps_scope_host(const char *scope);

/* ---- secrets ------------------------------------------------------------ */

#define PS_SECRET_FILE_MAX 4096
/* Read a one-line secret (password, passphrase) from a regular file: one
 * trailing "\n" (or "\r\n") is dropped; an empty secret, a NUL byte or a
 * second line is refused.  WHAT names it in messages ("password file"). */
int ps_secret_read_file(const char *path, const char *what, char **out, ps_error *err);
/* Overwrite and free. */
void ps_secret_free(char *s);
static inline void ps_secret_freep(char **s) { ps_secret_free(*s); }
#define _cleanup_secret_ __attribute__((cleanup(ps_secret_freep)))

/* crypt(3) hash (libxcrypt's preferred method, yescrypt on current
 * systems, with a fresh random salt). */
int ps_password_hash(const char *password, char **hash, ps_error *err);

/* ---- accounts: shadow tools under ROOT ----------------------------------- */

/* useradd [--prefix ROOT -k ROOT/SKEL] -m -g PRIMARY [-G SUPPLEMENTARY] -- NAME
 * (SKEL from ROOT/etc/default/useradd, else /etc/skel: under --prefix,
 * useradd would otherwise copy the host's skeleton files) */
int ps_useradd(const char *root, const char *name, const char *primary, const char *supplementary, ps_error *err);
/* usermod [--prefix ROOT] OPTS... -- NAME; WHAT describes the change in
 * messages (OPTS may hold a password hash, which is never shown). */
int ps_usermod(const char *root, const char *name, const char *const *opts, const char *what, ps_error *err);

typedef enum {
        PS_PW_MISSING,     /* no shadow entry (or no shadow file) */
        PS_PW_EMPTY,       /* empty field: login without password */
        PS_PW_LOCKED,      /* "!", "*", "!..." (locked for password login) */
        PS_PW_SET,         /* a hash */
} ps_pw_state;
int ps_shadow_password_state(const char *root, const char *name, ps_pw_state *state, ps_error *err);

/* The base of new homes: HOME= in ROOT/etc/default/useradd, else /home. */
int ps_useradd_home_base(const char *root, char **base, ps_error *err);
/* A numeric setting of ROOT/etc/login.defs, DEF when absent. */
unsigned long ps_login_defs_ulong(const char *root, const char *key, unsigned long def);

/* FILE is "/etc/subuid" or "/etc/subgid".  Does NAME (or its numeric id)
 * have a range there?  A missing file means no. */
int ps_subid_has(const char *root, const char *file, const char *name, unsigned long id, bool *has,
                 ps_error *err);
/* First START >= MIN such that [START, START+COUNT) does not overlap any
 * range in FILE (the next free block after the highest range in use). */
int ps_subid_free_range(const char *root, const char *file, unsigned long min, unsigned long count,
                        unsigned long *start, ps_error *err);

/* Names of the users in group NAME (gid GID): its supplementary members
 * and the users whose primary group it is; NULL-terminated, sorted,
 * without duplicates. */
int ps_root_users_of_group(const char *root, const char *name, gid_t gid, char ***users, ps_error *err);
/* Is USER in group NAME (primary gid GID or supplementary member)? */
int ps_root_user_in_group(const char *root, const ps_user *u, const char *name, gid_t gid, bool *in,
                          ps_error *err);

/* ---- files in users' homes (descriptor based, no symlinks followed) ----- */

/* Open ROOT+U->home: it must be an existing directory (not a symbolic
 * link) owned by U->uid.  *fd is O_DIRECTORY|O_CLOEXEC. */
int ps_home_open(const char *root, const ps_user *u, int *fd, ps_error *err);

/* Open the directory NAME (one component) in DIRFD without following a
 * symbolic link; with CREATE, make it when missing (under a temporary
 * name, given owner UID:GID and MODE, then renamed into place, so that a
 * crash never leaves it half-made) and set *created.  An existing
 * directory is left as it is.
 * SHOWN names it in messages.  *fd = -1 and 0 returned when it is missing
 * and CREATE is false. */
int ps_dir_at(int dirfd, const char *name, const char *shown, bool create, uid_t uid, gid_t gid, mode_t mode,
              int *fd, bool *created, ps_error *err);
/* Read the regular file NAME in DIRFD (no symlink followed; at most MAX
 * bytes).  Returns 1 and fills *data (NUL-terminated), *len, *st; 0 when
 * missing. */
int ps_read_at(int dirfd, const char *name, const char *shown, size_t max, char **data, size_t *len,
               struct stat *st, ps_error *err);
/* Replace NAME in DIRFD atomically: a temporary O_EXCL|O_NOFOLLOW file
 * with a random name, written, fchown UID:GID ((uid_t)-1 keeps), fchmod
 * MODE, fsync, renameat, fsync of the directory. */
int ps_write_atomic_at(int dirfd, const char *name, const char *shown, const void *data, size_t len, uid_t uid,
                       gid_t gid, mode_t mode, ps_error *err);
/* fchown/fchmod where they differ; *changed (may be NULL). */
int ps_fd_owner_mode(int fd, const char *shown, uid_t uid, gid_t gid, mode_t mode, bool *changed, ps_error *err);

/* The immutable attribute (FS_IMMUTABLE_FL) of an open file or directory.
 * -EOPNOTSUPP (with a message) when the filesystem has no such attribute
 * (the ioctl gives ENOTTY, EOPNOTSUPP or EINVAL). */
int ps_immutable_get(int fd, const char *shown, bool *on, ps_error *err);
int ps_immutable_set(int fd, const char *shown, bool on, ps_error *err);

/* ---- running code as a user -------------------------------------------- */

/* FN runs in a child process with the real, effective and saved uid UID,
 * gid GID, supplementary groups GROUPS (N_GROUPS, may be 0), a clean
 * environment (PATH, HOME=HOMEPATH, USER=NAME, LOGNAME=NAME, LC_ALL=C) and
 * HOMEPATH as its working directory.  Whatever it puts in *out travels
 * back to *out (malloc'd, NUL-terminated, *out_len may be NULL); its error
 * travels back to ERR.  When the caller is not root, UID must be its own
 * uid (no change of identity is attempted). */
typedef int (*ps_as_user_fn)(void *userdata, char **out, size_t *out_len, ps_error *err);
int ps_run_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n_groups, const char *name,
                   const char *homepath, ps_as_user_fn fn, void *userdata, char **out, size_t *out_len,
                   ps_error *err);

/* ---- what podsec writes ------------------------------------------------- */

/* An image user's ~/.config/containers/storage.conf: the overlay driver
 * with the rootless defaults for graphroot and runroot (not written, so
 * they follow HOME and XDG_RUNTIME_DIR), and fuse-overlayfs as the mount
 * program when FUSE_OVERLAYFS. */
char *ps_storage_conf_text(bool fuse_overlayfs);
/* An image maker's registries.d/default.yaml (spec core §3.3). */
char *ps_maker_regd_yaml(const char *lookaside, const char *staging);

/* What adding KEY_PATH to a scope's requirement list does. */
typedef enum {
        PS_SCOPE_NEW,        /* scope absent: [signedBy keyPath] */
        PS_SCOPE_HAS_KEY,    /* already one signedBy GPGKeys naming KEY_PATH: unchanged */
        PS_SCOPE_ADD_KEY,    /* one signedBy GPGKeys with other key files: KEY_PATH added to keyPaths */
        PS_SCOPE_FOREIGN,    /* anything else (reject, several requirements,
                                keyData, sigstoreSigned, ...): replaced only on request */
} ps_scope_change;
/* CURRENT is the scope's requirement list or NULL.  *reqs (NULL for
 * HAS_KEY) gets the new list: for ADD_KEY a copy of the requirement with
 * "keyPath" turned into "keyPaths": [old..., KEY_PATH] (other fields such
 * as signedIdentity kept), for NEW and FOREIGN [signedBy keyPath]. */
int ps_scope_add_key(const json_t *current, const char *key_path, ps_scope_change *change, json_t **reqs,
                     ps_error *err);
const char *ps_scope_change_name(ps_scope_change c);

/* An image maker's personal policy: a copy of SYS whose "default" is
 * [{"type": "insecureAcceptAnything"}]. */
int ps_policy_personal(const ps_policy *sys, ps_policy **out, ps_error *err);
