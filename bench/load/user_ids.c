#include "user_ids.h"

void bo_load_user_ids_init(struct bo_load_user_ids *ids, int64_t first,
                           int64_t count) {
  atomic_init(&ids->next, first);
  ids->first = first;
  ids->end = first + count;
}

bool bo_load_user_ids_take(struct bo_load_user_ids *ids, int64_t *user) {
  *user = atomic_fetch_add(&ids->next, 1);
  return *user < ids->end;
}

/* Every connection that finds none left still moved the counter on. */
int64_t bo_load_user_ids_taken(struct bo_load_user_ids *ids) {
  int64_t next = atomic_load(&ids->next);
  return (next < ids->end ? next : ids->end) - ids->first;
}
