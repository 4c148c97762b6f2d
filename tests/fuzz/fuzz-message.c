/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: arbitrary bytes as what a peer sends on a cgovd
 * connection. They go into a Wire as wire_read() would put them (through
 * wire_feed(), so no socket and no kernel in the loop), every message is
 * taken, and every message the framer accepts goes through everything the
 * daemon and the client do with one: request and reply parsing, every
 * getter on every parameter, the result, pool and error decoders.
 *
 * Besides not crashing, leaking or reading out of bounds, it checks:
 *   - wire_take() gives one JSON object or -EBADMSG, never anything else;
 *   - what it accepts, our sender accepts (wire_queue()), and that text
 *     framed again is taken again as an equal object;
 *   - the getters' contract: absent or null is -ENOENT, else the type
 *     decides, and a string handed out has no NUL and is valid UTF-8;
 *   - a result or pool status that decodes encodes back to the same. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Wire *memory_wire(void) {
        Wire *w = NULL;
        int r = wire_new(open("/dev/null", O_RDONLY | O_CLOEXEC), &w);
        assert(r == 0);
        return w;
}

static void check_getters(json_object *params, const char *key, json_object *val) {
        const char *s;
        uint64_t u;
        int64_t i;
        bool b;
        char **v = NULL;
        int r;
        bool absent = !val;
        json_type t = json_object_get_type(val);

        r = proto_get_string(params, key, &s);
        assert(absent ? r == -ENOENT : t == json_type_string ? r == 0 || r == -EINVAL : r == -EINVAL);
        if (r == 0)
                assert(strlen(s) == (size_t) json_object_get_string_len(val) && wire_utf8_valid(s, strlen(s)));

        r = proto_get_u64(params, key, UINT64_MAX, &u);
        assert(absent ? r == -ENOENT : t == json_type_int ? r == 0 || r == -EINVAL : r == -EINVAL);
        r = proto_get_u64(params, key, CGOV_SIZE_MAX, &u);
        assert(r != 0 || u <= CGOV_SIZE_MAX);

        r = proto_get_i64(params, key, INT64_MIN, INT64_MAX, &i);
        assert(absent ? r == -ENOENT : t == json_type_int ? r == 0 || r == -EINVAL : r == -EINVAL);
        r = proto_get_i64(params, key, -1, INT64_MAX / 1000, &i);
        assert(r != 0 || (i >= -1 && i <= INT64_MAX / 1000));

        r = proto_get_bool(params, key, &b);
        assert(absent ? r == -ENOENT : t == json_type_boolean ? r == 0 : r == -EINVAL);

        r = proto_get_strv(params, key, 16, &v);
        assert(absent ? r == -ENOENT : r == 0 || r == -EINVAL || r == -ENOMEM);
        if (r == 0) {
                size_t n = 0;
                for (; v[n]; n++)
                        assert(wire_utf8_valid(v[n], strlen(v[n])));
                assert(n <= 16 && n == json_object_array_length(val));
        }
        strv_free(v);
}

static void check_params(json_object *params) {
        static const char *const known[] = {
                "pool", "argv", "env", "cwd", "name", "memoryMax", "tasksMax", "timeoutMs", "queueTimeoutMs",
                "stdio", "id", "count", NULL,
        };
        const char *unknown = NULL;
        int r;

        if (!json_object_is_type(params, json_type_object))
                return;
        json_object_object_foreach(params, key, val)
                check_getters(params, key, val);
        check_getters(params, "absent-key", json_object_object_get(params, "absent-key"));

        r = proto_params_check(params, known, &unknown);
        assert(r == 0 || (r == -EINVAL && unknown && json_object_object_get_ex(params, unknown, NULL)));
}

static void check_result(json_object *o) {
        struct cgov_result res, back;
        int start_error = 0, back_error = 0;

        if (proto_result_from_json(o, &res, &start_error) < 0)
                return;
        assert(proto_outcome_to_string(res.outcome));
        assert(start_error == 0 || (res.outcome == CGOV_OUTCOME_REJECTED && start_error == res.rejection &&
                                    start_error < 0 && start_error >= -4095));

        json_object *again = proto_result_to_json(&res, start_error);
        if (!again)
                return; /* out of memory */
        int r = proto_result_from_json(again, &back, &back_error);
        assert(r == 0);
        assert(back.outcome == res.outcome && back.exit_status == res.exit_status &&
               back.rejection == res.rejection && strcmp(back.rejected_by, res.rejected_by) == 0 &&
               back.requested == res.requested && back.available == res.available && back.limit == res.limit &&
               back.memory_peak == res.memory_peak && back.cpu_usec == res.cpu_usec &&
               back.wall_usec == res.wall_usec && back.pids_peak == res.pids_peak);
        assert(back_error == start_error);
        json_object_put(again);
}

static void check_pool(json_object *o) {
        struct cgov_pool_status st, back;

        if (proto_pool_status_from_json(o, &st) < 0)
                return;
        json_object *again = proto_pool_to_json(&st, NULL);
        if (!again)
                return;
        int r = proto_pool_status_from_json(again, &back);
        assert(r == 0 && memcmp(&st, &back, sizeof st) == 0);
        json_object_put(again);
}

static void feed_all(Wire *w, const char *s, size_t len) {
        while (len > 0) {
                ssize_t n = wire_feed(w, s, len);
                assert(n > 0);
                s += n;
                len -= n;
        }
}

/* What wire_take() accepted, our sender accepts, and framed again it is
 * taken as an equal object. */
static void check_reframe(json_object *m) {
        Wire *w = memory_wire();
        size_t len;
        const char *s;
        int r;

        r = wire_queue(w, m, NULL, 0);
        assert(r == 0 || r == -EMSGSIZE || r == -ENOMEM);
        s = json_object_to_json_string_length(m, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (r == 0 && s) {
                json_object *back = NULL;
                feed_all(w, s, len);
                feed_all(w, "", 1);
                r = wire_take(w, &back, NULL, NULL);
                assert(r == 1);
                assert(json_object_equal(m, back));
                json_object_put(back);
        }
        wire_free(w);
}

/* Results and pools also come nested: a job's "result", ListPools'
 * "pools". */
static void check_nested(json_object *params) {
        json_object_object_foreach(params, key, val) {
                (void) key;
                if (json_object_is_type(val, json_type_object)) {
                        check_result(val);
                        check_pool(val);
                } else if (json_object_is_type(val, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(val); i++) {
                                check_result(json_object_array_get_idx(val, i));
                                check_pool(json_object_array_get_idx(val, i));
                        }
        }
}

static void check_message(json_object *m) {
        const char *method = NULL, *bad = NULL, *error = NULL;
        json_object *params = NULL;
        struct cgov_result res;
        int r;

        check_reframe(m);

        r = proto_request_parse(m, &method, &params, &bad);
        assert(r == 0 || r == -ENOMEM || (r == -EBADMSG && bad));
        if (r == 0) {
                assert(method && *method && json_object_is_type(params, json_type_object));
                check_params(params);
        }

        r = proto_reply_parse(m, &error, &params);
        assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r == 0) {
                assert(json_object_is_type(params, json_type_object));
                check_params(params);
                check_result(params);
                check_pool(params);
                check_nested(params);
                if (error) {
                        memset(&res, 0, sizeof res);
                        r = proto_error_to_code(error, params, &res);
                        assert(r < 0);
                        if (r < -4095 && strcmp(error, PROTO_ERROR_REJECTED) == 0)
                                assert(res.outcome == CGOV_OUTCOME_REJECTED && res.rejection == r);
                }
        }

        check_result(m);
        check_pool(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Wire *w = memory_wire();

        /* As wire_read() would: as much as one read takes, then every
         * message it completed. */
        while (size > 0) {
                ssize_t n = wire_feed(w, data, size);
                if (n < 0) {
                        assert(n == -EMSGSIZE);
                        break;
                }
                data += n;
                size -= n;
                for (;;) {
                        json_object *m = NULL;
                        int fds[WIRE_FDS_MAX];
                        size_t n_fds = 0;
                        int r = wire_take(w, &m, fds, &n_fds);
                        if (r == 0)
                                break;
                        if (r == -EBADMSG)
                                continue;
                        assert(r == 1 && n_fds == 0 && json_object_is_type(m, json_type_object));
                        check_message(m);
                        json_object_put(m);
                }
        }
        wire_free(w);
        return 0;
}
