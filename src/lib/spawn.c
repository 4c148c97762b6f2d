/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "macro.h"
#include "spawn.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

extern char **environ;

static const char *env_lookup(char *const *envp, const char *key) {
        size_t klen = strlen(key);

        for (char *const *e = envp; e && *e; e++)
                if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
                        return *e + klen + 1;
        return NULL;
}

const char *spawn_search_path(char *const *envp) {
        const char *path = envp ? env_lookup(envp, "PATH") : NULL;
        if (!path)
                path = getenv("PATH");
        return path ?: DEFAULT_PATH;
}

int spawn_find_program(const char *name, char *const *envp, char **ret_path) {
        const char *path;
        int last = -ENOENT;

        if (!name || !*name)
                return -ENOENT;
        if (strchr(name, '/')) {
                char *p = strdup(name);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        path = spawn_search_path(envp);
        for (const char *s = path;;) {
                const char *e = strchrnul(s, ':');
                _cleanup_free_ char *candidate = NULL;
                struct stat st;

                /* An empty PATH entry means the current directory, as for execvp(). */
                if (asprintf(&candidate, "%.*s%s%s", (int) (e - s), s, e == s ? "" : "/", name) < 0)
                        return -ENOMEM;
                if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (access(candidate, X_OK) == 0) {
                                *ret_path = TAKE_PTR(candidate);
                                return 0;
                        }
                        last = -EACCES; /* execvp() reports EACCES if that was all it found */
                }
                if (*e == '\0')
                        break;
                s = e + 1;
        }
        return last;
}

/* The child's common steps, async-signal-safe: into the leaf (the gate,
 * when the process was not born there), stdio, whom it runs as, working
 * directory (entered as that user, so that its permissions apply). -1 with
 * errno on failure. */
static int child_enter(const SpawnParams *sp, int procs_fd) {
        if (procs_fd >= 0 && write(procs_fd, "0", 1) != 1)
                return -1;
        if (sp->stdio) {
                int src[3];
                /* First lift every source above 2, so that one dup2() cannot
                 * overwrite the source of another (stdio {2, 1, 0} is legal). */
                for (int i = 0; i < 3; i++)
                        if ((src[i] = fcntl(sp->stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
                                return -1;
                for (int i = 0; i < 3; i++)
                        if (dup2(src[i], i) < 0)
                                return -1;
        }
        if (sp->creds) {
                /* Raw system calls: glibc's setuid() and friends signal every
                 * thread the parent had, and the child has only this one. */
                if (syscall(SYS_setgroups, sp->creds->n_groups, sp->creds->groups) < 0 ||
                    syscall(SYS_setresgid, sp->creds->gid, sp->creds->gid, sp->creds->gid) < 0 ||
                    syscall(SYS_setresuid, sp->creds->uid, sp->creds->uid, sp->creds->uid) < 0)
                        return -1;
        }
        if (sp->cwd && chdir(sp->cwd) < 0)
                return -1;
        return 0;
}

/* execvpe() without its allocations, for the child: each PATH entry in turn,
 * tried as the user the job runs as, so that a lookup never tells a tenant
 * about files only root may see. Returns with errno set as execvp() would. */
static void child_execvpe(const char *name, char *const *argv, char *const *envp, const char *search) {
        char buf[PATH_MAX];
        bool denied = false;

        if (strchr(name, '/')) {
                execve(name, argv, envp);
                return;
        }
        for (const char *s = search;;) {
                const char *e = strchrnul(s, ':');
                size_t dlen = (size_t) (e - s), nlen = strlen(name);

                if (dlen + 1 + nlen < sizeof buf) {
                        memcpy(buf, s, dlen);
                        size_t n = dlen;
                        if (dlen > 0)
                                buf[n++] = '/';
                        memcpy(buf + n, name, nlen + 1);
                        execve(buf, argv, envp);
                        if (errno == EACCES)
                                denied = true;
                        else if (errno != ENOENT && errno != ENOTDIR)
                                return; /* found, but it cannot run: say why */
                }
                if (*e == '\0')
                        break;
                s = e + 1;
        }
        errno = denied ? EACCES : ENOENT;
}

/* In the child, between clone and exec: only async-signal-safe calls (the
 * parent may be multithreaded; a lock held by another thread stays held
 * forever here). On failure the errno goes to the parent through err_fd. */
_noreturn_ static void child_exec(const SpawnParams *sp, int err_fd, int procs_fd) {
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t empty;
        int err;

        /* Handlers are reset by exec anyway, ignored signals are not: a job
         * must not inherit the host program's SIG_IGN for SIGPIPE or SIGINT. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &dfl, NULL);
        sigemptyset(&empty);
        (void) sigprocmask(SIG_SETMASK, &empty, NULL);

        if (child_enter(sp, procs_fd) < 0)
                goto fail;

        /* A job must not inherit the host program's sockets and files.
         * Before 5.11 this fails with ENOSYS and the job inherits only the
         * fds that lacked O_CLOEXEC already. */
        (void) syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

        if (sp->path)
                execve(sp->path, sp->argv, sp->envp ? sp->envp : environ);
        else
                child_execvpe(sp->argv[0], sp->argv, sp->envp ? sp->envp : environ, sp->search_path);
fail:
        err = errno;
        (void) !write(err_fd, &err, sizeof err);
        _exit(127);
}

/* The child of cgov_call: a copy of the caller, moved into its leaf, runs fn
 * with the caller's signal dispositions and the mask it had. */
_noreturn_ static void child_call(const SpawnParams *sp, int err_fd, int procs_fd, const sigset_t *mask) {
        int err;

        if (child_enter(sp, procs_fd) < 0)
                goto fail;
        /* Past the gate: from here on the parent sees EOF and fn runs. */
        (void) close(err_fd);
        (void) close(procs_fd);
        (void) sigprocmask(SIG_SETMASK, mask, NULL);
        _exit(sp->fn(sp->fn_arg, sp->out_fd) & 0xff);
fail:
        err = errno;
        (void) !write(err_fd, &err, sizeof err);
        _exit(127);
}

static pid_t clone_into(int cgroup_fd, int *ret_pidfd) {
        struct clone_args args = {
                .flags = CLONE_PIDFD | CLONE_INTO_CGROUP,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = 0,
                .cgroup = (uint64_t) cgroup_fd,
        };
        return (pid_t) syscall(SYS_clone3, &args, sizeof args);
}

static pid_t clone_plain(int *ret_pidfd) {
        struct clone_args args = {
                .flags = CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = 0,
        };
        pid_t pid = (pid_t) syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0 && errno == ENOSYS) {
                /* Before 5.3: fork and open the pidfd after the fact. The pid
                 * cannot be reused in between: it is our unreaped child. */
                pid = fork();
                if (pid > 0)
                        /* On failure the caller kills and reaps it by pid. */
                        *ret_pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        }
        return pid;
}

int spawn_reap(int pidfd, int *ret_code, int *ret_status) {
        siginfo_t si = {};

        for (;;) {
                if (waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED | __WALL) >= 0)
                        break;
                if (errno != EINTR)
                        return negative_errno();
        }
        if (ret_code)
                *ret_code = si.si_code;
        if (ret_status)
                *ret_status = si.si_status;
        return 0;
}

int spawn_in_cgroup(const SpawnParams *sp, pid_t *ret_pid, int *ret_pidfd) {
        _cleanup_close_ int err_read = -EBADF, err_write = -EBADF, procs_fd = -EBADF;
        int pipefd[2], pidfd = -EBADF, err = 0;
        sigset_t all, saved;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        err_read = pipefd[0];
        err_write = pipefd[1];

        if (!sp->into_cgroup || sp->fn) {
                /* The fallback's gate: the child moves itself into the leaf
                 * before exec and reports a failure like any other, so the
                 * job never runs outside its leaf. */
                procs_fd = openat(sp->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
                if (procs_fd < 0)
                        return negative_errno();
        }

        /* No signal handler of the host program may run in the child before
         * it has reset them. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (sp->fn) {
                pid = fork();
                if (pid == 0)
                        child_call(sp, err_write, procs_fd, &saved);
                if (pid > 0 && (pidfd = (int) syscall(SYS_pidfd_open, pid, 0)) < 0)
                        pidfd = -EBADF; /* handled below like clone_plain's */
        } else {
                pid = sp->into_cgroup ? clone_into(sp->cgroup_fd, &pidfd) : clone_plain(&pidfd);
                if (pid == 0)
                        child_exec(sp, err_write, procs_fd);
        }
        err = pid < 0 ? errno : 0;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);

        if (pid < 0) {
                /* E2BIG: clone3 exists but its args have no cgroup field (5.3-5.6). */
                if (sp->into_cgroup && !sp->fn && (err == ENOSYS || err == E2BIG))
                        return -ENOSYS;
                return -err;
        }
        if (pidfd < 0) {
                /* clone_plain()'s fork path without pidfd_open(): nothing to
                 * supervise it with, so it must not run at all. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return -ENOSYS;
        }

        err_write = safe_close(err_write);
        for (;;) {
                ssize_t n = read(err_read, &err, sizeof err);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == (ssize_t) sizeof err)
                        break;  /* exec failed: err says why */
                err = 0;        /* EOF: exec closed the pipe, the job runs */
                break;
        }
        if (err != 0) {
                (void) spawn_reap(pidfd, NULL, NULL);
                safe_close(pidfd);
                return -err;
        }
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        return 0;
}
