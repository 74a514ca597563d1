/* The seats one thread does not yet know to be taken: what a seat map
 * would tell its users. Picking a random one and crossing one out are
 * both O(1) (an array of the free seats and each seat's place in it). */
#ifndef BO_LOAD_SEAT_SET_H
#define BO_LOAD_SEAT_SET_H

#include "rng.h"

#include <stdbool.h>
#include <stdint.h>

#define BO_SEAT_NONE UINT32_MAX

struct bo_seat_set {
  uint32_t *free;     /* free[0 .. free_count-1]: the seats still free */
  uint32_t *position; /* position[seat]: its index in free, or NONE */
  uint32_t free_count;
  uint32_t total;
};

/* Seats 0 .. total-1, all free. False when memory runs out. */
bool bo_seat_set_init(struct bo_seat_set *s, uint32_t total);
void bo_seat_set_free(struct bo_seat_set *s);
/* A random free seat, or BO_SEAT_NONE when every seat is taken. */
uint32_t bo_seat_set_pick(const struct bo_seat_set *s, struct bo_rng *rng);
void bo_seat_set_take(struct bo_seat_set *s, uint32_t seat);

#endif
