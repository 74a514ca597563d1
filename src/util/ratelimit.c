/* Token buckets per key, in a sharded hash table with bounded memory.
 *
 * The bucket. Each key has a level, counted in thousandths of a request so
 * that integer arithmetic is exact: a request costs 1000, and `rate`
 * requests per second refill exactly `rate` thousandths per millisecond, up
 * to `burst` * 1000. A refused request costs nothing (a client that backs
 * off as told is let in when Retry-After says), so the level is never
 * negative and the wait is simply the missing part divided by the rate. A
 * clock that steps back refills nothing and does not move the stamp back,
 * so it can neither hand out a new burst nor push a client's wait out.
 *
 * Why memory stays bounded. A bucket that has refilled to the brim is
 * indistinguishable from one never created, so it can be dropped without
 * anyone noticing. Buckets sit on a least-recently-used list; each call
 * drops a few brim-full ones from its old end, so the table holds about
 * the keys seen within the last burst/rate seconds. Beyond that there is a
 * hard cap (`max_keys`, split evenly over the shards, every bucket from a
 * pool allocated once): a shard that is full drops its least recently used
 * bucket even though it has not refilled yet. That key then starts over
 * with a full burst, which is lenient rather than wrong: a flood of
 * distinct keys (forged tokens, many addresses) can only wash out limits,
 * never refuse a client who has not used up its own.
 *
 * Why a keyed hash. Keys come from clients. SipHash with a key drawn at
 * start-up (libsodium's crypto_shorthash) means nobody can pick keys that
 * pile into one chain or one shard.
 *
 * Why shards. One mutex per shard, 64 shards: threads asking about
 * different keys rarely wait for each other, and each critical section is
 * a hash lookup and a few stores. */
#include "util/ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 64 /* a power of two */
#define MILLI 1000
#define RATE_MAX 1000000
/* Brim-full buckets dropped from the old end per call: more than one, so
 * that the sweep outpaces arrivals and the table shrinks when keys go
 * quiet. */
#define SWEEP_PER_CALL 2

struct bucket {
  struct bucket *next;          /* in its hash chain; in the free list */
  struct bucket *newer, *older; /* the shard's LRU list */
  int64_t level;                /* thousandths of a request available */
  int64_t stamp_ms;             /* when `level` was last brought up to date */
  uint64_t hash;
  uint8_t key_len;
  uint8_t key[BO_RATELIMIT_KEY_MAX];
};

struct shard {
  pthread_mutex_t lock;
  struct bucket **chains; /* `mask + 1` chain heads */
  struct bucket *pool;    /* `cap` buckets, handed out from the front */
  size_t pool_used;
  struct bucket *free;
  struct bucket *newest, *oldest;
  size_t count;
};

struct bo_ratelimit {
  int64_t rate;     /* thousandths per millisecond = requests per second */
  int64_t capacity; /* burst * MILLI */
  int64_t full_ms;  /* from empty to brim-full */
  size_t cap;       /* buckets per shard */
  size_t mask;
  unsigned char hash_key[crypto_shorthash_KEYBYTES];
  struct shard shards[SHARDS];
};

static uint64_t hash_of(const struct bo_ratelimit *limit, const void *key,
                        size_t len) {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, key, len, limit->hash_key);
  uint64_t h;
  memcpy(&h, out, sizeof h);
  return h;
}

struct bo_ratelimit *bo_ratelimit_create(int64_t rate, int64_t burst,
                                         size_t max_keys) {
  if (rate < 1 || rate > RATE_MAX || burst < 1 || burst > RATE_MAX ||
      max_keys < 1 || sodium_init() < 0)
    return NULL;
  struct bo_ratelimit *limit = calloc(1, sizeof *limit);
  if (limit == NULL)
    return NULL;
  limit->rate = rate;
  limit->capacity = burst * MILLI;
  limit->full_ms = (limit->capacity + rate - 1) / rate;
  limit->cap = (max_keys + SHARDS - 1) / SHARDS;
  size_t slots = 1;
  while (slots < limit->cap)
    slots *= 2;
  limit->mask = slots - 1;
  crypto_shorthash_keygen(limit->hash_key);
  for (size_t i = 0; i < SHARDS; i++) {
    struct shard *sh = &limit->shards[i];
    pthread_mutex_init(&sh->lock, NULL);
    /* calloc: pages of the pool that no key ever reaches are never
     * touched, so an idle limiter costs little more than its chains. */
    sh->chains = calloc(slots, sizeof *sh->chains);
    sh->pool = calloc(limit->cap, sizeof *sh->pool);
    if (sh->chains == NULL || sh->pool == NULL) {
      bo_ratelimit_destroy(limit);
      return NULL;
    }
  }
  return limit;
}

void bo_ratelimit_destroy(struct bo_ratelimit *limit) {
  if (limit == NULL)
    return;
  for (size_t i = 0; i < SHARDS; i++) {
    struct shard *sh = &limit->shards[i];
    free(sh->chains);
    free(sh->pool);
    pthread_mutex_destroy(&sh->lock);
  }
  free(limit);
}

/* ---- One shard, under its lock ----------------------------------------- */

static void lru_unlink(struct shard *sh, struct bucket *b) {
  if (b->newer)
    b->newer->older = b->older;
  else
    sh->newest = b->older;
  if (b->older)
    b->older->newer = b->newer;
  else
    sh->oldest = b->newer;
  b->newer = b->older = NULL;
}

static void lru_push_newest(struct shard *sh, struct bucket *b) {
  b->older = sh->newest;
  b->newer = NULL;
  if (sh->newest)
    sh->newest->newer = b;
  sh->newest = b;
  if (sh->oldest == NULL)
    sh->oldest = b;
}

static struct bucket **chain_of(const struct bo_ratelimit *limit,
                                struct shard *sh, uint64_t hash) {
  /* The low bits picked the shard; the next ones pick the chain. */
  return &sh->chains[(hash / SHARDS) & limit->mask];
}

static void drop(const struct bo_ratelimit *limit, struct shard *sh,
                 struct bucket *b) {
  struct bucket **link = chain_of(limit, sh, b->hash);
  while (*link != b)
    link = &(*link)->next;
  *link = b->next;
  lru_unlink(sh, b);
  b->next = sh->free;
  sh->free = b;
  sh->count--;
}

/* Brings the level up to `now_ms`. */
static void refill(const struct bo_ratelimit *limit, struct bucket *b,
                   int64_t now_ms) {
  if (now_ms <= b->stamp_ms)
    return; /* no time passed, or the clock stepped back */
  int64_t elapsed = now_ms - b->stamp_ms;
  if (elapsed >= limit->full_ms)
    b->level = limit->capacity;
  else
    b->level += elapsed * limit->rate;
  if (b->level > limit->capacity)
    b->level = limit->capacity;
  b->stamp_ms = now_ms;
}

static bool brim_full(const struct bo_ratelimit *limit, const struct bucket *b,
                      int64_t now_ms) {
  if (b->level >= limit->capacity)
    return true;
  int64_t elapsed = now_ms - b->stamp_ms;
  return elapsed >= limit->full_ms ||
         (elapsed > 0 && b->level + elapsed * limit->rate >= limit->capacity);
}

static void sweep(const struct bo_ratelimit *limit, struct shard *sh,
                  int64_t now_ms) {
  for (int i = 0; i < SWEEP_PER_CALL && sh->oldest; i++) {
    if (!brim_full(limit, sh->oldest, now_ms))
      return;
    drop(limit, sh, sh->oldest);
  }
}

static struct bucket *find(const struct bo_ratelimit *limit, struct shard *sh,
                           uint64_t hash, const void *key, size_t len) {
  for (struct bucket *b = *chain_of(limit, sh, hash); b; b = b->next)
    if (b->key_len == len && memcmp(b->key, key, len) == 0)
      return b;
  return NULL;
}

/* A brim-full bucket for a key not in the table. */
static struct bucket *add(const struct bo_ratelimit *limit, struct shard *sh,
                          uint64_t hash, const void *key, size_t len,
                          int64_t now_ms) {
  if (sh->count == limit->cap)
    drop(limit, sh, sh->oldest); /* lenient: see the essay above */
  struct bucket *b = sh->free;
  if (b)
    sh->free = b->next;
  else
    b = &sh->pool[sh->pool_used++];
  memset(b, 0, sizeof *b);
  b->hash = hash;
  b->key_len = (uint8_t)len;
  memcpy(b->key, key, len);
  b->level = limit->capacity;
  b->stamp_ms = now_ms;
  struct bucket **head = chain_of(limit, sh, hash);
  b->next = *head;
  *head = b;
  lru_push_newest(sh, b);
  sh->count++;
  return b;
}

bool bo_ratelimit_take(struct bo_ratelimit *limit, const void *key,
                       size_t key_len, int64_t now_ms, int64_t *retry_ms) {
  if (key_len > BO_RATELIMIT_KEY_MAX)
    key_len = BO_RATELIMIT_KEY_MAX; /* documented as the caller's bug */
  uint64_t hash = hash_of(limit, key, key_len);
  struct shard *sh = &limit->shards[hash % SHARDS];
  bool allowed;

  pthread_mutex_lock(&sh->lock);
  sweep(limit, sh, now_ms);
  struct bucket *b = find(limit, sh, hash, key, key_len);
  if (b) {
    refill(limit, b, now_ms);
    lru_unlink(sh, b);
    lru_push_newest(sh, b);
  } else {
    b = add(limit, sh, hash, key, key_len, now_ms);
  }
  allowed = b->level >= MILLI;
  if (allowed)
    b->level -= MILLI;
  else if (retry_ms)
    *retry_ms = (MILLI - b->level + limit->rate - 1) / limit->rate;
  pthread_mutex_unlock(&sh->lock);
  return allowed;
}

size_t bo_ratelimit_keys(struct bo_ratelimit *limit) {
  size_t n = 0;
  for (size_t i = 0; i < SHARDS; i++) {
    struct shard *sh = &limit->shards[i];
    pthread_mutex_lock(&sh->lock);
    n += sh->count;
    pthread_mutex_unlock(&sh->lock);
  }
  return n;
}
