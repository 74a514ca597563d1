/* Each line is formatted into one buffer and handed to the kernel with a
 * single write(2): lines from worker threads never interleave (one write
 * of a line to a pipe is atomic up to PIPE_BUF, and to a file Linux keeps
 * the offset under a lock), and no stdio lock is shared by the workers.
 * One request is one line, so this is on the hot path: the time is
 * formatted by arithmetic (util/time.c says why not gmtime_r). The message
 * is flattened to one line (control characters become '?') because parts
 * of it can come from clients (a method, an error text) and must not be
 * able to forge a second log line. */
#include "util/log.h"

#include "util/time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Long enough for any line we write; a longer one is cut, not split. */
#define LOG_LINE_MAX 2048

static void flatten(char *text, size_t len) {
  for (unsigned char *p = (unsigned char *)text; len > 0; p++, len--)
    if (*p < 0x20 || *p == 0x7f)
      *p = '?';
}

static void write_all(int fd, const char *text, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, text, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; /* nowhere to report a failing log; drop the line */
    text += n;
    len -= (size_t)n;
  }
}

__attribute__((format(printf, 2, 0))) static void
log_line(const char *level, const char *fmt, va_list ap) {
  char line[LOG_LINE_MAX];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char ts[BO_TIME_MS_TEXT_SIZE];
  bo_time_format_ms((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, ts);
  int head = snprintf(line, sizeof line, "ts=%s level=%s ", ts, level);
  if (head < 0 || (size_t)head >= sizeof line)
    return;
  int body = vsnprintf(line + head, sizeof line - (size_t)head, fmt, ap);
  if (body < 0)
    body = 0;
  size_t len = (size_t)head + (size_t)body;
  if (len > sizeof line - 2) /* cut, leaving room for the newline */
    len = sizeof line - 2;
  flatten(line + head, len - (size_t)head);
  line[len++] = '\n';
  write_all(STDERR_FILENO, line, len);
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
