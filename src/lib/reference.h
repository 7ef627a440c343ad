/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker image references, parsed exactly as containers/image does
 * (docker/reference: ParseNormalizedNamed, the "docker/distribution"
 * grammar), plus the policy identities used for containers-policy.json(5)
 * scope lookup (docker/policyconfiguration/naming.go).
 *
 * Grammar (c/image docker/reference/regexp.go):
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] component ( "/" component )*
 *   domain     := dcomp ( "." dcomp )* [ ":" [0-9]+ ]
 *   dcomp      := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"* ) [a-z0-9]+ )*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algo ":" hex   (sha256/64, sha384/96, sha512/128 lower hex)
 *
 * Normalisation (splitDockerDomain): the first "/"-separated component is a
 * registry host iff it contains '.' or ':' or is "localhost"; otherwise the
 * domain is docker.io, and a single-component docker.io path gets
 * "library/".  "index.docker.io" becomes "docker.io".  Repository paths
 * must be lowercase (they are not lowercased: "Foo" is an error, as in
 * c/image); the domain may contain uppercase letters.
 *
 * c/image quirk kept on purpose: when the first component contains '.' or
 * ':' but is not a valid domain (e.g. "my_host.com/x"), the name is still
 * valid (all components are valid path components) and the domain is "".
 *
 * c/image does not accept bracketed IPv6 hosts; PS_REF_ALLOW_IPV6 accepts
 * "[addr]" and "[addr]:port" as a domain (the newer distribution/reference
 * grammar) for podsec's own settings.  Policy lookup never uses it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

#define PS_REF_NAME_MAX 255     /* c/image NameTotalLengthMax */

enum {
        PS_REF_ALLOW_IPV6 = 1 << 0,
};

typedef struct ps_reference {
        char *name;     /* normalised full name: domain "/" path, or path when domain is "" */
        char *domain;   /* host[:port], "docker.io" by default; "" in the quirk case */
        char *path;     /* repository path without the domain, e.g. "library/busybox" */
        char *tag;      /* NULL when absent */
        char *digest;   /* "algo:hex", NULL when absent */
} ps_reference;

/* Parse and normalise S (c/image reference.ParseNormalizedNamed).
 * On success fills *ref (free with ps_reference_free).  Error messages
 * name S and give c/image's reason ("invalid reference format",
 * "repository name must be lowercase", ...).  Returns 0 or -EINVAL/-ENOMEM. */
int ps_reference_parse(const char *s, ps_reference *ref, ps_error *err);
int ps_reference_parse_flags(const char *s, unsigned flags, ps_reference *ref, ps_error *err);
void ps_reference_free(ps_reference *ref);

/* name[:tag][@digest] (c/image String()).  malloc'd, NULL on ENOMEM. */
char *ps_reference_string(const ps_reference *ref);
/* The familiar form Docker shows: "busybox:latest", "user/app",
 * "quay.io/x/y@sha256:...".  malloc'd, NULL on ENOMEM. */
char *ps_reference_familiar(const ps_reference *ref);

/* The docker transport's policy identity (PolicyConfigurationIdentity):
 * "name:tag" or "name@digest"; a name-only reference gets ":latest"
 * (TagNameOnly, as the docker: transport does).  A reference with both a
 * tag and a digest is refused, as c/image refuses it ("Docker references
 * with both a tag and digest are currently not supported").  *out is
 * malloc'd. */
int ps_reference_identity(const ps_reference *ref, char **out, ps_error *err);

/* The docker transport's policy namespaces (PolicyConfigurationNamespaces),
 * most specific first: the repository name, each parent namespace, the
 * host[:port], then "*.<suffix>" for each parent domain of the host with
 * the port removed ("a.b.example.com:5000" -> "*.b.example.com",
 * "*.example.com", "*.com").  NULL-terminated string vector (free with
 * ps_strv_free from cleanup.h); *n_names (optional) gets the number of
 * non-wildcard entries.  NULL on ENOMEM. */
char **ps_reference_namespaces(const ps_reference *ref, size_t *n_names);

/* Pieces of the grammar, for validators elsewhere (policy scopes,
 * remapIdentity prefixes, podsec settings). */
bool ps_reference_valid_tag(const char *s);
bool ps_reference_valid_component(const char *s, size_t len);
/* A domain (host[:port]) as c/image's DomainRegexp, full match. */
bool ps_reference_valid_domain(const char *s, size_t len, unsigned flags);
/* A host name without port (domain components joined by '.'). */
bool ps_reference_valid_hostname(const char *s, size_t len);
/* A name (c/image NameRegexp, full match), not normalised. */
bool ps_reference_valid_name(const char *s, size_t len);
/* go-digest Parse: 0 when valid, else -EINVAL with the reason. */
int ps_reference_check_digest(const char *s, ps_error *err);
