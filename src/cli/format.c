/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "format.h"
#include "macro.h"

/* bytes with `decimals` digits after the point, truncated. The digits are
 * made one at a time from the remainder, which stays below the unit
 * (at most 2^60), so rem * 10 never overflows: no floating point, which
 * would round 1023.99K up to "1024.0K". */
static char *format_bytes_decimals(char buf[static FORMAT_BYTES_MAX], uint64_t bytes, unsigned decimals) {
        static const char units[] = "KMGTPE";
        size_t len;
        unsigned u = 0;

        if (bytes < 1024) {
                snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 "B", bytes);
                return buf;
        }
        while (u + 1 < strlen(units) && bytes >> (10 * (u + 2)) > 0)
                u++;
        unsigned shift = 10 * (u + 1);
        uint64_t unit = UINT64_C(1) << shift, rem = bytes & (unit - 1);

        len = (size_t) snprintf(buf, FORMAT_BYTES_MAX, "%" PRIu64 ".", bytes >> shift);
        for (unsigned i = 0; i < decimals && len + 2 < FORMAT_BYTES_MAX; i++) {
                rem *= 10;
                buf[len++] = (char) ('0' + rem / unit);
                rem %= unit;
        }
        buf[len++] = units[u];
        buf[len] = '\0';
        return buf;
}

char *format_bytes(char buf[static FORMAT_BYTES_MAX], uint64_t bytes) {
        return format_bytes_decimals(buf, bytes, 1);
}

/* A request and what was available, each as short as it can be while the
 * two still read as different: "requested 4.0G, available 4.0G" would
 * make the refusal look absurd when 4.03G did not fit into 4.02G. */
static void format_bytes_pair(char a[static FORMAT_BYTES_MAX], uint64_t x, char b[static FORMAT_BYTES_MAX],
                              uint64_t y) {
        for (unsigned decimals = 1; decimals <= 3; decimals++) {
                format_bytes_decimals(a, x, decimals);
                format_bytes_decimals(b, y, decimals);
                if (x == y || strcmp(a, b) != 0)
                        return;
        }
        snprintf(a, FORMAT_BYTES_MAX, "%" PRIu64 "B", x);
        snprintf(b, FORMAT_BYTES_MAX, "%" PRIu64 "B", y);
}

static void memory_figures(char *buf, size_t size, const struct cgov_result *res) {
        char requested[FORMAT_BYTES_MAX], available[FORMAT_BYTES_MAX], limit[FORMAT_BYTES_MAX];

        format_bytes_pair(requested, res->requested, available, res->available);
        snprintf(buf, size, "requested %s, available %s of %s", requested, available, format_bytes(limit, res->limit));
}

static void slot_figures(char *buf, size_t size, const struct cgov_result *res) {
        snprintf(buf, size, "requested %" PRIu64 ", available %" PRIu64 " of %" PRIu64, res->requested, res->available,
                 res->limit);
}

/* A waiter that timed out carries the figures of the last refusal it met,
 * which may be of memory or of job slots, and the result does not say
 * which. A job always asks for exactly one slot, and job slots are 32-bit;
 * a reservation of one byte is no real job's. */
static bool figures_are_slots(const struct cgov_result *res) {
        return res->requested == 1 && res->limit <= UINT32_MAX;
}

char *format_rejection(char *buf, size_t size, const struct cgov_result *res) {
        char figures[128];

        switch (res->rejection) {
        case CGOV_E_INSUFFICIENT_MEMORY:
                memory_figures(figures, sizeof figures, res);
                snprintf(buf, size, "insufficient memory (%s)", figures);
                break;
        case CGOV_E_NO_WORKERS:
                slot_figures(figures, sizeof figures, res);
                snprintf(buf, size, "no free job slot (%s)", figures);
                break;
        case CGOV_E_OVERLOADED:
                if (res->limit > 0)
                        snprintf(buf, size, "its queue is full (%" PRIu64 " waiting)", res->limit);
                else
                        snprintf(buf, size, "its queue is full");
                break;
        case CGOV_E_TIMEOUT:
                if (res->requested == 0 && res->limit == 0) {
                        snprintf(buf, size, "no room within the queue timeout");
                        break;
                }
                if (figures_are_slots(res)) {
                        slot_figures(figures, sizeof figures, res);
                        snprintf(buf, size, "no room within the queue timeout (job slots: %s)", figures);
                } else {
                        memory_figures(figures, sizeof figures, res);
                        snprintf(buf, size, "no room within the queue timeout (memory: %s)", figures);
                }
                break;
        case CGOV_E_POOL_GONE:
                snprintf(buf, size, "the pool was released");
                break;
        default:
                snprintf(buf, size, "%s", cgov_strerror(res->rejection));
                break;
        }
        return buf;
}

void table_print(FILE *f, const char *const *cells, size_t n_rows, size_t n_columns) {
        _cleanup_free_ size_t *width = calloc(MAX(n_columns, 1), sizeof *width);

        if (!width)
                return;
        for (size_t r = 0; r < n_rows; r++)
                for (size_t c = 0; c < n_columns; c++)
                        width[c] = MAX(width[c], strlen(cells[r * n_columns + c] ?: "-"));
        for (size_t r = 0; r < n_rows; r++) {
                for (size_t c = 0; c < n_columns; c++) {
                        const char *s = cells[r * n_columns + c] ?: "-";
                        if (c + 1 < n_columns)
                                fprintf(f, "%-*s  ", (int) width[c], s);
                        else
                                fputs(s, f);
                }
                fputc('\n', f);
        }
}
