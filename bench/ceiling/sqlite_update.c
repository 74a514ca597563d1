/* bo_sqlite_ceiling: how many durable seat-race writes per second SQLite
 * can commit on this disk, set up as boxoffice's SQLite store sets it up.
 *
 * Each transaction is the smallest write boxoffice makes to win a race:
 * BEGIN IMMEDIATE, one conditional single-row UPDATE that must match
 * (UPDATE seats SET status, holder WHERE id = ? AND status = ?), COMMIT.
 * Connections are opened as src/store/sqlite_conn.c opens them: NOMUTEX,
 * extended result codes, a 5 s busy timeout, journal_mode=WAL (checked),
 * synchronous=FULL (so every COMMIT syncs the WAL) and foreign_keys=ON;
 * statements are prepared once per connection. With --threads N, each
 * thread has its own connection on the one file, as boxoffice's HTTP
 * workers do, and they contend for SQLite's single write lock the same
 * way.
 *
 * A fair ceiling: every boxoffice write transaction (a hold, a payment)
 * does at least this, one fsynced commit behind the one write lock, and
 * usually more (an INSERT, a read, the RETURNING row). So boxoffice's
 * writes per second on the same file system cannot beat this figure.
 *
 * The UPDATE always matches, without distorting the work: each thread owns
 * the rows whose id is its index modulo N and remembers their status, so
 * it flips a random owned row 0 -> 1 or 1 -> 0 with the condition on the
 * status it knows the row has. A miss means something is wrong and stops
 * the run. SQLITE_BUSY (beyond the busy timeout) rolls back and retries,
 * counted in busy_retries; the latency of a transaction includes its
 * retries, as a client would see it.
 *
 *   bo_sqlite_ceiling --db PATH [--threads N] [--seconds S]
 *
 * PATH must not exist: it is created, and deleted with its -wal and -shm
 * at the end. Prints one JSON line on stdout. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* As src/store/sqlite_conn.c. */
#define BUSY_TIMEOUT_MS 5000
static const char connection_pragmas[] = "PRAGMA synchronous = FULL;"
                                         "PRAGMA foreign_keys = ON;";

#define ROWS 1000
#define MAX_THREADS 64

static const char schema_sql[] =
    "CREATE TABLE seats(id INTEGER PRIMARY KEY, status INTEGER NOT NULL, "
    "holder INTEGER);"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
    "WHERE i < 1000) INSERT INTO seats(id, status) SELECT i, 0 FROM n;";
static const char update_sql[] =
    "UPDATE seats SET status = ?1, holder = ?2 WHERE id = ?3 AND status = ?4";

struct options {
  const char *path;
  int threads;
  int seconds;
};

/* What the workers share: the file, and the start and stop of the run. */
struct run {
  const char *path;
  int threads;
  pthread_barrier_t start;
  atomic_bool stop;
};

struct statements {
  sqlite3_stmt *begin, *update, *commit, *rollback;
};

struct worker {
  struct run *run;
  int index;
  pthread_t thread;
  uint64_t random_state;
  unsigned char status[ROWS + 1]; /* by id; only owned rows are used */
  int64_t *latency_ns;            /* one per committed transaction */
  size_t count, capacity;
  long long busy_retries;
  char error[256]; /* empty while all is well */
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: cheap, and each worker has its own state. */
static uint64_t next_random(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * UINT64_C(2685821657736338717);
}

static bool is_busy(int rc) {
  rc &= 0xff;
  return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* Checks that the journal really is WAL, as boxoffice does: the pragma
 * answers the mode it got. */
static int set_wal(sqlite3 *db) {
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
  if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char *mode = sqlite3_column_text(stmt, 0);
    rc = mode && strcmp((const char *)mode, "wal") == 0 ? SQLITE_OK
                                                        : SQLITE_ERROR;
  } else if (rc == SQLITE_OK) {
    rc = sqlite3_errcode(db);
  }
  sqlite3_finalize(stmt);
  return rc;
}

/* A connection configured as boxoffice's; NULL with a reason in `error`. */
static sqlite3 *open_connection(const char *path, char *error,
                                size_t error_size) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(
      path, &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    rc = set_wal(db);
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, connection_pragmas, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    snprintf(error, error_size, "cannot open %s: %s", path,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

static int prepare_all(sqlite3 *db, struct statements *s) {
  const unsigned flags = SQLITE_PREPARE_PERSISTENT;
  int rc =
      sqlite3_prepare_v3(db, "BEGIN IMMEDIATE", -1, flags, &s->begin, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(db, update_sql, -1, flags, &s->update, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(db, "COMMIT", -1, flags, &s->commit, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v3(db, "ROLLBACK", -1, flags, &s->rollback, NULL);
  return rc;
}

static void finalize_all(struct statements *s) {
  sqlite3_finalize(s->begin);
  sqlite3_finalize(s->update);
  sqlite3_finalize(s->commit);
  sqlite3_finalize(s->rollback);
}

/* Steps a statement that returns no row and resets it. */
static int step_done(sqlite3_stmt *stmt) {
  int rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* One try: BEGIN IMMEDIATE, the UPDATE, COMMIT. On failure, rolls back
 * whatever is still open and returns the SQLite code. */
static int try_flip(sqlite3 *db, const struct statements *s, int64_t id,
                    int from, int64_t holder) {
  int rc = step_done(s->begin);
  if (rc != SQLITE_OK)
    return rc;
  sqlite3_bind_int(s->update, 1, 1 - from);
  sqlite3_bind_int64(s->update, 2, holder);
  sqlite3_bind_int64(s->update, 3, id);
  sqlite3_bind_int(s->update, 4, from);
  rc = step_done(s->update);
  if (rc == SQLITE_OK && sqlite3_changes(db) != 1)
    rc = SQLITE_NOTFOUND;
  if (rc == SQLITE_OK)
    rc = step_done(s->commit);
  if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
    step_done(s->rollback);
  return rc;
}

static bool record_latency(struct worker *w, int64_t ns) {
  if (w->count == w->capacity) {
    size_t capacity = w->capacity ? 2 * w->capacity : 65536;
    int64_t *grown = realloc(w->latency_ns, capacity * sizeof *grown);
    if (grown == NULL)
      return false;
    w->latency_ns = grown;
    w->capacity = capacity;
  }
  w->latency_ns[w->count++] = ns;
  return true;
}

/* Flips random rows of its own until told to stop. */
static void flip_until_stopped(struct worker *w, sqlite3 *db,
                               const struct statements *s) {
  const int threads = w->run->threads;
  const int owned = (ROWS - w->index + threads - 1) / threads;
  while (!atomic_load_explicit(&w->run->stop, memory_order_relaxed)) {
    int64_t id =
        1 + w->index +
        (int64_t)(next_random(&w->random_state) % (uint64_t)owned) * threads;
    int64_t holder = (int64_t)(next_random(&w->random_state) >> 33);
    int from = w->status[id];
    int64_t start = now_ns();
    int rc;
    while (is_busy(rc = try_flip(db, s, id, from, holder)))
      w->busy_retries++;
    if (rc != SQLITE_OK) {
      snprintf(w->error, sizeof w->error, "row %lld: %s", (long long)id,
               rc == SQLITE_NOTFOUND ? "the UPDATE matched no row"
                                     : sqlite3_errstr(rc));
      return;
    }
    w->status[id] = (unsigned char)(1 - from);
    if (!record_latency(w, now_ns() - start)) {
      snprintf(w->error, sizeof w->error, "out of memory");
      return;
    }
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct statements s = {0};
  sqlite3 *db = open_connection(w->run->path, w->error, sizeof w->error);
  if (db && prepare_all(db, &s) != SQLITE_OK)
    snprintf(w->error, sizeof w->error, "prepare: %s", sqlite3_errmsg(db));
  /* Everyone meets here, failed or not, so that nobody waits forever. */
  pthread_barrier_wait(&w->run->start);
  if (w->error[0] == '\0')
    flip_until_stopped(w, db, &s);
  finalize_all(&s);
  sqlite3_close(db);
  return NULL;
}

/* Creates the file with its table, on a connection set up like the
 * workers'. */
static bool create_database(const char *path) {
  char error[512];
  sqlite3 *db = open_connection(path, error, sizeof error);
  if (db == NULL) {
    fprintf(stderr, "bo_sqlite_ceiling: %s\n", error);
    return false;
  }
  bool ok = sqlite3_exec(db, schema_sql, NULL, NULL, NULL) == SQLITE_OK;
  if (!ok)
    fprintf(stderr, "bo_sqlite_ceiling: schema: %s\n", sqlite3_errmsg(db));
  sqlite3_close(db);
  return ok;
}

/* The database and the files SQLite keeps beside it. */
static const char *const database_suffixes[] = {"", "-wal", "-shm"};
#define DATABASE_FILES (sizeof database_suffixes / sizeof *database_suffixes)

static bool database_exists(const char *path) {
  char name[4096];
  for (size_t i = 0; i < DATABASE_FILES; i++) {
    snprintf(name, sizeof name, "%s%s", path, database_suffixes[i]);
    if (access(name, F_OK) == 0)
      return true;
  }
  return false;
}

static void remove_database(const char *path) {
  char name[4096];
  for (size_t i = 0; i < DATABASE_FILES; i++) {
    snprintf(name, sizeof name, "%s%s", path, database_suffixes[i]);
    unlink(name);
  }
}

static int compare_int64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Nearest rank of a sorted array, in milliseconds. */
static double percentile_ms(const int64_t *sorted, size_t n, double p) {
  if (n == 0)
    return 0;
  size_t rank = (size_t)(p * (double)n + 0.999999);
  if (rank < 1)
    rank = 1;
  return (double)sorted[rank - 1] / 1e6;
}

/* Prints the JSON line from every worker's latencies; false on failure. */
static bool report(const struct options *opt, struct worker *workers,
                   double seconds) {
  size_t total = 0;
  long long busy = 0;
  for (int i = 0; i < opt->threads; i++) {
    total += workers[i].count;
    busy += workers[i].busy_retries;
  }
  int64_t *all = malloc((total ? total : 1) * sizeof *all);
  if (all == NULL)
    return false;
  size_t at = 0;
  for (int i = 0; i < opt->threads; i++) {
    memcpy(all + at, workers[i].latency_ns, workers[i].count * sizeof *all);
    at += workers[i].count;
  }
  qsort(all, total, sizeof *all, compare_int64);
  double sum_ns = 0;
  for (size_t i = 0; i < total; i++)
    sum_ns += (double)all[i];
  /* The mean and the maximum too: with several writers, SQLite's busy
   * handler polls with sleeps of up to 100 ms, so a few transactions wait
   * far longer than the p99 shows. */
  printf("{\"ceiling\":\"sqlite_update\",\"threads\":%d,\"updates\":%zu,"
         "\"seconds\":%.3f,\"updates_per_s\":%.1f,\"p50_ms\":%.3f,"
         "\"p99_ms\":%.3f,\"mean_ms\":%.3f,\"max_ms\":%.3f,"
         "\"busy_retries\":%lld}\n",
         opt->threads, total, seconds, (double)total / seconds,
         percentile_ms(all, total, 0.50), percentile_ms(all, total, 0.99),
         total ? sum_ns / (double)total / 1e6 : 0.0,
         total ? (double)all[total - 1] / 1e6 : 0.0, busy);
  fflush(stdout);
  free(all);
  return true;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: bo_sqlite_ceiling --db PATH [--threads N] [--seconds S]\n"
          "  --db       database file to create (must not exist; deleted,\n"
          "             with its -wal and -shm, at the end)\n"
          "  --threads  writer threads, one connection each, 1..%d; "
          "default 1\n"
          "  --seconds  how long to write, 1..3600; default 5\n",
          MAX_THREADS);
}

static bool parse_int(const char *text, int min, int max, int *out) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
    return false;
  *out = (int)value;
  return true;
}

static bool parse_options(int argc, char **argv, struct options *opt) {
  *opt = (struct options){.threads = 1, .seconds = 5};
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
      usage(stdout);
      exit(EXIT_SUCCESS);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bo_sqlite_ceiling: %s needs a value\n", flag);
      return false;
    }
    const char *value = argv[++i];
    bool ok = true;
    if (strcmp(flag, "--db") == 0)
      opt->path = value;
    else if (strcmp(flag, "--threads") == 0)
      ok = parse_int(value, 1, MAX_THREADS, &opt->threads);
    else if (strcmp(flag, "--seconds") == 0)
      ok = parse_int(value, 1, 3600, &opt->seconds);
    else
      ok = false;
    if (!ok) {
      fprintf(stderr, "bo_sqlite_ceiling: bad flag or value: %s %s\n", flag,
              value);
      return false;
    }
  }
  if (opt->path == NULL || opt->path[0] == '\0') {
    fprintf(stderr, "bo_sqlite_ceiling: --db PATH is required\n");
    return false;
  }
  return true;
}

static void sleep_seconds(int seconds) {
  struct timespec left = {.tv_sec = seconds};
  while (nanosleep(&left, &left) != 0 && errno == EINTR)
    ;
}

/* Starts the workers, lets them write for opt->seconds, and reports. */
static bool run_workers(const struct options *opt, struct worker *workers) {
  struct run run = {.path = opt->path, .threads = opt->threads};
  atomic_init(&run.stop, false);
  int started = 0;
  if (pthread_barrier_init(&run.start, NULL, (unsigned)opt->threads + 1) != 0)
    return false;
  for (; started < opt->threads; started++) {
    struct worker *w = &workers[started];
    w->run = &run;
    w->index = started;
    w->random_state = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(started + 1);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
      break;
  }
  if (started < opt->threads) {
    /* The barrier can never fill: nothing but exiting helps. */
    fprintf(stderr, "bo_sqlite_ceiling: cannot start a thread\n");
    exit(EXIT_FAILURE);
  }
  pthread_barrier_wait(&run.start);
  int64_t start = now_ns();
  sleep_seconds(opt->seconds);
  atomic_store(&run.stop, true);
  for (int i = 0; i < started; i++)
    pthread_join(workers[i].thread, NULL);
  double seconds = (double)(now_ns() - start) / 1e9;
  pthread_barrier_destroy(&run.start);

  bool ok = true;
  for (int i = 0; i < started; i++)
    if (workers[i].error[0]) {
      fprintf(stderr, "bo_sqlite_ceiling: thread %d: %s\n", i,
              workers[i].error);
      ok = false;
    }
  return ok && report(opt, workers, seconds);
}

int main(int argc, char **argv) {
  struct options opt;
  struct worker *workers = NULL;
  bool created = false;
  int rc = EXIT_FAILURE;

  if (!parse_options(argc, argv, &opt)) {
    usage(stderr);
    return 2;
  }
  /* Never delete a file we did not create. */
  if (database_exists(opt.path)) {
    fprintf(stderr,
            "bo_sqlite_ceiling: %s (or its -wal or -shm) exists; give a "
            "fresh path\n",
            opt.path);
    goto done;
  }
  created = true;
  if (!create_database(opt.path))
    goto done;
  workers = calloc((size_t)opt.threads, sizeof *workers);
  if (workers == NULL)
    goto done;
  if (run_workers(&opt, workers))
    rc = EXIT_SUCCESS;
done:
  if (workers)
    for (int i = 0; i < opt.threads; i++)
      free(workers[i].latency_ns);
  free(workers);
  if (created)
    remove_database(opt.path);
  return rc;
}
