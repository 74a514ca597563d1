/* The stream hub's timing for one stream (http/stream_timing.h), driven by
 * a made-up clock: when a stream is checked, when a changed state is sent
 * (never two events within a second), and when a heartbeat goes out (after
 * 15 s of silence, and not while events flow). */
#include "http/stream_timing.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define T0 1000000 /* an arbitrary start on the monotonic clock */

static struct bo_stream_timing opened(int64_t recheck_ms) {
  struct bo_stream_timing t;
  bo_stream_timing_start(&t, T0, bo_stream_hash("first", 5), recheck_ms);
  return t;
}

Test(stream_timing, first_check_one_second_after_opening) {
  struct bo_stream_timing t = opened(0);
  cr_assert_not(bo_stream_timing_due(&t, T0));
  cr_assert_not(bo_stream_timing_check_due(&t, T0 + 999));
  cr_assert(bo_stream_timing_check_due(&t, T0 + 1000));
  struct bo_stream_timing slow = opened(5000);
  cr_assert_not(bo_stream_timing_check_due(&slow, T0 + 4999));
  cr_assert(bo_stream_timing_check_due(&slow, T0 + 5000));
}

Test(stream_timing, same_state_sends_nothing) {
  struct bo_stream_timing t = opened(0);
  uint64_t h = bo_stream_hash("first", 5);
  for (int s = 1; s <= 10; s++) {
    cr_assert_not(bo_stream_timing_state(&t, T0 + s * 1000, h, 0),
                  "an unchanged state was sent at %d s", s);
    cr_assert_eq(t.next_check_ms, T0 + s * 1000 + 1000);
  }
}

Test(stream_timing, changed_state_is_sent_once) {
  struct bo_stream_timing t = opened(0);
  uint64_t h = bo_stream_hash("second", 6);
  cr_assert(bo_stream_timing_state(&t, T0 + 1000, h, 0));
  cr_assert_not(bo_stream_timing_state(&t, T0 + 2000, h, 0));
}

/* A change that could not be queued (the hub said send, the push failed)
 * is sent at the next check even though nothing changed since. */
Test(stream_timing, a_change_not_sent_is_sent_again) {
  struct bo_stream_timing t = opened(0);
  uint64_t h = bo_stream_hash("second", 6);
  cr_assert(bo_stream_timing_state(&t, T0 + 1000, h, 0));
  bo_stream_timing_forget(&t);
  cr_assert(bo_stream_timing_state(&t, T0 + 2000, h, 0));
  cr_assert_not(bo_stream_timing_state(&t, T0 + 3000, h, 0));
}

/* A check that asks to be run more often than once a second (a short
 * idle time) still gets at most one event a second: the change seen too
 * soon waits, and the check comes back as soon as an event is allowed. */
Test(stream_timing, at_most_one_event_a_second) {
  struct bo_stream_timing t = opened(100);
  int64_t last_sent = T0;
  int sent = 0;
  char state[16];
  for (int64_t now = T0 + 100; now <= T0 + 10000; now += 100) {
    if (!bo_stream_timing_check_due(&t, now))
      continue;
    /* A different state at every check. */
    snprintf(state, sizeof state, "s%lld", (long long)now);
    if (bo_stream_timing_state(&t, now, bo_stream_hash(state, strlen(state)),
                               100)) {
      cr_assert_geq(now - last_sent, BO_STREAM_EVENT_GAP_MS,
                    "events %lld ms apart", (long long)(now - last_sent));
      last_sent = now;
      sent++;
    }
  }
  cr_assert_eq(sent, 10, "%d events in 10 s of constant change", sent);
}

Test(stream_timing, change_seen_too_soon_is_rechecked_when_allowed) {
  struct bo_stream_timing t = opened(100);
  cr_assert_not(
      bo_stream_timing_state(&t, T0 + 300, bo_stream_hash("x", 1), 100));
  cr_assert_eq(t.next_check_ms, T0 + BO_STREAM_EVENT_GAP_MS);
  cr_assert(bo_stream_timing_state(&t, T0 + BO_STREAM_EVENT_GAP_MS,
                                   bo_stream_hash("x", 1), 100));
}

Test(stream_timing, heartbeat_after_fifteen_seconds_of_silence) {
  struct bo_stream_timing t = opened(0);
  uint64_t h = bo_stream_hash("first", 5);
  int beats = 0;
  int64_t last_beat = T0;
  for (int64_t now = T0 + 100; now <= T0 + 60000; now += 100) {
    if (!bo_stream_timing_due(&t, now))
      continue;
    if (bo_stream_timing_check_due(&t, now))
      bo_stream_timing_state(&t, now, h, 0);
    if (bo_stream_timing_heartbeat(&t, now)) {
      cr_assert_eq(now - last_beat, BO_STREAM_HEARTBEAT_MS,
                   "heartbeat %lld ms after the last bytes",
                   (long long)(now - last_beat));
      last_beat = now;
      beats++;
    }
  }
  cr_assert_eq(beats, 4, "%d heartbeats in 60 s of silence", beats);
}

Test(stream_timing, events_hold_the_heartbeat_back) {
  struct bo_stream_timing t = opened(0);
  char state[16];
  for (int64_t now = T0 + 1000; now <= T0 + 40000; now += 1000) {
    snprintf(state, sizeof state, "s%lld", (long long)now);
    cr_assert(bo_stream_timing_state(&t, now,
                                     bo_stream_hash(state, strlen(state)), 0));
    cr_assert_not(bo_stream_timing_heartbeat(&t, now + 500),
                  "a heartbeat while events flow, at %lld ms",
                  (long long)(now - T0));
  }
  /* Silence from the last event on: the heartbeat comes 15 s after it. */
  cr_assert_not(bo_stream_timing_heartbeat(&t, T0 + 40000 + 14999));
  cr_assert(bo_stream_timing_heartbeat(&t, T0 + 40000 + 15000));
}

Test(stream_timing, unknown_state_keeps_the_last_one) {
  struct bo_stream_timing t = opened(0);
  bo_stream_timing_unknown(&t, T0 + 1000, 2000);
  cr_assert_eq(t.next_check_ms, T0 + 3000);
  /* The state sent before the outage is still the reference. */
  cr_assert_not(
      bo_stream_timing_state(&t, T0 + 3000, bo_stream_hash("first", 5), 0));
}

Test(stream_timing, recheck_is_bounded) {
  struct bo_stream_timing t = opened(1);
  cr_assert_eq(t.next_check_ms, T0 + BO_STREAM_RECHECK_MIN_MS);
  t = opened(INT64_MAX / 4);
  cr_assert_eq(t.next_check_ms, T0 + BO_STREAM_RECHECK_MAX_MS);
}
