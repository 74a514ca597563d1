#include "util/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

struct civil_time {
  int64_t year;
  int month, day, hour, minute, second;
};

/* UTC date and time of `seconds` since the epoch, by arithmetic alone
 * (Howard Hinnant's days-to-civil, proleptic Gregorian). gmtime_r would
 * do the same, but glibc takes a process-wide lock in it (__tz_convert),
 * and every worker thread then queues on that lock once per queue-status
 * answer and once per log line (docs/benchmarks.md). */
static struct civil_time civil_from_seconds(int64_t seconds) {
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  int64_t in_day = seconds - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097; /* 0..146096 */
  int64_t yoe =
      (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);     /* 0..365 */
  int64_t mp = (5 * doy + 2) / 153;                          /* 0..11 */
  struct civil_time t;
  t.day = (int)(doy - (153 * mp + 2) / 5 + 1);
  t.month = (int)(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  t.hour = (int)(in_day / 3600);
  t.minute = (int)(in_day / 60 % 60);
  t.second = (int)(in_day % 60);
  return t;
}

/* Writes `value` as exactly `width` decimal digits (the low ones). */
static char *put_digits(char *p, int64_t value, int width) {
  for (int i = width - 1; i >= 0; i--) {
    p[i] = (char)('0' + value % 10);
    value /= 10;
  }
  return p + width;
}

/* "YYYY-MM-DDTHH:MM:SS" for 0 <= year <= 9999 (callers keep times within
 * BO_TIME_MAX_SECONDS); returns the end. */
static char *put_date_time(char *p, int64_t seconds) {
  struct civil_time t = civil_from_seconds(seconds);
  p = put_digits(p, t.year, 4);
  *p++ = '-';
  p = put_digits(p, t.month, 2);
  *p++ = '-';
  p = put_digits(p, t.day, 2);
  *p++ = 'T';
  p = put_digits(p, t.hour, 2);
  *p++ = ':';
  p = put_digits(p, t.minute, 2);
  *p++ = ':';
  return put_digits(p, t.second, 2);
}

static int64_t floor_seconds(int64_t ms) {
  return ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
}

void bo_time_format(int64_t ms, char out[BO_TIME_TEXT_SIZE]) {
  char *p = put_date_time(out, floor_seconds(ms));
  *p++ = 'Z';
  *p = '\0';
}

void bo_time_format_ms(int64_t ms, char out[BO_TIME_MS_TEXT_SIZE]) {
  int64_t seconds = floor_seconds(ms);
  char *p = put_date_time(out, seconds);
  *p++ = '.';
  p = put_digits(p, ms - seconds * 1000, 3);
  *p++ = 'Z';
  *p = '\0';
}

/* Reads exactly `width` decimal digits. */
static bool read_digits(const char **p, int width, int *out) {
  int value = 0;
  for (int i = 0; i < width; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  *p += width;
  *out = value;
  return true;
}

static bool expect(const char **p, char c) {
  if (**p != c)
    return false;
  (*p)++;
  return true;
}

static bool is_leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

bool bo_time_parse(const char *text, int64_t *out_ms) {
  if (text == NULL)
    return false;
  const char *p = text;
  int year, month, day, hour, minute, second;
  if (!read_digits(&p, 4, &year) || !expect(&p, '-') ||
      !read_digits(&p, 2, &month) || !expect(&p, '-') ||
      !read_digits(&p, 2, &day))
    return false;
  if (*p != 'T' && *p != 't')
    return false;
  p++;
  if (!read_digits(&p, 2, &hour) || !expect(&p, ':') ||
      !read_digits(&p, 2, &minute) || !expect(&p, ':') ||
      !read_digits(&p, 2, &second))
    return false;
  if (year < 1970 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour > 23 || minute > 59 ||
      second > 60)
    return false;
  int millis = 0;
  if (*p == '.') {
    p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
      if (digits < 3)
        millis = millis * 10 + (*p - '0');
      digits++;
      p++;
    }
    if (digits == 0)
      return false;
    for (; digits < 3; digits++)
      millis *= 10;
  }
  int offset_minutes = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1;
    int off_h, off_m;
    p++;
    if (!read_digits(&p, 2, &off_h) || !expect(&p, ':') ||
        !read_digits(&p, 2, &off_m) || off_h > 23 || off_m > 59)
      return false;
    offset_minutes = sign * (off_h * 60 + off_m);
  } else {
    return false;
  }
  if (*p != '\0')
    return false;
  if (second == 60) /* a leap second reads as the next second */
    second = 59, millis += 1000;
  struct tm tm = {.tm_year = year - 1900,
                  .tm_mon = month - 1,
                  .tm_mday = day,
                  .tm_hour = hour,
                  .tm_min = minute,
                  .tm_sec = second};
  int64_t seconds = (int64_t)timegm(&tm) - (int64_t)offset_minutes * 60;
  /* The year was checked as written; an offset or a leap second can still
   * carry the instant past 9999-12-31T23:59:59Z, which bo_time_format's
   * four-digit years cannot write (found by fuzz_auth). */
  int64_t ms = seconds * 1000 + millis;
  if (seconds < 0 || ms > BO_TIME_MAX_SECONDS * 1000 + 999)
    return false;
  *out_ms = ms;
  return true;
}
