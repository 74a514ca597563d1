#include "timer_heap.h"

#include <assert.h>
#include <stdlib.h>

bool bo_timer_heap_init(struct bo_timer_heap *h, size_t capacity) {
  h->items = calloc(capacity ? capacity : 1, sizeof *h->items);
  h->count = 0;
  h->capacity = capacity;
  return h->items != NULL;
}

void bo_timer_heap_free(struct bo_timer_heap *h) {
  free(h->items);
  h->items = NULL;
  h->count = h->capacity = 0;
}

static void swap(struct bo_timer *a, struct bo_timer *b) {
  struct bo_timer t = *a;
  *a = *b;
  *b = t;
}

void bo_timer_heap_push(struct bo_timer_heap *h, uint64_t when_ns,
                        uint32_t slot) {
  assert(h->count < h->capacity);
  size_t i = h->count++;
  h->items[i] = (struct bo_timer){.when_ns = when_ns, .slot = slot};
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h->items[parent].when_ns <= h->items[i].when_ns)
      break;
    swap(&h->items[parent], &h->items[i]);
    i = parent;
  }
}

bool bo_timer_heap_pop_due(struct bo_timer_heap *h, uint64_t now_ns,
                           struct bo_timer *out) {
  if (h->count == 0 || h->items[0].when_ns > now_ns)
    return false;
  *out = h->items[0];
  h->items[0] = h->items[--h->count];
  size_t i = 0;
  for (;;) {
    size_t left = 2 * i + 1, right = left + 1, least = i;
    if (left < h->count && h->items[left].when_ns < h->items[least].when_ns)
      least = left;
    if (right < h->count && h->items[right].when_ns < h->items[least].when_ns)
      least = right;
    if (least == i)
      break;
    swap(&h->items[i], &h->items[least]);
    i = least;
  }
  return true;
}

uint64_t bo_timer_heap_next(const struct bo_timer_heap *h) {
  return h->count ? h->items[0].when_ns : UINT64_MAX;
}
