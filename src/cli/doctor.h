/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `cgov doctor`: tells, in words, what this host can enforce and what to do
 * about each missing piece. */

/* argv[0] is "cgov doctor". Returns the exit status: 0 when cgov can enforce
 * memory and pids limits here, 1 when it cannot (it can at most account),
 * 2 on a usage error. */
int doctor_main(int argc, char *argv[]);
