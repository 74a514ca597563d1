/* A small, fast random generator (xoshiro256**), one per thread so that a
 * run is repeatable from --seed and draws need no lock. Not for secrets. */
#ifndef BO_LOAD_RNG_H
#define BO_LOAD_RNG_H

#include <stdint.h>

struct bo_rng {
  uint64_t s[4];
};

/* Different streams for different `stream` values under one seed. */
void bo_rng_seed(struct bo_rng *r, uint64_t seed, uint64_t stream);
uint64_t bo_rng_next(struct bo_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t bo_rng_below(struct bo_rng *r, uint64_t n);

#endif
