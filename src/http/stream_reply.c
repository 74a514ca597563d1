/* What a handler hands over to answer with an event stream: kept in the
 * reply until the connection code turns it into a stream (stream_hub.h). */
#include "http/stream_internal.h"

#include <stdlib.h>
#include <string.h>

static const char content_event_stream[] = "text/event-stream";

void bo_stream_spec_free(struct bo_stream_spec *spec) {
  if (spec == NULL)
    return;
  if (spec->ctx && spec->ops && spec->ops->free)
    spec->ops->free(spec->ctx);
  free(spec->first);
  free(spec);
}

void bo_reply_stream(struct bo_reply *reply, const struct bo_stream_ops *ops,
                     void *ctx, const char *first, size_t first_len,
                     int64_t recheck_ms) {
  bo_reply_clear(reply);
  struct bo_stream_spec *spec = calloc(1, sizeof *spec);
  if (spec == NULL || first_len > BO_STREAM_DATA_MAX ||
      (spec->first = malloc(first_len ? first_len : 1)) == NULL) {
    free(spec);
    if (ops && ops->free)
      ops->free(ctx);
    bo_reply_error(reply, BO_ERR_INTERNAL,
                   first_len > BO_STREAM_DATA_MAX
                       ? "an event is larger than the stream allows"
                       : "out of memory opening an event stream");
    return;
  }
  memcpy(spec->first, first, first_len);
  spec->first_len = first_len;
  spec->ops = ops;
  spec->ctx = ctx;
  spec->recheck_ms = recheck_ms;
  reply->status = 200;
  reply->content_type = content_event_stream;
  reply->stream = spec;
}
