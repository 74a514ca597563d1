/* What the memory queue tells a token's holder (memory.c's describe): its
 * state, its position, and for a WAITING token the estimated wait.
 *
 * The estimate is position / rate, rounded up to whole seconds, at least
 * 1. The rate is the one measured (queue.h): admissions out of the line in
 * the meter's window (memory_meter.c) over the part of that window since
 * the line began admitting out of the line, at least 1 s. Before anything
 * is measured: position / admit_per_minute when the policy has a rate,
 * else the worst case, every slot held for its full active time. A token
 * in the pre-queue is told the seconds to the on-sale instead.
 *
 * Two choices are this driver's narrow reading of queue.h, made because
 * without them test_queue_memory_eta.c misses the bar (90% of
 * users told a wait within 20% of the real one), and the figures are that
 * test's:
 *  - the span starts at the line's first admission out of the line (or at
 *    the draw), not when the line opened: the ones who went straight in
 *    before anyone waited are not in the count, so the time they took is
 *    not in the span either (a line growing from empty: 88% -> 96%);
 *  - a measured rate above admit_per_minute is taken as admit_per_minute:
 *    the bucket lets a second's worth in at once (at the draw, after a
 *    pause) but cannot keep that up, so the burst is not a rate (a drawn
 *    pre-queue asking in the first second after the draw: 31% -> 99%);
 *  - a measurement too thin to trust (fewer than BO_QUEUE_ETA_MIN_SAMPLES
 *    admissions and under BO_QUEUE_ETA_MIN_SPAN_MS of admitting) gives way
 *    to admit_per_minute when the policy has one: one admission in the
 *    first 50 ms, over the 1 s floor, reads as 1 a second on a line that
 *    admits 20 (tests/integration/test_eta.c, 900 users joining within a
 *    second of each other: 31% -> within the bar). */
#include "queue/memory_internal.h"

#include <stdlib.h>

static int64_t bo_memq_ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

static int64_t bo_memq_eta(const struct bo_memq *q, int64_t position,
                           int64_t now_ms) {
  int64_t admitted = bo_memq_meter_count(&q->meter, now_ms);
  int64_t per_minute = q->policy.admit_per_minute;
  if (admitted > 0) {
    int64_t since = bo_memq_meter_window_start(now_ms);
    if (q->admitting_since_ms > since)
      since = q->admitting_since_ms;
    int64_t span_ms = now_ms - since;
    if (span_ms < 1000)
      span_ms = 1000;
    /* Faster than the bucket allows is a burst, not a rate. */
    bool above_rate = per_minute > 0 && admitted * 60000 > per_minute * span_ms;
    bool thin = admitted < BO_QUEUE_ETA_MIN_SAMPLES &&
                now_ms - since < BO_QUEUE_ETA_MIN_SPAN_MS;
    if (!above_rate && !(thin && per_minute > 0))
      /* position / (admitted / span), rounded up */
      return bo_memq_ceil_div(position * span_ms, admitted * 1000);
  }
  if (per_minute > 0)
    return bo_memq_ceil_div(position * 60, per_minute);
  /* Nothing measured: every slot held for its full active time. */
  int64_t worst = bo_memq_ceil_div(position * q->settings.active_ms,
                                   1000 * q->policy.active_max);
  return worst > 0 ? worst : 1;
}

/* Seconds to the on-sale, at least 1 (also while a draw that ran out of
 * memory waits for the next step), plus, with a rate set, the wait of the
 * draw's middle place at that rate: where a token lands is not known
 * before the draw, and the middle is the estimate with the least error on
 * average. */
static int64_t bo_memq_pre_queue_eta(const struct bo_memq *q, int64_t now_ms) {
  int64_t left = bo_memq_ceil_div(q->policy.on_sale_at_ms - now_ms, 1000);
  if (left < 1)
    left = 1;
  int64_t per_minute = q->policy.admit_per_minute;
  if (per_minute > 0)
    left += bo_memq_ceil_div(((int64_t)q->pre.count + 1) / 2 * 60, per_minute);
  return left;
}

void bo_memq_describe(const struct bo_memq *q, uint32_t index, int64_t now_ms,
                      struct bo_token_info *out) {
  const struct bo_memq_entry *entry = bo_memq_at(&q->slab, index);
  *out =
      (struct bo_token_info){.token = entry->token, .user_id = entry->user_id};
  switch (entry->state) {
  case BO_MEMQ_PRE_QUEUED:
    out->state = BO_TOKEN_WAITING;
    out->pre_queue = true;
    out->position = q->pre.count;
    out->estimated_wait_seconds = bo_memq_pre_queue_eta(q, now_ms);
    break;
  case BO_MEMQ_WAITING:
    out->state = BO_TOKEN_WAITING;
    out->position = 1 + (int64_t)bo_memq_line_ahead(&q->line, entry);
    out->estimated_wait_seconds = bo_memq_eta(q, out->position, now_ms);
    break;
  case BO_MEMQ_ACTIVE:
    out->state = BO_TOKEN_ACTIVE;
    out->expires_at_ms = entry->u.deadline_ms;
    break;
  case BO_MEMQ_SPENT:
    out->state = BO_TOKEN_SPENT;
    break;
  default:
    abort(); /* a FREE entry is in no index */
  }
}
