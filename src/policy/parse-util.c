/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Sizes and time spans as systemd's unit files spell them (systemd.time(7),
 * systemd.resource-control(5)), written from their documented behaviour.
 *
 * Where we differ from systemd, it is to be stricter, because a policy file
 * grants resources to tenants and a value that means something other than
 * what its author thought is worse than a refused one:
 *  - sizes are one number and one suffix: no "1G 512M" sums, no blank
 *    between number and suffix, no lowercase suffixes;
 *  - fractions have at most 6 decimal places, so all arithmetic stays exact
 *    in 64 bits (no floating point, no __int128 on 32-bit hosts);
 *  - time spans know no months ("M") or years: a 5M job timeout is far more
 *    likely a typo for 5m than a wish to run for five months. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cgov.h"
#include "macro.h"
#include "parse-util.h"

#define FRACTION_DIGITS_MAX 6

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* A unit name must not run into more letters ("5secs" is not 5 sec + "s"):
 * ASCII letters and any byte of a multibyte UTF-8 character count. */
static bool is_word_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (unsigned char) c >= 0x80;
}

/* "123" or "123.456" at *p, advancing *p past it. The fraction comes back as
 * an integer numerator over 10^digits. */
typedef struct Decimal {
        uint64_t whole;
        uint64_t frac;
        uint64_t frac_scale; /* 10^digits; 1 when there is no fraction */
} Decimal;

static int decimal_parse(const char **p, Decimal *ret) {
        const char *s = *p;
        Decimal d = { .frac_scale = 1 };

        if (*s == '-')
                return -ERANGE;
        if (!is_digit(*s))
                return -EINVAL;
        for (; is_digit(*s); s++) {
                unsigned digit = (unsigned) (*s - '0');
                if (d.whole > (UINT64_MAX - digit) / 10)
                        return -ERANGE;
                d.whole = d.whole * 10 + digit;
        }
        if (*s == '.') {
                s++;
                if (!is_digit(*s))
                        return -EINVAL;
                for (unsigned n = 0; is_digit(*s); s++, n++) {
                        if (n >= FRACTION_DIGITS_MAX)
                                return -EINVAL;
                        d.frac = d.frac * 10 + (uint64_t) (*s - '0');
                        d.frac_scale *= 10;
                }
        }
        *p = s;
        *ret = d;
        return 0;
}

/* floor(d * mult), or -ERANGE past UINT64_MAX. The fractional part is exact:
 * with mult = q * scale + r, frac * mult / scale = frac * q + frac * r / scale,
 * where frac * q < mult and frac * r < scale^2 <= 10^12 both fit. */
static int decimal_scale(const Decimal *d, uint64_t mult, uint64_t *ret) {
        uint64_t q = mult / d->frac_scale, r = mult % d->frac_scale;
        uint64_t part = d->frac * q + d->frac * r / d->frac_scale;

        if (mult != 0 && d->whole > UINT64_MAX / mult)
                return -ERANGE;
        uint64_t v = d->whole * mult;
        if (v > UINT64_MAX - part)
                return -ERANGE;
        *ret = v + part;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

int parse_unsigned(const char *s, uint64_t max, uint64_t *ret) {
        Decimal d;
        int r;

        if (!s)
                return -EINVAL;
        r = decimal_parse(&s, &d);
        if (r < 0)
                return r;
        if (*s != '\0' || d.frac_scale != 1)
                return -EINVAL;
        if (d.whole > max)
                return -ERANGE;
        *ret = d.whole;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGTPE";
        uint64_t mult = 1, v;
        Decimal d;
        int r;

        if (!s)
                return -EINVAL;
        if (strcmp(s, "infinity") == 0) {
                *ret = SIZE_INFINITY;
                return 0;
        }
        r = decimal_parse(&s, &d);
        if (r < 0)
                return r;
        if (*s != '\0') {
                const char *u = strchr(suffixes, *s);
                if (*s == 'B')
                        mult = 1;
                else if (u)
                        mult = UINT64_C(1) << (10 * (u - suffixes + 1));
                else
                        return -EINVAL;
                if (s[1] != '\0')
                        return -EINVAL;
        }
        /* "1.5" bytes: a fraction of a byte is a mistake, not a size. */
        if (d.frac_scale != 1 && mult == 1)
                return -EINVAL;
        r = decimal_scale(&d, mult, &v);
        if (r < 0)
                return r;
        if (v > CGOV_SIZE_MAX)
                return -ERANGE;
        *ret = v;
        return 0;
}

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC (UINT64_C(1000) * USEC_PER_MSEC)
#define USEC_PER_MIN (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MIN)
#define USEC_PER_DAY (UINT64_C(24) * USEC_PER_HOUR)
#define USEC_PER_WEEK (UINT64_C(7) * USEC_PER_DAY)

typedef struct TimeUnit {
        const char *name;
        uint64_t usec;
} TimeUnit;

/* Matched longest first, so "ms" is not "m" + "s" and "min" not "m" + "in". */
static const TimeUnit time_units[] = {
        { "seconds", USEC_PER_SEC },
        { "minutes", USEC_PER_MIN },
        { "minute", USEC_PER_MIN },
        { "second", USEC_PER_SEC },
        { "hours", USEC_PER_HOUR },
        { "weeks", USEC_PER_WEEK },
        { "hour", USEC_PER_HOUR },
        { "usec", 1 },
        { "msec", USEC_PER_MSEC },
        { "days", USEC_PER_DAY },
        { "week", USEC_PER_WEEK },
        { "\xc2\xb5s", 1 }, /* µs, MICRO SIGN */
        { "\xce\xbcs", 1 }, /* μs, GREEK SMALL LETTER MU */
        { "sec", USEC_PER_SEC },
        { "min", USEC_PER_MIN },
        { "day", USEC_PER_DAY },
        { "us", 1 },
        { "ms", USEC_PER_MSEC },
        { "hr", USEC_PER_HOUR },
        { "s", USEC_PER_SEC },
        { "m", USEC_PER_MIN },
        { "h", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
        { "w", USEC_PER_WEEK },
};

/* The unit at *p, advancing past it; seconds when there is none. */
static int time_unit_parse(const char **p, uint64_t *ret_usec) {
        const char *s = *p;

        for (size_t i = 0; i < ELEMENTSOF(time_units); i++) {
                size_t len = strlen(time_units[i].name);
                if (strncmp(s, time_units[i].name, len) == 0 && !is_word_char(s[len])) {
                        *p = s + len;
                        *ret_usec = time_units[i].usec;
                        return 0;
                }
        }
        if (is_word_char(*s))
                return -EINVAL;
        *ret_usec = USEC_PER_SEC;
        return 0;
}

int parse_timespan(const char *s, uint64_t *ret_ms) {
        uint64_t total = 0;
        bool any = false;
        int r;

        if (!s)
                return -EINVAL;
        if (strcmp(s, "infinity") == 0) {
                *ret_ms = TIMESPAN_INFINITY;
                return 0;
        }
        /* Internally in microseconds, the finest unit accepted, so that
         * "1s 500us" adds up exactly before the single rounding at the end. */
        for (;;) {
                uint64_t unit, v;
                Decimal d;

                while (is_blank(*s))
                        s++;
                if (*s == '\0')
                        break;
                r = decimal_parse(&s, &d);
                if (r < 0)
                        return r;
                while (is_blank(*s))
                        s++;
                r = time_unit_parse(&s, &unit);
                if (r < 0)
                        return r;
                r = decimal_scale(&d, unit, &v);
                if (r < 0)
                        return r;
                if (total > UINT64_MAX - v)
                        return -ERANGE;
                total += v;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret_ms = total / USEC_PER_MSEC + (total % USEC_PER_MSEC != 0);
        return 0;
}

char *format_size(char buf[static FORMAT_SIZE_MAX], uint64_t bytes) {
        static const char suffixes[] = "EPTGMK";

        if (bytes == SIZE_INFINITY) {
                snprintf(buf, FORMAT_SIZE_MAX, "infinity");
                return buf;
        }
        for (size_t i = 0; bytes != 0 && i < strlen(suffixes); i++) {
                unsigned shift = 10 * (unsigned) (strlen(suffixes) - i);
                if ((bytes & ((UINT64_C(1) << shift) - 1)) == 0) {
                        snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "%c", bytes >> shift, suffixes[i]);
                        return buf;
                }
        }
        snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64, bytes);
        return buf;
}

char *format_timespan(char buf[static FORMAT_TIMESPAN_MAX], uint64_t ms) {
        static const struct {
                const char *name;
                uint64_t ms;
        } units[] = {
                { "w", USEC_PER_WEEK / USEC_PER_MSEC },
                { "d", USEC_PER_DAY / USEC_PER_MSEC },
                { "h", USEC_PER_HOUR / USEC_PER_MSEC },
                { "min", USEC_PER_MIN / USEC_PER_MSEC },
                { "s", USEC_PER_SEC / USEC_PER_MSEC },
                { "ms", 1 },
        };
        size_t len = 0;

        if (ms == TIMESPAN_INFINITY || ms == 0) {
                snprintf(buf, FORMAT_TIMESPAN_MAX, ms == 0 ? "0" : "infinity");
                return buf;
        }
        buf[0] = '\0';
        /* At most 6 parts of at most 17 digits plus unit: always fits. */
        for (size_t i = 0; i < ELEMENTSOF(units) && ms > 0; i++) {
                uint64_t n = ms / units[i].ms;
                if (n == 0)
                        continue;
                ms %= units[i].ms;
                int k = snprintf(buf + len, FORMAT_TIMESPAN_MAX - len, "%s%" PRIu64 "%s", len ? " " : "", n,
                                 units[i].name);
                if (k < 0 || (size_t) k >= FORMAT_TIMESPAN_MAX - len)
                        break;
                len += (size_t) k;
        }
        return buf;
}
