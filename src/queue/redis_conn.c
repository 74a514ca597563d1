/* Connections of the Redis queue driver: one per thread, made on first use
 * and made again after any failure.
 *
 * The pool belongs to the backend (redis.c), and every line opened on it
 * uses it: one connection per thread however many lines there are, each
 * line's calls naming that line's keys. Each thread finds its own struct
 * bo_redisq_conn through a pthread key owned by the pool (no globals), so
 * a worker never waits for another's round trip and hiredis's blocking API
 * can be used as it is. The pool also keeps every connection on a list, so
 * that closing the backend frees the connections of threads that are
 * still alive; a thread that ends first frees its own through the key's
 * destructor.
 *
 * Failing fast. Connecting waits at most BO_REDISQ_CONNECT_TIMEOUT_MS, and
 * every command at most BO_REDISQ_COMMAND_TIMEOUT_MS (SO_RCVTIMEO and
 * SO_SNDTIMEO through redisSetTimeout); TCP keepalive notices a peer that
 * vanished without a word. On any I/O error or timeout the connection is
 * dropped and the call answers BO_QUEUE_UNAVAILABLE; the next call
 * connects again, so when Redis is back every thread recovers by itself.
 *
 * A connection that sat idle while Redis restarted is already closed by
 * the peer, but a write to it would still succeed and only the read would
 * fail, losing one request. So before each command, a zero-timeout poll()
 * asks whether the socket has anything to read: between commands a healthy
 * RESP connection never does, so "readable" means EOF, a reset or garbage,
 * and the connection is replaced before it is used.
 *
 * Pausing. A Redis that refuses or drops connections costs a call
 * nothing, but one that accepts and then does not answer (frozen, or cut
 * off by the network) costs each call its whole limit, and each worker
 * thread serves its requests one after another: 64 requests on 8 threads
 * would answer after up to 8 s, one limit per request queued ahead. So
 * when a connect or a command times out for the second time within
 * BO_REDISQ_UNANSWERED_WINDOW_MS (one stuck connection is not Redis; two
 * calls are), the pool pauses: for BO_REDISQ_PAUSE_MS every call answers
 * "unavailable" at once without touching Redis. After that one call at a
 * time (the probe, often the housekeeping thread's admission step) tries
 * it; if the probe is answered in time the pause ends, if not it starts
 * again. A request then waits at most about two limits, never one per
 * request ahead of it. An error Redis answers with, or a refused
 * connection, is an answer: it does not pause.
 *
 * Scripts. Each new connection loads every script (SCRIPT LOAD, pipelined
 * with AUTH and SELECT into one round trip) and keeps the SHA1s Redis gave
 * back; calls use EVALSHA. If Redis answers NOSCRIPT anyway (SCRIPT FLUSH,
 * a failover to a replica that never saw the script), the call is sent
 * again as EVAL with the full text, which also puts it back in the cache. */
#include "queue/redis_internal.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define BO_REDISQ_SHA_LEN 40
/* Arguments an EVALSHA takes from the stack; the draw's longer lists are
 * allocated. */
#define BO_REDISQ_STACK_ARGS 32

struct bo_redisq_conn {
  struct bo_redisq_pool *pool;
  redisContext *ctx; /* NULL when not connected */
  int down;          /* the last attempt failed: log once per outage */
  char sha[BO_REDISQ_SCRIPTS][BO_REDISQ_SHA_LEN + 1];
  struct bo_redisq_conn *prev, *next; /* the pool's list */
};

static const char *const bo_redisq_script_names[BO_REDISQ_SCRIPTS] = {
    "join", "status", "leave", "admit", "stats", "draw"};

static int64_t bo_redisq_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* errno after a failed hiredis call: did the socket's time limit (or the
 * connect deadline) run out, rather than the peer refuse or close? */
static int bo_redisq_timed_out(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ETIMEDOUT ||
         err == EINPROGRESS;
}

static void bo_redisq_unresponsive(struct bo_redisq_pool *pool) {
  int64_t now = bo_redisq_now_ms();
  int64_t last = atomic_exchange(&pool->last_unanswered, now);
  /* Paused already (a probe, or a call begun before the pause, failed):
   * pause again at once. */
  if (atomic_load(&pool->paused_until) == 0 &&
      (last == 0 || now - last > BO_REDISQ_UNANSWERED_WINDOW_MS))
    return;
  int64_t was = atomic_exchange(&pool->paused_until, now + BO_REDISQ_PAUSE_MS);
  /* Once per episode: probes that fail again only extend it. */
  if (was == 0)
    bo_log_warn("msg=\"redis queue does not answer in time; pausing\" "
                "pause_ms=%d",
                BO_REDISQ_PAUSE_MS);
}

/* Whether a call may go to Redis now; *probe is nonzero for the one call
 * let through after a pause, and goes to bo_redisq_done. */
static int bo_redisq_admit(struct bo_redisq_pool *pool, int64_t *probe) {
  *probe = 0;
  int64_t until = atomic_load(&pool->paused_until);
  if (until == 0)
    return 1;
  if (bo_redisq_now_ms() < until)
    return 0;
  bool idle = false;
  if (!atomic_compare_exchange_strong(&pool->probing, &idle, true))
    return 0; /* another call is finding out */
  *probe = until;
  return 1;
}

static void bo_redisq_done(struct bo_redisq_pool *pool, int64_t probe) {
  if (probe == 0)
    return;
  /* Unchanged: nobody, this probe included, timed out since it began. */
  int64_t seen = probe;
  if (atomic_compare_exchange_strong(&pool->paused_until, &seen, 0))
    bo_log_info("msg=\"redis queue answers in time again\"");
  atomic_store(&pool->probing, false);
}

static void bo_redisq_unlink(struct bo_redisq_conn *conn) {
  struct bo_redisq_pool *pool = conn->pool;
  if (conn->prev != NULL)
    conn->prev->next = conn->next;
  else
    pool->conns = conn->next;
  if (conn->next != NULL)
    conn->next->prev = conn->prev;
}

/* The key's destructor: the thread is ending. */
static void bo_redisq_conn_destroy(void *arg) {
  struct bo_redisq_conn *conn = arg;
  pthread_mutex_lock(&conn->pool->lock);
  bo_redisq_unlink(conn);
  pthread_mutex_unlock(&conn->pool->lock);
  if (conn->ctx != NULL)
    redisFree(conn->ctx);
  free(conn);
}

static char *bo_redisq_concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *out = malloc(la + lb + 2);
  if (out == NULL)
    return NULL;
  memcpy(out, a, la);
  out[la] = '\n';
  memcpy(out + la + 1, b, lb + 1);
  return out;
}

int bo_redisq_pool_init(struct bo_redisq_pool *pool, struct bo_redisq_url *url,
                        char *error, size_t error_size) {
  *pool = (struct bo_redisq_pool){.url = *url};
  *url = (struct bo_redisq_url){0};
  /* Lua functions cannot be shared between scripts, so the common step is
   * put in front of each script that carries a time; stats and draw run
   * no step and stand alone. See docs/queue.md. */
  const struct {
    const char *text;
    bool stepped;
  } scripts[BO_REDISQ_SCRIPTS] = {
      [BO_REDISQ_JOIN] = {bo_lua_join, true},
      [BO_REDISQ_STATUS] = {bo_lua_status, true},
      [BO_REDISQ_LEAVE] = {bo_lua_leave, true},
      [BO_REDISQ_ADMIT] = {bo_lua_admit, true},
      [BO_REDISQ_STATS] = {bo_lua_stats, false},
      [BO_REDISQ_DRAW] = {bo_lua_draw, false},
  };
  for (int i = 0; i < BO_REDISQ_SCRIPTS; i++) {
    pool->text[i] = scripts[i].stepped
                        ? bo_redisq_concat(bo_lua_step, scripts[i].text)
                        : strdup(scripts[i].text);
    if (pool->text[i] == NULL)
      goto oom;
  }
  if (pthread_key_create(&pool->key, bo_redisq_conn_destroy) != 0)
    goto oom;
  if (pthread_mutex_init(&pool->lock, NULL) != 0) {
    pthread_key_delete(pool->key);
    goto oom;
  }
  atomic_init(&pool->paused_until, 0);
  atomic_init(&pool->probing, false);
  atomic_init(&pool->last_unanswered, 0);
  return 0;
oom:
  for (int i = 0; i < BO_REDISQ_SCRIPTS; i++)
    free(pool->text[i]);
  bo_redisq_url_free(&pool->url);
  snprintf(error, error_size, "redis queue: out of memory");
  return -1;
}

void bo_redisq_pool_destroy(struct bo_redisq_pool *pool) {
  /* This thread's slot would otherwise point at freed memory until the
   * key is deleted; other threads' slots die with the key. */
  pthread_setspecific(pool->key, NULL);
  pthread_key_delete(pool->key);
  pthread_mutex_lock(&pool->lock);
  struct bo_redisq_conn *conn = pool->conns;
  pool->conns = NULL;
  pthread_mutex_unlock(&pool->lock);
  while (conn != NULL) {
    struct bo_redisq_conn *next = conn->next;
    if (conn->ctx != NULL)
      redisFree(conn->ctx);
    free(conn);
    conn = next;
  }
  pthread_mutex_destroy(&pool->lock);
  for (int i = 0; i < BO_REDISQ_SCRIPTS; i++)
    free(pool->text[i]);
  bo_redisq_url_free(&pool->url);
}

static struct bo_redisq_conn *bo_redisq_this_conn(struct bo_redisq_pool *pool) {
  struct bo_redisq_conn *conn = pthread_getspecific(pool->key);
  if (conn != NULL)
    return conn;
  conn = calloc(1, sizeof *conn);
  if (conn == NULL)
    return NULL;
  conn->pool = pool;
  if (pthread_setspecific(pool->key, conn) != 0) {
    free(conn);
    return NULL;
  }
  pthread_mutex_lock(&pool->lock);
  conn->next = pool->conns;
  if (pool->conns != NULL)
    pool->conns->prev = conn;
  pool->conns = conn;
  pthread_mutex_unlock(&pool->lock);
  return conn;
}

static void bo_redisq_drop(struct bo_redisq_conn *conn) {
  if (conn->ctx != NULL)
    redisFree(conn->ctx);
  conn->ctx = NULL;
}

static struct timeval bo_redisq_tv(int ms) {
  return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* Readable between commands: the peer closed or reset the connection. */
static int bo_redisq_stale(const redisContext *ctx) {
  struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
  return poll(&pfd, 1, 0) != 0;
}

/* Errors Redis gives while it cannot serve yet, which are an outage, not a
 * setting to fix. */
static int bo_redisq_transient(const char *message) {
  static const char *const prefixes[] = {"LOADING", "BUSY", "MASTERDOWN",
                                         "TRYAGAIN", "CLUSTERDOWN"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (strncmp(message, prefixes[i], strlen(prefixes[i])) == 0)
      return 1;
  return 0;
}

/* Sends AUTH, SELECT and one SCRIPT LOAD per script in one round trip and
 * reads every answer. 0, -1 (I/O or a transient error), -2 (refused). */
static int bo_redisq_handshake(struct bo_redisq_conn *conn, redisContext *ctx,
                               char *error, size_t error_size) {
  const struct bo_redisq_url *url = &conn->pool->url;
  char db[16];
  snprintf(db, sizeof db, "%d", url->db);
  int sent = 0;
  if (url->password != NULL) {
    if (url->user != NULL) {
      const char *argv[] = {"AUTH", url->user, url->password};
      redisAppendCommandArgv(ctx, 3, argv, NULL);
    } else {
      const char *argv[] = {"AUTH", url->password};
      redisAppendCommandArgv(ctx, 2, argv, NULL);
    }
    sent++;
  }
  if (url->db != 0) {
    const char *argv[] = {"SELECT", db};
    redisAppendCommandArgv(ctx, 2, argv, NULL);
    sent++;
  }
  for (int i = 0; i < BO_REDISQ_SCRIPTS; i++) {
    const char *argv[] = {"SCRIPT", "LOAD", conn->pool->text[i]};
    redisAppendCommandArgv(ctx, 3, argv, NULL);
  }
  int rc = 0;
  for (int i = 0; i < sent + BO_REDISQ_SCRIPTS; i++) {
    redisReply *reply = NULL;
    if (redisGetReply(ctx, (void **)&reply) != REDIS_OK || reply == NULL) {
      if (bo_redisq_timed_out(errno))
        bo_redisq_unresponsive(conn->pool);
      snprintf(error, error_size,
               "redis queue: lost Redis at %.100s:%d: %.100s", url->host,
               url->port, ctx->errstr);
      return -1;
    }
    int script = i - sent;
    if (rc == 0 && reply->type == REDIS_REPLY_ERROR) {
      const char *what = script >= 0 ? bo_redisq_script_names[script]
                         : i == 0 && url->password != NULL
                             ? "AUTH (check the user and password)"
                             : "SELECT (check the db number)";
      snprintf(error, error_size, "redis queue: Redis refused %s%s: %.120s",
               what, script >= 0 ? " script" : "", reply->str);
      rc = bo_redisq_transient(reply->str) ? -1 : -2;
    } else if (rc == 0 && script >= 0) {
      if (reply->type != REDIS_REPLY_STRING ||
          reply->len != BO_REDISQ_SHA_LEN) {
        snprintf(error, error_size,
                 "redis queue: unexpected answer to SCRIPT LOAD");
        rc = -2;
      } else {
        memcpy(conn->sha[script], reply->str, BO_REDISQ_SHA_LEN + 1);
      }
    }
    freeReplyObject(reply);
  }
  return rc;
}

int bo_redisq_connect(struct bo_redisq_pool *pool, char *error,
                      size_t error_size) {
  char scratch[1];
  if (error == NULL || error_size == 0) {
    error = scratch;
    error_size = sizeof scratch;
  }
  struct bo_redisq_conn *conn = bo_redisq_this_conn(pool);
  if (conn == NULL) {
    snprintf(error, error_size, "redis queue: out of memory");
    return -1;
  }
  if (conn->ctx != NULL && bo_redisq_stale(conn->ctx))
    bo_redisq_drop(conn);
  if (conn->ctx != NULL)
    return 0;
  const struct bo_redisq_url *url = &pool->url;
  redisContext *ctx = redisConnectWithTimeout(
      url->host, url->port, bo_redisq_tv(BO_REDISQ_CONNECT_TIMEOUT_MS));
  if (ctx == NULL) {
    snprintf(error, error_size, "redis queue: out of memory");
    return -1;
  }
  int rc = -1;
  if (ctx->err) {
    if (bo_redisq_timed_out(errno))
      bo_redisq_unresponsive(pool);
    snprintf(error, error_size,
             "redis queue: cannot reach Redis at %.100s:%d: %.100s", url->host,
             url->port, ctx->errstr);
    goto done;
  }
  if (redisSetTimeout(ctx, bo_redisq_tv(BO_REDISQ_COMMAND_TIMEOUT_MS)) !=
          REDIS_OK ||
      redisEnableKeepAlive(ctx) != REDIS_OK) {
    snprintf(error, error_size,
             "redis queue: cannot set timeouts on the connection: %s",
             ctx->errstr);
    goto done;
  }
  rc = bo_redisq_handshake(conn, ctx, error, error_size);
done:
  if (rc == 0)
    conn->ctx = ctx;
  else
    redisFree(ctx);
  return rc;
}

/* Logs an outage once per thread, not once per request. */
static void bo_redisq_note_down(struct bo_redisq_conn *conn,
                                const char *reason) {
  if (!conn->down)
    bo_log_warn("msg=\"redis queue unavailable\" reason=\"%s\"", reason);
  conn->down = 1;
}

static int bo_redisq_ready(struct bo_redisq_pool *pool,
                           struct bo_redisq_conn **out) {
  char error[512];
  int rc = bo_redisq_connect(pool, error, sizeof error);
  struct bo_redisq_conn *conn = pthread_getspecific(pool->key);
  if (conn == NULL)
    return -1;
  if (rc != 0) {
    bo_redisq_note_down(conn, error);
    return -1;
  }
  if (conn->down)
    bo_log_info("msg=\"redis queue reachable again\"");
  conn->down = 0;
  *out = conn;
  return 0;
}

static void bo_redisq_lost(struct bo_redisq_conn *conn) {
  char error[512];
  snprintf(error, sizeof error, "lost Redis at %.100s:%d: %.100s",
           conn->pool->url.host, conn->pool->url.port, conn->ctx->errstr);
  bo_redisq_note_down(conn, error);
  bo_redisq_drop(conn);
}

/* A reply from Redis, or NULL (logged) when there was none or it was an
 * error; `what` names the call in the log. */
static redisReply *bo_redisq_checked(struct bo_redisq_pool *pool,
                                     struct bo_redisq_conn *conn,
                                     redisReply *reply, const char *what) {
  if (reply == NULL) {
    if (bo_redisq_timed_out(errno))
      bo_redisq_unresponsive(pool);
    bo_redisq_lost(conn);
    return NULL;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    /* A state Redis is in (LOADING, BUSY, OOM under maxmemory, READONLY
     * after a failover) or a bug in a script: either way not an answer. */
    bo_log_error("msg=\"redis queue call failed\" call=%s "
                 "reason=\"%.200s\"",
                 what, reply->str);
    /* READONLY: this connection reaches a replica now; a new one may
     * reach the new primary. */
    if (strncmp(reply->str, "READONLY", 8) == 0)
      bo_redisq_drop(conn);
    freeReplyObject(reply);
    return NULL;
  }
  return reply;
}

static redisReply *bo_redisq_eval_on(struct bo_redisq_pool *pool,
                                     enum bo_redisq_script script, int nkeys,
                                     int nargs, const char *const *argv) {
  if (nargs < nkeys)
    abort(); /* a bug in the caller */
  struct bo_redisq_conn *conn = NULL;
  if (bo_redisq_ready(pool, &conn) != 0)
    return NULL;
  const char *stack[BO_REDISQ_STACK_ARGS];
  const char **args = stack;
  if (nargs + 3 > BO_REDISQ_STACK_ARGS) {
    args = malloc(((size_t)nargs + 3) * sizeof *args);
    if (args == NULL)
      return NULL;
  }
  char numkeys[16];
  snprintf(numkeys, sizeof numkeys, "%d", nkeys);
  args[0] = "EVALSHA";
  args[1] = conn->sha[script];
  args[2] = numkeys;
  for (int i = 0; i < nargs; i++)
    args[3 + i] = argv[i];
  redisReply *reply = redisCommandArgv(conn->ctx, nargs + 3, args, NULL);
  if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
      strncmp(reply->str, "NOSCRIPT", 8) == 0) {
    freeReplyObject(reply);
    args[0] = "EVAL";
    args[1] = pool->text[script];
    reply = redisCommandArgv(conn->ctx, nargs + 3, args, NULL);
  }
  /* Checked first: it reads errno, which free() may not keep. */
  reply = bo_redisq_checked(pool, conn, reply, bo_redisq_script_names[script]);
  if (args != stack)
    free(args);
  return reply;
}

redisReply *bo_redisq_eval(struct bo_redisq_pool *pool,
                           enum bo_redisq_script script, int nkeys, int nargs,
                           const char *const *argv) {
  int64_t probe;
  if (!bo_redisq_admit(pool, &probe))
    return NULL;
  redisReply *reply = bo_redisq_eval_on(pool, script, nkeys, nargs, argv);
  bo_redisq_done(pool, probe);
  return reply;
}

static redisReply *bo_redisq_command_on(struct bo_redisq_pool *pool, int argc,
                                        const char *const *argv) {
  struct bo_redisq_conn *conn = NULL;
  if (bo_redisq_ready(pool, &conn) != 0)
    return NULL;
  /* hiredis 0.14 declares argv without the inner const; it only reads. */
  redisReply *reply =
      redisCommandArgv(conn->ctx, argc, (const char **)argv, NULL);
  return bo_redisq_checked(pool, conn, reply, argv[0]);
}

redisReply *bo_redisq_command(struct bo_redisq_pool *pool, int argc,
                              const char *const *argv) {
  int64_t probe;
  if (!bo_redisq_admit(pool, &probe))
    return NULL;
  redisReply *reply = bo_redisq_command_on(pool, argc, argv);
  bo_redisq_done(pool, probe);
  return reply;
}

static int bo_redisq_ping_on(struct bo_redisq_pool *pool) {
  struct bo_redisq_conn *conn = NULL;
  if (bo_redisq_ready(pool, &conn) != 0)
    return -1;
  redisReply *reply = redisCommand(conn->ctx, "PING");
  if (reply == NULL) {
    if (bo_redisq_timed_out(errno))
      bo_redisq_unresponsive(pool);
    bo_redisq_lost(conn);
    return -1;
  }
  int ok = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
  freeReplyObject(reply);
  return ok ? 0 : -1;
}

int bo_redisq_ping(struct bo_redisq_pool *pool) {
  int64_t probe;
  if (!bo_redisq_admit(pool, &probe))
    return -1;
  int rc = bo_redisq_ping_on(pool);
  bo_redisq_done(pool, probe);
  return rc;
}
