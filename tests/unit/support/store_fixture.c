#include "support/store_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

void store_fixture_make(struct store_fixture *fx) {
  *fx = (struct store_fixture){0};
  snprintf(fx->dir, sizeof fx->dir, "/tmp/bo-store-XXXXXX");
  cr_assert_not_null(mkdtemp(fx->dir), "mkdtemp");
  snprintf(fx->db_path, sizeof fx->db_path, "%s/test.db", fx->dir);
  snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->db_path);
}

void store_fixture_open(struct store_fixture *fx) {
  store_fixture_make(fx);
  fx->store = store_fixture_reopen(fx);
  cr_assert_eq(fx->store->driver->migrate(fx->store), BO_STORE_OK);
}

struct bo_store *store_fixture_reopen(const struct store_fixture *fx) {
  char error[256] = "";
  struct bo_store *store = bo_store_open(fx->url, error, sizeof error);
  cr_assert_not_null(store, "bo_store_open(%s): %s", fx->url, error);
  return store;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

void store_fixture_close(struct store_fixture *fx) {
  bo_store_close(fx->store);
  fx->store = NULL;
  if (fx->dir[0])
    nftw(fx->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}
