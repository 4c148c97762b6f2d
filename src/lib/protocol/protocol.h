/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgovd protocol's messages (docs/protocol.md), shared by the daemon and
 * libcgov's client mode: building and checking requests and replies, and the
 * JSON form of results, pool status and errors. Strict: every getter refuses
 * a wrong type or an out-of-range value and names the parameter, and
 * proto_params_check() refuses keys nobody asked for. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgov.h"

#define PROTO_VERSION 1
#define PROTO_INTERFACE "io.cgov"
/* Where cgovd listens unless told otherwise, and where cgov looks. */
#define PROTO_DEFAULT_ADDRESS "/run/cgov/cgov.sock"

#define PROTO_ERROR_REJECTED "io.cgov.Rejected"
#define PROTO_ERROR_TIMEOUT "io.cgov.Timeout"
#define PROTO_ERROR_NO_SUCH_POOL "io.cgov.NoSuchPool"
#define PROTO_ERROR_NO_SUCH_JOB "io.cgov.NoSuchJob"
#define PROTO_ERROR_PERMISSION_DENIED "io.cgov.PermissionDenied"
#define PROTO_ERROR_LIMIT_EXCEEDED "io.cgov.LimitExceeded"
#define PROTO_ERROR_INVALID_POLICY "io.cgov.InvalidPolicy"
#define PROTO_ERROR_SYSTEM "io.cgov.SystemError"
#define PROTO_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define PROTO_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"

/* ---- requests and replies ---------------------------------------------- */

/* {"method": "io.cgov.<method>", "parameters": params}; takes params (may be
 * NULL: no "parameters"). A method with a dot is another interface's, used
 * whole. NULL on OOM. */
json_object *proto_request(const char *method, json_object *params);
/* Checks a received request's shape. 0 with *ret_method (the name after
 * "io.cgov.", e.g. "Submit"; a method of another interface is returned
 * whole) and *ret_params (borrowed; an empty object when absent); or
 * -EBADMSG with *ret_bad naming the offending key ("method", "parameters",
 * "oneway", "more", or an unknown top-level key, borrowed from msg or
 * static; "message" when msg is not an object). "oneway" or "more" that is
 * true (or not a boolean) is refused; an explicit false asks for what every
 * call gets and passes. A method name without an interface ("Submit") is
 * refused, so that no second spelling reaches a method. The empty
 * parameters object is added to msg, which owns it: -ENOMEM is possible. */
int proto_request_parse(json_object *msg, const char **ret_method, json_object **ret_params,
                        const char **ret_bad);

/* {"parameters": params}; takes params (NULL: none). */
json_object *proto_reply(json_object *params);
/* {"error": error, "parameters": params}; takes params (NULL: none). */
json_object *proto_error(const char *error, json_object *params);
/* The common errors, built in one call. */
json_object *proto_error_invalid_parameter(const char *parameter);
json_object *proto_error_system(int negative_errno);
/* A received reply: 0 with *ret_error NULL (success) or the error name,
 * and *ret_params (borrowed; an empty object when absent); -EBADMSG when it
 * is neither. */
int proto_reply_parse(json_object *msg, const char **ret_error, json_object **ret_params);

/* ---- strict parameter access -------------------------------------------
 * Each returns 0 with the value, -ENOENT when the key is absent or null
 * (the value is left as it was: callers pre-set defaults) and -EINVAL for a
 * wrong type or a value outside [min, max]. Strings are borrowed from the
 * object and must be valid UTF-8 without NUL bytes. params NULL has no keys
 * (-ENOENT); params that is not an object is -EINVAL. Integers must be JSON
 * integers: "5", 5.0 and 5e0 are -EINVAL, as are values json-c would
 * clamp. */
int proto_get_string(json_object *params, const char *key, const char **ret);
int proto_get_u64(json_object *params, const char *key, uint64_t max, uint64_t *ret);
int proto_get_i64(json_object *params, const char *key, int64_t min, int64_t max, int64_t *ret);
int proto_get_bool(json_object *params, const char *key, bool *ret);
/* An array of at most max_items strings, each without NUL bytes; *ret is a
 * NULL-terminated malloc'd vector of strdup'ed strings (strv_free). An
 * empty array gives an empty vector. */
int proto_get_strv(json_object *params, const char *key, size_t max_items, char ***ret);
/* 0 when every key of params is in allowed (NULL-terminated); else -EINVAL
 * with *ret_unknown the first key that is not. A params that is not an
 * object is -EINVAL with *ret_unknown "parameters". */
int proto_params_check(json_object *params, const char *const *allowed, const char **ret_unknown);

#include "strv.h"

/* ---- values ------------------------------------------------------------ */

/* "exited", "signaled", "oomKilled", "timedOut", "killed", "rejected",
 * "unknown"; NULL / -EINVAL for anything else. */
const char *proto_outcome_to_string(enum cgov_outcome o);
int proto_outcome_from_string(const char *s, enum cgov_outcome *ret);

/* The *result* object. A rejection by a decision carries its name
 * ("InsufficientMemory"); a start failure (-errno) carries "SystemError" and
 * "errno". NULL on OOM. */
json_object *proto_result_to_json(const struct cgov_result *res, int start_error);
/* The reverse, strict; *start_error gets -errno for a "SystemError"
 * rejection, else 0 (start_error may be NULL); res->rejection gets the
 * -errno too, so that code returning res->rejection for REJECTED does not
 * return success. Unknown keys pass (a newer daemon may add figures); a
 * rejectedBy longer than res->rejected_by is cut where a character starts.
 * -EBADMSG on anything malformed or missing; res is written only on
 * success. */
int proto_result_from_json(json_object *o, struct cgov_result *res, int *start_error);

/* The figures of the *pool* object (cgov_pool_status and the limits; lim
 * may be NULL: no maxQueue, queueTimeoutMs, jobMemoryDefault); the caller
 * adds "pool", "cgroup" and "admin". status_from_json reads the
 * cgov_pool_status figures, all required; other keys pass. */
json_object *proto_pool_to_json(const struct cgov_pool_status *st, const struct cgov_pool_limits *lim);
int proto_pool_status_from_json(json_object *o, struct cgov_pool_status *st);

/* io.cgov.Rejected: parameters from a decision and the refusal's figures in
 * res (rejected_by, requested, available, limit; res may be NULL: no
 * figures). A decision that is not one gives io.cgov.SystemError. */
json_object *proto_error_rejected(int decision, const struct cgov_result *res);
/* A received error reply mapped back to what the library call returns:
 * io.cgov.Rejected → its CGOV_E_* with res filled as REJECTED (res may be
 * NULL); Timeout → CGOV_E_TIMEOUT; NoSuchPool → -ENOENT; NoSuchJob →
 * -ESRCH; PermissionDenied → -EPERM; LimitExceeded → -EUSERS;
 * InvalidParameter → -EINVAL; MethodNotFound → -EOPNOTSUPP; InvalidPolicy →
 * -EBADMSG; SystemError →
 * -errno (its "errno", bounded to 1..4095, else -EIO); anything else
 * -EPROTO. */
int proto_error_to_code(const char *error, json_object *params, struct cgov_result *res);

/* A decision's protocol name ("InsufficientMemory") and back; NULL / 0
 * when unknown. */
const char *proto_decision_to_string(int decision);
int proto_decision_from_string(const char *s);
