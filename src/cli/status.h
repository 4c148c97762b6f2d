/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `cgov status [POOL]` and `cgov jobs [POOL]`: what cgovd shows the caller
 * of its pools and jobs, as a table a person reads at a glance, or with
 * --json as the daemon's reply for programs. */

/* argv[0] is "cgov status" / "cgov jobs". Return the exit status: 0, 1
 * when the listing failed or the POOL given is not visible, 2 on a usage
 * error, 69 when cgovd cannot be reached. */
int status_main(int argc, char *argv[]);
int jobs_main(int argc, char *argv[]);
