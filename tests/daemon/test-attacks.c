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
