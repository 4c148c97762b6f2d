/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `cgov check-policy [DIR]`: validates the pool policy files of a directory
 * without applying anything, names file, line and key of every problem, and
 * shows the pool tree of a valid policy. */

/* argv[0] is "cgov check-policy". Returns the exit status: 0 for a valid
 * policy (warnings allowed), 1 for errors or an unreadable directory, 2 on a
 * usage error. */
int check_policy_main(int argc, char *argv[]);
