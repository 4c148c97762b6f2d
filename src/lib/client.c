/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "client.h"
#include "internal.h"
#include "macro.h"
#include "protocol.h"

extern char **environ;

/* A call that does not wait for a job still must not hang forever on a
 * daemon that stopped answering. */
#define CALL_TIMEOUT_USEC (60 * UINT64_C(1000000))
#define RECONNECT_PAUSE_NSEC (100 * 1000000L)
/* A Wait asks for so long at most; the daemon answers by then. */
#define WAIT_CHUNK_MS 30000
#define WAIT_MARGIN_USEC (5 * UINT64_C(1000000))

static int client_connect(const char *address, Wire **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(address);
        int fd;

        if (len >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, address, len + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        return wire_new(fd, ret);
}

static bool connection_lost(int r) {
        return r == -ECONNRESET || r == -EPIPE || r == -ENOTCONN || r == -ECONNREFUSED || r == -ENOENT;
}

/* One exchange on w: the reply's parameters, or the error mapped. */
static int exchange(Wire *w, json_object *request, const int *fds, size_t n_fds, uint64_t deadline,
                    json_object **ret, struct cgov_result *res) {
        json_object *msg = NULL, *params;
        const char *error;
        int r;

        r = wire_call(w, request, fds, n_fds, deadline, &msg);
        if (r < 0)
                return r;
        r = proto_reply_parse(msg, &error, &params);
        if (r < 0)
                r = -EPROTO;
        else if (error)
                r = proto_error_to_code(error, params, res);
        else if (ret)
                *ret = json_object_get(params);
        json_object_put(msg);
        return r;
}

static bool method_only_reads(const char *method) {
        static const char *const reads[] = { "GetInfo", "FindPool", "ListPools", "GetJob", "ListJobs" };
        for (size_t i = 0; i < ELEMENTSOF(reads); i++)
                if (strcmp(reads[i], method) == 0)
                        return true;
        return false;
}

/* Slots were held by the old connection: the daemon returned them. */
static void forget_slots(cgov *g) {
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_pools; i++)
                g->pools[i]->slots_acquired = 0;
        pthread_mutex_unlock(&g->lock);
}

int client_call(cgov *g, const char *method, json_object *params, const int *fds, size_t n_fds,
                json_object **ret, struct cgov_result *res) {
        Client *c = g->client;
        json_object *request = proto_request(method, params);
        int r;

        if (!request)
                return -ENOMEM;
        pthread_mutex_lock(&c->lock);
        for (unsigned attempt = 0;; attempt++) {
                bool fresh = false;
                if (!c->wire) {
                        r = client_connect(c->address, &c->wire);
                        if (r < 0)
                                break;
                        c->generation++;
                        forget_slots(g);
                        fresh = true;
                }
                r = exchange(c->wire, request, fds, n_fds, now_usec() + CALL_TIMEOUT_USEC, ret, res);
                if (r >= 0 || !connection_lost(r) || r == -ETIMEDOUT) {
                        if (r == -ETIMEDOUT)
                                c->wire = wire_free(c->wire); /* out of step now */
                        break;
                }
                c->wire = wire_free(c->wire);
                /* A request that changes nothing may be sent again; another
                 * may have been carried out before the daemon went away. */
                if (fresh || attempt > 0 || !method_only_reads(method))
                        break;
        }
        pthread_mutex_unlock(&c->lock);
        json_object_put(request);
        return r;
}

/* ---- open and close ------------------------------------------------------------ */

static void drop_idle(Client *c) {
        while (c->n_idle > 0)
                wire_free(c->idle[--c->n_idle]);
}

static void client_free(Client *c) {
        if (!c)
                return;
        wire_free(c->wire);
        drop_idle(c);
        free(c->address);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

int client_open(const struct cgov_options *opts, cgov **ret) {
        json_object *info = NULL, *v;
        cgov *g;
        int r;

        if (!opts->address[0] || opts->cgroup_root)
                return -EINVAL;
        g = governor_new(opts->flags);
        if (!g)
                return -ENOMEM;
        g->client = calloc(1, sizeof *g->client);
        if (!g->client || !(g->client->address = strdup(opts->address))) {
                governor_unref(g);
                return -ENOMEM;
        }
        pthread_mutex_init(&g->client->lock, NULL);

        r = client_call(g, "GetInfo", NULL, NULL, 0, &info, NULL);
        if (r >= 0) {
                /* A daemon of another protocol version would misread us. */
                if (!json_object_object_get_ex(info, "version", &v) || json_object_get_int(v) != PROTO_VERSION)
                        r = -EPROTO;
                else if (json_object_object_get_ex(info, "root", &v) && !(g->root = strdup(json_object_get_string(v))))
                        r = -ENOMEM;
        }
        json_object_put(info);
        if (r < 0) {
                governor_unref(g);
                return r;
        }
        *ret = g;
        return 0;
}

void client_close(cgov *g) {
        pthread_mutex_lock(&g->lock);
        g->closed = true;
        pthread_cond_broadcast(&g->job_ended);
        pthread_mutex_unlock(&g->lock);
        /* Closing the connection gives back its slots. */
        pthread_mutex_lock(&g->client->lock);
        g->client->wire = wire_free(g->client->wire);
        drop_idle(g->client);
        pthread_mutex_unlock(&g->client->lock);
        governor_unref(g);
}

void client_governor_free(cgov *g) {
        client_free(g->client);
        g->client = NULL;
}

/* ---- pools ---------------------------------------------------------------------- */

static json_object *params_pool(const cgov_pool *p) {
        json_object *o = json_object_new_object();
        if (o && p)
                json_object_object_add(o, "pool", json_object_new_string(p->path));
        return o;
}

static int get_string(json_object *o, const char *key, const char **ret) {
        return proto_get_string(o, key, ret) < 0 ? -EPROTO : 0;
}

int client_pool_find(cgov *g, const char *path, cgov_pool **ret) {
        json_object *params = json_object_new_object(), *reply = NULL;
        const char *rpath, *cgroup;
        cgov_pool *p = NULL;
        int r;

        if (!params)
                return -ENOMEM;
        if (path)
                json_object_object_add(params, "pool", json_object_new_string(path));
        r = client_call(g, "FindPool", params, NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        if (get_string(reply, "pool", &rpath) < 0 || get_string(reply, "cgroup", &cgroup) < 0) {
                json_object_put(reply);
                return -EPROTO;
        }

        /* One handle per path, living as long as the governor. */
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_pools; i++)
                if (strcmp(g->pools[i]->path, rpath) == 0)
                        p = g->pools[i];
        if (!p) {
                cgov_pool **v = reallocarray(g->pools, g->n_pools + 1, sizeof *v);
                if (v) {
                        g->pools = v;
                        p = calloc(1, sizeof *p);
                }
                if (p) {
                        p->g = g;
                        p->cgroup_fd = -EBADF;
                        p->path = strdup(rpath);
                        p->cgroup = strdup(cgroup);
                        if (!p->path || !p->cgroup)
                                p = (pool_free(p), NULL);
                        else
                                g->pools[g->n_pools++] = p;
                }
        }
        pthread_mutex_unlock(&g->lock);
        json_object_put(reply);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int client_pool_status(cgov_pool *p, struct cgov_pool_status *st) {
        json_object *reply = NULL, *pools;
        int r = client_call(p->g, "ListPools", params_pool(p), NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        r = -ENOENT; /* released, or no longer ours to see */
        if (json_object_object_get_ex(reply, "pools", &pools) && json_object_is_type(pools, json_type_array))
                for (size_t i = 0; i < json_object_array_length(pools); i++) {
                        json_object *o = json_object_array_get_idx(pools, i);
                        const char *path;
                        if (proto_get_string(o, "pool", &path) >= 0 && strcmp(path, p->path) == 0) {
                                r = proto_pool_status_from_json(o, st) < 0 ? -EPROTO : 0;
                                break;
                        }
                }
        json_object_put(reply);
        return r;
}

/* ---- jobs -------------------------------------------------------------------------- */

static json_object *strv_to_json(const char *const *v) {
        json_object *a = json_object_new_array();
        for (; a && v && *v; v++)
                if (json_object_array_add(a, json_object_new_string(*v)) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static cgov_job *job_handle(cgov *g, cgov_pool *p, uint64_t id) {
        /* The caller's: nothing in this process watches it. */
        cgov_job *j = job_alloc(g, p, 1);
        if (!j)
                return NULL;
        j->id = id;
        j->state = JOB_QUEUED;
        return j;
}

/* Takes what a Submit or GetJob reply says about where the job runs. */
static void job_update(cgov_job *j, json_object *o) {
        const char *cgroup = NULL, *state = NULL;
        int64_t pid = 0;

        (void) proto_get_i64(o, "pid", 0, INT32_MAX, &pid);
        (void) proto_get_string(o, "cgroup", &cgroup);
        (void) proto_get_string(o, "state", &state);
        pthread_mutex_lock(&j->g->lock);
        if (pid > 0)
                j->pid = (pid_t) pid;
        /* Set once: cgov_job_cgroup()'s string must stay valid. */
        if (cgroup && !j->cgroup)
                j->cgroup = strdup(cgroup);
        if (state && j->state != JOB_ENDED && strcmp(state, "queued") != 0)
                j->state = JOB_RUNNING;
        pthread_mutex_unlock(&j->g->lock);
}

int client_submit(cgov_pool *p, const struct cgov_job_spec *spec, bool detach, cgov_job **ret,
                  struct cgov_result *res) {
        static const int inherit[3] = { 0, 1, 2 };
        json_object *params = params_pool(p), *reply = NULL, *stdio;
        _cleanup_free_ char *cwd = NULL;
        const int *io = (spec->flags & CGOV_JOB_STDIO) ? spec->stdio : inherit;
        int fds[3];
        size_t n_fds = 0;
        uint64_t id;
        int r;

        if (!params)
                return -ENOMEM;
        /* The caller's environment and directory unless the spec names
         * them, as in embedded mode. */
        if (!spec->cwd && !(cwd = getcwd(NULL, 0))) {
                json_object_put(params);
                return negative_errno();
        }
        json_object_object_add(params, "argv", strv_to_json(spec->argv));
        json_object_object_add(params, "env", strv_to_json(spec->envp ?: (const char *const *) environ));
        json_object_object_add(params, "cwd", json_object_new_string(spec->cwd ?: cwd));
        if (spec->name)
                json_object_object_add(params, "name", json_object_new_string(spec->name));
        if (spec->memory_max)
                json_object_object_add(params, "memoryMax", json_object_new_uint64(spec->memory_max));
        if (spec->pids_max)
                json_object_object_add(params, "tasksMax", json_object_new_uint64(spec->pids_max));
        if (spec->timeout_ms)
                json_object_object_add(params, "timeoutMs", json_object_new_uint64(spec->timeout_ms));
        if (spec->queue_timeout_ms)
                json_object_object_add(params, "queueTimeoutMs", json_object_new_int64(spec->queue_timeout_ms));
        if (detach)
                json_object_object_add(params, "detach", json_object_new_boolean(true));
        stdio = json_object_new_array();
        for (int i = 0; stdio && i < 3; i++) {
                if (io[i] < 0) {
                        json_object_array_add(stdio, NULL);
                        continue;
                }
                json_object_array_add(stdio, json_object_new_int((int) n_fds));
                fds[n_fds++] = io[i];
        }
        json_object_object_add(params, "stdio", stdio);

        r = client_call(p->g, "Submit", params, fds, n_fds, &reply, res);
        if (r < 0)
                return r;
        if (proto_get_u64(reply, "id", UINT64_MAX, &id) < 0) {
                json_object_put(reply);
                return -EPROTO;
        }
        cgov_job *j = job_handle(p->g, p, id);
        if (!j) {
                json_object_put(reply);
                return -ENOMEM;
        }
        job_update(j, reply);
        json_object_put(reply);
        *ret = j;
        return 0;
}

int client_job_attach(cgov *g, uint64_t id, cgov_job **ret) {
        json_object *params = json_object_new_object(), *reply = NULL;
        const char *path;
        cgov_pool *p = NULL;
        int r;

        if (!params)
                return -ENOMEM;
        json_object_object_add(params, "id", json_object_new_uint64(id));
        r = client_call(g, "GetJob", params, NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        /* Its pool, when we may see it (an administrator's view of a
         * tenant's job may not include the tenant's pool). */
        if (proto_get_string(reply, "pool", &path) >= 0)
                (void) client_pool_find(g, path, &p);
        cgov_job *j = job_handle(g, p, id);
        if (!j) {
                json_object_put(reply);
                return -ENOMEM;
        }
        job_update(j, reply);
        json_object_put(reply);
        *ret = j;
        return 0;
}

uint64_t client_job_id(cgov_job *j) {
        return j->id;
}

static int job_finished(cgov_job *j, struct cgov_result *res) {
        pthread_mutex_lock(&j->g->lock);
        bool ended = j->state == JOB_ENDED;
        int r = j->start_error;
        if (ended && r == 0)
                *res = j->result;
        pthread_mutex_unlock(&j->g->lock);
        return ended ? r : 1;
}

static void job_set_result(cgov_job *j, const struct cgov_result *res, int start_error) {
        pthread_mutex_lock(&j->g->lock);
        if (j->state != JOB_ENDED) {
                j->result = *res;
                j->start_error = start_error;
                j->state = JOB_ENDED;
        }
        pthread_mutex_unlock(&j->g->lock);
}

/* A Wait on a connection of its own, so that any number of threads can
 * await at once; across a daemon restart it reconnects and asks again. */
/* A connection for one Wait: a kept one, or a new one. */
static int wait_connection(Client *c, Wire **ret, bool *ret_kept) {
        pthread_mutex_lock(&c->lock);
        *ret_kept = c->n_idle > 0;
        if (*ret_kept)
                *ret = c->idle[--c->n_idle];
        pthread_mutex_unlock(&c->lock);
        return *ret_kept ? 0 : client_connect(c->address, ret);
}

static void wait_connection_done(Client *c, Wire *w) {
        pthread_mutex_lock(&c->lock);
        if (c->n_idle < ELEMENTSOF(c->idle))
                c->idle[c->n_idle++] = TAKE_PTR(w);
        pthread_mutex_unlock(&c->lock);
        wire_free(w);
}

int client_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res) {
        uint64_t deadline = timeout_ms >= 0 ? now_usec() + (uint64_t) timeout_ms * 1000 : 0;
        uint64_t lost_since = 0;
        int r;

        for (;;) {
                r = job_finished(j, res);
                if (r <= 0)
                        return r;
                if (j->g->closed)
                        return -ESHUTDOWN;

                /* Each Wait asks for at most WAIT_CHUNK_MS: a daemon that
                 * answers neither the job's end nor that timeout (within a
                 * margin) is gone, even when its socket stays open (a
                 * process it left behind still holds it). */
                uint64_t now = now_usec();
                int64_t left = WAIT_CHUNK_MS;
                if (deadline) {
                        if (now >= deadline && timeout_ms != 0)
                                return CGOV_E_TIMEOUT;
                        left = now >= deadline ? 0 : (int64_t) MIN((deadline - now) / 1000, (uint64_t) WAIT_CHUNK_MS);
                }
                Wire *w = NULL;
                json_object *params = json_object_new_object(), *reply = NULL, *request;
                if (!params)
                        return -ENOMEM;
                json_object_object_add(params, "id", json_object_new_uint64(j->id));
                json_object_object_add(params, "timeoutMs", json_object_new_int64(left));
                request = proto_request("Wait", params);
                if (!request)
                        return -ENOMEM;
                bool kept = false;
                r = wait_connection(j->g->client, &w, &kept);
                if (r >= 0)
                        r = exchange(w, request, NULL, 0, now + (uint64_t) left * 1000 + WAIT_MARGIN_USEC, &reply,
                                     NULL);
                json_object_put(request);
                if (r >= 0 || r == -ESRCH || r == CGOV_E_TIMEOUT)
                        wait_connection_done(j->g->client, TAKE_PTR(w)); /* in step: fit for the next */
                wire_free(w);
                if (r == -ETIMEDOUT)
                        r = -ECONNRESET; /* no answer at all: as good as gone */
                if (kept && connection_lost(r))
                        continue; /* kept across a daemon restart: a new one at once */
                if (r >= 0 || !connection_lost(r))
                        lost_since = 0;
                if (r == CGOV_E_TIMEOUT) {
                        if (deadline && now_usec() >= deadline)
                                return r; /* the caller's own timeout */
                        continue;         /* only this chunk ran out */
                }

                if (r >= 0) {
                        struct cgov_result got = {};
                        int start_error = 0;
                        r = proto_result_from_json(reply, &got, &start_error);
                        json_object_put(reply);
                        if (r < 0)
                                return -EPROTO;
                        job_set_result(j, &got, start_error);
                        continue;
                }
                if (r == -ESRCH) {
                        /* Collected by another await of ours, or it ended while
                         * no daemon watched: then nobody knows how. */
                        if (job_finished(j, res) <= 0)
                                continue;
                        struct cgov_result unknown = { .outcome = CGOV_OUTCOME_UNKNOWN };
                        job_set_result(j, &unknown, 0);
                        continue;
                }
                if (!connection_lost(r))
                        return r;
                lost_since = lost_since ?: now_usec();
                /* The daemon went away: a restart re-adopts the job. */
                if (now_usec() - lost_since > CLIENT_RECONNECT_MS * UINT64_C(1000))
                        return r;
                nanosleep(&(struct timespec) { .tv_nsec = RECONNECT_PAUSE_NSEC }, NULL);
        }
}

static json_object *params_id(cgov_job *j) {
        json_object *o = json_object_new_object();
        if (o)
                json_object_object_add(o, "id", json_object_new_uint64(j->id));
        return o;
}

int client_kill(cgov_job *j) {
        return client_call(j->g, "Kill", params_id(j), NULL, 0, NULL, NULL);
}

static int killed_count(cgov *g, const char *method, json_object *params) {
        json_object *reply = NULL;
        int64_t killed = 0;
        int r = client_call(g, method, params, NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        r = proto_get_i64(reply, "killed", 0, INT32_MAX, &killed) < 0 ? -EPROTO : (int) killed;
        json_object_put(reply);
        return r;
}

int client_kill_by_name(cgov_pool *p, const char *name) {
        json_object *params = params_pool(p);
        if (params)
                json_object_object_add(params, "name", json_object_new_string(name));
        return killed_count(p->g, "KillByName", params);
}

int client_flush(cgov_pool *p) {
        return killed_count(p->g, "Flush", params_pool(p));
}

static void job_refresh(cgov_job *j) {
        json_object *reply = NULL;
        if (client_call(j->g, "GetJob", params_id(j), NULL, 0, &reply, NULL) >= 0) {
                job_update(j, reply);
                json_object_put(reply);
        }
}

pid_t client_job_pid(cgov_job *j) {
        if (__atomic_load_n(&j->pid, __ATOMIC_RELAXED) == 0)
                job_refresh(j);
        return __atomic_load_n(&j->pid, __ATOMIC_RELAXED);
}

const char *client_job_cgroup(cgov_job *j) {
        if (!__atomic_load_n(&j->cgroup, __ATOMIC_ACQUIRE))
                job_refresh(j);
        return __atomic_load_n(&j->cgroup, __ATOMIC_ACQUIRE);
}

/* ---- slots ----------------------------------------------------------------------- */

static json_object *params_count(cgov_pool *p, unsigned n) {
        json_object *o = params_pool(p);
        if (o)
                json_object_object_add(o, "count", json_object_new_int64(n));
        return o;
}

int client_acquire(cgov_pool *p, unsigned n) {
        json_object *reply = NULL;
        int64_t granted = 0;
        int r;

        if (n == 0)
                return 0;
        r = client_call(p->g, "Acquire", params_count(p, n), NULL, 0, &reply, NULL);
        if (r == -ENOENT || r == -EPERM)
                return 0; /* released, as in embedded mode */
        if (r < 0)
                return r;
        r = proto_get_i64(reply, "granted", 0, n, &granted) < 0 ? -EPROTO : (int) granted;
        json_object_put(reply);
        if (r > 0) {
                pthread_mutex_lock(&p->g->lock);
                p->slots_acquired += (uint32_t) r;
                pthread_mutex_unlock(&p->g->lock);
        }
        return r;
}

int client_release(cgov_pool *p, unsigned n) {
        pthread_mutex_lock(&p->g->lock);
        bool enough = n <= p->slots_acquired;
        pthread_mutex_unlock(&p->g->lock);
        if (!enough)
                return -EINVAL;
        if (n == 0)
                return 0;
        int r = client_call(p->g, "Release", params_count(p, n), NULL, 0, NULL, NULL);
        if (r < 0)
                return r;
        pthread_mutex_lock(&p->g->lock);
        p->slots_acquired -= MIN(n, p->slots_acquired);
        pthread_mutex_unlock(&p->g->lock);
        return 0;
}
