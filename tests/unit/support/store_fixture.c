#include "support/store_fixture.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum store_fixture_driver store_fixture_driver(void) {
  const char *name = getenv("BOXOFFICE_TEST_STORE");
  if (!name || !*name || strcmp(name, "sqlite") == 0)
    return STORE_FIXTURE_SQLITE;
  if (strcmp(name, "postgres") == 0)
    return STORE_FIXTURE_POSTGRES;
  cr_assert_fail("BOXOFFICE_TEST_STORE=%s: expected sqlite or postgres", name);
  return STORE_FIXTURE_SQLITE;
}

/* Runs one statement on `url` with a connection of its own. */
static void pg_admin(const char *url, const char *sql) {
  PGconn *pg = PQconnectdb(url);
  cr_assert_eq(PQstatus(pg), CONNECTION_OK, "connect: %s", PQerrorMessage(pg));
  PGresult *res = PQexec(pg, sql);
  cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s: %s", sql,
               PQresultErrorMessage(res));
  PQclear(res);
  PQfinish(pg);
}

/* The admin URL with its database (the URL's path) replaced by `dbname`. */
static void url_with_db(const char *url, const char *dbname, char *out,
                        size_t size) {
  const char *rest = strstr(url, "://");
  cr_assert_not_null(rest, "BOXOFFICE_TEST_PG=%s is not a URL", url);
  rest += 3;
  size_t path = strcspn(rest, "/?");
  const char *query = rest + path + strcspn(rest + path, "?");
  int n = snprintf(out, size, "%.*s/%s%s", (int)(rest + path - url), url,
                   dbname, query);
  cr_assert(n > 0 && (size_t)n < size, "URL too long");
}

static void make_postgres(struct store_fixture *fx) {
  static int counter;
  const char *admin = getenv("BOXOFFICE_TEST_PG");
  cr_assert(admin && *admin,
            "BOXOFFICE_TEST_STORE=postgres needs BOXOFFICE_TEST_PG (run the "
            "tests through tests/services.sh run)");
  snprintf(fx->admin_url, sizeof fx->admin_url, "%s", admin);
  snprintf(fx->db_name, sizeof fx->db_name, "bo_t_%ld_%d", (long)getpid(),
           ++counter);
  url_with_db(fx->admin_url, fx->db_name, fx->url, sizeof fx->url);
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", fx->db_name);
  pg_admin(fx->admin_url, sql);
}

void store_fixture_make(struct store_fixture *fx) {
  *fx = (struct store_fixture){.driver = store_fixture_driver()};
  if (fx->driver == STORE_FIXTURE_POSTGRES) {
    make_postgres(fx);
    return;
  }
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
  char error[512] = "";
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
  if (fx->db_name[0]) {
    char sql[128];
    /* FORCE: a store a failed test left open must not keep it alive. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)",
             fx->db_name);
    pg_admin(fx->admin_url, sql);
    fx->db_name[0] = '\0';
  }
}

static int64_t pg_sql_int(const char *url, const char *sql) {
  PGconn *pg = PQconnectdb(url);
  cr_assert_eq(PQstatus(pg), CONNECTION_OK, "connect: %s", PQerrorMessage(pg));
  PGresult *res = PQexec(pg, sql);
  cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql,
               PQresultErrorMessage(res));
  cr_assert_eq(PQntuples(res), 1, "%s", sql);
  const char *v = PQgetvalue(res, 0, 0);
  int64_t n = strcmp(v, "t") == 0   ? 1
              : strcmp(v, "f") == 0 ? 0
                                    : strtoll(v, NULL, 10);
  PQclear(res);
  PQfinish(pg);
  return n;
}

/* SQLite keeps times as milliseconds already: bo_ms() is the identity. */
static void identity(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  sqlite3_result_value(ctx, argv[0]);
}

static int64_t sqlite_sql_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_create_function(db, "bo_ms", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                          NULL, identity, NULL, NULL);
  cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s",
               sqlite3_errmsg(db));
  cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW, "%s", sql);
  int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return v;
}

int64_t store_fixture_sql_int(const struct store_fixture *fx, const char *sql) {
  return fx->driver == STORE_FIXTURE_POSTGRES
             ? pg_sql_int(fx->url, sql)
             : sqlite_sql_int(fx->db_path, sql);
}
