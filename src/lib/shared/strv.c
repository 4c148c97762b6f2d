/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "strv.h"

void strv_free(char **v) {
        for (char **i = v; i && *i; i++)
                free(*i);
        free(v);
}

size_t strv_length(const char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

char **strv_copy(const char *const *v) {
        size_t n = strv_length(v);
        char **c = calloc(n + 1, sizeof *c);
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return NULL;
                }
        return c;
}

size_t strv_bytes(char *const *v) {
        size_t n = 0;
        for (char *const *i = v; i && *i; i++)
                n += strlen(*i) + 1;
        return n;
}

size_t strv_longest(char *const *v) {
        size_t m = 0;
        for (char *const *i = v; i && *i; i++) {
                size_t l = strlen(*i);
                if (l > m)
                        m = l;
        }
        return m;
}
