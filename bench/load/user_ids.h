/* The user ids of --users FIRST:COUNT, handed out to the connections of
 * every thread as they ask, each id once: the tokens and purchase
 * workloads take a fresh user whenever one is done. */
#ifndef BO_LOAD_USER_IDS_H
#define BO_LOAD_USER_IDS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bo_load_user_ids {
  atomic_int_fast64_t next;
  int64_t first;
  int64_t end; /* one past the last */
};

void bo_load_user_ids_init(struct bo_load_user_ids *ids, int64_t first,
                           int64_t count);
/* False when every id has been handed out. */
bool bo_load_user_ids_take(struct bo_load_user_ids *ids, int64_t *user);
/* How many ids have been handed out. */
int64_t bo_load_user_ids_taken(struct bo_load_user_ids *ids);

#endif
