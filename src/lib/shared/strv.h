/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated vectors of malloc'd strings (argv, environments, name
 * lists), shared by the library, the policy loader and the protocol. */

#include <stddef.h>

void strv_free(char **v);                  /* NULL-safe */
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
size_t strv_length(const char *const *v);  /* 0 for NULL */
char **strv_copy(const char *const *v);    /* NULL on OOM */
/* What the strings of v occupy, their NULs included; 0 for NULL. */
size_t strv_bytes(char *const *v);
/* The length of the longest string of v; 0 for NULL or empty. */
size_t strv_longest(char *const *v);
