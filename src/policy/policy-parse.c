/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One policy file, line by line, through libinih.
 *
 * inih's behaviour is fixed when the library is compiled, and Debian's
 * build (libinih 55, upstream defaults) has properties a security policy
 * cannot live with, checked against the installed library:
 *  - a line longer than its 200-byte buffer is silently split, and the tail
 *    parsed as a line of its own: "AllowUsers=<long list>MemoryMax=1T"
 *    would set MemoryMax;
 *  - section names are silently cut to 49 bytes, so two long pool paths
 *    could become the same pool;
 *  - handlers get no line numbers (INI_HANDLER_LINENO is 0) and are not
 *    called for a section without keys, so "[Pool shared]" alone vanishes;
 *  - "Key: value" is accepted like "Key=value", an indented line continues
 *    the previous value, and only ';' starts an inline comment, not '#'.
 * So inih reads through our own ini_reader, which takes one line at a time,
 * counts lines, strips comments (whole-line and inline, '#' and ';'),
 * handles "[Pool PATH]" headers itself, refuses what inih would misread, and
 * hands inih only clean "Key=value" lines that fit its buffer. inih then
 * splits and trims them and calls our handler, which knows the line it is
 * on because inih calls it before it reads the next line. */

#include <errno.h>
#include <grp.h>
#include <ini.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "names.h"
#include "parse-util.h"
#include "policy-internal.h"

static const char *const key_table[_KEY_MAX] = {
        [KEY_MEMORY_MAX] = "MemoryMax",
        [KEY_MAX_JOBS] = "MaxJobs",
        [KEY_TASKS_MAX] = "TasksMax",
        [KEY_JOB_MEMORY_DEFAULT] = "JobMemoryDefault",
        [KEY_JOB_MEMORY_MAX] = "JobMemoryMax",
        [KEY_JOB_TIMEOUT_SEC] = "JobTimeoutSec",
        [KEY_QUEUE_MAX] = "QueueMax",
        [KEY_QUEUE_TIMEOUT_SEC] = "QueueTimeoutSec",
        [KEY_ALLOW_USERS] = "AllowUsers",
        [KEY_ALLOW_GROUPS] = "AllowGroups",
        [KEY_ADMIN_USERS] = "AdminUsers",
        [KEY_ADMIN_GROUPS] = "AdminGroups",
        [KEY_JOB_TASKS_MAX] = "JobTasksMax",
        [KEY_JOB_START_TIMEOUT_SEC] = "JobStartTimeoutSec",
        [KEY_MAX_SLOTS_PER_USER] = "MaxSlotsPerUser",
        [KEY_NO_NEW_PRIVILEGES] = "NoNewPrivileges",
};

const char *policy_key_to_string(PolicyKey k) {
        return k >= 0 && k < _KEY_MAX ? key_table[k] : NULL;
}

static PolicyKey policy_key_from_string(const char *s) {
        for (PolicyKey k = 0; k < _KEY_MAX; k++)
                if (strcmp(key_table[k], s) == 0)
                        return k;
        return _KEY_MAX;
}

/* The C locale's isspace(), which is what inih trims: anything left at the
 * start of a line would make inih take it for a continuation line. */
static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_key_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int strv_push(char ***l, const char *s, size_t len) {
        size_t n = 0;
        char **t;

        while ((*l)[n])
                n++;
        t = reallocarray(*l, n + 2, sizeof(char *));
        if (!t)
                return -ENOMEM;
        *l = t;
        t[n] = strndup(s, len);
        if (!t[n])
                return -ENOMEM;
        t[n + 1] = NULL;
        return 0;
}

static int strv_reset(char ***l) {
        char **t = calloc(1, sizeof(char *));
        if (!t)
                return -ENOMEM;
        strv_free(*l);
        *l = t;
        return 0;
}

/* ---- values ------------------------------------------------------------- */

static LoadedPool *current(Loader *l) {
        return &l->pools[l->section];
}

#define VALUE_ERROR(l, key, fmt, ...) \
        loader_diag((l), POLICY_ERROR, (l)->file_index, (l)->lineno, policy_key_to_string(key), fmt, __VA_ARGS__)

/* Sizes: 0 would read as "no limit" in struct cgov_pool_limits, the
 * opposite of what "MemoryMax=0" says, so 0 is refused and "infinity" is
 * how to write no limit. */
static int value_size(Loader *l, PolicyKey key, const char *value, bool infinity_ok, uint64_t *ret) {
        char q[QUOTE_MAX];
        uint64_t v;
        int r = parse_size(value, &v);

        quote(q, value);
        if (r == -ERANGE && value[0] == '-')
                VALUE_ERROR(l, key, "negative size %s", q);
        else if (r == -ERANGE)
                VALUE_ERROR(l, key, "size %s out of range: at most 1E (2^60 bytes)", q);
        else if (r < 0)
                VALUE_ERROR(l, key, "invalid size %s: expected a number with an optional K, M, G or T suffix%s", q,
                            infinity_ok ? ", or infinity" : "");
        else if (v == SIZE_INFINITY && !infinity_ok)
                VALUE_ERROR(l, key, "invalid size %s: a job's reservation must be finite", q);
        else if (v == 0)
                VALUE_ERROR(l, key, "invalid size %s: must be above 0%s", q,
                            infinity_ok ? " (infinity means no limit)" : "");
        else {
                *ret = v == SIZE_INFINITY ? 0 : v;
                return 0;
        }
        return -EINVAL;
}

/* limit: a limit where 0 would read as "none", so "infinity" says that and
 * 0 is refused; otherwise (QueueMax=) 0 is a plain value and there is no
 * infinity. */
static int value_count(Loader *l, PolicyKey key, const char *value, bool limit, uint64_t max, uint32_t *ret) {
        char q[QUOTE_MAX];
        uint64_t v;
        int r;

        if (limit && strcmp(value, "infinity") == 0) {
                *ret = 0;
                return 0;
        }
        r = parse_unsigned(value, max, &v);
        quote(q, value);
        if (r == -ERANGE && value[0] == '-')
                VALUE_ERROR(l, key, "negative number %s", q);
        else if (r == -ERANGE)
                VALUE_ERROR(l, key, "number %s out of range: at most %llu", q, (unsigned long long) max);
        else if (r < 0)
                VALUE_ERROR(l, key, "invalid number %s: expected a whole number%s", q, limit ? " or infinity" : "");
        else if (limit && v == 0)
                VALUE_ERROR(l, key, "invalid number %s: must be at least 1 (infinity means no limit)", q);
        else {
                *ret = (uint32_t) v;
                return 0;
        }
        return -EINVAL;
}

/* As in systemd, a timeout of 0 means none, like "infinity". */
static int value_timespan(Loader *l, PolicyKey key, const char *value, uint64_t *ret) {
        char q[QUOTE_MAX];
        uint64_t v;
        int r = parse_timespan(value, &v);

        quote(q, value);
        if (r == -ERANGE && value[0] == '-')
                VALUE_ERROR(l, key, "negative time span %s", q);
        else if (r == -ERANGE)
                VALUE_ERROR(l, key, "time span %s out of range", q);
        else if (r < 0)
                VALUE_ERROR(l, key, "invalid time span %s: expected e.g. 500ms, 30s, 2min, 1h 30min, or infinity", q);
        else {
                *ret = v == TIMESPAN_INFINITY ? 0 : v;
                return 0;
        }
        return -EINVAL;
}

/* A setting whose default is the daemon's: "infinity" is 0 (none), and
 * the value is stored as int64 so that POLICY_UNSET stays apart. */
static int value_count_or_infinity(Loader *l, PolicyKey key, const char *value, uint64_t max, int64_t *ret) {
        uint32_t v;
        int r = value_count(l, key, value, true, max, &v);
        if (r >= 0)
                *ret = v;
        return r;
}

static int value_timespan_or_infinity(Loader *l, PolicyKey key, const char *value, int64_t *ret) {
        uint64_t v;
        int r = value_timespan(l, key, value, &v);
        if (r >= 0)
                *ret = (int64_t) MIN(v, (uint64_t) INT64_MAX / 1000);
        return r;
}

static int value_boolean(Loader *l, PolicyKey key, const char *value, int *ret) {
        char q[QUOTE_MAX];
        int r = parse_boolean(value);
        if (r < 0) {
                VALUE_ERROR(l, key, "invalid boolean %s: expected yes or no", quote(q, value));
                return r;
        }
        *ret = r;
        return 0;
}

/* What a user or group name may look like, whatever the name service: no
 * blanks (they separate names here), no control characters, no ':' or '/'
 * (never in passwd or group names), not starting with '-' (an option). */
static bool account_name_is_valid(const char *s, size_t len) {
        if (len < 1 || len > 256 || s[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= ' ' || c == 0x7f || c == ':' || c == '/')
                        return false;
        }
        return true;
}

/* 0 when the name exists, -ESRCH when it does not, another -errno when the
 * name service failed. The _r variants: the daemon may load policies while
 * other threads run. */
static int account_lookup(bool group, const char *name) {
        size_t size = 1024;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                int r;

                if (!buf)
                        return -ENOMEM;
                if (group) {
                        struct group gr, *res = NULL;
                        r = getgrnam_r(name, &gr, buf, size, &res);
                        if (r == 0)
                                return res ? 0 : -ESRCH;
                } else {
                        struct passwd pw, *res = NULL;
                        r = getpwnam_r(name, &pw, buf, size, &res);
                        if (r == 0)
                                return res ? 0 : -ESRCH;
                }
                /* getpwnam_r(3): some name services say "not found" so. */
                if (r == ENOENT || r == ESRCH)
                        return -ESRCH;
                if (r != ERANGE || size >= 1024 * 1024)
                        return -r;
                size *= 2;
        }
}

/* An unknown name is an error, not a warning: a typo in AllowUsers= would
 * otherwise lock a tenant out (or, in AdminUsers=, leave a pool without the
 * administrator its author meant) with nothing said until it is too late. */
static int value_names(Loader *l, PolicyKey key, const char *value, bool group, char ***list) {
        const char *what = group ? "group" : "user";
        int ret = 0;

        for (const char *s = value;;) {
                char q[QUOTE_MAX];
                size_t len;

                s += strspn(s, " \t");
                if (*s == '\0')
                        break;
                len = strcspn(s, " \t");
                _cleanup_free_ char *name = strndup(s, len);
                s += len;
                if (!name) {
                        l->oom = true;
                        return -ENOMEM;
                }
                if (!account_name_is_valid(name, len)) {
                        VALUE_ERROR(l, key, "invalid %s name %s", what, quote(q, name));
                        ret = -EINVAL;
                        continue;
                }
                if (!(l->flags & POLICY_NO_LOOKUP)) {
                        int r = account_lookup(group, name);
                        if (r == -ENOMEM) {
                                l->oom = true;
                                return r;
                        }
                        if (r == -ESRCH) {
                                VALUE_ERROR(l, key, "unknown %s %s", what, quote(q, name));
                                ret = -EINVAL;
                                continue;
                        }
                        if (r < 0) {
                                errno = -r;
                                VALUE_ERROR(l, key, "cannot look up %s %s: %m", what, quote(q, name));
                                ret = r;
                                continue;
                        }
                }
                if (strv_push(list, name, len) < 0) {
                        l->oom = true;
                        return -ENOMEM;
                }
        }
        return ret;
}

static void assign(Loader *l, PolicyKey key, const char *value) {
        LoadedPool *lp = current(l);
        PolicyPool *p = &lp->pool;
        int r = 0;

        switch (key) {
        case KEY_ALLOW_USERS:
        case KEY_ALLOW_GROUPS:
                if (p->instance) {
                        loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, policy_key_to_string(key),
                                    "not allowed in an instance pool (%s): it is allowed to its own user only",
                                    POLICY_INSTANCE_SEGMENT);
                        return;
                }
                break;
        default:
                break;
        }

        /* systemd's rule: an empty assignment resets the key to its default
         * (for lists: empties them); otherwise lists append, others replace. */
        if (value[0] == '\0') {
                switch (key) {
                case KEY_MEMORY_MAX: p->lim.memory_max = 0; break;
                case KEY_MAX_JOBS: p->lim.max_jobs = 0; break;
                case KEY_TASKS_MAX: p->lim.pids_max = 0; break;
                case KEY_JOB_MEMORY_DEFAULT: p->lim.job_memory_default = 0; break;
                case KEY_JOB_MEMORY_MAX: p->job_memory_max = 0; break;
                case KEY_JOB_TIMEOUT_SEC: p->job_timeout_ms = 0; break;
                case KEY_QUEUE_MAX: p->lim.max_queue = 0; break;
                case KEY_QUEUE_TIMEOUT_SEC: p->lim.queue_timeout_ms = 0; break;
                case KEY_ALLOW_USERS: r = strv_reset(&p->allow_users); break;
                case KEY_ALLOW_GROUPS: r = strv_reset(&p->allow_groups); break;
                case KEY_ADMIN_USERS: r = strv_reset(&p->admin_users); break;
                case KEY_ADMIN_GROUPS: r = strv_reset(&p->admin_groups); break;
                case KEY_JOB_TASKS_MAX: p->job_tasks_max = POLICY_UNSET; break;
                case KEY_JOB_START_TIMEOUT_SEC: p->job_start_timeout_ms = POLICY_UNSET; break;
                case KEY_MAX_SLOTS_PER_USER: p->max_slots_per_user = POLICY_UNSET; break;
                case KEY_NO_NEW_PRIVILEGES: p->no_new_privileges = POLICY_UNSET; break;
                case _KEY_MAX: break;
                }
                if (r < 0)
                        l->oom = true;
                lp->key_line[key] = 0;
                return;
        }

        switch (key) {
        case KEY_MEMORY_MAX: r = value_size(l, key, value, true, &p->lim.memory_max); break;
        case KEY_JOB_MEMORY_MAX: r = value_size(l, key, value, true, &p->job_memory_max); break;
        case KEY_JOB_MEMORY_DEFAULT: r = value_size(l, key, value, false, &p->lim.job_memory_default); break;
        case KEY_MAX_JOBS: r = value_count(l, key, value, true, UINT32_MAX, &p->lim.max_jobs); break;
        case KEY_TASKS_MAX: r = value_count(l, key, value, true, CGOV_PIDS_MAX, &p->lim.pids_max); break;
        /* Never infinity: a queue holds jobs in the daemon's memory. */
        case KEY_QUEUE_MAX: r = value_count(l, key, value, false, UINT32_MAX, &p->lim.max_queue); break;
        case KEY_JOB_TIMEOUT_SEC: r = value_timespan(l, key, value, &p->job_timeout_ms); break;
        case KEY_QUEUE_TIMEOUT_SEC: r = value_timespan(l, key, value, &p->lim.queue_timeout_ms); break;
        case KEY_ALLOW_USERS: r = value_names(l, key, value, false, &p->allow_users); break;
        case KEY_ALLOW_GROUPS: r = value_names(l, key, value, true, &p->allow_groups); break;
        case KEY_ADMIN_USERS: r = value_names(l, key, value, false, &p->admin_users); break;
        case KEY_ADMIN_GROUPS: r = value_names(l, key, value, true, &p->admin_groups); break;
        case KEY_JOB_TASKS_MAX:
                r = value_count_or_infinity(l, key, value, CGOV_PIDS_MAX, &p->job_tasks_max);
                break;
        case KEY_JOB_START_TIMEOUT_SEC: r = value_timespan_or_infinity(l, key, value, &p->job_start_timeout_ms); break;
        /* 0 is a value here (no slots at all); infinity is no bound. */
        case KEY_MAX_SLOTS_PER_USER:
                if (strcmp(value, "infinity") == 0) {
                        p->max_slots_per_user = INT64_MAX;
                        break;
                }
                {
                        uint32_t v;
                        r = value_count(l, key, value, false, UINT32_MAX, &v);
                        if (r >= 0)
                                p->max_slots_per_user = v;
                }
                break;
        case KEY_NO_NEW_PRIVILEGES: r = value_boolean(l, key, value, &p->no_new_privileges); break;
        case _KEY_MAX: break;
        }
        /* A refused value leaves the key as it was; its line is remembered
         * only for values that took effect, which the cross-checks compare. */
        if (r >= 0)
                lp->key_line[key] = l->lineno;
}

/* ---- sections ------------------------------------------------------------ */

static int pool_new(Loader *l, const char *path, bool instance, unsigned depth) {
        LoadedPool *t = reallocarray(l->pools, l->n_pools + 1, sizeof(LoadedPool));
        if (!t)
                return -ENOMEM;
        l->pools = t;

        LoadedPool *lp = &t[l->n_pools];
        *lp = (LoadedPool) {
                .pool = {
                        .path = strdup(path),
                        .instance = instance,
                        .depth = depth,
                        .parent = SIZE_MAX,
                        .file = strdup(l->files[l->file_index]),
                        .line = l->lineno,
                        .allow_users = calloc(1, sizeof(char *)),
                        .allow_groups = calloc(1, sizeof(char *)),
                        .admin_users = calloc(1, sizeof(char *)),
                        .admin_groups = calloc(1, sizeof(char *)),
                        .job_tasks_max = POLICY_UNSET,
                        .job_start_timeout_ms = POLICY_UNSET,
                        .max_slots_per_user = POLICY_UNSET,
                        .no_new_privileges = POLICY_UNSET,
                },
                .file_index = l->file_index,
                .seq = l->n_pools,
        };
        l->n_pools++;
        if (!lp->pool.path || !lp->pool.file || !lp->pool.allow_users || !lp->pool.allow_groups ||
            !lp->pool.admin_users || !lp->pool.admin_groups)
                return -ENOMEM;
        return 0;
}

/* "shared/customer-a" or "shared/%u": cgov's own pool path rules, plus the
 * %u instance segment, which may only come last. */
static bool section_path_check(Loader *l, const char *path, bool *ret_instance, unsigned *ret_depth) {
        const char *slash = strrchr(path, '/');
        const char *last = slash ? slash + 1 : path;
        bool instance = strcmp(last, POLICY_INSTANCE_SEGMENT) == 0;
        char q[QUOTE_MAX];
        unsigned depth = 0;

        /* "%u" elsewhere: the one misuse worth its own message. */
        for (const char *s = path; (s = strstr(s, POLICY_INSTANCE_SEGMENT)); s++)
                if ((s == path || s[-1] == '/') && s[2] == '/') {
                        loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY,
                                    "invalid pool path %s: %s may only be the last segment", quote(q, path),
                                    POLICY_INSTANCE_SEGMENT);
                        return false;
                }
        if (instance) {
                if (slash) {
                        _cleanup_free_ char *prefix = strndup(path, (size_t) (slash - path));
                        if (!prefix) {
                                l->oom = true;
                                return false;
                        }
                        if (!pool_path_is_valid(prefix, &depth))
                                depth = POOL_MAX_DEPTH + 1;
                }
                depth++;
        } else if (!pool_path_is_valid(path, &depth))
                depth = POOL_MAX_DEPTH + 1;

        if (depth > POOL_MAX_DEPTH) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY,
                            "invalid pool path %s: segments are separated by '/', each 1-64 of A-Z a-z 0-9 _ . -, "
                            "not starting with '.' or '-', not \"supervisor\" nor \"cgroup.*\"; at most %d levels",
                            quote(q, path), POOL_MAX_DEPTH);
                return false;
        }
        *ret_instance = instance;
        *ret_depth = depth;
        return true;
}

/* line: a whole trimmed line starting with '['. */
static void section_begin(Loader *l, char *line) {
        static const char expected[] = "expected [Pool PATH]";
        size_t len = strlen(line);
        char q[QUOTE_MAX];
        bool instance;
        unsigned depth;

        l->section = SIZE_MAX;
        l->section_bad = true;

        if (line[len - 1] != ']') {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY, "invalid section header %s: %s",
                            quote(q, line), expected);
                return;
        }
        line[len - 1] = '\0';
        char *type = line + 1;
        type += strspn(type, " \t");
        char *path = type + strcspn(type, " \t");
        if (*path != '\0')
                *path++ = '\0';
        path += strspn(path, " \t");
        for (char *e = path + strlen(path); e > path && (e[-1] == ' ' || e[-1] == '\t');)
                *--e = '\0';

        if (strcmp(type, "Pool") != 0) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY, "unknown section type %s: %s",
                            quote(q, type), expected);
                return;
        }
        if (*path == '\0') {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY, "missing pool path: %s",
                            expected);
                return;
        }
        if (!section_path_check(l, path, &instance, &depth))
                return;
        if (pool_new(l, path, instance, depth) < 0) {
                l->oom = true;
                return;
        }
        l->section = l->n_pools - 1;
        l->section_bad = false;
}

/* ---- lines --------------------------------------------------------------- */

static int handler(void *userdata, const char *section, const char *name, const char *value) {
        Loader *l = userdata;
        char q[QUOTE_MAX];

        /* section is inih's (possibly truncated) copy: ignored, see above. */
        if (!name || !value || l->section_bad || l->oom)
                return 1;
        if (l->section == SIZE_MAX) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY,
                            "assignment to %s outside of a [Pool PATH] section", quote(q, name));
                return 1;
        }
        PolicyKey key = policy_key_from_string(name);
        if (key == _KEY_MAX) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, name, "unknown key");
                return 1;
        }
        assign(l, key, value);
        /* Always go on: errors are collected here, not by inih. */
        return 1;
}

/* Cuts a line at its comment: a line starting with '#' or ';', or a '#' or
 * ';' after a blank (so "a;b" stays whole, as in inih and systemd). */
static void strip_comment(char *s) {
        if (*s == '\0')
                return;
        if (*s == '#' || *s == ';') {
                *s = '\0';
                return;
        }
        for (char *c = s + 1; *c; c++)
                if ((*c == '#' || *c == ';') && (c[-1] == ' ' || c[-1] == '\t')) {
                        *c = '\0';
                        return;
                }
}

/* Decides what inih gets for one line; true: pass line to inih. */
static bool line_filter(Loader *l, char *line) {
        char q[QUOTE_MAX];

        strip_comment(line);
        size_t len = strlen(line);
        while (len > 0 && is_space(line[len - 1]))
                line[--len] = '\0';
        if (len == 0)
                return false;
        if (line[0] == '[') {
                section_begin(l, line);
                return false;
        }

        const char *eq = strchr(line, '=');
        if (!eq) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY,
                            "expected KEY=VALUE, a [Pool PATH] section header or a comment, got %s",
                            quote(q, line));
                return false;
        }
        /* inih would split "A:B=1" at ':'; a key is letters and digits only. */
        for (const char *c = line; c < eq; c++)
                if (!is_key_char(*c) && !is_space(*c)) {
                        _cleanup_free_ char *key = strndup(line, (size_t) (eq - line));
                        if (!key)
                                l->oom = true;
                        else if (!l->section_bad)
                                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY, "unknown key %s",
                                            quote(q, key));
                        return false;
                }
        return true;
}

static char *reader(char *str, int num, void *stream) {
        Loader *l = stream;

        if (l->pos >= l->len || l->oom)
                return NULL;

        const char *start = l->text + l->pos;
        const char *nl = memchr(start, '\n', l->len - l->pos);
        size_t len = nl ? (size_t) (nl - start) : l->len - l->pos;
        l->pos += len + (nl ? 1 : 0);
        l->lineno++;

        /* What inih gets when the line is ours: an empty line, so inih's
         * line count stays ours. Every line ends in '\n': a build of inih
         * with INI_ALLOW_REALLOC would otherwise join it with the next. */
        str[0] = '\n';
        str[1] = '\0';

        if (l->lineno == 1 && len >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
                start += 3;
                len -= 3;
        }
        if (memchr(start, '\0', len)) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY, "line contains a NUL byte");
                return str;
        }
        while (len > 0 && is_space(*start)) {
                start++;
                len--;
        }
        _cleanup_free_ char *line = strndup(start, len);
        if (!line) {
                l->oom = true;
                return NULL;
        }
        if (!line_filter(l, line))
                return str;

        size_t n = strlen(line);
        if (num < 2 || n > (size_t) num - 2) {
                loader_diag(l, POLICY_ERROR, l->file_index, l->lineno, NO_KEY,
                            "line longer than %d characters (libinih's limit): "
                            "split a list over several assignments of the same key, which append",
                            num - 2);
                return str;
        }
        memcpy(str, line, n);
        str[n] = '\n';
        str[n + 1] = '\0';
        return str;
}

void loader_parse_file(Loader *l) {
        l->pos = 0;
        l->lineno = 0;
        l->section = SIZE_MAX;
        l->section_bad = false;

        int r = ini_parse_stream(reader, l, handler, l);
        if (r == -2)
                l->oom = true;
        else if (r != 0 && !l->oom)
                /* Cannot happen: inih sees only lines it accepts and our
                 * handler never fails. Said rather than hidden, should a
                 * future inih disagree. */
                loader_diag(l, POLICY_ERROR, l->file_index, r > 0 ? (unsigned) r : 0, NO_KEY,
                            "the INI parser refused this line");
}
