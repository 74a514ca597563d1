/* A chained hash table of address -> open connections, under one mutex:
 * connections open and close far less often than requests arrive, and each
 * critical section is one short chain walk. An entry lives while its count
 * is above zero, so the table holds at most as many entries as there are
 * open connections. Chains are picked by a keyed hash (SipHash with a key
 * drawn at start), so clients cannot choose addresses that pile into one
 * chain. */
#include "http/conn_limit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CHAINS_MIN 256

struct entry {
  struct entry *next;
  struct bo_netaddr key;
  int64_t open;
};

struct bo_conn_limit {
  int64_t per_address;
  struct bo_netrange exempt[BO_NETRANGE_LIST_MAX];
  int exempt_count;
  unsigned char hash_key[crypto_shorthash_KEYBYTES];
  pthread_mutex_t lock;
  struct entry **chains;
  size_t mask;
  size_t count;
};

struct bo_conn_limit *bo_conn_limit_create(int64_t per_address,
                                           const struct bo_netrange *exempt,
                                           int exempt_count, size_t expected) {
  if (per_address < 1 || exempt_count < 0 ||
      exempt_count > BO_NETRANGE_LIST_MAX || sodium_init() < 0)
    return NULL;
  struct bo_conn_limit *limit = calloc(1, sizeof *limit);
  if (limit == NULL)
    return NULL;
  limit->per_address = per_address;
  if (exempt_count > 0)
    memcpy(limit->exempt, exempt, (size_t)exempt_count * sizeof *exempt);
  limit->exempt_count = exempt_count;
  crypto_shorthash_keygen(limit->hash_key);
  size_t chains = CHAINS_MIN;
  while (chains < expected / 2)
    chains *= 2;
  limit->mask = chains - 1;
  limit->chains = calloc(chains, sizeof *limit->chains);
  if (limit->chains == NULL) {
    free(limit);
    return NULL;
  }
  pthread_mutex_init(&limit->lock, NULL);
  return limit;
}

void bo_conn_limit_destroy(struct bo_conn_limit *limit) {
  if (limit == NULL)
    return;
  for (size_t i = 0; i <= limit->mask; i++) {
    struct entry *e = limit->chains[i];
    while (e) {
      struct entry *next = e->next;
      free(e);
      e = next;
    }
  }
  free(limit->chains);
  pthread_mutex_destroy(&limit->lock);
  free(limit);
}

static bool exempt(const struct bo_conn_limit *limit,
                   const struct bo_netaddr *addr) {
  for (int i = 0; i < limit->exempt_count; i++)
    if (bo_netrange_contains(&limit->exempt[i], addr))
      return true;
  return false;
}

/* The chain link that holds `key`, or the empty link at its chain's end. */
static struct entry **slot(struct bo_conn_limit *limit,
                           const struct bo_netaddr *key) {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, key->bytes, sizeof key->bytes, limit->hash_key);
  uint64_t h;
  memcpy(&h, out, sizeof h);
  struct entry **link = &limit->chains[h & limit->mask];
  while (*link && memcmp((*link)->key.bytes, key->bytes, sizeof key->bytes))
    link = &(*link)->next;
  return link;
}

bool bo_conn_limit_admits(struct bo_conn_limit *limit,
                          const struct bo_netaddr *addr) {
  if (exempt(limit, addr))
    return true;
  struct bo_netaddr key = bo_netaddr_client_key(addr);
  pthread_mutex_lock(&limit->lock);
  struct entry *e = *slot(limit, &key);
  bool ok = e == NULL || e->open < limit->per_address;
  pthread_mutex_unlock(&limit->lock);
  return ok;
}

bool bo_conn_limit_opened(struct bo_conn_limit *limit,
                          const struct bo_netaddr *addr) {
  if (exempt(limit, addr))
    return false;
  struct bo_netaddr key = bo_netaddr_client_key(addr);
  bool counted = true;
  pthread_mutex_lock(&limit->lock);
  struct entry **link = slot(limit, &key);
  if (*link == NULL) {
    struct entry *e = calloc(1, sizeof *e);
    if (e == NULL) {
      counted = false;
    } else {
      e->key = key;
      *link = e;
      limit->count++;
    }
  }
  if (counted)
    (*link)->open++;
  pthread_mutex_unlock(&limit->lock);
  return counted;
}

void bo_conn_limit_closed(struct bo_conn_limit *limit,
                          const struct bo_netaddr *addr) {
  struct bo_netaddr key = bo_netaddr_client_key(addr);
  pthread_mutex_lock(&limit->lock);
  struct entry **link = slot(limit, &key);
  struct entry *e = *link;
  if (e && --e->open == 0) {
    *link = e->next;
    free(e);
    limit->count--;
  }
  pthread_mutex_unlock(&limit->lock);
}

size_t bo_conn_limit_addresses(struct bo_conn_limit *limit) {
  pthread_mutex_lock(&limit->lock);
  size_t n = limit->count;
  pthread_mutex_unlock(&limit->lock);
  return n;
}
