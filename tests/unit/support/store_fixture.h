/* A store test bed: a fresh, migrated database in its own temporary folder
 * per test, reached only through bo_store_open and the driver table. */
#ifndef BO_TEST_STORE_FIXTURE_H
#define BO_TEST_STORE_FIXTURE_H

#include "store/store.h"

struct store_fixture {
  char dir[64];
  char db_path[128]; /* the SQLite file, for tests that open it directly */
  char url[160];
  struct bo_store *store;
};

/* Makes the folder and names the database in it, opening nothing. */
void store_fixture_make(struct store_fixture *fx);
/* store_fixture_make, then opens and migrates the store. Aborts the test on
 * failure. */
void store_fixture_open(struct store_fixture *fx);
/* Closes the store (if open) and removes the folder. */
void store_fixture_close(struct store_fixture *fx);
/* Opens a store on the fixture's database; called again, a second store on
 * the same file, as another process would have. Aborts the test on failure. */
struct bo_store *store_fixture_reopen(const struct store_fixture *fx);

#endif
