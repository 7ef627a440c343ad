/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Driver over the audit scanner/follower for benchmarks and integration
 * tests.
 *
 *   ps-audit scan FILE        print the original's projection
 *                             ["<ts>","<ip>","<message>"] of every event with
 *                             responseStatus.code >= 400; statistics on stderr
 *   ps-audit count FILE       only count (no output per event)
 *   ps-audit follow FILE CHECKPOINT [--once] [--from-end] [--timeout MS]
 *                             follow FILE; print projections as they come;
 *                             --once processes what is there and exits;
 *                             otherwise runs until SIGTERM/SIGINT or, with
 *                             --timeout, until MS pass without a change */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "audit.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int print_event(const ps_audit_event *ev, void *ud, ps_error *err)
{
        FILE *out = ud;
        if (ev->error) {
                fprintf(stderr, "ps-audit: offset %llu: %s\n", (unsigned long long)ev->offset, ev->error);
                return 0;
        }
        if (!out)
                return 0;
        char *p = ps_audit_event_projection(ev);
        if (!p)
                return ps_error_set(err, ENOMEM, "out of memory");
        int r = fputs(p, out) < 0 || fputc('\n', out) < 0 ? -EIO : 0;
        free(p);
        if (r < 0)
                return ps_error_errno(err, errno ? errno : EIO, "cannot write the output");
        return 0;
}

static void print_stats(const ps_audit_stats *st)
{
        fprintf(stderr, "lines %llu matches %llu malformed %llu full-parses %llu rotations %llu truncations %llu lost %llu\n",
                (unsigned long long)st->lines, (unsigned long long)st->matches,
                (unsigned long long)st->malformed, (unsigned long long)st->full_parses,
                (unsigned long long)st->rotations, (unsigned long long)st->truncations,
                (unsigned long long)st->lost);
}

static int usage(void)
{
        fprintf(stderr, "usage: ps-audit scan|count FILE\n"
                        "       ps-audit follow FILE CHECKPOINT [--once] [--from-end] [--timeout MS]\n");
        return 2;
}

int main(int argc, char **argv)
{
        if (argc < 3)
                return usage();
        ps_error err = PS_ERROR_INIT;
        static char obuf[1 << 16];
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
        if (!strcmp(argv[1], "scan") || !strcmp(argv[1], "count")) {
                ps_audit_stats st = { 0 };
                FILE *out = !strcmp(argv[1], "scan") ? stdout : NULL;
                int r = ps_audit_scan_file(argv[2], print_event, out, &st, &err);
                if (r < 0) {
                        fprintf(stderr, "ps-audit: %s\n", ps_error_msg(&err));
                        return 1;
                }
                if (fflush(stdout) != 0) {
                        perror("ps-audit: stdout");
                        return 1;
                }
                print_stats(&st);
                if (!out)
                        printf("%llu\n", (unsigned long long)st.matches);
                return fflush(stdout) == 0 ? 0 : 1;
        }
        if (strcmp(argv[1], "follow") || argc < 4)
                return usage();
        unsigned flags = 0;
        bool once = false;
        long timeout = -1;
        for (int i = 4; i < argc; i++) {
                if (!strcmp(argv[i], "--once"))
                        once = true;
                else if (!strcmp(argv[i], "--from-end"))
                        flags |= PS_AUDIT_FOLLOW_FROM_END;
                else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
                        char *end = NULL;
                        errno = 0;
                        timeout = strtol(argv[++i], &end, 10);
                        if (errno || !end || *end || timeout < 0 || timeout > 3600000)
                                return usage();
                } else
                        return usage();
        }
        struct sigaction sa = { .sa_handler = on_signal };
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        ps_audit_follower *f = NULL;
        if (ps_audit_follow_open(argv[2], argv[3], flags, &f, &err) < 0) {
                fprintf(stderr, "ps-audit: %s\n", ps_error_msg(&err));
                return 1;
        }
        int rc = 0;
        while (!stop) {
                int r = ps_audit_follow_poll(f, print_event, stdout, &err);
                if (r < 0) {
                        fprintf(stderr, "ps-audit: %s\n", ps_error_msg(&err));
                        rc = 1;
                        break;
                }
                if (fflush(stdout) != 0) {
                        rc = 1;
                        break;
                }
                if (once)
                        break;
                r = ps_audit_follow_wait(f, timeout < 0 ? 5000 : (int)timeout, &err);
                if (r < 0) {
                        fprintf(stderr, "ps-audit: %s\n", ps_error_msg(&err));
                        rc = 1;
                        break;
                }
                if (r == 0 && timeout >= 0)
                        break;
        }
        if (ps_audit_follow_checkpoint(f, &err) < 0) {
                fprintf(stderr, "ps-audit: %s\n", ps_error_msg(&err));
                rc = 1;
        }
        print_stats(ps_audit_follow_stats(f));
        ps_audit_follow_free(f);
        return rc;
}
