/* SPDX-License-Identifier: GPL-2.0-or-later */
/* signedIdentity: does the docker-reference a signature claims satisfy the
 * policy for the image being checked?  The rules are those of
 * containers/image (signature/policy_reference_match.go), which podman,
 * skopeo and CRI-O apply:
 *
 *   INTENDED  the image as the policy sees it: a docker reference with a tag
 *             or a digest (a name alone gets ":latest", as the docker:
 *             transport gives it); normalised ("busybox:1" is
 *             docker.io/library/busybox:1).
 *   SIGNED    critical.identity.docker-reference of the signature, parsed
 *             and normalised the same way (ParseNormalizedNamed); a value
 *             that does not parse never matches.
 *
 *   matchRepoDigestOrExact (the default)
 *       SIGNED must carry a tag or digest; INTENDED with a tag: SIGNED must
 *       be the same reference (name and tag); INTENDED with a digest: the
 *       same repository name is enough (the digest itself is checked
 *       against the manifest, not here).
 *   matchExact        both carry a tag or digest and are equal.
 *   matchRepository   the repository names are equal (tags ignored).
 *   exactReference    SIGNED equals the policy's dockerReference (both with
 *                     a tag or digest); INTENDED is not consulted.
 *   exactRepository   SIGNED's repository name equals dockerRepository's.
 *   remapIdentity     when INTENDED's repository name is "prefix" or starts
 *                     with "prefix/", that leading part of INTENDED is
 *                     replaced by signedPrefix (the result must be a
 *                     canonical reference, else nothing matches); then
 *                     matchRepoDigestOrExact applies to the result.
 */
#pragma once
#include <stdbool.h>
#include "error.h"
#include "policy.h"

/* 1 when SIGNED satisfies ID for INTENDED, 0 when it does not (*why, when
 * WHY is not NULL, gets a malloc'd sentence saying why), < 0 on error:
 * -EINVAL when INTENDED is not a valid docker reference, -ENOMEM.  For
 * exactReference/exactRepository an invalid dockerReference/
 * dockerRepository is a mismatch (c/image behaves so; the policy parser
 * refuses such values anyway). */
int ps_identity_match(const ps_identity *id, const char *intended, const char *signed_ref, char **why,
                      ps_error *err);

/* remapIdentity's rewriting of INTENDED alone: 1 and *out = the rewritten
 * reference when INTENDED's name matches PREFIX; 0 and *out = INTENDED in
 * normalised form when it does not; -EINVAL when INTENDED is invalid or
 * the rewritten string is not a canonical docker reference (the message
 * shows both strings). */
int ps_identity_remap(const char *prefix, const char *signed_prefix, const char *intended, char **out,
                      ps_error *err);
