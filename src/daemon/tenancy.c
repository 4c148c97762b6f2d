/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <grp.h>
#include <pwd.h>
#include <search.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "governor.h"
#include "log.h"
#include "macro.h"
#include "names.h"

/* Who may do what (cgov.pool(5), docs/protocol.md):
 *   administer a pool: root; AdminUsers/AdminGroups of it or of an ancestor;
 *   use a pool: its administrators; AllowUsers/AllowGroups of that very pool;
 *     for an instance pool P/alice of P/%u, alice alone;
 *   see a pool: use or administer it. To anyone else it does not exist.
 * Groups are those of the user database (what the job will run with), not
 * the ones the client process happens to hold. */

/* ---- identity ------------------------------------------------------------ */

void identity_done(Identity *id) {
        free(id->name);
        free(id->home);
        free(id->groups);
        *id = (Identity) {};
}

int identity_from_peer(int fd, Identity *ret) {
        _cleanup_(identity_done) Identity id = {};
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *pwp = NULL;
        struct ucred uc;
        long size = sysconf(_SC_GETPW_R_SIZE_MAX);
        int r;

        r = wire_peer_cred(fd, &uc);
        if (r < 0)
                return r;
        id.uid = uc.uid;
        id.gid = uc.gid;
        id.pid = uc.pid;

        size = size > 0 ? size : 4096;
        for (;;) {
                free(buf);
                buf = malloc((size_t) size);
                if (!buf)
                        return -ENOMEM;
                r = getpwuid_r(uc.uid, &pw, buf, (size_t) size, &pwp);
                if (r != ERANGE || size > 1024 * 1024)
                        break;
                size *= 2;
        }
        if (pwp) {
                id.known = true;
                id.gid = pw.pw_gid;
                id.name = strdup(pw.pw_name);
                id.home = strdup(pw.pw_dir && pw.pw_dir[0] == '/' ? pw.pw_dir : "/");
                if (!id.name || !id.home)
                        return -ENOMEM;

                int n = 16;
                for (;;) {
                        gid_t *g = reallocarray(id.groups, (size_t) n, sizeof *g);
                        if (!g)
                                return -ENOMEM;
                        id.groups = g;
                        int want = n;
                        if (getgrouplist(pw.pw_name, pw.pw_gid, id.groups, &want) >= 0) {
                                id.n_groups = (size_t) want;
                                break;
                        }
                        if (want <= n || want > 65536)
                                return -EIO;
                        n = want;
                }
        } else {
                /* A uid without an entry: it is still who the kernel says. */
                if (asprintf(&id.name, "%u", (unsigned) uc.uid) < 0)
                        return (id.name = NULL), -ENOMEM;
                id.home = strdup("/");
                if (!id.home)
                        return -ENOMEM;
        }
        *ret = id;
        id = (Identity) {};
        return 0;
}

static bool identity_in_group(const Identity *who, gid_t gid) {
        if (who->gid == gid)
                return true;
        for (size_t i = 0; i < who->n_groups; i++)
                if (who->groups[i] == gid)
                        return true;
        return false;
}

/* ---- per-user counts ------------------------------------------------------ */

static int user_cmp(const void *a, const void *b) {
        uid_t x = ((const UserCount *) a)->uid, y = ((const UserCount *) b)->uid;
        return x < y ? -1 : x > y;
}

UserCount *user_count(Daemon *d, uid_t uid) {
        UserCount key = { .uid = uid };
        void *found = tfind(&key, &d->users, user_cmp);
        if (found)
                return *(UserCount **) found;

        UserCount *u = calloc(1, sizeof *u);
        if (!u)
                return NULL;
        u->uid = uid;
        if (!tsearch(u, &d->users, user_cmp)) {
                free(u);
                return NULL;
        }
        return u;
}

void user_count_free(void *p) {
        UserCount *u = p;
        free(u->slot_holds);
        free(u);
}

/* ---- the policy's who-may, as ids ------------------------------------------ */

static void acl_done(PoolAcl *a) {
        free(a->allow_uids);
        free(a->admin_uids);
        free(a->allow_gids);
        free(a->admin_gids);
}

/* n_pools: of the policy the array was resolved for (acls_resolve). */
static void acls_free(PoolAcl *acls, size_t n_pools) {
        for (size_t i = 0; acls && i <= n_pools; i++)
                acl_done(&acls[i]);
        free(acls);
}

/* Names the loader already checked; one that vanished since is left out
 * with a warning rather than refusing the whole policy. */
static int resolve_users(char **names, uid_t **ret, size_t *ret_n) {
        size_t n = 0;
        for (char **s = names; *s; s++)
                n++;
        uid_t *v = calloc(MAX(n, 1), sizeof *v);
        if (!v)
                return -ENOMEM;
        n = 0;
        for (char **s = names; *s; s++) {
                struct passwd *pw = getpwnam(*s);
                if (pw)
                        v[n++] = pw->pw_uid;
                else
                        log_warning("User %s of the policy does not exist any more; ignored.", *s);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int resolve_groups(char **names, gid_t **ret, size_t *ret_n) {
        size_t n = 0;
        for (char **s = names; *s; s++)
                n++;
        gid_t *v = calloc(MAX(n, 1), sizeof *v);
        if (!v)
                return -ENOMEM;
        n = 0;
        for (char **s = names; *s; s++) {
                struct group *gr = getgrnam(*s);
                if (gr)
                        v[n++] = gr->gr_gid;
                else
                        log_warning("Group %s of the policy does not exist any more; ignored.", *s);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int id_compare(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

static size_t ids_sort_unique(unsigned *v, size_t n) {
        size_t k = 0;

        qsort(v, n, sizeof *v, id_compare);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || v[k - 1] != v[i])
                        v[k++] = v[i];
        return k;
}

/* Into ret: the administrators of every pool, sorted, each once. */
static int acls_union_admins(const PoolAcl *acls, size_t n_pools, PoolAcl *ret) {
        size_t nu = 0, ng = 0;

        for (size_t i = 0; i < n_pools; i++) {
                nu += acls[i].n_admin_uids;
                ng += acls[i].n_admin_gids;
        }
        ret->admin_uids = calloc(MAX(nu, 1), sizeof(uid_t));
        ret->admin_gids = calloc(MAX(ng, 1), sizeof(gid_t));
        if (!ret->admin_uids || !ret->admin_gids)
                return -ENOMEM;
        nu = ng = 0;
        for (size_t i = 0; i < n_pools; i++) {
                memcpy(ret->admin_uids + nu, acls[i].admin_uids, acls[i].n_admin_uids * sizeof(uid_t));
                memcpy(ret->admin_gids + ng, acls[i].admin_gids, acls[i].n_admin_gids * sizeof(gid_t));
                nu += acls[i].n_admin_uids;
                ng += acls[i].n_admin_gids;
        }
        ret->n_admin_uids = ids_sort_unique(ret->admin_uids, nu);
        ret->n_admin_gids = ids_sort_unique(ret->admin_gids, ng);
        return 0;
}

/* One entry per pool of the policy, and one more after them: every
 * administrator of any pool, so that may_admin() says no at once to the many
 * who administer nothing, rather than climbing the chain of every pool and
 * every job of a listing. */
static int acls_resolve(const Policy *pol, PoolAcl **ret) {
        PoolAcl *acls = calloc(pol->n_pools + 1, sizeof *acls);
        if (!acls)
                return -ENOMEM;
        for (size_t i = 0; i < pol->n_pools; i++) {
                const PolicyPool *pp = &pol->pools[i];
                PoolAcl *a = &acls[i];
                if (resolve_users(pp->allow_users, &a->allow_uids, &a->n_allow_uids) < 0 ||
                    resolve_users(pp->admin_users, &a->admin_uids, &a->n_admin_uids) < 0 ||
                    resolve_groups(pp->allow_groups, &a->allow_gids, &a->n_allow_gids) < 0 ||
                    resolve_groups(pp->admin_groups, &a->admin_gids, &a->n_admin_gids) < 0) {
                        acls_free(acls, pol->n_pools);
                        return -ENOMEM;
                }
        }
        if (acls_union_admins(acls, pol->n_pools, &acls[pol->n_pools]) < 0) {
                acls_free(acls, pol->n_pools);
                return -ENOMEM;
        }
        *ret = acls;
        return 0;
}

/* ---- pools of the policy ----------------------------------------------------- */

/* The policy entry governing path: the explicit pool, or the instance
 * template its last segment would instantiate (*ret_instance). For an
 * instance, whether that segment names a user is instance_names_user()'s to
 * say: see there. */
static const PolicyPool *entry_lookup(const Policy *pol, const char *path, bool *ret_instance) {
        const PolicyPool *pp = policy_find(pol, path);
        *ret_instance = false;
        if (pp)
                /* "shared/%u" itself is a template, never a pool. */
                return pp->instance ? NULL : pp;
        const char *slash = strrchr(path, '/');
        size_t plen = slash ? (size_t) (slash - path) + 1 : 0;
        char tmpl[POOL_PATH_MAX + 4];
        if (plen + sizeof POLICY_INSTANCE_SEGMENT > sizeof tmpl)
                return NULL;
        memcpy(tmpl, path, plen);
        memcpy(tmpl + plen, POLICY_INSTANCE_SEGMENT, sizeof POLICY_INSTANCE_SEGMENT);
        pp = policy_find(pol, tmpl);
        *ret_instance = pp != NULL;
        return pp;
}

/* An instance pool is one only if its last segment names a user, so that a
 * pool dropped from the policy is not mistaken for an instance. Asking the
 * user database costs a parse of /etc/passwd, or a round trip to LDAP or
 * systemd-userdb, so it is asked only where the answer can change the
 * outcome, never once per pool of a listing: callers test the cheap
 * conditions first. The caller's own instance needs no lookup: its
 * Identity was read from the user database when it connected. */
static bool instance_names_user(const char *path, const Identity *who) {
        const char *seg = strrchr(path, '/');

        seg = seg ? seg + 1 : path;
        if (who && who->known && strcmp(seg, who->name) == 0)
                return true;
        return getpwnam(seg) != NULL;
}

/* entry_lookup(), with the user checked: NULL for an instance path that
 * names nobody. */
static const PolicyPool *entry_of(const Policy *pol, const char *path, const Identity *who, bool *ret_instance) {
        bool instance;
        const PolicyPool *pp = entry_lookup(pol, path, &instance);

        if (pp && instance && !instance_names_user(path, who))
                return NULL;
        if (ret_instance)
                *ret_instance = instance;
        return pp;
}

static bool acl_has_uid(const uid_t *v, size_t n, uid_t uid) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == uid)
                        return true;
        return false;
}

static bool acl_has_group(const gid_t *v, size_t n, const Identity *who) {
        for (size_t i = 0; i < n; i++)
                if (identity_in_group(who, v[i]))
                        return true;
        return false;
}

static bool may_admin(Daemon *d, const Identity *who, const char *path) {
        char prefix[POOL_PATH_MAX + 1];

        if (who->uid == 0)
                return true;
        const PoolAcl *any = &d->acls[d->policy->n_pools];
        if (!acl_has_uid(any->admin_uids, any->n_admin_uids, who->uid) &&
            !acl_has_group(any->admin_gids, any->n_admin_gids, who))
                return false;
        snprintf(prefix, sizeof prefix, "%s", path);
        for (;;) {
                bool instance;
                const PolicyPool *pp = entry_lookup(d->policy, prefix, &instance);
                if (pp) {
                        const PoolAcl *a = &d->acls[pp - d->policy->pools];
                        if ((acl_has_uid(a->admin_uids, a->n_admin_uids, who->uid) ||
                             acl_has_group(a->admin_gids, a->n_admin_gids, who)) &&
                            (!instance || instance_names_user(prefix, who)))
                                return true;
                }
                char *slash = strrchr(prefix, '/');
                if (!slash)
                        return false;
                *slash = '\0';
        }
}

static bool may_use(Daemon *d, const Identity *who, const char *path) {
        bool instance;
        const PolicyPool *pp = entry_lookup(d->policy, path, &instance);

        if (!pp)
                return false;
        if (instance) {
                /* Its user alone, who exists: instance_names_user() without
                 * the lookup. */
                const char *seg = strrchr(path, '/');
                return who->known && strcmp(seg ? seg + 1 : path, who->name) == 0;
        }
        const PoolAcl *a = &d->acls[pp - d->policy->pools];
        return acl_has_uid(a->allow_uids, a->n_allow_uids, who->uid) ||
               acl_has_group(a->allow_gids, a->n_allow_gids, who);
}

bool tenancy_may_see(Daemon *d, const Identity *who, const char *path, bool *ret_admin) {
        bool admin = may_admin(d, who, path);
        if (ret_admin)
                *ret_admin = admin;
        return admin || may_use(d, who, path);
}

/* The caller's default pool: its instance of the first template. */
static int default_pool(Daemon *d, const Identity *who, char *buf, size_t size) {
        if (!who->known || !pool_segment_is_valid(who->name, strlen(who->name)))
                return -ENOENT;
        for (size_t i = 0; i < d->policy->n_pools; i++) {
                const PolicyPool *pp = &d->policy->pools[i];
                if (!pp->instance)
                        continue;
                size_t plen = strlen(pp->path) - strlen(POLICY_INSTANCE_SEGMENT);
                if ((size_t) snprintf(buf, size, "%.*s%s", (int) plen, pp->path, who->name) >= size)
                        return -ENOENT;
                /* An explicit pool of that name is not the user's. */
                return policy_find(d->policy, buf) ? -ENOENT : 0;
        }
        return -ENOENT;
}

int tenancy_pool(Daemon *d, const Identity *who, const char *path, bool for_use, cgov_pool **ret,
                 bool *ret_admin) {
        char def[POOL_PATH_MAX + 1];
        bool instance = false, admin;
        const PolicyPool *pp;
        int r;

        if (!path) {
                r = default_pool(d, who, def, sizeof def);
                if (r < 0)
                        return r;
                path = def;
        }
        if (!pool_path_is_valid(path, NULL))
                return -ENOENT;
        pp = entry_of(d->policy, path, who, &instance);
        if (!pp || !tenancy_may_see(d, who, path, &admin))
                return -ENOENT;
        if (for_use && !admin && !may_use(d, who, path))
                return -EPERM;

        r = cgov_pool_find(d->gov, path, ret);
        if (r == -ENOENT && instance && may_use(d, who, path)) {
                /* The first use of an instance pool by its user makes it. */
                r = cgov_pool_create(d->gov, path, &pp->lim, ret);
                if (r >= 0)
                        log_info("Made instance pool %s for user %s.", path, who->name);
                else if (r == -EEXIST)
                        r = cgov_pool_find(d->gov, path, ret);
        }
        if (r < 0)
                return r;
        if (ret_admin)
                *ret_admin = admin;
        return 0;
}

/* The policy entries of path and its ancestors, nearest first, each with
 * whether it applies (an instance entry only for a path that names a user). */
static size_t chain_entries(Daemon *d, const char *path, const PolicyPool *ret[static POOL_MAX_DEPTH]) {
        char prefix[POOL_PATH_MAX + 1];
        size_t n = 0;

        snprintf(prefix, sizeof prefix, "%s", path);
        for (;;) {
                bool instance;
                const PolicyPool *pp = entry_lookup(d->policy, prefix, &instance);
                if (pp && (!instance || instance_names_user(prefix, NULL)) && n < POOL_MAX_DEPTH)
                        ret[n++] = pp;
                char *slash = strrchr(prefix, '/');
                if (!slash)
                        return n;
                *slash = '\0';
        }
}

void tenancy_job_policy(Daemon *d, const char *path, JobPolicy *ret) {
        const PolicyPool *chain[POOL_MAX_DEPTH];
        size_t n = chain_entries(d, path, chain);
        bool tasks = false, start = false, nnp = false;

        *ret = (JobPolicy) {
                .tasks_max = JOB_TASKS_MAX_DEFAULT,
                .start_timeout_ms = JOB_START_TIMEOUT_MS_DEFAULT,
                .no_new_privileges = true,
        };
        /* Each key from the nearest pool that sets it. */
        for (size_t i = 0; i < n; i++) {
                const PolicyPool *pp = chain[i];
                if (!ret->memory_max && pp->job_memory_max > 0) {
                        ret->memory_max = pp->job_memory_max;
                        ret->memory_max_pool = pp->path;
                }
                if (!ret->timeout_ms && pp->job_timeout_ms > 0)
                        ret->timeout_ms = pp->job_timeout_ms;
                if (!tasks && pp->job_tasks_max != POLICY_UNSET) {
                        ret->tasks_max = (uint32_t) pp->job_tasks_max;
                        tasks = true;
                }
                if (!start && pp->job_start_timeout_ms != POLICY_UNSET) {
                        ret->start_timeout_ms = (uint64_t) pp->job_start_timeout_ms;
                        start = true;
                }
                if (!nnp && pp->no_new_privileges != POLICY_UNSET) {
                        ret->no_new_privileges = pp->no_new_privileges;
                        nnp = true;
                }
        }
}

uint64_t tenancy_slots_per_user(Daemon *d, const char *path, const char **ret_pool) {
        const PolicyPool *chain[POOL_MAX_DEPTH];
        size_t n = chain_entries(d, path, chain);

        for (size_t i = 0; i < n; i++)
                if (chain[i]->max_slots_per_user != POLICY_UNSET) {
                        *ret_pool = chain[i]->path;
                        return (uint64_t) chain[i]->max_slots_per_user;
                }
        *ret_pool = NULL; /* the daemon's default, over all pools */
        return SLOTS_PER_USER_DEFAULT;
}

/* ---- loading and applying ---------------------------------------------------- */

static bool limits_equal(const struct cgov_pool_limits *a, const struct cgov_pool_limits *b) {
        return memcmp(a, b, sizeof *a) == 0;
}

/* One pool of the governor brought in line with its policy entry. */
static int apply_pool(Daemon *d, const char *path, const PolicyPool *pp) {
        cgov_pool *p;
        int r;

        r = cgov_pool_find(d->gov, path, &p);
        if (r == -ENOENT) {
                r = cgov_pool_create(d->gov, path, &pp->lim, &p);
                if (r < 0)
                        return log_error_errno(r, "Failed to create pool %s: %m", path);
                log_info("Created pool %s.", path);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to find pool %s: %m", path);
        /* Re-adopted pools come back with the limits recorded in the tree. */
        struct cgov_pool_limits now;
        pool_limits(p, &now);
        if (limits_equal(&now, &pp->lim))
                return 0;
        r = cgov_pool_set_limits(p, &pp->lim);
        if (r < 0)
                return log_error_errno(r, "Failed to change the limits of pool %s: %m", path);
        log_info("Changed the limits of pool %s.", path);
        return 0;
}

static int policy_apply(Daemon *d, const Policy *pol) {
        _cleanup_free_ cgov_pool **pools = NULL;
        size_t n = 0;
        int r, ret = 0;

        /* Parents come first in the policy's order. */
        for (size_t i = 0; i < pol->n_pools; i++)
                if (!pol->pools[i].instance) {
                        r = apply_pool(d, pol->pools[i].path, &pol->pools[i]);
                        if (r < 0 && ret == 0)
                                ret = r;
                }

        /* What the governor has beyond that: instances (their template's
         * limits apply), or pools the policy dropped (released: they take
         * nothing new, their running jobs go on, and they vanish once empty). */
        r = governor_pools(d->gov, &pools, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const char *path = cgov_pool_path(pools[i]);
                bool instance = false;
                const PolicyPool *pp = entry_of(pol, path, NULL, &instance);
                if (pp && instance) {
                        r = apply_pool(d, path, pp);
                        if (r < 0 && ret == 0)
                                ret = r;
                } else if (!pp) {
                        r = cgov_pool_release(pools[i]);
                        if (r < 0)
                                log_warning_errno(r, "Failed to release pool %s: %m", path);
                        else
                                log_info("Released pool %s: the policy no longer has it.", path);
                }
        }
        return ret;
}

static void log_diagnostics(const PolicyDiagnostics *diag) {
        for (size_t i = 0; i < diag->n_items; i++) {
                const PolicyDiagnostic *x = &diag->items[i];
                char where[64] = "";
                if (x->line > 0)
                        snprintf(where, sizeof where, ":%u", x->line);
                log_full(x->severity == POLICY_ERROR ? LOG_ERR : LOG_WARNING, 0, NULL, "%s%s: %s%s%s%s", x->file,
                         where, x->key ? x->key : "", x->key ? "=: " : "", x->message,
                         x->severity == POLICY_ERROR ? "" : " (warning)");
        }
}

int tenancy_load(Daemon *d, PolicyDiagnostics *ret_diag) {
        _cleanup_(policy_freep) Policy *pol = NULL;
        PolicyDiagnostics diag = {};
        PoolAcl *acls = NULL;
        int r;

        r = policy_load_dir(d->policy_dir, 0, &pol, &diag);
        log_diagnostics(&diag);
        if (r == -EBADMSG)
                log_error("The policy in %s has %zu error(s): %s.", d->policy_dir, diag.n_errors,
                          d->policy ? "keeping the current one" : "not starting");
        else if (r < 0)
                log_error_errno(r, "Failed to read the policy directory %s: %m", d->policy_dir);
        if (ret_diag)
                *ret_diag = diag;
        else
                policy_diagnostics_done(&diag);
        if (r < 0)
                return r;

        r = acls_resolve(pol, &acls);
        if (r < 0)
                return log_error_errno(r, "Failed to resolve the policy's users and groups: %m");

        /* The new who-may takes effect with the new pools. */
        Policy *old = d->policy;
        PoolAcl *old_acls = d->acls;
        d->policy = TAKE_PTR(pol);
        d->acls = acls;
        if (old)
                acls_free(old_acls, old->n_pools);
        policy_free(old);
        log_info("Loaded the policy of %s: %zu pool(s) from %zu file(s).", d->policy_dir, d->policy->n_pools,
                 d->policy->n_files);
        /* Before the governor opens, the policy is only checked. */
        return d->gov ? tenancy_apply(d) : 0;
}

int tenancy_apply(Daemon *d) {
        return policy_apply(d, d->policy);
}

void tenancy_done(Daemon *d) {
        if (d->policy)
                acls_free(d->acls, d->policy->n_pools);
        d->acls = NULL;
        d->policy = policy_free(d->policy);
        tdestroy(d->users, user_count_free);
        d->users = NULL;
}
