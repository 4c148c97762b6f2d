/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The cgroupfs backend's files (backend-cgroupfs*.c) between themselves. */

#include "cgov.h"

int cgroupfs_adopt(cgov *g);                    /* backend-cgroupfs-adopt.c */
