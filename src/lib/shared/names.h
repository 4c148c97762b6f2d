/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The names cgov puts into the cgroup tree. A pool segment and a job name are
 * 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'; a pool segment is also
 * not "supervisor" (the governor's own leaf) nor "cgroup.*" (kernel files).
 * A job leaf is "<name>@<id>": '@' never occurs in a pool name, so a directory
 * tells by its name alone whether it is a pool or a job. */

#define NAME_MAX_LEN 64
#define POOL_MAX_DEPTH 16
#define POOL_PATH_MAX (POOL_MAX_DEPTH * (NAME_MAX_LEN + 1))
#define SUPERVISOR_NAME "supervisor"

bool job_name_is_valid(const char *name);
bool pool_segment_is_valid(const char *s, size_t len);

/* Checks a whole "shared/customer-a" path; ret_depth gets the segment count. */
bool pool_path_is_valid(const char *path, unsigned *ret_depth);

/* "build@17", or "job@17" without a name. Returns the length, or -ENAMETOOLONG. */
int job_leaf_name(char *buf, size_t size, const char *name, uint64_t id);

/* The reverse: true for a well-formed leaf name, with its id. */
bool job_leaf_parse(const char *leaf, uint64_t *ret_id);
