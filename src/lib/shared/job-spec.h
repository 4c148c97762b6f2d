/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "cgov.h"

/* The checks every mode's jobs pass (exec: a program, not cgov_call's
 * function): 0, -EINVAL, -ERANGE or -EBADF. */
int job_spec_check(const struct cgov_job_spec *spec, bool exec);
