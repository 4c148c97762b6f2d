/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgovd's log: to the journal with structured fields when stderr is the
 * journal's stream (systemd sets $JOURNAL_STREAM for exactly that check),
 * else one line per message on stderr. The library never logs; the daemon
 * logs once, where it decides. */

#include <syslog.h>

/* Structured fields that go with a message; NULL / 0 ones are left out. */
typedef struct LogFields {
        const char *pool;
        const char *job;       /* "name@id" or "@id" */
        const char *user;
        const char *outcome;   /* "exited", "rejected", ... */
} LogFields;

void log_setup(void);
void log_set_max_level(int level);
/* Returns -abs(err) when err is given (for `return log_error_errno(r, ...)`),
 * else 0. %m names err. */
int log_full(int level, int err, const LogFields *f, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(...) log_full(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_ERR, (e), NULL, __VA_ARGS__)
