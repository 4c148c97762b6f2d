/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-fs.h"
#include "fileio.h"
#include "macro.h"

int cg_write(int dfd, const char *file, const char *value) {
        _cleanup_close_ int fd = openat(dfd, file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        /* cgroupfs takes an attribute in one write(); a short write is an error. */
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int cg_write_u64(int dfd, const char *file, uint64_t value) {
        char buf[24];

        if (value == CG_LIMIT_MAX)
                return cg_write(dfd, file, "max");
        snprintf(buf, sizeof buf, "%" PRIu64, value);
        return cg_write(dfd, file, buf);
}

int cg_read(int dfd, const char *file, char *buf, size_t size) {
        _cleanup_close_ int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        return read_full_fd(fd, buf, size, NULL);
}

/* A number ends at a space or the line's end; anything else is malformed. */
static int parse_u64_word(const char *s, const char **ret_end, uint64_t *ret) {
        char *end;

        if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || isspace((unsigned char) s[3]))) {
                *ret = CG_LIMIT_MAX;
                *ret_end = s + 3;
                return 0;
        }
        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != '\0' && !isspace((unsigned char) *end))
                return -EINVAL;
        *ret = v;
        *ret_end = end;
        return 0;
}

int cg_parse_u64(const char *text, uint64_t *ret) {
        const char *end;
        uint64_t v;

        int r = parse_u64_word(text, &end, &v);
        if (r < 0)
                return r;
        while (isspace((unsigned char) *end))
                end++;
        if (*end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_parse_key_u64(const char *text, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);

        for (const char *line = text; *line;) {
                const char *eol = strchrnul(line, '\n');
                if ((size_t) (eol - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
                        const char *end;
                        uint64_t v;
                        int r = parse_u64_word(line + klen + 1, &end, &v);
                        if (r < 0)
                                return r;
                        if (end != eol)
                                return -EINVAL;
                        *ret = v;
                        return 0;
                }
                line = *eol ? eol + 1 : eol;
        }
        return -ENOENT;
}

int cg_read_u64(int dfd, const char *file, uint64_t *ret) {
        char buf[64];

        int r = cg_read(dfd, file, buf, sizeof buf);
        if (r < 0)
                return r;
        return cg_parse_u64(buf, ret);
}

int cg_read_key_u64(int dfd, const char *file, const char *key, uint64_t *ret) {
        char buf[4096];

        int r = cg_read(dfd, file, buf, sizeof buf);
        if (r < 0)
                return r;
        return cg_parse_key_u64(buf, key, ret);
}

bool cg_list_has(const char *list, const char *word) {
        size_t wlen = strlen(word);

        for (const char *s = list; *s;) {
                while (*s && isspace((unsigned char) *s))
                        s++;
                const char *e = s;
                while (*e && !isspace((unsigned char) *e))
                        e++;
                if ((size_t) (e - s) == wlen && strncmp(s, word, wlen) == 0)
                        return true;
                s = e;
        }
        return false;
}

int cg_is_populated(int dfd) {
        uint64_t v;

        int r = cg_read_key_u64(dfd, "cgroup.events", "populated", &v);
        if (r < 0)
                return r;
        return v > 0;
}

static int kill_listed(int dfd) {
        _cleanup_close_ int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        char buf[16384];

        if (fd < 0)
                return negative_errno();
        /* One read sees at most a buffer of the processes present now; the
         * caller repeats until the cgroup is empty, so a longer list is
         * handled over several rounds. A cut-off last line is dropped. */
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        if (n == (ssize_t) sizeof buf - 1) {
                char *nl = strrchr(buf, '\n');
                if (nl)
                        nl[1] = '\0';
        }
        for (char *s = buf; *s;) {
                char *end;
                long pid = strtol(s, &end, 10);
                if (end == s)
                        break;
                if (pid > 0)
                        (void) kill((pid_t) pid, SIGKILL);
                s = end;
        }
        return 0;
}

int cg_kill(int dfd, bool have_kill_file) {
        if (have_kill_file)
                return cg_write(dfd, "cgroup.kill", "1");

        /* A frozen process still dies of SIGKILL; freezing first means the
         * list we read cannot grow behind our back. Without cgroup.freeze
         * (before 5.2) the repeated rounds catch late forks instead. */
        (void) cg_write(dfd, "cgroup.freeze", "1");
        return kill_listed(dfd);
}

int cg_rmdir(int parent_fd, const char *name) {
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0) {
                if (errno == ENOENT)
                        return 0;
                return negative_errno();
        }
        return 0;
}

int cg_enable_controllers(int dfd, const char *available, const char *const *wanted) {
        char buf[256] = "";
        size_t len = 0;

        for (const char *const *w = wanted; *w; w++) {
                if (!cg_list_has(available, *w))
                        continue;
                int n = snprintf(buf + len, sizeof buf - len, "%s+%s", len ? " " : "", *w);
                if (n < 0 || (size_t) n >= sizeof buf - len)
                        return -ENAMETOOLONG;
                len += (size_t) n;
        }
        if (len == 0)
                return 0;
        return cg_write(dfd, "cgroup.subtree_control", buf);
}
