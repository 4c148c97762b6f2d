/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static bool name_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
}

static bool name_ok(const char *s, size_t len) {
        if (len < 1 || len > NAME_MAX_LEN)
                return false;
        if (s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++)
                if (!name_char_ok(s[i]))
                        return false;
        return true;
}

bool job_name_is_valid(const char *name) {
        return name && name_ok(name, strlen(name));
}

bool pool_segment_is_valid(const char *s, size_t len) {
        if (!name_ok(s, len))
                return false;
        if (len == strlen(SUPERVISOR_NAME) && memcmp(s, SUPERVISOR_NAME, len) == 0)
                return false;
        if (len >= 7 && memcmp(s, "cgroup.", 7) == 0)
                return false;
        return true;
}

bool pool_path_is_valid(const char *path, unsigned *ret_depth) {
        unsigned depth = 0;

        if (!path)
                return false;
        for (const char *s = path;;) {
                const char *e = strchrnul(s, '/');
                /* An empty segment ("", "a//b", "a/", "/a") is as bad as "..":
                 * the path must name exactly one directory. */
                if (!pool_segment_is_valid(s, (size_t) (e - s)))
                        return false;
                if (++depth > POOL_MAX_DEPTH)
                        return false;
                if (*e == '\0')
                        break;
                s = e + 1;
        }
        if (ret_depth)
                *ret_depth = depth;
        return true;
}

int job_leaf_name(char *buf, size_t size, const char *name, uint64_t id) {
        int n = snprintf(buf, size, "%s@%" PRIu64, name ? name : "job", id);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return n;
}

bool job_leaf_parse(const char *leaf, uint64_t *ret_id) {
        const char *at = strrchr(leaf, '@');
        char *end;

        if (!at || !name_ok(leaf, (size_t) (at - leaf)))
                return false;
        if (at[1] < '0' || at[1] > '9')
                return false;
        errno = 0;
        unsigned long long id = strtoull(at + 1, &end, 10);
        if (errno != 0 || *end != '\0')
                return false;
        if (ret_id)
                *ret_id = id;
        return true;
}
