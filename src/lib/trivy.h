/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trivy vulnerability reports and the local image inventory they are made
 * for (spec monitor §7).
 *
 * Reports are the JSON trivy writes with "--format json" (schema version 2,
 * trivy >= 0.20):
 *
 *     { "SchemaVersion": 2, "ArtifactName": "...", "ArtifactType": "...",
 *       "Results": [ { "Target": "...", "Class": "os-pkgs", "Type": "alpine",
 *                      "Vulnerabilities": [ { "VulnerabilityID", "PkgName",
 *                          "InstalledVersion", "FixedVersion", "Severity",
 *                          "Title", ... } ] } ] }
 *
 * "Results" and "Vulnerabilities" may be null or absent (a clean image);
 * other fields (Metadata, Misconfigurations, Secrets, CVSS, ...) are
 * ignored.  Every vulnerability entry counts once per target, as trivy's
 * own "Total:" lines count them (the original summed those lines).
 * Duplicate keys are rejected, as everywhere in podsec.
 *
 * The inventory is containers-storage's overlay-images/images.json: an
 * array of { "id": "<64 hex>", "digest", "names": [...], ... }. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "error.h"

/* ---- severities and verdicts ------------------------------------------ */

enum ps_trivy_severity {
        PS_TRIVY_UNKNOWN,       /* "UNKNOWN", absent or unrecognised */
        PS_TRIVY_LOW,
        PS_TRIVY_MEDIUM,
        PS_TRIVY_HIGH,
        PS_TRIVY_CRITICAL,
        PS_TRIVY_SEVERITIES,
};

/* "UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL" (NULL out of range). */
const char *ps_trivy_severity_name(enum ps_trivy_severity s);
/* Exact upper-case name -> severity; anything else is PS_TRIVY_UNKNOWN. */
enum ps_trivy_severity ps_trivy_severity_parse(const char *s);

/* What a report means for the image (spec monitor §7.1). */
enum ps_trivy_verdict {
        PS_TRIVY_CLEAN,         /* no vulnerabilities at all */
        PS_TRIVY_MINOR,         /* only UNKNOWN, LOW or MEDIUM ones */
        PS_TRIVY_HIGH_FOUND,    /* HIGH, no CRITICAL */
        PS_TRIVY_CRITICAL_FOUND,/* CRITICAL (HIGH maybe too) */
};

/* The original's scan-routine exit codes: 0 clean or minor, 4 HIGH,
 * 5 CRITICAL; 3 is "trivy failed" (PS_TRIVY_EXIT_FAILED). */
#define PS_TRIVY_EXIT_FAILED 3
int ps_trivy_verdict_exit(enum ps_trivy_verdict v);

/* ---- reports ----------------------------------------------------------- */

typedef struct ps_trivy_vuln {
        char *id;               /* VulnerabilityID (NULL when absent) */
        char *pkg;              /* PkgName */
        char *installed;        /* InstalledVersion */
        char *fixed;            /* FixedVersion */
        char *title;            /* Title */
        char *severity_text;    /* Severity as written (NULL when absent) */
        enum ps_trivy_severity severity;
        size_t target;          /* index into report->targets */
} ps_trivy_vuln;

typedef struct ps_trivy_target {
        char *target;           /* Target (NULL when absent) */
        char *klass;            /* Class */
        char *type;             /* Type */
        size_t counts[PS_TRIVY_SEVERITIES];
} ps_trivy_target;

typedef struct ps_trivy_report {
        long long schema_version;
        char *artifact_name;    /* NULL when absent */
        char *artifact_type;
        ps_trivy_target *targets;
        size_t n_targets;
        ps_trivy_vuln *vulns;   /* in report order */
        size_t n_vulns;
        size_t counts[PS_TRIVY_SEVERITIES];     /* over all targets */
} ps_trivy_report;

/* Longest report accepted (trivy's JSON for a large image with every
 * severity is a few MB). */
#define PS_TRIVY_MAX_REPORT ((size_t)256 << 20)

/* Parse JSON[0..LEN) into *r (zeroed first; free with
 * ps_trivy_report_free even on error).  -EBADMSG with a message naming the
 * offending member when the text is not a trivy report: not JSON, not an
 * object, SchemaVersion missing or not an integer >= 2, Results or
 * Vulnerabilities not an array (or null), an entry not an object, a string
 * field of another type, embedded NUL bytes. */
int ps_trivy_report_parse(const char *json, size_t len, ps_trivy_report *r, ps_error *err);
void ps_trivy_report_free(ps_trivy_report *r);
enum ps_trivy_verdict ps_trivy_report_verdict(const ps_trivy_report *r);

/* The trivy server URL: a URL "http[s]://HOST[:PORT][/PATH]" is checked and
 * kept; a bare HOST or HOST:PORT (the original's U7S_TRIVY_SERVER) becomes
 * "http://HOST:4954" (or with the given port).  NULL or "" means
 * "trivy.local".  -EINVAL for blanks, control characters, a leading '-',
 * other schemes.  *out is malloc'd. */
int ps_trivy_server_url(const char *spec, char **out, ps_error *err);
#define PS_TRIVY_DEFAULT_HOST "trivy.local"
#define PS_TRIVY_DEFAULT_PORT 4954

/* ---- local image inventory -------------------------------------------- */

typedef struct ps_store_image {
        char *id;               /* 64 lower-case hex digits */
        char **names;           /* NULL-terminated; may be empty */
        size_t n_names;
        char *digest;           /* "sha256:..." or NULL */
        char short_id[13];      /* first 12 digits of id */
} ps_store_image;

/* Parse containers-storage's images.json.  Entries whose "id" is not 64
 * hex digits are refused (-EBADMSG: the file is damaged); names that are
 * empty, start with '-' or hold control characters are dropped (they are
 * never passed to a program).  An empty file or "[]" gives no images. */
int ps_store_images_parse(const char *json, size_t len, ps_store_image **out, size_t *n, ps_error *err);
/* Read and parse PATH (-ENOENT when it does not exist). */
int ps_store_images_load(const char *path, ps_store_image **out, size_t *n, ps_error *err);
void ps_store_images_free(ps_store_image *v, size_t n);
/* The name to show for an image: its first name, else the short id. */
const char *ps_store_image_label(const ps_store_image *img);
