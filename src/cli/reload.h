/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `cgov reload`: has cgovd read its policy directory again, and shows what
 * is wrong with it when cgovd keeps the old policy. */

/* argv[0] is "cgov reload". Returns the exit status: 0 when the new policy
 * is in force, 1 when cgovd kept the old one (invalid policy, not root, or
 * another failure), 2 on a usage error, 69 when cgovd cannot be reached. */
int reload_main(int argc, char *argv[]);
