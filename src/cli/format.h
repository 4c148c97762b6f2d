/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* How the commands that talk to cgovd show figures to a person: sizes that
 * are read at a glance ("6.0G", not 6442450944 or parse-util's exact
 * "6G"), the words of a refusal, and aligned tables. Pure functions, so
 * that tests pin the wording down. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cgov.h"

/* Bytes for reading, 1024-based like the sizes policies and --memory take:
 * below 1K in bytes ("100B"), else with one decimal and the largest unit
 * that leaves at least 1 ("1.0K", "800.0M", "6.0G", up to "E"). Rounded
 * down, so that a figure shown as available is never more than there is.
 * Returns buf. */
#define FORMAT_BYTES_MAX 24
char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes);

/* Why a pool refused a job, from a REJECTED result's rejection and figures:
 * "insufficient memory (requested 6.0G, available 4.0G of 10.0G)". Without
 * the pool: the caller says "refused by pool P: " before it. A rejection
 * that is not a decision gets its errno's words. Returns buf. */
char *format_rejection(char *buf, size_t size, const struct cgov_result *res);

/* Prints rows of cells in columns two blanks apart, each as wide as its
 * widest cell; the last column is not padded. cells[row * n_columns + column];
 * NULL prints as "-". */
void table_print(FILE *f, const char *const *cells, size_t n_rows, size_t n_columns);
