/* Each line is formatted into one buffer and written with a single fprintf:
 * stdio locks the stream per call and an unbuffered stderr flushes once per
 * call, so lines from worker threads never interleave. The message is
 * flattened to one line (control characters become '?') because parts of it
 * can come from clients (a method, an error text) and must not be able to
 * forge a second log line. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* Long enough for any line we write; a longer one is cut, not split. */
#define LOG_LINE_MAX 2048

/* "2026-12-24T19:00:00.123Z" */
static void format_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void flatten(char *text) {
  for (unsigned char *p = (unsigned char *)text; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      *p = '?';
}

__attribute__((format(printf, 2, 0))) static void
log_line(const char *level, const char *fmt, va_list ap) {
  char message[LOG_LINE_MAX];
  char ts[32];
  if (vsnprintf(message, sizeof message, fmt, ap) < 0)
    message[0] = '\0';
  flatten(message);
  format_now(ts);
  fprintf(stderr, "ts=%s level=%s %s\n", ts, level, message);
}

void bo_log_info(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_line("info", fmt, ap);
  va_end(ap);
}

void bo_log_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_line("warn", fmt, ap);
  va_end(ap);
}

void bo_log_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_line("error", fmt, ap);
  va_end(ap);
}
