/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the two halves of the loader: policy-parse.c reads one file's
 * lines and keys into LoadedPools; policy.c finds the files, checks the pools
 * against each other and builds the Policy. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

typedef enum PolicyKey {
        KEY_MEMORY_MAX,
        KEY_MAX_JOBS,
        KEY_TASKS_MAX,
        KEY_JOB_MEMORY_DEFAULT,
        KEY_JOB_MEMORY_MAX,
        KEY_JOB_TIMEOUT_SEC,
        KEY_QUEUE_MAX,
        KEY_QUEUE_TIMEOUT_SEC,
        KEY_ALLOW_USERS,
        KEY_ALLOW_GROUPS,
        KEY_ADMIN_USERS,
        KEY_ADMIN_GROUPS,
        KEY_JOB_TASKS_MAX,
        KEY_JOB_START_TIMEOUT_SEC,
        KEY_MAX_SLOTS_PER_USER,
        KEY_NO_NEW_PRIVILEGES,
        _KEY_MAX,
} PolicyKey;

const char *policy_key_to_string(PolicyKey k);

/* A pool while loading: what the Policy gets, plus where each key was last
 * set, for diagnostics that compare keys once all files are read. */
typedef struct LoadedPool {
        PolicyPool pool;
        size_t file_index;
        size_t seq;                 /* load order: ties between duplicates */
        unsigned key_line[_KEY_MAX]; /* 0: not set (or reset by an empty assignment) */
        bool dropped;               /* a duplicate: reported, left out */
} LoadedPool;

typedef struct DiagKey {
        size_t file_index;
        size_t seq;
} DiagKey;

typedef struct Loader {
        unsigned flags;
        bool oom; /* sticky: the load ends with -ENOMEM */

        char **files; /* names as diagnostics show them, by index */
        size_t n_files;
        size_t n_parsed; /* .pool files parsed (files[] may also hold the directory) */

        LoadedPool *pools;
        size_t n_pools;

        PolicyDiagnostics diag;
        DiagKey *diag_keys; /* parallel to diag.items, for sorting */

        /* the file being parsed */
        size_t file_index;
        const char *text;
        size_t len, pos;
        unsigned lineno;
        size_t section;    /* index in pools; SIZE_MAX: none */
        bool section_bad;  /* the header was refused: its keys are skipped */
} Loader;

/* key: the key the diagnostic is about ("MemoryMax", or an unknown one as
 * written), or NO_KEY for a section or a whole file. */
void loader_diag(Loader *l, PolicySeverity sev, size_t file_index, unsigned line, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define NO_KEY NULL

/* "…" around a value quoted in a message, with control characters escaped
 * and long values cut, so a diagnostic never garbles the terminal. */
#define QUOTE_MAX 80
const char *quote(char buf[static QUOTE_MAX], const char *s);

/* Parses l->text as file l->file_index into l->pools and diagnostics. */
void loader_parse_file(Loader *l);

#include "strv.h"
