/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "internal.h"
#include "macro.h"

/* The supervisor: an sd-event loop, on a thread of its own or the
 * caller's loop (GovernorOptions.event), that watches every running job
 * (supervise.c) and serves the queues (queue.c). Other threads hand it
 * work through g->incoming and wake it (governor_wake). */

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        cgov *g = userdata;
        uint64_t n;
        cgov_job *list;
        bool quit;

        (void) !read(fd, &n, sizeof n);
        pthread_mutex_lock(&g->lock);
        list = g->incoming;
        g->incoming = NULL;
        quit = g->quit;
        pthread_mutex_unlock(&g->lock);

        /* Watch in the order they were started; the list is LIFO. */
        cgov_job *rev = NULL;
        while (list) {
                cgov_job *next = list->next_incoming;
                list->next_incoming = rev;
                rev = list;
                list = next;
        }
        for (cgov_job *j = rev, *next; j; j = next) {
                next = j->next_incoming;
                j->next_incoming = NULL;
                (void) job_watch(j);
        }
        if (quit)
                return g->attached ? 0 : sd_event_exit(sd_event_source_get_event(s), 0);
        /* Woken for room that came back, a killed waiter, a new one. */
        queue_dispatch(g);
        return 0;
}

static int on_queue_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        queue_dispatch(userdata);
        return 0;
}

static int on_backend(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        cgov *g = userdata;
        g->backend->watch(g->b);
        return 0;
}

static void *supervisor_main(void *userdata) {
        cgov *g = userdata;
        (void) sd_event_loop(g->event);
        return NULL;
}

/* event: the caller's loop, or NULL for a thread of our own. */
int supervisor_start(cgov *g, sd_event *event) {
        sigset_t all, saved;
        int r;

        g->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (g->wake_fd < 0)
                return negative_errno();
        g->attached = event;
        if (event)
                g->event = sd_event_ref(event);
        else {
                r = sd_event_new(&g->event);
                if (r < 0)
                        return r;
        }
        r = sd_event_add_io(g->event, &g->wake_source, g->wake_fd, EPOLLIN, on_wake, g);
        if (r < 0)
                return r;
        g->closed_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (g->closed_fd < 0)
                return negative_errno();
        g->exits_fd = epoll_create1(EPOLL_CLOEXEC);
        if (g->exits_fd < 0)
                return negative_errno();
        r = sd_event_add_io(g->event, &g->exits_source, g->exits_fd, EPOLLIN, on_exits, g);
        if (r < 0)
                return r;
        /* One timer for every queue: armed for the earliest waiter's deadline. */
        r = sd_event_add_time(g->event, &g->queue_timer, CLOCK_MONOTONIC, UINT64_MAX, 1000, on_queue_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(g->queue_timer, SD_EVENT_OFF);
        if (g->backend->watch) {
                r = sd_event_add_io(g->event, &g->backend_source, g->info.watch_fd, EPOLLIN | EPOLLET, on_backend, g);
                if (r < 0)
                        return r;
        }
        if (g->attached)
                return 0;

        /* Process-directed signals are the host program's business: the
         * supervisor thread must never be the one that receives them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        r = -pthread_create(&g->thread, NULL, supervisor_main, g);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;
        g->thread_started = true;
        return 0;
}

void supervisor_stop(cgov *g) {
        pthread_mutex_lock(&g->lock);
        g->closed = true;
        g->quit = true;
        pthread_cond_broadcast(&g->job_ended);
        pthread_mutex_unlock(&g->lock);
        if (g->closed_fd >= 0)
                (void) !write(g->closed_fd, &(uint64_t) { 1 }, sizeof(uint64_t));

        if (g->thread_started) {
                governor_wake(g);
                pthread_join(g->thread, NULL);
        }
        if (g->attached) {
                /* The caller's loop goes on: it must not call us any more. */
                g->wake_source = sd_event_source_disable_unref(g->wake_source);
                g->queue_timer = sd_event_source_disable_unref(g->queue_timer);
                g->exits_source = sd_event_source_disable_unref(g->exits_source);
                g->backend_source = sd_event_source_disable_unref(g->backend_source);
        }
}
