/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podsec check kubeapi (= podsec-inotify-check-kubeapi, spec monitor §6):
 * denied requests (responseStatus.code >= 400) in the kube-apiserver audit
 * log go to the journal ("Critical: [ts, ip, message]", priority 2, tag
 * podsec-inotify-check-kubeapi) and to the event file, which -m mails and
 * resets.
 *
 * Fixed against the original: the log is followed by name through rotation
 * and truncation with a checkpoint that is kept continuously (a restart
 * neither repeats nor loses events), a malformed line is reported instead
 * of killing the pipeline, -m always mails (to -M ADDR, default root) and
 * cannot lose events that arrive while it works (the event file is renamed
 * aside under a lock, mailed, then removed; put back when mail fails).
 *
 * Files (under --root):
 *   /etc/kubernetes/audit/audit.log                 the apiserver's audit log
 *   /var/lib/podsec/u7s/log/kubeapi/forbidden.log   event file, one
 *       ["<requestReceivedTimestamp>","<sourceIPs[0]>","<responseStatus.message>"]
 *       per line
 *   .../audit-checkpoint.json    follower checkpoint (file identity, offset, last timestamp)
 *   .../lastTime.log             the original's checkpoint: timestamp (a JSON string) of
 *       the last mailed event; honoured when no follower checkpoint exists
 *   .../forbidden.log.mailing    events being mailed
 *   .../.follow.lock .events.lock   one follower at a time; appends vs the mailer */
#include "cmd.h"
#include "audit.h"
#include "cleanup.h"
#include "fs.h"
#include "log.h"
#include "nagios.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUDIT_LOG "/etc/kubernetes/audit/audit.log"
#define STATE_DIR "/var/lib/podsec/u7s/log/kubeapi"
#define EVENT_NAME "forbidden.log"
#define ASIDE_NAME "forbidden.log.mailing"
#define CHECKPOINT_NAME "audit-checkpoint.json"
#define LASTTIME_NAME "lastTime.log"
#define FOLLOW_LOCK ".follow.lock"
#define EVENTS_LOCK ".events.lock"
#define MAIL_SUBJECT "Detected requests to the kubernetes cluster with excess authority"
#define MAIL_MAX ((size_t)64 << 20)

enum mode { MODE_NONE, MODE_DAEMON, MODE_MAIL, MODE_ONCE, MODE_NAGIOS };

typedef struct kstate {
        ps_ctx *ctx;
        const char *log;        /* the audit log followed */
        char *dir;              /* root-prefixed state directory */
        char *event_path, *aside_path, *lasttime_path, *checkpoint_path;
        char *follow_lock;      /* lock name of this log's follower */
        int events_lock;        /* fd of .events.lock */
        int event_fd;           /* event file while a poll appends, else -1 */
        char *skip_until;       /* lastTime.log filter (no follower checkpoint yet) */
        unsigned long long written, skipped, malformed;
        char *last_error;       /* daemon: last error logged (to log each once) */
} kstate;

static void kstate_free(kstate *k)
{
        free(k->dir);
        free(k->event_path);
        free(k->aside_path);
        free(k->lasttime_path);
        free(k->checkpoint_path);
        free(k->follow_lock);
        free(k->skip_until);
        free(k->last_error);
        if (k->event_fd >= 0)
                close(k->event_fd);
        if (k->events_lock >= 0)
                close(k->events_lock);
}

static const char *argv0;

static int usage_error(ps_ctx *ctx, const char *fmt, const char *arg)
{
        fprintf(stderr, "%s: ", ctx->prog);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, _("\nFormat:\n%s [-d | -m | --once | --nagios] [OPTIONS]\n"
                          "Run '%s --help' for the options.\n"),
                argv0, argv0);
        return 1;
}

static void help(const char *prog)
{
        printf(_("Usage: %s -d | -m | --once | --nagios [OPTIONS]\n\n"
                 "Report denied requests (responseStatus.code >= 400) of the kube-apiserver audit\n"
                 "log: each one is logged to the journal as \"Critical: [time, source IP, message]\"\n"
                 "(priority 2, tag %s) and appended to the event file.\n\n"
                 "Modes:\n"
                 "  -d, --daemon        follow the audit log (through rotation and truncation)\n"
                 "                      until SIGTERM; runs in the foreground\n"
                 "      --once          process what the audit log holds now and exit\n"
                 "  -m, --mail          mail the event file and reset it\n"
                 "      --nagios        plugin: report the events waiting in the event file\n\n"
                 "Options:\n"
                 "      --audit-log FILE  the audit log (default ROOT%s); it gets its own\n"
                 "                      checkpoint, audit-checkpoint-<hash of FILE>.json\n"
                 "      --from-end      without a checkpoint, start at the end of the log instead\n"
                 "                      of its beginning\n"
                 "      --interval SEC  -d: look at the log at least every SEC seconds (default 10)\n"
                 "  -M, --mail-to ADDR  -m: recipient (default root)\n"
                 "      --sendmail PATH -m: the sendmail program (default sendmail)\n"
                 "  -w, --warning RANGE, -c, --critical RANGE\n"
                 "                      --nagios: thresholds on the number of waiting events\n"
                 "                      (default -c 0: any event is CRITICAL)\n"
                 "      --foreground    accepted for compatibility (-d never forks)\n"
                 "  -v, --verbose       say what was done (on stderr)\n"
                 "      --help          this help\n\n"
                 "Files: ROOT%s/%s (events), %s (checkpoint),\n"
                 "%s (timestamp of the last mailed event).\n\n"
                 "Exit status: 0 done, 1 error or usage error; --nagios: 0 OK, 1 WARNING,\n"
                 "2 CRITICAL, 3 UNKNOWN.\n"),
               prog, PS_TAG_CHECK_KUBEAPI, AUDIT_LOG, STATE_DIR, EVENT_NAME, CHECKPOINT_NAME, LASTTIME_NAME);
}

/* ---- state directory and locks ----------------------------------------- */

/* A log given with --audit-log gets its own checkpoint and follower lock
 * (named after a hash of its path), so that following it does not move the
 * default log's position. */
static int kstate_init(kstate *k, ps_ctx *ctx, const char *other_log, ps_error *err)
{
        memset(k, 0, sizeof *k);
        k->ctx = ctx;
        k->events_lock = -1;
        k->event_fd = -1;
        k->dir = ps_root_path(ctx->root, STATE_DIR);
        if (!k->dir)
                return ps_error_set(err, ENOMEM, "out of memory");
        k->event_path = ps_path_join(k->dir, EVENT_NAME);
        k->aside_path = ps_path_join(k->dir, ASIDE_NAME);
        k->lasttime_path = ps_path_join(k->dir, LASTTIME_NAME);
        if (other_log) {
                uint64_t h = 0xcbf29ce484222325ULL;
                for (const unsigned char *c = (const unsigned char *)other_log; *c; c++)
                        h = (h ^ *c) * 0x100000001b3ULL;
                char name[64];
                snprintf(name, sizeof name, "audit-checkpoint-%016llx.json", (unsigned long long)h);
                k->checkpoint_path = ps_path_join(k->dir, name);
                snprintf(name, sizeof name, ".follow-%016llx.lock", (unsigned long long)h);
                k->follow_lock = strdup(name);
        } else {
                k->checkpoint_path = ps_path_join(k->dir, CHECKPOINT_NAME);
                k->follow_lock = strdup(FOLLOW_LOCK);
        }
        if (!k->event_path || !k->aside_path || !k->lasttime_path || !k->checkpoint_path || !k->follow_lock)
                return ps_error_set(err, ENOMEM, "out of memory");
        return 0;
}

/* Open (creating) a lock file in the state directory and flock it.
 * NONBLOCK: -EWOULDBLOCK when another process holds it. */
static int take_lock(kstate *k, const char *name, bool nonblock, int *fdp, ps_error *err)
{
        _cleanup_free_ char *p = ps_path_join(k->dir, name);
        if (!p)
                return ps_error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open lock file %s", p);
        while (flock(fd, LOCK_EX | (nonblock ? LOCK_NB : 0)) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno == EWOULDBLOCK)
                        return ps_error_set(err, EWOULDBLOCK,
                                            "another 'podsec check kubeapi' is following the audit log (%s is locked); stop it first",
                                            p);
                return ps_error_errno(err, errno, "cannot lock %s", p);
        }
        *fdp = ps_steal_fd(&fd);
        return 0;
}

static int events_lock(kstate *k, ps_error *err)
{
        if (k->events_lock >= 0)
                return 0;
        return take_lock(k, EVENTS_LOCK, false, &k->events_lock, err);
}

static void events_unlock(kstate *k)
{
        if (k->events_lock >= 0) {
                close(k->events_lock);  /* releases the flock */
                k->events_lock = -1;
        }
}

static int ensure_dir(kstate *k, ps_error *err)
{
        int r = ps_mkdir_p(k->dir, 0700, err);
        if (r < 0)
                return ps_error_wrap(err, "cannot create the state directory");
        return 0;
}

/* Open a file of the state directory for appending: no symlinks, no hard
 * links (the directory may belong to u7s-admin; root must not be made to
 * append to another file). */
static int open_append(const char *path, int *fdp, ps_error *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return ps_error_errno(err, errno, "cannot open %s for appending", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return ps_error_errno(err, errno, "cannot stat %s", path);
        if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
                return ps_error_set(err, EPERM, "%s is not a regular file with a single link; refusing to write to it",
                                    path);
        *fdp = ps_steal_fd(&fd);
        return 0;
}

static int write_all(int fd, const char *buf, size_t len, const char *path, ps_error *err)
{
        while (len > 0) {
                ssize_t w = write(fd, buf, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return ps_error_errno(err, errno, "cannot write to %s", path);
                }
                buf += w;
                len -= (size_t)w;
        }
        return 0;
}

/* Read a state file without following symlinks: 0 and *out NULL when absent. */
static int read_state_file(const char *path, size_t max, char **out, size_t *len, ps_error *err)
{
        *out = NULL;
        *len = 0;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return ps_error_errno(err, errno, "cannot open %s", path);
        }
        struct stat st;
        int r = ps_fstat_regular(fd, path, max, &st, err);
        if (r < 0)
                return r;
        return ps_read_fd(fd, path, max, (size_t)st.st_size, out, len, err);
}

/* ---- following ---------------------------------------------------------- */

static int on_event(const ps_audit_event *ev, void *ud, ps_error *err)
{
        kstate *k = ud;
        if (ev->error) {
                k->malformed++;
                ps_nagios_log(PS_LEVEL_WARNING, "%s at offset %llu of %s", ev->error, (unsigned long long)ev->offset,
                              k->log ? k->log : "the audit log");
                return 0;
        }
        if (k->skip_until && ev->timestamp && strcmp(ev->timestamp, k->skip_until) <= 0) {
                k->skipped++;
                return 0;
        }
        _cleanup_free_ char *proj = ps_audit_event_projection(ev);
        if (!proj)
                return ps_error_set(err, ENOMEM, "out of memory");
        if (k->event_fd < 0) {
                /* held until the end of this poll: the mailer renames the
                 * event file only under this lock */
                int r = events_lock(k, err);
                if (r < 0)
                        return r;
                r = open_append(k->event_path, &k->event_fd, err);
                if (r < 0)
                        return r;
        }
        size_t n = strlen(proj);
        proj[n] = '\n';
        int r = write_all(k->event_fd, proj, n + 1, k->event_path, err);
        proj[n] = '\0';
        if (r < 0)
                return r;
        k->written++;
        ps_nagios_log(PS_LEVEL_CRITICAL, "%s", proj);
        return 0;
}

static void end_of_poll(kstate *k)
{
        if (k->event_fd >= 0) {
                close(k->event_fd);
                k->event_fd = -1;
        }
        events_unlock(k);
}

/* The original's lastTime.log: a JSON string literal. */
static int read_lasttime(kstate *k, ps_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_state_file(k->lasttime_path, 4096, &data, &len, err);
        if (r < 0 || !data)
                return r;
        json_t *j = json_loadb(data, len, JSON_DECODE_ANY, NULL);
        if (json_is_string(j) && json_string_length(j) > 0) {
                k->skip_until = strdup(json_string_value(j));
                if (!k->skip_until) {
                        json_decref(j);
                        return ps_error_set(err, ENOMEM, "out of memory");
                }
        }
        json_decref(j);
        return 0;
}

static int log_once(kstate *k, const char *msg)
{
        if (k->last_error && !strcmp(k->last_error, msg))
                return 0;
        free(k->last_error);
        k->last_error = strdup(msg);
        ps_nagios_log(PS_LEVEL_FATAL, "%s", msg);
        return 0;
}

static void print_stats(kstate *k, const ps_audit_follower *f, const char *log)
{
        const ps_audit_stats *st = ps_audit_follow_stats(f);
        if (k->ctx->json) {
                json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "audit_log", log,
                                      "events", (json_int_t)k->written, "skipped", (json_int_t)k->skipped,
                                      "malformed", (json_int_t)k->malformed, "lines", (json_int_t)st->lines,
                                      "bytes", (json_int_t)st->bytes, "rotations", (json_int_t)st->rotations,
                                      "truncations", (json_int_t)st->truncations, "lost", (json_int_t)st->lost);
                if (o) {
                        json_dumpf(o, stdout, JSON_INDENT(2));
                        putchar('\n');
                        json_decref(o);
                }
        } else if (k->ctx->verbose) {
                ps_info(k->ctx,
                        _("%s: %llu denied requests written to %s, %llu already mailed skipped, %llu malformed lines; %llu lines read, %llu rotations, %llu truncations"),
                        log, k->written, k->event_path, k->skipped, k->malformed, (unsigned long long)st->lines,
                        (unsigned long long)st->rotations, (unsigned long long)st->truncations);
        }
}

static int follow(kstate *k, const char *log, bool daemon, bool from_end, int interval_s)
{
        ps_ctx *ctx = k->ctx;
        ps_error err = PS_ERROR_INIT;
        k->log = log;
        if (ensure_dir(k, &err) < 0)
                return ps_fail(ctx, &err, 1);
        _cleanup_close_ int follow_lock = -1;
        if (take_lock(k, k->follow_lock, true, &follow_lock, &err) < 0)
                return ps_fail(ctx, &err, 1);
        bool have_checkpoint = ps_file_exists(k->checkpoint_path);
        if (!have_checkpoint && read_lasttime(k, &err) < 0)
                return ps_fail(ctx, &err, 1);

        /* signals become readable on a signalfd, so that a SIGTERM between two
         * looks at the log is never missed */
        sigset_t mask, old;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        _cleanup_close_ int sfd = -1;
        if (daemon) {
                sigprocmask(SIG_BLOCK, &mask, &old);
                sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
                if (sfd < 0) {
                        ps_err(ctx, _("cannot create a signalfd: %s"), strerror(errno));
                        return 1;
                }
        }

        ps_audit_follower *f = NULL;
        if (ps_audit_follow_open(log, k->checkpoint_path, from_end ? PS_AUDIT_FOLLOW_FROM_END : 0, &f, &err) < 0)
                return ps_fail(ctx, &err, 1);
        int rc = 0;
        if (!daemon) {
                int r = ps_audit_follow_poll(f, on_event, k, &err);
                end_of_poll(k);
                if (r < 0)
                        rc = ps_fail(ctx, &err, 1);
                else
                        print_stats(k, f, log);
                ps_audit_follow_free(f);
                return rc;
        }

        if (ctx->verbose)
                ps_info(ctx, _("following %s (checkpoint %s)"), log, k->checkpoint_path);
        for (;;) {
                int r = ps_audit_follow_poll(f, on_event, k, &err);
                end_of_poll(k);
                if (r < 0) {
                        /* the audit log cannot be read: say so once per distinct
                         * reason, keep trying */
                        log_once(k, ps_error_msg(&err));
                        ps_error_clear(&err);
                } else if (k->last_error) {
                        free(k->last_error);
                        k->last_error = NULL;
                }
                /* wait for a change of the log's directory, a signal, or the interval */
                struct pollfd p[2];
                int np = 0;
                p[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                int ifd = ps_audit_follow_fd(f);
                if (ifd >= 0)
                        p[np++] = (struct pollfd){ .fd = ifd, .events = POLLIN };
                int timeout = ifd >= 0 ? interval_s * 1000 : (interval_s < 1 ? interval_s * 1000 : 1000);
                int pr = poll(p, (nfds_t)np, timeout);
                if (pr < 0 && errno != EINTR) {
                        ps_err(ctx, _("cannot wait for changes of %s: %s"), log, strerror(errno));
                        rc = 1;
                        break;
                }
                if (pr > 0 && (p[0].revents & POLLIN)) {
                        /* consume it, or restoring the mask would deliver it */
                        struct signalfd_siginfo si;
                        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
                                ;
                        break;
                }
                if (np > 1 && (p[1].revents & POLLIN) && ps_audit_follow_wait(f, 0, &err) < 0) {
                        log_once(k, ps_error_msg(&err));
                        ps_error_clear(&err);
                }
        }
        /* SIGTERM: everything delivered so far is in the event file; keep
         * the position */
        if (ps_audit_follow_checkpoint(f, &err) < 0)
                rc = ps_fail(ctx, &err, 1);
        if (ctx->verbose)
                print_stats(k, f, log);
        ps_audit_follow_free(f);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return rc;
}

/* ---- mailing ------------------------------------------------------------- */

/* Under the events lock: put the events being mailed back in front of
 * the ones that arrived meanwhile. */
static int restore_aside(kstate *k, ps_error *err)
{
        _cleanup_free_ char *newer = NULL;
        size_t nlen = 0;
        int r = read_state_file(k->event_path, MAIL_MAX, &newer, &nlen, err);
        if (r < 0)
                return r;
        if (newer && nlen) {
                _cleanup_close_ int fd = -1;
                r = open_append(k->aside_path, &fd, err);
                if (r < 0)
                        return r;
                r = write_all(fd, newer, nlen, k->aside_path, err);
                if (r < 0)
                        return r;
                if (fsync(fd) < 0)
                        return ps_error_errno(err, errno, "cannot sync %s", k->aside_path);
        }
        if (rename(k->aside_path, k->event_path) < 0)
                return ps_error_errno(err, errno, "cannot rename %s to %s", k->aside_path, k->event_path);
        ps_fsync_dir(k->dir);
        ps_fault_point();
        return 0;
}

/* Timestamp (first element) of the last line of BUF, or NULL. */
static char *last_timestamp(const char *buf, size_t len)
{
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
                len--;
        if (!len)
                return NULL;
        const char *start = memrchr(buf, '\n', len);
        start = start ? start + 1 : buf;
        json_t *a = json_loadb(start, len - (size_t)(start - buf), 0, NULL);
        char *ts = NULL;
        if (json_is_array(a) && json_is_string(json_array_get(a, 0)))
                ts = strdup(json_string_value(json_array_get(a, 0)));
        json_decref(a);
        return ts;
}

static size_t count_lines(const char *buf, size_t len)
{
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                if (buf[i] == '\n' && i > 0 && buf[i - 1] != '\n')
                        n++;
        if (len && buf[len - 1] != '\n')
                n++;
        return n;
}

static int mail_events(kstate *k, const char *to, const char *sendmail)
{
        ps_ctx *ctx = k->ctx;
        ps_error err = PS_ERROR_INIT;
        if (ps_nagios_check_address(to, &err) < 0)
                return ps_fail(ctx, &err, 1);
        struct stat st;
        if (stat(k->dir, &st) < 0) {
                if (errno == ENOENT) {
                        if (ctx->verbose)
                                ps_info(ctx, _("no events: %s does not exist"), k->dir);
                        return 0;
                }
                ps_err(ctx, _("cannot access %s: %s"), k->dir, strerror(errno));
                return 1;
        }
        if (events_lock(k, &err) < 0)
                return ps_fail(ctx, &err, 1);
        /* a mailer that died mid-way left its events aside: take them back */
        if (ps_file_exists(k->aside_path) && restore_aside(k, &err) < 0) {
                events_unlock(k);
                return ps_fail(ctx, &err, 1);
        }
        if (stat(k->event_path, &st) < 0 || st.st_size == 0) {
                events_unlock(k);
                if (ctx->json)
                        printf("{\"mailed\": 0}\n");
                else if (ctx->verbose)
                        ps_info(ctx, _("no events to mail in %s"), k->event_path);
                return 0;
        }
        if (rename(k->event_path, k->aside_path) < 0) {
                ps_err(ctx, _("cannot rename %s to %s: %s"), k->event_path, k->aside_path, strerror(errno));
                events_unlock(k);
                return 1;
        }
        ps_fsync_dir(k->dir);
        ps_fault_point();
        events_unlock(k);

        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        int r = read_state_file(k->aside_path, MAIL_MAX, &body, &len, &err);
        if (r == 0 && !body)
                r = ps_error_set(&err, ENOENT, "%s vanished", k->aside_path);
        if (r == 0)
                r = ps_nagios_mail(sendmail, to, MAIL_SUBJECT, body, &err);
        if (r < 0) {
                ps_error rerr = PS_ERROR_INIT;
                int q = events_lock(k, &rerr);
                if (q == 0)
                        q = restore_aside(k, &rerr);
                events_unlock(k);
                if (q < 0) {
                        ps_err(ctx, "%s", ps_error_msg(&err));
                        ps_error_clear(&err);
                        ps_err(ctx, _("the events stay in %s: %s"), k->aside_path, ps_error_msg(&rerr));
                        ps_error_clear(&rerr);
                        return 1;
                }
                ps_err(ctx, _("%s; the events stay in %s"), ps_error_msg(&err), k->event_path);
                ps_error_clear(&err);
                return 1;
        }
        size_t n = count_lines(body, len);
        _cleanup_free_ char *ts = last_timestamp(body, len);
        if (ts) {
                json_t *j = json_string(ts);
                char *s = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
                json_decref(j);
                if (s) {
                        size_t sl = strlen(s);
                        char *s2 = realloc(s, sl + 2);
                        if (s2) {
                                s = s2;
                                s[sl] = '\n';
                                s[sl + 1] = '\0';
                                if (ps_write_atomic(k->lasttime_path, s, sl + 1, 0600, &err) < 0) {
                                        ps_err(ctx, "%s", ps_error_msg(&err));
                                        ps_error_clear(&err);
                                }
                        }
                        free(s);
                }
        }
        if (unlink(k->aside_path) < 0 && errno != ENOENT) {
                ps_err(ctx, _("mailed, but cannot remove %s: %s (remove it, or the events are mailed again)"),
                       k->aside_path, strerror(errno));
                return 1;
        }
        ps_fsync_dir(k->dir);
        ps_fault_point();
        if (ctx->json)
                printf("{\"mailed\": %zu, \"to\": \"%s\"}\n", n, to);
        else if (ctx->verbose)
                ps_info(ctx, _("mailed %zu events to %s"), n, to);
        return 0;
}

/* ---- plugin --------------------------------------------------------------- */

static int nagios(kstate *k, const ps_range *warn, const ps_range *crit)
{
        ps_ctx *ctx = k->ctx;
        ps_error err = PS_ERROR_INIT;
        ps_nagios_result res;
        int state = PS_NAGIOS_UNKNOWN;
        if (ps_nagios_result_init(&res, "KUBEAPI", &err) < 0)
                return ps_fail(ctx, &err, PS_NAGIOS_UNKNOWN);
        _cleanup_free_ char *aside = NULL, *events = NULL;
        size_t alen = 0, elen = 0;
        int r = read_state_file(k->aside_path, MAIL_MAX, &aside, &alen, &err);
        if (r == 0)
                r = read_state_file(k->event_path, MAIL_MAX, &events, &elen, &err);
        if (r < 0) {
                ps_nagios_result_set(&res, PS_NAGIOS_UNKNOWN, NULL, "%s", ps_error_msg(&err));
                ps_error_clear(&err);
                goto out;
        }
        /* events being mailed right now still count */
        size_t n = count_lines(aside ? aside : "", alen) + count_lines(events ? events : "", elen);
        enum ps_nagios_state s = PS_NAGIOS_OK;
        if (ps_range_alert(crit, (double)n))
                s = PS_NAGIOS_CRITICAL;
        else if (ps_range_alert(warn, (double)n))
                s = PS_NAGIOS_WARNING;
        if (n == 0) {
                ps_nagios_result_set(&res, s, NULL, _("no denied requests to the Kubernetes API since the last report"));
        } else {
                const char *buf = elen ? events : aside;
                size_t len = elen ? elen : alen;
                if (!buf) {     /* n > 0: one of them has lines */
                        buf = "";
                        len = 0;
                }
                while (len > 0 && buf[len - 1] == '\n')
                        len--;
                const char *last = memrchr(buf, '\n', len);
                last = last ? last + 1 : buf;
                json_t *a = json_loadb(last, len - (size_t)(last - buf), 0, NULL);
                const char *ts = json_string_value(json_array_get(a, 0));
                const char *ip = json_string_value(json_array_get(a, 1));
                const char *msg = json_string_value(json_array_get(a, 2));
                ps_nagios_result_set(&res, s, NULL,
                                     _("%zu denied requests to the Kubernetes API since the last report; the latest at %s from %s: %s"),
                                     n, ts ? ts : "?", ip ? ip : "?", msg ? msg : "?");
                json_decref(a);
                /* the latest events as long output (at most 10) */
                size_t shown = 0;
                const char *end = buf + len;
                while (end > buf && shown < 10) {
                        const char *ls = memrchr(buf, '\n', (size_t)(end - buf));
                        ls = ls ? ls + 1 : buf;
                        if (end > ls)
                                ps_nagios_result_detail(&res, NULL, "%.*s", (int)(end - ls), ls);
                        shown++;
                        end = ls > buf ? ls - 1 : buf;
                }
        }
        double zero = 0;
        ps_nagios_result_perf(&res, "denied", (double)n, NULL, warn, crit, &zero, NULL, NULL);
out:
        state = res.state;
        if (ctx->json) {
                json_t *j = ps_nagios_result_json(&res);
                if (j) {
                        json_dumpf(j, stdout, JSON_INDENT(2));
                        putchar('\n');
                        json_decref(j);
                }
        } else {
                _cleanup_free_ char *text = ps_nagios_result_format(&res);
                if (text)
                        fputs(text, stdout);
        }
        ps_nagios_result_free(&res);
        return ps_nagios_exit_code(state);
}

/* ---- command -------------------------------------------------------------- */

PS_CMD(cmd_check_kubeapi)
{
        enum { O_ONCE = 256, O_NAGIOS, O_AUDIT_LOG, O_FROM_END, O_INTERVAL, O_SENDMAIL, O_FOREGROUND, O_HELP };
        static const struct option opts[] = {
                { "daemon", no_argument, NULL, 'd' },
                { "mail", no_argument, NULL, 'm' },
                { "once", no_argument, NULL, O_ONCE },
                { "nagios", no_argument, NULL, O_NAGIOS },
                { "audit-log", required_argument, NULL, O_AUDIT_LOG },
                { "from-end", no_argument, NULL, O_FROM_END },
                { "interval", required_argument, NULL, O_INTERVAL },
                { "mail-to", required_argument, NULL, 'M' },
                { "sendmail", required_argument, NULL, O_SENDMAIL },
                { "warning", required_argument, NULL, 'w' },
                { "critical", required_argument, NULL, 'c' },
                { "foreground", no_argument, NULL, O_FOREGROUND },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, O_HELP },
                { 0 },
        };
        enum mode mode = MODE_NONE;
        int modes = 0;
        const char *audit_log = NULL, *to = "root", *sendmail = NULL;
        bool from_end = false;
        int interval = 10;
        ps_range warn = { 0 }, crit = { 0 };
        ps_error err = PS_ERROR_INIT;
        argv0 = argv[0];
        /* the nagios module prints its journal fallback on stderr; the plugin
         * mode keeps stderr quiet, the others log as the original did */
        ps_log_open(PS_TAG_CHECK_KUBEAPI, LOG_USER, PS_LOG_AUTO);
        if (ps_range_parse("0", &crit, &err) < 0)
                return ps_fail(ctx, &err, 1);
        opterr = 0;
        int o;
        while ((o = getopt_long(argc, argv, ":dmM:w:c:v", opts, NULL)) != -1) {
                switch (o) {
                case 'd': mode = MODE_DAEMON; modes++; break;
                case 'm': mode = MODE_MAIL; modes++; break;
                case O_ONCE: mode = MODE_ONCE; modes++; break;
                case O_NAGIOS: mode = MODE_NAGIOS; modes++; break;
                case O_AUDIT_LOG: audit_log = optarg; break;
                case O_FROM_END: from_end = true; break;
                case O_INTERVAL: {
                        char *end = NULL;
                        errno = 0;
                        long v = strtol(optarg, &end, 10);
                        if (errno || !end || *end || v < 1 || v > 86400)
                                return usage_error(ctx, _("--interval %s: give a number of seconds from 1 to 86400"), optarg);
                        interval = (int)v;
                        break;
                }
                case 'M': to = optarg; break;
                case O_SENDMAIL: sendmail = optarg; break;
                case 'w':
                case 'c':
                        if (ps_range_parse(optarg, o == 'w' ? &warn : &crit, &err) < 0) {
                                ps_err(ctx, "option -%c: %s", o, ps_error_msg(&err));
                                ps_error_clear(&err);
                                return 1;
                        }
                        break;
                case O_FOREGROUND: break;
                case 'v': ctx->verbose++; break;
                case O_HELP: help(argv[0]); return 0;
                case ':': return usage_error(ctx, _("option %s needs a value"), argv[optind - 1]);
                default: return usage_error(ctx, _("Invalid value for 1st parameter: unknown option %s"), argv[optind - 1]);
                }
        }
        if (optind < argc)
                return usage_error(ctx, _("Invalid value for 1st parameter: unexpected argument \"%s\""), argv[optind]);
        if (modes != 1)
                return usage_error(ctx, _("Invalid number of parameters: give exactly one of -d, -m, --once, --nagios%s"),
                                   "");
        if (mode == MODE_NAGIOS)
                ps_log_set_max(-1);

        kstate k;
        if (kstate_init(&k, ctx, audit_log, &err) < 0) {
                kstate_free(&k);
                return ps_fail(ctx, &err, 1);
        }
        _cleanup_free_ char *log = audit_log ? strdup(audit_log) : ps_root_path(ctx->root, AUDIT_LOG);
        int rc;
        if (!log) {
                ps_err(ctx, _("out of memory"));
                rc = 1;
        } else if (mode == MODE_NAGIOS) {
                rc = nagios(&k, &warn, &crit);
        } else if (mode == MODE_MAIL) {
                rc = mail_events(&k, to, sendmail);
        } else {
                rc = follow(&k, log, mode == MODE_DAEMON, from_end, interval);
        }
        kstate_free(&k);
        return rc;
}
