/* The PostgreSQL store object and its connections.
 *
 * Each thread has its own connection (a PGconn must not be used by two
 * threads at once, and one per thread needs no pool and no locking of ours):
 * the store owns a pthread key that finds the calling thread's connection,
 * and the key's destructor closes it when the thread exits. The store also
 * keeps every connection in a list, so that closing the store closes those of
 * threads that are still alive. With the HTTP server's worker threads that
 * is BOXOFFICE_THREADS connections per instance, plus housekeeping's.
 *
 * Connecting is bounded in time: libpq's connect_timeout only applies to
 * its blocking calls and rounds 1 s up to 2 s, so the driver connects with
 * PQconnectStartParams/PQconnectPoll and its own deadline (the URL's
 * connect_timeout if it sets one, else 1 s, which is also appended to the
 * parameters for the record). A server that is down therefore costs a
 * request at most that long, usually nothing (the port refuses at once).
 *
 * A connection that was lost is closed at the end of the call that noticed
 * (the call answers UNAVAILABLE) and the next call opens a new one, with its
 * own prepared statements: nothing of a lost session is reused.
 *
 * Pausing. A server that refuses or drops connections costs a call nothing,
 * but one that accepts and then does not answer (frozen, overloaded past
 * use, cut off by the network) costs each call its whole time limit. Each
 * worker thread serves its connections' requests one after another, so
 * without more, every request queued behind a call stuck on that server
 * would wait out the limit in turn: 64 requests on 8 threads, each giving
 * up after 1 s, answer after up to 8 s, and after up to a minute for a 7 s
 * limit. So when the driver gives up on an answer for time (the connect
 * deadline, or a round trip's limit, see pg_exec.c) for the second time
 * within BO_PG_UNANSWERED_WINDOW_MS (one stuck backend or connection is
 * not the server; two calls, usually on two connections, are), the store
 * pauses: for BO_PG_PAUSE_MS every call answers UNAVAILABLE at once
 * without touching the server. After that one call at a time, the probe,
 * goes through; if it is answered in time the pause ends, if not it starts
 * again. So at most one thread at a time waits on a server that does not
 * answer, and a request waits at most about two limits (one call ahead of
 * it on its thread, and its own as a probe) instead of one per request
 * queued ahead. Errors the server answers with (statement_timeout,
 * lock_timeout, a refused connection) are answers: they do not pause. */
#include "store/pg_internal.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Set on every new session (one round trip). statement_timeout and
 * lock_timeout bound each statement and each lock wait; a session left idle
 * inside a transaction (a stuck thread) is ended by the server, freeing its
 * locks. */
#define BO_PG_STR2(x) #x
#define BO_PG_STR(x) BO_PG_STR2(x)
static const char bo_pg_session_sql[] = "SET statement_timeout = " BO_PG_STR(
    BO_PG_STATEMENT_TIMEOUT_MS) ";"
                                "SET lock_timeout = " BO_PG_STR(
                                    BO_PG_LOCK_TIMEOUT_MS) ";"
                                                           "SET "
                                                           "idle_in_"
                                                           "transaction_"
                                                           "session_timeout = "
                                                           "30000";

/* Connection parameters added when the URL does not set them. TCP
 * keepalives notice a peer that vanished without closing (a crashed host, a
 * cut network) in about 10 + 3 * 5 seconds even on an idle connection. */
static const char *const bo_pg_defaults[][2] = {
    {"connect_timeout", "1"},  {"keepalives", "1"},
    {"keepalives_idle", "10"}, {"keepalives_interval", "5"},
    {"keepalives_count", "3"}, {"fallback_application_name", "boxoffice"},
};

static void set_error(char *error, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *error, size_t size, const char *fmt, ...) {
  if (!error || size == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error, size, fmt, ap);
  va_end(ap);
  /* libpq's messages end with a newline, and may have several lines. */
  for (char *c = error; *c; c++)
    if ((unsigned char)*c < ' ' || *c == '"')
      *c = *c == '"' ? '\'' : ' ';
  size_t n = strlen(error);
  while (n > 0 && error[n - 1] == ' ')
    error[--n] = '\0';
}

/* libpq prints the server's notices on stderr by default. NOTICE and below
 * are chatter ("relation already exists, skipping"); a WARNING is worth a
 * log line. */
static void on_notice(void *arg, const PGresult *res) {
  const struct bo_pg_store *s = arg;
  const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  if (severity && strcmp(severity, "WARNING") == 0)
    bo_log_warn("event=pg_warning where=\"%s\" detail=\"%s\"", s->where,
                msg ? msg : "");
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_free(struct bo_pg_conn *conn) {
  PQfinish(conn->pg);
  free(conn);
}

static void conns_link(struct bo_pg_store *s, struct bo_pg_conn *conn) {
  pthread_mutex_lock(&s->conns_lock);
  conn->next = s->conns;
  if (s->conns)
    s->conns->prev = conn;
  s->conns = conn;
  pthread_mutex_unlock(&s->conns_lock);
}

static void conns_unlink(struct bo_pg_store *s, struct bo_pg_conn *conn) {
  pthread_mutex_lock(&s->conns_lock);
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    s->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  pthread_mutex_unlock(&s->conns_lock);
}

/* The pthread key's destructor: a thread that used the store has exited. */
static void conn_thread_exit(void *arg) {
  struct bo_pg_conn *conn = arg;
  conns_unlink(conn->store, conn);
  conn_free(conn);
}

/* Drives PQconnectPoll until the session is up, within the deadline;
 * *timed_out tells a server that did not answer from one that refused. */
static bool connect_poll(PGconn *pg, int timeout_ms, char *error, size_t size,
                         bool *timed_out) {
  int64_t deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
  /* Before the first PQconnectPoll, act as if it had asked to write. */
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      set_error(error, size, "%s", PQerrorMessage(pg));
      return false;
    }
    /* The socket may change from one call to the next (several hosts). */
    struct pollfd p = {.fd = PQsocket(pg),
                       .events =
                           st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
    int timeout = -1;
    if (deadline > 0) {
      int64_t left = deadline - monotonic_ms();
      timeout = left > 0 ? (int)left : 0;
    }
    int rc = p.fd < 0 ? -1 : poll(&p, 1, timeout);
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc == 0) {
      set_error(error, size, "no answer within %d ms", timeout_ms);
      *timed_out = true;
      return false;
    }
    if (rc < 0) {
      set_error(error, size, "poll: %s", strerror(errno));
      return false;
    }
    st = PQconnectPoll(pg);
  }
  return true;
}

/* Opens a configured connection, or fills `error` and returns NULL. */
static struct bo_pg_conn *conn_open(struct bo_pg_store *s, char *error,
                                    size_t error_size) {
  struct bo_pg_conn *conn = calloc(1, sizeof *conn);
  if (!conn) {
    set_error(error, error_size, "out of memory");
    return NULL;
  }
  conn->store = s;
  conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
  /* expand_dbname = 1: the URL in "dbname" is read as a connection string. */
  conn->pg = PQconnectStartParams(s->keywords, s->values, 1);
  if (!conn->pg) {
    set_error(error, error_size, "out of memory");
    goto fail;
  }
  if (PQstatus(conn->pg) == CONNECTION_BAD) {
    set_error(error, error_size, "%s", PQerrorMessage(conn->pg));
    goto fail;
  }
  bool timed_out = false;
  if (!connect_poll(conn->pg, s->connect_timeout_ms, error, error_size,
                    &timed_out)) {
    if (timed_out)
      bo_pg_unresponsive(s);
    goto fail;
  }
  PQsetNoticeReceiver(conn->pg, on_notice, s);
  /* Every wait from now on is a poll() with a deadline (pg_exec.c). */
  if (PQsetnonblocking(conn->pg, 1) != 0) {
    set_error(error, error_size, "%s", PQerrorMessage(conn->pg));
    goto fail;
  }
  conn->timeout_ms = s->connect_timeout_ms;
  if (bo_pg_exec_text(conn, bo_pg_session_sql) != BO_STORE_OK) {
    set_error(error, error_size, "session settings failed: %s",
              PQerrorMessage(conn->pg));
    goto fail;
  }
  conn->timeout_ms = BO_PG_CALL_TIMEOUT_MS;
  conn->broken = false;
  return conn;
fail:
  conn_free(conn);
  return NULL;
}

enum bo_store_status bo_pg_conn_get(struct bo_pg_store *s,
                                    struct bo_pg_conn **out) {
  char error[512];
  struct bo_pg_conn *conn = pthread_getspecific(s->conn_key);
  /* libpq already knows this one is gone: replace it without a round trip. */
  if (conn && !conn->in_tx && PQstatus(conn->pg) == CONNECTION_BAD) {
    bo_pg_conn_drop(conn);
    conn = NULL;
  }
  *out = conn;
  if (conn)
    return BO_STORE_OK;
  conn = conn_open(s, error, sizeof error);
  if (!conn) {
    /* Once per outage, not once per request. */
    if (!atomic_exchange(&s->down, true))
      bo_log_warn("event=pg_unavailable where=\"%s\" detail=\"%s\"", s->where,
                  error);
    return BO_STORE_UNAVAILABLE;
  }
  if (pthread_setspecific(s->conn_key, conn) != 0) {
    conn_free(conn);
    return BO_STORE_FAILED;
  }
  if (atomic_exchange(&s->down, false))
    bo_log_info("event=pg_reconnected where=\"%s\"", s->where);
  conns_link(s, conn);
  *out = conn;
  return BO_STORE_OK;
}

bool bo_pg_admit(struct bo_pg_store *s, int64_t *probe) {
  *probe = 0;
  int64_t until = atomic_load(&s->paused_until);
  if (until == 0)
    return true;
  if (monotonic_ms() < until)
    return false;
  bool idle = false;
  if (!atomic_compare_exchange_strong(&s->probing, &idle, true))
    return false; /* another call is finding out */
  *probe = until;
  return true;
}

void bo_pg_done(struct bo_pg_store *s, int64_t probe) {
  if (probe == 0)
    return;
  /* Unchanged: nobody, this probe included, found the server unresponsive
   * since the probe began. */
  int64_t seen = probe;
  if (atomic_compare_exchange_strong(&s->paused_until, &seen, 0))
    bo_log_info("event=pg_responsive where=\"%s\"", s->where);
  atomic_store(&s->probing, false);
}

void bo_pg_unresponsive(struct bo_pg_store *s) {
  int64_t now = monotonic_ms();
  int64_t last = atomic_exchange(&s->last_unanswered, now);
  /* Paused already (a probe, or a call begun before the pause, failed):
   * pause again at once. */
  if (atomic_load(&s->paused_until) == 0 &&
      (last == 0 || now - last > BO_PG_UNANSWERED_WINDOW_MS))
    return;
  int64_t was = atomic_exchange(&s->paused_until, now + BO_PG_PAUSE_MS);
  /* Once per episode: probes that fail again only extend it. */
  if (was == 0)
    bo_log_warn("event=pg_unresponsive where=\"%s\" pause_ms=%d", s->where,
                BO_PG_PAUSE_MS);
}

void bo_pg_conn_drop(struct bo_pg_conn *conn) {
  struct bo_pg_store *s = conn->store;
  pthread_setspecific(s->conn_key, NULL);
  conns_unlink(s, conn);
  conn_free(conn);
}

/* Fills the store's keyword/value arrays and `where` from the URL; false
 * (with a reason) if libpq cannot parse it. */
static bool read_url(struct bo_pg_store *s, char *error, size_t error_size) {
  char *why = NULL;
  PQconninfoOption *opts = PQconninfoParse(s->url, &why);
  if (!opts) {
    set_error(error, error_size, "invalid PostgreSQL URL: %s",
              why ? why : "out of memory");
    PQfreemem(why);
    return false;
  }
  const char *host = NULL, *port = NULL, *dbname = NULL, *timeout = NULL;
  int n = 0;
  s->keywords[n] = "dbname";
  s->values[n++] = s->url;
  for (size_t d = 0; d < sizeof bo_pg_defaults / sizeof *bo_pg_defaults; d++) {
    bool set = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
      set |= o->val && strcmp(o->keyword, bo_pg_defaults[d][0]) == 0;
    if (!set) {
      s->keywords[n] = bo_pg_defaults[d][0];
      s->values[n++] = bo_pg_defaults[d][1];
    }
  }
  s->keywords[n] = s->values[n] = NULL;
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!o->val)
      continue;
    if (strcmp(o->keyword, "host") == 0)
      host = o->val;
    else if (strcmp(o->keyword, "port") == 0)
      port = o->val;
    else if (strcmp(o->keyword, "dbname") == 0)
      dbname = o->val;
    else if (strcmp(o->keyword, "connect_timeout") == 0)
      timeout = o->val;
  }
  /* libpq's reading of connect_timeout: seconds; 0 or less, no limit. */
  s->connect_timeout_ms = timeout ? atoi(timeout) * 1000 : 1000;
  if (s->connect_timeout_ms < 0)
    s->connect_timeout_ms = 0;
  snprintf(s->where, sizeof s->where, "host=%s port=%s dbname=%s",
           host ? host : "(default)", port ? port : "(default)",
           dbname ? dbname : "(default)");
  PQconninfoFree(opts);
  return true;
}

struct bo_store *bo_pg_open(const char *url, char *error, size_t error_size) {
  struct bo_store *result = NULL;
  struct bo_pg_store *s = NULL;
  struct bo_pg_conn *conn = NULL;
  bool key_made = false;
  s = calloc(1, sizeof *s);
  if (!s || !(s->url = strdup(url)) ||
      pthread_key_create(&s->conn_key, conn_thread_exit) != 0) {
    set_error(error, error_size, "out of memory opening the store");
    goto done;
  }
  key_made = true;
  pthread_mutex_init(&s->conns_lock, NULL);
  atomic_init(&s->down, false);
  atomic_init(&s->paused_until, 0);
  atomic_init(&s->probing, false);
  atomic_init(&s->last_unanswered, 0);
  s->base.driver = &bo_pg_driver;
  s->base.impl = s;
  if (!read_url(s, error, error_size))
    goto done;
  /* Open this thread's connection now, so that a wrong address or password
   * fails at start-up with a reason rather than at the first request. */
  char why[400] = "";
  conn = conn_open(s, why, sizeof why);
  if (!conn) {
    set_error(error, error_size, "cannot connect to PostgreSQL (%s): %s",
              s->where, why);
    goto done;
  }
  if (pthread_setspecific(s->conn_key, conn) != 0) {
    set_error(error, error_size, "out of memory opening the store");
    goto done;
  }
  conns_link(s, conn);
  conn = NULL;
  result = &s->base;
  s = NULL;
done:
  if (conn)
    conn_free(conn);
  if (s && key_made) {
    pthread_key_delete(s->conn_key);
    pthread_mutex_destroy(&s->conns_lock);
  }
  if (s)
    free(s->url);
  free(s);
  return result;
}

void bo_pg_close(struct bo_store *store) {
  struct bo_pg_store *s = store->impl;
  /* After pthread_key_delete no destructor runs, so no thread can free a
   * connection behind our back once the list is ours. */
  pthread_key_delete(s->conn_key);
  pthread_mutex_lock(&s->conns_lock);
  struct bo_pg_conn *conn = s->conns;
  while (conn) {
    struct bo_pg_conn *next = conn->next;
    conn_free(conn);
    conn = next;
  }
  s->conns = NULL;
  pthread_mutex_unlock(&s->conns_lock);
  pthread_mutex_destroy(&s->conns_lock);
  free(s->url);
  free(s);
}
