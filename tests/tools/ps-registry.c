/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ps-registry: a test driver over the registry client (src/lib/registry.h).
 *
 *   ps-registry [OPTIONS] push-layout OCI_DIR REF REGISTRY
 *   ps-registry [OPTIONS] get-manifest REGISTRY REPO REF     raw bytes (--meta: digest + media type)
 *   ps-registry [OPTIONS] head-blob REGISTRY REPO DIGEST      "exists SIZE" (exit 0) / "missing" (exit 3)
 *   ps-registry [OPTIONS] get-blob REGISTRY REPO DIGEST       bytes to stdout (verified)
 *   ps-registry [OPTIONS] mount REGISTRY REPO DIGEST FROM     "mounted" (exit 0) / "not-mounted" (exit 3)
 *   ps-registry [OPTIONS] tags REGISTRY REPO
 *   ps-registry [OPTIONS] catalog REGISTRY
 *   ps-registry [OPTIONS] ping REGISTRY
 *
 * push-layout pushes one image of an OCI layout (index.json -> manifest or
 * index -> config + layers; blobs are read from their files) to
 * REGISTRY/REPO:TAG (REF is REPO[:TAG] or REPO@DIGEST) and prints the
 * manifest digest.  The image is the index entry whose
 * org.opencontainers.image.ref.name equals --src, else REF, else REF's
 * tag, else the only entry.
 *
 * Options: --insecure (http), --ca FILE, --user USER (password from
 * $PS_REGISTRY_PASSWORD), --chunked SIZE, --concurrency N, --mount-from
 * REPO, --tries N, --backoff MS, --limit-rate BYTES/S, --stall SECONDS,
 * --stats (counters on stderr), --progress (per-blob progress on stderr),
 * --src NAME, --meta.
 * Exit: 0 ok, 1 failure, 2 usage, 3 "missing"/"not-mounted". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cleanup.h"
#include "fs.h"
#include "registry.h"

static struct {
        ps_registry_opts ro;
        size_t chunk;
        unsigned concurrency;
        const char *mount_from;
        const char *src;
        bool stats, progress, meta;
} opt;

static void usage(FILE *f)
{
        fputs("usage: ps-registry [OPTIONS] push-layout OCI_DIR REF REGISTRY\n"
              "       ps-registry [OPTIONS] get-manifest|head-blob|get-blob REGISTRY REPO REF|DIGEST\n"
              "       ps-registry [OPTIONS] mount REGISTRY REPO DIGEST FROM\n"
              "       ps-registry [OPTIONS] tags REGISTRY REPO | catalog REGISTRY | ping REGISTRY\n"
              "options: --insecure --ca FILE --user USER --chunked SIZE --concurrency N --mount-from REPO\n"
              "         --tries N --backoff MS --limit-rate BPS --stall S --stats --progress --src NAME --meta\n",
              f);
}

static int die(ps_error *err, const char *what)
{
        fprintf(stderr, "ps-registry: %s%s%s\n", what ? what : "", what ? ": " : "", ps_error_msg(err));
        ps_error_clear(err);
        return 1;
}

static int parse_size(const char *s, int64_t *out)
{
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || v < 0)
                return -EINVAL;
        int64_t m = 1;
        if (*end == 'k' || *end == 'K')
                m = 1024, end++;
        else if (*end == 'm' || *end == 'M')
                m = 1024 * 1024, end++;
        if (*end || v > INT64_MAX / m)
                return -EINVAL;
        *out = v * m;
        return 0;
}

static void print_stats(ps_registry *r)
{
        if (!opt.stats || !r)
                return;
        ps_registry_stats s;
        ps_registry_get_stats(r, &s);
        fprintf(stderr,
                "stats: requests=%" PRIu64 " retries=%" PRIu64 " tokens=%" PRIu64 " uploaded=%" PRIu64
                " existed=%" PRIu64 " mounted=%" PRIu64 " restarts=%" PRIu64 " bytes_sent=%" PRIu64 "\n",
                s.requests, s.retries, s.token_fetches, s.blobs_uploaded, s.blobs_existed, s.blobs_mounted,
                s.session_restarts, s.bytes_sent);
}

static void progress(void *ctx, size_t index, const char *digest, int64_t done, int64_t total)
{
        int64_t *last = ctx;    /* per-job last printed decile */
        int64_t dec = total > 0 ? done * 10 / total : 10;
        if (done != 0 && done != total && dec == last[index])
                return;
        last[index] = dec;
        fprintf(stderr, "progress %zu %.19s %" PRId64 "/%" PRId64 "\n", index, digest, done, total);
}

/* ---- push-layout ------------------------------------------------------ */

struct layout {
        const char *dir;
        ps_registry *r;
        const char *repo;
};

static char *blob_path(const struct layout *l, const char *digest)
{
        if (!ps_registry_valid_digest(digest))
                return NULL;
        const char *colon = strchr(digest, ':');
        char *p = NULL;
        if (asprintf(&p, "%s/blobs/%.*s/%s", l->dir, (int)(colon - digest), digest, colon + 1) < 0)
                return NULL;
        return p;
}

/* Read a small blob (a manifest) and check its digest. */
static int read_blob(const struct layout *l, const char *digest, char **data, size_t *len, ps_error *err)
{
        _cleanup_free_ char *p = blob_path(l, digest);
        if (!p)
                return ps_error_set(err, EINVAL, "invalid digest \"%s\"", digest);
        int r = ps_read_file(p, PS_REGISTRY_MANIFEST_MAX, data, len, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *have = ps_registry_digest_of("sha256", *data, *len);
        if (strncmp(digest, "sha256:", 7) == 0 && (!have || strcmp(have, digest) != 0)) {
                free(*data);
                *data = NULL;
                return ps_error_set(err, EBADMSG, "%s: content has digest %s", p, have ? have : "?");
        }
        return 0;
}

static int push_manifest(const struct layout *l, const char *digest, const char *media_type,
                         const char *ref, char **pushed, ps_error *err);

static int push_image(const struct layout *l, json_t *m, ps_error *err)
{
        json_t *layers = json_object_get(m, "layers");
        json_t *config = json_object_get(m, "config");
        size_t n = json_array_size(layers) + (config ? 1 : 0);
        _cleanup_free_ ps_registry_blob_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
        _cleanup_free_ int *fds = malloc((n ? n : 1) * sizeof(int));
        _cleanup_free_ int64_t *last = calloc(n ? n : 1, sizeof(int64_t));
        if (!jobs || !fds || !last)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t k = 0;
        int ret = 0;
        for (size_t i = 0; i < n; i++) {
                json_t *d = i == 0 && config ? config : json_array_get(layers, i - (config ? 1 : 0));
                const char *dg = json_string_value(json_object_get(d, "digest"));
                json_t *sz = json_object_get(d, "size");
                _cleanup_free_ char *p = dg ? blob_path(l, dg) : NULL;
                if (!p || !json_is_integer(sz)) {
                        ret = ps_error_set(err, EINVAL, "manifest descriptor %zu: bad digest or size", i);
                        break;
                }
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        ret = ps_error_errno(err, errno, "opening %s", p);
                        break;
                }
                fds[k] = fd;
                struct stat st;
                if (fstat(fd, &st) < 0 || st.st_size != json_integer_value(sz)) {
                        ret = ps_error_set(err, EBADMSG, "%s: size %lld, the manifest says %lld", p,
                                           (long long)st.st_size, (long long)json_integer_value(sz));
                        k++;
                        break;
                }
                jobs[k].digest = dg;
                jobs[k].body = ps_registry_body_fd(fd, 0, st.st_size);
                k++;
        }
        if (ret >= 0) {
                for (size_t i = 0; i < k; i++)
                        last[i] = -1;
                ps_registry_upload_opts uo = {
                        .mount_from = opt.mount_from, .chunk_size = opt.chunk, .concurrency = opt.concurrency,
                        .progress = opt.progress ? progress : NULL, .progress_ctx = last,
                };
                ret = ps_registry_upload_blobs(l->r, l->repo, jobs, k, &uo, err);
        }
        for (size_t i = 0; i < k; i++) {
                close(fds[i]);
                ps_error_clear(&jobs[i].err);
        }
        return ret;
}

static int push_manifest(const struct layout *l, const char *digest, const char *media_type,
                         const char *ref, char **pushed, ps_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int ret = read_blob(l, digest, &data, &len, err);
        if (ret < 0)
                return ret;
        json_error_t je;
        json_t *m = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
        if (!m)
                return ps_error_set(err, EINVAL, "manifest %s: %s", digest, je.text);
        const char *mt = json_string_value(json_object_get(m, "mediaType"));
        if (!mt)
                mt = media_type;
        json_t *children = json_object_get(m, "manifests");
        if (json_is_array(children)) {
                size_t i;
                json_t *c;
                json_array_foreach(children, i, c) {
                        const char *cd = json_string_value(json_object_get(c, "digest"));
                        const char *cmt = json_string_value(json_object_get(c, "mediaType"));
                        if (!cd) {
                                ret = ps_error_set(err, EINVAL, "index %s: entry %zu has no digest", digest, i);
                                break;
                        }
                        ret = push_manifest(l, cd, cmt ? cmt : PS_REGISTRY_MT_OCI_MANIFEST, cd, NULL, err);
                        if (ret < 0)
                                break;
                }
        } else {
                ret = push_image(l, m, err);
        }
        if (ret >= 0 && !mt)
                ret = ps_error_set(err, EINVAL, "manifest %s: no media type", digest);
        if (ret >= 0)
                ret = ps_registry_manifest_put(l->r, l->repo, ref, mt, data, len, pushed, err);
        json_decref(m);
        return ret;
}

static int cmd_push_layout(ps_registry *r, const char *dir, const char *ref_arg)
{
        ps_error err = PS_ERROR_INIT;
        /* REF: REPO[:TAG] or REPO@DIGEST */
        _cleanup_free_ char *repo = strdup(ref_arg);
        if (!repo)
                return 1;
        char *ref = NULL, *at = strchr(repo, '@');
        if (at) {
                *at = '\0';
                ref = at + 1;
        } else {
                char *slash = strrchr(repo, '/'), *colon = strrchr(repo, ':');
                if (colon && (!slash || colon > slash)) {
                        *colon = '\0';
                        ref = colon + 1;
                }
        }
        if (!ref)
                ref = "latest";
        _cleanup_free_ char *ipath = NULL, *idx = NULL;
        if (asprintf(&ipath, "%s/index.json", dir) < 0)
                return 1;
        if (ps_read_file(ipath, 16u << 20, &idx, NULL, &err) < 0)
                return die(&err, NULL);
        json_error_t je;
        json_t *j = json_loads(idx, JSON_REJECT_DUPLICATES, &je);
        json_t *ms = json_object_get(j, "manifests");
        if (!json_is_array(ms) || !json_array_size(ms)) {
                fprintf(stderr, "ps-registry: %s: no manifests%s%s\n", ipath, j ? "" : ": ", j ? "" : je.text);
                json_decref(j);
                return 1;
        }
        json_t *pick = NULL;
        size_t i;
        json_t *e;
        const char *want[] = { opt.src, ref_arg, ref };
        for (size_t w = 0; w < 3 && !pick; w++) {
                if (!want[w])
                        continue;
                json_array_foreach(ms, i, e) {
                        const char *name = json_string_value(
                                json_object_get(json_object_get(e, "annotations"), "org.opencontainers.image.ref.name"));
                        if (name && strcmp(name, want[w]) == 0) {
                                pick = e;
                                break;
                        }
                }
                if (w == 0 && opt.src && !pick)
                        break;
        }
        if (!pick && !opt.src && json_array_size(ms) == 1)
                pick = json_array_get(ms, 0);
        if (!pick) {
                fprintf(stderr, "ps-registry: %s: no image named %s\n", ipath, opt.src ? opt.src : ref_arg);
                json_decref(j);
                return 1;
        }
        const char *dg = json_string_value(json_object_get(pick, "digest"));
        const char *mt = json_string_value(json_object_get(pick, "mediaType"));
        struct layout l = { .dir = dir, .r = r, .repo = repo };
        _cleanup_free_ char *pushed = NULL;
        int ret = dg ? push_manifest(&l, dg, mt, ref, &pushed, &err)
                     : ps_error_set(&err, EINVAL, "%s: the image has no digest", ipath);
        json_decref(j);
        if (ret < 0)
                return die(&err, "push-layout");
        printf("%s\n", pushed);
        return 0;
}

/* ---- the other commands ----------------------------------------------- */

static int write_all(void *ctx, const void *buf, size_t n)
{
        return fwrite(buf, 1, n, stdout) == n ? 0 : -EIO;
}

int main(int argc, char **argv)
{
        static const struct option lo[] = {
                { "insecure", no_argument, NULL, 'k' },
                { "ca", required_argument, NULL, 'C' },
                { "user", required_argument, NULL, 'u' },
                { "chunked", required_argument, NULL, 'c' },
                { "concurrency", required_argument, NULL, 'j' },
                { "mount-from", required_argument, NULL, 'm' },
                { "tries", required_argument, NULL, 't' },
                { "backoff", required_argument, NULL, 'b' },
                { "limit-rate", required_argument, NULL, 'l' },
                { "stall", required_argument, NULL, 'S' },
                { "stats", no_argument, NULL, 's' },
                { "progress", no_argument, NULL, 'p' },
                { "src", required_argument, NULL, 'n' },
                { "meta", no_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        int c;
        int64_t v;
        while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
                switch (c) {
                case 'k': opt.ro.insecure = true; break;
                case 'C': opt.ro.ca_file = optarg; break;
                case 'u': opt.ro.username = optarg; break;
                case 'c':
                        if (parse_size(optarg, &v) < 0 || v <= 0) goto bad;
                        opt.chunk = (size_t)v;
                        break;
                case 'j':
                        if (parse_size(optarg, &v) < 0 || v <= 0 || v > 64) goto bad;
                        opt.concurrency = (unsigned)v;
                        break;
                case 'm': opt.mount_from = optarg; break;
                case 't':
                        if (parse_size(optarg, &v) < 0 || v <= 0 || v > 100) goto bad;
                        opt.ro.tries = (int)v;
                        break;
                case 'b':
                        if (parse_size(optarg, &v) < 0 || v <= 0 || v > 600000) goto bad;
                        opt.ro.backoff_ms = (long)v;
                        break;
                case 'l':
                        if (parse_size(optarg, &v) < 0) goto bad;
                        opt.ro.max_send_speed = v;
                        break;
                case 'S':
                        if (parse_size(optarg, &v) < 0 || v <= 0 || v > 3600) goto bad;
                        opt.ro.stall_timeout_s = (long)v;
                        break;
                case 's': opt.stats = true; break;
                case 'p': opt.progress = true; break;
                case 'n': opt.src = optarg; break;
                case 'M': opt.meta = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (opt.ro.username)
                opt.ro.password = getenv("PS_REGISTRY_PASSWORD");
        int na = argc - optind;
        char **a = argv + optind;
        if (na < 2) {
                usage(stderr);
                return 2;
        }
        const char *cmd = a[0];
        static const struct { const char *name; int args; int host_at; } cmds[] = {
                { "push-layout", 4, 3 }, { "get-manifest", 4, 1 }, { "head-blob", 4, 1 },
                { "get-blob", 4, 1 }, { "mount", 5, 1 }, { "tags", 3, 1 }, { "catalog", 2, 1 },
                { "ping", 2, 1 },
        };
        int host_at = -1;
        for (size_t i = 0; i < PS_ARRAY_SIZE(cmds); i++)
                if (strcmp(cmd, cmds[i].name) == 0) {
                        if (na != cmds[i].args) {
                                usage(stderr);
                                return 2;
                        }
                        host_at = cmds[i].host_at;
                }
        if (host_at < 0) {
                usage(stderr);
                return 2;
        }
        ps_error err = PS_ERROR_INIT;
        ps_registry *r = NULL;
        if (ps_registry_new(a[host_at], &opt.ro, &r, &err) < 0)
                return die(&err, NULL);
        int rc = 0;
        if (strcmp(cmd, "push-layout") == 0) {
                rc = cmd_push_layout(r, a[1], a[2]);
        } else if (strcmp(cmd, "get-manifest") == 0) {
                ps_registry_manifest m;
                if (ps_registry_manifest_get(r, a[2], a[3], NULL, &m, &err) < 0) {
                        rc = die(&err, NULL);
                } else {
                        if (opt.meta)
                                printf("%s\n%s\n", m.digest, m.media_type);
                        else if (fwrite(m.data, 1, m.len, stdout) != m.len)
                                rc = 1;
                        ps_registry_manifest_free(&m);
                }
        } else if (strcmp(cmd, "head-blob") == 0) {
                int64_t size = -1;
                int h = ps_registry_blob_head(r, a[2], a[3], &size, &err);
                if (h < 0)
                        rc = die(&err, NULL);
                else if (h == 1)
                        printf("exists %" PRId64 "\n", size);
                else
                        printf("missing\n"), rc = 3;
        } else if (strcmp(cmd, "get-blob") == 0) {
                if (ps_registry_blob_get(r, a[2], a[3], write_all, NULL, NULL, &err) < 0)
                        rc = die(&err, NULL);
        } else if (strcmp(cmd, "mount") == 0) {
                int h = ps_registry_blob_mount(r, a[2], a[3], a[4], &err);
                if (h < 0)
                        rc = die(&err, NULL);
                else if (h == 1)
                        printf("mounted\n");
                else
                        printf("not-mounted\n"), rc = 3;
        } else if (strcmp(cmd, "tags") == 0 || strcmp(cmd, "catalog") == 0) {
                char **list = NULL;
                int h = strcmp(cmd, "tags") == 0 ? ps_registry_tags(r, a[2], &list, &err)
                                                 : ps_registry_catalog(r, &list, &err);
                if (h < 0)
                        rc = die(&err, NULL);
                for (char **p = list; p && *p; p++)
                        printf("%s\n", *p);
                ps_strv_free(list);
        } else if (strcmp(cmd, "ping") == 0) {
                if (ps_registry_ping(r, &err) < 0)
                        rc = die(&err, NULL);
                else
                        printf("ok\n");
        }
        print_stats(r);
        ps_registry_free(r);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "ps-registry: writing to stdout failed\n");
                return 1;
        }
        return rc;
bad:
        fprintf(stderr, "ps-registry: invalid value \"%s\" for an option\n", optarg);
        return 2;
}
