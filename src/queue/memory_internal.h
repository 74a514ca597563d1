/* Private to the memory queue driver (src/queue/memory*.c): the pieces the
 * driver is built from, each in its own small file so that each can be read
 * and checked alone. Nothing here locks; the driver (memory.c) holds its
 * mutex around every call. memory.c opens with the essay on how they fit. */
#ifndef BO_QUEUE_MEMORY_INTERNAL_H
#define BO_QUEUE_MEMORY_INTERNAL_H

#include "queue/queue.h"
#include "util/token.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The driver's entry point, used by bo_queue_open() in queue.c. */
struct bo_queue *bo_memq_open(const struct bo_queue_settings *settings,
                              char *error, size_t error_size);

/* "No entry": an empty hash slot, a hole in the line, the end of the free
 * list or of the idle list. Entry indices stay below BO_MEMQ_MAX_ENTRIES,
 * far from it. */
#define BO_MEMQ_NONE UINT32_MAX
#define BO_MEMQ_MAX_ENTRIES (UINT32_C(1) << 30)

/* FREE -> PRE_QUEUED (joined before the on-sale) or WAITING or ACTIVE;
 * PRE_QUEUED -> WAITING (the draw) or SPENT; WAITING -> ACTIVE or SPENT or
 * FREE (idle); ACTIVE -> SPENT or FREE; SPENT -> FREE. */
enum bo_memq_state {
  BO_MEMQ_FREE = 0,
  BO_MEMQ_WAITING,
  BO_MEMQ_ACTIVE,
  BO_MEMQ_SPENT,
  BO_MEMQ_PRE_QUEUED, /* WAITING for the draw: in the pre-queue only */
};

/* One token. 48 bytes: every field is needed by some state, and what only
 * some states need shares storage. */
struct bo_memq_entry {
  struct bo_token token; /* raw bytes; also the token table's hash */
  int64_t user_id;
  union {
    struct {
      int64_t seen_ms; /* last join or status (memory_idle.c) */
      uint32_t slot;   /* place in the line's ring (memory_line.c);
                          PRE_QUEUED: place in the pre-queue */
      uint32_t prev;   /* previous entry in the idle list */
    } waiting;
    int64_t deadline_ms; /* ACTIVE: expires_at; SPENT: when it is forgotten */
  } u;
  uint32_t link; /* WAITING: next entry in the idle list;
                    ACTIVE, SPENT: index in the deadline heap;
                    FREE: next entry on the free list;
                    PRE_QUEUED: unused */
  uint8_t state; /* enum bo_memq_state */
};

_Static_assert(sizeof(struct bo_memq_entry) <= 48,
               "memory.c's byte count assumes a 48-byte entry");

/* ---- memory_slab.c: entries in fixed-size chunks, addressed by index ----
 * Chunks never move, so growing costs no copy and no latency spike under
 * the lock, and the waste is at most one partly used chunk. */
#define BO_MEMQ_CHUNK_SHIFT 12
#define BO_MEMQ_CHUNK_SIZE (UINT32_C(1) << BO_MEMQ_CHUNK_SHIFT)

struct bo_memq_slab {
  struct bo_memq_entry **chunks;
  uint32_t nchunks;
  uint32_t chunks_cap;
  uint32_t used;      /* entries ever handed out (high-water mark) */
  uint32_t free_head; /* BO_MEMQ_NONE when empty */
  uint32_t live;      /* entries not FREE */
};

static inline struct bo_memq_entry *bo_memq_at(const struct bo_memq_slab *slab,
                                               uint32_t index) {
  return &slab->chunks[index >> BO_MEMQ_CHUNK_SHIFT]
                      [index & (BO_MEMQ_CHUNK_SIZE - 1)];
}

/* 0, or -1 when memory ran out (then nothing changed). After a 0 the next
 * bo_memq_slab_alloc() cannot fail. */
int bo_memq_slab_reserve(struct bo_memq_slab *slab);
uint32_t bo_memq_slab_alloc(struct bo_memq_slab *slab);
void bo_memq_slab_free(struct bo_memq_slab *slab, uint32_t index);
void bo_memq_slab_destroy(struct bo_memq_slab *slab);

/* ---- memory_table.c: open addressing, linear probing, no tombstones ----
 * Slots hold entry indices; the key is read from the entry itself. */
enum bo_memq_key { BO_MEMQ_BY_TOKEN, BO_MEMQ_BY_USER };

struct bo_memq_table {
  uint32_t *slots; /* BO_MEMQ_NONE = empty */
  uint32_t mask;   /* capacity - 1; capacity is a power of two, or 0 */
  uint32_t count;
  enum bo_memq_key key;
};

/* Makes room for `extra` more inserts: 0, or -1 (nothing changed). */
int bo_memq_table_reserve(struct bo_memq_table *table,
                          const struct bo_memq_slab *slab, uint32_t extra);
/* The entry must not be in the table yet, and room must be reserved. */
void bo_memq_table_insert(struct bo_memq_table *table,
                          const struct bo_memq_slab *slab, uint32_t index);
/* The entry must be in the table. */
void bo_memq_table_remove(struct bo_memq_table *table,
                          const struct bo_memq_slab *slab, uint32_t index);
uint32_t bo_memq_table_find_token(const struct bo_memq_table *table,
                                  const struct bo_memq_slab *slab,
                                  const struct bo_token *token);
uint32_t bo_memq_table_find_user(const struct bo_memq_table *table,
                                 const struct bo_memq_slab *slab,
                                 int64_t user_id);
void bo_memq_table_destroy(struct bo_memq_table *table);

/* ---- memory_line.c: the waiting line, with positions by Fenwick tree ----
 * WAITING entries in sequence order in a ring; a hole where one left. */
struct bo_memq_line {
  uint32_t *ring; /* [seq & (cap-1)] -> entry index, or BO_MEMQ_NONE */
  uint32_t *tree; /* Fenwick tree over ring slots, 1-based, cap + 1 items */
  uint32_t cap;   /* power of two, or 0 */
  uint32_t count; /* WAITING entries */
  uint64_t head;  /* seq of the first waiting entry (== tail when empty) */
  uint64_t tail;  /* next seq to hand out */
};

/* Makes room for `extra` pushes: 0, or -1 (nothing changed). May renumber
 * the waiting entries and move them to new slots (order kept). */
int bo_memq_line_reserve(struct bo_memq_line *line, struct bo_memq_slab *slab,
                         uint32_t extra);
/* Appends a WAITING entry (sets its slot). Room must be reserved. */
void bo_memq_line_push(struct bo_memq_line *line, struct bo_memq_slab *slab,
                       uint32_t index);
/* Takes the entry out of the line, wherever it stands. */
void bo_memq_line_remove(struct bo_memq_line *line, struct bo_memq_slab *slab,
                         uint32_t index);
/* The first in line; BO_MEMQ_NONE when nobody waits. */
uint32_t bo_memq_line_front(const struct bo_memq_line *line);
/* How many WAITING entries stand ahead of this one. O(log cap). */
uint32_t bo_memq_line_ahead(const struct bo_memq_line *line,
                            const struct bo_memq_entry *entry);
void bo_memq_line_destroy(struct bo_memq_line *line);

/* ---- memory_idle.c: WAITING entries, least recently seen first ----
 * A doubly linked list threaded through the entries themselves (link is
 * the next entry, u.waiting.prev the previous), so it costs no memory of
 * its own. Seen times never decrease from head to tail. */
struct bo_memq_idle {
  uint32_t head; /* seen longest ago; BO_MEMQ_NONE when empty */
  uint32_t tail; /* seen last; BO_MEMQ_NONE when empty */
};

void bo_memq_idle_init(struct bo_memq_idle *idle);
/* Appends a WAITING entry that is in no list yet, seen at now_ms (or at
 * the tail's seen time if that is later: the clock stepped back). */
void bo_memq_idle_push(struct bo_memq_idle *idle, struct bo_memq_slab *slab,
                       uint32_t index, int64_t now_ms);
/* Takes the entry out of the list, wherever it stands. */
void bo_memq_idle_remove(struct bo_memq_idle *idle, struct bo_memq_slab *slab,
                         uint32_t index);
/* The entry was seen again at now_ms: it moves to the tail. */
void bo_memq_idle_touch(struct bo_memq_idle *idle, struct bo_memq_slab *slab,
                        uint32_t index, int64_t now_ms);
/* The entry seen longest ago; BO_MEMQ_NONE when the list is empty. */
uint32_t bo_memq_idle_oldest(const struct bo_memq_idle *idle);

/* ---- memory_heap.c: ACTIVE and SPENT entries, soonest deadline first ---- */
struct bo_memq_heap {
  uint32_t *items; /* entry indices; entry->link is the item's position */
  uint32_t count;
  uint32_t cap;
};

int bo_memq_heap_reserve(struct bo_memq_heap *heap, uint32_t extra);
void bo_memq_heap_push(struct bo_memq_heap *heap, struct bo_memq_slab *slab,
                       uint32_t index);
void bo_memq_heap_remove(struct bo_memq_heap *heap, struct bo_memq_slab *slab,
                         uint32_t index);
/* Restores order after the entry's deadline_ms changed. */
void bo_memq_heap_fix(struct bo_memq_heap *heap, struct bo_memq_slab *slab,
                      uint32_t index);
/* The entry with the soonest deadline; BO_MEMQ_NONE when empty. */
uint32_t bo_memq_heap_top(const struct bo_memq_heap *heap);
void bo_memq_heap_destroy(struct bo_memq_heap *heap);

/* ---- memory_meter.c: admissions out of the line in the last 60 s ---- */
#define BO_MEMQ_METER_SECONDS 60

struct bo_memq_meter {
  struct {
    int64_t second; /* floor(now_ms / 1000) the count belongs to */
    uint32_t count;
  } buckets[BO_MEMQ_METER_SECONDS];
};

void bo_memq_meter_init(struct bo_memq_meter *meter);
void bo_memq_meter_record(struct bo_memq_meter *meter, int64_t now_ms);
/* Admissions in the window of BO_MEMQ_METER_SECONDS seconds ending with the
 * second of now_ms. */
int64_t bo_memq_meter_count(const struct bo_memq_meter *meter, int64_t now_ms);
/* Where that window starts: the first millisecond of its oldest second. */
int64_t bo_memq_meter_window_start(int64_t now_ms);

/* ---- memory_bucket.c: the admit_per_minute token bucket ----
 * Credit is kept in 1/60000ths of an admission, so that a rate of r per
 * minute adds exactly r units per millisecond and no rounding drifts. */
#define BO_MEMQ_CREDIT_UNIT INT64_C(60000) /* one admission */

struct bo_memq_bucket {
  int64_t level; /* units of credit; above the cap only before a refill */
  int64_t at_ms; /* the time `level` is as of */
  bool started;  /* at_ms is set */
};

/* Full, whatever the rate turns out to be (a line opens with it full). */
void bo_memq_bucket_fill(struct bo_memq_bucket *bucket);
/* Adds the credit earned up to now_ms at admit_per_minute (> 0). */
void bo_memq_bucket_refill(struct bo_memq_bucket *bucket,
                           int64_t admit_per_minute, int64_t now_ms);
/* At least one admission's credit (always, without a rate). */
bool bo_memq_bucket_ready(const struct bo_memq_bucket *bucket,
                          int64_t admit_per_minute);
/* Spends one admission's credit (nothing without a rate). */
void bo_memq_bucket_take(struct bo_memq_bucket *bucket,
                         int64_t admit_per_minute);

/* ---- memory_prequeue.c: who joined before the on-sale, unordered ----
 * An array of entry indices; each entry keeps its place in u.waiting.slot,
 * so one that leaves is swapped with the last, O(1). The order means
 * nothing: the draw sorts by hash. */
struct bo_memq_prequeue {
  uint32_t *items;
  uint32_t count;
  uint32_t cap;
};

/* Makes room for one push: 0, or -1 (nothing changed). */
int bo_memq_prequeue_reserve(struct bo_memq_prequeue *pre);
/* Appends a PRE_QUEUED entry (sets its slot). Room must be reserved. */
void bo_memq_prequeue_push(struct bo_memq_prequeue *pre,
                           struct bo_memq_slab *slab, uint32_t index);
void bo_memq_prequeue_remove(struct bo_memq_prequeue *pre,
                             struct bo_memq_slab *slab, uint32_t index);
void bo_memq_prequeue_destroy(struct bo_memq_prequeue *pre);

/* ---- the driver's state (memory.c), guarded by `lock` ---- */

/* The draw, kept as draw_result() serves it: every entry drawn, in drawn
 * order, including those that left or went idle since. */
struct bo_memq_drawn {
  bool done;
  int64_t at_ms;
  uint32_t count;
  uint8_t (*ids)[BO_DRAW_ID_BYTES]; /* NULL when count is 0 */
};

struct bo_memq {
  struct bo_queue queue; /* the public face; impl points back here */
  pthread_mutex_t lock;
  struct bo_queue_settings settings;
  struct bo_line_policy policy;
  struct bo_memq_slab slab;
  struct bo_memq_table by_token;
  struct bo_memq_table by_user;
  struct bo_memq_line line;
  struct bo_memq_idle idle;
  struct bo_memq_heap deadlines;
  struct bo_memq_prequeue pre;
  struct bo_memq_meter meter;
  struct bo_memq_bucket bucket;
  struct bo_memq_drawn drawn;
  int64_t active;
  int64_t admitted_total;
  /* The latest step's time (stats() carries none); valid once has_time. */
  bool has_time;
  int64_t last_now_ms;
  /* Since when the line has been admitting out of the line (its first such
   * admission, or the draw): the ETA's measuring span starts there. Valid
   * once admitting. */
  bool admitting;
  int64_t admitting_since_ms;
};

/* ---- memory_describe.c ---- */

/* Fills `out` for a live or SPENT entry as of now_ms (after the step). */
void bo_memq_describe(const struct bo_memq *q, uint32_t index, int64_t now_ms,
                      struct bo_token_info *out);

/* ---- memory_draw.c ---- */

/* Whether the pre-queue must be drawn before anyone is admitted. */
bool bo_memq_draw_pending(const struct bo_memq *q);
/* Whether it is time for that draw. */
bool bo_memq_draw_due(const struct bo_memq *q, int64_t now_ms);
/* Draws the pre-queue into the line, every entry seen at now_ms: 0, or -1
 * when memory ran out (then nothing changed; try again later). */
int bo_memq_draw(struct bo_memq *q, int64_t now_ms);
/* Frees what the draw keeps. */
void bo_memq_draw_destroy(struct bo_memq_drawn *drawn);

#endif
