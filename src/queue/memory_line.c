/* The waiting line of the memory queue.
 *
 * Each join takes the next sequence number (tail++). Slot seq % cap of a
 * ring holds the entry, and the entry remembers its slot (4 bytes; only
 * head and tail keep whole sequence numbers). When a waiting entry leaves
 * from the middle, by leave() or by idle timeout, its slot becomes a hole.
 * A Fenwick tree over the ring slots holds 1 per occupied slot, so "how
 * many wait ahead of me" is a range sum from the head's slot to mine,
 * O(log cap), whatever holes lie between: idle timeouts make holes
 * anywhere, so the count must not assume a gap-free line.
 *
 * The ring is rebuilt (entries renumbered head, head+1, ..., order kept)
 * when the span tail - head reaches the capacity, and when it is less than
 * 1/8 full. The new capacity is the power of two at least 1.5 * (count+1)
 * (count + n when the draw makes room for n pushes at once):
 * after a rebuild at least a third of the ring is free, so the O(cap)
 * rebuild is paid for by the pushes (or the holes: each hole is made by one
 * leave or idle timeout) since the last one. 8 bytes per slot (ring +
 * tree); a growing line has 1x-3x slots per waiting entry (8-24 bytes), a
 * draining one up to 8x before it shrinks. */
#include "queue/memory_internal.h"

#include <stdlib.h>
#include <string.h>

#define BO_MEMQ_LINE_MIN 16

static uint32_t bo_memq_lowbit(uint32_t k) {
  return k & (~k + 1);
}

/* Sum of the leaves in slots [0, slot). */
static uint32_t bo_memq_line_prefix(const struct bo_memq_line *line,
                                    uint32_t slot) {
  uint32_t sum = 0;
  for (uint32_t k = slot; k > 0; k -= bo_memq_lowbit(k))
    sum += line->tree[k];
  return sum;
}

/* Adds delta (+1 or -1, as unsigned wrap-around) to the leaf of `slot`. */
static void bo_memq_line_add(struct bo_memq_line *line, uint32_t slot,
                             uint32_t delta) {
  for (uint32_t k = slot + 1; k <= line->cap; k += bo_memq_lowbit(k))
    line->tree[k] += delta;
}

/* For `need` entries (those waiting plus those about to be pushed). */
static uint32_t bo_memq_line_target(uint64_t need) {
  uint64_t want = need;
  want += want / 2;
  uint64_t cap = BO_MEMQ_LINE_MIN;
  while (cap < want)
    cap *= 2;
  return (uint32_t)cap;
}

/* Moves the waiting entries, in order and without holes, into fresh arrays
 * of new_cap slots, starting at the same head. -1 if memory ran out, and
 * then nothing changed. */
static int bo_memq_line_rebuild(struct bo_memq_line *line,
                                struct bo_memq_slab *slab, uint32_t new_cap) {
  uint32_t *ring = malloc((size_t)new_cap * sizeof *ring);
  uint32_t *tree = calloc((size_t)new_cap + 1, sizeof *tree);
  if (ring == NULL || tree == NULL) {
    free(ring);
    free(tree);
    return -1;
  }
  memset(ring, 0xff, (size_t)new_cap * sizeof *ring); /* all BO_MEMQ_NONE */
  uint32_t old_mask = line->cap - 1, new_mask = new_cap - 1;
  uint64_t seq = line->head;
  for (uint64_t s = line->head; s < line->tail; s++) {
    uint32_t index = line->ring[s & old_mask];
    if (index == BO_MEMQ_NONE)
      continue;
    ring[seq & new_mask] = index;
    tree[(seq & new_mask) + 1] = 1;
    bo_memq_at(slab, index)->u.waiting.slot = (uint32_t)(seq & new_mask);
    seq++;
  }
  /* Linear-time Fenwick build: each node passes its sum to its parent. */
  for (uint32_t k = 1; k <= new_cap; k++) {
    uint64_t parent = (uint64_t)k + bo_memq_lowbit(k);
    if (parent <= new_cap)
      tree[parent] += tree[k];
  }
  free(line->ring);
  free(line->tree);
  line->ring = ring;
  line->tree = tree;
  line->cap = new_cap;
  line->tail = seq;
  return 0;
}

int bo_memq_line_reserve(struct bo_memq_line *line, struct bo_memq_slab *slab,
                         uint32_t extra) {
  if (line->tail - line->head + extra <= line->cap)
    return 0;
  uint64_t need = (uint64_t)line->count + extra;
  if (need > BO_MEMQ_MAX_ENTRIES)
    return -1;
  return bo_memq_line_rebuild(line, slab, bo_memq_line_target(need));
}

void bo_memq_line_push(struct bo_memq_line *line, struct bo_memq_slab *slab,
                       uint32_t index) {
  uint64_t seq = line->tail++;
  uint32_t slot = (uint32_t)(seq & (line->cap - 1));
  line->ring[slot] = index;
  bo_memq_line_add(line, slot, 1);
  line->count++;
  bo_memq_at(slab, index)->u.waiting.slot = slot;
}

void bo_memq_line_remove(struct bo_memq_line *line, struct bo_memq_slab *slab,
                         uint32_t index) {
  uint32_t mask = line->cap - 1;
  uint32_t slot = bo_memq_at(slab, index)->u.waiting.slot;
  line->ring[slot] = BO_MEMQ_NONE;
  bo_memq_line_add(line, slot, UINT32_MAX);
  line->count--;
  /* Keep the head on a waiting entry, so front() is O(1); each hole is
   * stepped over once. */
  while (line->head < line->tail &&
         line->ring[line->head & mask] == BO_MEMQ_NONE)
    line->head++;
  /* Give memory back after a long line drained. Failure only means the
   * ring stays larger than it needs to be. */
  if (line->cap > BO_MEMQ_LINE_MIN && line->count < line->cap / 8)
    (void)bo_memq_line_rebuild(line, slab,
                               bo_memq_line_target((uint64_t)line->count + 1));
}

uint32_t bo_memq_line_front(const struct bo_memq_line *line) {
  if (line->count == 0)
    return BO_MEMQ_NONE;
  return line->ring[line->head & (line->cap - 1)];
}

uint32_t bo_memq_line_ahead(const struct bo_memq_line *line,
                            const struct bo_memq_entry *entry) {
  uint32_t mask = line->cap - 1;
  uint32_t head = (uint32_t)(line->head & mask);
  uint32_t mine = entry->u.waiting.slot;
  uint32_t before_head = bo_memq_line_prefix(line, head);
  if (mine >= head)
    return bo_memq_line_prefix(line, mine) - before_head;
  /* The run wraps: from the head to the end of the ring, then from 0. */
  return line->count - before_head + bo_memq_line_prefix(line, mine);
}

void bo_memq_line_destroy(struct bo_memq_line *line) {
  free(line->ring);
  free(line->tree);
  *line = (struct bo_memq_line){0};
}
