#include "booking/seat_snapshots.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Enough that concurrent readers of different schedules rarely share a
 * mutex, and that a change to one schedule rarely drops another's map
 * (schedules sharing a stripe share its change counter). */
#define STRIPES 256

struct snapshot {
  struct snapshot *next;
  int64_t schedule_id;
  int64_t fresh_until_ms; /* served while now < this */
  int32_t available;      /* seats AVAILABLE in the map */
  size_t len;
  char *text;
};

struct stripe {
  pthread_mutex_t lock;
  uint64_t version; /* bumped by every change published to the stripe */
  struct snapshot *head;
};

struct bo_seat_snapshots {
  int64_t max_age_ms;
  struct stripe stripes[STRIPES];
};

static struct stripe *stripe_of(struct bo_seat_snapshots *s, int64_t id) {
  /* Fibonacci hashing: consecutive ids land in different stripes. */
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
  return &s->stripes[h >> 56];
}

static struct snapshot **find(struct stripe *stripe, int64_t schedule_id) {
  struct snapshot **at = &stripe->head;
  while (*at != NULL && (*at)->schedule_id != schedule_id)
    at = &(*at)->next;
  return at;
}

static void drop(struct snapshot **at) {
  struct snapshot *gone = *at;
  *at = gone->next;
  free(gone->text);
  free(gone);
}

struct bo_seat_snapshots *bo_seat_snapshots_new(int64_t max_age_ms) {
  _Static_assert(STRIPES == 256, "stripe_of() takes the top 8 bits");
  struct bo_seat_snapshots *s = calloc(1, sizeof *s);
  if (s == NULL)
    return NULL;
  s->max_age_ms = max_age_ms;
  for (int i = 0; i < STRIPES; i++)
    pthread_mutex_init(&s->stripes[i].lock, NULL);
  return s;
}

void bo_seat_snapshots_free(struct bo_seat_snapshots *s) {
  if (s == NULL)
    return;
  for (int i = 0; i < STRIPES; i++) {
    while (s->stripes[i].head != NULL)
      drop(&s->stripes[i].head);
    pthread_mutex_destroy(&s->stripes[i].lock);
  }
  free(s);
}

bool bo_seat_snapshots_get(struct bo_seat_snapshots *s, int64_t schedule_id,
                           int64_t now_ms, char **text, size_t *len,
                           int32_t *available, uint64_t *version) {
  if (text != NULL) {
    *text = NULL;
    *len = 0;
  }
  *available = 0;
  *version = 0;
  if (s == NULL || s->max_age_ms <= 0)
    return false;
  struct stripe *stripe = stripe_of(s, schedule_id);
  bool hit = false;
  pthread_mutex_lock(&stripe->lock);
  struct snapshot **at = find(stripe, schedule_id);
  if (*at != NULL && now_ms < (*at)->fresh_until_ms) {
    *available = (*at)->available;
    hit = true;
    if (text != NULL) {
      *text = malloc((*at)->len);
      if (*text != NULL) {
        memcpy(*text, (*at)->text, (*at)->len);
        *len = (*at)->len;
      } else {
        hit = false; /* out of memory: the caller builds its own */
      }
    }
  } else if (*at != NULL) {
    drop(at); /* out of date: free it now rather than at the next put */
  }
  *version = stripe->version;
  pthread_mutex_unlock(&stripe->lock);
  return hit;
}

void bo_seat_snapshots_put(struct bo_seat_snapshots *s, int64_t schedule_id,
                           uint64_t version, int64_t now_ms,
                           int64_t changes_at_ms, int32_t available,
                           const char *text, size_t len) {
  if (s == NULL || s->max_age_ms <= 0)
    return;
  int64_t fresh_until = now_ms + s->max_age_ms;
  if (changes_at_ms > 0 && changes_at_ms < fresh_until)
    fresh_until = changes_at_ms;
  if (fresh_until <= now_ms)
    return;
  /* Allocated before taking the lock, and thrown away if not needed. */
  struct snapshot *fresh = malloc(sizeof *fresh);
  char *copy = malloc(len);
  if (fresh == NULL || copy == NULL) {
    free(fresh);
    free(copy);
    return;
  }
  memcpy(copy, text, len);
  *fresh = (struct snapshot){.schedule_id = schedule_id,
                             .fresh_until_ms = fresh_until,
                             .available = available,
                             .len = len,
                             .text = copy};

  struct stripe *stripe = stripe_of(s, schedule_id);
  pthread_mutex_lock(&stripe->lock);
  if (stripe->version == version) {
    struct snapshot **at = find(stripe, schedule_id);
    if (*at != NULL)
      drop(at);
    fresh->next = stripe->head;
    stripe->head = fresh;
    fresh = NULL;
  }
  pthread_mutex_unlock(&stripe->lock);
  if (fresh != NULL) { /* a change overtook the read this map came from */
    free(fresh->text);
    free(fresh);
  }
}

void bo_seat_snapshots_changed(struct bo_seat_snapshots *s,
                               int64_t schedule_id) {
  if (s == NULL)
    return;
  struct stripe *stripe = stripe_of(s, schedule_id);
  pthread_mutex_lock(&stripe->lock);
  stripe->version++;
  struct snapshot **at = find(stripe, schedule_id);
  if (*at != NULL)
    drop(at);
  pthread_mutex_unlock(&stripe->lock);
}
