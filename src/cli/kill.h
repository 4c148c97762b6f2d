/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `cgov kill JOB`, `cgov kill --name NAME [--pool POOL]` and
 * `cgov flush POOL`: ending jobs through cgovd, which lets each caller end
 * its own jobs and an administrator those of the pools it administers. */

/* argv[0] is "cgov kill" / "cgov flush". Return the exit status: 0; 1 when
 * there was nothing to kill (no such job, no job of that name) or the
 * request failed; 2 on a usage error; 69 when cgovd cannot be reached. */
int kill_main(int argc, char *argv[]);
int flush_main(int argc, char *argv[]);
