/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec image load-sign ARCHIVE ARCH SIGNER [REGISTRY/PATH]
 * (= podsec-load-sign-oci, spec core §5.5).  The engine is loadsign.[ch]. */
#include "cmd.h"
#include "accounts.h"
#include "cleanup.h"
#include "fs.h"
#include "loadsign.h"
#include "platform.h"
#include "registries.h"

#include <errno.h>
#include <inttypes.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit codes: the original's check table (spec core §5.5), and two new
 * ones for what the original ignored (E1). */
enum {
        EX_OK = 0,
        EX_USAGE = 1,           /* also: not an image maker, archive missing, declined */
        EX_ARCH = 3,
        EX_NO_REGISTRY = 4,
        EX_BAD_REGISTRY = 5,
        EX_ARCHIVE = 6,         /* the original: unpacking failed */
        EX_NO_ARCH_DIR = 7,
        EX_NO_INDEX = 8,
        EX_PUSH = 9,            /* new: pushing to the registry failed */
        EX_SIGN = 10,           /* new: signing, or storing a signature, failed */
};

static void usage(FILE *f, const char *prog)
{
        fprintf(f,
                _("Usage: %s [OPTIONS] ARCHIVE ARCH SIGNER [REGISTRY/PATH]\n\n"
                  "Push the images of an OCI archive (ARCH.tar.xz made by 'podsec image save') to the\n"
                  "registry and sign them with the GnuPG key SIGNER (e-mail, user id or fingerprint).\n"
                  "The archive is read once, as a stream; nothing is unpacked to disk.\n\n"
                  "ARCH is one of amd64, arm64, arm, ppc64le, 386.  An image PLATFORM/NAME:TAG of the\n"
                  "archive goes to REGISTRY/PATH/NAME:TAG, or without REGISTRY/PATH to\n"
                  "REGISTRY/PLATFORM/NAME:TAG where REGISTRY is the site registry (registry.local).\n"
                  "Images of another platform prefix keep their path on that registry.\n\n"
                  "Signatures go to the caller's lookaside-staging store (registries.d).  For root,\n"
                  "whose registries.d names only the site's sigstore_url, they go to\n"
                  "file://SIGSTORE_DIR/sigstore/, the directory the signature server serves.\n\n"
                  "Options:\n"
                  "  --passphrase-file FILE  the key's passphrase (first line of FILE); default:\n"
                  "                          gpg-agent and pinentry\n"
                  "  -y, --yes               go on when the archive's platform is not this host's\n"
                  "  --no-legacy-alias       do not push REGISTRY/k8s-c10f2/NAME for c10f archives\n"
                  "  --insecure              plain http to a registry other than the site registry\n"
                  "  --progress, --no-progress  progress line on stderr (default: when a terminal)\n"
                  "  -h, --help              this help\n"
                  "Global --json prints a summary as JSON; --dry-run reads and checks the archive\n"
                  "and shows where each image would go, without pushing or signing.\n\n"
                  "Exit status: 0 done; 1 bad arguments, not an image maker, archive missing or\n"
                  "platform not confirmed; 3 unknown ARCH; 4 no registry name; 5 invalid registry\n"
                  "name; 6 the archive cannot be read or is invalid; 7 no ARCH directory in it;\n"
                  "8 no index.json in it; 9 pushing failed; 10 signing failed.\n"),
                prog);
}

/* ---- the image-maker check (exact gid membership, D22) ---- */

static int check_maker(ps_ctx *ctx)
{
        if (geteuid() == 0)
                return 0;
        ps_error err = PS_ERROR_INIT;
        const char *group = ctx->conf.group_dev ? ctx->conf.group_dev : "podman_dev";
        gid_t gid;
        int r = ps_root_getgrnam(ctx->root, group, &gid, &err);
        if (r < 0)
                return ps_fail(ctx, &err, EX_USAGE);
        if (r == 0) {
                ps_err(ctx, _("only root and members of the group %s may load and sign images; "
                              "there is no group %s on this system"),
                       group, group);
                return EX_USAGE;
        }
        int n = getgroups(0, NULL);
        if (n < 0) {
                ps_err(ctx, _("cannot read the groups of this process: %s"), strerror(errno));
                return EX_USAGE;
        }
        _cleanup_free_ gid_t *g = calloc((size_t)n + 1, sizeof(gid_t));
        _cleanup_free_ unsigned *u = calloc((size_t)n + 1, sizeof(unsigned));
        if (!g || !u) {
                ps_err(ctx, _("out of memory"));
                return EX_USAGE;
        }
        n = getgroups(n, g);
        if (n < 0) {
                ps_err(ctx, _("cannot read the groups of this process: %s"), strerror(errno));
                return EX_USAGE;
        }
        for (int i = 0; i < n; i++)
                u[i] = (unsigned)g[i];
        if (!ps_ls_gid_member((unsigned)gid, (unsigned)getegid(), u, (size_t)n)) {
                ps_err(ctx, _("you are not in the group %s (gid %u): only root and image makers may load "
                              "and sign images"),
                       group, (unsigned)gid);
                return EX_USAGE;
        }
        return 0;
}

/* ---- output ---- */

struct ui {
        ps_ctx *ctx;
        bool progress;
        bool line;              /* a progress line is on the screen */
        bool yes;
};

static void human(double b, char *buf, size_t n)
{
        static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        size_t i = 0;
        while (b >= 1024 && i + 1 < PS_ARRAY_SIZE(u)) {
                b /= 1024;
                i++;
        }
        snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

static void clear_line(struct ui *ui)
{
        if (ui->line) {
                fputs("\r\033[K", stderr);
                ui->line = false;
        }
}

static void on_event(void *ud, const ps_ls_event *ev)
{
        struct ui *ui = ud;
        ps_ctx *ctx = ui->ctx;
        char a[32], b[32], c[32];
        switch (ev->kind) {
        case PS_LS_EV_PROGRESS: {
                if (!ui->progress)
                        return;
                human((double)ev->in_done, a, sizeof(a));
                human((double)ev->blob_bytes, b, sizeof(b));
                human(ev->seconds > 0 ? (double)ev->blob_bytes / ev->seconds : 0, c, sizeof(c));
                fputs("\r\033[K", stderr);
                if (ev->in_total)
                        fprintf(stderr, "[%3u%%] ", (unsigned)(ev->in_done * 100 / ev->in_total));
                fprintf(stderr, _("%s read, %s of blobs, %s/s"), a, b, c);
                if (ev->image)
                        fprintf(stderr, "  %s", ev->image);
                ui->line = true;
                return;
        }
        case PS_LS_EV_PHASE:
                if (ctx->verbose) {
                        clear_line(ui);
                        ps_info(ctx, "[%.2f s] %s", ev->seconds, ev->text);
                }
                return;
        case PS_LS_EV_PLAN:
                if (ctx->json)
                        return;
                clear_line(ui);
                for (size_t i = 0; ev->dests[i]; i++)
                        ps_info(ctx, ctx->dry_run ? _("%s (%s) would go to %s") : _("%s (%s) goes to %s"),
                                ev->image, ev->digest, ev->dests[i]);
                return;
        case PS_LS_EV_PUSHED:
                if (ctx->json)
                        return;
                clear_line(ui);
                if (ctx->verbose)
                        fprintf(stderr, "[%.2f s] ", ev->seconds);
                ps_info(ctx, _("pushed %s (%s)"), ev->ref, ev->digest);
                return;
        case PS_LS_EV_SIGNED:
                if (ctx->json)
                        return;
                clear_line(ui);
                if (ctx->verbose)
                        fprintf(stderr, "[%.2f s] ", ev->seconds);
                ps_info(ctx, _("signed %s (%s): %s"), ev->ref, ev->digest, ev->path ? ev->path : "");
                return;
        case PS_LS_EV_SIGNED_BEFORE:
                if (ctx->json)
                        return;
                clear_line(ui);
                ps_info(ctx, _("%s (%s) was already signed with this key: %s"), ev->ref, ev->digest,
                        ev->path ? ev->path : "");
                return;
        }
}

static bool confirm(void *ud, const char *archive_platform, const char *host_platform)
{
        struct ui *ui = ud;
        clear_line(ui);
        ps_err(ui->ctx, _("the current platform %s does not match the archive's platform %s"),
               host_platform ? host_platform : "?", archive_platform);
        if (ui->yes)
                return true;
        fprintf(stderr, _("Continue (y/N)? "));
        fflush(stderr);
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, stdin);
        if (n <= 0)
                return false;
        if (line[n - 1] == '\n')
                line[--n] = '\0';
        return strcmp(line, "y") == 0;
}

static const char *stage_name(ps_ls_stage s)
{
        switch (s) {
        case PS_LS_OK: return "ok";
        case PS_LS_USAGE: return "usage";
        case PS_LS_ARCHIVE: return "archive";
        case PS_LS_NO_ARCH: return "no-arch-directory";
        case PS_LS_NO_INDEX: return "no-index";
        case PS_LS_DECLINED: return "declined";
        case PS_LS_REGISTRY: return "registry";
        case PS_LS_SIGN: return "sign";
        }
        return "?";
}

static int exit_code(ps_ls_stage s)
{
        switch (s) {
        case PS_LS_OK: return EX_OK;
        case PS_LS_USAGE: return EX_USAGE;
        case PS_LS_ARCHIVE: return EX_ARCHIVE;
        case PS_LS_NO_ARCH: return EX_NO_ARCH_DIR;
        case PS_LS_NO_INDEX: return EX_NO_INDEX;
        case PS_LS_DECLINED: return EX_USAGE;
        case PS_LS_REGISTRY: return EX_PUSH;
        case PS_LS_SIGN: return EX_SIGN;
        }
        return EX_USAGE;
}

static json_t *result_json(const ps_loadsign_opts *o, const ps_loadsign_result *res, const char *errmsg)
{
        json_t *imgs = json_array();
        for (size_t i = 0; imgs && i < res->n_images; i++) {
                const ps_ls_image *im = &res->images[i];
                json_t *dests = json_array();
                for (size_t d = 0; dests && d < im->n_dests; d++) {
                        const ps_ls_dest *ds = &im->dests[d];
                        json_t *sigs = json_array();
                        for (size_t s = 0; sigs && s < ds->n_sigs; s++)
                                json_array_append_new(sigs, json_pack("{s:s,s:i,s:s?,s:b}", "digest", ds->sigs[s].digest,
                                                                      "index", (json_int_t)ds->sigs[s].index, "path",
                                                                      ds->sigs[s].path, "existing", ds->sigs[s].existed));
                        json_array_append_new(dests, json_pack("{s:s,s:b,s:s?,s:o}", "reference", ds->ref, "pushed",
                                                               ds->pushed, "store", ds->store, "signatures",
                                                               sigs ? sigs : json_null()));
                }
                json_array_append_new(imgs, json_pack("{s:s,s:s,s:s,s:I,s:o}", "name", im->ref_name, "digest",
                                                      im->digest, "mediaType", im->media_type, "manifests",
                                                      (json_int_t)im->n_manifests, "destinations",
                                                      dests ? dests : json_null()));
        }
        json_t *j = json_pack(
                "{s:s,s:s,s:s?,s:s?,s:s?,s:b,s:s,s:s,s:s?,s:o,"
                "s:{s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:I,s:{s:I,s:I},s:I,s:I,s:f,s:f}",
                "archive", o->archive, "arch", o->arch, "platform", res->archive_platform, "host_platform",
                o->host_platform, "key", res->key_fingerprint, "dry_run", o->dry_run, "status",
                res->stage == PS_LS_OK ? "ok" : "failed", "stage", stage_name(res->stage), "error", errmsg, "images",
                imgs ? imgs : json_null(), "blobs", "in_archive", (json_int_t)res->n_blobs, "streamed",
                (json_int_t)res->blobs_streamed, "spooled", (json_int_t)res->blobs_spooled, "uploaded",
                (json_int_t)res->blobs_uploaded, "existed", (json_int_t)res->blobs_existed, "mounted",
                (json_int_t)res->blobs_mounted, "bytes", "archive", (json_int_t)res->archive_bytes, "blobs",
                (json_int_t)res->blob_bytes, "sent", (json_int_t)res->bytes_sent, "manifests_pushed",
                (json_int_t)res->manifests_pushed, "signatures", "written", (json_int_t)res->signatures_written,
                "existing", (json_int_t)res->signatures_existing, "requests", (json_int_t)res->requests, "retries",
                (json_int_t)res->retries, "seconds_read", res->seconds_read, "seconds", res->seconds);
        return j;
}

static void summary(ps_ctx *ctx, const ps_loadsign_opts *o, const ps_loadsign_result *res)
{
        char a[32], b[32], c[32];
        human((double)res->archive_bytes, a, sizeof(a));
        human((double)res->blob_bytes, b, sizeof(b));
        human(res->seconds_read > 0 ? (double)res->blob_bytes / res->seconds_read : 0, c, sizeof(c));
        size_t ndest = 0;
        for (size_t i = 0; i < res->n_images; i++)
                ndest += res->images[i].n_dests;
        if (o->dry_run) {
                ps_info(ctx, _("%zu images (%zu references), %zu blobs checked: %s read, %s of blobs, %.1f s "
                               "(%s/s); nothing pushed or signed (--dry-run)"),
                        res->n_images, ndest, res->n_blobs, a, b, res->seconds, c);
                return;
        }
        ps_info(ctx, _("%zu images (%zu references): %zu manifests pushed, %zu signatures written, %zu already "
                       "there"),
                res->n_images, ndest, res->manifests_pushed, res->signatures_written, res->signatures_existing);
        char s[32];
        human((double)res->bytes_sent, s, sizeof(s));
        ps_info(ctx, _("%zu blobs (%s): %" PRIu64 " uploaded, %" PRIu64 " already in the registry, %" PRIu64
                       " mounted; %s sent; archive %s read in %.1f s (%s/s), %.1f s in all"),
                res->n_blobs, b, res->blobs_uploaded, res->blobs_existed, res->blobs_mounted, s, a,
                res->seconds_read, c, res->seconds);
}

PS_CMD(cmd_image_load_sign)
{
        enum { O_PASSFILE = 256, O_PROGRESS, O_NO_PROGRESS, O_NO_ALIAS, O_INSECURE, O_JSON, O_DRY_RUN };
        static const struct option opts[] = {
                { "passphrase-file", required_argument, NULL, O_PASSFILE },
                { "yes", no_argument, NULL, 'y' },
                { "no-legacy-alias", no_argument, NULL, O_NO_ALIAS },
                { "insecure", no_argument, NULL, O_INSECURE },
                { "progress", no_argument, NULL, O_PROGRESS },
                { "no-progress", no_argument, NULL, O_NO_PROGRESS },
                /* the global options, also accepted after the verb */
                { "json", no_argument, NULL, O_JSON },
                { "dry-run", no_argument, NULL, O_DRY_RUN },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        const char *passfile = NULL;
        int progress = -1;
        bool alias = true, insecure = false;
        struct ui ui = { .ctx = ctx };
        int o;
        while ((o = getopt_long(argc, argv, "+yh", opts, NULL)) != -1) {
                switch (o) {
                case O_PASSFILE: passfile = optarg; break;
                case 'y': ui.yes = true; break;
                case O_NO_ALIAS: alias = false; break;
                case O_INSECURE: insecure = true; break;
                case O_PROGRESS: progress = 1; break;
                case O_NO_PROGRESS: progress = 0; break;
                case O_JSON: ctx->json = true; break;
                case O_DRY_RUN: ctx->dry_run = true; break;
                case 'h': usage(stdout, argv[0]); return EX_OK;
                default: usage(stderr, argv[0]); return EX_USAGE;
                }
        }
        /* the original's order of checks (spec core §5.5) */
        int rc = check_maker(ctx);
        if (rc)
                return rc;
        int nargs = argc - optind;
        if (nargs < 3 || nargs > 4) {
                ps_err(ctx, _("expected 3 or 4 arguments, got %d"), nargs);
                usage(stderr, argv[0]);
                return EX_USAGE;
        }
        const char *archive = argv[optind], *arch = argv[optind + 1], *signer = argv[optind + 2];
        const char *ns = nargs == 4 ? argv[optind + 3] : NULL;
        ps_error err = PS_ERROR_INIT;
        int why = 0;
        if (ns && ps_ls_check_namespace(ns, true, &why, &err) < 0 && why == PS_LS_BAD_NO_PATH) {
                ps_fail(ctx, &err, EX_USAGE);
                usage(stderr, argv[0]);
                return EX_USAGE;
        }
        ps_error_clear(&err);
        struct stat st;
        if (stat(archive, &st) < 0 || !S_ISREG(st.st_mode)) {
                ps_err(ctx, _("archive %s: %s"), archive,
                       errno && stat(archive, &st) < 0 ? strerror(errno) : _("not a regular file"));
                usage(stderr, argv[0]);
                return EX_USAGE;
        }
        if (!ps_ls_arch_valid(arch)) {
                ps_err(ctx, _("unknown architecture \"%s\"; known: amd64 arm64 arm ppc64le 386"), arch);
                usage(stderr, argv[0]);
                return EX_ARCH;
        }
        const char *registry = ctx->conf.registry;
        if (ns ? ns[0] == '/' : !registry || !*registry) {
                ps_err(ctx, _("no registry name: set registry= in %s or give REGISTRY/PATH"),
                       ctx->conf.source ? ctx->conf.source : "podsec.conf");
                return EX_NO_REGISTRY;
        }
        if (ps_ls_check_namespace(ns ? ns : registry, ns != NULL, NULL, &err) < 0) {
                ps_fail(ctx, &err, EX_BAD_REGISTRY);
                usage(stderr, argv[0]);
                return EX_BAD_REGISTRY;
        }
        if (!signer[0]) {
                ps_err(ctx, _("no signer given"));
                return EX_USAGE;
        }

        _cleanup_free_ char *platform = NULL;
        bool from_env = false;
        if (ps_platform(ctx->root, getenv("U7S_PLATFORM"), &platform, &from_env, &err) < 0) {
                ps_error_wrap(&err, "cannot tell this host's platform (set U7S_PLATFORM)");
                return ps_fail(ctx, &err, EX_USAGE);
        }
        if (from_env && !ctx->json)
                ps_info(ctx, _("using the predefined U7S_PLATFORM=%s"), platform);

        _cleanup_free_ char *passphrase = NULL;
        if (passfile) {
                size_t len = 0;
                if (ps_read_file(passfile, 64 * 1024, &passphrase, &len, &err) < 0) {
                        ps_error_wrap(&err, "--passphrase-file");
                        return ps_fail(ctx, &err, EX_USAGE);
                }
                char *nl = strchr(passphrase, '\n');
                if (nl)
                        *nl = '\0';
                len = strlen(passphrase);
                if (len && passphrase[len - 1] == '\r')
                        passphrase[len - 1] = '\0';
        }

        /* where signatures are written: the caller's registries.d */
        bool is_root = geteuid() == 0;
        const char *home = getenv("HOME");
        if (home && !*home)
                home = NULL;
        _cleanup_(ps_regd_freep) ps_regd *regd = NULL;
        if (!ctx->dry_run && ps_regd_load(ctx->root, home, &regd, &err) < 0) {
                ps_error_wrap(&err, "reading registries.d");
                return ps_fail(ctx, &err, EX_SIGN);
        }
        _cleanup_free_ char *fallback = NULL;
        if (is_root) {
                const char *sd = ctx->conf.sigstore_dir ? ctx->conf.sigstore_dir : "/var/sigstore";
                if (asprintf(&fallback, "file://%s/sigstore/", sd) < 0) {
                        ps_err(ctx, _("out of memory"));
                        return EX_USAGE;
                }
        }

        ui.progress = progress < 0 ? isatty(STDERR_FILENO) : progress;
        ps_loadsign_opts lo = {
                .archive = archive,
                .arch = arch,
                .ns = ns,
                .registry = registry,
                .host_platform = platform,
                .legacy_alias = alias,
                .dry_run = ctx->dry_run,
                .signer = signer,
                .passphrase = passphrase,
                .regd = regd,
                .home = is_root ? NULL : home,
                .fallback_store = fallback,
                .site_lookaside = fallback ? ctx->conf.sigstore_url : NULL,
                .root = ctx->root,
                .confirm_platform = confirm,
                .event = on_event,
                .ud = &ui,
        };
        if (ns) {
                /* the site registry is plain http (as set up by podsec); others only on request */
                size_t rl = strlen(registry);
                lo.insecure = insecure || (strncmp(ns, registry, rl) == 0 && ns[rl] == '/');
        } else {
                lo.insecure = true;
        }
        ps_loadsign_result res;
        int r = ps_loadsign(&lo, &res, &err);
        clear_line(&ui);
        rc = r < 0 ? exit_code(res.stage) : EX_OK;
        if (r < 0) {
                if (res.stage == PS_LS_REGISTRY)
                        ps_error_wrap(&err, "pushing to the registry failed (nothing was signed for what did "
                                            "not reach it)");
                ps_err(ctx, "%s", ps_error_msg(&err));
        }
        if (ctx->json) {
                json_t *j = result_json(&lo, &res, r < 0 ? ps_error_msg(&err) : NULL);
                char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
                if (s)
                        printf("%s\n", s);
                else
                        ps_err(ctx, _("cannot build the JSON summary"));
                free(s);
                json_decref(j);
        } else if (r >= 0 || res.n_images) {
                summary(ctx, &lo, &res);
        }
        ps_error_clear(&err);
        ps_loadsign_result_clear(&res);
        return rc;
}
