#include "util/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void bo_time_format(int64_t ms, char out[BO_TIME_TEXT_SIZE]) {
  time_t seconds = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  strftime(out, BO_TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
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
