/* Event streams (Server-Sent Events, text/event-stream): a reply that
 * stays open and sends the state of something each time it changes.
 *
 * A handler answers with bo_reply_stream() instead of a body: the state as
 * it is now (sent at once, as the first event) and a check that tells the
 * state later. The HTTP layer then asks that check again, about once a
 * second, from a thread of its own (the stream hub, stream_hub.c), and
 * sends an event only when the state changed, never two within a second;
 * a comment line every 15 s of silence keeps proxies and browsers from
 * giving up on the connection; and when the check says the thing is over,
 * a last "event: end" carries why, and the stream closes. The HTTP layer
 * knows nothing of what the state means: it compares bytes.
 *
 * What goes over the wire:
 *
 *   retry: 5000                 once, first: how long a browser waits
 *   data: {...first state...}   before it reconnects after a drop
 *
 *   data: {...a later state...}
 *
 *   : keep-alive                after 15 s without an event
 *
 *   event: end
 *   data: {...why...}           then the response ends */
#ifndef BO_HTTP_STREAM_H
#define BO_HTTP_STREAM_H

#include "http/reply.h"

#include <stddef.h>
#include <stdint.h>

/* The most a check may write, in bytes: one event's data. */
#define BO_STREAM_DATA_MAX 1024

enum bo_stream_verdict {
  /* `out` holds the state now: an event if it differs from the last sent. */
  BO_STREAM_STATE,
  /* `out` holds why the stream ends: sent as "event: end", then closed. */
  BO_STREAM_END,
  /* Nothing can be told now (a backing store is down): the stream keeps
   * the last state sent and asks again at recheck_ms. */
  BO_STREAM_UNKNOWN,
};

struct bo_stream_check {
  char *out;  /* BO_STREAM_DATA_MAX bytes */
  size_t len; /* written by the check: the data's length in `out` */
  /* Written by the check: when to ask again, in ms from now; 0 for the
   * default, one second. A thing that changes rarely, or whose changes
   * matter little yet, can ask to be checked less often. */
  int64_t recheck_ms;
};

struct bo_stream_ops {
  /* Called from the stream hub's thread, never at the same time for one
   * stream. It may block (a queue store round trip), but every stream of
   * the process waits behind it, so it should be quick. */
  enum bo_stream_verdict (*check)(void *ctx, struct bo_stream_check *check);
  /* Frees `ctx` when the stream is over (or was never opened). */
  void (*free)(void *ctx);
};

/* Answers 200 with an event stream whose first event is `first` (the state
 * now, `first_len` bytes, at most BO_STREAM_DATA_MAX) and whose later ones
 * come from ops->check(ctx), first asked `recheck_ms` from now (0: one
 * second). Takes ctx (freed by ops->free, whatever happens). The data is
 * sent as it is, one "data:" line per line of it. */
void bo_reply_stream(struct bo_reply *reply, const struct bo_stream_ops *ops,
                     void *ctx, const char *first, size_t first_len,
                     int64_t recheck_ms);

/* What bo_reply_stream() leaves in reply->stream; the HTTP layer takes it
 * from there (stream_hub.h). Frees ctx too. NULL is fine. */
void bo_stream_spec_free(struct bo_stream_spec *spec);

#endif
