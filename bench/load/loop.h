/* What a workload sees of the event loop: connections that each carry one
 * virtual user (VU), and the three things a VU can do next.
 *
 * The loop calls a VU's wake() when its turn comes (at the start, and when
 * a sleep ends) and respond() with the response to its request. Each of
 * these callbacks ends by calling exactly one of bo_load_conn_send(),
 * bo_load_conn_sleep_until() or bo_load_conn_stop(): a VU is a state
 * machine, and every transition says what it waits for next. Only one
 * request is ever in flight per connection.
 *
 * The loop owns the socket: it connects lazily (on the first request, and
 * again after the server closed the connection), keeps it alive between
 * requests, and when the server closes it under a request it reconnects
 * and sends that request once more. Only when the retry fails too does the
 * VU see a response with status 0. */
#ifndef BO_LOAD_LOOP_H
#define BO_LOAD_LOOP_H

#include "rng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bo_load_conn;

struct bo_load_request {
  const char *method; /* "GET", "POST" */
  const char *path;
  const char *bearer;  /* Authorization: Bearer <bearer>, or NULL */
  const char *headers; /* more header lines, each ending in \r\n, or NULL */
  const char *body;    /* a JSON body, or NULL */
  bool keep_body;      /* respond() needs the response body */
  /* An endless response (an event stream): once it is 200, its body goes
   * to the VU's stream() as it arrives, the request no longer times out,
   * and respond() comes only when the server ends it (or it fails). Its
   * latency is the time to the first bytes of the body; a stream that
   * fails after it opened is not sent again. */
  bool stream;
};

struct bo_load_response {
  int status;       /* 0: transport error (no response after the retry) */
  const char *body; /* NUL-terminated; "" unless the request kept it */
  size_t body_len;
  int retry_after;  /* seconds from a Retry-After header, -1 when none */
  uint64_t done_ns; /* CLOCK_MONOTONIC when the response was complete */
};

struct bo_load_vu_ops {
  void (*wake)(struct bo_load_conn *c);
  void (*respond)(struct bo_load_conn *c, const struct bo_load_response *r);
  /* A piece of an open stream's body (see bo_load_request.stream), as it
   * arrives. Only counts and parses: it must not send, sleep or stop.
   * NULL for workloads without streams. */
  void (*stream)(struct bo_load_conn *c, const char *data, size_t len);
};

/* The request is copied: the caller's strings may be reused at once. */
void bo_load_conn_send(struct bo_load_conn *c,
                       const struct bo_load_request *req);
/* CLOCK_MONOTONIC nanoseconds, as bo_load_now_ns() tells. */
void bo_load_conn_sleep_until(struct bo_load_conn *c, uint64_t when_ns);
void bo_load_conn_sleep_ms(struct bo_load_conn *c, uint64_t ms);
/* This VU is done; its connection closes. */
void bo_load_conn_stop(struct bo_load_conn *c);

/* Counts the response being handled as an error: a status that the
 * workload did not expect (>= 500 and status 0 are counted already). */
void bo_load_conn_unexpected(struct bo_load_conn *c);

/* The connection's index among its thread's connections (0-based), its
 * index in the whole run, and its thread's workload context. */
size_t bo_load_conn_slot(const struct bo_load_conn *c);
size_t bo_load_conn_id(const struct bo_load_conn *c);
void *bo_load_conn_context(const struct bo_load_conn *c);
/* The thread's random generator. */
struct bo_rng *bo_load_conn_rng(struct bo_load_conn *c);

uint64_t bo_load_now_ns(void);

#endif
