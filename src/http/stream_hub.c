/* The stream hub: one thread that, ten times a second, looks for the open
 * streams that are due (a check, per the stream's timing, or a heartbeat)
 * and serves them one after another.
 *
 * Why one thread, and why a tick:
 *  - A check may block (a round trip to Redis), and MHD's workers must
 *    never block on it, so checks run here, not in a content reader.
 *  - One thread makes the cost of N streams visible and bounded: at most
 *    one check per stream per second (less for the ones that ask for
 *    less), done in turn. If the checks of one round take longer than a
 *    second, streams are simply checked less often, and the log line says
 *    how long the slowest round took; nothing queues up.
 *  - Streams are due at their own times (a second after they opened, then
 *    after each check), so the checks of 10,000 streams spread over each
 *    second instead of coming in one burst. A tick of 100 ms is as fine as
 *    that spreading needs, and costs a scan of the list, not a syscall per
 *    stream.
 *
 * The hub's lock guards the list. Streams are served outside it (a check
 * may be slow, and MHD's workers take the lock when a stream ends), each
 * held by a reference so that a connection closing meanwhile cannot free
 * it under the hub. Lock order: hub, then a stream's own lock, then MHD's
 * (inside suspend and resume). */
#include "http/stream_hub.h"

#include "errors.h"
#include "http/reply.h"
#include "http/stream_internal.h"
#include "http/stream_sse.h"
#include "util/clock.h"
#include "util/log.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100
/* A summary line this often while streams are open. */
#define REPORT_EVERY_MS 30000
/* Sized for the largest data a check may write, as an "end" event. */
#define EVENT_BUFFER BO_SSE_SIZE(3, BO_STREAM_DATA_MAX)

struct hub_counts {
  uint64_t opened, checks, events, heartbeats, ended;
  int64_t slowest_round_ms;
};

struct bo_stream_hub {
  pthread_mutex_t lock;
  pthread_cond_t wake; /* on CLOCK_MONOTONIC */
  pthread_t thread;
  bool stopping;
  struct bo_stream **streams;
  size_t count, cap;
  /* The hub thread's own: the streams of one round, and what it counted. */
  struct bo_stream **batch;
  size_t batch_cap;
  struct hub_counts counts;
  int64_t reported_ms;
  /* The end event of a shutdown, made once. */
  char *shutdown_event;
  size_t shutdown_len;
};

static int64_t now_ms(void) {
  return bo_clock_monotonic_ns() / 1000000;
}

/* Queues `data` as an event (named `name`, or the default kind when NULL). */
static bool send_event(struct bo_stream *s, enum bo_stream_push kind,
                       const char *name, const char *data, size_t len) {
  char event[EVENT_BUFFER];
  size_t event_len = 0;
  if (!bo_sse_append(event, sizeof event, &event_len, 0, name, data, len))
    return false;
  return bo_stream_push(s, kind, event, event_len);
}

/* A check, and what it says: an event, an end, or nothing new. */
static void check_stream(struct bo_stream_hub *hub, struct bo_stream *s) {
  char data[BO_STREAM_DATA_MAX];
  struct bo_stream_check check = {.out = data};
  enum bo_stream_verdict verdict = s->ops->check(s->ctx, &check);
  if (check.len > sizeof data)
    check.len = sizeof data; /* a check that overran is a bug; stay safe */
  int64_t now = now_ms();    /* the check may have taken a while */
  hub->counts.checks++;
  switch (verdict) {
  case BO_STREAM_STATE:
    if (bo_stream_timing_state(&s->timing, now, bo_stream_hash(data, check.len),
                               check.recheck_ms)) {
      if (send_event(s, BO_STREAM_PUSH_EVENT, NULL, data, check.len))
        hub->counts.events++;
      else /* not queued (full, out of memory): send it at the next check */
        bo_stream_timing_forget(&s->timing);
    }
    return;
  case BO_STREAM_END:
    send_event(s, BO_STREAM_PUSH_FINAL, "end", data, check.len);
    hub->counts.ended++;
    return;
  case BO_STREAM_UNKNOWN:
    bo_stream_timing_unknown(&s->timing, now, check.recheck_ms);
    return;
  }
}

static void serve_stream(struct bo_stream_hub *hub, struct bo_stream *s) {
  if (bo_stream_over(s))
    return;
  if (bo_stream_timing_check_due(&s->timing, now_ms()))
    check_stream(hub, s);
  if (bo_stream_timing_heartbeat(&s->timing, now_ms()) &&
      bo_stream_push(s, BO_STREAM_PUSH_HEARTBEAT, BO_SSE_HEARTBEAT,
                     sizeof BO_SSE_HEARTBEAT - 1))
    hub->counts.heartbeats++;
}

/* Under the hub's lock: the streams due now, each with a reference. */
static size_t collect_due(struct bo_stream_hub *hub, int64_t now) {
  if (hub->batch_cap < hub->count) {
    struct bo_stream **grown =
        realloc(hub->batch, hub->count * sizeof *hub->batch);
    if (grown == NULL)
      return 0; /* try again next tick */
    hub->batch = grown;
    hub->batch_cap = hub->count;
  }
  size_t n = 0;
  for (size_t i = 0; i < hub->count; i++) {
    struct bo_stream *s = hub->streams[i];
    if (bo_stream_timing_due(&s->timing, now)) {
      s->refs++;
      hub->batch[n++] = s;
    }
  }
  return n;
}

/* Under the hub's lock. */
static void drop_ref(struct bo_stream *s) {
  if (--s->refs == 0)
    bo_stream_free(s);
}

static void report(struct bo_stream_hub *hub, int64_t now) {
  if (now - hub->reported_ms < REPORT_EVERY_MS)
    return;
  struct hub_counts *c = &hub->counts;
  if (hub->count > 0 || c->opened > 0)
    bo_log_info("msg=\"event streams\" open=%zu opened=%" PRIu64
                " checks=%" PRIu64 " events=%" PRIu64 " heartbeats=%" PRIu64
                " ended=%" PRIu64 " slowest_round_ms=%" PRId64
                " over_ms=%" PRId64,
                hub->count, c->opened, c->checks, c->events, c->heartbeats,
                c->ended, c->slowest_round_ms, now - hub->reported_ms);
  memset(c, 0, sizeof *c);
  hub->reported_ms = now;
}

static void wait_tick(struct bo_stream_hub *hub) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += TICK_MS * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (!hub->stopping &&
         pthread_cond_timedwait(&hub->wake, &hub->lock, &until) != ETIMEDOUT)
    ;
}

static void *run_hub(void *arg) {
  struct bo_stream_hub *hub = arg;
  pthread_mutex_lock(&hub->lock);
  hub->reported_ms = now_ms();
  while (!hub->stopping) {
    int64_t start = now_ms();
    size_t n = collect_due(hub, start);
    pthread_mutex_unlock(&hub->lock);
    for (size_t i = 0; i < n; i++)
      serve_stream(hub, hub->batch[i]);
    int64_t took = now_ms() - start;
    pthread_mutex_lock(&hub->lock);
    for (size_t i = 0; i < n; i++)
      drop_ref(hub->batch[i]);
    if (took > hub->counts.slowest_round_ms)
      hub->counts.slowest_round_ms = took;
    report(hub, now_ms());
    wait_tick(hub);
  }
  pthread_mutex_unlock(&hub->lock);
  return NULL;
}

/* The end event every stream gets at shutdown: the same problem document
 * as a 503, with why. */
static bool make_shutdown_event(struct bo_stream_hub *hub) {
  json_t *doc = bo_reply_problem(BO_ERR_UNAVAILABLE,
                                 "the server is shutting down; connect again");
  if (doc == NULL ||
      json_object_set_new(doc, "reason", json_string("shutdown")) != 0) {
    json_decref(doc);
    return false;
  }
  char *data = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (data == NULL)
    return false;
  size_t len = strlen(data), cap = BO_SSE_SIZE(3, len);
  hub->shutdown_event = malloc(cap);
  bool ok = hub->shutdown_event &&
            bo_sse_append(hub->shutdown_event, cap, &hub->shutdown_len, 0,
                          "end", data, len);
  free(data);
  return ok;
}

static void end_for_shutdown(struct bo_stream_hub *hub, struct bo_stream *s) {
  bo_stream_push(s, BO_STREAM_PUSH_FINAL, hub->shutdown_event,
                 hub->shutdown_len);
}

struct bo_stream_hub *bo_stream_hub_start(void) {
  struct bo_stream_hub *hub = calloc(1, sizeof *hub);
  pthread_condattr_t attr;
  bool attr_made = false, lock_made = false, wake_made = false;
  if (hub == NULL || !make_shutdown_event(hub))
    goto fail;
  lock_made = pthread_mutex_init(&hub->lock, NULL) == 0;
  attr_made = lock_made && pthread_condattr_init(&attr) == 0;
  wake_made = attr_made &&
              pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&hub->wake, &attr) == 0;
  if (attr_made)
    pthread_condattr_destroy(&attr);
  if (!wake_made || pthread_create(&hub->thread, NULL, run_hub, hub) != 0)
    goto fail;
  return hub;
fail:
  bo_log_error("msg=\"event stream hub not started\"");
  if (wake_made)
    pthread_cond_destroy(&hub->wake);
  if (lock_made)
    pthread_mutex_destroy(&hub->lock);
  if (hub)
    free(hub->shutdown_event);
  free(hub);
  return NULL;
}

/* Under the hub's lock: the list grows by doubling. */
static bool add_stream(struct bo_stream_hub *hub, struct bo_stream *s) {
  if (hub->count == hub->cap) {
    size_t cap = hub->cap ? hub->cap * 2 : 256;
    struct bo_stream **grown = realloc(hub->streams, cap * sizeof *grown);
    if (grown == NULL)
      return false;
    hub->streams = grown;
    hub->cap = cap;
  }
  s->slot = hub->count;
  hub->streams[hub->count++] = s;
  hub->counts.opened++;
  return true;
}

struct MHD_Response *bo_stream_hub_respond(struct bo_stream_hub *hub,
                                           struct MHD_Connection *connection,
                                           struct bo_stream_spec *spec) {
  struct bo_stream *s = bo_stream_new(hub, connection, spec, now_ms());
  if (s == NULL)
    return NULL;
  struct MHD_Response *response = bo_stream_response(s);
  if (response == NULL) {
    bo_stream_free(s);
    return NULL;
  }
  pthread_mutex_lock(&hub->lock);
  bool added = add_stream(hub, s);
  if (added && hub->stopping)
    end_for_shutdown(hub, s);
  pthread_mutex_unlock(&hub->lock);
  if (!added) {
    /* Out of memory: the response's release frees the stream. */
    MHD_destroy_response(response);
    return NULL;
  }
  return response;
}

void bo_stream_hub_forget(struct bo_stream_hub *hub, struct bo_stream *s) {
  pthread_mutex_lock(&hub->lock);
  if (s->slot != SIZE_MAX) {
    struct bo_stream *last = hub->streams[--hub->count];
    hub->streams[s->slot] = last;
    last->slot = s->slot;
    s->slot = SIZE_MAX;
  }
  drop_ref(s);
  pthread_mutex_unlock(&hub->lock);
}

void bo_stream_hub_close(struct bo_stream_hub *hub) {
  if (hub == NULL)
    return;
  pthread_mutex_lock(&hub->lock);
  bool was_stopping = hub->stopping;
  hub->stopping = true;
  size_t open = hub->count;
  for (size_t i = 0; i < hub->count; i++)
    end_for_shutdown(hub, hub->streams[i]);
  pthread_cond_broadcast(&hub->wake);
  pthread_mutex_unlock(&hub->lock);
  if (was_stopping)
    return;
  pthread_join(hub->thread, NULL);
  bo_log_info("msg=\"event streams ended for shutdown\" open=%zu", open);
}

void bo_stream_hub_free(struct bo_stream_hub *hub) {
  if (hub == NULL)
    return;
  bo_stream_hub_close(hub);
  pthread_mutex_lock(&hub->lock);
  size_t left = hub->count;
  pthread_mutex_unlock(&hub->lock);
  if (left > 0) {
    /* MHD destroys every response when the daemon stops; a stream left
     * here would be a stream MHD still holds. Leak it rather than free it
     * under MHD's feet. */
    bo_log_error("msg=\"event streams outlived the daemon\" count=%zu", left);
    return;
  }
  pthread_cond_destroy(&hub->wake);
  pthread_mutex_destroy(&hub->lock);
  free(hub->streams);
  free(hub->batch);
  free(hub->shutdown_event);
  free(hub);
}

size_t bo_stream_hub_count(struct bo_stream_hub *hub) {
  pthread_mutex_lock(&hub->lock);
  size_t n = hub->count;
  pthread_mutex_unlock(&hub->lock);
  return n;
}
