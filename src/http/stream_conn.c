/* One event stream over one connection, on libmicrohttpd 0.9.75.
 *
 * The response has no length (MHD sends it chunked to HTTP/1.1 clients
 * and ends it by closing for HTTP/1.0 ones), and its content reader hands
 * MHD whatever bytes the hub has queued. When there are none the reader
 * must not return 0 and leave it at that: in MHD's internal polling modes
 * a reader that returns 0 is asked again at once, a busy loop per idle
 * stream. So it parks the connection first (MHD_suspend_connection, which
 * the MHD manual allows from a content reader), and the next push wakes it
 * (MHD_resume_connection, which any thread may call, and which only raises
 * a flag and pokes the worker through its ITC). A parked connection costs
 * no CPU, is off MHD's epoll set and out of its timeout list.
 *
 * Two things follow from parking, both handled elsewhere:
 *  - MHD cannot see a client leave while its connection is parked; the
 *    next event or heartbeat (at most 15 s later) wakes it, the write
 *    fails and MHD closes it then.
 *  - MHD_stop_daemon() panics while any connection is parked, so every
 *    stream must be woken and ended before the daemon stops (the hub's
 *    close, called by bo_http_stop), and a stream with its end event
 *    queued never parks again.
 *
 * Only resume what was suspended: resuming a connection that is not
 * parked is undefined in MHD. `suspended` is set and cleared under the
 * stream's lock, by the reader when it parks and by the push that wakes
 * it, so exactly one resume follows each suspend. */
#include "http/stream_internal.h"
#include "http/stream_sse.h"

#include <stdlib.h>
#include <string.h>

/* MHD allocates this much per response for its own copy of the body; a
 * chunked response (every HTTP/1.1 client) does not use it, since MHD has
 * the reader write straight into the connection's buffer. Small, since
 * 10,000 streams pay it 10,000 times; a larger event just takes two
 * calls of the reader for an HTTP/1.0 client. */
#define MHD_BLOCK_SIZE 512
/* Bytes a stream may hold for a client that is not reading. Past it new
 * states are dropped until it reads (they would be superseded anyway); the
 * connection timeout closes a client that stays stuck. */
#define PENDING_MAX (16 * 1024)

static void pending_drop(struct bo_stream *s) {
  free(s->pending);
  s->pending = NULL;
  s->pending_len = s->pending_taken = 0;
}

/* Appends to what is waiting, moving the unread part to the front. */
static bool pending_append(struct bo_stream *s, const char *bytes, size_t len) {
  size_t left = s->pending_len - s->pending_taken;
  if (s->pending_taken > 0 && left > 0)
    memmove(s->pending, s->pending + s->pending_taken, left);
  s->pending_len = left;
  s->pending_taken = 0;
  char *grown = realloc(s->pending, left + len);
  if (grown == NULL)
    return false;
  memcpy(grown + left, bytes, len);
  s->pending = grown;
  s->pending_len = left + len;
  return true;
}

struct bo_stream *bo_stream_new(struct bo_stream_hub *hub,
                                struct MHD_Connection *connection,
                                struct bo_stream_spec *spec, int64_t now_ms) {
  struct bo_stream *s = calloc(1, sizeof *s);
  char *first = NULL;
  size_t cap = BO_SSE_SIZE(0, spec->first_len), len = 0;
  if (s == NULL || (first = malloc(cap)) == NULL ||
      pthread_mutex_init(&s->lock, NULL) != 0)
    goto fail;
  if (!bo_sse_append(first, cap, &len, BO_STREAM_RETRY_MS, NULL, spec->first,
                     spec->first_len)) {
    pthread_mutex_destroy(&s->lock);
    goto fail;
  }
  s->hub = hub;
  s->connection = connection;
  s->ops = spec->ops;
  s->ctx = spec->ctx;
  spec->ctx = NULL; /* the stream's now */
  s->pending = first;
  s->pending_len = len;
  s->slot = SIZE_MAX;
  s->refs = 1;
  bo_stream_timing_start(&s->timing, now_ms,
                         bo_stream_hash(spec->first, spec->first_len),
                         spec->recheck_ms);
  bo_stream_spec_free(spec);
  return s;
fail:
  free(first);
  free(s);
  bo_stream_spec_free(spec);
  return NULL;
}

void bo_stream_free(struct bo_stream *s) {
  if (s == NULL)
    return;
  if (s->ops && s->ops->free)
    s->ops->free(s->ctx);
  free(s->pending);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* MHD_ContentReaderCallback. `pos` is not needed: the response is never
 * reused, so MHD asks for the bytes in order, each once. */
static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
  struct bo_stream *s = cls;
  ssize_t n;
  (void)pos;
  pthread_mutex_lock(&s->lock);
  size_t left = s->pending_len - s->pending_taken;
  if (left > 0 && max > 0) {
    size_t take = left < max ? left : max;
    memcpy(buf, s->pending + s->pending_taken, take);
    s->pending_taken += take;
    if (s->pending_taken == s->pending_len)
      pending_drop(s); /* an idle stream holds no buffer */
    n = (ssize_t)take;
  } else if (s->closing) {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  } else {
    MHD_suspend_connection(s->connection);
    s->suspended = true;
    n = 0;
  }
  pthread_mutex_unlock(&s->lock);
  return n;
}

/* MHD_ContentReaderFreeCallback: MHD destroyed the response, so the
 * connection is done with the stream (ended, or closed under it). */
static void release_stream(void *cls) {
  struct bo_stream *s = cls;
  pthread_mutex_lock(&s->lock);
  s->released = true;
  s->suspended = false;
  pending_drop(s);
  pthread_mutex_unlock(&s->lock);
  bo_stream_hub_forget(s->hub, s);
}

struct MHD_Response *bo_stream_response(struct bo_stream *s) {
  struct MHD_Response *response = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, MHD_BLOCK_SIZE, read_stream, s, release_stream);
  if (response == NULL)
    return NULL;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "text/event-stream");
  /* Every event is news: no cache may answer with an old one. */
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  /* nginx buffers proxied responses by default, which would hold events
   * back until its buffer fills; this header turns that off per response. */
  MHD_add_response_header(response, "X-Accel-Buffering", "no");
  return response;
}

bool bo_stream_push(struct bo_stream *s, enum bo_stream_push kind,
                    const char *bytes, size_t len) {
  bool queued = false;
  pthread_mutex_lock(&s->lock);
  if (s->released || s->closing)
    goto done;
  size_t left = s->pending_len - s->pending_taken;
  if (kind == BO_STREAM_PUSH_HEARTBEAT && left > 0)
    goto done;
  /* A waiting state event the client has not started on is superseded.
   * One it has started on must be finished, or the stream would break. */
  if (kind != BO_STREAM_PUSH_HEARTBEAT && left > 0 && s->pending_taken == 0)
    pending_drop(s);
  left = s->pending_len - s->pending_taken;
  if (kind != BO_STREAM_PUSH_FINAL && left + len > PENDING_MAX)
    goto done;
  queued = pending_append(s, bytes, len);
  /* Out of memory for the end event: the stream ends without it. */
  if (kind == BO_STREAM_PUSH_FINAL)
    s->closing = true;
  else if (!queued)
    goto done;
  if (s->suspended) {
    s->suspended = false;
    MHD_resume_connection(s->connection);
  }
done:
  pthread_mutex_unlock(&s->lock);
  return queued;
}

bool bo_stream_over(struct bo_stream *s) {
  pthread_mutex_lock(&s->lock);
  bool over = s->closing || s->released;
  pthread_mutex_unlock(&s->lock);
  return over;
}
