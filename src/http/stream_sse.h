/* The text/event-stream wire format (the WHATWG HTML standard, "Server-sent
 * events"): the few pieces an event stream is made of. Private to the HTTP
 * layer. */
#ifndef BO_HTTP_STREAM_SSE_H
#define BO_HTTP_STREAM_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A comment line: clients ignore it, but it is traffic, so proxies and
 * browsers that close silent connections leave the stream alone. */
#define BO_SSE_HEARTBEAT ": keep-alive\n\n"

/* Appends one event to `out` (`*len` bytes used of `cap`): the "retry:"
 * field first when retry_ms > 0, an "event:" line when `name` is not NULL,
 * then the data, one "data:" line per line of it (a line break in the data
 * would otherwise end the field early), then the blank line that
 * dispatches it. Returns false, leaving `out` as it was, when it does not
 * fit. */
bool bo_sse_append(char *out, size_t cap, size_t *len, int64_t retry_ms,
                   const char *name, const char *data, size_t data_len);

/* The room bo_sse_append() needs at most for `data_len` bytes of data
 * with a name of `name_len` bytes: the retry field, the name's line, and
 * data that is all line breaks, each then costing a whole "data: ...\n"
 * line, and the blank line. A constant expression for constant sizes. */
#define BO_SSE_SIZE(name_len, data_len)                                        \
  (32 + 8 + (name_len) + ((data_len) + 1) * 7 + (data_len) + 1)

#endif
