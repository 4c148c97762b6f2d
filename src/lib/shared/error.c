/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "error.h"
#include "macro.h"

const char *cgov_error_name(int err) {
        switch (err) {
#define XX(code, name, words) \
        case code:            \
                return name;
                CGOV_ERROR_MAP(XX)
#undef XX
        default:
                return NULL;
        }
}

_public_ const char *cgov_strerror(int err) {
        switch (err) {
#define XX(code, name, words) \
        case code:            \
                return words;
                CGOV_ERROR_MAP(XX)
#undef XX
        }
        if (err == 0)
                return "success";
        if (err < 0 && err > -4096)
                /* strerror() of glibc returns a static string for known
                 * values; for unknown ones it formats into a thread-local
                 * buffer, which is still safe to return. */
                return strerror(-err);
        return "unknown error";
}
