/* Entry storage for the memory queue: chunks of BO_MEMQ_CHUNK_SIZE entries
 * plus a free list threaded through the `link` field of free entries.
 * Indices, not pointers, everywhere else: 4 bytes instead of 8 in the hash
 * tables and the line, and chunks never move. Memory is kept at its
 * high-water mark (freed entries are reused, chunks are not returned). */
#include "queue/memory_internal.h"

#include <stdlib.h>
#include <string.h>

int bo_memq_slab_reserve(struct bo_memq_slab *slab) {
  if (slab->free_head != BO_MEMQ_NONE ||
      slab->used < slab->nchunks * BO_MEMQ_CHUNK_SIZE)
    return 0;
  if (slab->used >= BO_MEMQ_MAX_ENTRIES)
    return -1;
  if (slab->nchunks == slab->chunks_cap) {
    uint32_t cap = slab->chunks_cap ? slab->chunks_cap * 2 : 16;
    struct bo_memq_entry **chunks =
        realloc(slab->chunks, (size_t)cap * sizeof *chunks);
    if (chunks == NULL)
      return -1;
    slab->chunks = chunks;
    slab->chunks_cap = cap;
  }
  /* calloc: a fresh entry reads FREE with a zero token. */
  struct bo_memq_entry *chunk =
      calloc(BO_MEMQ_CHUNK_SIZE, sizeof(struct bo_memq_entry));
  if (chunk == NULL)
    return -1;
  slab->chunks[slab->nchunks++] = chunk;
  return 0;
}

uint32_t bo_memq_slab_alloc(struct bo_memq_slab *slab) {
  uint32_t index;
  if (slab->free_head != BO_MEMQ_NONE) {
    index = slab->free_head;
    slab->free_head = bo_memq_at(slab, index)->link;
  } else {
    index = slab->used++;
  }
  slab->live++;
  return index;
}

void bo_memq_slab_free(struct bo_memq_slab *slab, uint32_t index) {
  struct bo_memq_entry *entry = bo_memq_at(slab, index);
  /* Wipe the token so a freed entry can never match a lookup. */
  memset(entry, 0, sizeof *entry);
  entry->state = BO_MEMQ_FREE;
  entry->link = slab->free_head;
  slab->free_head = index;
  slab->live--;
}

void bo_memq_slab_destroy(struct bo_memq_slab *slab) {
  for (uint32_t i = 0; i < slab->nchunks; i++)
    free(slab->chunks[i]);
  free(slab->chunks);
  *slab = (struct bo_memq_slab){.free_head = BO_MEMQ_NONE};
}
