/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "internal.h"
#include "macro.h"
#include "raw-syscall.h"
#include "raw-task.h"

/* Closing the files a tenant gave us, on no thread that serves. close(2)
 * of a file on FUSE sends FLUSH and waits for its server, uninterruptibly:
 * forever, if the server is the tenant's own and never answers; the last
 * close of a TCP socket with SO_LINGER waits for its peer. So the fds go to
 * a closer, a process that shares our fd table (CLONE_FILES), closes them
 * there and exits, as systemd's asynchronous_close() does: a close that
 * blocks, blocks only it. Files that cannot block (pipes, Unix sockets,
 * /dev/null, files on a disk: what a script usually passes) are closed at
 * once.
 *
 * A closer that never ends (its tenant's FUSE server never answers) stays,
 * with its hold on our fd table; at most CLOSERS_MAX run at once, and fds
 * beyond wait in a queue for one to end (an fd that waits is one that its
 * tenant keeps us holding, as if it had never been sent). Should the
 * governor's process end while a closer is stuck, the closer keeps its fds
 * (the clients' sockets among them) open until it ends. */

#define CLOSERS_MAX 32
#define BATCH_MAX 64

typedef struct CloserArgs {
        int n;
        int fds[BATCH_MAX];
} CloserArgs;

_raw_task_code_ static int closer_main(void *arg) {
        CloserArgs *a = arg;
        uint64_t all = UINT64_MAX;

        /* Nothing but SIGKILL stops it halfway. */
        (void) raw_syscall4(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all);
        (void) raw_syscall5(SYS_prctl, PR_SET_NAME, "cgov-closer", 0, 0, 0);
        for (int i = 0; i < a->n; i++)
                (void) raw_syscall1(SYS_close, a->fds[i]);
        raw_task_exit(a, 0);
}

/* Whether close() of fd cannot block: asked without a word to the file's
 * server (AT_STATX_DONT_SYNC: FUSE answers from its cache). The file
 * systems whose close waits for someone (FUSE, NFS, CIFS, Ceph, 9p...)
 * have no block device: their device number is an anonymous one (major 0),
 * as tmpfs's is, which goes to a closer too. */
static bool close_cannot_block(int fd) {
        struct statx stx;
        int domain;

        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) < 0)
                return false;
        if (S_ISREG(stx.stx_mode) || S_ISDIR(stx.stx_mode))
                return stx.stx_dev_major != 0;
        if (S_ISFIFO(stx.stx_mode))
                return true;
        if (S_ISCHR(stx.stx_mode))
                return stx.stx_rdev_major == 1 && stx.stx_rdev_minor == 3; /* /dev/null */
        if (S_ISSOCK(stx.stx_mode))
                return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &(socklen_t) { sizeof domain }) == 0 &&
                       domain == AF_UNIX;
        return false;
}

/* Lock held. Starts closers for what waits, as many as may run (any number
 * once the governor closes: nobody reaps them then, our exit does). */
static void closers_start(cgov *g) {
        while (g->n_close_queue > 0 && (g->n_closers < CLOSERS_MAX || g->closed)) {
                CloserArgs a = { .n = (int) MIN(g->n_close_queue, (size_t) BATCH_MAX) };
                pid_t pid;
                int pidfd;

                memcpy(a.fds, g->close_queue + g->n_close_queue - (size_t) a.n, (size_t) a.n * sizeof(int));
                if (raw_task_start(closer_main, &a, sizeof a, CLONE_FILES, NULL, &pid, &pidfd) < 0)
                        return; /* out of processes or memory: they wait for the next try */
                struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT,
                                          .data.u64 = (uint64_t) pidfd << 3 | EXITS_TAG_CLOSER };
                if (g->closed)
                        safe_close(pidfd);
                else if (epoll_ctl(g->exits_fd, EPOLL_CTL_ADD, pidfd, &ev) < 0) {
                        /* Cannot watch it: wait for it here, it ends soon or
                         * never; never is its tenant's, and so is this. */
                        (void) spawn_reap(pidfd, NULL, NULL);
                        safe_close(pidfd);
                } else
                        g->n_closers++;
                g->n_close_queue -= (size_t) a.n;
        }
}

void governor_close_fds(cgov *g, const int *fds, size_t n) {
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < n; i++) {
                if (fds[i] < 0)
                        continue;
                if (close_cannot_block(fds[i]) || g->exits_fd < 0) {
                        safe_close(fds[i]);
                        continue;
                }
                if (g->n_close_queue == g->close_queue_size) {
                        size_t size = MAX(g->close_queue_size * 2, (size_t) 64);
                        int *q = reallocarray(g->close_queue, size, sizeof *q);
                        if (!q) {
                                safe_close(fds[i]); /* out of memory: better to risk the wait */
                                continue;
                        }
                        g->close_queue = q;
                        g->close_queue_size = size;
                }
                g->close_queue[g->n_close_queue++] = fds[i];
        }
        closers_start(g);
        pthread_mutex_unlock(&g->lock);
}

void closer_ended(cgov *g, int pidfd) {
        (void) spawn_reap(pidfd, NULL, NULL);
        safe_close(pidfd);
        pthread_mutex_lock(&g->lock);
        g->n_closers--;
        closers_start(g);
        pthread_mutex_unlock(&g->lock);
}

void closers_flush_at_close(cgov *g) {
        pthread_mutex_lock(&g->lock);
        closers_start(g);
        pthread_mutex_unlock(&g->lock);
        free(g->close_queue);
        g->close_queue = NULL;
        g->n_close_queue = g->close_queue_size = 0;
}
