/* One connection of the load driver: a non-blocking socket, the request
 * in flight, and http_parser reading its response.
 *
 * Every socket is registered edge-triggered for input and output once, at
 * connect time, and never modified: an epoll_ctl per request would cost
 * the server under test a share of the two cores it has. Edge-triggered
 * means reading until EAGAIN, which read_ready() does.
 *
 * Failures found here never call the VU directly: the connection is parked
 * in BO_CONN_FAILED on the loop's deferred list, and the loop retries or
 * reports it at top level. A send() inside a callback can fail at once
 * (connect refused, descriptors exhausted), and handling that in place
 * would re-enter the VU that is still running. */
#include "loop_internal.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t bo_load_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool measured(const struct bo_load_conn *c, uint64_t now_ns) {
  uint64_t sent = c->sent_ns ? c->sent_ns : now_ns;
  return sent >= c->loop->measure_from_ns;
}

static bool in_flight(const struct bo_load_conn *c) {
  return c->state == BO_CONN_CONNECTING || c->state == BO_CONN_SENDING ||
         c->state == BO_CONN_AWAITING;
}

/* --- the response parser ------------------------------------------------ */

static void append_bounded(char *buf, uint8_t *len, size_t cap, const char *at,
                           size_t n) {
  size_t room = cap - 1 - *len;
  if (n > room)
    n = room;
  memcpy(buf + *len, at, n);
  *len = (uint8_t)(*len + n);
  buf[*len] = '\0';
}

/* Called when a header value is over: only Retry-After matters here. */
static void end_header(struct bo_load_conn *c) {
  if (c->header_in_value && c->header_is_retry_after) {
    char *end = NULL;
    long seconds = strtol(c->header_value, &end, 10);
    if (end != c->header_value && seconds >= 0 && seconds < 86400)
      c->retry_after = (int)seconds;
  }
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  struct bo_load_conn *c = p->data;
  if (c->header_in_value) {
    end_header(c);
    c->header_in_value = false;
    c->header_name_len = 0;
    c->header_name[0] = '\0';
  }
  append_bounded(c->header_name, &c->header_name_len, sizeof c->header_name, at,
                 n);
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  struct bo_load_conn *c = p->data;
  if (!c->header_in_value) {
    c->header_in_value = true;
    c->header_is_retry_after = strcasecmp(c->header_name, "retry-after") == 0;
    c->header_value_len = 0;
    c->header_value[0] = '\0';
  }
  if (c->header_is_retry_after)
    append_bounded(c->header_value, &c->header_value_len,
                   sizeof c->header_value, at, n);
  return 0;
}

/* The statistics of a response: at its end, or for a stream at its first
 * bytes (a stream's end says nothing about the server's speed). */
static void count_response(struct bo_load_conn *c, int status, uint64_t now) {
  struct bo_load_loop *loop = c->loop;
  if (!measured(c, now))
    return;
  loop->stats.requests++;
  if (status > 0 && status < BO_STATS_STATUS_MAX)
    loop->stats.status[status]++;
  if (status >= 500)
    loop->stats.server_errors++;
  bo_hist_record_ns(&loop->stats.latency, now - c->sent_ns);
  loop->stats.last_response_ns = now;
}

static int on_headers_complete(http_parser *p) {
  struct bo_load_conn *c = p->data;
  end_header(c);
  if (c->streaming && p->status_code == 200) {
    /* Open: it lasts as long as the server keeps it, and it is not sent
     * again if it drops (the VU decides what to do). */
    c->stream_open = true;
    c->fresh = false;
    c->retried = true;
    c->deadline_ns = UINT64_MAX;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  struct bo_load_conn *c = p->data;
  if (c->stream_open) {
    if (!c->stream_counted) {
      c->stream_counted = true;
      count_response(c, 200, bo_load_now_ns());
    }
    if (c->loop->ops->stream)
      c->loop->ops->stream(c, at, n);
    return 0;
  }
  if (!c->keep_body)
    return 0;
  if (c->body_len + n + 1 > c->body_cap) {
    size_t cap = c->body_cap ? c->body_cap : 4096;
    while (cap < c->body_len + n + 1)
      cap *= 2;
    char *grown = realloc(c->body, cap);
    if (!grown)
      return 1; /* a parser error: the request fails */
    c->body = grown;
    c->body_cap = cap;
  }
  memcpy(c->body + c->body_len, at, n);
  c->body_len += n;
  c->body[c->body_len] = '\0';
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct bo_load_conn *c = p->data;
  c->complete = true;
  /* One request in flight: anything after this response is not ours. */
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings parser_settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- the socket ---------------------------------------------------------- */

uint64_t bo_conn_event_tag(const struct bo_load_conn *c) {
  return (uint64_t)c->generation << 32 | c->slot;
}

/* `by_server`: the server ended the connection (end of stream, reset,
 * Connection: close), so the next socket to open is a reconnect. */
static void close_socket(struct bo_load_conn *c, bool by_server) {
  if (c->fd >= 0) {
    close(c->fd); /* also leaves the epoll set: the descriptor is not shared */
    c->fd = -1;
    if (by_server)
      c->server_closed = true;
  }
}

static void fail(struct bo_load_conn *c, bool by_server) {
  struct bo_load_loop *loop = c->loop;
  close_socket(c, by_server);
  c->state = BO_CONN_FAILED;
  assert(loop->deferred_count < loop->conn_count);
  loop->deferred[loop->deferred_count++] = c->slot;
}

static void write_some(struct bo_load_conn *c) {
  while (c->request_sent < c->request_len) {
    ssize_t n = send(c->fd, c->request + c->request_sent,
                     c->request_len - c->request_sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->request_sent = (uint16_t)(c->request_sent + n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return; /* the next EPOLLOUT edge goes on */
    } else {
      fail(c, true); /* EPIPE, ECONNRESET */
      return;
    }
  }
  c->state = BO_CONN_AWAITING;
}

static void transmit(struct bo_load_conn *c) {
  uint64_t now = bo_load_now_ns();
  /* A retry keeps the first write's time: the wait is the user's. */
  if (c->sent_ns == 0)
    c->sent_ns = now;
  if (c->loop->stats.first_send_ns == 0)
    c->loop->stats.first_send_ns = now;
  http_parser_init(&c->parser, HTTP_RESPONSE);
  c->parser.data = c;
  c->complete = false;
  c->header_in_value = false;
  c->header_is_retry_after = false;
  c->header_name_len = 0;
  c->header_name[0] = '\0';
  c->retry_after = -1;
  c->body_len = 0;
  c->stream_open = false;
  c->stream_counted = false;
  c->request_sent = 0;
  c->state = BO_CONN_SENDING;
  write_some(c);
}

static void connected(struct bo_load_conn *c) {
  if (c->server_closed)
    c->loop->stats.reconnects++;
  c->server_closed = false;
  transmit(c);
}

static void open_socket(struct bo_load_conn *c) {
  c->fresh = true;
  c->generation++;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail(c, false);
    return;
  }
  c->fd = fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const struct sockaddr_in *addr = &c->loop->target->addr;
  int rc = connect(fd, (const struct sockaddr *)addr, sizeof *addr);
  if (rc != 0 && errno != EINPROGRESS) {
    fail(c, false);
    return;
  }
  /* Registered after connect(): before it a socket polls as hung up. */
  struct epoll_event ev = {
      .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
      .data.u64 = bo_conn_event_tag(c),
  };
  if (epoll_ctl(c->loop->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    fail(c, false);
    return;
  }
  if (rc == 0)
    connected(c);
  else
    c->state = BO_CONN_CONNECTING;
}

static void start_request(struct bo_load_conn *c) {
  c->deadline_ns = bo_load_now_ns() + c->loop->timeout_ns;
  if (c->fd < 0)
    open_socket(c);
  else
    transmit(c);
}

static void finish_connect(struct bo_load_conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
    fail(c, false);
  else
    connected(c);
}

/* --- responses ----------------------------------------------------------- */

static void finish_response(struct bo_load_conn *c) {
  struct bo_load_loop *loop = c->loop;
  uint64_t now = bo_load_now_ns();
  int status = c->parser.status_code;
  if (!c->stream_counted)
    count_response(c, status, now);
  c->stream_open = false;
  c->fresh = false;
  if (!http_should_keep_alive(&c->parser))
    close_socket(c, true); /* the next request connects again */
  struct bo_load_response r = {
      .status = status,
      .body = c->keep_body && c->body ? c->body : "",
      .body_len = c->keep_body ? c->body_len : 0,
      .retry_after = c->retry_after,
      .done_ns = now,
  };
  c->state = BO_CONN_ACTING;
  loop->ops->respond(c, &r);
  assert(c->state != BO_CONN_ACTING && "a VU must send, sleep or stop");
}

static void feed(struct bo_load_conn *c, const char *data, size_t n) {
  size_t parsed = http_parser_execute(&c->parser, &parser_settings, data, n);
  if (c->complete)
    finish_response(c);
  else if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || parsed != n)
    fail(c, false); /* not HTTP: start afresh */
}

static void on_eof(struct bo_load_conn *c) {
  if (!in_flight(c)) {
    close_socket(c, true); /* an idle connection closed by the server */
    return;
  }
  /* A response without a length ends with the connection. */
  http_parser_execute(&c->parser, &parser_settings, NULL, 0);
  if (c->complete) {
    close_socket(c, true);
    finish_response(c);
  } else {
    fail(c, true);
  }
}

static void read_ready(struct bo_load_conn *c) {
  struct bo_load_loop *loop = c->loop;
  uint32_t generation = c->generation;
  /* Reading stops when the callback moved the connection to another
   * socket (retry, reconnect) or closed it. */
  while (c->fd >= 0 && c->generation == generation) {
    ssize_t n = recv(c->fd, loop->read_buffer, sizeof loop->read_buffer, 0);
    if (n > 0) {
      if (c->state == BO_CONN_SENDING || c->state == BO_CONN_AWAITING)
        feed(c, loop->read_buffer, (size_t)n);
      else
        close_socket(c, false); /* bytes nobody asked for: start afresh */
    } else if (n == 0) {
      on_eof(c);
      return;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (in_flight(c)) {
      fail(c, true);
      return;
    } else {
      close_socket(c, true);
      return;
    }
  }
}

void bo_conn_on_event(struct bo_load_conn *c, uint32_t events) {
  if (c->state == BO_CONN_CONNECTING) {
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
      finish_connect(c);
    return; /* nothing to read before the request went out */
  }
  if (c->state == BO_CONN_SENDING && (events & (EPOLLOUT | EPOLLERR)))
    write_some(c);
  if (c->fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
    read_ready(c);
}

void bo_conn_on_failure(struct bo_load_conn *c) {
  assert(c->state == BO_CONN_FAILED);
  struct bo_load_loop *loop = c->loop;
  if (c->fresh)
    loop->stats.connect_failures++;
  if (!c->retried) {
    c->retried = true;
    start_request(c);
    return;
  }
  uint64_t now = bo_load_now_ns();
  if (measured(c, now))
    loop->stats.transport_errors++;
  struct bo_load_response r = {
      .status = 0, .body = "", .retry_after = -1, .done_ns = now};
  c->state = BO_CONN_ACTING;
  loop->ops->respond(c, &r);
  assert(c->state != BO_CONN_ACTING && "a VU must send, sleep or stop");
}

void bo_conn_check_timeout(struct bo_load_conn *c, uint64_t now_ns) {
  if (in_flight(c) && now_ns >= c->deadline_ns) {
    c->retried = true; /* a server this slow gets no second helping */
    fail(c, false);
  }
}

bool bo_conn_is_open(const struct bo_load_conn *c) {
  return c->fd >= 0 && c->state != BO_CONN_CONNECTING;
}

void bo_conn_init(struct bo_load_conn *c, struct bo_load_loop *loop,
                  uint32_t slot) {
  memset(c, 0, sizeof *c);
  c->loop = loop;
  c->fd = -1;
  c->slot = slot;
  c->state = BO_CONN_SLEEPING;
}

void bo_conn_free(struct bo_load_conn *c) {
  close_socket(c, false);
  free(c->body);
  c->body = NULL;
}

void bo_conn_wake(struct bo_load_conn *c) {
  assert(c->state == BO_CONN_SLEEPING);
  c->state = BO_CONN_ACTING;
  c->loop->ops->wake(c);
  assert(c->state != BO_CONN_ACTING && "a VU must send, sleep or stop");
}

/* --- what a VU calls ----------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void
append(struct bo_load_conn *c, size_t *len, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int n = vsnprintf(c->request + *len, sizeof c->request - *len, format, args);
  va_end(args);
  if (n < 0 || (size_t)n >= sizeof c->request - *len) {
    fprintf(stderr, "bo_load: request longer than %d bytes\n",
            BO_CONN_REQUEST_MAX);
    abort(); /* the workloads write short requests: this is a bug */
  }
  *len += (size_t)n;
}

void bo_load_conn_send(struct bo_load_conn *c,
                       const struct bo_load_request *req) {
  assert(c->state == BO_CONN_ACTING);
  size_t len = 0;
  append(c, &len, "%s %s HTTP/1.1\r\nHost: %s\r\n", req->method, req->path,
         c->loop->target->host_header);
  if (req->bearer)
    append(c, &len, "Authorization: Bearer %s\r\n", req->bearer);
  if (req->headers)
    append(c, &len, "%s", req->headers);
  if (req->body)
    append(c, &len,
           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
           strlen(req->body), req->body);
  else
    append(c, &len, "\r\n");
  c->request_len = (uint16_t)len;
  c->keep_body = req->keep_body;
  c->streaming = req->stream;
  c->retried = false;
  c->sent_ns = 0;
  start_request(c);
}

void bo_load_conn_sleep_until(struct bo_load_conn *c, uint64_t when_ns) {
  assert(c->state == BO_CONN_ACTING);
  c->state = BO_CONN_SLEEPING;
  bo_timer_heap_push(&c->loop->timers, when_ns, c->slot);
}

void bo_load_conn_sleep_ms(struct bo_load_conn *c, uint64_t ms) {
  bo_load_conn_sleep_until(c, bo_load_now_ns() + ms * 1000000u);
}

void bo_load_conn_stop(struct bo_load_conn *c) {
  assert(c->state == BO_CONN_ACTING);
  close_socket(c, false);
  c->state = BO_CONN_STOPPED;
  c->loop->live--;
}

void bo_load_conn_unexpected(struct bo_load_conn *c) {
  if (measured(c, bo_load_now_ns()))
    c->loop->stats.unexpected++;
}

size_t bo_load_conn_slot(const struct bo_load_conn *c) {
  return c->slot;
}

size_t bo_load_conn_id(const struct bo_load_conn *c) {
  return c->loop->first_id + c->slot;
}

void *bo_load_conn_context(const struct bo_load_conn *c) {
  return c->loop->context;
}

struct bo_rng *bo_load_conn_rng(struct bo_load_conn *c) {
  return &c->loop->rng;
}
