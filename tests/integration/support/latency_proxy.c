/* The latency proxy (see latency_proxy.h): one thread, one poll() loop over
 * every connection pair.
 *
 * Why this shape:
 *  - A thread of the test process rather than a process of its own: the
 *    test changes the fault with a store to an atomic, and nothing outlives
 *    the test (Criterion runs each test in a process of its own).
 *  - Each chunk read from the target is stamped with the time it may leave
 *    (now + the delay at the moment it arrived), so a delay holds back each
 *    answer that long however the answers are split, and order is kept.
 *  - Held data is bounded per direction (QUEUE_MAX): past it the proxy
 *    stops reading that side, and TCP's own flow control pushes back.
 *  - While stalled nothing is read or written, but a client that hangs up
 *    (POLLRDHUP) is still noticed and its pair closed, so a server that
 *    gives up and reconnects again and again does not pile up pairs here,
 *    nor idle sessions on the target behind them.
 *  - The loop wakes at least every TICK_MS, to see a new fault or the stop
 *    flag, and earlier when a held chunk falls due. */
#include "support/latency_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 512
#define CHUNK_SIZE 16384
#define QUEUE_MAX (256 * 1024)
#define TICK_MS 10

struct chunk {
  struct chunk *next;
  int64_t due_ms; /* monotonic: not forwarded before */
  size_t len, off;
  char data[];
};

/* Bytes from one socket to the other. */
struct direction {
  struct chunk *head, *tail;
  size_t queued;
  bool eof;     /* `from` said EOF: close the pair once all is forwarded */
  bool delayed; /* answers from the target: the delay applies */
};

struct pair {
  bool used;
  int client, target;
  struct direction up;   /* client -> target */
  struct direction down; /* target -> client */
};

struct it_proxy {
  int listen_fd;
  int port, target_port;
  pthread_t thread;
  atomic_int delay_ms;
  atomic_bool stalled;
  atomic_bool stop;
  struct pair pairs[MAX_PAIRS];
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void direction_clear(struct direction *d) {
  struct chunk *c = d->head;
  while (c) {
    struct chunk *next = c->next;
    free(c);
    c = next;
  }
  d->head = d->tail = NULL;
  d->queued = 0;
  d->eof = false;
}

static void pair_close(struct pair *p) {
  close(p->client);
  close(p->target);
  direction_clear(&p->up);
  direction_clear(&p->down);
  p->used = false;
}

static int connect_target(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  /* Blocking on loopback: it completes or is refused at once. */
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void accept_one(struct it_proxy *px) {
  int fd = accept4(px->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  struct pair *p = NULL;
  for (size_t i = 0; i < MAX_PAIRS && !p; i++)
    if (!px->pairs[i].used)
      p = &px->pairs[i];
  int target = p ? connect_target(px->target_port) : -1;
  if (target < 0) {
    close(fd); /* the client sees the refusal the target gave */
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  *p = (struct pair){
      .used = true, .client = fd, .target = target, .down = {.delayed = true}};
}

/* Reads one chunk from `from` into `d`. False when the pair must close. */
static bool pump_in(struct it_proxy *px, int from, struct direction *d) {
  struct chunk *c = malloc(sizeof *c + CHUNK_SIZE);
  if (!c)
    return false;
  ssize_t n = read(from, c->data, CHUNK_SIZE);
  if (n <= 0) {
    free(c);
    if (n == 0) {
      d->eof = true;
      return true;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  c->next = NULL;
  c->len = (size_t)n;
  c->off = 0;
  c->due_ms = now_ms() + (d->delayed ? atomic_load(&px->delay_ms) : 0);
  if (d->tail)
    d->tail->next = c;
  else
    d->head = c;
  d->tail = c;
  d->queued += (size_t)n;
  return true;
}

/* Writes what has fallen due from `d` to `to`. False when the pair must
 * close. */
static bool pump_out(int to, struct direction *d) {
  int64_t now = now_ms();
  while (d->head && d->head->due_ms <= now) {
    struct chunk *c = d->head;
    ssize_t n = write(to, c->data + c->off, c->len - c->off);
    if (n < 0)
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->off += (size_t)n;
    d->queued -= (size_t)n;
    if (c->off < c->len)
      return true; /* the socket is full: POLLOUT again */
    d->head = c->next;
    if (!d->head)
      d->tail = NULL;
    free(c);
  }
  return true;
}

/* What to poll `fd` for, as the source of `in` and the sink of `out`, and
 * how long until `out` has something due (into *wait_ms). */
static short events_for(const struct direction *in, const struct direction *out,
                        int64_t now, int *wait_ms) {
  /* Once `in` said EOF, POLLRDHUP would fire on every pass: not asked. */
  short ev = in->eof ? 0 : POLLRDHUP;
  if (!in->eof && in->queued < QUEUE_MAX)
    ev |= POLLIN;
  if (out->head) {
    int64_t left = out->head->due_ms - now;
    if (left <= 0)
      ev |= POLLOUT;
    else if (left < *wait_ms)
      *wait_ms = (int)left;
  }
  return ev;
}

/* One pass over a pair after poll(); false when it must close. */
static bool serve_pair(struct it_proxy *px, struct pair *p, short client_ev,
                       short target_ev) {
  if ((client_ev & POLLERR) || (target_ev & POLLERR))
    return false;
  if ((client_ev & (POLLIN | POLLHUP | POLLRDHUP)) && !p->up.eof &&
      !pump_in(px, p->client, &p->up))
    return false;
  if ((target_ev & (POLLIN | POLLHUP | POLLRDHUP)) && !p->down.eof &&
      !pump_in(px, p->target, &p->down))
    return false;
  if (!pump_out(p->target, &p->up) || !pump_out(p->client, &p->down))
    return false;
  /* Either side hung up and everything it sent is forwarded. */
  return !((p->up.eof && !p->up.head) || (p->down.eof && !p->down.head));
}

static void *proxy_main(void *arg) {
  struct it_proxy *px = arg;
  static const size_t nfds_max = 1 + 2 * MAX_PAIRS;
  struct pollfd *fds = calloc(nfds_max, sizeof *fds);
  struct pair **owner = calloc(nfds_max, sizeof *owner);
  while (fds && owner && !atomic_load(&px->stop)) {
    bool stalled = atomic_load(&px->stalled);
    int64_t now = now_ms();
    int wait_ms = TICK_MS;
    size_t n = 0;
    fds[n++] = (struct pollfd){.fd = px->listen_fd, .events = POLLIN};
    for (size_t i = 0; i < MAX_PAIRS; i++) {
      struct pair *p = &px->pairs[i];
      if (!p->used)
        continue;
      short cev = POLLRDHUP, tev = POLLRDHUP;
      if (!stalled) {
        cev = events_for(&p->up, &p->down, now, &wait_ms);
        tev = events_for(&p->down, &p->up, now, &wait_ms);
      }
      owner[n] = p;
      fds[n++] = (struct pollfd){.fd = p->client, .events = cev};
      owner[n] = p;
      fds[n++] = (struct pollfd){.fd = p->target, .events = tev};
    }
    int rc = poll(fds, (nfds_t)n, wait_ms);
    if (rc < 0 && errno != EINTR)
      break;
    if (rc > 0 && (fds[0].revents & POLLIN))
      accept_one(px);
    for (size_t k = 1; rc > 0 && k + 1 < n; k += 2) {
      struct pair *p = owner[k];
      short cev = fds[k].revents, tev = fds[k + 1].revents;
      if (stalled) {
        /* Frozen: only a client that left is let go. */
        if ((cev | tev) & (POLLRDHUP | POLLHUP | POLLERR))
          pair_close(p);
        continue;
      }
      if (!serve_pair(px, p, cev, tev))
        pair_close(p);
    }
  }
  free(fds);
  free(owner);
  for (size_t i = 0; i < MAX_PAIRS; i++)
    if (px->pairs[i].used)
      pair_close(&px->pairs[i]);
  return NULL;
}

struct it_proxy *it_proxy_start(int target_port) {
  struct it_proxy *px = calloc(1, sizeof *px);
  if (!px) {
    fprintf(stderr, "it proxy: out of memory\n");
    return NULL;
  }
  px->target_port = target_port;
  atomic_init(&px->delay_ms, 0);
  atomic_init(&px->stalled, false);
  atomic_init(&px->stop, false);
  px->listen_fd =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  if (px->listen_fd < 0 ||
      bind(px->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(px->listen_fd, 256) != 0 ||
      getsockname(px->listen_fd, (struct sockaddr *)&addr, &len) != 0) {
    fprintf(stderr, "it proxy: cannot listen: %s\n", strerror(errno));
    goto fail;
  }
  px->port = ntohs(addr.sin_port);
  int err = pthread_create(&px->thread, NULL, proxy_main, px);
  if (err != 0) {
    fprintf(stderr, "it proxy: pthread_create: %s\n", strerror(err));
    goto fail;
  }
  return px;
fail:
  if (px->listen_fd >= 0)
    close(px->listen_fd);
  free(px);
  return NULL;
}

int it_proxy_port(const struct it_proxy *p) {
  return p->port;
}

void it_proxy_set_delay(struct it_proxy *p, int delay_ms) {
  atomic_store(&p->delay_ms, delay_ms < 0 ? 0 : delay_ms);
}

void it_proxy_set_stall(struct it_proxy *p, bool stalled) {
  atomic_store(&p->stalled, stalled);
}

void it_proxy_stop(struct it_proxy *p) {
  if (!p)
    return;
  atomic_store(&p->stop, true);
  pthread_join(p->thread, NULL);
  close(p->listen_fd);
  free(p);
}

bool it_proxy_url(const char *url, int port, char *out, size_t out_size,
                  int *old_port) {
  static const char host[] = "127.0.0.1:";
  const char *at = strstr(url, host);
  if (!at)
    return false;
  const char *digits = at + strlen(host);
  char *end = NULL;
  long old = strtol(digits, &end, 10);
  if (end == digits || old <= 0 || old > 65535)
    return false;
  int n =
      snprintf(out, out_size, "%.*s%d%s", (int)(digits - url), url, port, end);
  if (n < 0 || (size_t)n >= out_size)
    return false;
  if (old_port)
    *old_port = (int)old;
  return true;
}
