/* Private to the event streams of the HTTP layer: one stream (stream_conn.c)
 * and what the hub (stream_hub.c) keeps of it.
 *
 * Who touches what:
 *  - `lock` guards the bytes waiting for libmicrohttpd and the flags; the
 *    content reader (an MHD worker thread), the hub's thread and the
 *    shutdown all take it. It is taken after the hub's lock, never before.
 *  - `slot` and `refs` belong to the hub and change under its lock.
 *  - `timing` belongs to the hub's thread alone (set once before the
 *    stream is shared).
 * A stream is freed when its last reference goes: one is MHD's response
 * (dropped when MHD destroys it, which is when the connection is done with
 * it), and the hub's thread holds one more while it works on the stream
 * outside the hub's lock. */
#ifndef BO_HTTP_STREAM_INTERNAL_H
#define BO_HTTP_STREAM_INTERNAL_H

#include "http/stream.h"
#include "http/stream_timing.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long a browser waits before it reconnects when a stream drops
 * without an end event (the "retry:" field). After a restart every open
 * stream reconnects; a few seconds give the new instance time to listen
 * (or the balancer time to notice it is gone) instead of bouncing the
 * first attempt, and clients then come back spread over however long the
 * drop took to reach each of them. */
#define BO_STREAM_RETRY_MS 5000

/* What bo_reply_stream() leaves in the reply. */
struct bo_stream_spec {
  const struct bo_stream_ops *ops;
  void *ctx;
  char *first; /* the first state's data */
  size_t first_len;
  int64_t recheck_ms;
};

struct bo_stream_hub;

struct bo_stream {
  struct bo_stream_hub *hub;
  struct MHD_Connection *connection;
  const struct bo_stream_ops *ops;
  void *ctx;

  pthread_mutex_t lock;
  char *pending; /* bytes for MHD; NULL when there are none */
  size_t pending_len;
  size_t pending_taken; /* of pending_len, already handed to MHD */
  bool suspended;       /* parked by the reader until a push resumes it */
  bool closing;         /* the end event is queued: nothing goes after it */
  bool released;        /* MHD destroyed the response */

  size_t slot; /* in the hub's list; SIZE_MAX when not (or no longer) in it */
  int refs;

  struct bo_stream_timing timing;
};

enum bo_stream_push {
  /* A state event: replaces one that the client has not started to take
   * (only the latest state matters). */
  BO_STREAM_PUSH_EVENT,
  /* A heartbeat: only when nothing is waiting (else the waiting bytes are
   * the traffic). */
  BO_STREAM_PUSH_HEARTBEAT,
  /* The end event: replaces a waiting state; then end of stream. */
  BO_STREAM_PUSH_FINAL,
};

/* stream_conn.c */

/* A stream for `connection` from the reply's spec (taken and freed, also
 * on failure): its first bytes are the retry field and the first state.
 * One reference, MHD's response's, which bo_stream_response() then makes.
 * NULL when memory ran out. */
struct bo_stream *bo_stream_new(struct bo_stream_hub *hub,
                                struct MHD_Connection *connection,
                                struct bo_stream_spec *spec, int64_t now_ms);
/* The response whose content reader serves the stream and whose release
 * hands the stream back to the hub (bo_stream_hub_forget). NULL when
 * memory ran out; the stream is then the caller's to free. */
struct MHD_Response *bo_stream_response(struct bo_stream *s);
/* Queues bytes for the client and wakes the connection if it is parked.
 * False when they were not queued (see enum bo_stream_push; and nothing
 * after the end event or once the connection is gone). */
bool bo_stream_push(struct bo_stream *s, enum bo_stream_push kind,
                    const char *bytes, size_t len);
/* The end event is queued or the connection is gone: nothing more to do. */
bool bo_stream_over(struct bo_stream *s);
/* Frees the stream and its context; no one may hold it any more. */
void bo_stream_free(struct bo_stream *s);

/* stream_hub.c, for stream_conn.c: MHD is done with the stream's response. */
void bo_stream_hub_forget(struct bo_stream_hub *hub, struct bo_stream *s);

#endif
