/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An enum's names in one table (systemd's string tables): defines
 * `const char *name##_to_string(type)`, NULL for a value without a name,
 * from `static const char *const name##_table[]`. */

#include "macro.h"

#define DEFINE_STRING_TABLE_TO_STRING(name, type)                                   \
        const char *name##_to_string(type i) {                                      \
                return (size_t) i < ELEMENTSOF(name##_table) ? name##_table[i] : NULL; \
        }
