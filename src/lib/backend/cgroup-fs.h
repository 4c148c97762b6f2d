/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cgroupfs I/O, always relative to a directory fd (crun's write_cgroup_file):
 * no path is rebuilt per call, and a unit test can point the same code at a
 * temporary directory. Every function returns 0 or a negative errno. */

#define CG_LIMIT_MAX UINT64_MAX /* what "max" reads as, and writes as */

int cg_write(int dfd, const char *file, const char *value);
int cg_write_u64(int dfd, const char *file, uint64_t value);

/* Reads a small attribute file whole, NUL-terminated; -EFBIG if it does not fit. */
int cg_read(int dfd, const char *file, char *buf, size_t size);
int cg_read_u64(int dfd, const char *file, uint64_t *ret);
/* One field of a flat-keyed file (memory.events, cpu.stat): "key value\n". */
int cg_read_key_u64(int dfd, const char *file, const char *key, uint64_t *ret);

/* Parsers behind the readers, for the unit tests. -EINVAL on malformed text,
 * -ENOENT for a missing key, -ERANGE past 64 bits. */
int cg_parse_u64(const char *text, uint64_t *ret);
int cg_parse_key_u64(const char *text, const char *key, uint64_t *ret);

/* Whether a space-separated list ("cpu io memory pids") names word. */
bool cg_list_has(const char *list, const char *word);

/* 1 if the cgroup (or a descendant) holds a process, 0 if not (cgroup.events). */
int cg_is_populated(int dfd);

/* SIGKILL everything in the cgroup. With cgroup.kill (Linux 5.14) one write
 * does it atomically; without it, the cgroup is frozen (so nothing forks in
 * between) and each listed process is killed, which must be repeated until
 * cg_is_populated() says 0. */
int cg_kill(int dfd, bool have_kill_file);

/* Removes an empty cgroup directory; -EBUSY while a dying process still
 * counts, which the caller retries. -ENOENT counts as done. */
int cg_rmdir(int parent_fd, const char *name);

/* Enables each of the named controllers that `available` lists in dfd's
 * cgroup.subtree_control; the others are skipped. */
int cg_enable_controllers(int dfd, const char *available, const char *const *wanted);
