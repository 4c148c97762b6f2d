/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backend.h"

/* Every backend, and the flag that chooses it; the first is the default. */
static const struct {
        unsigned flag;
        const BackendOps *ops;
} backends[] = {
        { 0, &backend_cgroupfs },
        { CGOV_OPEN_SYSTEMD, &backend_systemd },
};

const BackendOps *backend_for(unsigned flags) {
        for (size_t i = 1; i < sizeof backends / sizeof backends[0]; i++)
                if (flags & backends[i].flag)
                        return backends[i].ops;
        return backends[0].ops;
}
