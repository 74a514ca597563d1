/* The daemon's life cycle: where to listen, how libmicrohttpd is set up, and
 * a stop that lets requests in flight finish. Per-request work is in
 * connection.c.
 *
 * Flags, and the ones left out:
 *  - EPOLL_INTERNAL_THREAD with a thread pool: MHD's own workers run the
 *    handlers, which are plain blocking code (see DESIGN.md, Threads).
 *  - ITC: MHD_quiesce_daemon() refuses to work in internal-thread modes
 *    without it (it returns MHD_INVALID_SOCKET and logs "requires ITC").
 *  - ERROR_LOG, routed through our logger so MHD's complaints look like
 *    every other line.
 *  - not TURBO: in 0.9.75 it skips shutdown() on close and leaves accepted
 *    sockets out of epoll until an optimistic read; both trade correctness
 *    at the edges (lingering close of a 413, slow clients) for a few
 *    syscalls we do not need to save. */
#include "http/server.h"

#include "app.h"
#include "http/connection.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* An idle keep-alive connection is closed after this long. */
#define IDLE_TIMEOUT_SECONDS 30u
/* MHD's per-connection pool: it holds the request line and headers (more
 * is answered 431 by MHD itself) and the read buffer the body streams
 * through. The body is copied out of it, so it need not fit. */
#define CONNECTION_MEMORY (32u * 1024u)
#define STOP_POLL_MS 10

__attribute__((format(printf, 2, 0))) static void
mhd_logger(void *cls, const char *fmt, va_list ap) {
  char text[512];
  (void)cls;
  if (vsnprintf(text, sizeof text, fmt, ap) < 0)
    return;
  size_t len = strlen(text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  bo_log_warn("msg=\"libmicrohttpd: %s\"", text);
}

/* Fills `addr` for host:port. A numeric IPv4 or IPv6 address is used as
 * is; anything else goes through getaddrinfo, preferring IPv4 (the
 * default listen address is 127.0.0.1 and "localhost" should mean it). An
 * empty host means every IPv4 interface. */
static bool resolve(const char *host, uint16_t port,
                    struct sockaddr_storage *addr, bool *ipv6) {
  struct sockaddr_in *in4 = (struct sockaddr_in *)addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
  struct addrinfo *list = NULL;
  bool ok = false;

  memset(addr, 0, sizeof *addr);
  *ipv6 = false;
  if (host[0] == '\0') {
    in4->sin_family = AF_INET;
    in4->sin_addr.s_addr = htonl(INADDR_ANY);
    in4->sin_port = htons(port);
    return true;
  }
  if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    return true;
  }
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    *ipv6 = true;
    return true;
  }

  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_ADDRCONFIG};
  int rc = getaddrinfo(host, NULL, &hints, &list);
  if (rc != 0) {
    bo_log_error("msg=\"cannot resolve listen host\" host=%s error=\"%s\"",
                 host, gai_strerror(rc));
    goto done;
  }
  const struct addrinfo *pick = NULL;
  for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
    if (ai->ai_family == AF_INET6 && pick == NULL)
      pick = ai;
  }
  if (pick == NULL || pick->ai_addrlen > sizeof *addr) {
    bo_log_error("msg=\"no usable address for listen host\" host=%s", host);
    goto done;
  }
  memcpy(addr, pick->ai_addr, pick->ai_addrlen);
  if (pick->ai_family == AF_INET) {
    in4->sin_port = htons(port);
  } else {
    in6->sin6_port = htons(port);
    *ipv6 = true;
  }
  ok = true;
done:
  if (list)
    freeaddrinfo(list);
  return ok;
}

struct bo_http_server *bo_http_start(struct bo_app *app,
                                     const struct bo_route *routes,
                                     size_t route_count) {
  struct bo_http_server *server = NULL;
  struct sockaddr_storage addr;
  bool ipv6;
  const struct bo_settings *s = &app->settings;

  /* Request ids come from randombytes; sodium_init() is idempotent. */
  if (sodium_init() < 0) {
    bo_log_error("msg=\"libsodium failed to initialise\"");
    goto fail;
  }
  /* MHD writes with MSG_NOSIGNAL on Linux, but a peer closing mid-write
   * on any other socket we own (libpq, hiredis) would still raise SIGPIPE
   * and kill the process; a write error is what every caller expects. */
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, NULL);

  if (!resolve(s->listen_host, s->listen_port, &addr, &ipv6))
    goto fail;
  server = calloc(1, sizeof *server);
  if (server == NULL)
    goto fail;
  server->app = app;
  server->routes = routes;
  server->route_count = route_count;
  atomic_init(&server->in_flight, 0);

  /* MHD splits the connection limit across the workers, so each needs at
   * least one. */
  unsigned int threads = s->threads < 1 ? 1u : (unsigned int)s->threads;
  unsigned int max_conn =
      s->max_connections < 1 ? 1u : (unsigned int)s->max_connections;
  if (threads > max_conn)
    threads = max_conn;
  unsigned int flags =
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  /* With SOCK_ADDR, MHD takes the address length from this flag. */
  if (ipv6)
    flags |= MHD_USE_IPv6;

  server->daemon = MHD_start_daemon(
      flags, s->listen_port, NULL, NULL, bo_http_on_request, server,
      /* First, or MHD logs the options before it to stderr itself. */
      MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
      MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_CONNECTION_TIMEOUT,
      IDLE_TIMEOUT_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED,
      bo_http_on_completed, server, MHD_OPTION_END);
  if (server->daemon == NULL) {
    bo_log_error("msg=\"cannot listen\" host=%s port=%u", s->listen_host,
                 (unsigned)s->listen_port);
    goto fail;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
  server->port = info ? info->port : s->listen_port;
  bo_log_info("msg=listening host=%s port=%u threads=%u max_connections=%u",
              s->listen_host[0] ? s->listen_host : "0.0.0.0",
              (unsigned)server->port, threads, max_conn);
  return server;

fail:
  free(server);
  return NULL;
}

uint16_t bo_http_port(const struct bo_http_server *server) {
  return server ? server->port : 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

void bo_http_stop(struct bo_http_server *server, int grace_ms) {
  if (server == NULL)
    return;
  /* Stop accepting first, so that the wait below can end. Connections
   * already open may still send requests while we wait; they are served. */
  MHD_socket listen_fd = MHD_quiesce_daemon(server->daemon);
  /* The socket may not be closed yet (below), but on Linux shutdown() ends
   * listening without freeing the descriptor: new clients are refused at
   * once instead of waiting in the backlog to be reset at close. */
  if (listen_fd != MHD_INVALID_SOCKET)
    shutdown(listen_fd, SHUT_RDWR);
  int waited = 0;
  while (atomic_load(&server->in_flight) > 0 && waited < grace_ms) {
    sleep_ms(STOP_POLL_MS);
    waited += STOP_POLL_MS;
  }
  int left = atomic_load(&server->in_flight);
  if (left > 0)
    bo_log_warn("msg=\"stopping with requests in flight\" in_flight=%d", left);
  MHD_stop_daemon(server->daemon);
  /* Only now: the MHD docs forbid closing a quiesced socket while the
   * daemon's threads may still use it. */
  if (listen_fd != MHD_INVALID_SOCKET)
    close(listen_fd);
  bo_log_info("msg=stopped waited_ms=%d", waited);
  free(server);
}
