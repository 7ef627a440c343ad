/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec services setup | run | status (= podsec-create-services) */
#include "cmd.h"
#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "process.h"
#include "services.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REGISTRY_CONF "/etc/podsec/registry.yml"
#define SIGSTORE_CONF "/etc/podsec/sigstore-nginx.conf"
#define UNIT_DIR "/etc/systemd/system"

static bool host_root(const ps_ctx *ctx)
{
        return !ctx->root || !*ctx->root || !strcmp(ctx->root, "/");
}

/* install one generated file; reports created/changed/unchanged */
static int install(ps_ctx *ctx, const char *path, const char *text, mode_t mode, json_t *report, ps_error *err)
{
        _cleanup_free_ char *full = ps_root_path(ctx->root, path);
        if (!full)
                return ps_error_set(err, ENOMEM, "out of memory");
        size_t len = strlen(text);
        const char *action;
        if (ps_same_content(full, text, len))
                action = "unchanged";
        else
                action = ps_file_exists(full) ? "changed" : "created";
        if (strcmp(action, "unchanged") && !ctx->dry_run) {
                _cleanup_free_ char *dir = strdup(full);
                if (!dir)
                        return ps_error_set(err, ENOMEM, "out of memory");
                *strrchr(dir, '/') = '\0';
                int r = ps_mkdir_p(dir, 0755, err);
                if (r < 0)
                        return r;
                r = ps_write_atomic(full, text, len, mode, err);
                if (r < 0)
                        return r;
        }
        json_array_append_new(report, json_pack("{s:s,s:s}", "path", path, "action", action));
        if (!ctx->json)
                ps_info(ctx, "%-9s %s", action, path);
        return 0;
}

/* setup and run need the store that 'policy init' makes */
static bool have_sigstore_dir(ps_ctx *ctx)
{
        _cleanup_free_ char *sig = ps_root_path(ctx->root, ctx->conf.sigstore_dir);
        struct stat st;
        if (!sig || stat(sig, &st) < 0 || !S_ISDIR(st.st_mode)) {
                ps_err(ctx, _("%s does not exist: run 'podsec policy init IP' on this node first"),
                       ctx->conf.sigstore_dir);
                return false;
        }
        return true;
}

static int cmd_setup(ps_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (o == 'h') {
                        printf(_("Usage: %s\n\n"
                                 "Configure the registry node's services (= podsec-create-services):\n"
                                 "  %s  docker-registry on registry_listen, storage in registry_storage\n"
                                 "  %s  a dedicated nginx serving sigstore_dir read-only on\n"
                                 "      sigstore_listen, with JSON directory listings\n"
                                 "  %s/podsec-registry.service, podsec-sigstore.service\n"
                                 "When systemd runs (and no --root is given) the units are enabled and\n"
                                 "started; otherwise start the services with 'podsec services run'.\n"
                                 "Unlike the original, the distribution's nginx site and registry\n"
                                 "configuration are not edited with sed.  Idempotent.\n\n"
                                 "Exit status: 0 done, 1 error, 2 usage.\n"),
                               argv[0], REGISTRY_CONF, SIGSTORE_CONF, UNIT_DIR);
                        return 0;
                }
                return 2;
        }
        if (optind != argc) {
                ps_err(ctx, _("services setup takes no arguments"));
                return 2;
        }
        ps_error err = PS_ERROR_INIT;
        if (!have_sigstore_dir(ctx))
                return 1;
        ps_service_paths p = { 0 };
        _cleanup_free_ char *reg = ps_registry_config(&ctx->conf, &p);
        _cleanup_free_ char *ngx = ps_sigstore_nginx_config(&ctx->conf, &p);
        _cleanup_free_ char *u1 = ps_registry_unit(REGISTRY_CONF);
        _cleanup_free_ char *u2 = ps_sigstore_unit(SIGSTORE_CONF);
        if (!reg || !ngx || !u1 || !u2) {
                ps_err(ctx, "out of memory");
                return 1;
        }
        json_t *report = json_array();
        int r = install(ctx, REGISTRY_CONF, reg, 0644, report, &err);
        if (r >= 0)
                r = install(ctx, SIGSTORE_CONF, ngx, 0644, report, &err);
        if (r >= 0)
                r = install(ctx, UNIT_DIR "/podsec-registry.service", u1, 0644, report, &err);
        if (r >= 0)
                r = install(ctx, UNIT_DIR "/podsec-sigstore.service", u2, 0644, report, &err);
        if (r >= 0 && !ctx->dry_run) {
                _cleanup_free_ char *storage = ps_root_path(ctx->root, ctx->conf.registry_storage);
                r = storage ? ps_mkdir_p(storage, 0700, &err) : ps_error_set(&err, ENOMEM, "out of memory");
        }
        if (r < 0) {
                json_decref(report);
                return ps_fail(ctx, &err, 1);
        }
        bool systemd = host_root(ctx) && access("/run/systemd/system", F_OK) == 0;
        if (systemd && !ctx->dry_run) {
                const char *reload[] = { "systemctl", "daemon-reload", NULL };
                const char *enable[] = { "systemctl", "enable", "--now", "podsec-registry.service",
                                         "podsec-sigstore.service", NULL };
                int st1 = 0, st2 = 0;
                if (ps_spawn(reload, NULL, &st1, &err) < 0 || ps_spawn(enable, NULL, &st2, &err) < 0 || st1 || st2) {
                        json_decref(report);
                        if (err.msg)
                                return ps_fail(ctx, &err, 1);
                        ps_err(ctx, _("systemctl failed (exit %d, %d)"), st1, st2);
                        return 1;
                }
        }
        if (ctx->json) {
                json_t *j = json_pack("{s:o,s:b}", "files", report, "systemd", systemd);
                char *s = json_dumps(j, JSON_COMPACT);
                printf("%s\n", s ? s : "{}");
                free(s);
                json_decref(j);
        } else {
                json_decref(report);
                if (!systemd)
                        ps_info(ctx, _("systemd is not running%s: start the services with 'podsec%s%s services run'"),
                                host_root(ctx) ? "" : " for this root", host_root(ctx) ? "" : " --root ",
                                host_root(ctx) ? "" : ctx->root);
        }
        return 0;
}

/* ---- services run: a small supervisor ------------------------------- */

typedef struct child {
        const char *name;
        const char *argv[8];
        pid_t pid;
        int restarts;
        time_t started;
        time_t next_start;
        unsigned backoff;
} child;

static pid_t start_child(child *c)
{
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() == 1)
                        _exit(127);
                setpgid(0, 0);
                _cleanup_free_ char *prog = ps_which(c->argv[0]);
                const char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                                       NULL };
                if (prog)
                        execve(prog, (char *const *)c->argv, (char *const *)envp);
                _exit(127);
        }
        c->pid = pid;
        c->started = time(NULL);
        return pid;
}

static int cmd_run(ps_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (o == 'h') {
                        printf(_("Usage: %s\n\n"
                                 "Run docker-registry and the signature server's nginx as supervised\n"
                                 "foreground children, for hosts and containers without systemd (and\n"
                                 "for the demo and tests).  A child that exits is restarted with a\n"
                                 "growing delay (1 s up to 30 s); SIGTERM or SIGINT stops both and\n"
                                 "exits 0.  With --root, storage, document root and runtime files are\n"
                                 "taken under the root (runtime files in ROOT/run/podsec).\n"
                                 "Events go to the journal or syslog when present, else stderr.\n"),
                               argv[0]);
                        return 0;
                }
                return 2;
        }
        if (optind != argc) {
                ps_err(ctx, _("services run takes no arguments"));
                return 2;
        }
        ps_error err = PS_ERROR_INIT;
        if (!have_sigstore_dir(ctx))
                return 1;
        ps_service_paths p = { .prefix = ctx->root, .rundir = "/run/podsec/sigstore",
                               .logdir = "/var/log/podsec", .foreground = true };
        _cleanup_free_ char *rundir = ps_root_path(ctx->root, "/run/podsec/sigstore");
        _cleanup_free_ char *logdir = ps_root_path(ctx->root, "/var/log/podsec");
        _cleanup_free_ char *storage = ps_root_path(ctx->root, ctx->conf.registry_storage);
        _cleanup_free_ char *regconf = ps_root_path(ctx->root, "/run/podsec/registry.yml");
        _cleanup_free_ char *ngxconf = ps_root_path(ctx->root, "/run/podsec/sigstore-nginx.conf");
        _cleanup_free_ char *reg = ps_registry_config(&ctx->conf, &p);
        _cleanup_free_ char *ngx = ps_sigstore_nginx_config(&ctx->conf, &p);
        if (!rundir || !logdir || !storage || !regconf || !ngxconf || !reg || !ngx) {
                ps_err(ctx, "out of memory");
                return 1;
        }
        if (ps_mkdir_p(rundir, 0755, &err) < 0 || ps_mkdir_p(logdir, 0755, &err) < 0 ||
            ps_mkdir_p(storage, 0700, &err) < 0 || ps_write_atomic(regconf, reg, strlen(reg), 0644, &err) < 0 ||
            ps_write_atomic(ngxconf, ngx, strlen(ngx), 0644, &err) < 0)
                return ps_fail(ctx, &err, 1);
        /* check nginx's configuration first: a mistake is reported once, not
         * restarted forever */
        const char *test[] = { "nginx", "-t", "-q", "-c", ngxconf, NULL };
        _cleanup_free_ char *terr = NULL;
        ps_spawn_opts to = { .errout = &terr };
        int tst = 0;
        if (ps_spawn(test, &to, &tst, &err) < 0)
                return ps_fail(ctx, &err, 1);
        if (tst != 0) {
                ps_err(ctx, _("nginx refuses %s: %s"), ngxconf, terr ? terr : "");
                return 1;
        }

        child kids[2] = {
                { .name = "registry", .argv = { "docker-registry", "serve", regconf, NULL } },
                { .name = "sigstore", .argv = { "nginx", "-c", ngxconf, NULL } },
        };
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        sigprocmask(SIG_BLOCK, &set, NULL);
        for (size_t i = 0; i < 2; i++) {
                if (start_child(&kids[i]) < 0) {
                        ps_err(ctx, _("cannot start %s: %s"), kids[i].name, strerror(errno));
                        return 1;
                }
                ps_log(LOG_INFO, "%s started (pid %d)", kids[i].name, (int)kids[i].pid);
        }
        ps_info(ctx, _("registry on http://%s/ (pid %d), signature server on http://%s/ (pid %d); SIGTERM stops both"),
                ctx->conf.registry_listen, (int)kids[0].pid, ctx->conf.sigstore_listen, (int)kids[1].pid);
        fflush(stdout);

        int sig_got = 0;
        while (!sig_got) {
                struct timespec tmo = { 1, 0 };
                siginfo_t si;
                int s = sigtimedwait(&set, &si, &tmo);
                if (s == SIGTERM || s == SIGINT || s == SIGHUP) {
                        sig_got = s;
                        break;
                }
                /* reap and schedule restarts */
                int ws;
                pid_t pid;
                while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
                        for (size_t i = 0; i < 2; i++) {
                                if (kids[i].pid != pid)
                                        continue;
                                kids[i].pid = 0;
                                time_t now = time(NULL);
                                if (now - kids[i].started > 60)
                                        kids[i].backoff = 0;
                                kids[i].backoff = kids[i].backoff ? kids[i].backoff * 2 : 1;
                                if (kids[i].backoff > 30)
                                        kids[i].backoff = 30;
                                kids[i].next_start = now + kids[i].backoff;
                                ps_log(LOG_WARNING, "%s (pid %d) %s %d; restarting in %u s", kids[i].name, (int)pid,
                                       WIFEXITED(ws) ? "exited with status" : "was killed by signal",
                                       WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws), kids[i].backoff);
                        }
                }
                time_t now = time(NULL);
                for (size_t i = 0; i < 2; i++) {
                        if (kids[i].pid == 0 && now >= kids[i].next_start) {
                                if (start_child(&kids[i]) > 0) {
                                        kids[i].restarts++;
                                        ps_log(LOG_NOTICE, "%s restarted (pid %d, restart %d)", kids[i].name,
                                               (int)kids[i].pid, kids[i].restarts);
                                }
                        }
                }
        }
        ps_log(LOG_INFO, "stopping on signal %d", sig_got);
        for (size_t i = 0; i < 2; i++)
                if (kids[i].pid > 0)
                        kill(kids[i].pid, i == 1 ? SIGQUIT : SIGTERM);
        time_t deadline = time(NULL) + 10;
        for (;;) {
                bool alive = false;
                int ws;
                pid_t pid;
                while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
                        for (size_t i = 0; i < 2; i++)
                                if (kids[i].pid == pid)
                                        kids[i].pid = 0;
                for (size_t i = 0; i < 2; i++)
                        alive = alive || kids[i].pid > 0;
                if (!alive)
                        break;
                if (time(NULL) >= deadline) {
                        for (size_t i = 0; i < 2; i++)
                                if (kids[i].pid > 0)
                                        kill(-kids[i].pid, SIGKILL), kill(kids[i].pid, SIGKILL);
                }
                usleep(50 * 1000);
        }
        /* nginx workers are in the master's process group */
        ps_info(ctx, _("services stopped"));
        return 0;
}

/* ---- services status ------------------------------------------------ */

static int cmd_status(ps_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (o == 'h') {
                        printf(_("Usage: %s\n\n"
                                 "Probe the registry (GET http://REGISTRY/v2/), the key list (keys_url,\n"
                                 "a JSON directory listing) and the lookaside base (sigstore_url), and\n"
                                 "say what is wrong.  Exit status: 0 all answer, 1 something is wrong.\n"),
                               argv[0]);
                        return 0;
                }
                return 2;
        }
        if (optind != argc) {
                ps_err(ctx, _("services status takes no arguments"));
                return 2;
        }
        _cleanup_free_ char *regurl = NULL;
        if (asprintf(&regurl, "http://%s/v2/", ctx->conf.registry) < 0)
                return 1;
        struct {
                const char *what;
                const char *url;
                bool want_json_array;
        } probes[] = {
                { "registry", regurl, false },
                { "keys", ctx->conf.keys_url, true },
                { "sigstore", ctx->conf.sigstore_url, true },
        };
        int bad = 0;
        json_t *out = json_array();
        for (size_t i = 0; i < PS_ARRAY_SIZE(probes); i++) {
                ps_probe pr;
                if (ps_http_probe(probes[i].url, 3000, &pr) < 0) {
                        json_decref(out);
                        return 1;
                }
                const char *problem = NULL;
                char buf[256];
                if (pr.error) {
                        snprintf(buf, sizeof buf, "no answer: %s", pr.error);
                        problem = buf;
                } else if (pr.status != 200) {
                        snprintf(buf, sizeof buf, "HTTP status %ld", pr.status);
                        problem = buf;
                } else if (probes[i].want_json_array) {
                        json_t *j = json_loads(pr.body, 0, NULL);
                        if (!json_is_array(j))
                                problem = "the answer is not a JSON directory listing (autoindex_format json?)";
                        json_decref(j);
                }
                if (problem)
                        bad++;
                json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:s?}", "service", probes[i].what, "url",
                                                     probes[i].url, "status", (json_int_t)pr.status, "problem",
                                                     problem));
                if (!ctx->json)
                        printf("%-9s %-45s %s%s\n", probes[i].what, probes[i].url, problem ? "FAIL: " : "OK",
                               problem ? problem : "");
                ps_probe_free(&pr);
        }
        if (ctx->json) {
                char *s = json_dumps(out, JSON_COMPACT);
                printf("%s\n", s ? s : "[]");
                free(s);
        }
        json_decref(out);
        return bad ? 1 : 0;
}

PS_CMD(cmd_services_setup) { return cmd_setup(ctx, argc, argv); }
PS_CMD(cmd_services_run) { return cmd_run(ctx, argc, argv); }
PS_CMD(cmd_services_status) { return cmd_status(ctx, argc, argv); }
