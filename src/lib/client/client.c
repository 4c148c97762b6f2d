/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "api-ops.h"
#include "job-spec.h"
#include "client.h"
#include "macro.h"
#include "protocol.h"
#include "time-util.h"
#include "wire.h"

extern char **environ;

/* The client's handles: what cgovd said about a pool or a job, and the
 * connection. Every field is guarded by ClientGov.lock, the connection by
 * ClientGov.call_lock. */
typedef struct ClientGov ClientGov;

typedef struct ClientPool {
        ApiHandle api;                 /* first: api_client */
        ClientGov *g;
        char *path, *cgroup;
        uint32_t slots_acquired;       /* cgov_acquire through this connection */
} ClientPool;

typedef struct ClientJob {
        ApiHandle api;                 /* first: api_client */
        ClientGov *g;
        uint64_t id;
        pid_t pid;                     /* 0 until the daemon says */
        char *cgroup;                  /* set once: cgov_job_cgroup()'s string stays valid */
        bool queued;                   /* as the daemon last said */
        bool ended;
        int start_error;               /* a job that could not start: -errno */
        struct cgov_result result;
} ClientJob;

struct ClientGov {
        ApiHandle api;                 /* first: api_client */
        unsigned n_ref;                /* atomic: the caller's until close, one per job handle */
        pthread_mutex_t lock;
        bool closed;
        ClientPool **pools;            /* one handle per path, living as long as the governor */
        size_t n_pools;

        char *address;
        pthread_mutex_t call_lock;     /* the shared connection: one exchange at a time */
        Wire *wire;                    /* NULL after a failure: the next call reconnects */
        unsigned generation;           /* counts reconnections: slots do not survive them */
        /* Connections of finished Waits, kept for the next: a connection
         * costs the daemon an accept and a user-database lookup, more than
         * the Wait itself. Few, since each counts against the user's
         * connection limit. */
        Wire *idle[2];
        size_t n_idle;
};

/* The handles the API gives us are ours only if api_client made them. */
static ClientGov *client_of(cgov *g) {
        return g && api_ops(g) == &api_client ? (ClientGov *) g : NULL;
}
#define POOL(p) ((ClientPool *) (p))
#define JOB(j) ((ClientJob *) (j))

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
static void forget_slots(ClientGov *g) {
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->n_pools; i++)
                g->pools[i]->slots_acquired = 0;
        pthread_mutex_unlock(&g->lock);
}

static int call(ClientGov *c, const char *method, json_object *params, const int *fds, size_t n_fds,
                json_object **ret, struct cgov_result *res) {
        json_object *request = proto_request(method, params);
        int r;

        if (!request)
                return -ENOMEM;
        pthread_mutex_lock(&c->call_lock);
        for (unsigned attempt = 0;; attempt++) {
                bool fresh = false;
                if (!c->wire) {
                        r = client_connect(c->address, &c->wire);
                        if (r < 0)
                                break;
                        c->generation++;
                        forget_slots(c);
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
        pthread_mutex_unlock(&c->call_lock);
        json_object_put(request);
        return r;
}

int client_call(cgov *g, const char *method, json_object *params, const int *fds, size_t n_fds,
                json_object **ret, struct cgov_result *res) {
        ClientGov *c = client_of(g);
        if (!c) {
                json_object_put(params);
                return -EINVAL;
        }
        return call(c, method, params, fds, n_fds, ret, res);
}

/* ---- open and close ------------------------------------------------------------ */

static void drop_idle(ClientGov *c) {
        while (c->n_idle > 0)
                wire_free(c->idle[--c->n_idle]);
}

static void client_pool_free(ClientPool *p) {
        if (!p)
                return;
        free(p->path);
        free(p->cgroup);
        free(p);
}

static void client_unref(ClientGov *c) {
        if (!c || __atomic_sub_fetch(&c->n_ref, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        wire_free(c->wire);
        drop_idle(c);
        for (size_t i = 0; i < c->n_pools; i++)
                client_pool_free(c->pools[i]);
        free(c->pools);
        free(c->address);
        pthread_mutex_destroy(&c->call_lock);
        pthread_mutex_destroy(&c->lock);
        free(c);
}

int client_open(const struct cgov_options *opts, cgov **ret) {
        json_object *info = NULL, *v;
        ClientGov *c;
        int r;

        if (!opts->address[0] || opts->cgroup_root)
                return -EINVAL;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->api.ops = &api_client;
        c->n_ref = 1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_mutex_init(&c->call_lock, NULL);
        c->address = strdup(opts->address);
        if (!c->address) {
                client_unref(c);
                return -ENOMEM;
        }

        r = call(c, "GetInfo", NULL, NULL, 0, &info, NULL);
        /* A daemon of another protocol version would misread us. */
        if (r >= 0 && (!json_object_object_get_ex(info, "version", &v) || json_object_get_int(v) != PROTO_VERSION))
                r = -EPROTO;
        json_object_put(info);
        if (r < 0) {
                client_unref(c);
                return r;
        }
        *ret = (cgov *) c;
        return 0;
}

static void client_close(cgov *g) {
        ClientGov *c = (ClientGov *) g;

        __atomic_store_n(&c->closed, true, __ATOMIC_RELEASE);
        /* Closing the connection gives back its slots. */
        pthread_mutex_lock(&c->call_lock);
        c->wire = wire_free(c->wire);
        drop_idle(c);
        pthread_mutex_unlock(&c->call_lock);
        client_unref(c);
}

/* ---- pools ---------------------------------------------------------------------- */

static json_object *params_pool(const ClientPool *p) {
        json_object *o = json_object_new_object();
        if (o && p)
                json_object_object_add(o, "pool", json_object_new_string(p->path));
        return o;
}

static int get_string(json_object *o, const char *key, const char **ret) {
        return proto_get_string(o, key, ret) < 0 ? -EPROTO : 0;
}

/* The one handle of a path, made on first sight. Lock held. */
static ClientPool *pool_handle(ClientGov *c, const char *path, const char *cgroup) {
        ClientPool *p = NULL;

        for (size_t i = 0; i < c->n_pools; i++)
                if (strcmp(c->pools[i]->path, path) == 0)
                        return c->pools[i];
        ClientPool **v = reallocarray(c->pools, c->n_pools + 1, sizeof *v);
        if (!v)
                return NULL;
        c->pools = v;
        p = calloc(1, sizeof *p);
        if (!p)
                return NULL;
        p->api.ops = &api_client;
        p->g = c;
        p->path = strdup(path);
        p->cgroup = strdup(cgroup);
        if (!p->path || !p->cgroup) {
                client_pool_free(p);
                return NULL;
        }
        c->pools[c->n_pools++] = p;
        return p;
}

int client_pool_find(cgov *g, const char *path, cgov_pool **ret) {
        ClientGov *c = client_of(g);
        json_object *params = json_object_new_object(), *reply = NULL;
        const char *rpath, *cgroup;
        ClientPool *p;
        int r;

        if (!params)
                return -ENOMEM;
        if (!c) {
                json_object_put(params);
                return -EINVAL;
        }
        if (path)
                json_object_object_add(params, "pool", json_object_new_string(path));
        r = call(c, "FindPool", params, NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        if (get_string(reply, "pool", &rpath) < 0 || get_string(reply, "cgroup", &cgroup) < 0) {
                json_object_put(reply);
                return -EPROTO;
        }
        pthread_mutex_lock(&c->lock);
        p = pool_handle(c, rpath, cgroup);
        pthread_mutex_unlock(&c->lock);
        json_object_put(reply);
        if (!p)
                return -ENOMEM;
        *ret = (cgov_pool *) p;
        return 0;
}

static int client_pool_status(cgov_pool *pool, struct cgov_pool_status *st) {
        ClientPool *p = POOL(pool);
        json_object *reply = NULL, *pools;
        int r = call(p->g, "ListPools", params_pool(p), NULL, 0, &reply, NULL);
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

static const char *client_pool_path(cgov_pool *p) {
        return POOL(p)->path;
}

static const char *client_pool_cgroup(cgov_pool *p) {
        return POOL(p)->cgroup;
}

/* The daemon's policy makes the pools. */
static int client_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim, cgov_pool **ret) {
        return -EPERM;
}

static int client_pool_set_limits(cgov_pool *p, const struct cgov_pool_limits *lim) {
        return -EPERM;
}

static int client_pool_release(cgov_pool *p) {
        return -EPERM;
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

/* The caller's: nothing in this process watches it. */
static ClientJob *job_handle(ClientGov *c, uint64_t id) {
        ClientJob *j = calloc(1, sizeof *j);
        if (!j)
                return NULL;
        j->api.ops = &api_client;
        j->g = c;
        j->id = id;
        __atomic_add_fetch(&c->n_ref, 1, __ATOMIC_RELAXED);
        return j;
}

static void client_job_free(cgov_job *job) {
        ClientJob *j = JOB(job);
        ClientGov *c = j->g;

        free(j->cgroup);
        free(j);
        client_unref(c);
}

/* Takes what a Submit or GetJob reply says about where the job runs. */
static void job_update(ClientJob *j, json_object *o) {
        const char *cgroup = NULL, *state = NULL;
        int64_t pid = 0;

        (void) proto_get_i64(o, "pid", 0, INT32_MAX, &pid);
        (void) proto_get_string(o, "cgroup", &cgroup);
        (void) proto_get_string(o, "state", &state);
        pthread_mutex_lock(&j->g->lock);
        if (state)
                j->queued = strcmp(state, "queued") == 0;
        if (pid > 0)
                j->pid = (pid_t) pid;
        /* Set once: cgov_job_cgroup()'s string must stay valid. */
        if (cgroup && !j->cgroup)
                j->cgroup = strdup(cgroup);
        pthread_mutex_unlock(&j->g->lock);
}

/* A handle of job id, as a Submit or GetJob reply (taken) describes it. */
static int job_from_reply(ClientGov *c, uint64_t id, json_object *reply, cgov_job **ret) {
        ClientJob *j = job_handle(c, id);
        if (j)
                job_update(j, reply);
        json_object_put(reply);
        if (!j)
                return -ENOMEM;
        *ret = (cgov_job *) j;
        return 0;
}

int client_submit(cgov_pool *pool, const struct cgov_job_spec *spec, bool detach, cgov_job **ret,
                  struct cgov_result *res) {
        static const int inherit[3] = { 0, 1, 2 };
        ClientPool *p = POOL(pool);
        json_object *params, *reply = NULL, *stdio;
        _cleanup_free_ char *cwd = NULL;
        const int *io = (spec->flags & CGOV_JOB_STDIO) ? spec->stdio : inherit;
        int fds[3];
        size_t n_fds = 0;
        uint64_t id;
        int r;

        if (!client_of((cgov *) p->g))
                return -EINVAL;
        r = job_spec_check(spec, true);
        if (r < 0)
                return r;
        params = params_pool(p);
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

        r = call(p->g, "Submit", params, fds, n_fds, &reply, res);
        if (r < 0)
                return r;
        if (proto_get_u64(reply, "id", UINT64_MAX, &id) < 0) {
                json_object_put(reply);
                return -EPROTO;
        }
        return job_from_reply(p->g, id, reply, ret);
}

static int client_submit_attached(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret) {
        struct cgov_result refusal;
        return client_submit(p, spec, false, ret, &refusal);
}

int client_job_attach(cgov *g, uint64_t id, cgov_job **ret) {
        ClientGov *c = client_of(g);
        json_object *params, *reply = NULL;
        int r;

        if (!c)
                return -EINVAL;
        params = json_object_new_object();
        if (!params)
                return -ENOMEM;
        json_object_object_add(params, "id", json_object_new_uint64(id));
        r = call(c, "GetJob", params, NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        return job_from_reply(c, id, reply, ret);
}

uint64_t client_job_id(cgov_job *j) {
        return api_ops(j) == &api_client ? JOB(j)->id : 0;
}

static bool job_flag(cgov_job *job, bool ended) {
        if (api_ops(job) != &api_client)
                return false;
        ClientJob *j = JOB(job);
        pthread_mutex_lock(&j->g->lock);
        bool v = ended ? j->ended : j->queued && !j->ended;
        pthread_mutex_unlock(&j->g->lock);
        return v;
}

bool client_job_ended(cgov_job *j) {
        return job_flag(j, true);
}

bool client_job_queued(cgov_job *j) {
        return job_flag(j, false);
}

static int job_finished(ClientJob *j, struct cgov_result *res) {
        pthread_mutex_lock(&j->g->lock);
        bool ended = j->ended;
        int r = j->start_error;
        if (ended && r == 0)
                *res = j->result;
        pthread_mutex_unlock(&j->g->lock);
        return ended ? r : 1;
}

static void job_set_result(ClientJob *j, const struct cgov_result *res, int start_error) {
        pthread_mutex_lock(&j->g->lock);
        if (!j->ended) {
                j->result = *res;
                j->start_error = start_error;
                j->ended = true;
        }
        pthread_mutex_unlock(&j->g->lock);
}

/* A Wait on a connection of its own, so that any number of threads can
 * await at once; across a daemon restart it reconnects and asks again. */
/* A connection for one Wait: a kept one, or a new one. */
static int wait_connection(ClientGov *c, Wire **ret, bool *ret_kept) {
        pthread_mutex_lock(&c->call_lock);
        *ret_kept = c->n_idle > 0;
        if (*ret_kept)
                *ret = c->idle[--c->n_idle];
        pthread_mutex_unlock(&c->call_lock);
        return *ret_kept ? 0 : client_connect(c->address, ret);
}

static void wait_connection_done(ClientGov *c, Wire *w) {
        pthread_mutex_lock(&c->call_lock);
        if (c->n_idle < ELEMENTSOF(c->idle))
                c->idle[c->n_idle++] = TAKE_PTR(w);
        pthread_mutex_unlock(&c->call_lock);
        wire_free(w);
}

static int client_await(cgov_job *job, int64_t timeout_ms, struct cgov_result *res) {
        ClientJob *j = JOB(job);
        uint64_t deadline = timeout_ms >= 0 ? now_usec() + (uint64_t) timeout_ms * 1000 : 0;
        uint64_t lost_since = 0;
        int r;

        for (;;) {
                r = job_finished(j, res);
                if (r <= 0)
                        return r;
                if (__atomic_load_n(&j->g->closed, __ATOMIC_ACQUIRE))
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
                r = wait_connection(j->g, &w, &kept);
                if (r >= 0)
                        r = exchange(w, request, NULL, 0, now + (uint64_t) left * 1000 + WAIT_MARGIN_USEC, &reply,
                                     NULL);
                json_object_put(request);
                if (r >= 0 || r == -ESRCH || r == CGOV_E_TIMEOUT)
                        wait_connection_done(j->g, TAKE_PTR(w)); /* in step: fit for the next */
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

static json_object *params_id(ClientJob *j) {
        json_object *o = json_object_new_object();
        if (o)
                json_object_object_add(o, "id", json_object_new_uint64(j->id));
        return o;
}

static int client_kill(cgov_job *j) {
        return call(JOB(j)->g, "Kill", params_id(JOB(j)), NULL, 0, NULL, NULL);
}

static int client_kill_matching(cgov_pool *pool, const char *name) {
        ClientPool *p = POOL(pool);
        json_object *params = params_pool(p), *reply = NULL;
        int64_t killed = 0;
        int r;

        if (params && name)
                json_object_object_add(params, "name", json_object_new_string(name));
        r = call(p->g, name ? "KillByName" : "Flush", params, NULL, 0, &reply, NULL);
        if (r < 0)
                return r;
        r = proto_get_i64(reply, "killed", 0, INT32_MAX, &killed) < 0 ? -EPROTO : (int) killed;
        json_object_put(reply);
        return r;
}

static void job_refresh(ClientJob *j) {
        json_object *reply = NULL;
        if (call(j->g, "GetJob", params_id(j), NULL, 0, &reply, NULL) >= 0) {
                job_update(j, reply);
                json_object_put(reply);
        }
}

static pid_t client_job_pid(cgov_job *job) {
        ClientJob *j = JOB(job);
        if (__atomic_load_n(&j->pid, __ATOMIC_RELAXED) == 0)
                job_refresh(j);
        return __atomic_load_n(&j->pid, __ATOMIC_RELAXED);
}

static const char *client_job_cgroup(cgov_job *job) {
        ClientJob *j = JOB(job);
        if (!__atomic_load_n(&j->cgroup, __ATOMIC_ACQUIRE))
                job_refresh(j);
        return __atomic_load_n(&j->cgroup, __ATOMIC_ACQUIRE);
}

static int client_run(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res) {
        cgov_job *j;
        int r;

        r = client_submit(p, spec, false, &j, res);
        if (r < 0)
                return r;
        r = client_await(j, -1, res);
        client_job_free(j);
        if (r < 0)
                return r;
        return res->outcome == CGOV_OUTCOME_REJECTED ? res->rejection : 0;
}

/* A function of this process cannot run in the daemon's leaves. */
static int client_call_fn(cgov_pool *p, cgov_fn fn, void *arg, const struct cgov_job_spec *spec,
                          struct cgov_result *res, void **out, size_t *out_len) {
        return -EOPNOTSUPP;
}

/* ---- slots ----------------------------------------------------------------------- */

static json_object *params_count(ClientPool *p, unsigned n) {
        json_object *o = params_pool(p);
        if (o)
                json_object_object_add(o, "count", json_object_new_int64(n));
        return o;
}

static int client_acquire(cgov_pool *pool, unsigned n) {
        ClientPool *p = POOL(pool);
        json_object *reply = NULL;
        int64_t granted = 0;
        int r;

        if (n == 0)
                return 0;
        r = call(p->g, "Acquire", params_count(p, n), NULL, 0, &reply, NULL);
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

static int client_release(cgov_pool *pool, unsigned n) {
        ClientPool *p = POOL(pool);

        pthread_mutex_lock(&p->g->lock);
        bool enough = n <= p->slots_acquired;
        pthread_mutex_unlock(&p->g->lock);
        if (!enough)
                return -EINVAL;
        if (n == 0)
                return 0;
        int r = call(p->g, "Release", params_count(p, n), NULL, 0, NULL, NULL);
        if (r < 0)
                return r;
        pthread_mutex_lock(&p->g->lock);
        p->slots_acquired -= MIN(n, p->slots_acquired);
        pthread_mutex_unlock(&p->g->lock);
        return 0;
}

static int client_pool_find_api(cgov *g, const char *path, cgov_pool **ret) {
        return client_pool_find(g, path, ret);
}

const ApiOps api_client = {
        .close = client_close,
        .pool_create = client_pool_create,
        .pool_find = client_pool_find_api,
        .pool_set_limits = client_pool_set_limits,
        .pool_release = client_pool_release,
        .pool_status = client_pool_status,
        .pool_path = client_pool_path,
        .pool_cgroup = client_pool_cgroup,
        .submit = client_submit_attached,
        .run = client_run,
        .await = client_await,
        .kill = client_kill,
        .kill_matching = client_kill_matching,
        .job_pid = client_job_pid,
        .job_cgroup = client_job_cgroup,
        .job_free = client_job_free,
        .acquire = client_acquire,
        .release = client_release,
        .call = client_call_fn,
};
