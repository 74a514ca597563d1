/* Rate limits: one token bucket per key (a queue token, a client address),
 * in this process's memory. Thread-safe; the caller supplies the time, so
 * tests move it by hand. See ratelimit.c for how memory stays bounded. */
#ifndef BO_UTIL_RATELIMIT_H
#define BO_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys are at most this long (a queue token's bytes, an address). */
#define BO_RATELIMIT_KEY_MAX 16

struct bo_ratelimit;

/* `rate` requests per second per key on average, `burst` at once after a
 * quiet spell; at most `max_keys` keys are remembered (see ratelimit.c for
 * what happens past that). rate and burst from 1 to 1,000,000. NULL when
 * memory runs out or a value is out of range. */
struct bo_ratelimit *bo_ratelimit_create(int64_t rate, int64_t burst,
                                         size_t max_keys);
void bo_ratelimit_destroy(struct bo_ratelimit *limit);

/* One request for `key` (1 to BO_RATELIMIT_KEY_MAX bytes) at `now_ms`.
 * True when it is allowed. When it is not, *retry_ms (if not NULL) is how
 * long until one request would be, at least 1. */
bool bo_ratelimit_take(struct bo_ratelimit *limit, const void *key,
                       size_t key_len, int64_t now_ms, int64_t *retry_ms);

/* Keys remembered now (for tests and diagnostics). */
size_t bo_ratelimit_keys(struct bo_ratelimit *limit);

#endif
