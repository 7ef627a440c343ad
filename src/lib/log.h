/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event logging: journald when its socket exists, else syslog(3) when
 * /dev/log exists, else stderr.  Priorities are syslog's LOG_*. */
#pragma once
#include <stdarg.h>
#include <syslog.h>

enum ps_log_target { PS_LOG_AUTO, PS_LOG_JOURNAL, PS_LOG_SYSLOG, PS_LOG_STDERR };

void ps_log_open(const char *ident, int facility, enum ps_log_target target);
void ps_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ps_logv(int priority, const char *fmt, va_list ap);
enum ps_log_target ps_log_target_in_use(void);
/* Messages above this priority (numerically greater) go nowhere. */
void ps_log_set_max(int priority);
