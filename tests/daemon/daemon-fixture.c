/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-fixture.h"

const char dx_policy[] = "[Pool shared]\n"
                         "MemoryMax=512M\n"
                         "MaxJobs=4\n"
                         "\n"
                         "[Pool shared/team]\n"
                         "MemoryMax=256M\n"
                         "MaxJobs=2\n"
                         "JobMemoryMax=128M\n"
                         "JobMemoryDefault=32M\n"
                         "AllowUsers=" DX_USER_A "\n"
                         "\n"
                         "[Pool shared/group]\n"
                         "MemoryMax=128M\n"
                         "AllowGroups=" DX_GROUP "\n"
                         "\n"
                         "[Pool shared/%u]\n"
                         "MemoryMax=128M\n"
                         "MaxJobs=2\n"
                         "JobMemoryDefault=32M\n";

char dx_dir[256];
char dx_socket[300];
char dx_policy_dir[300];
pid_t dx_daemon;
void (*dx_daemon_exec_hook)(void);
static char dx_log[300];

uid_t dx_uid(const char *user) {
        struct passwd *pw = getpwnam(user);
        cr_assert_not_null(pw, "no user %s", user);
        return pw->pw_uid;
}

void dx_write_policy(const char *text) {
        char path[400];
        snprintf(path, sizeof path, "%s/test.pool", dx_policy_dir);
        FILE *f = fopen(path, "we");
        cr_assert_not_null(f, "%s: %m", path);
        fputs(text, f);
        cr_assert_eq(fclose(f), 0);
}

/* Its last 16 KiB: where a failure's cause is. */
const char *dx_daemon_log(void) {
        static char buf[16384];
        FILE *f = fopen(dx_log, "re");
        size_t n = 0;
        if (f) {
                if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > (long) sizeof buf - 1)
                        (void) fseek(f, -(long) (sizeof buf - 1), SEEK_END);
                else
                        rewind(f);
                n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
        }
        buf[n] = '\0';
        return buf;
}

static bool can_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_lt(strlen(dx_socket), sizeof sa.sun_path);
        memcpy(sa.sun_path, dx_socket, strlen(dx_socket) + 1);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0;
        if (fd >= 0)
                close(fd);
        return ok;
}

void dx_start_daemon(void) {
        const char *cgovd = getenv("CGOVD") ?: "./cgovd";
        char root_arg[4200], policy_arg[400], socket_arg[400], state_arg[400];

        snprintf(root_arg, sizeof root_arg, "--cgroup-root=%s", fx_root);
        snprintf(policy_arg, sizeof policy_arg, "--policy-dir=%s", dx_policy_dir);
        snprintf(socket_arg, sizeof socket_arg, "--socket=%s", dx_socket);
        snprintf(state_arg, sizeof state_arg, "--state-dir=%s/state", dx_dir);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                int fd = open(dx_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        dup2(fd, 2);
                        dup2(fd, 1);
                }
                /* Not systemd's child: no notification socket, no journal. */
                unsetenv("NOTIFY_SOCKET");
                unsetenv("JOURNAL_STREAM");
                unsetenv("LISTEN_FDS");
                if (dx_daemon_exec_hook)
                        dx_daemon_exec_hook();
                execl(cgovd, cgovd, root_arg, policy_arg, socket_arg, state_arg, "--debug", (char *) NULL);
                fprintf(stderr, "exec %s: %m\n", cgovd);
                _exit(127);
        }
        dx_daemon = pid;
        /* The guest is slow: starting means opening the root and the policy. */
        for (int i = 0; i < 3000; i++) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        dx_daemon = 0;
                        cr_assert_fail("cgovd exited (status %d) before serving:\n%s", status, dx_daemon_log());
                }
                if (can_connect())
                        return;
                usleep(10000);
        }
        cr_assert_fail("cgovd did not answer on %s within 30 s:\n%s", dx_socket, dx_daemon_log());
}

void dx_stop_daemon(int sig) {
        if (dx_daemon <= 0)
                return;
        kill(dx_daemon, sig);
        waitpid(dx_daemon, NULL, 0);
        dx_daemon = 0;
}

void dx_setup(void) {
        dx_daemon_exec_hook = NULL;
        fx_setup_root_only();
        if (!getpwnam(DX_USER_A) || !getpwnam(DX_USER_B) || !getgrnam(DX_GROUP))
                cr_skip_test("users " DX_USER_A " and " DX_USER_B " and group " DX_GROUP
                             " are missing: tests/kernel/run-kernel-tests creates them in the guest");
        snprintf(dx_dir, sizeof dx_dir, "/tmp/cgovd-test.XXXXXX");
        cr_assert_not_null(mkdtemp(dx_dir), "mkdtemp: %m");
        /* Tenants must reach the socket inside. */
        cr_assert_eq(chmod(dx_dir, 0755), 0);
        snprintf(dx_socket, sizeof dx_socket, "%s/sock", dx_dir);
        snprintf(dx_policy_dir, sizeof dx_policy_dir, "%s/pools.d", dx_dir);
        snprintf(dx_log, sizeof dx_log, "%s/cgovd.log", dx_dir);
        cr_assert_eq(mkdir(dx_policy_dir, 0755), 0);
        dx_write_policy(dx_policy);
        dx_start_daemon();
}

void dx_teardown(void) {
        char cmd[700];

        dx_stop_daemon(SIGTERM);
        fx_teardown(); /* kills what is left below the root and removes it */
        if (dx_dir[0]) {
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dx_dir);
                (void) !system(cmd);
        }
}

int dx_as(const char *user, int (*fn)(void *arg), void *arg) {
        struct passwd *pw = getpwnam(user);
        int status;

        cr_assert_not_null(pw, "no user %s", user);
        fflush(NULL);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
                if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
                    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
                        fprintf(stderr, "becoming %s: %m\n", user);
                        _exit(254);
                }
                setenv("HOME", pw->pw_dir, 1);
                setenv("USER", pw->pw_name, 1);
                if (chdir("/tmp") < 0)
                        _exit(254);
                _exit(fn(arg) & 0xff);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int dx_open(cgov **ret) {
        return cgov_open(ret, &(struct cgov_options) { .address = dx_socket });
}

int dx_raw_connect(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(dx_socket) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, dx_socket, strlen(dx_socket) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int dx_raw_send(int fd, const void *data, size_t len) {
        for (size_t done = 0; done < len;) {
                ssize_t n = send(fd, (const char *) data + done, len - done, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                done += (size_t) n;
        }
        return 0;
}

int dx_raw_send_fds(int fd, const void *data, size_t len, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = CMSG_SPACE(sizeof(int) * n_fds) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        if (n_fds == 0 || n_fds > 8 || len == 0)
                return -EINVAL;
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 1)
                return -errno;
        return dx_raw_send(fd, (const char *) data + 1, len - 1);
}

int dx_raw_reply(int fd, char *buf, size_t size, int timeout_ms) {
        size_t n = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, timeout_ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                /* One byte at a time: the next reply stays in the socket. */
                ssize_t k = recv(fd, buf + n, 1, 0);
                if (k < 0)
                        return -errno;
                if (k == 0) {
                        buf[n] = '\0';
                        return 0;
                }
                if (buf[n] == '\0')
                        return (int) n;
                if (++n >= size)
                        return -EMSGSIZE;
        }
}

uint64_t dx_reply_id(const char *reply) {
        json_object *o = json_tokener_parse(reply), *params, *id;
        uint64_t v = 0;
        if (o && json_object_object_get_ex(o, "parameters", &params) && json_object_object_get_ex(params, "id", &id))
                v = json_object_get_uint64(id);
        json_object_put(o);
        return v;
}

void dx_assert_serving(int timeout_ms) {
        static const char req[] = "{\"method\":\"io.cgov.GetInfo\"}";
        char buf[4096];
        int status;

        cr_assert(dx_daemon > 0 && waitpid(dx_daemon, &status, WNOHANG) == 0, "cgovd is gone:\n%s", dx_daemon_log());
        int fd = dx_raw_connect();
        cr_assert_geq(fd, 0, "connect: %s\n%s", strerror(-fd), dx_daemon_log());
        cr_assert_eq(dx_raw_send(fd, req, sizeof req), 0);
        int r = dx_raw_reply(fd, buf, sizeof buf, timeout_ms);
        close(fd);
        cr_assert(r > 0 && strstr(buf, "\"version\":1"), "root's GetInfo was not answered within %d ms (%s)\n%s",
                  timeout_ms, r < 0 ? strerror(-r) : buf, dx_daemon_log());
}
