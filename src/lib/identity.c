/* SPDX-License-Identifier: GPL-2.0-or-later */
/* signedIdentity matching; see identity.h for the rules. */
#include "identity.h"
#include "cleanup.h"
#include "reference.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ref_clear(ps_reference *r)
{
        ps_reference_free(r);
        memset(r, 0, sizeof *r);
}

static bool name_only(const ps_reference *r)
{
        return !r->tag && !r->digest;
}

/* Set *why (if wanted); returns 0 (no match) or -ENOMEM. */
static int nomatch(char **why, ps_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int nomatch(char **why, ps_error *err, const char *fmt, ...)
{
        if (!why)
                return 0;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(why, fmt, ap);
        va_end(ap);
        if (k < 0) {
                *why = NULL;
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

/* INTENDED as the docker transport has it: normalised, ":latest" added to a
 * bare name. */
static int parse_intended(const char *s, ps_reference *r, ps_error *err)
{
        int k = ps_reference_parse(s, r, err);
        if (k < 0)
                return ps_error_wrap(err, "image reference");
        if (name_only(r)) {
                r->tag = strdup("latest");
                if (!r->tag) {
                        ref_clear(r);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        return 0;
}

/* String() of a reference; NULL on ENOMEM. */
static char *ref_str(const ps_reference *r)
{
        return ps_reference_string(r);
}

/* refMatchesPrefix: NAME is PREFIX or continues it with '/'. */
static bool name_matches_prefix(const char *name, const char *prefix)
{
        size_t n = strlen(name), p = strlen(prefix);
        if (n < p)
                return false;
        if (n == p)
                return strcmp(name, prefix) == 0;
        return strncmp(name, prefix, p) == 0 && name[p] == '/';
}

/* Rewrite R (already parsed) by PREFIX -> SIGNED_PREFIX.  *out gets the new
 * parsed reference (or a copy of R's string parsed again when it does not
 * match).  Returns 1 remapped, 0 not matching, < 0 error. */
static int remap(const char *prefix, const char *signed_prefix, const ps_reference *r, ps_reference *out,
                 ps_error *err)
{
        _cleanup_free_ char *s = ref_str(r);
        if (!s)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (!name_matches_prefix(r->name, prefix)) {
                int k = ps_reference_parse(s, out, err);
                return k < 0 ? k : 0;
        }
        /* the name starts with PREFIX, so the first occurrence is at 0 */
        size_t pl = strlen(prefix), sl = strlen(signed_prefix), tl = strlen(s) - pl;
        _cleanup_free_ char *n = malloc(sl + tl + 1);
        if (!n)
                return ps_error_set(err, ENOMEM, "out of memory");
        memcpy(n, signed_prefix, sl);
        memcpy(n + sl, s + pl, tl + 1);
        ps_error perr = PS_ERROR_INIT;
        int k = ps_reference_parse(n, out, &perr);
        if (k < 0) {
                if (k == -ENOMEM) {
                        ps_error_clear(&perr);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
                k = ps_error_set(err, EINVAL, "remapping \"%s\" to \"%s\": %s", s, n, ps_error_msg(&perr));
                ps_error_clear(&perr);
                return k;
        }
        /* reference.ParseNamed: the result must be canonical */
        _cleanup_free_ char *canon = ref_str(out);
        if (!canon) {
                ref_clear(out);
                return ps_error_set(err, ENOMEM, "out of memory");
        }
        if (strcmp(canon, n) != 0) {
                ref_clear(out);
                return ps_error_set(err, EINVAL,
                                    "remapping \"%s\" to \"%s\": not a canonical reference (it means \"%s\")", s, n,
                                    canon);
        }
        return 1;
}

int ps_identity_remap(const char *prefix, const char *signed_prefix, const char *intended, char **out,
                      ps_error *err)
{
        ps_reference r = { 0 }, m = { 0 };
        *out = NULL;
        int k = parse_intended(intended, &r, err);
        if (k < 0)
                return k;
        k = remap(prefix, signed_prefix, &r, &m, err);
        ps_reference_free(&r);
        if (k < 0)
                return k;
        *out = ref_str(&m);
        ps_reference_free(&m);
        if (!*out)
                return ps_error_set(err, ENOMEM, "out of memory");
        return k;
}

/* matchRepoDigestOrExactReferenceValues */
static int repo_digest_or_exact(const ps_reference *in, const ps_reference *sig, const char *signed_ref,
                                char **why, ps_error *err)
{
        if (name_only(sig))
                return nomatch(why, err, "the signed identity \"%s\" has neither a tag nor a digest", signed_ref);
        if (in->tag) {
                _cleanup_free_ char *a = ref_str(in), *b = ref_str(sig);
                if (!a || !b)
                        return ps_error_set(err, ENOMEM, "out of memory");
                if (strcmp(a, b) == 0)
                        return 1;
                return nomatch(why, err, "the signature is for \"%s\", not for \"%s\" (the tag must be the same)",
                               b, a);
        }
        if (strcmp(in->name, sig->name) == 0)
                return 1;
        return nomatch(why, err, "the signature is for repository \"%s\", not \"%s\"", sig->name, in->name);
}

static int exact(const ps_reference *in, const ps_reference *sig, const char *what, char **why, ps_error *err)
{
        _cleanup_free_ char *a = ref_str(in), *b = ref_str(sig);
        if (!a || !b)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (name_only(in))
                return nomatch(why, err, "%s \"%s\" has neither a tag nor a digest", what, a);
        if (name_only(sig))
                return nomatch(why, err, "the signed identity \"%s\" has neither a tag nor a digest", b);
        if (strcmp(a, b) == 0)
                return 1;
        return nomatch(why, err, "the signature is for \"%s\", not for \"%s\"", b, a);
}

static int same_repo(const ps_reference *in, const ps_reference *sig, char **why, ps_error *err)
{
        if (strcmp(in->name, sig->name) == 0)
                return 1;
        return nomatch(why, err, "the signature is for repository \"%s\", not \"%s\"", sig->name, in->name);
}

int ps_identity_match(const ps_identity *id, const char *intended, const char *signed_ref, char **why,
                      ps_error *err)
{
        if (why)
                *why = NULL;
        ps_reference in = { 0 }, sig = { 0 }, pol = { 0 }, mapped = { 0 };
        int r = parse_intended(intended, &in, err);
        if (r < 0)
                return r;
        ps_error perr = PS_ERROR_INIT;
        if (!signed_ref || ps_reference_parse(signed_ref, &sig, &perr) < 0) {
                bool oom = perr.code == ENOMEM;
                r = oom ? ps_error_set(err, ENOMEM, "out of memory")
                        : nomatch(why, err, "the signed identity is not a valid docker reference: %s",
                                  signed_ref ? ps_error_msg(&perr) : "(none)");
                ps_error_clear(&perr);
                ps_reference_free(&in);
                return r;
        }
        switch (id->type) {
        case PS_IDENT_MATCH_EXACT:
                r = exact(&in, &sig, "the image reference", why, err);
                break;
        case PS_IDENT_MATCH_REPO_DIGEST_OR_EXACT:
                r = repo_digest_or_exact(&in, &sig, signed_ref, why, err);
                break;
        case PS_IDENT_MATCH_REPOSITORY:
                r = same_repo(&in, &sig, why, err);
                break;
        case PS_IDENT_EXACT_REFERENCE:
        case PS_IDENT_EXACT_REPOSITORY: {
                const char *v = id->type == PS_IDENT_EXACT_REFERENCE ? id->docker_reference : id->docker_repository;
                const char *field = id->type == PS_IDENT_EXACT_REFERENCE ? "dockerReference" : "dockerRepository";
                if (!v || ps_reference_parse(v, &pol, &perr) < 0) {
                        bool oom = perr.code == ENOMEM;
                        r = oom ? ps_error_set(err, ENOMEM, "out of memory")
                                : nomatch(why, err, "the policy's %s is not a valid docker reference: %s", field,
                                          v ? ps_error_msg(&perr) : "(missing)");
                        ps_error_clear(&perr);
                        break;
                }
                if (id->type == PS_IDENT_EXACT_REFERENCE)
                        r = exact(&pol, &sig, "the policy's dockerReference", why, err);
                else
                        r = same_repo(&pol, &sig, why, err);
                break;
        }
        case PS_IDENT_REMAP_IDENTITY:
                if (!id->prefix || !id->signed_prefix) {
                        r = nomatch(why, err, "remapIdentity without prefix and signedPrefix");
                        break;
                }
                r = remap(id->prefix, id->signed_prefix, &in, &mapped, &perr);
                if (r < 0) {
                        bool oom = r == -ENOMEM;
                        r = oom ? ps_error_set(err, ENOMEM, "out of memory")
                                : nomatch(why, err, "remapIdentity: %s", ps_error_msg(&perr));
                        ps_error_clear(&perr);
                        break;
                }
                r = repo_digest_or_exact(&mapped, &sig, signed_ref, why, err);
                break;
        default:
                r = nomatch(why, err, "unknown signedIdentity type %d", (int)id->type);
                break;
        }
        ps_reference_free(&in);
        ps_reference_free(&sig);
        ps_reference_free(&pol);
        ps_reference_free(&mapped);
        return r;
}
