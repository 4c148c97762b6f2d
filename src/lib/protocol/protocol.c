/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "protocol.h"
#include "wire.h"

static bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

/* json_object_object_add() does not take the value when it fails, and a
 * value that failed to be made is NULL: either way the object is incomplete
 * and the caller gives up on it. */
static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_string(json_object *o, const char *key, const char *s) {
        return add(o, key, json_object_new_string(s));
}

static int add_u64(json_object *o, const char *key, uint64_t v) {
        return add(o, key, json_object_new_uint64(v));
}

static int add_i64(json_object *o, const char *key, int64_t v) {
        return add(o, key, json_object_new_int64(v));
}

/* ---- requests and replies ---------------------------------------------- */

/* Every message: {key: value, "parameters": params}, key NULL for a reply;
 * takes params whatever happens; NULL for a key without a value. */
static json_object *message_new(const char *key, const char *value, json_object *params) {
        json_object *o = key && !value ? NULL : json_object_new_object();

        if (!o || (key && add_string(o, key, value) < 0) ||
            (params && add(o, "parameters", TAKE_PTR(params)) < 0)) {
                json_object_put(params);
                json_object_put(o);
                return NULL;
        }
        return o;
}

json_object *proto_request(const char *method, json_object *params) {
        _cleanup_free_ char *full = NULL;

        if (!method)
                return message_new("method", NULL, params);
        /* "Submit" is ours; a name with a dot names its interface already. */
        if (!strchr(method, '.') && asprintf(&full, PROTO_INTERFACE ".%s", method) < 0) {
                full = NULL;
                json_object_put(params);
                return NULL;
        }
        return message_new("method", full ?: method, params);
}

/* A string as the protocol has them: no NUL inside (json-c decodes
 * "\u0000"), valid UTF-8 even in an object not read by wire_take(). */
static bool string_ok(json_object *v, const char **ret) {
        const char *s;
        int len;

        if (!json_object_is_type(v, json_type_string))
                return false;
        s = json_object_get_string(v);
        len = json_object_get_string_len(v);
        if (!s || len < 0 || strlen(s) != (size_t) len || !wire_utf8_valid(s, len))
                return false;
        *ret = s;
        return true;
}

/* The parameters of a request or reply, an empty object when there are
 * none. Kept in msg, so that it lives as long as the caller's message and
 * nobody has to free it. */
static int params_of(json_object *msg, json_object *params, json_object **ret) {
        json_object *empty;

        if (params) {
                if (!json_object_is_type(params, json_type_object))
                        return -EBADMSG;
                *ret = params;
                return 0;
        }
        empty = json_object_new_object();
        if (add(msg, "parameters", empty) < 0)
                return -ENOMEM;
        *ret = empty;
        return 0;
}

int proto_request_parse(json_object *msg, const char **ret_method, json_object **ret_params,
                        const char **ret_bad) {
        json_object *method = NULL, *params = NULL;
        const char *name, *bad = NULL;
        int r;

        assert_return(ret_method, -EINVAL);
        assert_return(ret_params, -EINVAL);

        if (!json_object_is_type(msg, json_type_object)) {
                bad = "message";
                goto fail;
        }
        json_object_object_foreach(msg, key, val) {
                if (streq(key, "method"))
                        method = val;
                else if (streq(key, "parameters"))
                        params = val;
                else if (streq(key, "oneway") || streq(key, "more")) {
                        /* Every call has exactly one reply; an explicit
                         * false asks for nothing else. */
                        if (!json_object_is_type(val, json_type_boolean) || json_object_get_boolean(val)) {
                                bad = key;
                                goto fail;
                        }
                } else {
                        bad = key;
                        goto fail;
                }
        }

        /* Varlink names are qualified: a bare "Submit" is refused rather than
         * taken as ours, so that no other spelling reaches a method. */
        if (!method || !string_ok(method, &name) || !strchr(name, '.')) {
                bad = "method";
                goto fail;
        }
        if (strncmp(name, PROTO_INTERFACE ".", strlen(PROTO_INTERFACE ".")) == 0) {
                name += strlen(PROTO_INTERFACE ".");
                if (!*name) {
                        bad = "method";
                        goto fail;
                }
        }

        r = params_of(msg, params, ret_params);
        if (r == -EBADMSG) {
                bad = "parameters";
                goto fail;
        }
        if (r < 0)
                return r;
        *ret_method = name;
        return 0;

fail:
        if (ret_bad)
                *ret_bad = bad;
        return -EBADMSG;
}

json_object *proto_reply(json_object *params) {
        return message_new(NULL, NULL, params);
}

json_object *proto_error(const char *error, json_object *params) {
        return message_new("error", error, params);
}

json_object *proto_error_invalid_parameter(const char *parameter) {
        json_object *p = json_object_new_object();

        if (!p || add_string(p, "parameter", parameter ?: "") < 0) {
                json_object_put(p);
                return NULL;
        }
        return proto_error(PROTO_ERROR_INVALID_PARAMETER, p);
}

json_object *proto_error_system(int negative_errno) {
        json_object *p;
        int e;

        /* Whatever the caller passed, the peer gets an errno it can use. */
        e = negative_errno == INT_MIN ? 0 : negative_errno < 0 ? -negative_errno : negative_errno;
        if (e <= 0 || e > 4095)
                e = EIO;

        p = json_object_new_object();
        if (!p || add_i64(p, "errno", e) < 0)
                goto fail;
#ifdef HAVE_STRERRORNAME_NP
        const char *name = strerrorname_np(e);
        if (name && add_string(p, "errnoName", name) < 0)
                goto fail;
#endif
        if (add_string(p, "message", strerror(e)) < 0)
                goto fail;
        return proto_error(PROTO_ERROR_SYSTEM, p);

fail:
        json_object_put(p);
        return NULL;
}

int proto_reply_parse(json_object *msg, const char **ret_error, json_object **ret_params) {
        json_object *error = NULL, *params = NULL;
        const char *name = NULL;
        int r;

        assert_return(ret_error, -EINVAL);
        assert_return(ret_params, -EINVAL);

        if (!json_object_is_type(msg, json_type_object))
                return -EBADMSG;
        /* Unknown keys are let pass: a reply comes from the daemon, which may
         * be newer than us. "continues" would mean more replies, which we
         * never ask for. */
        json_object_object_foreach(msg, key, val) {
                if (streq(key, "error"))
                        error = val;
                else if (streq(key, "parameters"))
                        params = val;
                else if (streq(key, "continues") &&
                         (!json_object_is_type(val, json_type_boolean) || json_object_get_boolean(val)))
                        return -EBADMSG;
        }
        if (error && (!string_ok(error, &name) || !*name))
                return -EBADMSG;
        r = params_of(msg, params, ret_params);
        if (r < 0)
                return r;
        *ret_error = name;
        return 0;
}

/* ---- strict parameter access ------------------------------------------- */

static int lookup(json_object *params, const char *key, json_object **ret) {
        json_object *v;

        if (!params)
                return -ENOENT;
        if (!key || !json_object_is_type(params, json_type_object))
                return -EINVAL;
        if (!json_object_object_get_ex(params, key, &v) || !v)
                return -ENOENT; /* absent or null */
        *ret = v;
        return 0;
}

int proto_get_string(json_object *params, const char *key, const char **ret) {
        json_object *v;
        const char *s;
        int r;

        r = lookup(params, key, &v);
        if (r < 0)
                return r;
        if (!string_ok(v, &s))
                return -EINVAL;
        if (ret)
                *ret = s;
        return 0;
}

/* json-c keeps an integer as int64, or as uint64 above INT64_MAX, and its
 * getters convert whatever they are given (strings, doubles) and clamp:
 * so the type is checked first, and each getter's clamp told from a value. */
int proto_get_u64(json_object *params, const char *key, uint64_t max, uint64_t *ret) {
        json_object *v;
        uint64_t u;
        int r;

        r = lookup(params, key, &v);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return -EINVAL;
        u = json_object_get_uint64(v);
        if (u > max)
                return -EINVAL;
        if (ret)
                *ret = u;
        return 0;
}

int proto_get_i64(json_object *params, const char *key, int64_t min, int64_t max, int64_t *ret) {
        json_object *v;
        int64_t i;
        int r;

        r = lookup(params, key, &v);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_int))
                return -EINVAL;
        i = json_object_get_int64(v);
        if (i == INT64_MAX && json_object_get_uint64(v) > (uint64_t) INT64_MAX)
                return -EINVAL;
        if (i < min || i > max)
                return -EINVAL;
        if (ret)
                *ret = i;
        return 0;
}

int proto_get_bool(json_object *params, const char *key, bool *ret) {
        json_object *v;
        int r;

        r = lookup(params, key, &v);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        if (ret)
                *ret = json_object_get_boolean(v);
        return 0;
}

int proto_get_strv(json_object *params, const char *key, size_t max_items, char ***ret) {
        json_object *v;
        char **l;
        size_t n;
        int r;

        r = lookup(params, key, &v);
        if (r < 0)
                return r;
        if (!json_object_is_type(v, json_type_array))
                return -EINVAL;
        n = json_object_array_length(v);
        if (n > max_items)
                return -EINVAL;
        /* Checked before anything is copied: a refusal costs no memory. */
        for (size_t i = 0; i < n; i++) {
                const char *s;
                if (!string_ok(json_object_array_get_idx(v, i), &s))
                        return -EINVAL;
        }
        if (!ret)
                return 0;

        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                l[i] = strdup(json_object_get_string(json_object_array_get_idx(v, i)));
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *ret = l;
        return 0;
}

int proto_params_check(json_object *params, const char *const *allowed, const char **ret_unknown) {
        if (!json_object_is_type(params, json_type_object)) {
                if (ret_unknown)
                        *ret_unknown = "parameters";
                return -EINVAL;
        }
        json_object_object_foreach(params, key, val) {
                bool found = false;
                (void) val;
                for (const char *const *a = allowed; a && *a && !found; a++)
                        found = streq(*a, key);
                if (!found) {
                        if (ret_unknown)
                                *ret_unknown = key;
                        return -EINVAL;
                }
        }
        return 0;
}

/* ---- values ------------------------------------------------------------ */

static const char *const outcome_table[] = {
        [CGOV_OUTCOME_EXITED] = "exited",       [CGOV_OUTCOME_SIGNALED] = "signaled",
        [CGOV_OUTCOME_OOM_KILLED] = "oomKilled", [CGOV_OUTCOME_TIMED_OUT] = "timedOut",
        [CGOV_OUTCOME_KILLED] = "killed",       [CGOV_OUTCOME_REJECTED] = "rejected",
        [CGOV_OUTCOME_UNKNOWN] = "unknown",
};

const char *proto_outcome_to_string(enum cgov_outcome o) {
        if ((int) o < 0 || (size_t) o >= ELEMENTSOF(outcome_table))
                return NULL;
        return outcome_table[o];
}

int proto_outcome_from_string(const char *s, enum cgov_outcome *ret) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(outcome_table); i++)
                if (outcome_table[i] && streq(outcome_table[i], s)) {
                        if (ret)
                                *ret = (enum cgov_outcome) i;
                        return 0;
                }
        return -EINVAL;
}

const char *proto_decision_to_string(int decision) {
        return cgov_error_name(decision);
}

int proto_decision_from_string(const char *s) {
        if (!s)
                return 0;
#define XX(code, name, words) \
        if (streq(s, name))   \
                return code;
        CGOV_ERROR_MAP(XX)
#undef XX
        return 0;
}

/* rejected_by is a fixed array that the library fills with snprintf(), so
 * it may be cut short and is read no further than its end. */
static int add_rejected_by(json_object *o, const char *key, const struct cgov_result *res) {
        return add(o, key, json_object_new_string_len(res->rejected_by, strnlen(res->rejected_by, sizeof res->rejected_by)));
}

/* Cut, when it must be, where a character starts: s is valid UTF-8 and so
 * stays what it is cut to, whoever prints it next. */
static void set_rejected_by(struct cgov_result *res, const char *s) {
        size_t n = strlen(s);

        if (n >= sizeof res->rejected_by) {
                n = sizeof res->rejected_by - 1;
                while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                        n--;
        }
        memcpy(res->rejected_by, s, n);
        res->rejected_by[n] = 0;
}

json_object *proto_result_to_json(const struct cgov_result *res, int start_error) {
        enum cgov_outcome outcome;
        const char *name;
        json_object *o;

        if (!res)
                return NULL;
        /* A job that could not start is a rejection by the system. */
        outcome = start_error != 0 ? CGOV_OUTCOME_REJECTED : res->outcome;
        name = proto_outcome_to_string(outcome) ?: "unknown";

        o = json_object_new_object();
        if (!o || add_string(o, "outcome", name) < 0 || add_i64(o, "exitStatus", res->exit_status) < 0 ||
            add_u64(o, "memoryPeak", res->memory_peak) < 0 || add_u64(o, "cpuUsec", res->cpu_usec) < 0 ||
            add_u64(o, "wallUsec", res->wall_usec) < 0 || add_u64(o, "pidsPeak", res->pids_peak) < 0)
                goto fail;

        if (outcome == CGOV_OUTCOME_REJECTED) {
                int rejection = start_error != 0 ? start_error : res->rejection;
                const char *decision = proto_decision_to_string(rejection);

                if (decision) {
                        if (add_string(o, "rejection", decision) < 0)
                                goto fail;
                } else {
                        /* An errno, or something that is neither (a bug
                         * elsewhere), which still has to reach the client as
                         * a failure. */
                        int e = rejection < 0 && rejection > -4096 ? -rejection : EIO;
                        if (add_string(o, "rejection", "SystemError") < 0 || add_i64(o, "errno", e) < 0)
                                goto fail;
                }
                if (add_rejected_by(o, "rejectedBy", res) < 0 || add_u64(o, "requested", res->requested) < 0 ||
                    add_u64(o, "available", res->available) < 0 || add_u64(o, "limit", res->limit) < 0)
                        goto fail;
        }
        return o;

fail:
        json_object_put(o);
        return NULL;
}

/* A getter's answer for a field that must be there. */
static int required(int r) {
        return r < 0 ? -EBADMSG : 0;
}

int proto_result_from_json(json_object *o, struct cgov_result *res, int *start_error) {
        struct cgov_result r = {};
        const char *s;
        int64_t exit_status;
        uint64_t pids_peak;
        int error = 0;

        assert_return(res, -EINVAL);

        /* Keys not named here are let pass: the daemon may be newer. */
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (required(proto_get_string(o, "outcome", &s)) < 0 || proto_outcome_from_string(s, &r.outcome) < 0)
                return -EBADMSG;
        if (required(proto_get_i64(o, "exitStatus", INT_MIN, INT_MAX, &exit_status)) < 0 ||
            required(proto_get_u64(o, "memoryPeak", UINT64_MAX, &r.memory_peak)) < 0 ||
            required(proto_get_u64(o, "cpuUsec", UINT64_MAX, &r.cpu_usec)) < 0 ||
            required(proto_get_u64(o, "wallUsec", UINT64_MAX, &r.wall_usec)) < 0 ||
            required(proto_get_u64(o, "pidsPeak", UINT32_MAX, &pids_peak)) < 0)
                return -EBADMSG;
        r.exit_status = (int) exit_status;
        r.pids_peak = (uint32_t) pids_peak;

        if (r.outcome == CGOV_OUTCOME_REJECTED) {
                if (required(proto_get_string(o, "rejection", &s)) < 0)
                        return -EBADMSG;
                if (streq(s, "SystemError")) {
                        int64_t e;
                        if (required(proto_get_i64(o, "errno", 1, 4095, &e)) < 0)
                                return -EBADMSG;
                        /* As the library's own await: the errno, also as the
                         * rejection, so no one mistakes it for a success. */
                        error = r.rejection = (int) -e;
                } else {
                        r.rejection = proto_decision_from_string(s);
                        if (r.rejection == 0)
                                return -EBADMSG;
                }
                if (required(proto_get_string(o, "rejectedBy", &s)) < 0 ||
                    required(proto_get_u64(o, "requested", UINT64_MAX, &r.requested)) < 0 ||
                    required(proto_get_u64(o, "available", UINT64_MAX, &r.available)) < 0 ||
                    required(proto_get_u64(o, "limit", UINT64_MAX, &r.limit)) < 0)
                        return -EBADMSG;
                set_rejected_by(&r, s);
        }

        *res = r;
        if (start_error)
                *start_error = error;
        return 0;
}

/* The figures of the *pool* object that come from cgov_pool_status, both
 * ways from one table. */
static const struct {
        const char *name;
        size_t offset;
        bool u32;
} pool_fields[] = {
#define F64(name, field) { name, offsetof(struct cgov_pool_status, field), false }
#define F32(name, field) { name, offsetof(struct cgov_pool_status, field), true }
        F64("memoryMax", memory_max),
        F64("memoryReserved", memory_reserved),
        F64("memoryCurrent", memory_current),
        F32("maxJobs", max_jobs),
        F32("jobsRunning", jobs_running),
        F32("jobsQueued", jobs_queued),
        F32("slotsHeld", slots_held),
        F32("pidsMax", pids_max),
        F32("pidsCurrent", pids_current),
        F64("jobsStarted", jobs_started),
        F64("jobsRejected", jobs_rejected),
        F64("jobsOomKilled", jobs_oom_killed),
#undef F64
#undef F32
};

json_object *proto_pool_to_json(const struct cgov_pool_status *st, const struct cgov_pool_limits *lim) {
        json_object *o;

        if (!st)
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(pool_fields); i++) {
                const char *p = (const char *) st + pool_fields[i].offset;
                uint64_t v;
                if (pool_fields[i].u32) {
                        uint32_t v32;
                        memcpy(&v32, p, sizeof v32);
                        v = v32;
                } else
                        memcpy(&v, p, sizeof v);
                if (add_u64(o, pool_fields[i].name, v) < 0)
                        goto fail;
        }
        if (lim && (add_u64(o, "maxQueue", lim->max_queue) < 0 ||
                    add_u64(o, "queueTimeoutMs", lim->queue_timeout_ms) < 0 ||
                    add_u64(o, "jobMemoryDefault", lim->job_memory_default) < 0))
                goto fail;
        return o;

fail:
        json_object_put(o);
        return NULL;
}

int proto_pool_status_from_json(json_object *o, struct cgov_pool_status *st) {
        struct cgov_pool_status s = {};

        assert_return(st, -EINVAL);

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(pool_fields); i++) {
                char *p = (char *) &s + pool_fields[i].offset;
                uint64_t v;
                if (required(proto_get_u64(o, pool_fields[i].name, pool_fields[i].u32 ? UINT32_MAX : UINT64_MAX,
                                           &v)) < 0)
                        return -EBADMSG;
                if (pool_fields[i].u32) {
                        uint32_t v32 = (uint32_t) v;
                        memcpy(p, &v32, sizeof v32);
                } else
                        memcpy(p, &v, sizeof v);
        }
        *st = s;
        return 0;
}

json_object *proto_error_rejected(int decision, const struct cgov_result *res) {
        const char *name = proto_decision_to_string(decision);
        json_object *p;

        /* Not a decision: a failure, and said as one rather than as a
         * rejection the client cannot name. */
        if (!name)
                return proto_error_system(decision);

        p = json_object_new_object();
        if (!p || add_string(p, "rejection", name) < 0)
                goto fail;
        if (res && (add_rejected_by(p, "pool", res) < 0 || add_u64(p, "requested", res->requested) < 0 ||
                    add_u64(p, "available", res->available) < 0 || add_u64(p, "limit", res->limit) < 0))
                goto fail;
        return proto_error(PROTO_ERROR_REJECTED, p);

fail:
        json_object_put(p);
        return NULL;
}

static int rejected_to_code(json_object *params, struct cgov_result *res) {
        struct cgov_result r = { .outcome = CGOV_OUTCOME_REJECTED };
        const char *s = NULL;

        if (proto_get_string(params, "rejection", &s) < 0)
                return -EPROTO;
        r.rejection = proto_decision_from_string(s);
        if (r.rejection == 0)
                return -EPROTO;
        /* The figures are optional: a client that gets the decision right
         * but not a figure still returns the decision. A wrong type is a
         * broken daemon all the same. */
        s = NULL;
        if (proto_get_string(params, "pool", &s) == -EINVAL ||
            proto_get_u64(params, "requested", UINT64_MAX, &r.requested) == -EINVAL ||
            proto_get_u64(params, "available", UINT64_MAX, &r.available) == -EINVAL ||
            proto_get_u64(params, "limit", UINT64_MAX, &r.limit) == -EINVAL)
                return -EPROTO;
        if (s)
                set_rejected_by(&r, s);
        if (res)
                *res = r;
        return r.rejection;
}

int proto_error_to_code(const char *error, json_object *params, struct cgov_result *res) {
        int64_t e;

        if (!error)
                return -EPROTO;
        if (streq(error, PROTO_ERROR_REJECTED))
                return rejected_to_code(params, res);
        if (streq(error, PROTO_ERROR_TIMEOUT))
                return CGOV_E_TIMEOUT;
        if (streq(error, PROTO_ERROR_NO_SUCH_POOL))
                return -ENOENT;
        if (streq(error, PROTO_ERROR_NO_SUCH_JOB))
                return -ESRCH;
        if (streq(error, PROTO_ERROR_PERMISSION_DENIED))
                return -EPERM;
        if (streq(error, PROTO_ERROR_LIMIT_EXCEEDED))
                return -EUSERS;
        if (streq(error, PROTO_ERROR_INVALID_PARAMETER))
                return -EINVAL;
        if (streq(error, PROTO_ERROR_METHOD_NOT_FOUND))
                return -EOPNOTSUPP;
        if (streq(error, PROTO_ERROR_INVALID_POLICY))
                return -EBADMSG;
        if (streq(error, PROTO_ERROR_SYSTEM))
                return proto_get_i64(params, "errno", 1, 4095, &e) < 0 ? -EIO : (int) -e;
        return -EPROTO;
}
