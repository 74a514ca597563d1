/* Writing events. A line break in the data (LF, CR or CR LF, which all end
 * a line for the client) starts a new "data:" line; the client joins them
 * back with LF, so data with line breaks arrives whole (CR LF as LF). */
#include "http/stream_sse.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RETRY_FIELD_MAX 32 /* "retry: " + 19 digits + "\n", as BO_SSE_SIZE */

static bool put(char *out, size_t cap, size_t *at, const char *text, size_t n) {
  if (n > cap - *at)
    return false;
  memcpy(out + *at, text, n);
  *at += n;
  return true;
}

static bool put_data_lines(char *out, size_t cap, size_t *at, const char *data,
                           size_t len) {
  size_t start = 0;
  for (;;) {
    size_t end = start;
    while (end < len && data[end] != '\n' && data[end] != '\r')
      end++;
    if (!put(out, cap, at, "data: ", 6) ||
        !put(out, cap, at, data + start, end - start) ||
        !put(out, cap, at, "\n", 1))
      return false;
    if (end == len)
      return true;
    /* CR LF is one break, not two. */
    bool crlf = data[end] == '\r' && end + 1 < len && data[end + 1] == '\n';
    start = end + (crlf ? 2 : 1);
  }
}

bool bo_sse_append(char *out, size_t cap, size_t *len, int64_t retry_ms,
                   const char *name, const char *data, size_t data_len) {
  size_t at = *len;
  if (at > cap)
    return false;
  if (retry_ms > 0) {
    char field[RETRY_FIELD_MAX];
    int n = snprintf(field, sizeof field, "retry: %" PRId64 "\n", retry_ms);
    if (n < 0 || !put(out, cap, &at, field, (size_t)n))
      return false;
  }
  if (name &&
      (!put(out, cap, &at, "event: ", 7) ||
       !put(out, cap, &at, name, strlen(name)) || !put(out, cap, &at, "\n", 1)))
    return false;
  if (!put_data_lines(out, cap, &at, data, data_len) ||
      !put(out, cap, &at, "\n", 1))
    return false;
  *len = at;
  return true;
}
