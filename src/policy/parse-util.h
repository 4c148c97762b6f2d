/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The values of policy files, read and written back the way systemd's unit
 * files spell them, so an administrator who knows MemoryMax=10G and
 * TimeoutSec=1h 30min already knows cgov's syntax.
 *
 * All parsers take the whole string (no leading or trailing blanks: the INI
 * layer has trimmed them), return 0, -EINVAL for text that is not a value of
 * the kind, or -ERANGE for a value of the kind that is too large or negative,
 * and write *ret only on success. */

#include <stddef.h>
#include <stdint.h>

/* "infinity" as parse_size and parse_timespan return it. Callers map it to
 * their own "no limit" (0 in struct cgov_pool_limits). */
#define SIZE_INFINITY UINT64_MAX
#define TIMESPAN_INFINITY UINT64_MAX

/* Bytes: a decimal number with an optional 1024-based suffix B, K, M, G, T,
 * P or E ("10G", "512M", "1.5G"; a fraction only with a suffix other than B,
 * at most 6 decimal places, rounded down to a whole byte), or "infinity".
 * Above CGOV_SIZE_MAX (1E) is -ERANGE, as is a minus sign. */
int parse_size(const char *s, uint64_t *ret);

/* Milliseconds: a systemd time span ("500ms", "30s", "2min", "1h 30min",
 * "1min30s", "1.5h"): numbers each followed by an optional unit, summed; a
 * number without a unit is seconds. Units: us/usec/µs, ms/msec,
 * s/sec/second/seconds, m/min/minute/minutes, h/hr/hour/hours,
 * d/day/days, w/week/weeks. Rounded up to a whole millisecond, so a non-zero
 * span never becomes 0. "infinity" gives TIMESPAN_INFINITY. */
int parse_timespan(const char *s, uint64_t *ret_ms);

/* A boolean as systemd spells it: 1/yes/y/true/t/on, 0/no/n/false/f/off
 * (case-insensitive). 1 or 0, or -EINVAL. */
int parse_boolean(const char *s);

/* A plain decimal number from 0 to max ("4096"); no sign, no suffix. */
int parse_unsigned(const char *s, uint64_t max, uint64_t *ret);

/* The inverse of parse_size, exact: the largest unit that divides the value
 * ("10G", "1536M", "1000"), or "infinity". Returns buf. */
#define FORMAT_SIZE_MAX 24
char *format_size(char buf[static FORMAT_SIZE_MAX], uint64_t bytes);

/* The inverse of parse_timespan, exact, as systemd displays spans:
 * "1h 30min", "30s", "1s 500ms", "infinity". Returns buf. */
#define FORMAT_TIMESPAN_MAX 64
char *format_timespan(char buf[static FORMAT_TIMESPAN_MAX], uint64_t ms);
