/* The pre-queue of the memory queue: who joined before the on-sale. Their
 * order means nothing (the draw sorts them by hash), so an unordered array
 * is enough: push at the end, remove by moving the last into the hole. Each
 * entry remembers its place in u.waiting.slot, free while it is in no ring.
 * 4 bytes per entry (8 while the array is half grown). */
#include "queue/memory_internal.h"

#include <stdlib.h>

int bo_memq_prequeue_reserve(struct bo_memq_prequeue *pre) {
  if (pre->count < pre->cap)
    return 0;
  uint64_t cap = pre->cap ? (uint64_t)pre->cap * 2 : 16;
  if (cap > BO_MEMQ_MAX_ENTRIES)
    return -1;
  uint32_t *items = realloc(pre->items, cap * sizeof *items);
  if (items == NULL)
    return -1;
  pre->items = items;
  pre->cap = (uint32_t)cap;
  return 0;
}

void bo_memq_prequeue_push(struct bo_memq_prequeue *pre,
                           struct bo_memq_slab *slab, uint32_t index) {
  bo_memq_at(slab, index)->u.waiting.slot = pre->count;
  pre->items[pre->count++] = index;
}

void bo_memq_prequeue_remove(struct bo_memq_prequeue *pre,
                             struct bo_memq_slab *slab, uint32_t index) {
  uint32_t place = bo_memq_at(slab, index)->u.waiting.slot;
  uint32_t last = pre->items[--pre->count];
  pre->items[place] = last;
  bo_memq_at(slab, last)->u.waiting.slot = place;
}

void bo_memq_prequeue_destroy(struct bo_memq_prequeue *pre) {
  free(pre->items);
  *pre = (struct bo_memq_prequeue){0};
}
