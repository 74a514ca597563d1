/* One thread's event loop: epoll for the sockets, a timer heap for the
 * sleeping VUs, and a sweep four times a second for requests that waited
 * past --timeout. The loop runs until every VU has stopped or the run's
 * end has come; what is in flight then is abandoned, not counted. */
#include "loop_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SWEEP_NS 250000000u
#define EVENTS_PER_WAIT 256

struct bo_load_loop *bo_loop_create(const struct bo_loop_setup *setup) {
  struct bo_load_loop *loop = calloc(1, sizeof *loop);
  if (!loop)
    return NULL;
  loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  loop->target = setup->target;
  loop->ops = setup->ops;
  loop->context = setup->context;
  loop->first_id = setup->first_id;
  loop->conn_count = setup->count;
  loop->total = setup->total ? setup->total : 1;
  loop->live = setup->count;
  loop->timeout_ns = setup->timeout_ns;
  bo_load_stats_init(&loop->stats);
  bo_rng_seed(&loop->rng, setup->seed, setup->thread_index + 1);
  loop->conns = calloc(setup->count ? setup->count : 1, sizeof *loop->conns);
  loop->deferred =
      calloc(setup->count ? setup->count : 1, sizeof *loop->deferred);
  bool timers = bo_timer_heap_init(&loop->timers, setup->count);
  if (loop->epoll_fd < 0 || !loop->conns || !loop->deferred || !timers) {
    loop->conn_count = 0; /* none set up: no socket to close */
    bo_loop_destroy(loop);
    return NULL;
  }
  for (uint32_t slot = 0; slot < setup->count; slot++)
    bo_conn_init(&loop->conns[slot], loop, slot);
  return loop;
}

void bo_loop_destroy(struct bo_load_loop *loop) {
  if (!loop)
    return;
  if (loop->conns)
    for (uint32_t slot = 0; slot < loop->conn_count; slot++)
      bo_conn_free(&loop->conns[slot]);
  free(loop->conns);
  free(loop->deferred);
  bo_timer_heap_free(&loop->timers);
  if (loop->epoll_fd >= 0)
    close(loop->epoll_fd);
  free(loop);
}

static void drain_deferred(struct bo_load_loop *loop) {
  while (loop->deferred_count > 0) {
    uint32_t slot = loop->deferred[--loop->deferred_count];
    bo_conn_on_failure(&loop->conns[slot]);
  }
}

static void fire_timers(struct bo_load_loop *loop, uint64_t now_ns) {
  struct bo_timer due;
  while (bo_timer_heap_pop_due(&loop->timers, now_ns, &due)) {
    bo_conn_wake(&loop->conns[due.slot]);
    drain_deferred(loop);
  }
}

static void sweep_timeouts(struct bo_load_loop *loop, uint64_t now_ns) {
  for (uint32_t slot = 0; slot < loop->conn_count; slot++)
    bo_conn_check_timeout(&loop->conns[slot], now_ns);
  drain_deferred(loop);
}

static void dispatch(struct bo_load_loop *loop, const struct epoll_event *ev) {
  uint32_t slot = (uint32_t)ev->data.u64;
  uint32_t generation = (uint32_t)(ev->data.u64 >> 32);
  struct bo_load_conn *c = &loop->conns[slot];
  if (c->generation != generation || c->fd < 0)
    return; /* about a socket that has been closed since */
  bo_conn_on_event(c, ev->events);
  drain_deferred(loop);
}

static int wait_ms(uint64_t now_ns, uint64_t until_ns) {
  if (until_ns <= now_ns)
    return 0;
  uint64_t ms = (until_ns - now_ns + 999999u) / 1000000u;
  return ms > 60000 ? 60000 : (int)ms;
}

/* Every VU starts asleep, its first wake spread over the ramp so that a
 * crowd of connections does not hit the listen backlog at once. */
static void schedule_first_wakes(struct bo_load_loop *loop, uint64_t start_ns,
                                 uint64_t ramp_ns) {
  for (uint32_t slot = 0; slot < loop->conn_count; slot++) {
    size_t id = loop->first_id + slot;
    uint64_t offset =
        (uint64_t)((double)ramp_ns * (double)id / (double)loop->total);
    bo_timer_heap_push(&loop->timers, start_ns + offset, slot);
  }
}

void bo_loop_run(struct bo_load_loop *loop, uint64_t start_ns, uint64_t ramp_ns,
                 uint64_t measure_from_ns, uint64_t end_ns) {
  loop->measure_from_ns = measure_from_ns;
  schedule_first_wakes(loop, start_ns, ramp_ns);
  struct epoll_event events[EVENTS_PER_WAIT];
  uint64_t next_sweep = start_ns + SWEEP_NS;
  while (loop->live > 0) {
    uint64_t now = bo_load_now_ns();
    if (end_ns && now >= end_ns)
      break;
    fire_timers(loop, now);
    if (now >= next_sweep) {
      sweep_timeouts(loop, now);
      next_sweep = now + SWEEP_NS;
    }
    if (loop->live == 0)
      break;
    uint64_t until = bo_timer_heap_next(&loop->timers);
    if (next_sweep < until)
      until = next_sweep;
    if (end_ns && end_ns < until)
      until = end_ns;
    int n = epoll_wait(loop->epoll_fd, events, EVENTS_PER_WAIT,
                       wait_ms(now, until));
    if (n < 0 && errno != EINTR) {
      perror("bo_load: epoll_wait");
      break;
    }
    for (int i = 0; i < n; i++)
      dispatch(loop, &events[i]);
  }
}

uint32_t bo_loop_open_connections(const struct bo_load_loop *loop) {
  uint32_t open = 0;
  for (uint32_t slot = 0; slot < loop->conn_count; slot++)
    open += bo_conn_is_open(&loop->conns[slot]);
  return open;
}
