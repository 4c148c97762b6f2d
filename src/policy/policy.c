/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Loading a policy: finding the .pool files, checking the pools against each
 * other once every file is read (duplicates, parents, limits along the
 * chain), and handing out the Policy. One file's syntax is policy-parse.c's.
 *
 * Checks that compare pools wait until every file is read, because a pool's
 * parent may come later (in the same file or a later one): the order of
 * files is for the reader's convenience, not a constraint. */

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "policy-internal.h"

const char *policy_severity_to_string(PolicySeverity s) {
        return s == POLICY_ERROR ? "error" : s == POLICY_WARNING ? "warning" : NULL;
}

const char *quote(char buf[static QUOTE_MAX], const char *s) {
        size_t n = 0;

        buf[n++] = '"';
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (n > QUOTE_MAX - 9) { /* room for \xNN, "...", '"' and NUL */
                        memcpy(buf + n, "...", 3);
                        n += 3;
                        break;
                }
                if (c < ' ' || c == 0x7f || c == '"' || c == '\\')
                        n += (size_t) snprintf(buf + n, QUOTE_MAX - n, c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
                else
                        buf[n++] = (char) c;
        }
        buf[n++] = '"';
        buf[n] = '\0';
        return buf;
}

void loader_diag(Loader *l, PolicySeverity sev, size_t file_index, unsigned line, const char *key, const char *fmt,
                 ...) {
        PolicyDiagnostic *t;
        DiagKey *k;
        char *msg = NULL;
        va_list ap;
        int r;

        if (l->oom)
                return;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                goto oom;

        t = reallocarray(l->diag.items, l->diag.n_items + 1, sizeof(*t));
        if (!t)
                goto oom;
        l->diag.items = t;
        k = reallocarray(l->diag_keys, l->diag.n_items + 1, sizeof(*k));
        if (!k)
                goto oom;
        l->diag_keys = k;

        t[l->diag.n_items] = (PolicyDiagnostic) {
                .severity = sev,
                .file = strdup(l->files[file_index]),
                .line = line,
                .key = key ? strdup(key) : NULL,
                .message = msg,
        };
        k[l->diag.n_items] = (DiagKey) { .file_index = file_index, .seq = l->diag.n_items };
        l->diag.n_items++;
        if (sev == POLICY_ERROR)
                l->diag.n_errors++;
        else
                l->diag.n_warnings++;
        if (!t[l->diag.n_items - 1].file || (key && !t[l->diag.n_items - 1].key))
                l->oom = true;
        return;
oom:
        free(msg);
        l->oom = true;
}

void policy_diagnostics_done(PolicyDiagnostics *diag) {
        if (!diag)
                return;
        for (size_t i = 0; i < diag->n_items; i++) {
                free(diag->items[i].file);
                free(diag->items[i].key);
                free(diag->items[i].message);
        }
        free(diag->items);
        *diag = (PolicyDiagnostics) {};
}

static void pool_done(PolicyPool *p) {
        free(p->path);
        free(p->file);
        strv_free(p->allow_users);
        strv_free(p->allow_groups);
        strv_free(p->admin_users);
        strv_free(p->admin_groups);
}

Policy *policy_free(Policy *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_pools; i++)
                pool_done(&p->pools[i]);
        free(p->pools);
        free(p);
        return NULL;
}

static void loader_done(Loader *l) {
        for (size_t i = 0; i < l->n_files; i++)
                free(l->files[i]);
        free(l->files);
        for (size_t i = 0; i < l->n_pools; i++)
                pool_done(&l->pools[i].pool);
        free(l->pools);
        policy_diagnostics_done(&l->diag);
        free(l->diag_keys);
}

static int loader_add_file(Loader *l, const char *name) {
        char **t = reallocarray(l->files, l->n_files + 1, sizeof(char *));
        if (!t)
                return -ENOMEM;
        l->files = t;
        t[l->n_files] = strdup(name);
        if (!t[l->n_files])
                return -ENOMEM;
        return (int) l->n_files++;
}

/* ---- checks across pools ------------------------------------------------ */

/* Paths in depth-first order: '/' sorts before every other character, so
 * "a" < "a/b" < "a/b/c" < "a/c" < "a-b" and each pool follows its parent. */
static int path_compare(const char *a, const char *b) {
        for (;; a++, b++) {
                unsigned x = *a == '/' ? 1 : (unsigned char) *a, y = *b == '/' ? 1 : (unsigned char) *b;
                if (x != y || x == 0)
                        return (x > y) - (x < y);
        }
}

static int loaded_pool_compare(const void *a, const void *b) {
        const LoadedPool *x = a, *y = b;
        int r = path_compare(x->pool.path, y->pool.path);
        return r ?: (x->seq > y->seq) - (x->seq < y->seq);
}

static int pool_find_compare(const void *key, const void *elem) {
        return path_compare(key, ((const LoadedPool *) elem)->pool.path);
}

static const char *pool_name(const LoadedPool *self, const LoadedPool *other) {
        return self == other ? "this pool" : other->pool.path;
}

static uint64_t pool_limit(const LoadedPool *p, PolicyKey key) {
        switch (key) {
        case KEY_MEMORY_MAX: return p->pool.lim.memory_max;
        case KEY_MAX_JOBS: return p->pool.lim.max_jobs;
        case KEY_TASKS_MAX: return p->pool.lim.pids_max;
        default: return 0;
        }
}

static const LoadedPool *pool_parent(const Loader *l, const LoadedPool *p) {
        return p->pool.parent == SIZE_MAX ? NULL : &l->pools[p->pool.parent];
}

/* The tightest value of a limit on p's chain (0: none), and the pool that
 * sets it: from p itself or from its parent up. */
static uint64_t chain_min(const Loader *l, const LoadedPool *p, PolicyKey key, bool include_self,
                          const LoadedPool **ret_by) {
        const LoadedPool *by = NULL;
        uint64_t best = 0;

        for (const LoadedPool *q = include_self ? p : pool_parent(l, p); q; q = pool_parent(l, q)) {
                uint64_t v = pool_limit(q, key);
                if (v != 0 && (best == 0 || v < best)) {
                        best = v;
                        by = q;
                }
        }
        *ret_by = by;
        return best;
}

#define POOL_DIAG(l, sev, p, key, fmt, ...) \
        loader_diag((l), (sev), (p)->file_index, (p)->key_line[key], policy_key_to_string(key), fmt, __VA_ARGS__)

/* The default reservation the library gives a job that names none. */
#define JOB_MEMORY_DEFAULT (UINT64_C(64) << 20)

static void check_pool(Loader *l, LoadedPool *p) {
        const struct cgov_pool_limits *lim = &p->pool.lim;
        char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
        const LoadedPool *by;
        uint64_t cap;

        /* A child may promise more than its parent has, as in systemd: the
         * kernel and the ledger apply the parent's limit too. Allowed, but
         * the author likely expected the larger figure to be reachable. */
        static const PolicyKey chained[] = { KEY_MEMORY_MAX, KEY_MAX_JOBS, KEY_TASKS_MAX };
        for (size_t i = 0; i < ELEMENTSOF(chained); i++) {
                PolicyKey k = chained[i];
                uint64_t own = pool_limit(p, k);
                if (own == 0 || p->key_line[k] == 0)
                        continue;
                cap = chain_min(l, p, k, false, &by);
                if (cap == 0 || own <= cap)
                        continue;
                if (k == KEY_MEMORY_MAX)
                        POOL_DIAG(l, POLICY_WARNING, p, k, "%s is above MemoryMax=%s of pool %s, which applies",
                                  format_size(a, own), format_size(b, cap), by->pool.path);
                else
                        POOL_DIAG(l, POLICY_WARNING, p, k, "%llu is above %s=%llu of pool %s, which applies",
                                  (unsigned long long) own, policy_key_to_string(k), (unsigned long long) cap,
                                  by->pool.path);
        }

        /* A job's reservation is taken from every pool on its chain: one
         * larger than the tightest MemoryMax could never be admitted. */
        cap = chain_min(l, p, KEY_MEMORY_MAX, true, &by);
        if (cap != 0 && p->key_line[KEY_JOB_MEMORY_DEFAULT] && lim->job_memory_default > cap)
                POOL_DIAG(l, POLICY_ERROR, p, KEY_JOB_MEMORY_DEFAULT, "%s is above MemoryMax=%s of %s",
                          format_size(a, lim->job_memory_default), format_size(b, cap), pool_name(p, by));
        if (cap != 0 && p->key_line[KEY_JOB_MEMORY_MAX] && p->pool.job_memory_max > cap)
                POOL_DIAG(l, POLICY_ERROR, p, KEY_JOB_MEMORY_MAX, "%s is above MemoryMax=%s of %s",
                          format_size(a, p->pool.job_memory_max), format_size(b, cap), pool_name(p, by));

        if (p->key_line[KEY_JOB_MEMORY_MAX] && p->pool.job_memory_max != 0) {
                if (p->key_line[KEY_JOB_MEMORY_DEFAULT]) {
                        if (lim->job_memory_default > p->pool.job_memory_max)
                                POOL_DIAG(l, POLICY_ERROR, p, KEY_JOB_MEMORY_DEFAULT, "%s is above JobMemoryMax=%s",
                                          format_size(a, lim->job_memory_default),
                                          format_size(b, p->pool.job_memory_max));
                } else {
                        /* The implicit default must fit too, or every job
                         * that names no size would be refused. */
                        uint64_t def = JOB_MEMORY_DEFAULT;
                        if (lim->memory_max != 0 && lim->memory_max < def)
                                def = lim->memory_max;
                        if (def > p->pool.job_memory_max)
                                POOL_DIAG(l, POLICY_ERROR, p, KEY_JOB_MEMORY_MAX,
                                          "%s is below the default reservation of a job (%s): set JobMemoryDefault= "
                                          "too",
                                          format_size(a, p->pool.job_memory_max), format_size(b, def));
                }
        }
}

/* Sorts the pools, drops and reports duplicates, links parents, checks each
 * pool, then sorts the diagnostics by file and line. */
static void loader_finish(Loader *l) {
        char q[QUOTE_MAX];

        if (l->n_pools > 0)
                qsort(l->pools, l->n_pools, sizeof(LoadedPool), loaded_pool_compare);

        /* Equal paths are adjacent, the first definition first. */
        for (size_t i = 1; i < l->n_pools; i++) {
                LoadedPool *p = &l->pools[i];
                for (size_t j = i; j-- > 0;)
                        if (!l->pools[j].dropped) {
                                if (strcmp(l->pools[j].pool.path, p->pool.path) == 0) {
                                        loader_diag(l, POLICY_ERROR, p->file_index, p->pool.line, NO_KEY,
                                                    "pool %s is already defined at %s:%u", quote(q, p->pool.path),
                                                    l->pools[j].pool.file, l->pools[j].pool.line);
                                        p->dropped = true;
                                }
                                break;
                        }
        }
        size_t n = 0;
        for (size_t i = 0; i < l->n_pools; i++) {
                if (l->pools[i].dropped)
                        pool_done(&l->pools[i].pool);
                else
                        l->pools[n++] = l->pools[i];
        }
        l->n_pools = n;

        for (size_t i = 0; i < l->n_pools; i++) {
                LoadedPool *p = &l->pools[i];
                const char *slash = strrchr(p->pool.path, '/');
                if (!slash)
                        continue;
                /* A copy: cutting the path in place would unsort the array
                 * under bsearch, which could then find p itself. */
                _cleanup_free_ char *parent_path = strndup(p->pool.path, (size_t) (slash - p->pool.path));
                if (!parent_path) {
                        l->oom = true;
                        return;
                }
                LoadedPool *parent = bsearch(parent_path, l->pools, l->n_pools, sizeof(LoadedPool),
                                             pool_find_compare);
                if (parent)
                        p->pool.parent = (size_t) (parent - l->pools);
                else
                        loader_diag(l, POLICY_ERROR, p->file_index, p->pool.line, NO_KEY,
                                    "the parent pool %s of %s is not defined", quote(q, parent_path), p->pool.path);
        }

        for (size_t i = 0; i < l->n_pools; i++)
                check_pool(l, &l->pools[i]);
}

static int diag_compare(const void *a, const void *b, void *userdata) {
        const Loader *l = userdata;
        const DiagKey *x = &l->diag_keys[*(const size_t *) a], *y = &l->diag_keys[*(const size_t *) b];
        const PolicyDiagnostic *dx = &l->diag.items[x->seq], *dy = &l->diag.items[y->seq];

        if (x->file_index != y->file_index)
                return x->file_index < y->file_index ? -1 : 1;
        if (dx->line != dy->line)
                return dx->line < dy->line ? -1 : 1;
        return (x->seq > y->seq) - (x->seq < y->seq);
}

static int diagnostics_sort(Loader *l) {
        size_t n = l->diag.n_items;
        if (n < 2)
                return 0;

        _cleanup_free_ size_t *order = calloc(n, sizeof(size_t));
        _cleanup_free_ PolicyDiagnostic *sorted = calloc(n, sizeof(PolicyDiagnostic));
        if (!order || !sorted)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                order[i] = i;
        qsort_r(order, n, sizeof(size_t), diag_compare, l);
        for (size_t i = 0; i < n; i++)
                sorted[i] = l->diag.items[order[i]];
        memcpy(l->diag.items, sorted, n * sizeof(PolicyDiagnostic));
        return 0;
}

/* Hands over pools and diagnostics; the loader is done with either way. */
static int loader_result(Loader *l, Policy **ret, PolicyDiagnostics *diag) {
        int r = 0;

        if (!l->oom)
                loader_finish(l);
        if (!l->oom && diagnostics_sort(l) < 0)
                l->oom = true;
        if (l->oom) {
                loader_done(l);
                return -ENOMEM;
        }
        if (l->diag.n_errors > 0)
                r = -EBADMSG;
        else if (ret) {
                Policy *p = calloc(1, sizeof(Policy));
                PolicyPool *pools = calloc(l->n_pools ?: 1, sizeof(PolicyPool));
                if (!p || !pools) {
                        free(p);
                        free(pools);
                        loader_done(l);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < l->n_pools; i++)
                        pools[i] = l->pools[i].pool;
                *p = (Policy) { .pools = pools, .n_pools = l->n_pools, .n_files = l->n_parsed };
                l->n_pools = 0; /* moved */
                *ret = p;
        }
        if (diag) {
                *diag = l->diag;
                l->diag = (PolicyDiagnostics) {};
        }
        loader_done(l);
        return r;
}

/* ---- entry points -------------------------------------------------------- */

int policy_load_string(const char *name, const char *text, size_t len, unsigned flags, Policy **ret,
                       PolicyDiagnostics *diag) {
        Loader l = { .flags = flags };
        int r;

        assert_return(name, -EINVAL);
        assert_return(text || len == 0, -EINVAL);

        r = loader_add_file(&l, name);
        if (r < 0) {
                loader_done(&l);
                return r;
        }
        l.file_index = (size_t) r;
        l.text = text ?: "";
        l.len = len;
        loader_parse_file(&l);
        l.n_parsed++;
        return loader_result(&l, ret, diag);
}

static bool is_pool_file_name(const char *name) {
        size_t len = strlen(name), slen = strlen(POLICY_SUFFIX);
        return name[0] != '.' && len > slen && strcmp(name + len - slen, POLICY_SUFFIX) == 0;
}

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* 0 with the contents, 1 when it is not a regular file, or -errno. */
static int file_read(int dfd, const char *name, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        /* O_NONBLOCK: a FIFO named x.pool must not hang the daemon. */
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return 1;
        if (st.st_size > POLICY_FILE_SIZE_MAX)
                return -EFBIG;
        /* The file may have grown since fstat(): the read is bounded too. */
        buf = malloc(POLICY_FILE_SIZE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        r = read_full_fd(fd, buf, POLICY_FILE_SIZE_MAX + 1, &len);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static char *path_join(const char *dir, const char *name) {
        char *s;
        size_t n = strlen(dir);
        if (asprintf(&s, "%s%s%s", dir, n > 0 && dir[n - 1] == '/' ? "" : "/", name) < 0)
                return NULL;
        return s;
}

static int dir_list(DIR *d, char ***ret, size_t *ret_n) {
        _cleanup_(strv_freep) char **names = calloc(1, sizeof(char *));
        size_t n = 0;

        if (!names)
                return -ENOMEM;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }
                if (!is_pool_file_name(de->d_name))
                        continue;
                char **t = reallocarray(names, n + 2, sizeof(char *));
                if (!t)
                        return -ENOMEM;
                names = t;
                names[n + 1] = NULL;
                names[n] = strdup(de->d_name);
                if (!names[n])
                        return -ENOMEM;
                n++;
        }
        /* strcmp, not the locale's collation (alphasort): the order must
         * not change with LANG. */
        qsort(names, n, sizeof(char *), name_compare);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

int policy_load_dir(const char *dir, unsigned flags, Policy **ret, PolicyDiagnostics *diag) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(strv_freep) char **names = NULL;
        Loader l = { .flags = flags };
        size_t n = 0;
        int r;

        assert_return(dir, -EINVAL);

        d = opendir(dir);
        if (!d)
                return negative_errno();
        r = dir_list(d, &names, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n && !l.oom; i++) {
                _cleanup_free_ char *path = path_join(dir, names[i]);
                _cleanup_free_ char *text = NULL;
                size_t len;

                if (!path || (r = loader_add_file(&l, path)) < 0) {
                        l.oom = true;
                        break;
                }
                l.file_index = (size_t) r;
                r = file_read(dirfd(d), names[i], &text, &len);
                if (r == -ENOMEM) {
                        l.oom = true;
                        break;
                }
                if (r == -EFBIG)
                        loader_diag(&l, POLICY_ERROR, l.file_index, 0, NO_KEY, "larger than %d bytes: not a policy",
                                    POLICY_FILE_SIZE_MAX);
                else if (r < 0) {
                        errno = -r;
                        loader_diag(&l, POLICY_ERROR, l.file_index, 0, NO_KEY, "cannot read: %m");
                } else if (r > 0)
                        loader_diag(&l, POLICY_WARNING, l.file_index, 0, NO_KEY, "not a regular file: ignored");
                if (r != 0)
                        continue;
                l.text = text;
                l.len = len;
                loader_parse_file(&l);
                l.n_parsed++;
        }

        if (!l.oom && n == 0) {
                r = loader_add_file(&l, dir);
                if (r < 0)
                        l.oom = true;
                else
                        loader_diag(&l, POLICY_WARNING, (size_t) r, 0, NO_KEY,
                                    "no *%s files here: the policy defines no pools", POLICY_SUFFIX);
        }
        return loader_result(&l, ret, diag);
}

static int policy_pool_compare(const void *key, const void *elem) {
        return path_compare(key, ((const PolicyPool *) elem)->path);
}

const PolicyPool *policy_find(const Policy *p, const char *path) {
        if (!p || !path || p->n_pools == 0)
                return NULL;
        return bsearch(path, p->pools, p->n_pools, sizeof(PolicyPool), policy_pool_compare);
}
