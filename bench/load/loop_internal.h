/* The structures shared by the event loop (loop.c), its connections
 * (conn.c) and the thread runner (run.c). Workloads see only loop.h. */
#ifndef BO_LOAD_LOOP_INTERNAL_H
#define BO_LOAD_LOOP_INTERNAL_H

#include "loop.h"
#include "rng.h"
#include "stats.h"
#include "target.h"
#include "timer_heap.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a VU is. A request is in flight in CONNECTING, SENDING and
 * AWAITING; FAILED waits in the loop's deferred list for the retry or the
 * status-0 response (never handled inside send(), so a callback is never
 * re-entered). ACTING is the time inside a callback, until the VU chose. */
enum bo_conn_state {
  BO_CONN_ACTING,
  BO_CONN_SLEEPING,
  BO_CONN_CONNECTING,
  BO_CONN_SENDING,
  BO_CONN_AWAITING,
  BO_CONN_FAILED,
  BO_CONN_STOPPED,
};

/* Room for the longest request a workload writes (a token, a path, two
 * extra headers and a small JSON body), with a wide margin. */
#define BO_CONN_REQUEST_MAX 640

struct bo_load_loop;

struct bo_load_conn {
  struct bo_load_loop *loop;
  int fd; /* -1 when closed */
  uint32_t slot;
  uint32_t generation; /* bumped per socket: stale epoll events are dropped */
  enum bo_conn_state state;
  bool server_closed; /* the last socket was ended by the server */
  bool fresh;         /* this socket has not carried a response yet */
  bool retried;       /* the request in flight is already a retry */
  bool keep_body;
  bool streaming;      /* the request in flight is an event stream */
  bool stream_open;    /* ...and it answered 200: its body is the stream */
  bool stream_counted; /* ...and its first bytes are in the statistics */
  bool complete;       /* the parser saw the end of the response */
  bool header_in_value;
  bool header_is_retry_after;
  uint8_t header_name_len;
  uint8_t header_value_len;
  char header_name[16];
  char header_value[16];
  int retry_after;
  uint16_t request_len;
  uint16_t request_sent;
  uint64_t sent_ns;     /* first write of the request: latency starts */
  uint64_t deadline_ns; /* the request times out */
  http_parser parser;
  char *body; /* grows as needed, kept for the next response */
  size_t body_len;
  size_t body_cap;
  char request[BO_CONN_REQUEST_MAX];
};

struct bo_load_loop {
  int epoll_fd;
  const struct bo_load_target *target;
  const struct bo_load_vu_ops *ops;
  void *context;
  struct bo_load_conn *conns;
  uint32_t conn_count;
  size_t first_id;
  size_t total;  /* connections in the whole run, for the ramp */
  uint32_t live; /* VUs that have not stopped */
  struct bo_timer_heap timers;
  uint32_t *deferred; /* slots in BO_CONN_FAILED, to handle at top level */
  uint32_t deferred_count;
  struct bo_load_stats stats;
  struct bo_rng rng;
  uint64_t measure_from_ns; /* requests sent earlier are not counted */
  uint64_t timeout_ns;
  char read_buffer[65536];
};

/* conn.c, for loop.c */
void bo_conn_init(struct bo_load_conn *c, struct bo_load_loop *loop,
                  uint32_t slot);
void bo_conn_free(struct bo_load_conn *c);
/* Handles readiness of the connection's socket (epoll event bits). */
void bo_conn_on_event(struct bo_load_conn *c, uint32_t events);
/* Handles a failure from the deferred list: retry once, else status 0. */
void bo_conn_on_failure(struct bo_load_conn *c);
/* Fails the request in flight if it has waited past its deadline. */
void bo_conn_check_timeout(struct bo_load_conn *c, uint64_t now_ns);
/* Whether the socket is connected (for the count of open connections). */
bool bo_conn_is_open(const struct bo_load_conn *c);
/* Runs a VU callback and checks that it chose what comes next. */
void bo_conn_wake(struct bo_load_conn *c);

/* epoll user data: the slot and the socket's generation. */
uint64_t bo_conn_event_tag(const struct bo_load_conn *c);

/* loop.c, for run.c: one thread's share of the connections. */
struct bo_loop_setup {
  const struct bo_load_target *target;
  const struct bo_load_vu_ops *ops;
  void *context;
  size_t first_id; /* this thread's connections are first_id.. */
  uint32_t count;  /* ..first_id + count - 1 */
  size_t total;    /* connections in the whole run */
  uint64_t seed;   /* with thread_index: this thread's random stream */
  uint32_t thread_index;
  uint64_t timeout_ns;
};

/* NULL when memory or epoll cannot be had. */
struct bo_load_loop *bo_loop_create(const struct bo_loop_setup *setup);
void bo_loop_destroy(struct bo_load_loop *loop);
/* Wakes connection `id` first at start_ns + ramp_ns * id / total, counts
 * only requests sent from measure_from_ns on, and runs until every VU
 * stopped or until end_ns (0: no end). */
void bo_loop_run(struct bo_load_loop *loop, uint64_t start_ns, uint64_t ramp_ns,
                 uint64_t measure_from_ns, uint64_t end_ns);
/* Connections open now (call after bo_loop_run, before destroy). */
uint32_t bo_loop_open_connections(const struct bo_load_loop *loop);

#endif
