/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cgov.h"

/* The one table of governor decisions: code, the name shown in JSON and logs,
 * and the words cgov_strerror() gives. Everything that names a decision is
 * generated from it (libuv's UV_ERRNO_MAP). */
#define CGOV_ERROR_MAP(XX)                                                              \
        XX(CGOV_E_INSUFFICIENT_MEMORY, "InsufficientMemory", "insufficient memory")    \
        XX(CGOV_E_NO_WORKERS, "NoWorkersAvailable", "no workers available")            \
        XX(CGOV_E_TIMEOUT, "Timeout", "timed out")                                     \
        XX(CGOV_E_OVERLOADED, "Overloaded", "overloaded: the wait queue is full")      \
        XX(CGOV_E_POOL_GONE, "PoolGone", "the pool was released")

static inline int cgov_is_decision(int err) {
        return err <= CGOV_E_INSUFFICIENT_MEMORY && err >= CGOV_E_POOL_GONE;
}

/* "InsufficientMemory" for a decision code, NULL for anything else. */
const char *cgov_error_name(int err);
