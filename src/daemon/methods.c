/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "error.h"
#include "governor.h"
#include "log.h"
#include "macro.h"
#include "names.h"
#include "protocol.h"

/* One function per method of docs/protocol.md. Each checks every parameter
 * before it changes anything, and answers exactly once. */

#define ARGV_MAX 4096            /* arguments of one job */
#define ENV_MAX 4096             /* environment entries of one job */
/* The kernel's own bounds, so that what cgovd keeps is never more than exec
 * could use: a path (argv[0], cwd) is under PATH_MAX, and execve() refuses
 * a single argument or variable of MAX_ARG_STRLEN (32 pages) or more. */
#define PATH_BYTES_MAX 4096
#define ARG_BYTES_MAX (32 * 4096)
#define SLOTS_PER_REQUEST_MAX 65536
#define DEFAULT_JOB_PATH "/usr/local/bin:/usr/bin:/bin"

typedef struct Request {
        Connection *c;
        Daemon *d;
        const Identity *who;
        json_object *params;
        int *fds;
        size_t n_fds;
} Request;

typedef int (*MethodFn)(Request *rq);

static int reply(Request *rq, json_object *params) {
        connection_reply(rq->c, proto_reply(params));
        return 0;
}

static int fail(Request *rq, json_object *error) {
        connection_reply(rq->c, error);
        return 0;
}

static int invalid(Request *rq, const char *parameter) {
        return fail(rq, proto_error_invalid_parameter(parameter));
}

static json_object *error_with_string(const char *error, const char *key, const char *value) {
        json_object *p = json_object_new_object();
        if (p && value)
                json_object_object_add(p, key, json_object_new_string(value));
        return proto_error(error, p);
}

static int no_such_pool(Request *rq, const char *path) {
        return fail(rq, error_with_string(PROTO_ERROR_NO_SUCH_POOL, "pool",
                                          path ?: "(no default pool: the policy has no instance pool for you)"));
}

static int no_such_job(Request *rq, uint64_t id) {
        json_object *p = json_object_new_object();
        if (p)
                json_object_object_add(p, "id", json_object_new_uint64(id));
        return fail(rq, proto_error(PROTO_ERROR_NO_SUCH_JOB, p));
}

static int limit_exceeded(Request *rq, const char *limit, uint64_t max) {
        json_object *p = json_object_new_object();
        if (p) {
                json_object_object_add(p, "limit", json_object_new_string(limit));
                json_object_object_add(p, "max", json_object_new_uint64(max));
        }
        return fail(rq, proto_error(PROTO_ERROR_LIMIT_EXCEEDED, p));
}

static int permission_denied(Request *rq, const char *message) {
        return fail(rq, error_with_string(PROTO_ERROR_PERMISSION_DENIED, "message", message));
}

/* A pool parameter resolved for the caller; answers the request itself on
 * failure (returns < 0 then). */
static int request_pool(Request *rq, const char *key, bool required, bool for_use, cgov_pool **ret, bool *ret_admin) {
        const char *path = NULL;
        int r = proto_get_string(rq->params, key, &path);
        if (r == -EINVAL || (r == -ENOENT && required)) {
                invalid(rq, key);
                return -EINVAL;
        }
        r = tenancy_pool(rq->d, rq->who, path, for_use, ret, ret_admin);
        if (r == -ENOENT)
                no_such_pool(rq, path);
        else if (r == -EPERM)
                permission_denied(rq, "you may see this pool but not run jobs in it");
        else if (r < 0)
                fail(rq, proto_error_system(r));
        return r;
}

static int request_id(Request *rq, uint64_t *ret) {
        int r = proto_get_u64(rq->params, "id", UINT64_MAX, ret);
        if (r < 0)
                invalid(rq, "id");
        return r;
}

static bool path_within(const char *path, const char *ancestor) {
        size_t n = strlen(ancestor);
        return strncmp(path, ancestor, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- information ---------------------------------------------------------------- */

static int method_get_info(Request *rq) {
        json_object *o = json_object_new_object();
        if (!o)
                return fail(rq, proto_error_system(-ENOMEM));
        json_object_object_add(o, "version", json_object_new_int(PROTO_VERSION));
        json_object_object_add(o, "daemon", json_object_new_string("cgovd " PACKAGE_VERSION));
        json_object_object_add(o, "uid", json_object_new_int64(rq->who->uid));
        json_object_object_add(o, "gid", json_object_new_int64(rq->who->gid));
        json_object_object_add(o, "user", json_object_new_string(rq->who->name));
        GovernorInfo gi;
        governor_info(rq->d->gov, &gi);
        json_object_object_add(o, "root", json_object_new_string(gi.root));
        return reply(rq, o);
}

static int method_find_pool(Request *rq) {
        cgov_pool *p;
        bool admin;

        if (request_pool(rq, "pool", false, false, &p, &admin) < 0)
                return 0;
        json_object *o = json_object_new_object();
        if (!o)
                return fail(rq, proto_error_system(-ENOMEM));
        json_object_object_add(o, "pool", json_object_new_string(cgov_pool_path(p)));
        json_object_object_add(o, "cgroup", json_object_new_string(cgov_pool_cgroup(p)));
        json_object_object_add(o, "admin", json_object_new_boolean(admin));
        return reply(rq, o);
}

static json_object *pool_to_json(cgov_pool *p, bool admin) {
        struct cgov_pool_status st;
        if (cgov_pool_status(p, &st) < 0)
                return NULL;
        struct cgov_pool_limits lim;
        pool_limits(p, &lim);
        json_object *o = proto_pool_to_json(&st, &lim);
        if (!o)
                return NULL;
        json_object_object_add(o, "pool", json_object_new_string(cgov_pool_path(p)));
        json_object_object_add(o, "cgroup", json_object_new_string(cgov_pool_cgroup(p)));
        json_object_object_add(o, "admin", json_object_new_boolean(admin));
        return o;
}

static int method_list_pools(Request *rq) {
        _cleanup_free_ cgov_pool **pools = NULL;
        const char *under = NULL;
        size_t n;
        int r;

        if (proto_get_string(rq->params, "pool", &under) == -EINVAL)
                return invalid(rq, "pool");
        r = governor_pools(rq->d->gov, &pools, &n);
        if (r < 0)
                return fail(rq, proto_error_system(r));
        json_object *a = json_object_new_array();
        if (!a)
                return fail(rq, proto_error_system(-ENOMEM));
        for (size_t i = 0; i < n; i++) {
                const char *path = cgov_pool_path(pools[i]);
                bool admin;
                if (under && !path_within(path, under))
                        continue;
                if (!tenancy_may_see(rq->d, rq->who, path, &admin))
                        continue;
                json_object *o = pool_to_json(pools[i], admin);
                if (o)
                        json_object_array_add(a, o);
        }
        json_object *o = json_object_new_object();
        if (!o) {
                json_object_put(a);
                return fail(rq, proto_error_system(-ENOMEM));
        }
        json_object_object_add(o, "pools", a);
        return reply(rq, o);
}

/* ---- jobs ------------------------------------------------------------------------- */

/* The environment of a job whose client sent none (env_set_identity adds
 * the rest). */
static char **default_env(void) {
        char **e = calloc(2, sizeof *e);
        if (e && asprintf(&e[0], "PATH=%s", DEFAULT_JOB_PATH) < 0)
                e = mfree(e);
        return e;
}

/* Whatever the client sent, a job's HOME, USER and LOGNAME are those of the
 * user it runs as. */
static int env_set_identity(char ***env, const Identity *who) {
        const char *const keys[] = { "HOME", "USER", "LOGNAME" };
        const char *const values[] = { who->home, who->name, who->name };
        size_t n = 0;

        for (char **e = *env; *e; e++)
                n++;
        char **v = reallocarray(*env, n + ELEMENTSOF(keys) + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        *env = v;
        for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                char *entry;
                size_t klen = strlen(keys[k]), i;
                if (asprintf(&entry, "%s=%s", keys[k], values[k]) < 0)
                        return -ENOMEM;
                for (i = 0; i < n; i++)
                        if (strncmp(v[i], keys[k], klen) == 0 && v[i][klen] == '=')
                                break;
                if (i < n)
                        free(v[i]);
                else
                        n++;
                v[i] = entry;
                v[n] = NULL;
        }
        return 0;
}

/* Three entries, each an index into the fds of the message or null. */
static int parse_stdio(Request *rq, int ret[3]) {
        json_object *a;

        ret[0] = ret[1] = ret[2] = -1;
        if (!json_object_object_get_ex(rq->params, "stdio", &a) || !a)
                return 0;
        if (!json_object_is_type(a, json_type_array) || json_object_array_length(a) != 3)
                return -EINVAL;
        for (size_t i = 0; i < 3; i++) {
                json_object *x = json_object_array_get_idx(a, i);
                if (!x)
                        continue;
                if (!json_object_is_type(x, json_type_int))
                        return -EINVAL;
                int64_t k = json_object_get_int64(x);
                if (k < 0 || (uint64_t) k >= rq->n_fds)
                        return -EINVAL;
                ret[i] = rq->fds[k];
        }
        return 0;
}

static int reject(Request *rq, int decision, const struct cgov_result *res) {
        return fail(rq, proto_error_rejected(decision, res));
}

static int method_submit(Request *rq) {
        _cleanup_(strv_freep) char **argv = NULL, **env = NULL;
        const char *cwd = NULL, *name = NULL, *pool_path;
        uint64_t memory = 0, tasks = 0, timeout = 0;
        int64_t queue_timeout = 0;
        bool detach = false;
        struct cgov_result res = {};
        cgov_pool *p;
        cgov_job *job;
        DaemonJob *dj;
        int stdio[3], r;

        UserCount *u = user_count(rq->d, rq->who->uid);
        if (!u)
                return fail(rq, proto_error_system(-ENOMEM));
        /* Slots are jobs without a process: they count too. */
        if (u->jobs + u->slots >= JOBS_PER_USER_MAX)
                return limit_exceeded(rq, "jobs", JOBS_PER_USER_MAX);

        /* Everything checked before the pool is touched (an instance pool is
         * made on first use). */
        if (proto_get_strv(rq->params, "argv", ARGV_MAX, &argv) < 0 || !argv[0] || !argv[0][0] ||
            strlen(argv[0]) >= PATH_BYTES_MAX || strv_longest(argv) >= ARG_BYTES_MAX)
                return invalid(rq, "argv");
        r = proto_get_strv(rq->params, "env", ENV_MAX, &env);
        if (r == -EINVAL || strv_longest(env) >= ARG_BYTES_MAX)
                return invalid(rq, "env");
        for (char **e = env; e && *e; e++)
                if (!strchr(*e, '=') || **e == '=')
                        return invalid(rq, "env");
        if (proto_get_string(rq->params, "cwd", &cwd) == -EINVAL ||
            (cwd && (cwd[0] != '/' || strlen(cwd) >= PATH_BYTES_MAX)))
                return invalid(rq, "cwd");
        /* What the job keeps of the request while it lives (the library
         * copies the spec of a job that may wait): one user's jobs together
         * hold at most so much, whatever each message may carry. */
        size_t spec_bytes = strv_bytes(argv) + strv_bytes(env) + (cwd ? strlen(cwd) + 1 : 0);
        if (u->spec_bytes + spec_bytes > SPEC_BYTES_PER_USER_MAX)
                return limit_exceeded(rq, "specBytes", SPEC_BYTES_PER_USER_MAX);
        if (proto_get_string(rq->params, "name", &name) == -EINVAL || (name && !job_name_is_valid(name)))
                return invalid(rq, "name");
        if (proto_get_u64(rq->params, "memoryMax", CGOV_SIZE_MAX, &memory) == -EINVAL)
                return invalid(rq, "memoryMax");
        if (proto_get_u64(rq->params, "tasksMax", CGOV_PIDS_MAX, &tasks) == -EINVAL)
                return invalid(rq, "tasksMax");
        if (proto_get_u64(rq->params, "timeoutMs", UINT64_MAX / 1000, &timeout) == -EINVAL)
                return invalid(rq, "timeoutMs");
        if (proto_get_i64(rq->params, "queueTimeoutMs", -1, INT64_MAX / 1000, &queue_timeout) == -EINVAL)
                return invalid(rq, "queueTimeoutMs");
        if (parse_stdio(rq, stdio) < 0)
                return invalid(rq, "stdio");
        if (proto_get_bool(rq->params, "detach", &detach) == -EINVAL)
                return invalid(rq, "detach");
        if (!env && !(env = default_env()))
                return fail(rq, proto_error_system(-ENOMEM));
        if (env_set_identity(&env, rq->who) < 0)
                return fail(rq, proto_error_system(-ENOMEM));

        if (request_pool(rq, "pool", false, true, &p, NULL) < 0)
                return 0;
        pool_path = cgov_pool_path(p);

        JobPolicy jp;
        tenancy_job_policy(rq->d, pool_path, &jp);
        /* The policy's cap on one job: waiting cannot make it fit. */
        uint64_t reservation = memory ?: pool_job_memory_default(p);
        if (jp.memory_max > 0 && reservation > jp.memory_max) {
                res = (struct cgov_result) {
                        .outcome = CGOV_OUTCOME_REJECTED,
                        .rejection = CGOV_E_INSUFFICIENT_MEMORY,
                        .requested = reservation,
                        .available = jp.memory_max,
                        .limit = jp.memory_max,
                };
                snprintf(res.rejected_by, sizeof res.rejected_by, "%s", jp.memory_max_pool);
                return reject(rq, CGOV_E_INSUFFICIENT_MEMORY, &res);
        }
        /* Every job has a task limit of its own: its request, at most the
         * policy's JobTasksMax=, which is also the default. */
        if (jp.tasks_max > 0 && tasks > jp.tasks_max)
                return limit_exceeded(rq, "tasksMax", jp.tasks_max);

        struct cgov_job_spec spec = {
                .argv = (const char *const *) argv,
                .envp = (const char *const *) env,
                .cwd = cwd ?: rq->who->home,
                .name = name,
                .memory_max = memory,
                .pids_max = (uint32_t) (tasks ?: jp.tasks_max),
                .timeout_ms = timeout ?: jp.timeout_ms,
                .queue_timeout_ms = queue_timeout,
                .flags = CGOV_JOB_STDIO,
                .stdio = { stdio[0], stdio[1], stdio[2] },
        };
        SpawnCreds creds = {
                .uid = rq->who->uid,
                .gid = rq->who->gid,
                .groups = rq->who->groups,
                .n_groups = rq->who->n_groups,
                .set_rlimits = true,
                /* Root's jobs are root's: nothing to take from them. */
                .no_new_privs = jp.no_new_privileges && rq->who->uid != 0,
                .start_timeout_ms = jp.start_timeout_ms,
        };
        memcpy(creds.rlimits, rq->d->job_rlimits, sizeof creds.rlimits);
        r = job_submit(p, &spec, NULL, &creds, false, &job, &res);
        if (cgov_is_decision(r)) {
                LogFields f = { .pool = pool_path, .user = rq->who->name, .outcome = "rejected" };
                log_full(LOG_INFO, 0, &f, "Refused a job of %s in pool %s: %s (by %s).", rq->who->name, pool_path,
                         cgov_strerror(r), res.rejected_by);
                return reject(rq, r, &res);
        }
        if (r < 0)
                return fail(rq, proto_error_system(r));

        r = jobs_add(rq->d, job, rq->who, pool_path, name, argv[0], spec_bytes, &dj);
        if (r < 0) {
                /* It runs, but we cannot track it: it must not run untracked. */
                (void) cgov_kill(job);
                cgov_job_free(job);
                return fail(rq, proto_error_system(r));
        }

        /* A job that its keeper starts is answered once the keeper reports
         * (jobs.c); meanwhile the connection waits, as for a Wait. */
        return jobs_submitted(rq->d, dj, rq->c, detach);
}

static int method_wait(Request *rq) {
        int64_t timeout = -1;
        uint64_t id;
        DaemonJob *j;

        if (request_id(rq, &id) < 0)
                return 0;
        if (proto_get_i64(rq->params, "timeoutMs", -1, INT64_MAX / 1000, &timeout) == -EINVAL)
                return invalid(rq, "timeoutMs");
        j = jobs_find_visible(rq->d, rq->who, id, NULL);
        if (!j)
                return no_such_job(rq, id);
        if (j->ended) {
                connection_reply(rq->c, jobs_collect(rq->d, j, rq->who));
                return 0;
        }
        if (timeout == 0)
                return fail(rq, proto_error(PROTO_ERROR_TIMEOUT, NULL));
        int r = jobs_wait(rq->d, j, rq->c, timeout);
        if (r < 0)
                return fail(rq, proto_error_system(r));
        return 1;
}

static int method_get_job(Request *rq) {
        uint64_t id;
        DaemonJob *j;

        if (request_id(rq, &id) < 0)
                return 0;
        j = jobs_find_visible(rq->d, rq->who, id, NULL);
        if (!j)
                return no_such_job(rq, id);
        json_object *o = jobs_to_json(rq->d, j);
        return o ? reply(rq, o) : fail(rq, proto_error_system(-ENOMEM));
}

typedef struct JobWalk {
        Request *rq;
        const char *under;           /* pool subtree, or NULL */
        const char *name;            /* KillByName */
        json_object *array;          /* ListJobs */
        bool kill, only_own;
        int killed;
} JobWalk;

static void walk_job(DaemonJob *j, void *userdata) {
        JobWalk *w = userdata;
        bool admin = false;

        if (w->under && !path_within(j->pool, w->under))
                return;
        /* The walk visits every job of every user: the policy is asked only
         * about other users' jobs. */
        if (w->rq->who->uid != 0 && j->owner != w->rq->who->uid &&
            !(tenancy_may_see(w->rq->d, w->rq->who, j->pool, &admin) && admin))
                return;
        if (w->array) {
                json_object *o = jobs_to_json(w->rq->d, j);
                if (o)
                        json_object_array_add(w->array, o);
                return;
        }
        if (!w->kill || j->ended || (w->name && (!j->name || strcmp(j->name, w->name) != 0)))
                return;
        if (w->only_own && j->owner != w->rq->who->uid)
                return;
        if (cgov_kill(j->job) >= 0)
                w->killed++;
}

static int method_list_jobs(Request *rq) {
        JobWalk w = { .rq = rq };

        if (proto_get_string(rq->params, "pool", &w.under) == -EINVAL)
                return invalid(rq, "pool");
        w.array = json_object_new_array();
        if (!w.array)
                return fail(rq, proto_error_system(-ENOMEM));
        jobs_foreach(rq->d, walk_job, &w);
        json_object *o = json_object_new_object();
        if (!o) {
                json_object_put(w.array);
                return fail(rq, proto_error_system(-ENOMEM));
        }
        json_object_object_add(o, "jobs", w.array);
        return reply(rq, o);
}

static int method_kill(Request *rq) {
        uint64_t id;
        DaemonJob *j;

        if (request_id(rq, &id) < 0)
                return 0;
        j = jobs_find_visible(rq->d, rq->who, id, NULL);
        if (!j || j->ended)
                return no_such_job(rq, id);
        int r = cgov_kill(j->job);
        if (r == -ESRCH)
                return no_such_job(rq, id);
        if (r < 0)
                return fail(rq, proto_error_system(r));
        LogFields f = { .pool = j->pool, .user = rq->who->name };
        log_full(LOG_INFO, 0, &f, "Job %" PRIu64 " of %s killed at the request of %s.", id, j->user, rq->who->name);
        return reply(rq, NULL);
}

static int killed_reply(Request *rq, int killed) {
        json_object *o = json_object_new_object();
        if (!o)
                return fail(rq, proto_error_system(-ENOMEM));
        json_object_object_add(o, "killed", json_object_new_int(killed));
        return reply(rq, o);
}

static int method_kill_by_name(Request *rq) {
        JobWalk w = { .rq = rq, .kill = true };
        cgov_pool *p;

        if (proto_get_string(rq->params, "name", &w.name) < 0 || !job_name_is_valid(w.name))
                return invalid(rq, "name");
        if (json_object_object_get_ex(rq->params, "pool", NULL)) {
                if (request_pool(rq, "pool", true, false, &p, NULL) < 0)
                        return 0;
                w.under = cgov_pool_path(p);
        }
        jobs_foreach(rq->d, walk_job, &w);
        return killed_reply(rq, w.killed);
}

static int method_flush(Request *rq) {
        JobWalk w = { .rq = rq, .kill = true };
        cgov_pool *p;
        bool admin;

        if (request_pool(rq, "pool", true, false, &p, &admin) < 0)
                return 0;
        if (admin) {
                /* Everything, queued jobs included, in one step of the governor. */
                int r = cgov_flush(p);
                if (r < 0)
                        return fail(rq, proto_error_system(r));
                log_info("Pool %s flushed by %s: %d job(s) killed.", cgov_pool_path(p), rq->who->name, r);
                return killed_reply(rq, r);
        }
        /* A tenant flushes its own jobs only. */
        w.under = cgov_pool_path(p);
        w.only_own = true;
        jobs_foreach(rq->d, walk_job, &w);
        return killed_reply(rq, w.killed);
}

/* ---- slots ------------------------------------------------------------------------ */

/* A (pool, count) entry of v, made with 0 when create is set. */
static SlotHold *hold_of(SlotHold **v, size_t *n, cgov_pool *p, bool create) {
        for (size_t i = 0; i < *n; i++)
                if ((*v)[i].pool == p)
                        return &(*v)[i];
        if (!create)
                return NULL;
        SlotHold *t = reallocarray(*v, *n + 1, sizeof *t);
        if (!t)
                return NULL;
        *v = t;
        t[*n] = (SlotHold) { .pool = p };
        return &t[(*n)++];
}

/* Slots go in and out of a connection's holds and its user's together. */
static void holds_add(Connection *c, UserCount *u, cgov_pool *p, int delta) {
        SlotHold *h = hold_of(&c->slots, &c->n_slots, p, false);
        SlotHold *uh = hold_of(&u->slot_holds, &u->n_slot_holds, p, false);
        if (h)
                h->n += (unsigned) delta;
        if (uh)
                uh->n += (unsigned) delta;
        u->slots += (unsigned) delta;
}

/* The user's slots in the subtree of pool `under` (NULL: everywhere). */
static uint64_t user_slots_under(const UserCount *u, const char *under) {
        uint64_t n = 0;
        if (!under)
                return u->slots;
        for (size_t i = 0; i < u->n_slot_holds; i++)
                if (path_within(cgov_pool_path(u->slot_holds[i].pool), under))
                        n += u->slot_holds[i].n;
        return n;
}

static int request_count(Request *rq, unsigned *ret) {
        uint64_t n;
        if (proto_get_u64(rq->params, "count", SLOTS_PER_REQUEST_MAX, &n) < 0) {
                invalid(rq, "count");
                return -EINVAL;
        }
        *ret = (unsigned) n;
        return 0;
}

static int method_acquire(Request *rq) {
        const char *bound_pool;
        cgov_pool *p;
        unsigned n;

        if (request_count(rq, &n) < 0 || request_pool(rq, "pool", true, true, &p, NULL) < 0)
                return 0;
        UserCount *u = user_count(rq->d, rq->who->uid);
        if (!u || !hold_of(&rq->c->slots, &rq->c->n_slots, p, true) ||
            !hold_of(&u->slot_holds, &u->n_slot_holds, p, true))
                return fail(rq, proto_error_system(-ENOMEM));

        /* A user's slots are bounded like its jobs, so that one tenant's
         * slots cannot take every slot of a shared parent: by the
         * MaxSlotsPerUser= that covers the pool, and, with its jobs, by
         * the daemon's bound on what one user holds. */
        uint64_t bound = tenancy_slots_per_user(rq->d, cgov_pool_path(p), &bound_pool);
        uint64_t held = user_slots_under(u, bound_pool);
        uint64_t room = held < bound ? bound - held : 0;
        uint64_t held_all = (uint64_t) u->jobs + u->slots;
        room = MIN(room, held_all < JOBS_PER_USER_MAX ? JOBS_PER_USER_MAX - held_all : 0);
        if (n > 0 && room == 0)
                return held_all >= JOBS_PER_USER_MAX ? limit_exceeded(rq, "jobs", JOBS_PER_USER_MAX)
                                                     : limit_exceeded(rq, "slots", bound);
        int granted = cgov_acquire(p, (unsigned) MIN(n, room));
        if (granted < 0)
                return fail(rq, proto_error_system(granted));
        holds_add(rq->c, u, p, granted);
        json_object *o = json_object_new_object();
        if (!o)
                return fail(rq, proto_error_system(-ENOMEM));
        json_object_object_add(o, "granted", json_object_new_int(granted));
        return reply(rq, o);
}

static int method_release(Request *rq) {
        cgov_pool *p;
        unsigned n;

        if (request_count(rq, &n) < 0 || request_pool(rq, "pool", true, true, &p, NULL) < 0)
                return 0;
        SlotHold *h = hold_of(&rq->c->slots, &rq->c->n_slots, p, false);
        UserCount *u = user_count(rq->d, rq->who->uid);
        if (n > (h ? h->n : 0))
                return invalid(rq, "count");
        if (!u)
                return fail(rq, proto_error_system(-ENOMEM));
        int r = cgov_release(p, n);
        if (r < 0)
                return fail(rq, proto_error_system(r));
        holds_add(rq->c, u, p, -(int) n);
        return reply(rq, NULL);
}

void methods_connection_closed(Connection *c, Daemon *d) {
        UserCount *u = user_count(d, c->who.uid);
        for (size_t i = 0; i < c->n_slots; i++) {
                unsigned n = c->slots[i].n;
                if (n == 0)
                        continue;
                (void) cgov_release(c->slots[i].pool, n);
                if (u)
                        holds_add(c, u, c->slots[i].pool, -(int) n);
        }
        c->n_slots = 0;
}

/* ---- administration ---------------------------------------------------------------- */

/* Diagnostics may quote what a policy file holds, in any encoding: the wire
 * carries only valid UTF-8, so other bytes become '?'. */
static json_object *json_string_clean(const char *s) {
        if (wire_utf8_valid(s, strlen(s)))
                return json_object_new_string(s);
        _cleanup_free_ char *c = strdup(s);
        if (!c)
                return NULL;
        for (unsigned char *p = (unsigned char *) c; *p; p++)
                if (*p >= 0x80 || *p < 0x20)
                        *p = '?';
        return json_object_new_string(c);
}

static int method_reload(Request *rq) {
        PolicyDiagnostics diag = {};

        if (rq->who->uid != 0)
                return permission_denied(rq, "only root may reload the policy");
        log_info("Reloading the policy at the request of %s.", rq->who->name);
        int r = tenancy_load(rq->d, &diag);
        if (r == -EBADMSG) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < diag.n_items; i++) {
                        const PolicyDiagnostic *x = &diag.items[i];
                        json_object *o = json_object_new_object();
                        if (!o)
                                break;
                        json_object_object_add(o, "file", json_string_clean(x->file));
                        json_object_object_add(o, "line", json_object_new_int64(x->line));
                        json_object_object_add(o, "key", x->key ? json_string_clean(x->key) : NULL);
                        json_object_object_add(o, "severity",
                                               json_object_new_string(policy_severity_to_string(x->severity)));
                        json_object_object_add(o, "message", json_string_clean(x->message));
                        json_object_array_add(a, o);
                }
                policy_diagnostics_done(&diag);
                json_object *p = json_object_new_object();
                if (p)
                        json_object_object_add(p, "diagnostics", a);
                else
                        json_object_put(a);
                return fail(rq, proto_error(PROTO_ERROR_INVALID_POLICY, p));
        }
        policy_diagnostics_done(&diag);
        daemon_update_status(rq->d);
        if (r < 0)
                return fail(rq, proto_error_system(r));
        json_object *o = json_object_new_object();
        if (!o)
                return fail(rq, proto_error_system(-ENOMEM));
        json_object_object_add(o, "pools", json_object_new_int64((int64_t) rq->d->policy->n_pools));
        return reply(rq, o);
}

/* ---- dispatch ----------------------------------------------------------------------- */

static const struct {
        const char *name;
        MethodFn fn;
        const char *const *keys;
} methods[] = {
        { "GetInfo", method_get_info, (const char *const[]) { NULL } },
        { "FindPool", method_find_pool, (const char *const[]) { "pool", NULL } },
        { "ListPools", method_list_pools, (const char *const[]) { "pool", NULL } },
        { "Submit", method_submit,
          (const char *const[]) { "pool", "argv", "env", "cwd", "name", "memoryMax", "tasksMax", "timeoutMs",
                                  "queueTimeoutMs", "stdio", "detach", NULL } },
        { "Wait", method_wait, (const char *const[]) { "id", "timeoutMs", NULL } },
        { "GetJob", method_get_job, (const char *const[]) { "id", NULL } },
        { "ListJobs", method_list_jobs, (const char *const[]) { "pool", NULL } },
        { "Kill", method_kill, (const char *const[]) { "id", NULL } },
        { "KillByName", method_kill_by_name, (const char *const[]) { "name", "pool", NULL } },
        { "Flush", method_flush, (const char *const[]) { "pool", NULL } },
        { "Acquire", method_acquire, (const char *const[]) { "pool", "count", NULL } },
        { "Release", method_release, (const char *const[]) { "pool", "count", NULL } },
        { "Reload", method_reload, (const char *const[]) { NULL } },
};

int method_dispatch(Connection *c, Daemon *d, json_object *msg, int *fds, size_t n_fds) {
        Request rq = { .c = c, .d = d, .who = &c->who, .fds = fds, .n_fds = n_fds };
        const char *method = NULL, *bad = NULL;
        int r = 0;

        if (proto_request_parse(msg, &method, &rq.params, &bad) < 0)
                invalid(&rq, bad ?: "method");
        else {
                size_t i;
                for (i = 0; i < ELEMENTSOF(methods); i++)
                        if (strcmp(methods[i].name, method) == 0)
                                break;
                if (i == ELEMENTSOF(methods))
                        fail(&rq, error_with_string(PROTO_ERROR_METHOD_NOT_FOUND, "method", method));
                else if (proto_params_check(rq.params, methods[i].keys, &bad) < 0)
                        invalid(&rq, bad);
                else
                        r = methods[i].fn(&rq);
        }
        /* The fds came for this request: a job has its own copies by now.
         * Closing a tenant's file may block: see closer.c. */
        governor_close_fds(d->gov, fds, n_fds);
        return r;
}
