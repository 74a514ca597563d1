/* A binary min-heap of (deadline, connection slot): the sleeping VUs of one
 * thread, earliest first. A VU sleeps at most once at a time and a sleep
 * is never cancelled, so there is no removal other than popping the top. */
#ifndef BO_LOAD_TIMER_HEAP_H
#define BO_LOAD_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bo_timer {
  uint64_t when_ns;
  uint32_t slot;
};

struct bo_timer_heap {
  struct bo_timer *items;
  size_t count;
  size_t capacity;
};

/* Room for `capacity` timers (one per connection), or false. */
bool bo_timer_heap_init(struct bo_timer_heap *h, size_t capacity);
void bo_timer_heap_free(struct bo_timer_heap *h);
/* Asserts there is room: more timers than connections is a bug. */
void bo_timer_heap_push(struct bo_timer_heap *h, uint64_t when_ns,
                        uint32_t slot);
/* The earliest timer if it is due at `now_ns`; false otherwise. */
bool bo_timer_heap_pop_due(struct bo_timer_heap *h, uint64_t now_ns,
                           struct bo_timer *out);
/* The earliest deadline, or UINT64_MAX when nothing sleeps. */
uint64_t bo_timer_heap_next(const struct bo_timer_heap *h);

#endif
