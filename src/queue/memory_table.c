/* The memory queue's two indexes (token -> entry, user -> entry): open
 * addressing with linear probing over 4-byte entry indices, at most 3/4
 * full. Removal shifts the rest of the probe run back instead of leaving
 * tombstones, so a table that sees millions of joins and leaves never
 * fills up with dead slots and lookups stay short.
 *
 * The token table hashes the first 8 token bytes as they are: tokens are
 * 128 random bits from the kernel, and a caller cannot choose them (a
 * forged token is only looked up, never stored). User ids are
 * small consecutive integers, so they go through a 64-bit mixer first. */
#include "queue/memory_internal.h"

#include <stdlib.h>
#include <string.h>

#define BO_MEMQ_TABLE_MIN 16

static uint64_t bo_memq_hash_token(const struct bo_token *token) {
  uint64_t h;
  memcpy(&h, token->bytes, sizeof h);
  return h;
}

/* splitmix64's finaliser: every input bit reaches every output bit. */
static uint64_t bo_memq_hash_user(int64_t user_id) {
  uint64_t x = (uint64_t)user_id;
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

static uint64_t bo_memq_hash_entry(const struct bo_memq_table *table,
                                   const struct bo_memq_slab *slab,
                                   uint32_t index) {
  const struct bo_memq_entry *entry = bo_memq_at(slab, index);
  return table->key == BO_MEMQ_BY_TOKEN ? bo_memq_hash_token(&entry->token)
                                        : bo_memq_hash_user(entry->user_id);
}

static void bo_memq_table_place(uint32_t *slots, uint32_t mask, uint64_t hash,
                                uint32_t index) {
  uint32_t pos = (uint32_t)hash & mask;
  while (slots[pos] != BO_MEMQ_NONE)
    pos = (pos + 1) & mask;
  slots[pos] = index;
}

int bo_memq_table_reserve(struct bo_memq_table *table,
                          const struct bo_memq_slab *slab, uint32_t extra) {
  uint64_t need = (uint64_t)table->count + extra;
  uint64_t cap = table->slots ? (uint64_t)table->mask + 1 : 0;
  if (need * 4 <= cap * 3)
    return 0;
  uint64_t new_cap = cap ? cap : BO_MEMQ_TABLE_MIN;
  while (need * 4 > new_cap * 3)
    new_cap *= 2;
  if (new_cap > (UINT64_C(1) << 31))
    return -1;
  uint32_t *slots = malloc(new_cap * sizeof *slots);
  if (slots == NULL)
    return -1;
  /* BO_MEMQ_NONE is all ones, so a byte fill writes it. */
  memset(slots, 0xff, new_cap * sizeof *slots);
  uint32_t new_mask = (uint32_t)(new_cap - 1);
  for (uint64_t i = 0; i < cap; i++)
    if (table->slots[i] != BO_MEMQ_NONE)
      bo_memq_table_place(slots, new_mask,
                          bo_memq_hash_entry(table, slab, table->slots[i]),
                          table->slots[i]);
  free(table->slots);
  table->slots = slots;
  table->mask = new_mask;
  return 0;
}

void bo_memq_table_insert(struct bo_memq_table *table,
                          const struct bo_memq_slab *slab, uint32_t index) {
  bo_memq_table_place(table->slots, table->mask,
                      bo_memq_hash_entry(table, slab, index), index);
  table->count++;
}

void bo_memq_table_remove(struct bo_memq_table *table,
                          const struct bo_memq_slab *slab, uint32_t index) {
  uint32_t mask = table->mask;
  uint32_t hole = (uint32_t)bo_memq_hash_entry(table, slab, index) & mask;
  while (table->slots[hole] != index)
    hole = (hole + 1) & mask;
  /* Backward shift: a later member of the run may move into the hole when
   * its home slot is not after the hole, so every member stays reachable
   * from its home without crossing an empty slot. */
  for (uint32_t j = (hole + 1) & mask; table->slots[j] != BO_MEMQ_NONE;
       j = (j + 1) & mask) {
    uint32_t home =
        (uint32_t)bo_memq_hash_entry(table, slab, table->slots[j]) & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      table->slots[hole] = table->slots[j];
      hole = j;
    }
  }
  table->slots[hole] = BO_MEMQ_NONE;
  table->count--;
}

uint32_t bo_memq_table_find_token(const struct bo_memq_table *table,
                                  const struct bo_memq_slab *slab,
                                  const struct bo_token *token) {
  if (table->slots == NULL)
    return BO_MEMQ_NONE;
  uint32_t pos = (uint32_t)bo_memq_hash_token(token) & table->mask;
  for (uint32_t index; (index = table->slots[pos]) != BO_MEMQ_NONE;
       pos = (pos + 1) & table->mask)
    if (bo_token_equal(&bo_memq_at(slab, index)->token, token))
      return index;
  return BO_MEMQ_NONE;
}

uint32_t bo_memq_table_find_user(const struct bo_memq_table *table,
                                 const struct bo_memq_slab *slab,
                                 int64_t user_id) {
  if (table->slots == NULL)
    return BO_MEMQ_NONE;
  uint32_t pos = (uint32_t)bo_memq_hash_user(user_id) & table->mask;
  for (uint32_t index; (index = table->slots[pos]) != BO_MEMQ_NONE;
       pos = (pos + 1) & table->mask)
    if (bo_memq_at(slab, index)->user_id == user_id)
      return index;
  return BO_MEMQ_NONE;
}

void bo_memq_table_destroy(struct bo_memq_table *table) {
  free(table->slots);
  table->slots = NULL;
  table->mask = 0;
  table->count = 0;
}
