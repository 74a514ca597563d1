/* End-to-end test harness: starts the real `boxoffice` binary
 * ($BOXOFFICE_BIN) in a temporary folder of its own and talks HTTP to it.
 *
 * Two configurations, chosen by BOXOFFICE_IT_BACKEND (ctest sets it):
 *  - "sqlite" (the default): each server gets its own SQLite file and the
 *    in-process queue;
 *  - "postgres": each server gets a fresh database created in the cluster
 *    at $BOXOFFICE_TEST_PG (tests/services.sh run starts one) and a
 *    redis-server of its own (tests/services.sh start-redis), so tests never
 *    see each other's rows or keys. Servers that must share what they store
 *    (several instances, restarts) share one `struct it_store`.
 *
 * Two kinds of functions live here:
 *  - plain ones (it_send, it_request_on, it_client_*, it_run) never assert,
 *    so worker threads of the race tests may call them and record results;
 *  - it_assert_* and the booking shorthands (it_create_user, it_hold, ...)
 *    use Criterion assertions and must only run on the test's main thread
 *    (a failed assertion unwinds that thread only).
 *
 * Every test file declares its suite with .init = it_setup and
 * .fini = it_teardown: the teardown stops every server the test started,
 * drops its databases and stops its Redis and PostgreSQL servers, even when
 * an assertion failed half-way. It also fails the test binary (Criterion
 * ignores assertions in a teardown, so by abort() once all is cleaned up)
 * when a server ended badly (died by itself, or exited non-zero or hung
 * when stopped) or its log holds a sanitizer's report: a sanitizer build
 * of the server (ASan, UBSan, TSan) is checked by every test that runs
 * it, even one whose requests all got their answers. If the test process
 * dies instead (a crash, a Criterion timeout), servers die with it
 * (PR_SET_PDEATHSIG), and a guard process that outlives it does the rest
 * (see services.c). */
#ifndef IT_HARNESS_H
#define IT_HARNESS_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The admin secret every server gets unless opts.no_admin is set. */
#define IT_ADMIN_SECRET "it-admin-secret-7f3a"

/* ---- Servers ----------------------------------------------------------- */

/* Zero means "the server's default" (the variable is not set). */
struct it_server_opts {
  int64_t hold_seconds;   /* BOXOFFICE_HOLD_SECONDS */
  int64_t active_max;     /* BOXOFFICE_ACTIVE_MAX */
  int64_t active_seconds; /* BOXOFFICE_ACTIVE_SECONDS */
  int64_t threads;        /* BOXOFFICE_THREADS */
  bool no_admin;          /* leave BOXOFFICE_ADMIN_TOKEN unset */
  bool demo;              /* serve --demo */
  /* More settings as "BOXOFFICE_NAME=value" strings, NULL-terminated, or
   * NULL; they must outlive the server (restarts read them again). */
  const char *const *env;
};

/* What servers store things in: a database and a queue. Owned by the
 * harness; teardown drops and stops what it started. */
struct it_store {
  char dir[256];       /* its temporary folder */
  char db_url[300];    /* BOXOFFICE_DB */
  char queue_url[128]; /* BOXOFFICE_QUEUE */
  char db_name[64];    /* postgres: the database created for it, else "" */
  char redis_dir[300]; /* postgres: its redis-server's folder, else "" */
  char pg_dir[300];    /* it_store_private: its own cluster, else "" */
};

struct it_server {
  pid_t pid; /* 0 when not running */
  int port;
  char base_url[64]; /* "http://127.0.0.1:PORT" */
  char dir[256];     /* the temporary folder; removed by teardown */
  char db_url[300];  /* its store's BOXOFFICE_DB */
  char log_path[300];
  struct it_server_opts opts;
  struct it_store *store;
  long log_offset; /* where the current start attempt's log begins */
  /* It died without being asked to, or did not exit 0 when stopped (a
   * crash, a sanitizer's exit code, a hang): teardown fails the test. */
  bool ended_badly;
};

/* Suite fixtures (see above). */
void it_setup(void);
void it_teardown(void);

/* ---- Backends ----------------------------------------------------------- */

/* True when BOXOFFICE_IT_BACKEND=postgres. */
bool it_postgres_mode(void);
/* "sqlite+memory" or "postgres+redis", for messages. */
const char *it_backend_name(void);

/* A fresh store for this configuration: a SQLite file and the in-process
 * queue, or a new database in $BOXOFFICE_TEST_PG and a Redis of its own. */
struct it_store *it_store_new(void);
/* Postgres mode only: a PostgreSQL cluster and a Redis of the store's own,
 * so that a test can stop and start them (fault tests). */
struct it_store *it_store_private(void);

/* The store's servers: `services.sh stop-pg|start-pg|stop-redis|
 * start-redis` on its folders. Start asserts the address is the one the
 * servers were given (same port), so that they can find it again.
 * it_store_crash_pg is an immediate shutdown: no checkpoint, the WAL is
 * replayed at the next start, as after a crash of PostgreSQL. */
void it_store_stop_pg(struct it_store *st);
void it_store_crash_pg(struct it_store *st);
void it_store_start_pg(struct it_store *st);
void it_store_stop_redis(struct it_store *st);
void it_store_start_redis(struct it_store *st);

/* ---- Servers ------------------------------------------------------------ */

/* Starts a server on a store of its own and waits for GET /healthz 200
 * (asserts; on failure the server's log is printed). `opts` may be NULL.
 * The harness owns the server: teardown stops it and removes its folder. */
struct it_server *it_server_start(const struct it_server_opts *opts);
/* The same on a given store (several instances on one database). */
struct it_server *it_server_start_on(struct it_store *st,
                                     const struct it_server_opts *opts);
/* Starts `n` servers on one store at the same moment (so that their
 * migrations run concurrently), then waits for all of them. */
void it_servers_start_on(struct it_store *st, const struct it_server_opts *opts,
                         size_t n, struct it_server **out);

/* SIGTERM, then SIGKILL after 10 s; reaps. Returns the exit status as
 * waitpid reports it, or -1 if the server was not running. */
int it_server_stop(struct it_server *s);

/* kill -9 and reap: a crash, nothing flushed by the server itself. */
void it_server_kill9(struct it_server *s);

/* Starts the same server again on the same store (a new port). */
void it_server_restart(struct it_server *s);

/* Asserts the process is still running and GET /healthz answers 200. */
void it_assert_alive(struct it_server *s);
/* Asserts only that the process is still running (no crash, no exit). */
void it_assert_running(struct it_server *s);

/* A port that was free a moment ago (bind port 0, close). */
int it_free_port(void);

/* Runs `$BOXOFFICE_BIN argv...` in a fresh temporary folder (its cwd) with
 * the BOXOFFICE_* variables of the test's environment removed and `env`
 * ("NAME=value" strings, NULL-terminated, may be NULL) added. Waits up to
 * `timeout_ms`, then kills it. Returns the exit code, 128+signal when it
 * died of a signal, or -1 when it had to be killed. `*output` (malloc'd,
 * caller frees) receives stdout and stderr together. `dir_out`, when not
 * NULL, receives the folder (left in place, removed by teardown). */
int it_run(const char *const *argv, const char *const *env, int timeout_ms,
           char **output, char dir_out[256]);

/* ---- HTTP --------------------------------------------------------------- */

struct it_request {
  const char *method; /* NULL means GET */
  const char *path;   /* "/api/v1/users" */
  const char *body;   /* raw bytes, or NULL for none */
  size_t body_len;    /* 0: strlen(body) */
  /* NULL: application/json when there is a body; "": no Content-Type at
   * all; anything else is sent as is. */
  const char *content_type;
  const char *token;           /* Authorization: Bearer <token> */
  const char *idempotency_key; /* Idempotency-Key: <key> */
  const char *const *headers;  /* extra "Name: value" lines, NULL-ended */
  bool chunked;                /* send the body with chunked encoding */
  long timeout_ms;             /* 0: 60 s */
};

struct it_response {
  long status; /* 0 when the transfer itself failed */
  char *body;  /* NUL-terminated, owned */
  size_t body_len;
  json_t *json; /* the parsed body, NULL if it is not JSON; owned */
  char content_type[128];
  long num_connects; /* CURLINFO_NUM_CONNECTS: 0 = reused connection */
  char what[160];    /* "POST /api/v1/users", for failure messages */
  char error[CURL_ERROR_SIZE];
};

/* A client is one CURL handle, so one connection cache; one per thread. */
struct it_client;
struct it_client *it_client_new(void);
void it_client_free(struct it_client *c);

/* Sends one request. `*resp` must be zero-initialised or come from an
 * earlier call: what it held is freed first, so one response variable can be
 * reused for a whole test and freed once. Never asserts. */
void it_request_on(struct it_client *c, const struct it_server *s,
                   const struct it_request *req, struct it_response *resp);
/* The same on this thread's own client (created on first use). */
void it_send(const struct it_server *s, const struct it_request *req,
             struct it_response *resp);
/* Frees this thread's client; worker threads call it before they end. */
void it_thread_done(void);
void it_response_free(struct it_response *resp);

/* The common case: `body` (may be NULL) is sent as compact JSON and freed;
 * `token` may be NULL. Never asserts. */
__attribute__((format(printf, 6, 7))) void
it_call(const struct it_server *s, struct it_response *resp, const char *method,
        const char *token, json_t *body, const char *path_fmt, ...);

/* ---- Assertions on replies (main test thread only) --------------------- */

/* Status is `status`; on failure the message shows the reply. */
void it_assert_status(const struct it_response *r, long status);
/* An RFC 9457 problem: the status, Content-Type application/problem+json,
 * and a body with the same integer status, the given code, and string title
 * and detail. */
void it_assert_problem(const struct it_response *r, long status,
                       const char *code);

/* Typed field access that asserts the field is there with that type. */
json_int_t it_jint(const json_t *obj, const char *key);
const char *it_jstr(const json_t *obj, const char *key);
json_t *it_jarr(const json_t *obj, const char *key);
/* The "items" array of a reply and its i-th element (asserting). */
json_t *it_item(const struct it_response *r, size_t i);
size_t it_item_count(const struct it_response *r);

/* ---- Booking shorthands (main test thread only; each asserts success) -- */

int64_t it_create_user(const struct it_server *s, const char *name);

/* Creates a concert through the admin API with `n` schedules starting at
 * now + offsets[i] seconds (negative: in the past), each with `seat_count`
 * seats at `price`. Writes the schedule ids to `schedule_ids` (n entries). */
int64_t it_create_concert(const struct it_server *s, const char *name, size_t n,
                          const int64_t *offsets, int seat_count, int64_t price,
                          int64_t *schedule_ids);
/* One concert with one schedule a day ahead, 50 seats at 150000. */
int64_t it_create_schedule(const struct it_server *s);

/* POST /queue/tokens; returns the token (malloc'd). `status_out`, if not
 * NULL, receives the HTTP status (200 or 201). */
char *it_issue_token(const struct it_server *s, int64_t user_id,
                     long *status_out);
/* Issues a token and polls /queue/status until it is ACTIVE (10 s). */
char *it_active_token(const struct it_server *s, int64_t user_id);
/* A new user with an ACTIVE token. */
int64_t it_new_booker(const struct it_server *s, const char *name,
                      char **token);

int64_t it_charge(const struct it_server *s, int64_t user_id, int64_t amount);
int64_t it_balance(const struct it_server *s, int64_t user_id);
int64_t it_hold(const struct it_server *s, const char *token,
                int64_t schedule_id, int seat_number);
/* Pays; asserts 201 COMPLETED and returns the balance the reply reports. */
int64_t it_pay(const struct it_server *s, const char *token,
               int64_t reservation_id);

void it_assert_balance(const struct it_server *s, int64_t user_id,
                       int64_t expected);
/* Seat `seat_number` of the schedule has status `expected` (AVAILABLE,
 * HELD, SOLD); reading seats needs an ACTIVE token. */
void it_assert_seat(const struct it_server *s, const char *token,
                    int64_t schedule_id, int seat_number, const char *expected);
/* GET /reservations/{id} with the owner's token has status `expected`. */
void it_assert_reservation(const struct it_server *s, const char *token,
                           int64_t reservation_id, const char *expected);
/* Number of rows GET /users/{id}/points/history?limit=50 returns. */
size_t it_history_count(const struct it_server *s, int64_t user_id);

/* ---- Small utilities ---------------------------------------------------- */

void it_sleep_ms(long ms);
int64_t it_now_ms(void); /* monotonic */
/* RFC 3339 UTC time `offset` seconds from now, e.g. 2026-12-24T19:00:00Z. */
void it_rfc3339(int64_t offset, char out[32]);
/* Parses an RFC 3339 time (Z or numeric offset, optional fraction) to
 * seconds since the epoch; false when it is not one. */
bool it_parse_time(const char *text, int64_t *epoch);

#endif
