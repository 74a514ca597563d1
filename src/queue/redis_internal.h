/* Private to the Redis queue driver (src/queue/redis*.c): the URL parser,
 * the per-thread connections with their loaded scripts, the scripts
 * themselves, a line's keys, and the draw. redis.c opens with the essay on
 * how a line is kept in Redis; docs/queue.md has the key layout and what
 * each script promises. */
#ifndef BO_QUEUE_REDIS_INTERNAL_H
#define BO_QUEUE_REDIS_INTERNAL_H

#include "queue/queue.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The driver's entry points, used by queue.c: a backend (the connection
 * pool and scripts every line shares), and lines on it. */
struct bo_redisq_backend;
struct bo_redisq_backend *bo_redisq_backend_open(const char *url, char *error,
                                                 size_t error_size);
void bo_redisq_backend_close(struct bo_redisq_backend *backend);
struct bo_queue *bo_redisq_open_line(struct bo_redisq_backend *backend,
                                     int64_t line_id,
                                     const struct bo_queue_settings *settings,
                                     char *error, size_t error_size);

/* Every src/queue/NAME.lua, embedded by cmake/embed_lua.cmake. */
extern const char bo_lua_step[];
extern const char bo_lua_join[];
extern const char bo_lua_status[];
extern const char bo_lua_leave[];
extern const char bo_lua_admit[];
extern const char bo_lua_stats[];
extern const char bo_lua_draw[];

/* Reply codes and token states the scripts return (step.lua: R_*, S_*). */
enum { BO_REDISQ_R_OK = 0, BO_REDISQ_R_NOT_FOUND = 1, BO_REDISQ_R_RETRY = 2 };
enum { BO_REDISQ_S_WAITING = 1, BO_REDISQ_S_ACTIVE = 2, BO_REDISQ_S_SPENT = 3 };

/* The draw script's reply codes (draw.lua: D_*). */
enum {
  BO_REDISQ_D_OK = 0,
  BO_REDISQ_D_ALREADY = 1,
  BO_REDISQ_D_RETRY = 2,
  BO_REDISQ_D_LOST = 3
};

/* Line 0's keys live under this prefix, line L's under "bo:{qL}:". The
 * braces are the Redis Cluster hash tag that puts one line's keys in one
 * slot, as multi-key scripts require, and different lines in different
 * ones. */
#define BO_REDISQ_PREFIX "bo:{q}:"

/* About a second each, so a request that needs Redis gets its 503 within
 * about a second when Redis is gone or hangs. */
#define BO_REDISQ_CONNECT_TIMEOUT_MS 1000
#define BO_REDISQ_COMMAND_TIMEOUT_MS 1000
/* How long calls fail at once once Redis has left connects or commands
 * unanswered past their limits, before one call at a time may try it
 * again; and the window in which two such calls mean Redis rather than one
 * stuck connection (redis_conn.c, "Pausing"). */
#define BO_REDISQ_PAUSE_MS 1000
#define BO_REDISQ_UNANSWERED_WINDOW_MS 5000

/* ---- redis_url.c: redis://[[user]:password@]host[:port][/db] ---- */
struct bo_redisq_url {
  char host[256];
  int port;       /* default 6379 */
  int db;         /* default 0 */
  char *user;     /* NULL when absent; owned */
  char *password; /* NULL when absent; owned */
};

/* 0, or -1 with a reason in `error` that never repeats the URL (it may
 * carry a password). */
int bo_redisq_url_parse(const char *url, struct bo_redisq_url *out, char *error,
                        size_t error_size);
void bo_redisq_url_free(struct bo_redisq_url *url);

/* ---- redis_conn.c: one connection per thread, scripts loaded on it ---- */
enum bo_redisq_script {
  BO_REDISQ_JOIN,
  BO_REDISQ_STATUS,
  BO_REDISQ_LEAVE,
  BO_REDISQ_ADMIT,
  BO_REDISQ_STATS,
  BO_REDISQ_DRAW,
  BO_REDISQ_SCRIPTS
};

struct bo_redisq_conn; /* a thread's connection; see redis_conn.c */

struct bo_redisq_pool {
  struct bo_redisq_url url;
  /* The text Redis runs for each script: step.lua + the script for the
   * ones that carry a time. Built once at open; owned. */
  char *text[BO_REDISQ_SCRIPTS];
  pthread_key_t key;            /* -> this thread's struct bo_redisq_conn */
  pthread_mutex_t lock;         /* guards `conns` */
  struct bo_redisq_conn *conns; /* every thread's, so close frees them all */
  /* Monotonic ms until which calls fail at once (0: none), and whether the
   * one call let through after that time is out (redis_conn.c). */
  _Atomic int64_t paused_until;
  atomic_bool probing;
  _Atomic int64_t last_unanswered; /* monotonic ms of the last; 0: none */
};

/* Takes over `url` (zeroes the caller's copy). 0, or -1 with a reason. */
int bo_redisq_pool_init(struct bo_redisq_pool *pool, struct bo_redisq_url *url,
                        char *error, size_t error_size);
/* Frees every connection, including other threads'. No call may run. */
void bo_redisq_pool_destroy(struct bo_redisq_pool *pool);

/* Connects this thread (AUTH, SELECT, SCRIPT LOAD) unless it already is.
 * 0 when the server answered; -1 when it could not be reached (reason in
 * `error`, the connection dropped); -2 when it answered with an error, such
 * as a wrong password (a setting to fix, not an outage). */
int bo_redisq_connect(struct bo_redisq_pool *pool, char *error,
                      size_t error_size);

/* Runs a script by EVALSHA (EVAL when Redis has lost it: NOSCRIPT, e.g.
 * after a restart or SCRIPT FLUSH). argv holds the keys and then the
 * arguments, as many as the caller likes. NULL when Redis could not be reached,
 * did not answer in time or answered with an error: the connection is then
 * dropped (I/O) or kept (error reply), and the next call reconnects; NULL at
 * once, without a round trip, while the pool pauses after a timeout
 * (redis_conn.c). The reply is the caller's to freeReplyObject. */
redisReply *bo_redisq_eval(struct bo_redisq_pool *pool,
                           enum bo_redisq_script script, int nkeys, int nargs,
                           const char *const *argv);

/* One plain command (argv[0] is its name), with the same failure rules
 * as bo_redisq_eval: NULL when Redis could not be reached, did not answer
 * in time or answered with an error. The reply is the caller's. */
redisReply *bo_redisq_command(struct bo_redisq_pool *pool, int argc,
                              const char *const *argv);

/* PING on this thread's connection: 0 on PONG, -1 otherwise (at once
 * while the pool pauses). */
int bo_redisq_ping(struct bo_redisq_pool *pool);

/* ---- redis.c: a line ---- */

/* A line's keys, each its prefix plus a name (docs/queue.md). The first
 * BO_REDISQ_STEP_KEYS are KEYS 1..12 of every script that runs step.lua,
 * in step.lua's order; the rest belong to the draw. spent:<token> keys are
 * made per call. */
enum bo_redisq_key {
  BO_REDISQ_K_LINE,
  BO_REDISQ_K_ACTIVE,
  BO_REDISQ_K_SEEN,
  BO_REDISQ_K_OWNER,
  BO_REDISQ_K_HOLDER,
  BO_REDISQ_K_RATE,
  BO_REDISQ_K_SEQ,
  BO_REDISQ_K_PRE,
  BO_REDISQ_K_BUCKET,
  BO_REDISQ_K_DRAWN,
  BO_REDISQ_K_STARTED,
  BO_REDISQ_K_DRAW_LOCK,
  BO_REDISQ_STEP_KEYS,
  BO_REDISQ_K_IDS = BO_REDISQ_STEP_KEYS,
  BO_REDISQ_K_DRAWING,
  BO_REDISQ_KEYS
};

/* "bo:{q" + a line id (at most 19 digits) + "}:" */
#define BO_REDISQ_PREFIX_MAX 32
/* A prefix and the longest name, "spent:" + a token. */
#define BO_REDISQ_KEY_MAX (BO_REDISQ_PREFIX_MAX + 6 + BO_TOKEN_TEXT_LEN + 1)
#define BO_REDISQ_INT_CHARS 24

struct bo_redisq_line {
  struct bo_queue queue;       /* the public face; impl points back here */
  struct bo_redisq_pool *pool; /* the backend's, shared with other lines */
  int64_t line_id;
  char prefix[BO_REDISQ_PREFIX_MAX];
  char keys[BO_REDISQ_KEYS][BO_REDISQ_KEY_MAX];
  /* The settings as script arguments, written once. */
  char active_ms[BO_REDISQ_INT_CHARS];
  char idle_ms[BO_REDISQ_INT_CHARS];
  char spent_keep_ms[BO_REDISQ_INT_CHARS];
  char spent_slack_ms[BO_REDISQ_INT_CHARS];
  /* configure() may run while other threads call; each call copies the
   * policy under the lock and sends its copy. */
  pthread_mutex_t policy_lock;
  struct bo_line_policy policy;
  /* The pre-queue is known to be drawn (it never becomes undrawn), so
   * admit() stops asking. */
  atomic_bool drawn;
  /* The last admit() found people in the pre-queue of a line whose on-sale
   * was called off: the next one draws them. */
  atomic_bool stranded;
  /* This line object's value for the draw's lock, so that it can take the
   * lock up again after its own draw failed half-way (redis_draw.c). */
  char draw_holder[33];
  atomic_int_least64_t admitted_total;
  atomic_int_least64_t latest_now_ms; /* of the latest call with a time */
};

/* ---- redis_draw.c: the draw of a line's pre-queue ---- */

/* Draws the pre-queue (queue.h, "Lines") unless another instance is doing
 * it or it is done: OK then, UNAVAILABLE when Redis failed. Called by
 * admit() once it is time; `policy` is the caller's copy (its seed). */
enum bo_queue_status bo_redisq_draw(struct bo_redisq_line *q,
                                    const struct bo_line_policy *policy,
                                    int64_t now_ms);
/* The driver's draw_result(). */
enum bo_queue_status bo_redisq_draw_result(struct bo_queue *queue,
                                           struct bo_draw_result *out);

#endif
