/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "macro.h"

static bool to_journal;
static int max_level = LOG_INFO;

void log_setup(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        /* Only when stderr is still the stream systemd gave us: a redirected
         * stderr gets plain lines. */
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
                to_journal = st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

void log_set_max_level(int level) {
        max_level = level;
}

/* Messages quote what tenants chose (program names, job names): a control
 * character in them must not start a line of its own in a log, where it
 * could pass for a message of the daemon. So every message is one line,
 * with control characters written as C escapes. */
static void escape_controls(const char *in, char *out, size_t size) {
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;

        for (const unsigned char *p = (const unsigned char *) in; *p && n + 5 < size; p++) {
                if (*p >= 0x20 && *p != 0x7f && *p != '\\') {
                        out[n++] = (char) *p;
                        continue;
                }
                out[n++] = '\\';
                switch (*p) {
                case '\n': out[n++] = 'n'; break;
                case '\t': out[n++] = 't'; break;
                case '\r': out[n++] = 'r'; break;
                case '\\': out[n++] = '\\'; break;
                default:
                        out[n++] = 'x';
                        out[n++] = hex[*p >> 4];
                        out[n++] = hex[*p & 15];
                }
        }
        out[n] = '\0';
}

int log_full(int level, int err, const LogFields *f, const char *fmt, ...) {
        char raw[2048], msg[4 * sizeof raw];
        va_list ap;

        if (err < 0)
                err = -err;
        if (level > max_level)
                return err > 0 ? -err : 0;

        errno = err;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        escape_controls(raw, msg, sizeof msg);

        if (to_journal) {
                char prio[16], errno_field[32], buf[4][512];
                struct iovec iov[8];
                size_t n = 0;
                const char *names[4] = { "POOL", "JOB", "USER", "OUTCOME" };
                const char *values[4] = { f ? f->pool : NULL, f ? f->job : NULL, f ? f->user : NULL,
                                          f ? f->outcome : NULL };
                _cleanup_free_ char *message = NULL;

                if (asprintf(&message, "MESSAGE=%s", msg) < 0)
                        return err > 0 ? -err : 0;
                iov[n++] = (struct iovec) { message, strlen(message) };
                snprintf(prio, sizeof prio, "PRIORITY=%d", level);
                iov[n++] = (struct iovec) { prio, strlen(prio) };
                for (size_t i = 0; i < 4; i++)
                        if (values[i]) {
                                int l = snprintf(buf[i], sizeof buf[i], "%s=%s", names[i], values[i]);
                                iov[n++] = (struct iovec) { buf[i], (size_t) MIN(l, (int) sizeof buf[i] - 1) };
                        }
                if (err > 0) {
                        snprintf(errno_field, sizeof errno_field, "ERRNO=%d", err);
                        iov[n++] = (struct iovec) { errno_field, strlen(errno_field) };
                }
                sd_journal_sendv(iov, (int) n);
        } else
                fprintf(stderr, "cgovd: %s\n", msg);
        return err > 0 ? -err : 0;
}
