/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The protocol's messages: request and reply shapes, the strict getters,
 * and the JSON forms of results, pool status and errors. Codecs are tested
 * through text (to_json, printed, parsed, from_json), since text is what
 * crosses the socket and json-c's integer types change on the way. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "macro.h"
#include "protocol.h"
#include "wire.h"

static json_object *parse(const char *s) {
        json_object *o = json_tokener_parse(s);
        cr_assert_not_null(o, "test JSON: %s", s);
        return o;
}

/* Through text, as across the socket. */
static json_object *reparse(json_object *o) {
        cr_assert_not_null(o);
        json_object *p = parse(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return p;
}

static const char *str(json_object *o, const char *key) {
        json_object *v = json_object_object_get(o, key);
        return v ? json_object_get_string(v) : NULL;
}

/* ---- requests and replies ---------------------------------------------- */

Test(protocol, request_round_trip) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "id", json_object_new_int64(7));
        json_object *rq = reparse(proto_request("Kill", p));
        const char *method = NULL, *bad = NULL;
        json_object *params = NULL;

        cr_expect_str_eq(str(rq, "method"), "io.cgov.Kill");
        cr_assert_eq(proto_request_parse(rq, &method, &params, &bad), 0);
        cr_expect_str_eq(method, "Kill");
        cr_expect_eq(json_object_get_int64(json_object_object_get(params, "id")), 7);
        cr_expect_null(bad);
        json_object_put(rq);

        /* No parameters: an empty object, owned by the message. */
        rq = reparse(proto_request("GetInfo", NULL));
        cr_expect_null(json_object_object_get(rq, "parameters"));
        cr_assert_eq(proto_request_parse(rq, &method, &params, &bad), 0);
        cr_expect_str_eq(method, "GetInfo");
        cr_assert(json_object_is_type(params, json_type_object));
        cr_expect_eq(json_object_object_length(params), 0);
        json_object_put(rq);

        /* null parameters, and another interface's method, whole. */
        rq = parse("{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":null}");
        cr_assert_eq(proto_request_parse(rq, &method, &params, &bad), 0);
        cr_expect_str_eq(method, "org.varlink.service.GetInfo");
        cr_assert(json_object_is_type(params, json_type_object));
        json_object_put(rq);

        rq = proto_request("org.varlink.service.GetInfo", NULL);
        cr_expect_str_eq(str(rq, "method"), "org.varlink.service.GetInfo");
        json_object_put(rq);
        cr_expect_null(proto_request(NULL, json_object_new_object()));
}

static void expect_bad_request(const char *text, const char *want_bad) {
        json_object *rq = parse(text);
        const char *method = "untouched", *bad = NULL;
        json_object *params = NULL;

        cr_expect_eq(proto_request_parse(rq, &method, &params, &bad), -EBADMSG, "accepted: %s", text);
        cr_expect_str_eq(bad ?: "(null)", want_bad, "%s", text);
        cr_expect_str_eq(method, "untouched");
        cr_expect_null(params);
        json_object_put(rq);
}

Test(protocol, request_shape_is_checked) {
        expect_bad_request("{}", "method");
        expect_bad_request("{\"parameters\":{}}", "method");
        expect_bad_request("{\"method\":1}", "method");
        expect_bad_request("{\"method\":null}", "method");
        expect_bad_request("{\"method\":[\"io.cgov.Kill\"]}", "method");
        expect_bad_request("{\"method\":\"Kill\"}", "method");
        expect_bad_request("{\"method\":\"io.cgov.\"}", "method");
        expect_bad_request("{\"method\":\"io.cgov.Ki\\u0000ll\"}", "method");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"parameters\":[]}", "parameters");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"parameters\":\"id=1\"}", "parameters");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"oneway\":true}", "oneway");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"more\":true}", "more");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"more\":\"no\"}", "more");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"oneway\":null}", "oneway");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"upgrade\":true}", "upgrade");
        expect_bad_request("{\"method\":\"io.cgov.Kill\",\"Parameters\":{}}", "Parameters");
        expect_bad_request("[]", "message");

        /* An explicit false asks for what every call gets. */
        json_object *rq = parse("{\"method\":\"io.cgov.Kill\",\"oneway\":false,\"more\":false}");
        const char *method, *bad = NULL;
        json_object *params;
        cr_expect_eq(proto_request_parse(rq, &method, &params, &bad), 0);
        json_object_put(rq);

        /* ret_bad may be NULL. */
        rq = parse("{}");
        cr_expect_eq(proto_request_parse(rq, &method, &params, NULL), -EBADMSG);
        json_object_put(rq);
}

Test(protocol, reply_round_trip) {
        const char *error = "untouched";
        json_object *params = NULL;
        json_object *p = json_object_new_object();
        json_object_object_add(p, "killed", json_object_new_int64(3));

        json_object *r = reparse(proto_reply(p));
        cr_assert_eq(proto_reply_parse(r, &error, &params), 0);
        cr_expect_null(error);
        cr_expect_eq(json_object_get_int64(json_object_object_get(params, "killed")), 3);
        json_object_put(r);

        r = reparse(proto_reply(NULL));
        cr_assert_eq(proto_reply_parse(r, &error, &params), 0);
        cr_expect_null(error);
        cr_expect_eq(json_object_object_length(params), 0);
        json_object_put(r);

        r = reparse(proto_error(PROTO_ERROR_TIMEOUT, NULL));
        cr_assert_eq(proto_reply_parse(r, &error, &params), 0);
        cr_expect_str_eq(error, PROTO_ERROR_TIMEOUT);
        cr_expect_eq(json_object_object_length(params), 0);
        json_object_put(r);

        r = reparse(proto_error_invalid_parameter("memoryMax"));
        cr_assert_eq(proto_reply_parse(r, &error, &params), 0);
        cr_expect_str_eq(error, PROTO_ERROR_INVALID_PARAMETER);
        cr_expect_str_eq(str(params, "parameter"), "memoryMax");
        json_object_put(r);

        /* A newer daemon's extra key passes; a malformed reply does not. */
        r = parse("{\"parameters\":{},\"continues\":false,\"future\":1}");
        cr_expect_eq(proto_reply_parse(r, &error, &params), 0);
        json_object_put(r);
        static const char *const bad[] = {
                "[]", "{\"error\":1}", "{\"error\":\"\"}", "{\"error\":\"a\\u0000b\"}", "{\"parameters\":[]}",
                "{\"parameters\":1}", "{\"continues\":true}", "{\"continues\":1}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r = parse(bad[i]);
                cr_expect_eq(proto_reply_parse(r, &error, &params), -EBADMSG, "accepted: %s", bad[i]);
                json_object_put(r);
        }
}

Test(protocol, system_error_names_the_errno) {
        json_object *e = reparse(proto_error_system(-ENOENT)), *p = json_object_object_get(e, "parameters");

        cr_expect_str_eq(str(e, "error"), PROTO_ERROR_SYSTEM);
        cr_expect_eq(json_object_get_int64(json_object_object_get(p, "errno")), ENOENT);
        cr_expect_str_eq(str(p, "errnoName"), "ENOENT");
        cr_expect_str_eq(str(p, "message"), strerror(ENOENT));
        json_object_put(e);

        /* Whatever it is given, the peer gets an errno it can use. */
        const int odd[] = { 0, -5000, INT_MIN, 5000 };
        for (size_t i = 0; i < ELEMENTSOF(odd); i++) {
                e = proto_error_system(odd[i]);
                p = json_object_object_get(e, "parameters");
                cr_expect_eq(json_object_get_int64(json_object_object_get(p, "errno")), EIO, "%d", odd[i]);
                json_object_put(e);
        }
}

/* ---- strict parameter access ------------------------------------------- */

Test(protocol, get_string) {
        json_object *p = parse("{\"s\":\"caf\\u00e9\",\"n\":null,\"i\":1,\"b\":true,\"a\":[\"x\"],"
                               "\"z\":\"a\\u0000b\",\"e\":\"\"}");
        const char *s = "untouched";

        cr_expect_eq(proto_get_string(p, "s", &s), 0);
        cr_expect_str_eq(s, "café");
        cr_expect_eq(proto_get_string(p, "e", &s), 0);
        cr_expect_str_eq(s, "");
        s = "untouched";
        cr_expect_eq(proto_get_string(p, "absent", &s), -ENOENT);
        cr_expect_eq(proto_get_string(p, "n", &s), -ENOENT);
        cr_expect_eq(proto_get_string(p, "i", &s), -EINVAL);
        cr_expect_eq(proto_get_string(p, "b", &s), -EINVAL);
        cr_expect_eq(proto_get_string(p, "a", &s), -EINVAL);
        cr_expect_eq(proto_get_string(p, "z", &s), -EINVAL, "embedded NUL");
        cr_expect_str_eq(s, "untouched");

        /* Not UTF-8, in an object that never went through wire_take(). */
        json_object_object_add(p, "u", json_object_new_string("\xc0\x80"));
        cr_expect_eq(proto_get_string(p, "u", &s), -EINVAL);

        /* Parameters that are no object, or none at all. */
        json_object *a = parse("[1]");
        cr_expect_eq(proto_get_string(a, "s", &s), -EINVAL);
        cr_expect_eq(proto_get_string(NULL, "s", &s), -ENOENT);
        json_object_put(a);
        json_object_put(p);
}

Test(protocol, get_u64) {
        json_object *p = parse("{\"zero\":0,\"v\":42,\"top\":18446744073709551615,\"big\":9223372036854775808,"
                               "\"neg\":-1,\"minneg\":-9223372036854775808,\"str\":\"42\",\"dbl\":42.0,\"exp\":1e3,"
                               "\"b\":true,\"n\":null,\"o\":{},\"a\":[42]}");
        uint64_t v = 7;

        cr_expect_eq(proto_get_u64(p, "zero", 0, &v), 0);
        cr_expect_eq(v, 0);
        cr_expect_eq(proto_get_u64(p, "v", 42, &v), 0);
        cr_expect_eq(v, 42);
        cr_expect_eq(proto_get_u64(p, "top", UINT64_MAX, &v), 0);
        cr_expect_eq(v, UINT64_MAX);
        cr_expect_eq(proto_get_u64(p, "big", UINT64_MAX, &v), 0);
        cr_expect_eq(v, UINT64_C(9223372036854775808));
        v = 7;
        cr_expect_eq(proto_get_u64(p, "v", 41, &v), -EINVAL, "above max");
        cr_expect_eq(proto_get_u64(p, "top", UINT64_MAX - 1, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "big", INT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "neg", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "minneg", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "str", UINT64_MAX, &v), -EINVAL, "json-c would convert it");
        cr_expect_eq(proto_get_u64(p, "dbl", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "exp", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "b", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "o", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "a", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_u64(p, "n", UINT64_MAX, &v), -ENOENT);
        cr_expect_eq(proto_get_u64(p, "absent", UINT64_MAX, &v), -ENOENT);
        cr_expect_eq(v, 7);

        /* Values made in memory, as the daemon's replies are. */
        json_object_object_add(p, "mu", json_object_new_uint64(UINT64_MAX));
        cr_expect_eq(proto_get_u64(p, "mu", UINT64_MAX, &v), 0);
        cr_expect_eq(v, UINT64_MAX);
        json_object_object_add(p, "mi", json_object_new_int64(-5));
        cr_expect_eq(proto_get_u64(p, "mi", UINT64_MAX, &v), -EINVAL);
        json_object_put(p);
}

Test(protocol, get_i64) {
        json_object *p = parse("{\"m1\":-1,\"m2\":-2,\"v\":1000,\"min\":-9223372036854775808,"
                               "\"max\":9223372036854775807,\"over\":9223372036854775808,"
                               "\"top\":18446744073709551615,\"str\":\"-1\",\"dbl\":-1.0,\"b\":false,\"n\":null}");
        int64_t v = 7;

        cr_expect_eq(proto_get_i64(p, "m1", -1, INT64_MAX / 1000, &v), 0);
        cr_expect_eq(v, -1);
        cr_expect_eq(proto_get_i64(p, "v", -1, 1000, &v), 0);
        cr_expect_eq(v, 1000);
        cr_expect_eq(proto_get_i64(p, "min", INT64_MIN, INT64_MAX, &v), 0);
        cr_expect_eq(v, INT64_MIN);
        cr_expect_eq(proto_get_i64(p, "max", INT64_MIN, INT64_MAX, &v), 0);
        cr_expect_eq(v, INT64_MAX);
        v = 7;
        cr_expect_eq(proto_get_i64(p, "m2", -1, INT64_MAX, &v), -EINVAL, "below min");
        cr_expect_eq(proto_get_i64(p, "v", -1, 999, &v), -EINVAL, "above max");
        cr_expect_eq(proto_get_i64(p, "over", INT64_MIN, INT64_MAX, &v), -EINVAL, "json-c would clamp it");
        cr_expect_eq(proto_get_i64(p, "top", INT64_MIN, INT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_i64(p, "str", INT64_MIN, INT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_i64(p, "dbl", INT64_MIN, INT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_i64(p, "b", INT64_MIN, INT64_MAX, &v), -EINVAL);
        cr_expect_eq(proto_get_i64(p, "n", INT64_MIN, INT64_MAX, &v), -ENOENT);
        cr_expect_eq(proto_get_i64(p, "absent", INT64_MIN, INT64_MAX, &v), -ENOENT);
        cr_expect_eq(v, 7);
        json_object_put(p);
}

Test(protocol, get_bool) {
        json_object *p = parse("{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\",\"n\":null}");
        bool v = false;

        cr_expect_eq(proto_get_bool(p, "t", &v), 0);
        cr_expect(v);
        cr_expect_eq(proto_get_bool(p, "f", &v), 0);
        cr_expect_not(v);
        v = true;
        cr_expect_eq(proto_get_bool(p, "one", &v), -EINVAL);
        cr_expect_eq(proto_get_bool(p, "s", &v), -EINVAL);
        cr_expect_eq(proto_get_bool(p, "n", &v), -ENOENT);
        cr_expect_eq(proto_get_bool(p, "absent", &v), -ENOENT);
        cr_expect(v);
        json_object_put(p);
}

Test(protocol, get_strv) {
        json_object *p = parse("{\"argv\":[\"sh\",\"-c\",\"echo \\u00e9\"],\"empty\":[],\"str\":\"sh\","
                               "\"mixed\":[\"sh\",1],\"null\":[\"sh\",null],\"nul\":[\"a\\u0000b\"],"
                               "\"nested\":[[\"sh\"]],\"n\":null}");
        char **v = NULL;

        cr_assert_eq(proto_get_strv(p, "argv", 3, &v), 0);
        cr_assert_not_null(v);
        cr_expect_str_eq(v[0], "sh");
        cr_expect_str_eq(v[1], "-c");
        cr_expect_str_eq(v[2], "echo é");
        cr_expect_null(v[3]);
        strv_free(v);

        v = NULL;
        cr_assert_eq(proto_get_strv(p, "empty", 0, &v), 0);
        cr_assert_not_null(v);
        cr_expect_null(v[0]);
        strv_free(v);

        v = NULL;
        cr_expect_eq(proto_get_strv(p, "argv", 2, &v), -EINVAL, "more than max_items");
        cr_expect_eq(proto_get_strv(p, "str", 10, &v), -EINVAL);
        cr_expect_eq(proto_get_strv(p, "mixed", 10, &v), -EINVAL);
        cr_expect_eq(proto_get_strv(p, "null", 10, &v), -EINVAL);
        cr_expect_eq(proto_get_strv(p, "nul", 10, &v), -EINVAL);
        cr_expect_eq(proto_get_strv(p, "nested", 10, &v), -EINVAL);
        cr_expect_eq(proto_get_strv(p, "n", 10, &v), -ENOENT);
        cr_expect_eq(proto_get_strv(p, "absent", 10, &v), -ENOENT);
        cr_expect_null(v);
        strv_free(NULL);
        json_object_put(p);
}

Test(protocol, params_check) {
        static const char *const submit[] = { "pool", "argv", "env", NULL };
        static const char *const none[] = { NULL };
        const char *unknown = NULL;

        json_object *p = parse("{\"pool\":\"a\",\"argv\":[\"x\"]}");
        cr_expect_eq(proto_params_check(p, submit, &unknown), 0);
        cr_expect_null(unknown);
        cr_expect_eq(proto_params_check(p, none, &unknown), -EINVAL);
        cr_expect_str_eq(unknown, "pool");
        json_object_put(p);

        p = parse("{\"pool\":\"a\",\"agrv\":[\"x\"]}");
        cr_expect_eq(proto_params_check(p, submit, &unknown), -EINVAL);
        cr_expect_str_eq(unknown, "agrv", "a client's typo never passes");
        json_object_put(p);

        p = parse("{}");
        cr_expect_eq(proto_params_check(p, none, &unknown), 0);
        cr_expect_eq(proto_params_check(p, NULL, NULL), 0);
        json_object_put(p);

        p = parse("[\"pool\"]");
        unknown = NULL;
        cr_expect_eq(proto_params_check(p, submit, &unknown), -EINVAL);
        cr_expect_str_eq(unknown, "parameters");
        cr_expect_eq(proto_params_check(NULL, submit, &unknown), -EINVAL);
        json_object_put(p);
}

/* ---- values ------------------------------------------------------------ */

static const struct {
        enum cgov_outcome outcome;
        const char *name;
} outcomes[] = {
        { CGOV_OUTCOME_EXITED, "exited" },       { CGOV_OUTCOME_SIGNALED, "signaled" },
        { CGOV_OUTCOME_OOM_KILLED, "oomKilled" }, { CGOV_OUTCOME_TIMED_OUT, "timedOut" },
        { CGOV_OUTCOME_KILLED, "killed" },       { CGOV_OUTCOME_REJECTED, "rejected" },
        { CGOV_OUTCOME_UNKNOWN, "unknown" },
};

static const int decisions[] = {
        CGOV_E_INSUFFICIENT_MEMORY, CGOV_E_NO_WORKERS, CGOV_E_TIMEOUT, CGOV_E_OVERLOADED, CGOV_E_POOL_GONE,
};

Test(protocol, outcome_names) {
        enum cgov_outcome o = CGOV_OUTCOME_EXITED;

        for (size_t i = 0; i < ELEMENTSOF(outcomes); i++) {
                cr_expect_str_eq(proto_outcome_to_string(outcomes[i].outcome), outcomes[i].name);
                cr_expect_eq(proto_outcome_from_string(outcomes[i].name, &o), 0);
                cr_expect_eq(o, outcomes[i].outcome);
        }
        cr_expect_null(proto_outcome_to_string(0));
        cr_expect_null(proto_outcome_to_string(CGOV_OUTCOME_UNKNOWN + 1));
        cr_expect_null(proto_outcome_to_string(_CGOV_OUTCOME_MAX_));
        cr_expect_null(proto_outcome_to_string((enum cgov_outcome) -1));
        o = CGOV_OUTCOME_KILLED;
        cr_expect_eq(proto_outcome_from_string("Exited", &o), -EINVAL);
        cr_expect_eq(proto_outcome_from_string("", &o), -EINVAL);
        cr_expect_eq(proto_outcome_from_string(NULL, &o), -EINVAL);
        cr_expect_eq(o, CGOV_OUTCOME_KILLED);
}

Test(protocol, decision_names_come_from_the_error_table) {
        for (size_t i = 0; i < ELEMENTSOF(decisions); i++) {
                const char *name = proto_decision_to_string(decisions[i]);
                cr_assert_not_null(name);
                cr_expect_str_eq(name, cgov_error_name(decisions[i]));
                cr_expect_eq(proto_decision_from_string(name), decisions[i]);
        }
        cr_expect_str_eq(proto_decision_to_string(CGOV_E_NO_WORKERS), "NoWorkersAvailable");
        cr_expect_null(proto_decision_to_string(0));
        cr_expect_null(proto_decision_to_string(-ENOENT));
        cr_expect_eq(proto_decision_from_string("SystemError"), 0);
        cr_expect_eq(proto_decision_from_string("insufficientMemory"), 0);
        cr_expect_eq(proto_decision_from_string(NULL), 0);
}

static void expect_same_result(const struct cgov_result *a, const struct cgov_result *b) {
        cr_expect_eq(a->outcome, b->outcome);
        cr_expect_eq(a->exit_status, b->exit_status);
        cr_expect_eq(a->rejection, b->rejection);
        cr_expect_str_eq(a->rejected_by, b->rejected_by);
        cr_expect_eq(a->requested, b->requested);
        cr_expect_eq(a->available, b->available);
        cr_expect_eq(a->limit, b->limit);
        cr_expect_eq(a->memory_peak, b->memory_peak);
        cr_expect_eq(a->cpu_usec, b->cpu_usec);
        cr_expect_eq(a->wall_usec, b->wall_usec);
        cr_expect_eq(a->pids_peak, b->pids_peak);
}

Test(protocol, result_round_trip_for_every_outcome) {
        for (size_t i = 0; i < ELEMENTSOF(outcomes); i++) {
                if (outcomes[i].outcome == CGOV_OUTCOME_REJECTED)
                        continue;
                struct cgov_result res = {
                        .outcome = outcomes[i].outcome,
                        .exit_status = outcomes[i].outcome == CGOV_OUTCOME_SIGNALED ? 9 : -3,
                        .memory_peak = UINT64_MAX,
                        .cpu_usec = UINT64_C(1) << 40,
                        .wall_usec = 12345,
                        .pids_peak = UINT32_MAX,
                }, back;
                memset(&back, 0xaa, sizeof back);
                int start_error = 99;

                json_object *o = reparse(proto_result_to_json(&res, 0));
                cr_expect_str_eq(str(o, "outcome"), outcomes[i].name);
                cr_expect_null(json_object_object_get(o, "rejection"));
                cr_assert_eq(proto_result_from_json(o, &back, &start_error), 0, "%s", outcomes[i].name);
                expect_same_result(&back, &res);
                cr_expect_eq(start_error, 0);
                json_object_put(o);
        }
}

Test(protocol, result_round_trip_for_every_decision) {
        for (size_t i = 0; i < ELEMENTSOF(decisions); i++) {
                struct cgov_result res = {
                        .outcome = CGOV_OUTCOME_REJECTED,
                        .rejection = decisions[i],
                        .requested = 1u << 30,
                        .available = 5,
                        .limit = UINT64_MAX,
                }, back = {};
                int start_error = 99;

                snprintf(res.rejected_by, sizeof res.rejected_by, "shared/customer-%zu", i);
                json_object *o = reparse(proto_result_to_json(&res, 0));
                cr_expect_str_eq(str(o, "rejection"), cgov_error_name(decisions[i]));
                cr_expect_str_eq(str(o, "rejectedBy"), res.rejected_by);
                cr_expect_null(json_object_object_get(o, "errno"));
                cr_assert_eq(proto_result_from_json(o, &back, &start_error), 0);
                expect_same_result(&back, &res);
                cr_expect_eq(start_error, 0);
                json_object_put(o);
        }
}

Test(protocol, result_of_a_start_failure_is_a_system_error) {
        /* As the library leaves it: an unstarted job's result is UNKNOWN,
         * its start_error the errno. */
        struct cgov_result res = { .outcome = CGOV_OUTCOME_UNKNOWN }, back = {};
        int start_error = 0;

        snprintf(res.rejected_by, sizeof res.rejected_by, "shared");
        json_object *o = reparse(proto_result_to_json(&res, -ENOENT));
        cr_expect_str_eq(str(o, "outcome"), "rejected");
        cr_expect_str_eq(str(o, "rejection"), "SystemError");
        cr_expect_eq(json_object_get_int64(json_object_object_get(o, "errno")), ENOENT);
        cr_assert_eq(proto_result_from_json(o, &back, &start_error), 0);
        cr_expect_eq(start_error, -ENOENT);
        cr_expect_eq(back.outcome, CGOV_OUTCOME_REJECTED);
        cr_expect_eq(back.rejection, -ENOENT, "never mistaken for success");
        cr_expect_str_eq(back.rejected_by, "shared");
        cr_expect_eq(proto_result_from_json(o, &back, NULL), 0, "start_error may be NULL");
        json_object_put(o);

        /* A REJECTED result whose rejection is an errno says so too; one
         * that is neither a decision nor an errno still reads as a failure. */
        res = (struct cgov_result) { .outcome = CGOV_OUTCOME_REJECTED, .rejection = -EACCES };
        o = reparse(proto_result_to_json(&res, 0));
        cr_expect_str_eq(str(o, "rejection"), "SystemError");
        cr_expect_eq(json_object_get_int64(json_object_object_get(o, "errno")), EACCES);
        json_object_put(o);
        res.rejection = 0;
        o = reparse(proto_result_to_json(&res, 0));
        cr_expect_eq(json_object_get_int64(json_object_object_get(o, "errno")), EIO);
        json_object_put(o);
}

Test(protocol, result_long_rejected_by_is_cut_where_a_character_starts) {
        char longer[601];
        for (size_t i = 0; i < 600; i += 2)
                memcpy(longer + i, "\xc3\xa9", 2); /* é */
        longer[600] = 0;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "outcome", json_object_new_string("rejected"));
        json_object_object_add(o, "exitStatus", json_object_new_int(0));
        json_object_object_add(o, "memoryPeak", json_object_new_int(0));
        json_object_object_add(o, "cpuUsec", json_object_new_int(0));
        json_object_object_add(o, "wallUsec", json_object_new_int(0));
        json_object_object_add(o, "pidsPeak", json_object_new_int(0));
        json_object_object_add(o, "rejection", json_object_new_string("Overloaded"));
        json_object_object_add(o, "rejectedBy", json_object_new_string(longer));
        json_object_object_add(o, "requested", json_object_new_int(0));
        json_object_object_add(o, "available", json_object_new_int(0));
        json_object_object_add(o, "limit", json_object_new_int(0));
        struct cgov_result back = {};
        cr_assert_eq(proto_result_from_json(o, &back, NULL), 0);
        cr_expect_eq(strlen(back.rejected_by), sizeof back.rejected_by - 2, "255 bytes would split an é");
        cr_expect(wire_utf8_valid(back.rejected_by, strlen(back.rejected_by)));
        cr_expect_eq(memcmp(back.rejected_by, longer, strlen(back.rejected_by)), 0);
        json_object_put(o);
}

Test(protocol, malformed_results_are_refused) {
        static const char *const bad[] = {
                "[]",
                "{}",
                /* one field off each */
                "{\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"finished\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":1,\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"exitStatus\":\"0\",\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"exitStatus\":2147483648,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"exitStatus\":0,\"memoryPeak\":-1,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0.5,\"wallUsec\":0,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":null,\"pidsPeak\":0}",
                "{\"outcome\":\"exited\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":4294967296}",
                /* rejections */
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejectedBy\":\"a\",\"requested\":0,\"available\":0,\"limit\":0}",
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejection\":\"TooBusy\",\"rejectedBy\":\"a\",\"requested\":0,\"available\":0,\"limit\":0}",
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejection\":\"Overloaded\",\"requested\":0,\"available\":0,\"limit\":0}",
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejection\":\"Overloaded\",\"rejectedBy\":\"a\",\"requested\":0,\"available\":0}",
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejection\":\"SystemError\",\"rejectedBy\":\"a\",\"requested\":0,\"available\":0,\"limit\":0}",
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejection\":\"SystemError\",\"errno\":0,\"rejectedBy\":\"a\",\"requested\":0,\"available\":0,\"limit\":0}",
                "{\"outcome\":\"rejected\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,\"pidsPeak\":0,"
                "\"rejection\":\"SystemError\",\"errno\":4096,\"rejectedBy\":\"a\",\"requested\":0,\"available\":0,\"limit\":0}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_object *o = parse(bad[i]);
                struct cgov_result res = { .outcome = CGOV_OUTCOME_KILLED, .exit_status = 77 };
                int start_error = 99;
                cr_expect_eq(proto_result_from_json(o, &res, &start_error), -EBADMSG, "accepted: %s", bad[i]);
                cr_expect_eq(res.outcome, CGOV_OUTCOME_KILLED, "written on failure: %s", bad[i]);
                cr_expect_eq(res.exit_status, 77);
                cr_expect_eq(start_error, 99);
                json_object_put(o);
        }

        /* Extra keys pass: a newer daemon may add figures. */
        json_object *o = parse("{\"outcome\":\"exited\",\"exitStatus\":0,\"memoryPeak\":0,\"cpuUsec\":0,\"wallUsec\":0,"
                               "\"pidsPeak\":0,\"ioBytes\":5}");
        struct cgov_result res;
        cr_expect_eq(proto_result_from_json(o, &res, NULL), 0);
        json_object_put(o);
}

Test(protocol, pool_status_round_trip) {
        struct cgov_pool_status st = {
                .memory_max = UINT64_C(1) << 60,
                .memory_reserved = 2,
                .memory_current = 3,
                .max_jobs = 4,
                .jobs_running = 5,
                .jobs_queued = 6,
                .slots_held = 7,
                .pids_max = 8,
                .pids_current = UINT32_MAX,
                .jobs_started = 10,
                .jobs_rejected = 11,
                .jobs_oom_killed = UINT64_MAX,
        }, back;
        struct cgov_pool_limits lim = { .max_queue = 13, .queue_timeout_ms = 14, .job_memory_default = 15 };
        static const char *const keys[] = {
                "memoryMax", "memoryReserved", "memoryCurrent", "maxJobs", "jobsRunning", "jobsQueued",
                "slotsHeld", "pidsMax", "pidsCurrent", "jobsStarted", "jobsRejected", "jobsOomKilled",
                "maxQueue", "queueTimeoutMs", "jobMemoryDefault",
        };

        json_object *o = reparse(proto_pool_to_json(&st, &lim));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                cr_expect(json_object_is_type(json_object_object_get(o, keys[i]), json_type_int), "%s", keys[i]);
        cr_expect_eq(json_object_object_length(o), ELEMENTSOF(keys));
        cr_expect_eq(json_object_get_int64(json_object_object_get(o, "queueTimeoutMs")), 14);
        cr_expect_eq(json_object_get_int64(json_object_object_get(o, "pidsMax")), 8);
        memset(&back, 0xaa, sizeof back);
        cr_assert_eq(proto_pool_status_from_json(o, &back), 0);
        cr_expect_eq(memcmp(&back, &st, sizeof st), 0);
        json_object_put(o);

        /* Without limits; the caller's keys pass. */
        o = proto_pool_to_json(&st, NULL);
        cr_expect_null(json_object_object_get(o, "maxQueue"));
        json_object_object_add(o, "pool", json_object_new_string("shared"));
        json_object_object_add(o, "admin", json_object_new_boolean(true));
        o = reparse(o);
        cr_expect_eq(proto_pool_status_from_json(o, &back), 0);
        json_object_put(o);

        /* A u32 figure past its type, a missing one, a string. */
        static const char *const edits[][2] = {
                { "jobsRunning", "4294967296" }, { "memoryCurrent", NULL }, { "jobsStarted", "\"10\"" },
                { "pidsMax", "-1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(edits); i++) {
                o = reparse(proto_pool_to_json(&st, &lim));
                if (edits[i][1])
                        json_object_object_add(o, edits[i][0], parse(edits[i][1]));
                else
                        json_object_object_del(o, edits[i][0]);
                struct cgov_pool_status untouched = { .jobs_running = 42 };
                cr_expect_eq(proto_pool_status_from_json(o, &untouched), -EBADMSG, "%s", edits[i][0]);
                cr_expect_eq(untouched.jobs_running, 42);
                json_object_put(o);
        }
        json_object *a = parse("[]");
        cr_expect_eq(proto_pool_status_from_json(a, &back), -EBADMSG);
        json_object_put(a);
}

/* ---- errors ------------------------------------------------------------ */

static int code_of(const char *text, struct cgov_result *res) {
        json_object *e = parse(text), *params;
        const char *error;
        int r;

        cr_assert_eq(proto_reply_parse(e, &error, &params), 0);
        r = proto_error_to_code(error, params, res);
        json_object_put(e);
        return r;
}

Test(protocol, error_to_code_for_every_error) {
        struct cgov_result res;

        cr_expect_eq(code_of("{\"error\":\"io.cgov.Timeout\"}", NULL), CGOV_E_TIMEOUT);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.NoSuchPool\",\"parameters\":{\"pool\":\"x\"}}", NULL), -ENOENT);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.NoSuchJob\",\"parameters\":{\"id\":3}}", NULL), -ESRCH);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.PermissionDenied\"}", NULL), -EPERM);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.LimitExceeded\",\"parameters\":{\"limit\":\"jobs\",\"max\":256}}", NULL),
                     -EUSERS);
        cr_expect_eq(code_of("{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"x\"}}",
                             NULL),
                     -EINVAL);
        cr_expect_eq(code_of("{\"error\":\"org.varlink.service.MethodNotFound\"}", NULL), -EOPNOTSUPP);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\",\"parameters\":{\"errno\":2}}", NULL), -ENOENT);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\",\"parameters\":{\"errno\":4095}}", NULL), -4095);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\",\"parameters\":{\"errno\":0}}", NULL), -EIO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\",\"parameters\":{\"errno\":4096}}", NULL), -EIO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\",\"parameters\":{\"errno\":-2}}", NULL), -EIO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\",\"parameters\":{\"errno\":\"2\"}}", NULL), -EIO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.SystemError\"}", NULL), -EIO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.InvalidPolicy\",\"parameters\":{\"diagnostics\":[]}}", NULL), -EBADMSG);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.Whatever\"}", NULL), -EPROTO);
        cr_expect_eq(code_of("{\"error\":\"org.varlink.service.InterfaceNotFound\"}", NULL), -EPROTO);
        cr_expect_eq(proto_error_to_code(NULL, NULL, NULL), -EPROTO);

        /* Rejected, for every decision: the code, and res as REJECTED. */
        for (size_t i = 0; i < ELEMENTSOF(decisions); i++) {
                char text[512];
                snprintf(text, sizeof text,
                         "{\"error\":\"io.cgov.Rejected\",\"parameters\":{\"rejection\":\"%s\",\"pool\":\"shared\","
                         "\"requested\":100,\"available\":50,\"limit\":18446744073709551615}}",
                         cgov_error_name(decisions[i]));
                memset(&res, 0xaa, sizeof res);
                cr_expect_eq(code_of(text, &res), decisions[i]);
                cr_expect_eq(res.outcome, CGOV_OUTCOME_REJECTED);
                cr_expect_eq(res.rejection, decisions[i]);
                cr_expect_str_eq(res.rejected_by, "shared");
                cr_expect_eq(res.requested, 100);
                cr_expect_eq(res.available, 50);
                cr_expect_eq(res.limit, UINT64_MAX);
                cr_expect_eq(res.exit_status, 0);
                cr_expect_eq(code_of(text, NULL), decisions[i], "res may be NULL");
        }
        cr_expect_eq(code_of("{\"error\":\"io.cgov.Rejected\",\"parameters\":{\"rejection\":\"Bored\"}}", NULL), -EPROTO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.Rejected\"}", NULL), -EPROTO);
        cr_expect_eq(code_of("{\"error\":\"io.cgov.Rejected\",\"parameters\":{\"rejection\":\"Overloaded\","
                             "\"requested\":\"1\"}}",
                             NULL),
                     -EPROTO);
}

Test(protocol, rejected_round_trip) {
        struct cgov_result res = {
                .outcome = CGOV_OUTCOME_REJECTED,
                .rejection = CGOV_E_INSUFFICIENT_MEMORY,
                .requested = 1 << 20,
                .available = 1 << 10,
                .limit = 1 << 30,
        }, back;
        snprintf(res.rejected_by, sizeof res.rejected_by, "shared/customer-a");

        json_object *e = reparse(proto_error_rejected(CGOV_E_INSUFFICIENT_MEMORY, &res)), *params;
        const char *error;
        cr_assert_eq(proto_reply_parse(e, &error, &params), 0);
        cr_expect_str_eq(error, PROTO_ERROR_REJECTED);
        cr_expect_str_eq(str(params, "rejection"), "InsufficientMemory");
        cr_expect_str_eq(str(params, "pool"), "shared/customer-a");
        cr_expect_eq(proto_error_to_code(error, params, &back), CGOV_E_INSUFFICIENT_MEMORY);
        expect_same_result(&back, &res);
        json_object_put(e);

        /* Without figures; and a non-decision is a system error. */
        e = reparse(proto_error_rejected(CGOV_E_POOL_GONE, NULL));
        cr_assert_eq(proto_reply_parse(e, &error, &params), 0);
        cr_expect_eq(proto_error_to_code(error, params, &back), CGOV_E_POOL_GONE);
        cr_expect_str_eq(back.rejected_by, "");
        json_object_put(e);
        e = reparse(proto_error_rejected(-EMFILE, &res));
        cr_assert_eq(proto_reply_parse(e, &error, &params), 0);
        cr_expect_str_eq(error, PROTO_ERROR_SYSTEM);
        cr_expect_eq(proto_error_to_code(error, params, NULL), -EMFILE);
        json_object_put(e);
}
