/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cgov.h"
#include "parse-util.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define T (UINT64_C(1) << 40)

static uint64_t size_ok(const char *s) {
        uint64_t v = 42;
        int r = parse_size(s, &v);
        cr_assert_eq(r, 0, "parse_size(\"%s\") = %d", s, r);
        return v;
}

static void size_fails(const char *s, int err) {
        uint64_t v = 42;
        int r = parse_size(s, &v);
        cr_expect_eq(r, err, "parse_size(\"%s\") = %d, expected %d", s, r, err);
        cr_expect_eq(v, 42, "parse_size(\"%s\") wrote its result on failure", s);
}

static uint64_t span_ok(const char *s) {
        uint64_t v = 42;
        int r = parse_timespan(s, &v);
        cr_assert_eq(r, 0, "parse_timespan(\"%s\") = %d", s, r);
        return v;
}

static void span_fails(const char *s, int err) {
        uint64_t v = 42;
        int r = parse_timespan(s, &v);
        cr_expect_eq(r, err, "parse_timespan(\"%s\") = %d, expected %d", s, r, err);
        cr_expect_eq(v, 42, "parse_timespan(\"%s\") wrote its result on failure", s);
}

Test(parse_util, sizes_take_1024_based_suffixes) {
        cr_expect_eq(size_ok("0"), 0);
        cr_expect_eq(size_ok("4096"), 4096);
        cr_expect_eq(size_ok("100B"), 100);
        cr_expect_eq(size_ok("1K"), K);
        cr_expect_eq(size_ok("256M"), 256 * M);
        cr_expect_eq(size_ok("10G"), 10 * G);
        cr_expect_eq(size_ok("2T"), 2 * T);
        cr_expect_eq(size_ok("1P"), 1024 * T);
        cr_expect_eq(size_ok("007M"), 7 * M);
}

Test(parse_util, size_fractions_need_a_suffix_and_round_down) {
        cr_expect_eq(size_ok("1.5G"), G + G / 2);
        cr_expect_eq(size_ok("0.25T"), T / 4);
        cr_expect_eq(size_ok("0.1K"), 102); /* 102.4 */
        cr_expect_eq(size_ok("1.999999K"), 2047); /* 2047.998976 */
        size_fails("1.5", -EINVAL);
        size_fails("1.5B", -EINVAL);
        size_fails("1.1234567G", -EINVAL); /* at most 6 decimal places */
        size_fails("1.G", -EINVAL);
        size_fails(".5G", -EINVAL);
}

Test(parse_util, size_infinity) {
        cr_expect_eq(size_ok("infinity"), SIZE_INFINITY);
        size_fails("Infinity", -EINVAL);
        size_fails("inf", -EINVAL);
        size_fails("max", -EINVAL);
}

Test(parse_util, sizes_above_cgov_size_max_or_negative_are_out_of_range) {
        cr_expect_eq(size_ok("1E"), CGOV_SIZE_MAX);
        cr_expect_eq(size_ok("1048576T"), CGOV_SIZE_MAX);
        cr_expect_eq(size_ok("1152921504606846976"), CGOV_SIZE_MAX);
        size_fails("1152921504606846977", -ERANGE);
        size_fails("1.000001E", -ERANGE);
        size_fails("2E", -ERANGE);
        size_fails("16E", -ERANGE); /* 2^64: the multiplication itself overflows */
        size_fails("99999999999999999999", -ERANGE); /* the number itself overflows */
        size_fails("18446744073709551615", -ERANGE);
        size_fails("-1", -ERANGE);
        size_fails("-1G", -ERANGE);
}

Test(parse_util, junk_is_not_a_size) {
        const char *bad[] = { "", " ", "G", "1 G", " 1G", "1G ", "1g", "1k", "1KB", "1KiB", "1GG",
                              "1G512M", "+1G", "0x10", "1e3", "1,5G", "ten", "1Z", "1\n" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                size_fails(bad[i], -EINVAL);
        cr_expect_eq(parse_size(NULL, &(uint64_t) { 0 }), -EINVAL);
}

Test(parse_util, time_spans_take_systemd_units) {
        cr_expect_eq(span_ok("500ms"), 500);
        cr_expect_eq(span_ok("500msec"), 500);
        cr_expect_eq(span_ok("30s"), 30000);
        cr_expect_eq(span_ok("30sec"), 30000);
        cr_expect_eq(span_ok("1second"), 1000);
        cr_expect_eq(span_ok("2seconds"), 2000);
        cr_expect_eq(span_ok("2min"), 120000);
        cr_expect_eq(span_ok("2m"), 120000);
        cr_expect_eq(span_ok("1minute"), 60000);
        cr_expect_eq(span_ok("3minutes"), 180000);
        cr_expect_eq(span_ok("1h"), 3600000);
        cr_expect_eq(span_ok("1hr"), 3600000);
        cr_expect_eq(span_ok("2hours"), 7200000);
        cr_expect_eq(span_ok("1hour"), 3600000);
        cr_expect_eq(span_ok("1d"), 86400000);
        cr_expect_eq(span_ok("2days"), 172800000);
        cr_expect_eq(span_ok("1w"), 604800000);
        cr_expect_eq(span_ok("1weeks"), 604800000);
        cr_expect_eq(span_ok("3000us"), 3);
        cr_expect_eq(span_ok("3000usec"), 3);
        cr_expect_eq(span_ok("3000\xc2\xb5s"), 3);
        cr_expect_eq(span_ok("3000\xce\xbcs"), 3);
}

Test(parse_util, a_bare_number_is_seconds) {
        cr_expect_eq(span_ok("0"), 0);
        cr_expect_eq(span_ok("45"), 45000);
        cr_expect_eq(span_ok("1.5"), 1500);
}

Test(parse_util, time_span_components_add_up) {
        cr_expect_eq(span_ok("1h 30min"), 5400000);
        cr_expect_eq(span_ok("1h30min"), 5400000);
        cr_expect_eq(span_ok("1min30s"), 90000);
        cr_expect_eq(span_ok("55s500ms"), 55500);
        cr_expect_eq(span_ok("300ms20s 5day"), 300 + 20000 + 5 * UINT64_C(86400000));
        cr_expect_eq(span_ok("2 h"), 7200000);
        cr_expect_eq(span_ok("1h\t30min"), 5400000);
        cr_expect_eq(span_ok("1.5h"), 5400000);
        cr_expect_eq(span_ok("0.5s"), 500);
}

Test(parse_util, time_spans_round_up_to_a_millisecond) {
        cr_expect_eq(span_ok("1us"), 1);
        cr_expect_eq(span_ok("999us"), 1);
        cr_expect_eq(span_ok("1000us"), 1);
        cr_expect_eq(span_ok("1001us"), 2);
        cr_expect_eq(span_ok("1s 1us"), 1001);
        cr_expect_eq(span_ok("0.0001s"), 1);
        cr_expect_eq(span_ok("0us"), 0);
}

Test(parse_util, time_span_infinity_and_overflow) {
        cr_expect_eq(span_ok("infinity"), TIMESPAN_INFINITY);
        /* UINT64_MAX microseconds is about 584542 years; a week is 6.048e11 us. */
        cr_expect_eq(span_ok("30500568w"), 30500568 * UINT64_C(604800000));
        span_fails("30500569w", -ERANGE);
        span_fails("18446744073709551615s", -ERANGE);
        span_fails("30500568w 30500568w", -ERANGE);
        span_fails("99999999999999999999", -ERANGE);
        span_fails("-1s", -ERANGE);
        span_fails("1s -1s", -ERANGE);
}

Test(parse_util, junk_is_not_a_time_span) {
        const char *bad[] = { "", " ", "s", "1x", "5M", "1y", "1month", "1 s x", "1secs", "1mins", "1.s",
                              "1..5s", "1.1234567s", "1h,30min", "infinity 1s", "1s infinity", "1H", "1S",
                              "0x10s", "+1s", "1\xc2s" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                span_fails(bad[i], -EINVAL);
}

Test(parse_util, plain_numbers) {
        uint64_t v = 0;
        cr_expect_eq(parse_unsigned("4096", 4096, &v), 0);
        cr_expect_eq(v, 4096);
        cr_expect_eq(parse_unsigned("0", 10, &v), 0);
        cr_expect_eq(v, 0);
        cr_expect_eq(parse_unsigned("4097", 4096, &v), -ERANGE);
        cr_expect_eq(parse_unsigned("-1", 10, &v), -ERANGE);
        cr_expect_eq(parse_unsigned("18446744073709551616", UINT64_MAX, &v), -ERANGE);
        cr_expect_eq(parse_unsigned("1K", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(parse_unsigned("1.0", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(parse_unsigned("", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(parse_unsigned("infinity", UINT64_MAX, &v), -EINVAL);
        cr_expect_eq(v, 0);
}

Test(parse_util, sizes_format_exactly_in_the_largest_unit) {
        char buf[FORMAT_SIZE_MAX];
        cr_expect_str_eq(format_size(buf, 0), "0");
        cr_expect_str_eq(format_size(buf, 1000), "1000");
        cr_expect_str_eq(format_size(buf, K), "1K");
        cr_expect_str_eq(format_size(buf, 10 * G), "10G");
        cr_expect_str_eq(format_size(buf, G + G / 2), "1536M");
        cr_expect_str_eq(format_size(buf, CGOV_SIZE_MAX), "1E");
        cr_expect_str_eq(format_size(buf, SIZE_INFINITY), "infinity");
        cr_expect_str_eq(format_size(buf, UINT64_MAX - 1), "18446744073709551614");
        /* What is printed reads back as the same value. */
        const uint64_t values[] = { 1, 1023, K + 1, 256 * M, 3 * T, 5 * G + 1 };
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
                cr_expect_eq(size_ok(format_size(buf, values[i])), values[i]);
}

Test(parse_util, time_spans_format_as_systemd_shows_them) {
        char buf[FORMAT_TIMESPAN_MAX];
        cr_expect_str_eq(format_timespan(buf, 0), "0");
        cr_expect_str_eq(format_timespan(buf, 500), "500ms");
        cr_expect_str_eq(format_timespan(buf, 30000), "30s");
        cr_expect_str_eq(format_timespan(buf, 5400000), "1h 30min");
        cr_expect_str_eq(format_timespan(buf, 90500), "1min 30s 500ms");
        cr_expect_str_eq(format_timespan(buf, 8 * UINT64_C(86400000)), "1w 1d");
        cr_expect_str_eq(format_timespan(buf, TIMESPAN_INFINITY), "infinity");
        cr_expect_str_eq(format_timespan(buf, UINT64_MAX - 1), "30500568904w 6d 14h 25min 51s 614ms");
        const uint64_t values[] = { 1, 999, 1001, 61000, 3600001, 604800000 * UINT64_C(3) + 7 };
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
                cr_expect_eq(span_ok(format_timespan(buf, values[i])), values[i]);
}

Test(parse_util, booleans_as_systemd_spells_them) {
        static const char *const yes[] = { "1", "yes", "Y", "true", "t", "ON" };
        static const char *const no[] = { "0", "No", "n", "false", "F", "off" };
        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
                cr_expect_eq(parse_boolean(yes[i]), 1, "%s", yes[i]);
                cr_expect_eq(parse_boolean(no[i]), 0, "%s", no[i]);
        }
        cr_expect_eq(parse_boolean(""), -EINVAL);
        cr_expect_eq(parse_boolean("yess"), -EINVAL);
        cr_expect_eq(parse_boolean(" yes"), -EINVAL);
        cr_expect_eq(parse_boolean(NULL), -EINVAL);
}
