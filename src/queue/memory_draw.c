/* The draw of the memory queue's pre-queue (queue.h, "Lines"; draw.h for
 * the hashing). Joins before policy.on_sale_at_ms wait in the pre-queue;
 * the first step at or after it calls bo_memq_draw(), which names every
 * entry by its entry id, sorts them with the policy's seed and pushes them
 * onto the line in that order, each seen at the draw's time. The step runs
 * the draw before anything else, and a join always steps first, so every
 * join made after the on-sale lands behind the drawn.
 *
 * All or nothing: everything the draw needs (the sort array, the kept copy
 * of the ids, room in the ring for every entry) is allocated before any
 * entry moves. If memory runs out the line stays undrawn and admits nobody,
 * and the next step tries again; a half draw would put some of the
 * pre-queue behind later joins.
 *
 * Cost, n entries: n SHA-256 and n HMAC-SHA256 of 32 bytes, a qsort, n
 * pushes: O(n log n), once, under the driver's lock, so every call on this
 * line waits for it (other lines do not). Measured by test_queue_memory_
 * draw.c on a 2-core build box: 3.5-5 us per entry, most of it the two
 * hashes (draw.c, libsodium): about 0.4 s for 100,000 entries, several
 * seconds for 1,000,000. Memory while drawing: 72 bytes per entry for the
 * sort, freed at once; 32 per entry kept for draw_result() for the life of
 * the line.
 *
 * A line draws once. An on-sale time set again after the draw opens no new
 * pre-queue (its entries could never be drawn). An on-sale time removed
 * (0) while people wait in the pre-queue draws them at the next step, so
 * nobody is stranded there. An on-sale time set on a line where people
 * already wait holds them too until the draw, and the drawn then go behind
 * them: they joined first. */
#include "queue/memory_internal.h"

#include <stdlib.h>
#include <string.h>

bool bo_memq_draw_pending(const struct bo_memq *q) {
  return !q->drawn.done && (q->policy.on_sale_at_ms > 0 || q->pre.count > 0);
}

bool bo_memq_draw_due(const struct bo_memq *q, int64_t now_ms) {
  /* No on-sale time but a pre-queue: the on-sale was called off. */
  return bo_memq_draw_pending(q) &&
         (q->policy.on_sale_at_ms == 0 || now_ms >= q->policy.on_sale_at_ms);
}

int bo_memq_draw(struct bo_memq *q, int64_t now_ms) {
  uint32_t n = q->pre.count;
  struct bo_draw_entry *entries = NULL;
  uint8_t(*ids)[BO_DRAW_ID_BYTES] = NULL;
  if (n > 0) {
    entries = malloc((size_t)n * sizeof *entries);
    ids = malloc((size_t)n * sizeof *ids);
    if (entries == NULL || ids == NULL ||
        bo_memq_line_reserve(&q->line, &q->slab, n) != 0) {
      free(entries);
      free(ids);
      return -1;
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t index = q->pre.items[i];
    bo_draw_entry_id(&bo_memq_at(&q->slab, index)->token, entries[i].id);
    entries[i].ref = index;
  }
  bo_draw_sort(q->policy.seed, entries, n);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t index = (uint32_t)entries[i].ref;
    bo_memq_at(&q->slab, index)->state = BO_MEMQ_WAITING;
    bo_memq_line_push(&q->line, &q->slab, index);
    bo_memq_idle_push(&q->idle, &q->slab, index, now_ms);
    memcpy(ids[i], entries[i].id, sizeof ids[i]);
  }
  free(entries);
  bo_memq_prequeue_destroy(&q->pre);
  q->drawn = (struct bo_memq_drawn){
      .done = true, .at_ms = now_ms, .count = n, .ids = ids};
  /* The measured rate starts over: the time before the draw admitted
   * nobody and says nothing about how fast the line moves. */
  q->admitting = true;
  q->admitting_since_ms = now_ms;
  return 0;
}

void bo_memq_draw_destroy(struct bo_memq_drawn *drawn) {
  free(drawn->ids);
  *drawn = (struct bo_memq_drawn){0};
}
