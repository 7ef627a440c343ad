/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec: one binary, command groups, the original command names as
 * symlinks (argv[0] mapping), global options. */
#include "config.h"
#include "cmd/cmd.h"
#include "cleanup.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { F_IMPL = 1, F_NEEDS_ROOT = 2 };

typedef struct command {
        const char *group;     /* NULL for a top-level verb such as "platform" */
        const char *verb;
        ps_cmd_fn fn;
        const char *original;  /* the original's command name, installed as a symlink */
        const char *summary;
} command;

static const command commands[] = {
        { "policy", "init", cmd_policy_init, "podsec-create-policy",
          "set the trust policy, registries.d, registries.conf, hosts and /var/sigstore" },
        { "policy", "show", cmd_policy_show, NULL,
          "show the effective policy of root or a user, or which scope applies to an image" },
        { "policy", "sync", cmd_policy_sync, NULL,
          "client node: refresh keys and policy from the signature server" },
        { "policy", "sign", cmd_policy_sign, NULL,
          "registry node: sign the published policy and keys for client nodes" },
        { "user", "add-imagemaker", cmd_user_add_imagemaker, "podsec-create-imagemakeruser",
          "create image makers: account, signing key, policy scope" },
        { "user", "add-podman", cmd_user_add_podman, "podsec-create-podmanusers",
          "create image users whose container configuration is locked" },
        { "services", "setup", cmd_services_setup, "podsec-create-services",
          "configure docker-registry and the signature server (nginx), install units" },
        { "services", "run", cmd_services_run, NULL,
          "run the registry and the signature server as supervised children" },
        { "services", "status", cmd_services_status, NULL,
          "probe the registry and the signature server and say what is wrong" },
        { "check", "policy", cmd_check_policy, "podsec-inotify-check-policy",
          "plugin: audit the container configuration of root, u7s-admin and the users" },
        { "check", "images", cmd_check_images, "podsec-inotify-check-images",
          "plugin: verify the images stored by root, u7s-admin and the users against their policy" },
        { "check", "containers", cmd_check_containers, "podsec-inotify-check-containers",
          "watch the layers of every container storage and log changes inside them" },
        { "check", "kubeapi", cmd_check_kubeapi, "podsec-inotify-check-kubeapi",
          "report denied requests of the kube-apiserver audit log; mail them (-m)" },
        { "check", "vuln", cmd_check_vuln, "podsec-inotify-check-vuln",
          "scan the images of every local store with trivy (Nagios plugin)" },
        { "check", "build-image", cmd_check_build_image, "podsec-inotify-build-invulnerable-image",
          "build an image, then remove it again if trivy finds HIGH or CRITICAL CVEs" },
        { "image", "verify", cmd_image_verify, NULL,
          "would podman accept this image under root's or a user's policy? which signature satisfies it" },
        { "image", "sign", cmd_image_sign, NULL,
          "write a standalone signature of a manifest (like skopeo standalone-sign)" },
        { "image", "save", cmd_image_save, "podsec-save-oci",
          "copy images from a registry into per-architecture OCI archives (ARCH.tar.xz)" },
        { "image", "load-sign", cmd_image_load_sign, "podsec-load-sign-oci",
          "push the images of an OCI archive to the registry and sign them" },
        { NULL, "platform", cmd_platform, "podsec-get-platform",
          "print the ALT platform name (c10f, p10, p11, sisyphus)" },
};

/* Further original names of a command (the table holds one per entry). */
static const struct alias {
        const char *original, *group, *verb;
} aliases[] = {
        { "podsec-k8s-save-oci", "image", "save" },
};

void ps_err(ps_ctx *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "%s: ", ctx && ctx->prog ? ctx->prog : "podsec");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

void ps_info(ps_ctx *ctx, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

int ps_fail(ps_ctx *ctx, ps_error *err, int code)
{
        ps_err(ctx, "%s", ps_error_msg(err));
        ps_error_clear(err);
        return code;
}

bool ps_wants_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--"))
                        return false;
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                        return true;
        }
        return false;
}

static void usage(FILE *f)
{
        fprintf(f, _("Usage: podsec [GLOBAL OPTIONS] GROUP VERB [ARGS]\n"
                     "       podsec [GLOBAL OPTIONS] GROUP --help\n\n"
                     "Global options:\n"
                     "  --root DIR      work on the root tree DIR instead of / (like a chroot for\n"
                     "                  every file podsec reads or writes; never changes the kernel)\n"
                     "  --config FILE   site settings file (default ROOT/etc/podsec/podsec.conf)\n"
                     "  --json          machine-readable output\n"
                     "  --dry-run       say what would change, change nothing\n"
                     "  -v, --verbose   more detail (repeat for more)\n"
                     "  -h, --help      this help\n"
                     "  --version       print the version\n\n"
                     "Commands:\n"));
        for (size_t i = 0; i < PS_ARRAY_SIZE(commands); i++) {
                char name[64];
                snprintf(name, sizeof name, "%s%s%s", commands[i].group ? commands[i].group : "",
                         commands[i].group ? " " : "", commands[i].verb);
                fprintf(f, "  %-22s %s\n", name, _(commands[i].summary));
        }
        fprintf(f, _("\nOriginal command names (symlinks to podsec):\n"));
        for (size_t i = 0; i < PS_ARRAY_SIZE(commands); i++)
                if (commands[i].original)
                        fprintf(f, "  %-40s = podsec %s%s%s\n", commands[i].original,
                                commands[i].group ? commands[i].group : "", commands[i].group ? " " : "",
                                commands[i].verb);
        for (size_t i = 0; i < PS_ARRAY_SIZE(aliases); i++)
                fprintf(f, "  %-40s = podsec %s %s\n", aliases[i].original, aliases[i].group, aliases[i].verb);
        fprintf(f, _("\nRun 'podsec GROUP VERB --help' for a command's options.\n"));
}

static void group_usage(FILE *f, const char *group)
{
        fprintf(f, _("Usage: podsec %s VERB [ARGS]\n\nVerbs:\n"), group);
        for (size_t i = 0; i < PS_ARRAY_SIZE(commands); i++)
                if (commands[i].group && !strcmp(commands[i].group, group))
                        fprintf(f, "  %-12s %s\n", commands[i].verb, _(commands[i].summary));
        fprintf(f, _("\nRun 'podsec %s VERB --help' for a verb's options.\n"), group);
}

static bool is_group(const char *name)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(commands); i++)
                if (commands[i].group && !strcmp(commands[i].group, name))
                        return true;
        return false;
}

static const command *find(const char *group, const char *verb)
{
        for (size_t i = 0; i < PS_ARRAY_SIZE(commands); i++) {
                const command *c = &commands[i];
                if (group ? (c->group && !strcmp(c->group, group)) : !c->group)
                        if (!strcmp(c->verb, verb))
                                return c;
        }
        return NULL;
}

static int check_stdout(void)
{
        /* like git: a full disk or closed pipe must not pass as success */
        if (fflush(stdout) != 0 || ferror(stdout)) {
                if (errno == EPIPE)
                        return 0;
                fprintf(stderr, "podsec: write error on standard output: %s\n", strerror(errno));
                return -1;
        }
        return 0;
}

/* The exit status for "could not even start": the monitoring plugins say
 * UNKNOWN (3), image verify "could not check" (2), everything else 1. */
static int setup_failure_exit(const command *c)
{
        if (c->group && !strcmp(c->group, "check"))
                return 3;
        if (c->group && !strcmp(c->group, "image") && !strcmp(c->verb, "verify"))
                return 2;
        return 1;
}

static int run(ps_ctx *ctx, const command *c, int argc, char **argv)
{
        ps_error err = PS_ERROR_INIT;
        if (!ps_wants_help(argc, argv) && ps_conf_load(&ctx->conf, ctx->root, ctx->config, &err) < 0)
                return ps_fail(ctx, &err, setup_failure_exit(c));
        optind = 0;
        opterr = 1;
        int rc = c->fn(ctx, argc, argv);
        if (check_stdout() < 0 && rc == 0)
                rc = setup_failure_exit(c);
        return rc;
}

int main(int argc, char **argv)
{
        setlocale(LC_ALL, "");
        bindtextdomain("podsec", PODSEC_LOCALEDIR);
        textdomain("podsec");

        ps_ctx ctx = { .prog = "podsec" };
        int rc;

        /* Invoked under an original name? */
        const char *base = strrchr(argv[0], '/');
        base = base ? base + 1 : argv[0];
        const command *orig = NULL;
        for (size_t i = 0; i < PS_ARRAY_SIZE(commands) && !orig; i++)
                if (commands[i].original && !strcmp(commands[i].original, base))
                        orig = &commands[i];
        for (size_t i = 0; i < PS_ARRAY_SIZE(aliases) && !orig; i++)
                if (!strcmp(aliases[i].original, base))
                        orig = find(aliases[i].group, aliases[i].verb);
        if (orig) {
                ctx.prog = base;
                const char *r = getenv("PODSEC_ROOT");
                if (r && *r)
                        ctx.root = r;
                ps_log_open(base, LOG_USER, PS_LOG_AUTO);
                rc = run(&ctx, orig, argc, argv);
                ps_conf_free(&ctx.conf);
                return rc;
        }

        static const struct option opts[] = {
                { "root", required_argument, NULL, 'R' },
                { "config", required_argument, NULL, 'C' },
                { "json", no_argument, NULL, 'J' },
                { "dry-run", no_argument, NULL, 'n' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { 0 },
        };
        int o;
        /* '+' : stop at the first non-option (the group) */
        while ((o = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (o) {
                case 'R': {
                        struct stat st;
                        if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode)) {
                                fprintf(stderr, _("podsec: --root %s: not a directory\n"), optarg);
                                return 2;
                        }
                        ctx.root = optarg;
                        break;
                }
                case 'C': ctx.config = optarg; break;
                case 'J': ctx.json = true; break;
                case 'n': ctx.dry_run = true; break;
                case 'v': ctx.verbose++; break;
                case 'h': usage(stdout); return check_stdout() < 0 ? 1 : 0;
                case 'V': printf("podsec %s\n", PODSEC_VERSION); return check_stdout() < 0 ? 1 : 0;
                default: usage(stderr); return 2;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        const char *first = argv[optind];
        const command *c = NULL;
        int skip;
        if (is_group(first)) {
                if (optind + 1 >= argc || !strcmp(argv[optind + 1], "-h") || !strcmp(argv[optind + 1], "--help")) {
                        bool asked = optind + 1 < argc;
                        group_usage(asked ? stdout : stderr, first);
                        return asked ? 0 : 2;
                }
                c = find(first, argv[optind + 1]);
                if (!c) {
                        fprintf(stderr, _("podsec: unknown command '%s %s'\n\n"), first, argv[optind + 1]);
                        group_usage(stderr, first);
                        return 2;
                }
                skip = optind + 1;
        } else {
                c = find(NULL, first);
                if (!c) {
                        fprintf(stderr, _("podsec: unknown command '%s'\n\n"), first);
                        usage(stderr);
                        return 2;
                }
                skip = optind;
        }
        ps_log_open("podsec", LOG_USER, PS_LOG_AUTO);
        /* handler sees argv[0] = "podsec GROUP VERB" and its own arguments */
        char name[96];
        snprintf(name, sizeof name, "podsec%s%s %s", c->group ? " " : "", c->group ? c->group : "", c->verb);
        argv[skip] = name;
        rc = run(&ctx, c, argc - skip, argv + skip);
        ps_conf_free(&ctx.conf);
        return rc;
}
