/* Time formatting by arithmetic (util/time.c) against the C library's
 * gmtime_r + strftime, over the whole range the API can carry. */
#include "util/time.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void expected_text(int64_t seconds, char out[BO_TIME_TEXT_SIZE]) {
  time_t t = (time_t)seconds;
  struct tm tm;
  cr_assert_not_null(gmtime_r(&t, &tm));
  strftime(out, BO_TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void check(int64_t seconds, int ms_part) {
  char want[BO_TIME_TEXT_SIZE], got[BO_TIME_TEXT_SIZE];
  expected_text(seconds, want);
  bo_time_format(seconds * 1000 + ms_part, got);
  cr_assert_str_eq(got, want, "second %lld", (long long)seconds);

  char want_ms[BO_TIME_MS_TEXT_SIZE], got_ms[BO_TIME_MS_TEXT_SIZE];
  snprintf(want_ms, sizeof want_ms, "%.19s.%03dZ", want, ms_part);
  bo_time_format_ms(seconds * 1000 + ms_part, got_ms);
  cr_assert_str_eq(got_ms, want_ms, "ms %lld", (long long)seconds);
}

Test(time_format, calendar_edges) {
  const int64_t edges[] = {
      0,                   /* 1970-01-01T00:00:00Z */
      68255999,            /* 1972-02-28T23:59:59Z, before a leap day */
      68256000,            /* 1972-02-29 */
      951782400,           /* 2000-02-29: a leap century */
      951868800,           /* 2000-03-01 */
      4107542400,          /* 2100-03-01: 2100 is not a leap year */
      4107456000,          /* 2100-02-28 */
      1798761599,          /* 2026-12-31T23:59:59Z */
      1798761600,          /* 2027-01-01 */
      BO_TIME_MAX_SECONDS, /* 9999-12-31T23:59:59Z */
  };
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    check(edges[i], (int)(i * 111 % 1000));
}

Test(time_format, matches_gmtime_across_the_range) {
  /* A fixed-seed walk over 1970..9999 with uneven steps, so every month,
   * day and time of day comes up many times. */
  uint64_t x = 0x2545F4914F6CDD1DULL;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    check((int64_t)(x % (uint64_t)(BO_TIME_MAX_SECONDS + 1)), (int)(x % 1000));
  }
}

Test(time_format, truncates_toward_the_past) {
  char out[BO_TIME_TEXT_SIZE];
  bo_time_format(1999, out);
  cr_assert_str_eq(out, "1970-01-01T00:00:01Z");
}
