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
 *  - ALLOW_SUSPEND_RESUME, for event streams (stream_conn.c): an open
 *    stream's connection is parked between events.
 *  - not TURBO: in 0.9.75 it skips shutdown() on close and leaves accepted
 *    sockets out of epoll until an optimistic read; both trade correctness
 *    at the edges (lingering close of a 413, slow clients) for a few
 *    syscalls we do not need to save.
 *
 * Slow and hostile clients. A connection waiting for bytes costs an epoll
 * registration and its memory pool, never a thread: the workers only run
 * when a socket is ready. So thousands of half-open connections (a
 * slowloris) do not keep anyone else from being served, as long as they
 * neither exhaust the connection cap nor live forever:
 *  - CONNECTION_TIMEOUT (BOXOFFICE_CLIENT_TIMEOUT_SECONDS) closes any
 *    connection that has sent nothing for that long, mid-request or idle.
 *    It is an inactivity timeout: a client trickling a byte every few
 *    seconds keeps its connection, which is what the caps are for.
 *  - CONNECTION_LIMIT caps connections in all, and
 *    BOXOFFICE_MAX_CONNECTIONS_PER_IP caps them per client address (our
 *    accept policy, conn_limit.c, which leaves trusted proxies alone), so
 *    one host cannot take the whole server's share. A refused connection
 *    is closed at once, without an answer.
 *  - CONNECTION_MEMORY_LIMIT bounds what one connection can make us hold.
 * Each connection needs a file descriptor, so the soft descriptor limit is
 * raised to the hard one at start (a default soft limit of 1024 would
 * refuse clients long before max_connections).
 *
 * Event streams (GET /api/v1/queue/stream) against these limits:
 *  - an open stream is an open connection: it counts against
 *    BOXOFFICE_MAX_CONNECTIONS and, from one address, against
 *    BOXOFFICE_MAX_CONNECTIONS_PER_IP (trusted proxies exempt), so size
 *    max_connections for the streams plus the pollers and buyers;
 *  - the client timeout does not cut a stream that is only quiet: between
 *    events its connection is parked, and MHD neither times out a parked
 *    connection nor counts the parked time when it resumes it. It does cut
 *    a stream whose client stops reading: bytes that cannot be written for
 *    BOXOFFICE_CLIENT_TIMEOUT_SECONDS leave the connection silent that
 *    long, and it is closed like any other.
 * At stop, streams are ended (an end event saying so) before the wait for
 * requests in flight, which they count among; MHD_stop_daemon() would
 * panic on a parked connection (stream_hub.h). */
#include "http/server.h"

#include "app.h"
#include "http/connection.h"
#include "http/stream_hub.h"
#include "metrics.h"
#include "util/clock.h"
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* MHD's per-connection pool: it holds the request line and headers (past
 * BO_HTTP_HEADERS_MAX we answer 431; past what fits here, about 14 KiB,
 * MHD answers 431 itself) and the read buffer the body streams through.
 * The body is copied out of it, so it need not fit.
 * Its size is paid twice: in 0.9.75 MHD zeroes the whole pool after every
 * request (MHD_pool_reset), which was 12% of a queue poll's CPU at 32 KiB
 * (docs/benchmarks.md), and a connection that has been served keeps all of
 * it resident, which is most of an idle connection's memory. 16 KiB holds
 * twice the header cap. */
#define CONNECTION_MEMORY (16u * 1024u)
/* Descriptors besides client connections: the listening socket, epoll and
 * ITC descriptors per worker, database and Redis connections per thread,
 * SQLite's files, the log. */
#define FD_RESERVE 64u
#define STOP_POLL_MS 10
#define REFUSED_LOG_EVERY_MS 1000

/* How libmicrohttpd 0.9.75 words the messages we treat specially. Only the
 * start is compared; if a later version words them differently they are
 * simply logged as they come. */
#define MHD_SAYS_LIMIT "Server reached connection limit"
#define MHD_SAYS_ERROR "Error processing request (HTTP response code is %u"
#define MHD_SAYS_BAD_CONTENT_LENGTH "Failed to parse `Content-Length'"
/* A client that left while its event stream was open, found when the next
 * event or heartbeat is written: the everyday end of a stream, which the
 * request's own log line already records (term=error). */
#define MHD_SAYS_STREAM_GONE "Failed to send the chunked response body"
#define MHD_SAYS_STREAM_GONE_HTTP10 "Failed to send the response body"

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

static int64_t monotonic_ms(void) {
  return bo_clock_monotonic_ns() / 1000000;
}

/* Logs the connections refused at a cap since the last such line; `force`
 * writes it whatever the time (at stop). */
static void log_refused(struct bo_http_server *server, bool force) {
  int64_t now = monotonic_ms();
  int_fast64_t last = atomic_load(&server->refused_logged_ms);
  if (!force && now - last < REFUSED_LOG_EVERY_MS)
    return;
  /* One thread wins the right to write the line; the others only count. */
  if (!atomic_compare_exchange_strong(&server->refused_logged_ms, &last, now))
    return;
  uint_fast64_t n = atomic_exchange(&server->refused, 0);
  if (n == 0)
    return;
  const struct bo_settings *s = &server->app->settings;
  bo_log_warn("msg=\"connections refused at a connection cap\" count=%llu "
              "max_connections=%lld max_connections_per_ip=%lld",
              (unsigned long long)n, (long long)s->max_connections,
              (long long)s->max_connections_per_ip);
}

/* An answer MHD sent by itself: 431 for headers beyond its memory, 414 for
 * a request line beyond it, 400 for a malformed request line or header,
 * 505 for an unknown HTTP version. Some of these come before the request
 * has a context and some after, so this is the one place that sees them
 * all: each gets its log line and is counted here, as an unmatched route,
 * and the completion notice leaves them alone (connection.c). */
static void note_mhd_answer(struct bo_http_server *server, unsigned status) {
  bo_log_info("method=- route=- status=%u msg=\"answered by libmicrohttpd\"",
              status);
  bo_metrics_observe_request(server->app->metrics, server->route_count,
                             (int)status, 0);
}

__attribute__((format(printf, 2, 0))) static void
mhd_logger(void *cls, const char *fmt, va_list ap) {
  struct bo_http_server *server = cls;
  /* A flood of refused connections would otherwise be a flood of lines. */
  if (starts_with(fmt, MHD_SAYS_LIMIT)) {
    atomic_fetch_add(&server->refused, 1);
    log_refused(server, false);
    return;
  }
  /* The client's doing: a line at info, not a warning. */
  if (starts_with(fmt, MHD_SAYS_ERROR)) {
    note_mhd_answer(server, va_arg(ap, unsigned));
    return;
  }
  /* Followed by the 400 that says it all. */
  if (starts_with(fmt, MHD_SAYS_BAD_CONTENT_LENGTH))
    return;
  if (starts_with(fmt, MHD_SAYS_STREAM_GONE) ||
      starts_with(fmt, MHD_SAYS_STREAM_GONE_HTTP10))
    return;
  char text[512];
  if (vsnprintf(text, sizeof text, fmt, ap) < 0)
    return;
  size_t len = strlen(text);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  bo_log_warn("msg=\"libmicrohttpd: %s\"", text);
}

/* MHD_AcceptPolicyCallback: the per-address cap. */
static enum MHD_Result admit_connection(void *cls, const struct sockaddr *addr,
                                        socklen_t addrlen) {
  struct bo_http_server *server = cls;
  struct bo_netaddr client;
  (void)addrlen;
  if (!bo_netaddr_from_sockaddr(addr, &client) ||
      bo_conn_limit_admits(server->conn_limit, &client))
    return MHD_YES;
  atomic_fetch_add(&server->refused, 1);
  log_refused(server, false);
  return MHD_NO;
}

/* MHD_NotifyConnectionCallback: counts admitted connections in and out.
 * The socket context keeps the counted address, so that a connection is
 * counted out exactly when it was counted in. */
static void track_connection(void *cls, struct MHD_Connection *connection,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode code) {
  struct bo_http_server *server = cls;
  struct bo_netaddr *counted = *socket_context;
  if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    if (counted) {
      bo_conn_limit_closed(server->conn_limit, counted);
      free(counted);
      *socket_context = NULL;
    }
    return;
  }
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  struct bo_netaddr client;
  if (info == NULL || !bo_netaddr_from_sockaddr(info->client_addr, &client))
    return;
  counted = malloc(sizeof *counted);
  if (counted == NULL)
    return; /* not counted: the cap is a defence, not an invariant */
  *counted = client;
  if (bo_conn_limit_opened(server->conn_limit, counted))
    *socket_context = counted;
  else
    free(counted);
}

/* Raises the soft descriptor limit to the hard one, and says so when even
 * that cannot hold `max_conn` connections. */
static void raise_fd_limit(unsigned int max_conn) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < (rlim_t)max_conn + FD_RESERVE)
    bo_log_warn("msg=\"descriptor limit below max_connections: connections "
                "past it are refused\" nofile=%llu max_connections=%u",
                (unsigned long long)rl.rlim_cur, max_conn);
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

  /* Request ids are keyed hashes (connection.h); sodium_init() is
   * idempotent. */
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
  atomic_init(&server->refused, 0);
  atomic_init(&server->refused_logged_ms, 0);
  atomic_init(&server->request_seq, 0);
  crypto_shorthash_keygen(server->request_id_key);
  /* Checked when the settings were read; cannot fail here. */
  server->trusted_count = bo_netrange_parse_list(
      s->trusted_proxies, server->trusted, BO_NETRANGE_LIST_MAX);
  if (server->trusted_count < 0)
    server->trusted_count = 0;

  /* MHD splits the connection limit across the workers, so each needs at
   * least one. */
  unsigned int threads = s->threads < 1 ? 1u : (unsigned int)s->threads;
  unsigned int max_conn =
      s->max_connections < 1 ? 1u : (unsigned int)s->max_connections;
  if (threads > max_conn)
    threads = max_conn;
  raise_fd_limit(max_conn);
  if (s->max_connections_per_ip > 0) {
    server->conn_limit =
        bo_conn_limit_create(s->max_connections_per_ip, server->trusted,
                             server->trusted_count, max_conn);
    if (server->conn_limit == NULL)
      goto fail;
  }
  server->streams = bo_stream_hub_start();
  if (server->streams == NULL)
    goto fail;
  unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC |
                       MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  /* With SOCK_ADDR, MHD takes the address length from this flag. */
  if (ipv6)
    flags |= MHD_USE_IPv6;

  /* Without a per-address cap, no accept policy and no counting. */
  bool per_ip = server->conn_limit != NULL;
  server->daemon = MHD_start_daemon(
      flags, s->listen_port, per_ip ? admit_connection : NULL, server,
      bo_http_on_request, server,
      /* First, or MHD logs the options before it to stderr itself. */
      MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, server, MHD_OPTION_SOCK_ADDR,
      (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
      MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_NOTIFY_CONNECTION,
      per_ip ? track_connection : NULL, server, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)s->client_timeout_seconds,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
      MHD_OPTION_URI_LOG_CALLBACK, bo_http_on_uri, server,
      MHD_OPTION_NOTIFY_COMPLETED, bo_http_on_completed, server,
      MHD_OPTION_END);
  if (server->daemon == NULL) {
    bo_log_error("msg=\"cannot listen\" host=%s port=%u", s->listen_host,
                 (unsigned)s->listen_port);
    goto fail;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
  server->port = info ? info->port : s->listen_port;
  bo_log_info("msg=listening host=%s port=%u threads=%u max_connections=%u "
              "max_connections_per_ip=%lld client_timeout_s=%lld "
              "trusted_proxies=%d",
              s->listen_host[0] ? s->listen_host : "0.0.0.0",
              (unsigned)server->port, threads, max_conn,
              (long long)s->max_connections_per_ip,
              (long long)s->client_timeout_seconds, server->trusted_count);
  return server;

fail:
  if (server) {
    bo_conn_limit_destroy(server->conn_limit);
    bo_stream_hub_free(server->streams); /* no daemon: no stream */
  }
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
  /* Streams never finish by themselves: end them, so that the wait below
   * sees them go, and so that none is parked when the daemon stops. */
  bo_stream_hub_close(server->streams);
  int waited = 0;
  while (atomic_load(&server->in_flight) > 0 && waited < grace_ms) {
    sleep_ms(STOP_POLL_MS);
    waited += STOP_POLL_MS;
  }
  int left = atomic_load(&server->in_flight);
  if (left > 0)
    bo_log_warn("msg=\"stopping with requests in flight\" in_flight=%d", left);
  MHD_stop_daemon(server->daemon);
  log_refused(server, true);
  /* Only now: the MHD docs forbid closing a quiesced socket while the
   * daemon's threads may still use it. */
  if (listen_fd != MHD_INVALID_SOCKET)
    close(listen_fd);
  bo_conn_limit_destroy(server->conn_limit); /* every connection is gone */
  bo_stream_hub_free(server->streams);       /* and with them every stream */
  bo_log_info("msg=stopped waited_ms=%d", waited);
  free(server);
}
