/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Reads fd to its end into buf, NUL-terminated: 0 with the length in
 * *ret_len (may be NULL), -EFBIG when more than size - 1 bytes are there,
 * or a negative errno. Shared by cgroupfs attributes and policy files. */
int read_full_fd(int fd, char *buf, size_t size, size_t *ret_len);
