/* A store test bed: a fresh, migrated database per test, reached only
 * through bo_store_open and the driver table.
 *
 * The driver is chosen by BOXOFFICE_TEST_STORE: "sqlite" (the default) makes
 * a database file in a temporary folder; "postgres" makes a database
 * bo_t_<pid>_<n> on the server named by BOXOFFICE_TEST_PG (a libpq URL of an
 * existing database there, as `tests/services.sh run` exports it) and drops
 * it at the end. */
#ifndef BO_TEST_STORE_FIXTURE_H
#define BO_TEST_STORE_FIXTURE_H

#include "store/store.h"

#include <stdint.h>

enum store_fixture_driver { STORE_FIXTURE_SQLITE, STORE_FIXTURE_POSTGRES };

struct store_fixture {
  enum store_fixture_driver driver;
  char dir[64];        /* SQLite: the temporary folder */
  char db_path[128];   /* SQLite: the file, for tests that open it directly */
  char db_name[64];    /* PostgreSQL: this test's database */
  char admin_url[512]; /* PostgreSQL: where it is created and dropped */
  char url[640];       /* what bo_store_open is given */
  struct bo_store *store;
};

/* The driver BOXOFFICE_TEST_STORE names; aborts the test on another value. */
enum store_fixture_driver store_fixture_driver(void);
/* Makes the database (an empty folder, or an empty PostgreSQL database),
 * opening no store. */
void store_fixture_make(struct store_fixture *fx);
/* store_fixture_make, then opens and migrates the store. Aborts the test on
 * failure. */
void store_fixture_open(struct store_fixture *fx);
/* Closes the store (if open) and removes the database. */
void store_fixture_close(struct store_fixture *fx);
/* Opens a store on the fixture's database; called again, a second store on
 * the same database, as another process would have. Aborts the test on
 * failure. */
struct bo_store *store_fixture_reopen(const struct store_fixture *fx);
/* Runs a query that yields one integer on the fixture's database, behind the
 * driver's back (a boolean reads 1 or 0). bo_ms(time column) reads a time
 * as milliseconds on either driver. Aborts the test on failure. */
int64_t store_fixture_sql_int(const struct store_fixture *fx, const char *sql);

#endif
