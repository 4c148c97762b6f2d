/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>

#include "job-spec.h"
#include "names.h"

int job_spec_check(const struct cgov_job_spec *spec, bool exec) {
        if (exec && (!spec->argv || !spec->argv[0] || !spec->argv[0][0]))
                return -EINVAL;
        if (spec->name && !job_name_is_valid(spec->name))
                return -EINVAL;
        if (spec->flags & ~CGOV_JOB_STDIO)
                return -EINVAL;
        if (spec->queue_timeout_ms < -1)
                return -EINVAL;
        if (spec->memory_max > CGOV_SIZE_MAX || spec->pids_max > CGOV_PIDS_MAX)
                return -ERANGE;
        if (spec->timeout_ms > UINT64_MAX / 1000 || spec->queue_timeout_ms > INT64_MAX / 1000)
                return -ERANGE;
        if (spec->flags & CGOV_JOB_STDIO)
                for (int i = 0; i < 3; i++)
                        if (spec->stdio[i] < -1 || (spec->stdio[i] >= 0 && fcntl(spec->stdio[i], F_GETFD) < 0))
                                return -EBADF;
        return 0;
}
