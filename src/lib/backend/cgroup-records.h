/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What must survive the governor, kept in the tree itself, never in a side
 * file that could go stale: an extended attribute of a pool's directory
 * holds what the kernel files do not (its max_jobs and queue settings), one
 * of a job's its reservation, timeout, start, owner, name and main pid.
 * Every backend's directories are cgroup v2 directories, so any backend
 * records there. Without user xattrs on cgroupfs (before 5.7) nothing is
 * recorded, and a re-opened governor knows what the kernel files say. */

#include <stdbool.h>

#include "backend.h"
#include "cgov.h"

void record_pool_write(int fd, const struct cgov_pool_limits *lim);
/* false when nothing is recorded (*lim untouched). */
bool record_pool_read(int fd, struct cgov_pool_limits *lim);

#define RECORD_MAX 256
void record_job_write(int fd, const JobRecord *rec);
/* Fills *rec (its name points into buf); false when nothing is recorded. */
bool record_job_read(int fd, JobRecord *rec, char buf[static RECORD_MAX]);
/* The record as text, for a backend that keeps it elsewhere too (the
 * systemd backend, in the job's unit): its length; and back (the name
 * points into rec). */
int record_job_format(const JobRecord *rec, char buf[static RECORD_MAX]);
void record_job_parse(const char *rec, JobRecord *ret);

/* The job ids' mark (core/ids.c), kept on the root: 0, -ENODATA when there
 * is none, -EOPNOTSUPP without user xattrs. */
int record_mark_read(int root_fd, uint64_t *ret);
int record_mark_write(int root_fd, uint64_t mark);
