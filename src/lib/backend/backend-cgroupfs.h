/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgroupfs backend's files (backend-cgroupfs*.c) between themselves,
 * and its test hooks: they force the fallbacks older kernels need on a
 * kernel that has the new way. */

#include "backend.h"

int cgroupfs_adopt(int root_fd, const AdoptSink *sink);  /* backend-cgroupfs-adopt.c */

void cgroupfs_testing_disable_clone_into_cgroup(Backend *b);
void cgroupfs_testing_disable_kill_file(Backend *b);
