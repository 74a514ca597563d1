/* The event-stream wire format (http/stream_sse.h): what a browser's
 * EventSource parses. */
#include "http/stream_sse.h"

#include <criterion/criterion.h>
#include <string.h>

static void check(int64_t retry_ms, const char *name, const char *data,
                  const char *expected) {
  char out[BO_SSE_SIZE(16, 64)];
  size_t len = 0;
  cr_assert(
      bo_sse_append(out, sizeof out, &len, retry_ms, name, data, strlen(data)));
  cr_assert_eq(len, strlen(expected), "wrote %zu bytes: %.*s", len, (int)len,
               out);
  cr_assert_eq(memcmp(out, expected, len), 0, "wrote %.*s", (int)len, out);
}

Test(stream_sse, plain_event) {
  check(0, NULL, "{\"a\":1}", "data: {\"a\":1}\n\n");
}

Test(stream_sse, retry_and_name) {
  check(5000, NULL, "x", "retry: 5000\ndata: x\n\n");
  check(0, "end", "why", "event: end\ndata: why\n\n");
}

Test(stream_sse, line_breaks_split_the_data) {
  check(0, NULL, "a\nb", "data: a\ndata: b\n\n");
  check(0, NULL, "a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n");
  check(0, NULL, "a\n", "data: a\ndata: \n\n");
  check(0, NULL, "", "data: \n\n");
}

Test(stream_sse, appends_and_refuses_what_does_not_fit) {
  char out[BO_SSE_SIZE(0, 8)];
  size_t len = 0;
  cr_assert(bo_sse_append(out, sizeof out, &len, 0, NULL, "one", 3));
  cr_assert(bo_sse_append(out, sizeof out, &len, 0, NULL, "two", 3));
  cr_assert_eq(len, 22);
  cr_assert_eq(memcmp(out, "data: one\n\ndata: two\n\n", 22), 0);
  char small[8];
  size_t used = 0;
  cr_assert_not(bo_sse_append(small, sizeof small, &used, 0, NULL, "long", 4));
  cr_assert_eq(used, 0);
}

Test(stream_sse, size_bound_holds_for_all_breaks) {
  char data[64];
  memset(data, '\n', sizeof data);
  char out[BO_SSE_SIZE(3, 64)];
  size_t len = 0;
  cr_assert(bo_sse_append(out, sizeof out, &len, INT64_MAX, "end", data,
                          sizeof data));
}
