/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>

static enum ps_log_target target = PS_LOG_STDERR;
static char ident[64] = "podsec";
static int max_prio = LOG_DEBUG;

/* Is a datagram socket listening at PATH?  A socket file left behind by a
 * logger that died refuses connections: messages sent there would be lost. */
static bool listening(const char *path)
{
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        close(fd);
        return ok;
}

void ps_log_open(const char *id, int facility, enum ps_log_target t)
{
        snprintf(ident, sizeof ident, "%s", id ? id : "podsec");
        if (t == PS_LOG_AUTO) {
                if (listening("/run/systemd/journal/socket"))
                        t = PS_LOG_JOURNAL;
                else if (listening("/dev/log"))
                        t = PS_LOG_SYSLOG;
                else
                        t = PS_LOG_STDERR;
        }
        target = t;
        if (t == PS_LOG_SYSLOG)
                openlog(ident, LOG_PID, facility);
}

enum ps_log_target ps_log_target_in_use(void) { return target; }
void ps_log_set_max(int p) { max_prio = p; }

void ps_logv(int priority, const char *fmt, va_list ap)
{
        if ((priority & LOG_PRIMASK) > max_prio)
                return;
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        switch (target) {
        case PS_LOG_JOURNAL:
                sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority & LOG_PRIMASK,
                                "SYSLOG_IDENTIFIER=%s", ident, NULL);
                break;
        case PS_LOG_SYSLOG:
                syslog(priority, "%s", msg);
                break;
        default:
                fprintf(stderr, "%s: %s\n", ident, msg);
                break;
        }
        free(msg);
}

void ps_log(int priority, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        ps_logv(priority, fmt, ap);
        va_end(ap);
}
