/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "api-ops.h"
#include "client.h"
#include "governor.h"
#include "macro.h"
#include "names.h"

/* libcgov's exported functions: each checks its arguments (a caller's bug
 * must not take down its service) and hands the call to the mode of the
 * handle it got (api-ops.h). */

_public_ int cgov_open(cgov **ret, const struct cgov_options *opts) {
        static const struct cgov_options defaults = {};

        assert_return(ret, -EINVAL);
        if (!opts)
                opts = &defaults;
        assert_return(!(opts->flags & ~(CGOV_OPEN_ACCOUNTING_ONLY | CGOV_OPEN_SYSTEMD)), -EINVAL);
        if (opts->address)
                return client_open(opts, ret);
        return governor_open(ret, opts, NULL);
}

_public_ void cgov_close(cgov *g) {
        if (g)
                api_ops(g)->close(g);
}

/* ---- pools ---------------------------------------------------------------- */

_public_ int cgov_pool_create(cgov *g, const char *path, const struct cgov_pool_limits *lim, cgov_pool **ret) {
        assert_return(g, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);
        return api_ops(g)->pool_create(g, path, lim, ret);
}

_public_ int cgov_pool_find(cgov *g, const char *path, cgov_pool **ret) {
        assert_return(g, -EINVAL);
        assert_return(path, -EINVAL);
        assert_return(ret, -EINVAL);
        return api_ops(g)->pool_find(g, path, ret);
}

_public_ int cgov_pool_set_limits(cgov_pool *p, const struct cgov_pool_limits *lim) {
        assert_return(p, -EINVAL);
        assert_return(lim, -EINVAL);
        return api_ops(p)->pool_set_limits(p, lim);
}

_public_ int cgov_pool_release(cgov_pool *p) {
        assert_return(p, -EINVAL);
        return api_ops(p)->pool_release(p);
}

_public_ int cgov_pool_status(cgov_pool *p, struct cgov_pool_status *st) {
        assert_return(p, -EINVAL);
        assert_return(st, -EINVAL);
        return api_ops(p)->pool_status(p, st);
}

_public_ const char *cgov_pool_path(cgov_pool *p) {
        return p ? api_ops(p)->pool_path(p) : NULL;
}

_public_ const char *cgov_pool_cgroup(cgov_pool *p) {
        return p ? api_ops(p)->pool_cgroup(p) : NULL;
}

/* ---- jobs ----------------------------------------------------------------- */

/* Each mode checks the spec itself (job_spec_check), once. */
_public_ int cgov_submit(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret) {
        assert_return(p, -EINVAL);
        assert_return(spec, -EINVAL);
        assert_return(ret, -EINVAL);
        return api_ops(p)->submit(p, spec, ret);
}

_public_ int cgov_run(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res) {
        assert_return(p, -EINVAL);
        assert_return(spec, -EINVAL);
        assert_return(res, -EINVAL);
        return api_ops(p)->run(p, spec, res);
}

_public_ int cgov_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res) {
        assert_return(j, -EINVAL);
        assert_return(res, -EINVAL);
        assert_return(timeout_ms >= -1, -EINVAL);
        return api_ops(j)->await(j, timeout_ms, res);
}

_public_ int cgov_kill(cgov_job *j) {
        assert_return(j, -EINVAL);
        return api_ops(j)->kill(j);
}

_public_ int cgov_kill_by_name(cgov_pool *p, const char *name) {
        assert_return(p, -EINVAL);
        assert_return(job_name_is_valid(name), -EINVAL);
        return api_ops(p)->kill_matching(p, name);
}

_public_ int cgov_flush(cgov_pool *p) {
        assert_return(p, -EINVAL);
        return api_ops(p)->kill_matching(p, NULL);
}

_public_ pid_t cgov_job_pid(cgov_job *j) {
        return j ? api_ops(j)->job_pid(j) : 0;
}

_public_ const char *cgov_job_cgroup(cgov_job *j) {
        return j ? api_ops(j)->job_cgroup(j) : NULL;
}

_public_ void cgov_job_free(cgov_job *j) {
        if (j)
                api_ops(j)->job_free(j);
}

/* ---- slots and calls ------------------------------------------------------ */

_public_ int cgov_acquire(cgov_pool *p, unsigned n) {
        assert_return(p, -EINVAL);
        assert_return(n <= INT32_MAX, -ERANGE);
        return api_ops(p)->acquire(p, n);
}

_public_ int cgov_release(cgov_pool *p, unsigned n) {
        assert_return(p, -EINVAL);
        return api_ops(p)->release(p, n);
}

_public_ int cgov_call(cgov_pool *p, cgov_fn fn, void *arg, const struct cgov_job_spec *spec,
                       struct cgov_result *res, void **out, size_t *out_len) {
        static const struct cgov_job_spec none = {};

        assert_return(p, -EINVAL);
        assert_return(fn, -EINVAL);
        assert_return(res, -EINVAL);
        assert_return(!out == !out_len, -EINVAL);
        return api_ops(p)->call(p, fn, arg, spec ?: &none, res, out, out_len);
}
