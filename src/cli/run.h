/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `cgov run [OPTIONS] [--] CMD [ARG...]`: submits a job to cgovd, gives it
 * the caller's stdio, environment and directory, waits for it and exits
 * as it did. `cgov wait JOB`: waits for a job submitted earlier (run
 * --detach) and exits the same way. */

/* argv[0] is "cgov run" / "cgov wait". Return the exit status: the job's
 * own, or one of cgov's as listed in client-util.h and cgov(1). */
int run_main(int argc, char *argv[]);
int wait_main(int argc, char *argv[]);
