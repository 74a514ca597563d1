/* Deadlines of the memory queue: a binary min-heap of ACTIVE entries (keyed
 * by expires_at) and SPENT ones (keyed by when they are forgotten). Every
 * operation first pops whatever is due, so the top is the only entry it
 * ever needs to look at: O(1) when nothing is due, O(log n) per entry that
 * is. A heap rather than a FIFO because the caller's clock is the wall
 * clock, which can step back; the heap does not care in which order
 * deadlines arrive. Each entry keeps its heap position in `link`, so a
 * token that leaves early is removed or re-keyed in O(log n). */
#include "queue/memory_internal.h"

#include <stdlib.h>

static int64_t bo_memq_heap_key(const struct bo_memq_heap *heap,
                                const struct bo_memq_slab *slab, uint32_t pos) {
  return bo_memq_at(slab, heap->items[pos])->u.deadline_ms;
}

static void bo_memq_heap_set(struct bo_memq_heap *heap,
                             struct bo_memq_slab *slab, uint32_t pos,
                             uint32_t index) {
  heap->items[pos] = index;
  bo_memq_at(slab, index)->link = pos;
}

static void bo_memq_heap_up(struct bo_memq_heap *heap,
                            struct bo_memq_slab *slab, uint32_t pos) {
  uint32_t index = heap->items[pos];
  int64_t key = bo_memq_at(slab, index)->u.deadline_ms;
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (bo_memq_heap_key(heap, slab, parent) <= key)
      break;
    bo_memq_heap_set(heap, slab, pos, heap->items[parent]);
    pos = parent;
  }
  bo_memq_heap_set(heap, slab, pos, index);
}

static void bo_memq_heap_down(struct bo_memq_heap *heap,
                              struct bo_memq_slab *slab, uint32_t pos) {
  uint32_t index = heap->items[pos];
  int64_t key = bo_memq_at(slab, index)->u.deadline_ms;
  for (;;) {
    uint64_t child = (uint64_t)pos * 2 + 1;
    if (child >= heap->count)
      break;
    if (child + 1 < heap->count && bo_memq_heap_key(heap, slab, child + 1) <
                                       bo_memq_heap_key(heap, slab, child))
      child++;
    if (key <= bo_memq_heap_key(heap, slab, child))
      break;
    bo_memq_heap_set(heap, slab, pos, heap->items[child]);
    pos = (uint32_t)child;
  }
  bo_memq_heap_set(heap, slab, pos, index);
}

int bo_memq_heap_reserve(struct bo_memq_heap *heap, uint32_t extra) {
  uint64_t need = (uint64_t)heap->count + extra;
  if (need <= heap->cap)
    return 0;
  uint64_t cap = heap->cap ? heap->cap : 16;
  while (cap < need)
    cap *= 2;
  if (cap > BO_MEMQ_MAX_ENTRIES)
    return -1;
  uint32_t *items = realloc(heap->items, cap * sizeof *items);
  if (items == NULL)
    return -1;
  heap->items = items;
  heap->cap = (uint32_t)cap;
  return 0;
}

void bo_memq_heap_push(struct bo_memq_heap *heap, struct bo_memq_slab *slab,
                       uint32_t index) {
  uint32_t pos = heap->count++;
  bo_memq_heap_set(heap, slab, pos, index);
  bo_memq_heap_up(heap, slab, pos);
}

void bo_memq_heap_remove(struct bo_memq_heap *heap, struct bo_memq_slab *slab,
                         uint32_t index) {
  uint32_t pos = bo_memq_at(slab, index)->link;
  uint32_t last = heap->items[--heap->count];
  if (pos == heap->count)
    return;
  bo_memq_heap_set(heap, slab, pos, last);
  bo_memq_heap_fix(heap, slab, last);
}

void bo_memq_heap_fix(struct bo_memq_heap *heap, struct bo_memq_slab *slab,
                      uint32_t index) {
  uint32_t pos = bo_memq_at(slab, index)->link;
  bo_memq_heap_up(heap, slab, pos);
  bo_memq_heap_down(heap, slab, bo_memq_at(slab, index)->link);
}

uint32_t bo_memq_heap_top(const struct bo_memq_heap *heap) {
  return heap->count ? heap->items[0] : BO_MEMQ_NONE;
}

void bo_memq_heap_destroy(struct bo_memq_heap *heap) {
  free(heap->items);
  *heap = (struct bo_memq_heap){0};
}
