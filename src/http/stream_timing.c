#include "http/stream_timing.h"

uint64_t bo_stream_hash(const char *data, size_t len) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)data[i];
    h *= 0x100000001b3u;
  }
  return h;
}

static int64_t recheck_after(int64_t recheck_ms) {
  if (recheck_ms <= 0)
    return BO_STREAM_RECHECK_DEFAULT_MS;
  if (recheck_ms < BO_STREAM_RECHECK_MIN_MS)
    return BO_STREAM_RECHECK_MIN_MS;
  if (recheck_ms > BO_STREAM_RECHECK_MAX_MS)
    return BO_STREAM_RECHECK_MAX_MS;
  return recheck_ms;
}

void bo_stream_timing_start(struct bo_stream_timing *t, int64_t now_ms,
                            uint64_t first_hash, int64_t recheck_ms) {
  t->last_event_ms = now_ms;
  t->last_write_ms = now_ms;
  t->last_hash = first_hash;
  t->next_check_ms = now_ms + recheck_after(recheck_ms);
}

bool bo_stream_timing_check_due(const struct bo_stream_timing *t,
                                int64_t now_ms) {
  return now_ms >= t->next_check_ms;
}

static bool heartbeat_due(const struct bo_stream_timing *t, int64_t now_ms) {
  return now_ms - t->last_write_ms >= BO_STREAM_HEARTBEAT_MS;
}

bool bo_stream_timing_due(const struct bo_stream_timing *t, int64_t now_ms) {
  return bo_stream_timing_check_due(t, now_ms) || heartbeat_due(t, now_ms);
}

void bo_stream_timing_forget(struct bo_stream_timing *t) {
  /* No body hashes to this (a hash of 0 is as likely as any other value:
   * 2^-64), so the next state differs from "the last sent". */
  t->last_hash = 0;
}

bool bo_stream_timing_state(struct bo_stream_timing *t, int64_t now_ms,
                            uint64_t hash, int64_t recheck_ms) {
  if (hash == t->last_hash) {
    t->next_check_ms = now_ms + recheck_after(recheck_ms);
    return false;
  }
  int64_t allowed_ms = t->last_event_ms + BO_STREAM_EVENT_GAP_MS;
  if (now_ms < allowed_ms) {
    /* Too soon after the last event (a check asked for more often than
     * once a second): look again as soon as an event is allowed. */
    t->next_check_ms = allowed_ms;
    return false;
  }
  t->last_hash = hash;
  t->last_event_ms = now_ms;
  t->last_write_ms = now_ms;
  t->next_check_ms = now_ms + recheck_after(recheck_ms);
  return true;
}

void bo_stream_timing_unknown(struct bo_stream_timing *t, int64_t now_ms,
                              int64_t recheck_ms) {
  t->next_check_ms = now_ms + recheck_after(recheck_ms);
}

bool bo_stream_timing_heartbeat(struct bo_stream_timing *t, int64_t now_ms) {
  if (!heartbeat_due(t, now_ms))
    return false;
  t->last_write_ms = now_ms;
  return true;
}
