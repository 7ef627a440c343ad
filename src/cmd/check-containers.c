/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec check containers (= podsec-inotify-check-containers): watch the
 * layers of every container storage and log what changes inside them. */
#include "cmd.h"
#include "cleanup.h"
#include "log.h"
#include "nagios.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

struct state {
        ps_ctx *ctx;
        bool json;
        /* rate limit: a token bucket of RATE messages a second */
        double tokens;
        double rate;
        struct timespec last;
        unsigned long suppressed;
        time_t suppressed_since;
        unsigned long events;
};

static volatile sig_atomic_t stop_sig;
static void on_signal(int s) { stop_sig = s; }

static bool take_token(struct state *s)
{
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double dt = (double)(now.tv_sec - s->last.tv_sec) + (double)(now.tv_nsec - s->last.tv_nsec) / 1e9;
        s->last = now;
        s->tokens += dt * s->rate;
        if (s->tokens > s->rate * 5)
                s->tokens = s->rate * 5;   /* bursts of up to 5 s worth */
        if (s->tokens >= 1) {
                s->tokens -= 1;
                return true;
        }
        return false;
}

static void flush_suppressed(struct state *s, bool force)
{
        if (!s->suppressed)
                return;
        time_t now = time(NULL);
        if (!force && now - s->suppressed_since < 1)
                return;
        ps_log(LOG_WARNING, "Warning: %lu events were not logged in the last %ld s (more than %.0f a second)",
               s->suppressed, (long)(now - s->suppressed_since) + 1, s->rate);
        s->suppressed = 0;
}

static void json_line(json_t *j)
{
        char *t = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (t) {
                printf("%s\n", t);
                fflush(stdout);
        }
        free(t);
        json_decref(j);
}

static int on_event(void *ud, const ps_watch_event *ev)
{
        struct state *s = ud;
        if (ev->kind != PS_WATCH_FILE) {
                int prio = ev->kind == PS_WATCH_OVERFLOW || ev->kind == PS_WATCH_LIMIT ? LOG_CRIT : LOG_INFO;
                const char *prefix = prio == LOG_CRIT ? "Critical" : "Debug";
                ps_log(prio, "%s: %s", prefix, ev->message);
                if (s->json) {
                        static const char *kinds[] = { "file", "overflow", "rescanned", "new-layer", "new-storage",
                                                       "limit" };
                        json_line(json_pack("{s:s,s:s}", "kind", kinds[ev->kind], "message", ev->message));
                }
                return 0;
        }
        s->events++;
        /* severity by the in-container directory (spec monitor §5.5) */
        const char *prefix = "Critical", *qual = "";
        int prio = LOG_CRIT;
        if (!strncmp(ev->dir, "/home/", 6) || !strncmp(ev->dir, "/root/", 6)) {
                prefix = "Warning";
                prio = LOG_NOTICE;
                qual = "in home directory ";
        } else if (!strncmp(ev->dir, "/etc/", 5)) {
                prefix = "Warning";
                prio = LOG_NOTICE;
                qual = "in configuration directory ";
        }
        if (s->json) {
                json_t *name = json_stringn_nocheck(ev->name, ev->name_len);
                json_line(json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s}", "kind", "file", "level", prefix, "storage",
                                    ev->storage, "layer", ev->layer, "name", name, "dir", ev->dir, "events",
                                    ev->events));
        }
        if (!take_token(s)) {
                if (!s->suppressed)
                        s->suppressed_since = time(NULL);
                s->suppressed++;
                return 0;
        }
        flush_suppressed(s, false);
        _cleanup_free_ char *esc = ps_watch_escape(ev->name, ev->name_len);
        _cleanup_free_ char *edir = ps_watch_escape(ev->dir, strlen(ev->dir));
        if (!esc || !edir)
                return -ENOMEM;
        ps_log(prio, "%s: An event %s occurred in the container %s %son the file %s%s", prefix, ev->events,
               ev->layer, qual, edir, esc);
        return 0;
}

PS_CMD(cmd_check_containers)
{
        static const struct option opts[] = {
                { "foreground", no_argument, NULL, 'f' },
                { "setup-only", no_argument, NULL, 'S' },
                { "rate", required_argument, NULL, 'r' },
                { "backend", required_argument, NULL, 'b' },
                { "help", no_argument, NULL, 'H' },
                { 0 },
        };
        bool foreground = false, setup_only = false;
        double rate = 200;
        ps_watch_backend want = PS_WATCH_AUTO;
        int o;
        while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (o) {
                case 'f': foreground = true; break;
                case 'S': setup_only = true; break;
                case 'r': {
                        char *end = NULL;
                        errno = 0;
                        rate = strtod(optarg, &end);
                        if (errno || !end || *end || rate < 1 || rate > 1e6) {
                                ps_err(ctx, _("--rate: expected a number of messages a second (1 to 1000000)"));
                                return 3;
                        }
                        break;
                }
                case 'b':
                        if (!strcmp(optarg, "auto"))
                                want = PS_WATCH_AUTO;
                        else if (!strcmp(optarg, "fanotify"))
                                want = PS_WATCH_FANOTIFY;
                        else if (!strcmp(optarg, "inotify"))
                                want = PS_WATCH_INOTIFY;
                        else {
                                ps_err(ctx, _("--backend: expected auto, fanotify or inotify, not '%s'"), optarg);
                                return 3;
                        }
                        break;
                case 'H': {
                        _cleanup_free_ char *why = NULL;
                        ps_watch_backend now = ps_watch_probe(ctx->root, &why);
                        printf(_("Usage: %s [--foreground] [--backend auto|fanotify|inotify] [--rate N]\n"
                                 "       [--setup-only]\n\n"
                                 "Watch the overlay layer directories (diff trees) of every container\n"
                                 "storage of the root: root's (/var/lib/containers/storage), each user's\n"
                                 "from /etc/passwd (~/.local/share/containers/storage) and u7s-admin's,\n"
                                 "picking up new users, storages, layers and directories as they appear,\n"
                                 "and log each change (create, delete, modify, move) with the original's\n"
                                 "tag %s: Warning (priority 5) in /home, /root and /etc of a\n"
                                 "layer, Critical (priority 2) elsewhere.  The in-layer /var, /proc, /tmp\n"
                                 "and /run are not watched.  File names are data: they are logged with\n"
                                 "control characters escaped (\\n, \\t, \\xHH) and never executed.\n\n"
                                 "Backends (--backend, default auto):\n"
                                 "  fanotify  one filesystem mark per filesystem holding a storage: set up\n"
                                 "            at once whatever the number of layers; each event's directory\n"
                                 "            is found from its file handle (cached) and events outside the\n"
                                 "            layers are dropped.  Needs root with CAP_SYS_ADMIN and\n"
                                 "            CAP_DAC_READ_SEARCH outside any user namespace, Linux >= 5.9\n"
                                 "            and filesystems that report file handles.  An event in a\n"
                                 "            directory deleted before the event is read cannot be placed\n"
                                 "            (counted, and reported when the watcher stops).\n"
                                 "  inotify   one watch per directory: works everywhere; setting up walks\n"
                                 "            every layer directory; fs.inotify.max_user_watches too small\n"
                                 "            is logged as Critical (the limit is not raised behind your\n"
                                 "            back, unlike the original).\n"
                                 "  auto      fanotify when it can be used, inotify otherwise.\n"
                                 "In use on this host for this root now: %s%s%s%s.\n"
                                 "A kernel queue overflow is logged as Critical and followed by a rescan.\n"
                                 "The backend in use is logged when the watcher starts and printed by\n"
                                 "--setup-only.\n\n"
                                 "  --foreground  do not detach (for systemd and tests); without it the\n"
                                 "                watcher detaches from the terminal\n"
                                 "  --rate N      log at most N events a second (default 200); the rest\n"
                                 "                are counted and reported as suppressed\n"
                                 "  --setup-only  set the watches up, print how many, and exit\n"
                                 "  --json        (global) also print one JSON object a line on stdout\n"),
                               argv[0], PS_TAG_CHECK_CONTAINERS, ps_watch_backend_name(now), why ? " (fanotify cannot be used: " : "",
                               why ? why : "", why ? ")" : "");
                        return 0;
                }
                default:
                        return 3;
                }
        }
        if (optind != argc) {
                /* the original ignores its arguments; podsec says so */
                ps_err(ctx, _("check containers takes no arguments"));
                return 3;
        }
        ps_log_open(PS_TAG_CHECK_CONTAINERS, LOG_DAEMON, PS_LOG_AUTO);
        ps_error err = PS_ERROR_INIT;
        ps_watch *w = NULL;
        if (ps_watch_new(ctx->root, want, &w, &err) < 0)
                return ps_fail(ctx, &err, 3);
        struct state s = { .ctx = ctx, .json = ctx->json, .rate = rate, .tokens = rate * 5 };
        clock_gettime(CLOCK_MONOTONIC, &s.last);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (ps_watch_setup(w, setup_only ? NULL : on_event, &s, &err) < 0) {
                ps_watch_free(w);
                return ps_fail(ctx, &err, 3);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        size_t dirs, storages, filesystems;
        ps_watch_counts(w, &dirs, &storages, &filesystems);
        ps_watch_backend used = ps_watch_backend_used(w);
        const char *bname = ps_watch_backend_name(used);
        const char *why = ps_watch_fallback_reason(w);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        _cleanup_free_ char *what = NULL;
        if (used == PS_WATCH_FANOTIFY) {
                if (asprintf(&what, "%zu container storages on %zu filesystems (fanotify)", storages, filesystems) < 0)
                        what = NULL;
        } else if (asprintf(&what, "%zu directories in %zu container storages (inotify%s%s)", dirs, storages,
                            why ? "; fanotify cannot be used: " : "", why ? why : "") < 0) {
                what = NULL;
        }
        if (!what) {
                ps_watch_free(w);
                ps_err(ctx, _("out of memory"));
                return 3;
        }
        if (setup_only) {
                if (ctx->json) {
                        json_t *j = json_pack("{s:s,s:I,s:f,s:I}", "backend", bname, "storages", (json_int_t)storages,
                                              "seconds", secs, "directories", (json_int_t)dirs);
                        if (used == PS_WATCH_FANOTIFY)
                                json_object_set_new(j, "filesystems", json_integer((json_int_t)filesystems));
                        if (why)
                                json_object_set_new(j, "fanotify_unusable", json_string(why));
                        json_line(j);
                } else {
                        printf("%s set up in %.3f s\n", what, secs);
                }
                ps_watch_free(w);
                return 0;
        }
        ps_log(LOG_INFO, "Debug: watching %s", what);
        if (ctx->json)
                json_line(json_pack("{s:s,s:s,s:I,s:I,s:I}", "kind", "ready", "backend", bname, "directories",
                                    (json_int_t)dirs, "storages", (json_int_t)storages, "filesystems",
                                    (json_int_t)filesystems));
        if (!foreground) {
                if (daemon(0, 0) < 0) {
                        ps_err(ctx, _("cannot detach: %s"), strerror(errno));
                        ps_watch_free(w);
                        return 3;
                }
        }
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        while (!stop_sig) {
                struct pollfd p = { ps_watch_fd(w), POLLIN, 0 };
                int r = poll(&p, 1, 1000);
                if (r < 0 && errno != EINTR)
                        break;
                /* let events gather for a moment: one wake-up per event (a
                 * busy filesystem under fanotify) costs far more than the
                 * events themselves; 5 ms is a small delay for a log line */
                if (r > 0)
                        nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
                if (r > 0 && ps_watch_process(w, on_event, &s, &err) < 0) {
                        ps_log(LOG_CRIT, "Critical: %s", ps_error_msg(&err));
                        ps_error_clear(&err);
                }
                flush_suppressed(&s, false);
        }
        flush_suppressed(&s, true);
        if (ps_watch_unplaced(w))
                ps_log(LOG_WARNING, "Warning: %lu events in directories removed before they could be placed were not logged",
                       ps_watch_unplaced(w));
        ps_log(LOG_INFO, "Debug: stopped after %lu events", s.events);
        ps_watch_free(w);
        return 0;
}
