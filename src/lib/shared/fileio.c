/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_full_fd(int fd, char *buf, size_t size, size_t *ret_len) {
        size_t len = 0;

        if (size == 0)
                return -EINVAL;
        for (;;) {
                char probe;
                /* A full buffer is fine only at the end of the file. */
                bool full = len == size - 1;
                ssize_t n = full ? read(fd, &probe, 1) : read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                if (full)
                        return -EFBIG;
                len += (size_t) n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return 0;
}
