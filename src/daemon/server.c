/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "daemon.h"
#include "governor.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

/* The socket side: accepting, reading requests, writing replies. A
 * connection processes one request at a time, in order: while a reply is
 * still unwritten, or while a Wait is parked, nothing more is read from it
 * (it may only hang up), so a client that sends without reading cannot make
 * the daemon buffer without bound.
 *
 * Requests are handled only from the connection's own event callbacks,
 * never from inside another's: a job's end answers the Waits parked on it
 * and only schedules their connections to go on (connection_resume), so
 * whatever those connections had buffered (another Wait for the same job,
 * say) cannot collect or free what the job-end path is still walking. */

static void connection_free(Connection *c) {
        Daemon *d = c->d;

        methods_connection_closed(c, d);
        jobs_unwait(c);
        jobs_unsubmit(c);
        c->io = sd_event_source_disable_unref(c->io);
        c->resume = sd_event_source_disable_unref(c->resume);
        wire_free(c->wire);
        UserCount *u = user_count(d, c->who.uid);
        if (u && u->connections > 0)
                u->connections--;
        LIST_REMOVE(connections, d->connections, c);
        d->n_connections--;
        identity_done(&c->who);
        free(c->slots);
        free(c);
}

static void connection_close(Connection *c) {
        log_debug("Connection of %s (pid %d) closed.", c->who.name, (int) c->who.pid);
        connection_free(c);
}

/* Which events the connection waits for now; closes it when it failed. */
static void connection_update(Connection *c) {
        uint32_t events;

        if (c->dead) {
                connection_close(c);
                return;
        }
        events = wire_has_output(c->wire) ? EPOLLOUT : 0;
        if (c->waiting_for || c->submitting || events)
                events |= EPOLLRDHUP; /* a hang-up still ends a parked Wait */
        else
                events |= EPOLLIN;
        if (sd_event_source_set_io_events(c->io, events) < 0)
                connection_close(c);
}

void connection_reply(Connection *c, json_object *reply) {
        int r;

        if (!reply) {
                c->dead = true; /* out of memory: a reply cannot be owed silently */
                return;
        }
        r = wire_queue(c->wire, reply, NULL, 0);
        json_object_put(reply);
        if (r == -EMSGSIZE) {
                /* Nothing was queued: a listing of thousands of jobs or pools
                 * can outgrow a message. The client gets an error that says
                 * so, rather than a hang-up that looks like a crash. */
                log_warning("A reply to %s (pid %d) is over %u bytes: sent an error instead.", c->who.name,
                            (int) c->who.pid, WIRE_MESSAGE_MAX);
                json_object *e = proto_error_system(r);
                r = e ? wire_queue(c->wire, e, NULL, 0) : -ENOMEM;
                json_object_put(e);
        }
        if (r >= 0)
                r = wire_flush(c->wire);
        if (r < 0)
                c->dead = true;
}

/* Handles the requests buffered, one at a time, as long as nothing holds
 * the connection. */
static void connection_process(Connection *c) {
        while (!c->dead && !c->waiting_for && !c->submitting && !wire_has_output(c->wire)) {
                int fds[WIRE_FDS_MAX];
                size_t n_fds = 0;
                json_object *msg = NULL;

                int r = wire_take(c->wire, &msg, fds, &n_fds);
                if (r == 0)
                        break;
                if (r < 0) {
                        /* Not one JSON object: say so, then hang up, since the
                         * stream cannot be trusted to be in step any more. */
                        connection_reply(c, proto_error_invalid_parameter("message"));
                        (void) wire_flush(c->wire);
                        c->dead = true;
                        break;
                }
                (void) method_dispatch(c, c->d, msg, fds, n_fds);
                json_object_put(msg);
        }
}

static int on_connection_resume(sd_event_source *s, void *userdata) {
        Connection *c = userdata;

        connection_process(c);
        connection_update(c);
        return 0;
}

void connection_resume(Connection *c) {
        /* The next turn of the loop: see the top of this file. */
        if (sd_event_source_set_enabled(c->resume, SD_EVENT_ONESHOT) < 0)
                c->dead = true; /* cannot happen for a source we own; never hang a client */
}

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        int r;

        if (revents & EPOLLOUT) {
                r = wire_flush(c->wire);
                if (r < 0)
                        c->dead = true;
        }
        if (!c->dead && (revents & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
            (c->waiting_for || c->submitting || !(revents & EPOLLIN)))
                c->dead = true; /* gone: a parked Wait has nobody to answer */
        if (!c->dead && (revents & EPOLLIN)) {
                r = wire_read(c->wire);
                if (r < 0) {
                        if (r == -EMSGSIZE)
                                log_warning("Closing the connection of %s (pid %d): a message over %u bytes.",
                                            c->who.name, (int) c->who.pid, WIRE_MESSAGE_MAX);
                        else if (r == -ETOOMANYREFS)
                                log_warning("Closing the connection of %s (pid %d): too many file descriptors.",
                                            c->who.name, (int) c->who.pid);
                        c->dead = true;
                }
        }
        if (!c->dead)
                connection_process(c);
        connection_update(c);
        return 0;
}

/* What tenants send us is closed where a close that blocks (their FUSE
 * file, say) cannot hold up the daemon (closer.c). */
static void close_tenant_fds(const int *fds, size_t n, void *userdata) {
        Daemon *d = userdata;
        governor_close_fds(d->gov, fds, n);
}

/* Refuses a connection beyond a bound with an error it can read. */
static void refuse(Daemon *d, int fd, const char *limit, unsigned max) {
        Wire *w = NULL;
        json_object *p = json_object_new_object();

        if (p) {
                json_object_object_add(p, "limit", json_object_new_string(limit));
                json_object_object_add(p, "max", json_object_new_int64(max));
        }
        json_object *e = proto_error(PROTO_ERROR_LIMIT_EXCEEDED, p);
        if (wire_new(fd, &w) < 0)
                return;
        wire_set_closer(w, close_tenant_fds, d);
        if (e && wire_queue(w, e, NULL, 0) >= 0)
                (void) wire_flush(w);
        json_object_put(e);
        wire_free(w);
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;
        (void) sd_event_source_set_enabled(d->listen_source, SD_EVENT_ON);
        return 0;
}

/* Out of fds (or memory): the connection stays in the backlog and the
 * socket stays readable, so retrying at once would spin. Stop listening
 * for a moment; a connection that closes meanwhile frees what is needed. */
static void accept_pause(Daemon *d, int err) {
        uint64_t now = 0;
        int r;

        (void) sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        /* Once in a while, not ten lines a second. */
        if (d->accept_paused_logged == 0 || now - d->accept_paused_logged >= 10 * UINT64_C(1000000)) {
                log_warning_errno(err, "Failed to accept a connection, pausing for %u ms: %m", ACCEPT_PAUSE_MS);
                d->accept_paused_logged = now;
        }
        r = sd_event_source_set_enabled(d->listen_source, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_source_set_time_relative(d->accept_retry, ACCEPT_PAUSE_MS * UINT64_C(1000));
        if (r >= 0)
                r = sd_event_source_set_enabled(d->accept_retry, SD_EVENT_ONESHOT);
        if (r < 0)
                (void) sd_event_source_set_enabled(d->listen_source, SD_EVENT_ON); /* better busy than deaf */
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Daemon *d = userdata;
        _cleanup_close_ int cfd = -EBADF;
        Connection *c;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        accept_pause(d, errno);
                else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(errno, "Failed to accept a connection: %m");
                return 0;
        }
        if (d->n_connections >= CONNECTIONS_MAX) {
                refuse(d, TAKE_FD(cfd), "connections", CONNECTIONS_MAX);
                return 0;
        }

        c = calloc(1, sizeof *c);
        if (!c)
                return 0;
        r = identity_from_peer(cfd, &c->who);
        if (r < 0) {
                log_warning_errno(r, "Failed to identify a peer: %m");
                free(c);
                return 0;
        }
        UserCount *u = user_count(d, c->who.uid);
        if (!u || u->connections >= CONNECTIONS_PER_USER_MAX) {
                if (u)
                        log_warning("Refusing a connection of %s: %u open already.", c->who.name, u->connections);
                refuse(d, TAKE_FD(cfd), "connections", CONNECTIONS_PER_USER_MAX);
                identity_done(&c->who);
                free(c);
                return 0;
        }
        c->d = d;
        r = wire_new(TAKE_FD(cfd), &c->wire);
        if (r >= 0)
                wire_set_closer(c->wire, close_tenant_fds, d);
        if (r >= 0)
                r = sd_event_add_io(d->event, &c->io, wire_fd(c->wire), EPOLLIN, on_connection_io, c);
        if (r >= 0)
                r = sd_event_add_defer(d->event, &c->resume, on_connection_resume, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->resume, SD_EVENT_OFF);
        if (r < 0) {
                log_warning_errno(r, "Failed to set up a connection: %m");
                sd_event_source_disable_unref(c->resume);
                sd_event_source_disable_unref(c->io);
                wire_free(c->wire);
                identity_done(&c->who);
                free(c);
                return 0;
        }
        u->connections++;
        LIST_PREPEND(connections, d->connections, c);
        d->n_connections++;
        log_debug("Connection of %s (uid %u, pid %d).", c->who.name, (unsigned) c->who.uid, (int) c->who.pid);
        return 0;
}

static int listen_on_path(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);

        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
        }

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        /* A socket file left by a daemon that was killed: ours to replace. */
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return negative_errno();
        /* Anyone may connect: who they are is SO_PEERCRED's to say, and the
         * policy's to judge. */
        if (chmod(path, 0666) < 0 || listen(fd, SOMAXCONN) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

int server_listen(Daemon *d) {
        int n = sd_listen_fds(true), r;

        if (n > 1)
                return log_error_errno(EINVAL, "Got %d sockets from systemd; cgovd takes one.", n);
        if (n == 1) {
                d->listen_fd = SD_LISTEN_FDS_START;
                if (sd_is_socket_unix(d->listen_fd, SOCK_STREAM, 1, NULL, 0) <= 0)
                        return log_error_errno(EINVAL, "The socket systemd passed is not a listening Unix stream socket.");
                r = fcntl(d->listen_fd, F_SETFL, fcntl(d->listen_fd, F_GETFL) | O_NONBLOCK);
                if (r < 0)
                        return log_error_errno(errno, "Failed to make the socket non-blocking: %m");
                d->socket_path = mfree(d->socket_path); /* systemd's to remove */
                log_info("Listening on the socket systemd passed.");
        } else {
                d->listen_fd = listen_on_path(d->socket_path);
                if (d->listen_fd < 0)
                        return log_error_errno(d->listen_fd, "Failed to listen on %s: %m", d->socket_path);
                log_info("Listening on %s.", d->socket_path);
        }
        r = sd_event_add_io(d->event, &d->listen_source, d->listen_fd, EPOLLIN, on_accept, d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the socket: %m");
        /* Made now, while there are fds for its timerfd: it is needed when
         * there are none left. */
        r = sd_event_add_time(d->event, &d->accept_retry, CLOCK_MONOTONIC, UINT64_MAX, 0, on_accept_retry, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->accept_retry, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to make a timer: %m");
        return 0;
}

void server_done(Daemon *d) {
        d->stopping = true;
        while (d->connections)
                connection_free(d->connections);
        d->accept_retry = sd_event_source_disable_unref(d->accept_retry);
        d->listen_source = sd_event_source_disable_unref(d->listen_source);
        d->listen_fd = safe_close(d->listen_fd);
        if (d->socket_path)
                (void) unlink(d->socket_path);
}
