/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Daemon tests: every test starts its own cgovd (the built binary, as root)
 * on a fresh cgroup root below $CGOV_TEST_CGROUP with a policy of its own,
 * listening on a socket in a fresh directory; tenants are two unprivileged
 * users that tests/kernel/run-kernel-tests creates in the guest
 * (DX_USER_A, DX_USER_B, both in group DX_GROUP). A test acts as a tenant
 * in a forked child that takes the user's credentials (dx_as), so that the
 * test process stays root to stop the daemon and clean up. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgov.h"
#include "fixture.h"

#define DX_USER_A "cgov-test-a"
#define DX_USER_B "cgov-test-b"
#define DX_GROUP "cgov-test"

/* The policy most tests use:
 *   shared        MemoryMax=512M MaxJobs=4
 *   shared/team   MemoryMax=256M MaxJobs=2 JobMemoryMax=128M, for DX_USER_A
 *   shared/%u     MemoryMax=128M MaxJobs=2 (also DX_GROUP may use shared/group)
 */
extern const char dx_policy[];

extern char dx_dir[256];      /* the test's directory: policy, socket, daemon log */
extern char dx_socket[300];
extern char dx_policy_dir[300];
extern pid_t dx_daemon;

/* .init: users present (else skip with the reason), root chosen, policy
 * written, daemon started and answering. */
void dx_setup(void);
void dx_teardown(void);

void dx_write_policy(const char *text);
void dx_start_daemon(void);
/* Run in the daemon's process before it execs cgovd (rlimits, say); reset
 * by dx_setup. */
extern void (*dx_daemon_exec_hook)(void);
void dx_stop_daemon(int sig);   /* sends sig, waits for the exit */
/* The daemon's log so far (for assertion messages). */
const char *dx_daemon_log(void);

/* Runs fn(arg) in a child with the user's uid, gid, groups and HOME; returns
 * fn's return value (0: success), or 255 when the child crashed. fn reports
 * details on stderr, which lands in the test's log. */
int dx_as(const char *user, int (*fn)(void *arg), void *arg);
uid_t dx_uid(const char *user);

/* A client-mode governor on the test's daemon (NULL with errno-ish r on
 * failure; in a dx_as child, check the return). */
int dx_open(cgov **ret);

/* Raw protocol on the test's socket, usable from dx_as children (no
 * Criterion asserts): a connection (fd or -errno), bytes sent whole, and one
 * reply read up to its NUL into buf (its length; 0 at EOF; -ETIMEDOUT after
 * timeout_ms; -EMSGSIZE when it does not fit). */
int dx_raw_connect(void);
int dx_raw_send(int fd, const void *data, size_t len);
/* The same, with fds (SCM_RIGHTS) on the first byte. */
int dx_raw_send_fds(int fd, const void *data, size_t len, const int *fds, size_t n_fds);
int dx_raw_reply(int fd, char *buf, size_t size, int timeout_ms);
/* The "id" of a Submit reply, 0 when there is none. */
uint64_t dx_reply_id(const char *reply);
/* The daemon is alive and root's GetInfo is answered within timeout_ms. */
void dx_assert_serving(int timeout_ms);

/* In a dx_as child: a failed check prints and returns 1 from fn. */
#define DX_CHECK(cond, ...)                                                                          \
        do {                                                                                         \
                if (!(cond)) {                                                                       \
                        fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);     \
                        fprintf(stderr, __VA_ARGS__);                                                \
                        fputc('\n', stderr);                                                         \
                        return 1;                                                                    \
                }                                                                                    \
        } while (0)
