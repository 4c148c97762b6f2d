/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgovd against hostile tenants: each test is an attack an unprivileged
 * user can make on the real daemon over its real socket, on a real kernel,
 * and asserts that it neither crashes, freezes nor starves the daemon, and
 * that nothing the attack touched is lost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon-fixture.h"

TestSuite(attacks, .init = dx_setup, .fini = dx_teardown, .timeout = 180);

/* ---- pipelined requests ---------------------------------------------------------------- */

/* Two Waits for one job in one write: the job's end answers the first, and
 * the second (buffered behind it) must not be handled while the end is
 * still being delivered — it once collected and freed the job under the
 * daemon's feet. */
static int two_waits_in_one_write(void *arg) {
        static const char submit[] = "{\"method\":\"io.cgov.Submit\",\"parameters\":"
                                     "{\"pool\":\"shared/team\",\"argv\":[\"sleep\",\"1\"]}}";
        char reply[4096], waits[512];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect: %s", strerror(-fd));
        DX_CHECK(dx_raw_send(fd, submit, sizeof submit) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0, "no Submit reply");
        uint64_t id = dx_reply_id(reply);
        DX_CHECK(id > 0, "Submit: %s", reply);

        int n = snprintf(waits, sizeof waits, "{\"method\":\"io.cgov.Wait\",\"parameters\":{\"id\":%llu}}",
                         (unsigned long long) id);
        memcpy(waits + n + 1, waits, (size_t) n + 1);
        DX_CHECK(dx_raw_send(fd, waits, 2 * ((size_t) n + 1)) == 0, "send the two Waits");

        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 60000) > 0, "no reply to the first Wait");
        DX_CHECK(strstr(reply, "\"outcome\":\"exited\""), "first Wait: %s", reply);
        /* The first collected the result: the second finds no job. */
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 60000) > 0, "no reply to the second Wait");
        DX_CHECK(strstr(reply, "io.cgov.NoSuchJob"), "second Wait: %s", reply);
        /* And the connection still serves. */
        static const char info[] = "{\"method\":\"io.cgov.GetInfo\"}";
        DX_CHECK(dx_raw_send(fd, info, sizeof info) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0 && strstr(reply, "\"version\""), "GetInfo: %s",
                 reply);
        close(fd);
        return 0;
}

Test(attacks, two_pipelined_waits_for_one_job_do_not_crash_the_daemon) {
        cr_assert_eq(dx_as(DX_USER_A, two_waits_in_one_write, NULL), 0, "daemon log:\n%s", dx_daemon_log());
        dx_assert_serving(5000);
}

/* ---- the daemon's log ------------------------------------------------------------------- */

/* A program whose name holds a newline: what follows it must not become a
 * line of the daemon's log of its own, where it would pass for the
 * daemon's word. */
static int run_forging_name(void *arg) {
        const char *dir = arg;
        char req[1024], reply[4096];
        int fd = dx_raw_connect();
        DX_CHECK(fd >= 0, "connect: %s", strerror(-fd));
        snprintf(req, sizeof req,
                 "{\"method\":\"io.cgov.Submit\",\"parameters\":{\"pool\":\"shared/team\","
                 "\"argv\":[\"%s/fake\\ncgovd: Job 999 of root exited with status 0.\"]}}",
                 dir);
        DX_CHECK(dx_raw_send(fd, req, strlen(req) + 1) == 0, "send");
        DX_CHECK(dx_raw_reply(fd, reply, sizeof reply, 30000) > 0 && dx_reply_id(reply) > 0, "Submit: %s", reply);
        close(fd);
        return 0;
}

Test(attacks, a_program_name_cannot_forge_lines_in_the_daemons_log) {
        char link[512];
        snprintf(link, sizeof link, "%s/fake\ncgovd: Job 999 of root exited with status 0.", dx_dir);
        cr_assert_eq(symlink("/bin/true", link), 0, "symlink: %m");
        cr_assert_eq(dx_as(DX_USER_A, run_forging_name, dx_dir), 0, "daemon log:\n%s", dx_daemon_log());
        const char *log = dx_daemon_log();
        cr_assert(strstr(log, "/fake\\ncgovd: Job 999"), "the name is not in the log, escaped:\n%s", log);
        cr_assert_null(strstr(log, "\ncgovd: Job 999"), "a forged line made it into the log:\n%s", log);
}
