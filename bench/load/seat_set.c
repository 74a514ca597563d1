#include "seat_set.h"

#include <stdlib.h>

bool bo_seat_set_init(struct bo_seat_set *s, uint32_t total) {
  s->free = calloc(total ? total : 1, sizeof *s->free);
  s->position = calloc(total ? total : 1, sizeof *s->position);
  s->free_count = s->total = total;
  if (!s->free || !s->position) {
    bo_seat_set_free(s);
    return false;
  }
  for (uint32_t seat = 0; seat < total; seat++)
    s->free[seat] = s->position[seat] = seat;
  return true;
}

void bo_seat_set_free(struct bo_seat_set *s) {
  free(s->free);
  free(s->position);
  s->free = s->position = NULL;
  s->free_count = s->total = 0;
}

uint32_t bo_seat_set_pick(const struct bo_seat_set *s, struct bo_rng *rng) {
  if (s->free_count == 0)
    return BO_SEAT_NONE;
  return s->free[bo_rng_below(rng, s->free_count)];
}

void bo_seat_set_take(struct bo_seat_set *s, uint32_t seat) {
  if (seat >= s->total || s->position[seat] == BO_SEAT_NONE)
    return;
  uint32_t at = s->position[seat];
  uint32_t last = s->free[--s->free_count];
  s->free[at] = last;
  s->position[last] = at;
  s->position[seat] = BO_SEAT_NONE;
}
