/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* `cgov reload`. The one command that speaks the protocol itself rather
 * than through libcgov's client mode: client_call() maps an error reply to
 * an errno and drops its parameters, and here the parameters of
 * io.cgov.InvalidPolicy (the diagnostics) are the point. One request on a
 * connection of our own is all it takes. */

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "client-util.h"
#include "macro.h"
#include "protocol.h"
#include "reload.h"
#include "wire.h"

#define EXIT_FAILED 1

/* Reading and checking a policy is quick, but it looks users and groups up,
 * which may ask a slow directory service. */
#define RELOAD_TIMEOUT_USEC (120 * UINT64_C(1000000))

static void reload_help(void) {
        printf("Usage: cgov reload [OPTIONS]\n"
               "\n"
               "Have cgovd read its policy directory again and apply it: new pools appear,\n"
               "changed limits take effect for new jobs, removed pools take no new jobs.\n"
               "When the policy has errors, they are printed and cgovd keeps the policy it\n"
               "had. Only root may reload. Check a policy first with 'cgov check-policy'.\n"
               "\n"
               "Options:\n"
               "      --address=PATH  cgovd's socket (default: $CGOV_ADDRESS, else\n"
               "                      %s)\n"
               "  -h, --help          show this help\n",
               CLI_DEFAULT_ADDRESS);
}

static void wirep(Wire **w) {
        wire_free(*w);
}

static void json_putp(json_object **o) {
        json_object_put(*o);
}

static int connect_to(const char *address, Wire **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(address) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, address);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return negative_errno();
        return wire_new(TAKE_FD(fd), ret);
}

static uint64_t deadline_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000 + RELOAD_TIMEOUT_USEC;
}

/* As cgov check-policy prints them, so the two read alike. */
static int diagnostics_print(json_object *params) {
        json_object *a;
        int errors = 0;

        if (!json_object_object_get_ex(params, "diagnostics", &a) || !json_object_is_type(a, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *d = json_object_array_get_idx(a, i);
                const char *file = "?", *key = NULL, *severity = "error", *message = "?";
                int64_t line = 0;

                (void) proto_get_string(d, "file", &file);
                (void) proto_get_i64(d, "line", 0, INT32_MAX, &line);
                (void) proto_get_string(d, "key", &key);
                (void) proto_get_string(d, "severity", &severity);
                (void) proto_get_string(d, "message", &message);
                bool warning = strcmp(severity, "warning") == 0;
                if (!warning)
                        errors++;
                fputs(file, stderr);
                if (line > 0)
                        fprintf(stderr, ":%" PRIi64, line);
                fputs(": ", stderr);
                if (key)
                        fprintf(stderr, "%s: ", key);
                fprintf(stderr, "%s%s\n", warning ? "warning: " : "", message);
        }
        return errors;
}

int reload_main(int argc, char *argv[]) {
        _cleanup_(wirep) Wire *w = NULL;
        _cleanup_(json_putp) json_object *request = NULL;
        _cleanup_(json_putp) json_object *reply = NULL;
        json_object *params;
        const char *address, *error;
        int64_t pools = 0;
        int r;

        r = cli_parse_address_only(argc, argv, reload_help, &address);
        if (r >= 0)
                return r;
        if (optind < argc) {
                fprintf(stderr, "%s: unexpected argument '%s' (see 'cgov reload --help')\n", argv[0], argv[optind]);
                return EXIT_USAGE;
        }
        r = connect_to(address, &w);
        if (r < 0) {
                cli_report_unreachable(argv[0], address, r);
                return EXIT_UNREACHABLE;
        }
        request = proto_request("Reload", NULL);
        if (!request)
                return cli_report_error(argv[0], -ENOMEM, EXIT_FAILED, "cannot reload");
        r = wire_call(w, request, NULL, 0, deadline_usec(), &reply);
        if (r < 0)
                return cli_report_error(argv[0], r, EXIT_FAILED, "cannot reload");
        if (proto_reply_parse(reply, &error, &params) < 0)
                return cli_report_error(argv[0], -EPROTO, EXIT_FAILED, "cannot reload");

        if (error && strcmp(error, PROTO_ERROR_INVALID_POLICY) == 0) {
                int errors = diagnostics_print(params);
                fprintf(stderr, "%s: the policy has %d %s: cgovd keeps the one it had\n", argv[0], errors,
                        errors == 1 ? "error" : "errors");
                return EXIT_FAILED;
        }
        if (error) {
                r = proto_error_to_code(error, params, NULL);
                if (r == -EPERM) {
                        fprintf(stderr, "%s: only root may reload the policy\n", argv[0]);
                        return EXIT_FAILED;
                }
                return cli_report_error(argv[0], r, EXIT_FAILED, "cannot reload");
        }
        (void) proto_get_i64(params, "pools", 0, INT64_MAX, &pools);
        printf("Reloaded the policy: %" PRIi64 " %s.\n", pools, pools == 1 ? "pool" : "pools");
        return 0;
}
