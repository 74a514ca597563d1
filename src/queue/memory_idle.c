/* Idle WAITING entries of the memory queue: every WAITING entry in the
 * order it was last seen (joined, joined again, asked about). idle_ms is one
 * constant for the whole queue, so the order of last-seen times is also the
 * order in which entries run out of idle time: the ones due are always a
 * prefix of the list, and finding them costs O(1) each plus one look at the
 * first that is not due. A sighting moves the entry to the tail: O(1).
 *
 * The list is threaded through the entries (link forward, u.waiting.prev
 * back), so it needs no memory of its own and cannot fail to grow.
 *
 * The caller's clock is the wall clock and can step back. To keep seen
 * times sorted, an entry pushed with a time earlier than the tail's takes
 * the tail's time instead: after a backward step, entries seen meanwhile
 * are kept up to that step longer than idle_ms, never dropped early. */
#include "queue/memory_internal.h"

void bo_memq_idle_init(struct bo_memq_idle *idle) {
  idle->head = BO_MEMQ_NONE;
  idle->tail = BO_MEMQ_NONE;
}

void bo_memq_idle_push(struct bo_memq_idle *idle, struct bo_memq_slab *slab,
                       uint32_t index, int64_t now_ms) {
  struct bo_memq_entry *entry = bo_memq_at(slab, index);
  if (idle->tail != BO_MEMQ_NONE) {
    struct bo_memq_entry *tail = bo_memq_at(slab, idle->tail);
    if (tail->u.waiting.seen_ms > now_ms)
      now_ms = tail->u.waiting.seen_ms;
    tail->link = index;
  } else {
    idle->head = index;
  }
  entry->u.waiting.seen_ms = now_ms;
  entry->u.waiting.prev = idle->tail;
  entry->link = BO_MEMQ_NONE;
  idle->tail = index;
}

void bo_memq_idle_remove(struct bo_memq_idle *idle, struct bo_memq_slab *slab,
                         uint32_t index) {
  struct bo_memq_entry *entry = bo_memq_at(slab, index);
  uint32_t prev = entry->u.waiting.prev, next = entry->link;
  if (prev != BO_MEMQ_NONE)
    bo_memq_at(slab, prev)->link = next;
  else
    idle->head = next;
  if (next != BO_MEMQ_NONE)
    bo_memq_at(slab, next)->u.waiting.prev = prev;
  else
    idle->tail = prev;
  entry->u.waiting.prev = BO_MEMQ_NONE;
  entry->link = BO_MEMQ_NONE;
}

void bo_memq_idle_touch(struct bo_memq_idle *idle, struct bo_memq_slab *slab,
                        uint32_t index, int64_t now_ms) {
  bo_memq_idle_remove(idle, slab, index);
  bo_memq_idle_push(idle, slab, index, now_ms);
}

uint32_t bo_memq_idle_oldest(const struct bo_memq_idle *idle) {
  return idle->head;
}
