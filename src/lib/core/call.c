/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "internal.h"
#include "macro.h"

/* cgov_call: a C function as a job. The child is a fork() of the caller
 * that moves itself into a fresh leaf before fn runs (spawn.c), so a crash,
 * an OOM kill or a timeout happens to the copy, never to the caller. Its
 * output comes back through a pipe that the caller drains while it waits. */

#define OUT_CHUNK 65536

static JobState job_state(cgov_job *j) {
        pthread_mutex_lock(&j->g->lock);
        JobState state = j->g->closed ? JOB_ENDED : j->state;
        pthread_mutex_unlock(&j->g->lock);
        return state;
}

/* Reads the pipe until EOF, or until the job has ended and the pipe has
 * nothing more: a copy of the write end may live on in another forked
 * child of this process, so EOF alone cannot be waited for. Our own copy
 * of the write end is closed as soon as the child has its own. */
static int drain_output(cgov_job *j, int fd, int *write_fd, char **buf, size_t *len) {
        size_t size = 0;

        for (;;) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                int n = poll(&pfd, 1, 50);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0) {
                        JobState state = job_state(j);
                        if (*write_fd >= 0 && state >= JOB_RUNNING)
                                *write_fd = safe_close(*write_fd);
                        if (state == JOB_ENDED)
                                return 0;
                        continue;
                }
                if (*len + OUT_CHUNK > size) {
                        size_t want = MAX(size * 2, (size_t) OUT_CHUNK * 2);
                        char *b = realloc(*buf, want);
                        if (!b)
                                return -ENOMEM;
                        *buf = b;
                        size = want;
                }
                ssize_t k = read(fd, *buf + *len, OUT_CHUNK);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return 0;
                *len += (size_t) k;
        }
}

int gov_call(cgov_pool *p, cgov_fn fn, void *arg, const struct cgov_job_spec *spec, struct cgov_result *res,
             void **out, size_t *out_len) {
        _cleanup_close_ int out_read = -EBADF, out_write = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        cgov_job *j;
        int pipefd[2], r;

        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        out_read = pipefd[0];
        out_write = pipefd[1];
        /* The child writes blocking, like to any pipe. */
        if (fcntl(out_write, F_SETFL, 0) < 0)
                return negative_errno();

        JobLaunch call = { .fn = fn, .fn_arg = arg, .out_fd = out_write };
        r = job_submit(p, spec, &call, NULL, false, &j, res);
        if (r < 0)
                return r;
        if (job_state(j) >= JOB_RUNNING)
                out_write = safe_close(out_write); /* else the queued job still needs it */
        r = drain_output(j, out_read, &out_write, &buf, &len);
        if (r >= 0)
                r = gov_await(j, -1, res);
        else {
                (void) gov_kill(j);
                (void) gov_await(j, -1, res);
        }
        job_unref(j);
        if (r < 0)
                return r;
        if (out) {
                *out = len > 0 ? TAKE_PTR(buf) : NULL;
                *out_len = len;
        }
        return res->outcome == CGOV_OUTCOME_REJECTED ? res->rejection : 0;
}
