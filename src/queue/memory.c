/* The in-process waiting line: the embedded default's queue driver.
 *
 * Data. Every token is one 48-byte entry in a chunked slab, named by a
 * 32-bit index (memory_slab.c). Six structures point at entries:
 *  - by_token: open-addressing table, token bytes -> entry (every token
 *    still remembered: PRE_QUEUED, WAITING, ACTIVE, SPENT);
 *  - by_user: open-addressing table, user id -> entry, live tokens only
 *    (PRE_QUEUED, WAITING, ACTIVE), so "does this user already hold a
 *    place" is one lookup and a SPENT token does not stop its user from
 *    joining again (memory_table.c);
 *  - pre: the pre-queue, PRE_QUEUED entries (joined before the on-sale) in
 *    an unordered array (memory_prequeue.c);
 *  - line: WAITING entries in a ring indexed by sequence number, with a
 *    Fenwick tree counting who is still waiting (memory_line.c);
 *  - idle: the same WAITING entries again, in the order they were last
 *    seen, as a doubly linked list threaded through the entries
 *    (memory_idle.c);
 *  - deadlines: a min-heap of ACTIVE entries by expires_at and SPENT entries
 *    by the time they are forgotten (memory_heap.c).
 * Plus the line's policy (configure(); queue.h, "Lines"), a token bucket
 * for its admit_per_minute (memory_bucket.c), a 60-bucket meter of
 * admissions out of the line (memory_meter.c), and the draw once made: the
 * entry ids in drawn order and its time (memory_draw.c). One mutex guards
 * all of it; there are no globals.
 *
 * One step. Every operation that carries a time (join, status, leave,
 * admit) first runs step(now): draw the pre-queue if the on-sale has come
 * and it is not drawn yet (before anything else, so a join made after the
 * on-sale, which steps first, lands behind every drawn entry); pop every
 * due deadline (expired ACTIVE tokens are forgotten, freeing their slots;
 * SPENT tokens older than spent_keep_ms are forgotten); forget every
 * WAITING token last seen idle_ms or more ago (it leaves a hole in the
 * line); then move the front of the line to ACTIVE while the policy lets
 * one more in. So an expired or abandoned token reads NOT_FOUND and its
 * slot or place is given up at the very next call, whether or not the
 * housekeeping thread has run admit() yet; and a place abandoned by the
 * time a slot frees is dropped, not admitted.
 *
 * Who may come in. One test, may_admit(), for both ways into ACTIVE (the
 * step, and a join when nobody waits): fewer than policy.active_max
 * ACTIVE, not paused, fewer than admit_cap ACTIVE (when there is a cap),
 * the pre-queue drawn (when there is one), and a credit in the bucket
 * (when there is a rate; each admission spends one). Lowering active_max
 * or the cap evicts nobody: they only stop admissions until enough
 * ACTIVE tokens have left.
 *
 * Being seen. A WAITING token is seen when it is created, when its user
 * joins again, and when status() asks about it (after the step, so a token
 * already idle_ms unseen is gone, not revived). Seeing moves it to the
 * tail of the idle list. idle_ms is one constant, so the list's order is
 * also the order in which tokens fall due: the step pops from the head
 * while the head is due. PRE_QUEUED, ACTIVE and SPENT tokens are never in
 * that list: a pre-queue place is kept however long its holder stays away
 * (the draw pushes every drawn entry onto the list, seen at the draw);
 * ACTIVE and SPENT end by the deadline heap alone. A user whose token was
 * dropped holds nothing any more and joins again at the back. A clock that
 * steps back can make a place last longer than idle_ms, never shorter
 * (memory_idle.c).
 *
 * Why FIFO holds. Sequence numbers are handed out in the order joins take
 * the lock (or, for the pre-queue, in the draw's order, before any join
 * made after the on-sale); the only way out of the line into ACTIVE is
 * step(), which takes the front (lowest sequence) each time. A rebuild of
 * the ring renumbers but keeps the order. A token that leaves from the
 * middle (leave() or idle) only leaves a hole; nobody overtakes anybody. A
 * join goes straight to ACTIVE only when the line is empty and no draw is
 * pending, so it overtakes no one either. The new limits only ever stop
 * the front from moving; they never pick who moves. (If the draw cannot
 * get its memory, the line stays undrawn, admits nobody, and a join
 * answers UNAVAILABLE rather than overtake the pre-queue; the next step
 * tries again.)
 *
 * Why at most active_max are ACTIVE. `active` counts ACTIVE entries and
 * changes only under the lock: +1 in activate(), which aborts unless
 * may_admit() holds (so active < policy.active_max), and -1 when an ACTIVE
 * entry expires or leaves. The other half of the promise, "no slot idles
 * while someone waits", now holds only while none of the new limits
 * bites: after each step the line is empty, or active >= active_max, or
 * one of paused, the cap, an empty bucket or a pending draw stopped it
 * (or memory ran out).
 *
 * Estimated wait: position over the rate measured in the last minute,
 * from admit_per_minute or the worst case before anything is measured;
 * memory_describe.c says how, and where it reads queue.h narrowly.
 *
 * Cost (n = entries remembered; amortised, average for hash lookups):
 *  join, status, leave: O(1) lookups + O(1) idle-list or pre-queue move +
 *    O(log n) position (Fenwick sum) + O(log n) per deadline that fell
 *    due, idle token dropped or token admitted meanwhile (finding an idle
 *    token is O(1), at the list's head; taking it out of the Fenwick tree
 *    is the log);
 *  admit: O(log n) per token forgotten, dropped or admitted; O(1) when
 *    none;
 *  the draw: O(p log p) for a pre-queue of p, once per line, under the
 *    lock, inside whichever call steps first after the on-sale (two hashes
 *    and a sort per entry; memory_draw.c, and the test prints the time);
 *  stats, configure, ping: O(1); draw_result: O(p) copy. Ring, table and
 *    pre-queue growth is by doubling, amortised O(1).
 *
 * Bytes per waiting token, at 1,000,000 waiting: the entry, 48 (+ at most
 * one partly used 192 KiB chunk; the idle list lives inside it); two
 * tables of 4-byte slots at most 3/4 full, 2 x 4 / load = 10.7-21.3 (8.4
 * each at exactly 2^21 slots); ring and Fenwick tree, 8 per slot, 8-24.
 * About 73 bytes at 1e6 (2^20 ring slots, 2^21 table slots), at worst ~93
 * while growing; the test prints the measured figure and fails above 128.
 * A pre-queue token costs the entry and tables too, and 4-8 in the
 * pre-queue array instead of the ring; the draw needs 72 more per entry
 * while it sorts, and keeps 32 per entry drawn (the ids draw_result()
 * serves) for the life of the line. Memory is not returned when the line
 * drains, except by the ring (the slab keeps its high-water mark; see
 * memory_slab.c). */
#include "queue/memory_internal.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that keep every product of the ETA (memory_describe.c) and the
 * bucket (memory_bucket.c) in int64 range: position (< 2^30) times
 * active_ms (< 2^30), times 60 and times a span of at most 60000 ms;
 * 1000 * active_max (< 2^40); admit_per_minute (<= 10^9) times 60000. The
 * settings table (config.c) is stricter, so these never bite a value it
 * accepted; the caller of configure() validates first. */
#define BO_MEMQ_ACTIVE_MAX_LIMIT ((int64_t)BO_MEMQ_MAX_ENTRIES)
#define BO_MEMQ_DURATION_LIMIT_MS (INT64_C(7) * 24 * 3600 * 1000)
#define BO_MEMQ_ADMIT_PER_MINUTE_LIMIT INT64_C(1000000000)

static struct bo_memq *bo_memq_of(struct bo_queue *queue) {
  return queue->impl;
}

/* Forgets an ACTIVE or SPENT entry whose deadline came. */
static void bo_memq_forget(struct bo_memq *q, uint32_t index) {
  struct bo_memq_entry *entry = bo_memq_at(&q->slab, index);
  bo_memq_heap_remove(&q->deadlines, &q->slab, index);
  if (entry->state == BO_MEMQ_ACTIVE) {
    q->active--;
    bo_memq_table_remove(&q->by_user, &q->slab, index);
  }
  bo_memq_table_remove(&q->by_token, &q->slab, index);
  bo_memq_slab_free(&q->slab, index);
}

/* Takes a WAITING entry out of the line and the idle list; the caller
 * gives it its next state. */
static void bo_memq_unwait(struct bo_memq *q, uint32_t index) {
  bo_memq_line_remove(&q->line, &q->slab, index);
  bo_memq_idle_remove(&q->idle, &q->slab, index);
}

/* Forgets WAITING entries nobody asked about for idle_ms (0: never). The
 * idle list is in last-seen order, so the due ones are its head. */
static void bo_memq_drop_idle(struct bo_memq *q, int64_t now_ms) {
  if (q->settings.idle_ms == 0)
    return;
  for (;;) {
    uint32_t oldest = bo_memq_idle_oldest(&q->idle);
    if (oldest == BO_MEMQ_NONE ||
        bo_memq_at(&q->slab, oldest)->u.waiting.seen_ms + q->settings.idle_ms >
            now_ms)
      return;
    bo_memq_unwait(q, oldest);
    bo_memq_table_remove(&q->by_user, &q->slab, oldest);
    bo_memq_table_remove(&q->by_token, &q->slab, oldest);
    bo_memq_slab_free(&q->slab, oldest);
  }
}

/* The policy's test for one more ACTIVE token, the same for both ways in
 * (see "Who may come in"). The bucket must be refilled to now. */
static bool bo_memq_may_admit(const struct bo_memq *q) {
  const struct bo_line_policy *p = &q->policy;
  return q->active < p->active_max && !p->paused &&
         (p->admit_cap < 0 || q->active < p->admit_cap) &&
         !bo_memq_draw_pending(q) &&
         bo_memq_bucket_ready(&q->bucket, p->admit_per_minute);
}

/* The one way into ACTIVE. Heap room must be reserved. */
static void bo_memq_activate(struct bo_memq *q, uint32_t index,
                             int64_t now_ms) {
  struct bo_memq_entry *entry = bo_memq_at(&q->slab, index);
  if (!bo_memq_may_admit(q))
    abort(); /* a bug: both callers ask first */
  entry->state = BO_MEMQ_ACTIVE;
  entry->u.deadline_ms = now_ms + q->settings.active_ms;
  bo_memq_heap_push(&q->deadlines, &q->slab, index);
  bo_memq_bucket_take(&q->bucket, q->policy.admit_per_minute);
  q->active++;
  q->admitted_total++;
}

static void bo_memq_reap(struct bo_memq *q, int64_t now_ms) {
  for (;;) {
    uint32_t top = bo_memq_heap_top(&q->deadlines);
    if (top == BO_MEMQ_NONE ||
        bo_memq_at(&q->slab, top)->u.deadline_ms > now_ms)
      return;
    bo_memq_forget(q, top);
  }
}

static int64_t bo_memq_admit_ready(struct bo_memq *q, int64_t now_ms) {
  int64_t admitted = 0;
  while (q->line.count > 0 && bo_memq_may_admit(q)) {
    /* Out of memory: leave the rest waiting for the next step. */
    if (bo_memq_heap_reserve(&q->deadlines, 1) != 0)
      break;
    uint32_t index = bo_memq_line_front(&q->line);
    bo_memq_unwait(q, index);
    bo_memq_activate(q, index, now_ms);
    /* Only admissions out of the line measure how fast the line moves,
     * and only from the first of them on. */
    if (!q->admitting) {
      q->admitting = true;
      q->admitting_since_ms = now_ms;
    }
    bo_memq_meter_record(&q->meter, now_ms);
    admitted++;
  }
  return admitted;
}

/* The draw goes first (see "One step"). Idle entries go before admission,
 * so a place whose holder walked away is never turned into an ACTIVE slot
 * nobody uses. */
static int64_t bo_memq_step(struct bo_memq *q, int64_t now_ms) {
  q->has_time = true;
  q->last_now_ms = now_ms;
  /* Out of memory: the line stays undrawn, admits nobody, and the next
   * step tries again. */
  if (bo_memq_draw_due(q, now_ms))
    (void)bo_memq_draw(q, now_ms);
  bo_memq_reap(q, now_ms);
  bo_memq_drop_idle(q, now_ms);
  if (q->policy.admit_per_minute > 0)
    bo_memq_bucket_refill(&q->bucket, q->policy.admit_per_minute, now_ms);
  return bo_memq_admit_ready(q, now_ms);
}

/* Makes room everywhere a new entry may go, so nothing after it can fail
 * half-way: 0, or -1 when memory ran out. */
static int bo_memq_reserve_join(struct bo_memq *q, bool pre_queue) {
  if (bo_memq_slab_reserve(&q->slab) != 0 ||
      bo_memq_table_reserve(&q->by_token, &q->slab, 1) != 0 ||
      bo_memq_table_reserve(&q->by_user, &q->slab, 1) != 0)
    return -1;
  if (pre_queue)
    return bo_memq_prequeue_reserve(&q->pre);
  if (bo_memq_line_reserve(&q->line, &q->slab, 1) != 0 ||
      bo_memq_heap_reserve(&q->deadlines, 1) != 0)
    return -1;
  return 0;
}

static enum bo_queue_status bo_memq_join(struct bo_queue *queue,
                                         int64_t user_id, int64_t now_ms,
                                         struct bo_token_info *out,
                                         int *created) {
  struct bo_memq *q = bo_memq_of(queue);
  enum bo_queue_status status = BO_QUEUE_OK;
  /* Drawn outside the lock; wasted only when the user already has one. */
  struct bo_token token;
  bo_token_generate(&token);
  pthread_mutex_lock(&q->lock);
  bo_memq_step(q, now_ms);
  uint32_t index = bo_memq_table_find_user(&q->by_user, &q->slab, user_id);
  if (index != BO_MEMQ_NONE) {
    /* Coming back to the join page is being seen too. */
    if (bo_memq_at(&q->slab, index)->state == BO_MEMQ_WAITING)
      bo_memq_idle_touch(&q->idle, &q->slab, index, now_ms);
    bo_memq_describe(q, index, now_ms, out);
    *created = 0;
    goto done;
  }
  /* The step's draw ran out of memory: a new place now would overtake
   * the pre-queue. */
  if (bo_memq_draw_due(q, now_ms)) {
    status = BO_QUEUE_UNAVAILABLE;
    goto done;
  }
  /* A draw pending but not due: the on-sale has not come yet. */
  bool pre_queue = bo_memq_draw_pending(q);
  if (bo_memq_reserve_join(q, pre_queue) != 0) {
    status = BO_QUEUE_UNAVAILABLE;
    goto done;
  }
  /* 2^-128 odds, but a duplicate would hand this user someone's place. */
  while (bo_memq_table_find_token(&q->by_token, &q->slab, &token) !=
         BO_MEMQ_NONE)
    bo_token_generate(&token);
  index = bo_memq_slab_alloc(&q->slab);
  struct bo_memq_entry *entry = bo_memq_at(&q->slab, index);
  entry->token = token;
  entry->user_id = user_id;
  bo_memq_table_insert(&q->by_token, &q->slab, index);
  bo_memq_table_insert(&q->by_user, &q->slab, index);
  if (pre_queue) {
    entry->state = BO_MEMQ_PRE_QUEUED;
    bo_memq_prequeue_push(&q->pre, &q->slab, index);
  } else if (q->line.count == 0 && bo_memq_may_admit(q)) {
    bo_memq_activate(q, index, now_ms);
  } else {
    entry->state = BO_MEMQ_WAITING;
    bo_memq_line_push(&q->line, &q->slab, index);
    bo_memq_idle_push(&q->idle, &q->slab, index, now_ms);
    /* Normally a no-op (a line means no admission is allowed), but after
     * a step cut short by a failed allocation this is where the slots get
     * filled. */
    bo_memq_admit_ready(q, now_ms);
  }
  bo_memq_describe(q, index, now_ms, out);
  *created = 1;
done:
  pthread_mutex_unlock(&q->lock);
  return status;
}

static enum bo_queue_status bo_memq_status(struct bo_queue *queue,
                                           const struct bo_token *token,
                                           int64_t now_ms,
                                           struct bo_token_info *out) {
  struct bo_memq *q = bo_memq_of(queue);
  pthread_mutex_lock(&q->lock);
  bo_memq_step(q, now_ms);
  uint32_t index = bo_memq_table_find_token(&q->by_token, &q->slab, token);
  if (index != BO_MEMQ_NONE) {
    if (bo_memq_at(&q->slab, index)->state == BO_MEMQ_WAITING)
      bo_memq_idle_touch(&q->idle, &q->slab, index, now_ms);
    bo_memq_describe(q, index, now_ms, out);
  }
  pthread_mutex_unlock(&q->lock);
  return index != BO_MEMQ_NONE ? BO_QUEUE_OK : BO_QUEUE_NOT_FOUND;
}

static enum bo_queue_status bo_memq_leave(struct bo_queue *queue,
                                          const struct bo_token *token,
                                          int64_t now_ms) {
  struct bo_memq *q = bo_memq_of(queue);
  enum bo_queue_status status = BO_QUEUE_OK;
  pthread_mutex_lock(&q->lock);
  bo_memq_step(q, now_ms);
  uint32_t index = bo_memq_table_find_token(&q->by_token, &q->slab, token);
  struct bo_memq_entry *entry =
      index != BO_MEMQ_NONE ? bo_memq_at(&q->slab, index) : NULL;
  if (entry == NULL || entry->state == BO_MEMQ_SPENT) {
    status = BO_QUEUE_NOT_FOUND;
    goto done;
  }
  if (bo_memq_heap_reserve(&q->deadlines, 1) != 0) {
    status = BO_QUEUE_UNAVAILABLE;
    goto done;
  }
  int was_active = entry->state == BO_MEMQ_ACTIVE;
  if (was_active)
    q->active--;
  else if (entry->state == BO_MEMQ_WAITING)
    bo_memq_unwait(q, index);
  else
    bo_memq_prequeue_remove(&q->pre, &q->slab, index);
  bo_memq_table_remove(&q->by_user, &q->slab, index);
  entry->state = BO_MEMQ_SPENT;
  entry->u.deadline_ms = now_ms + q->settings.spent_keep_ms;
  if (was_active)
    bo_memq_heap_fix(&q->deadlines, &q->slab, index);
  else
    bo_memq_heap_push(&q->deadlines, &q->slab, index);
  /* Hands the freed slot to the next in line now, not at the next tick. */
  bo_memq_step(q, now_ms);
done:
  pthread_mutex_unlock(&q->lock);
  return status;
}

static enum bo_queue_status bo_memq_admit(struct bo_queue *queue,
                                          int64_t now_ms, int64_t *admitted) {
  struct bo_memq *q = bo_memq_of(queue);
  pthread_mutex_lock(&q->lock);
  int64_t n = bo_memq_step(q, now_ms);
  pthread_mutex_unlock(&q->lock);
  if (admitted != NULL)
    *admitted = n;
  return BO_QUEUE_OK;
}

/* stats carries no time, so `active` and the last minute's admissions are
 * as of the latest call that did; the housekeeping thread's admit() keeps
 * that within a tick. */
static enum bo_queue_status bo_memq_stats(struct bo_queue *queue,
                                          struct bo_queue_stats *out) {
  struct bo_memq *q = bo_memq_of(queue);
  pthread_mutex_lock(&q->lock);
  *out = (struct bo_queue_stats){
      .waiting = (int64_t)q->line.count + q->pre.count,
      .pre_queue = q->pre.count,
      .active = q->active,
      .admitted_total = q->admitted_total,
      .admitted_last_minute =
          q->has_time ? bo_memq_meter_count(&q->meter, q->last_now_ms) : 0,
      .drawn = q->drawn.done,
      .drawn_at_ms = q->drawn.done ? q->drawn.at_ms : 0,
  };
  pthread_mutex_unlock(&q->lock);
  return BO_QUEUE_OK;
}

static bool bo_memq_policy_valid(const struct bo_line_policy *policy) {
  return policy != NULL && policy->active_max >= 1 &&
         policy->active_max <= BO_MEMQ_ACTIVE_MAX_LIMIT &&
         policy->admit_per_minute >= 0 &&
         policy->admit_per_minute <= BO_MEMQ_ADMIT_PER_MINUTE_LIMIT &&
         policy->admit_cap >= -1 && policy->on_sale_at_ms >= 0;
}

/* The caller validates the policy first (its own table names the bad
 * field); this is a guard, and leaves the policy as it was. */
static enum bo_queue_status
bo_memq_configure(struct bo_queue *queue, const struct bo_line_policy *policy) {
  struct bo_memq *q = bo_memq_of(queue);
  if (!bo_memq_policy_valid(policy))
    return BO_QUEUE_UNAVAILABLE;
  pthread_mutex_lock(&q->lock);
  /* A rate switched on starts with a full bucket, as a line opens with
   * one; a rate changed keeps its credit (clamped to the new cap). */
  if (q->policy.admit_per_minute == 0 && policy->admit_per_minute > 0)
    bo_memq_bucket_fill(&q->bucket);
  q->policy = *policy;
  pthread_mutex_unlock(&q->lock);
  return BO_QUEUE_OK;
}

static enum bo_queue_status bo_memq_draw_result(struct bo_queue *queue,
                                                struct bo_draw_result *out) {
  struct bo_memq *q = bo_memq_of(queue);
  enum bo_queue_status status = BO_QUEUE_OK;
  *out = (struct bo_draw_result){0};
  pthread_mutex_lock(&q->lock);
  if (!q->drawn.done)
    goto done;
  if (q->drawn.count > 0) {
    out->entry_ids = malloc((size_t)q->drawn.count * sizeof *out->entry_ids);
    if (out->entry_ids == NULL) {
      status = BO_QUEUE_UNAVAILABLE;
      goto done;
    }
    memcpy(out->entry_ids, q->drawn.ids,
           (size_t)q->drawn.count * sizeof *out->entry_ids);
  }
  out->drawn = true;
  out->drawn_at_ms = q->drawn.at_ms;
  out->count = q->drawn.count;
done:
  pthread_mutex_unlock(&q->lock);
  return status;
}

static enum bo_queue_status bo_memq_ping(struct bo_queue *queue) {
  (void)queue;
  return BO_QUEUE_OK;
}

static void bo_memq_close(struct bo_queue *queue) {
  struct bo_memq *q = bo_memq_of(queue);
  bo_memq_draw_destroy(&q->drawn);
  bo_memq_prequeue_destroy(&q->pre);
  bo_memq_heap_destroy(&q->deadlines);
  bo_memq_line_destroy(&q->line);
  bo_memq_table_destroy(&q->by_user);
  bo_memq_table_destroy(&q->by_token);
  bo_memq_slab_destroy(&q->slab);
  pthread_mutex_destroy(&q->lock);
  free(q);
}

static const struct bo_queue_driver bo_memq_driver = {
    .name = "memory",
    .join = bo_memq_join,
    .status = bo_memq_status,
    .leave = bo_memq_leave,
    .admit = bo_memq_admit,
    .stats = bo_memq_stats,
    .configure = bo_memq_configure,
    .draw_result = bo_memq_draw_result,
    .ping = bo_memq_ping,
    .close = bo_memq_close,
};

static int bo_memq_check(const char *name, int64_t value, int64_t min,
                         int64_t max, char *error, size_t error_size) {
  if (value >= min && value <= max)
    return 0;
  if (error != NULL && error_size > 0)
    snprintf(error, error_size,
             "memory queue: %s = %lld is out of range [%lld, %lld]", name,
             (long long)value, (long long)min, (long long)max);
  return -1;
}

struct bo_queue *bo_memq_open(const struct bo_queue_settings *settings,
                              char *error, size_t error_size) {
  if (bo_memq_check("active_max", settings->active_max, 1,
                    BO_MEMQ_ACTIVE_MAX_LIMIT, error, error_size) != 0 ||
      bo_memq_check("active_ms", settings->active_ms, 1,
                    BO_MEMQ_DURATION_LIMIT_MS, error, error_size) != 0 ||
      bo_memq_check("spent_keep_ms", settings->spent_keep_ms, 0,
                    BO_MEMQ_DURATION_LIMIT_MS, error, error_size) != 0 ||
      bo_memq_check("idle_ms", settings->idle_ms, 0, BO_MEMQ_DURATION_LIMIT_MS,
                    error, error_size) != 0)
    return NULL;
  /* Tokens come from libsodium's randombytes; init is idempotent and
   * thread-safe. */
  if (sodium_init() < 0) {
    if (error != NULL && error_size > 0)
      snprintf(error, error_size, "memory queue: libsodium failed to start");
    return NULL;
  }
  struct bo_memq *q = calloc(1, sizeof *q);
  if (q == NULL || pthread_mutex_init(&q->lock, NULL) != 0) {
    free(q);
    if (error != NULL && error_size > 0)
      snprintf(error, error_size, "memory queue: out of memory");
    return NULL;
  }
  q->settings = *settings;
  q->policy = (struct bo_line_policy){.active_max = settings->active_max,
                                      .admit_per_minute = 0,
                                      .admit_cap = -1,
                                      .paused = false,
                                      .on_sale_at_ms = 0};
  bo_memq_bucket_fill(&q->bucket);
  q->slab.free_head = BO_MEMQ_NONE;
  q->by_token.key = BO_MEMQ_BY_TOKEN;
  q->by_user.key = BO_MEMQ_BY_USER;
  bo_memq_idle_init(&q->idle);
  bo_memq_meter_init(&q->meter);
  q->queue.driver = &bo_memq_driver;
  q->queue.impl = q;
  return &q->queue;
}
