/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec image save (= podsec-save-oci, podsec-k8s-save-oci): images from a
 * registry -> DIR/<arch>.tar.xz OCI archives for `podsec image load-sign`. */
#include "cmd.h"
#include "cleanup.h"
#include "ocisave.h"
#include "platform.h"
#include "process.h"
#include "reference.h"
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define K8S_NAME "podsec-k8s-save-oci"
#define K8S_REGISTRY "registry.altlinux.org"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_ARCH = 2, EXIT_FAILED = 3 };

static void usage(FILE *f, const char *prog, bool k8s)
{
        if (k8s) {
                fprintf(f, _("Usage: %s [OPTIONS] DIR ARCHS [PLATFORM]\n"
                             "       podsec image save --k8s [--platform P] [OPTIONS] DIR ARCHS [TRANSPORT] [IMAGE...]\n\n"),
                        prog);
        } else {
                fprintf(f, _("Usage: %s [OPTIONS] DIR ARCHS [TRANSPORT] IMAGE...\n\n"), prog);
        }
        fprintf(f, _("Copy images from a registry into one OCI image layout per architecture\n"
                     "with uncompressed layers and pack each as DIR/<ARCH>.tar.xz, the archive\n"
                     "that 'podsec image load-sign' (podsec-load-sign-oci) reads.  Nothing goes\n"
                     "through a local container store; signatures are not copied.\n\n"
                     "  DIR        output directory; it must not exist, its parent must\n"
                     "  ARCHS      amd64, arm64, arm, ppc64le, 386, a comma-separated list of\n"
                     "             them, or all\n"
                     "  TRANSPORT  docker:// (or \"\") reads from the default registry;\n"
                     "             docker://HOST[:PORT] from HOST; docker://HOST/PATH prepends\n"
                     "             PATH to every image.  Only registries: containers-storage:,\n"
                     "             oci: and other transports are refused.\n"
                     "  IMAGE      PLATFORM/NAME[:TAG] without the registry, e.g. c10f/pause:3.9\n"
                     "             (:latest when no tag); NAME:TAG@sha256:... pins the digest;\n"
                     "             HOST/PATH:TAG reads that one image from HOST.  The archive\n"
                     "             names the image as given, without the host.\n\n"
                     "Default registry: the TRANSPORT's host, else U7S_ALTREGISTRY when set,\n"
                     "else %s.\n\n"
                     "Options:\n"
                     "  --tls-verify=BOOL        false: plain http to every registry; true: https\n"
                     "                           everywhere; default: https, except plain http\n"
                     "                           for the site registry (site setting 'registry')\n"
                     "  --keep-layout            keep DIR/<ARCH>/ (the OCI layout) next to the\n"
                     "                           archive\n"
                     "  --compression-level N    xz preset 0-9 (default 9, like the original)\n"
                     "  --block-size MIB         uncompressed MiB per xz block (default 32): the\n"
                     "                           blocks can be decompressed in parallel\n"
                     "  --threads N              compression threads (default: CPUs)\n"),
                k8s ? K8S_REGISTRY : _("the site setting 'registry' (Kubernetes mode: " K8S_REGISTRY ")"));
        fprintf(f, _("  --k8s                    add the Kubernetes images of PLATFORM (below)\n"
                     "  --platform P             Kubernetes mode: platform (default: this host's)\n"
                     "  --kubeadm PATH           Kubernetes mode: the kubeadm program\n"
                     "  -h, --help               this help\n"
                     "Global options --json (summary as JSON on stdout) and --dry-run (resolve\n"
                     "every image for every architecture, write nothing) apply.\n\n"
                     "Kubernetes mode (podsec-k8s-save-oci, or --k8s): the images are those\n"
                     "'kubeadm config images list --kubernetes-version V --image-repository\n"
                     "REGISTRY/PLATFORM' prints (V: U7S_KUBEVERSION, else kubeadm's own\n"
                     "version), PLATFORM/flannel and PLATFORM/flannel-cni-plugin (tags:\n"
                     "U7S_FLANNEL_TAG and U7S_FLANNELCNIPLUGIN_TAG, else the newest vN.N.N tag\n"
                     "in the registry), the images in U7S_ARCHIMAGES and any IMAGE given.\n"
                     "A PLATFORM starting with k8s- is refused.  No packages are installed.\n\n"
                     "Every image is resolved for every architecture before DIR is created.\n"
                     "Every blob is verified; each uncompressed layer must hash to its\n"
                     "config's diff_id; the config is kept byte for byte.\n\n"
                     "Exit status: 0 done; 1 missing arguments, DIR exists or its parent is\n"
                     "missing, bad transport or image name; 2 unknown architecture; 3 an image\n"
                     "could not be resolved or saved (archives finished before stay in DIR).\n"));
}

static void short_usage(const char *prog, bool k8s)
{
        fprintf(stderr, k8s ? _("Usage: %s [OPTIONS] DIR ARCHS [PLATFORM]\n")
                            : _("Usage: %s [OPTIONS] DIR ARCHS [TRANSPORT] IMAGE...\n"), prog);
        fprintf(stderr, _("Run '%s --help' for more.\n"), prog);
}

/* ---- progress ---------------------------------------------------------- */

struct progress {
        ps_ctx *ctx;
        bool tty;
        bool line_open;
        struct timespec last;
};

static double mib(uint64_t b)
{
        return (double)b / (1024.0 * 1024.0);
}

static bool due(struct progress *p, bool force)
{
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000;
        if (!force && ms < 100)
                return false;
        p->last = now;
        return true;
}

static void end_line(struct progress *p)
{
        if (p->line_open) {
                fputs("\r\033[K", stderr);
                p->line_open = false;
        }
}

static void on_progress(void *ud, const ps_save_event *ev)
{
        struct progress *p = ud;
        if (p->ctx->json && !p->tty)
                return;
        switch (ev->kind) {
        case PS_SAVE_RESOLVE:
                if (p->tty && due(p, ev->image_index == 0)) {
                        fprintf(stderr, "\r\033[K%s: %s [%zu/%zu] %s", ev->arch, _("resolving"),
                                ev->image_index + 1, ev->n_images, ev->image);
                        p->line_open = true;
                } else if (!p->tty && p->ctx->verbose) {
                        fprintf(stderr, _("%s: resolving %s\n"), ev->arch, ev->image);
                }
                break;
        case PS_SAVE_IMAGE:
                if (p->tty) {
                        due(p, true);
                        fprintf(stderr, "\r\033[K%s: [%zu/%zu] %s", ev->arch, ev->image_index + 1, ev->n_images,
                                ev->image);
                        p->line_open = true;
                } else {
                        fprintf(stderr, _("%s: [%zu/%zu] archiving %s (%zu layers)\n"), ev->arch,
                                ev->image_index + 1, ev->n_images, ev->image, ev->n_layers);
                }
                break;
        case PS_SAVE_BYTES:
                if (p->tty && due(p, ev->done == ev->total)) {
                        fprintf(stderr, _("\r\033[K%s: [%zu/%zu] %s layer %zu/%zu %.1f/%.1f MiB"), ev->arch,
                                ev->image_index + 1, ev->n_images, ev->image, ev->layer, ev->n_layers,
                                mib(ev->done), mib(ev->total));
                        p->line_open = true;
                }
                break;
        case PS_SAVE_PACK:
                if (p->tty && due(p, ev->done >= ev->total)) {
                        fprintf(stderr, _("\r\033[K%s: compressing %.1f/%.1f MiB (%d%%)"), ev->arch, mib(ev->done),
                                mib(ev->total), ev->total ? (int)(ev->done * 100 / ev->total) : 0);
                        p->line_open = true;
                }
                break;
        case PS_SAVE_ARCHIVE_DONE:
                end_line(p);
                if (!p->ctx->json)
                        fprintf(stderr, _("%s: wrote %s (%.1f MiB from %.1f MiB)\n"), ev->arch, ev->path,
                                mib(ev->done), mib(ev->total));
                break;
        }
        fflush(stderr);
}

/* ---- options and arguments --------------------------------------------- */

struct insecure_ctx {
        int tls_verify;         /* -1 default, 0 false, 1 true */
        const char *site;       /* site registry host[:port] */
};

static bool is_insecure(void *ud, const char *host)
{
        struct insecure_ctx *ic = ud;
        if (ic->tls_verify >= 0)
                return ic->tls_verify == 0;
        return ic->site && strcmp(ic->site, host) == 0;
}

static int parse_bool(const char *s, int *out)
{
        if (!s || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes")) {
                *out = 1;
                return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no")) {
                *out = 0;
                return 0;
        }
        return -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
        char *end;
        if (!s || !isdigit((unsigned char)*s))
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *out = v;
        return 0;
}

struct imagelist {
        ps_save_ref *v;
        size_t n;
};

static void imagelist_free(struct imagelist *l)
{
        for (size_t i = 0; i < l->n; i++)
                ps_save_ref_clear(&l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

/* 0 added; 1 already there (same name); < 0 error in *err */
static int add_image(struct imagelist *l, const char *image, const char *host, const char *prefix, ps_error *err)
{
        ps_save_ref r;
        int ret = ps_save_ref_parse(image, host, prefix, &r, err);
        if (ret < 0)
                return ret;
        ps_save_ref *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
        if (!nv) {
                ps_save_ref_clear(&r);
                return ps_error_errno(err, ENOMEM, "image list");
        }
        l->v = nv;
        l->v[l->n++] = r;
        return 0;
}

/* ---- Kubernetes mode ---------------------------------------------------- */

/* "v1.2.3" -> components; false when not of that form */
static bool parse_version(const char *t, unsigned long v[4], int *n)
{
        if (t[0] != 'v' || !isdigit((unsigned char)t[1]))
                return false;
        const char *p = t + 1;
        *n = 0;
        while (*p) {
                if (!isdigit((unsigned char)*p) || *n == 4)
                        return false;
                char *end;
                errno = 0;
                v[(*n)++] = strtoul(p, &end, 10);
                if (errno)
                        return false;
                p = end;
                if (*p == '.')
                        p++;
                else if (*p)
                        return false;
        }
        return *n > 0;
}

static int vercmp(const unsigned long *a, int na, const unsigned long *b, int nb)
{
        for (int i = 0; i < na || i < nb; i++) {
                unsigned long x = i < na ? a[i] : 0, y = i < nb ? b[i] : 0;
                if (x != y)
                        return x < y ? -1 : 1;
        }
        return na - nb;
}

/* newest vN.N.N tag of REPO */
static int newest_tag(ps_registry *reg, const char *repo, char **out, ps_error *err)
{
        _cleanup_strv_ char **tags = NULL;
        int r = ps_registry_tags(reg, repo, &tags, err);
        if (r < 0)
                return r;
        const char *best = NULL;
        unsigned long bv[4] = { 0 };
        int bn = 0;
        for (char **t = tags; t && *t; t++) {
                unsigned long v[4];
                int n;
                if (!parse_version(*t, v, &n))
                        continue;
                if (!best || vercmp(v, n, bv, bn) > 0) {
                        best = *t;
                        memcpy(bv, v, sizeof(bv));
                        bn = n;
                }
        }
        if (!best)
                return ps_error_set(err, ENOENT, "%s/%s has no vN.N.N tag", ps_registry_host(reg), repo);
        *out = strdup(best);
        return *out ? 0 : ps_error_errno(err, ENOMEM, "tag");
}

struct k8s_opts {
        const char *platform;   /* NULL: this host's */
        const char *kubeadm;    /* NULL: "kubeadm" in the fixed PATH */
};

/* Add the Kubernetes image set.  Returns an exit code (0 ok). */
static int k8s_images(ps_ctx *ctx, const struct k8s_opts *ko, const char *registry, struct insecure_ctx *ic,
                      struct imagelist *l)
{
        ps_error err = PS_ERROR_INIT;
        _cleanup_free_ char *platform = NULL;
        if (ko->platform && *ko->platform) {
                platform = strdup(ko->platform);
        } else {
                bool from_env = false;
                if (ps_platform(ctx->root, getenv("U7S_PLATFORM"), &platform, &from_env, &err) < 0)
                        return ps_fail(ctx, &err, EXIT_USAGE);
        }
        if (!platform) {
                ps_err(ctx, _("out of memory"));
                return EXIT_FAILED;
        }
        if (!strncmp(platform, "k8s-", 4)) {
                ps_err(ctx, _("platform %s: the k8s- prefix is no longer supported (use e.g. c10f, p10, p11)"),
                       platform);
                return EXIT_USAGE;
        }
        if (!ps_reference_valid_component(platform, strlen(platform))) {
                ps_err(ctx, _("platform \"%s\" is not a valid repository path component"), platform);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *kubeadm = ko->kubeadm ? strdup(ko->kubeadm) : ps_which("kubeadm");
        if (!kubeadm) {
                ps_err(ctx, _("kubeadm is needed to list the Kubernetes images but is not installed (install "
                              "the kubernetes kubeadm package or pass --kubeadm PATH), or give the images to "
                              "'podsec image save DIR ARCHS docker://%s IMAGE...'"), registry);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *version = NULL;
        const char *ev = getenv("U7S_KUBEVERSION");
        if (ev && *ev) {
                if (ev[0] != 'v') {
                        ps_err(ctx, _("U7S_KUBEVERSION=%s must start with 'v' (e.g. v1.28.3)"), ev);
                        return EXIT_USAGE;
                }
                version = strdup(ev);
        } else {
                const char *argv[] = { kubeadm, "version", "-o", "short", NULL };
                int st = 0;
                ps_spawn_opts so = { .out = &version, .quiet = 1 };
                if (ps_spawn(argv, &so, &st, &err) < 0)
                        return ps_fail(ctx, &err, EXIT_FAILED);
                if (st != 0 || !version) {
                        ps_err(ctx, _("%s version -o short failed (exit %d)"), kubeadm, st);
                        return EXIT_FAILED;
                }
                version[strcspn(version, " \t\r\n")] = '\0';
        }
        if (!version || !*version) {
                ps_err(ctx, _("could not tell the Kubernetes version (set U7S_KUBEVERSION)"));
                return EXIT_FAILED;
        }
        _cleanup_free_ char *repo = NULL, *list = NULL, *errout = NULL;
        if (asprintf(&repo, "%s/%s", registry, platform) < 0) {
                ps_err(ctx, _("out of memory"));
                return EXIT_FAILED;
        }
        const char *argv[] = { kubeadm, "config", "images", "list", "--kubernetes-version", version,
                               "--image-repository", repo, NULL };
        int st = 0;
        ps_spawn_opts so = { .out = &list, .errout = &errout };
        if (ps_spawn(argv, &so, &st, &err) < 0)
                return ps_fail(ctx, &err, EXIT_FAILED);
        if (st != 0) {
                ps_err(ctx, _("%s config images list --kubernetes-version %s failed (exit %d): %s"), kubeadm,
                       version, st, errout ? errout : "");
                return EXIT_FAILED;
        }
        size_t before = l->n;
        size_t rl = strlen(repo);
        for (char *line = list, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                line[strcspn(line, " \t\r")] = '\0';
                if (!*line)
                        continue;
                /* REGISTRY/PLATFORM/NAME:TAG -> PLATFORM/NAME:TAG (read from REGISTRY) */
                const char *img = line;
                if (!strncmp(line, repo, rl) && line[rl] == '/')
                        img = line + strlen(registry) + 1;
                if (add_image(l, img, registry, NULL, &err) < 0) {
                        ps_error_wrap(&err, "kubeadm listed an image podsec cannot use");
                        return ps_fail(ctx, &err, EXIT_FAILED);
                }
        }
        if (l->n == before) {
                ps_err(ctx, _("kubeadm listed no images for Kubernetes %s"), version);
                return EXIT_FAILED;
        }
        /* flannel */
        ps_registry_opts ro = { .insecure = is_insecure(ic, registry) };
        ps_registry *reg = NULL;
        static const struct { const char *name, *env; } fl[] = {
                { "flannel", "U7S_FLANNEL_TAG" },
                { "flannel-cni-plugin", "U7S_FLANNELCNIPLUGIN_TAG" },
        };
        for (size_t i = 0; i < PS_ARRAY_SIZE(fl); i++) {
                _cleanup_free_ char *frepo = NULL, *tag = NULL, *img = NULL;
                const char *et = getenv(fl[i].env);
                if (asprintf(&frepo, "%s/%s", platform, fl[i].name) < 0) {
                        ps_err(ctx, _("out of memory"));
                        ps_registry_free(reg);
                        return EXIT_FAILED;
                }
                if (et && *et) {
                        tag = strdup(et);
                } else {
                        if (!reg && ps_registry_new(registry, &ro, &reg, &err) < 0)
                                return ps_fail(ctx, &err, EXIT_FAILED);
                        if (newest_tag(reg, frepo, &tag, &err) < 0) {
                                ps_error_wrap(&err, "choosing the %s tag (or set %s)", fl[i].name, fl[i].env);
                                ps_registry_free(reg);
                                return ps_fail(ctx, &err, EXIT_FAILED);
                        }
                }
                if (!tag || asprintf(&img, "%s:%s", frepo, tag) < 0) {
                        ps_err(ctx, _("out of memory"));
                        ps_registry_free(reg);
                        return EXIT_FAILED;
                }
                if (add_image(l, img, registry, NULL, &err) < 0) {
                        ps_registry_free(reg);
                        return ps_fail(ctx, &err, EXIT_USAGE);
                }
        }
        ps_registry_free(reg);
        /* U7S_ARCHIMAGES */
        const char *extra = getenv("U7S_ARCHIMAGES");
        _cleanup_free_ char *ex = extra ? strdup(extra) : NULL;
        for (char *save = NULL, *t = ex ? strtok_r(ex, " \t\n", &save) : NULL; t; t = strtok_r(NULL, " \t\n", &save)) {
                if (add_image(l, t, registry, NULL, &err) < 0) {
                        ps_error_wrap(&err, "U7S_ARCHIMAGES");
                        return ps_fail(ctx, &err, EXIT_USAGE);
                }
        }
        if (!ctx->json)
                ps_info(ctx, _("Kubernetes %s images of platform %s from %s: %zu"), version, platform, registry,
                        l->n - before);
        return 0;
}

/* ---- output ------------------------------------------------------------- */

static json_t *result_json(const char *dir, const ps_save_result *res, bool dry_run, const char *error)
{
        json_t *root = json_pack("{s:s,s:b,s:[]}", "dir", dir, "dry_run", dry_run, "archives");
        json_t *arr = root ? json_object_get(root, "archives") : NULL;
        if (!arr)
                return root;
        for (size_t a = 0; a < res->n_archives; a++) {
                const ps_save_archive *ar = &res->archives[a];
                json_t *o = json_pack("{s:s,s:[]}", "arch", ar->arch, "images");
                if (!o)
                        continue;
                if (ar->path) {
                        json_object_set_new(o, "path", json_string(ar->path));
                        json_object_set_new(o, "size", json_integer((json_int_t)ar->size));
                        json_object_set_new(o, "tar_size", json_integer((json_int_t)ar->tar_size));
                        json_object_set_new(o, "xz_blocks", json_integer((json_int_t)ar->blocks));
                        json_object_set_new(o, "sha256", json_string(ar->sha256.str));
                }
                json_t *imgs = json_object_get(o, "images");
                for (size_t i = 0; i < ar->n_images; i++) {
                        const ps_save_image_result *ir = &ar->images[i];
                        json_t *io = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "name", ir->name, "source",
                                               ir->source, "source_digest", ir->source_digest.str,
                                               "source_manifest", ir->source_manifest.str, "config",
                                               ir->config.str, "architecture", ir->architecture, "os", ir->os,
                                               "layers", (json_int_t)ir->n_layers);
                        if (!io)
                                continue;
                        if (ir->variant)
                                json_object_set_new(io, "variant", json_string(ir->variant));
                        if (ps_digest_is_set(&ir->manifest)) {
                                json_object_set_new(io, "manifest", json_string(ir->manifest.str));
                                json_object_set_new(io, "layer_bytes", json_integer((json_int_t)ir->layer_bytes));
                                json_object_set_new(io, "downloaded", json_integer((json_int_t)ir->downloaded));
                        }
                        json_array_append_new(imgs, io);
                }
                json_array_append_new(arr, o);
        }
        if (error)
                json_object_set_new(root, "error", json_string(error));
        return root;
}

static void print_json(json_t *j)
{
        char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        if (s)
                printf("%s\n", s);
        free(s);
}

/* ---- the command --------------------------------------------------------- */

PS_CMD(cmd_image_save)
{
        const char *prog = ctx->prog && strcmp(ctx->prog, "podsec") ? ctx->prog : argv[0];
        bool k8s = ctx->prog && !strcmp(ctx->prog, K8S_NAME);
        bool orig_k8s = k8s;
        struct insecure_ctx ic = { .tls_verify = -1, .site = ctx->conf.registry };
        struct k8s_opts ko = { 0 };
        ps_save_opts so = { .level = -1 };
        enum { O_TLS = 256, O_KEEP, O_LEVEL, O_BLOCK, O_THREADS, O_K8S, O_PLATFORM, O_KUBEADM };
        static const struct option opts[] = {
                { "tls-verify", optional_argument, NULL, O_TLS },
                { "keep-layout", no_argument, NULL, O_KEEP },
                { "compression-level", required_argument, NULL, O_LEVEL },
                { "block-size", required_argument, NULL, O_BLOCK },
                { "threads", required_argument, NULL, O_THREADS },
                { "k8s", no_argument, NULL, O_K8S },
                { "platform", required_argument, NULL, O_PLATFORM },
                { "kubeadm", required_argument, NULL, O_KUBEADM },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        int o;
        unsigned long v;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (o) {
                case 'h':
                        usage(stdout, prog, k8s);
                        return EXIT_OK;
                case O_TLS:
                        if (parse_bool(optarg, &ic.tls_verify) < 0) {
                                ps_err(ctx, _("--tls-verify=%s: expected true or false"), optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case O_KEEP: so.keep_layout = true; break;
                case O_LEVEL:
                        if (parse_uint(optarg, 9, &v) < 0) {
                                ps_err(ctx, _("--compression-level %s: expected 0 to 9"), optarg);
                                return EXIT_USAGE;
                        }
                        so.level = (int)v;
                        break;
                case O_BLOCK:
                        if (parse_uint(optarg, 4096, &v) < 0 || v == 0) {
                                ps_err(ctx, _("--block-size %s: expected 1 to 4096 (MiB)"), optarg);
                                return EXIT_USAGE;
                        }
                        so.block_size = (uint64_t)v * 1024 * 1024;
                        break;
                case O_THREADS:
                        if (parse_uint(optarg, 64, &v) < 0 || v == 0) {
                                ps_err(ctx, _("--threads %s: expected 1 to 64"), optarg);
                                return EXIT_USAGE;
                        }
                        so.threads = (uint32_t)v;
                        break;
                case O_K8S: k8s = true; break;
                case O_PLATFORM: ko.platform = optarg; break;
                case O_KUBEADM: ko.kubeadm = optarg; break;
                default:
                        short_usage(prog, k8s);
                        return EXIT_USAGE;
                }
        }
        char **args = argv + optind;
        int nargs = argc - optind;
        /* the original's checks, in its order, with its exit codes */
        if (nargs < 1) {
                ps_err(ctx, _("the archive directory is not given"));
                short_usage(prog, k8s);
                return EXIT_USAGE;
        }
        if (nargs < 2) {
                ps_err(ctx, k8s ? _("no architecture given") : _("no image list given (ARCHS and IMAGE...)"));
                short_usage(prog, k8s);
                return EXIT_USAGE;
        }
        _cleanup_free_ char *dir = strdup(args[0]);
        if (!dir) {
                ps_err(ctx, _("out of memory"));
                return EXIT_FAILED;
        }
        for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/'; l--)
                dir[l - 1] = '\0';    /* "out/" -> "out" */
        if (!*dir) {
                ps_err(ctx, _("the archive directory is empty"));
                return EXIT_USAGE;
        }
        ps_error err = PS_ERROR_INIT;
        if (ps_save_check_dir(dir, &err) < 0)
                return ps_fail(ctx, &err, EXIT_USAGE);
        _cleanup_strv_ char **archs = NULL;
        if (ps_save_parse_archs(args[1], &archs, &err) < 0) {
                ps_fail(ctx, &err, EXIT_ARCH);
                short_usage(prog, k8s);
                return EXIT_ARCH;
        }
        /* transport (or, under podsec-k8s-save-oci, the platform) */
        int next = 2;
        ps_save_source src = { 0 };
        if (orig_k8s) {
                if (nargs > 3) {
                        ps_err(ctx, _("too many arguments: %s takes DIR ARCHS [PLATFORM]"), prog);
                        return EXIT_USAGE;
                }
                if (nargs == 3)
                        ko.platform = args[2];
                next = nargs;
        } else if (nargs > 2 && ps_save_is_transport(args[2])) {
                if (ps_save_parse_transport(args[2], &src, &err) < 0)
                        return ps_fail(ctx, &err, EXIT_USAGE);
                next = 3;
        }
        const char *env_reg = getenv("U7S_ALTREGISTRY");
        const char *registry = src.host ? src.host
                               : env_reg && *env_reg ? env_reg
                               : k8s ? K8S_REGISTRY : ctx->conf.registry;
        struct imagelist images = { 0 };
        int rc = EXIT_OK;
        for (int i = next; i < nargs; i++) {
                if (add_image(&images, args[i], registry, src.prefix, &err) < 0) {
                        rc = ps_fail(ctx, &err, EXIT_USAGE);
                        goto out;
                }
        }
        if (k8s && (rc = k8s_images(ctx, &ko, registry, &ic, &images)) != EXIT_OK)
                goto out;
        if (images.n == 0) {
                ps_err(ctx, _("no image given: the arguments are DIR ARCHS [TRANSPORT] IMAGE..."));
                short_usage(prog, k8s);
                rc = EXIT_USAGE;
                goto out;
        }
        for (size_t i = 0; i < images.n; i++)
                for (size_t k = 0; k < i; k++)
                        if (!strcmp(images.v[i].name, images.v[k].name)) {
                                ps_err(ctx, _("image %s is given twice"), images.v[i].name);
                                rc = EXIT_USAGE;
                                goto out;
                        }
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        unsigned long long mt = 0;
        if (sde && *sde) {
                char *end;
                errno = 0;
                mt = strtoull(sde, &end, 10);
                if (errno || *end || mt > INT64_MAX) {
                        ps_err(ctx, _("SOURCE_DATE_EPOCH=%s is not a number of seconds"), sde);
                        rc = EXIT_USAGE;
                        goto out;
                }
        }
        struct progress pg = { .ctx = ctx, .tty = isatty(STDERR_FILENO) == 1 };
        so.dir = dir;
        so.archs = archs;
        so.images = images.v;
        so.n_images = images.n;
        so.insecure = is_insecure;
        so.insecure_ctx = &ic;
        so.dry_run = ctx->dry_run;
        so.mtime = (int64_t)mt;
        so.progress = on_progress;
        so.progress_ctx = &pg;
        ps_save_result res = { 0 };
        int r = ps_save_run(&so, &res, &err);
        end_line(&pg);
        if (r < 0)
                rc = r == -EEXIST || r == -ENOTDIR ? EXIT_USAGE : EXIT_FAILED;
        if (ctx->json) {
                json_t *j = result_json(dir, &res, ctx->dry_run, r < 0 ? ps_error_msg(&err) : NULL);
                print_json(j);
                json_decref(j);
        } else if (r >= 0) {
                for (size_t a = 0; a < res.n_archives; a++) {
                        const ps_save_archive *ar = &res.archives[a];
                        if (ctx->dry_run) {
                                for (size_t i = 0; i < ar->n_images; i++)
                                        printf("%s\t%s\t%s\t%s\n", ar->arch, ar->images[i].name,
                                               ar->images[i].source, ar->images[i].source_manifest.str);
                        } else {
                                printf("%s\t%s\t%" PRIu64 "\t%zu\n", ar->path, ar->sha256.str, ar->size,
                                       ar->n_images);
                        }
                }
        }
        if (r < 0) {
                ps_err(ctx, "%s", ps_error_msg(&err));
                if (res.n_archives > 0 && !ctx->dry_run) {
                        for (size_t a = 0; a < res.n_archives; a++)
                                ps_err(ctx, _("finished before the failure: %s"), res.archives[a].path);
                } else if (!res.created_dir && !ctx->dry_run && rc == EXIT_FAILED) {
                        ps_err(ctx, _("nothing was written"));
                }
        }
        ps_error_clear(&err);
        ps_save_result_free(&res);
out:
        imagelist_free(&images);
        ps_save_source_clear(&src);
        return rc;
}
