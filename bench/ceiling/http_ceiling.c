/* bo_http_ceiling: the most requests per second libmicrohttpd can answer on
 * this machine when it is set up exactly as boxoffice sets it up, and does
 * nothing else.
 *
 * Every request gets the same 60-byte JSON body (200, application/json,
 * keep-alive). The daemon is started as src/http/server.c starts it:
 * EPOLL_INTERNAL_THREAD | ITC | ERROR_LOG, a thread pool of --threads
 * workers (boxoffice's default, 8), the same connection limit (10000), a
 * 10 s connection timeout and the same memory pool per connection
 * (CONNECTION_MEMORY in server.c, 16 KiB; --connection-memory-kib to
 * follow it if it moves: in 0.9.75 MHD zeroes the whole pool after every
 * request, so its size is part of the per-request cost), with the
 * descriptor limit raised and SIGPIPE ignored as boxoffice does. The
 * response is built once (persistent buffer) and only queued per request.
 *
 * Like boxoffice (src/http/connection.c), the response is queued on the
 * call after the request is complete, never on the first access-handler
 * call: libmicrohttpd 0.9.75 answers "Connection: close" to a response
 * queued on the first call, and a ceiling that reconnects every request
 * would measure TCP set-up rather than the server. A body, if any, is read
 * and dropped before the answer, so POSTs keep their connection too.
 *
 * What boxoffice does on top (routing, a request context and id, JSON
 * parsing, the store, a log line, metrics, the per-address connection cap)
 * is exactly what this leaves out, so boxoffice's requests per second on
 * the same machine, with the same client, can only be lower: the gap is
 * the cost of boxoffice's own work.
 *
 *   bo_http_ceiling [--listen HOST:PORT] [--threads N]
 *                   [--connection-memory-kib K]
 *
 * HOST is a numeric IPv4 address (default 127.0.0.1:0); port 0 picks a
 * free port. Once listening it prints "listening HOST:PORT" on stdout.
 * SIGTERM or SIGINT stops it and it exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* The settings boxoffice starts libmicrohttpd with (src/config.c defaults
 * and src/http/server.c). */
#define DEFAULT_THREADS 8
#define MAX_CONNECTIONS 10000u
#define CONNECTION_TIMEOUT_S 10u
#define DEFAULT_CONNECTION_MEMORY_KIB 16u

/* About the size of a small boxoffice answer (a queue status, a seat). */
static const char body[] =
    "{\"ceiling\":\"http\",\"ok\":true,\"padding\":\"0123456789abcdefghi\"}";
_Static_assert(sizeof body - 1 == 60, "the body is 60 bytes");

struct options {
  char host[INET_ADDRSTRLEN];
  unsigned int port;
  unsigned int threads;
  size_t connection_memory; /* bytes */
};

static void usage(FILE *out) {
  fprintf(out, "usage: bo_http_ceiling [--listen HOST:PORT] [--threads N]\n"
               "                       [--connection-memory-kib K]\n"
               "  --listen                 numeric IPv4 HOST and PORT (0 "
               "picks one);\n"
               "                           default 127.0.0.1:0\n"
               "  --threads                libmicrohttpd worker threads, "
               "1..256; default 8\n"
               "  --connection-memory-kib  MHD's pool per connection, "
               "4..1024; default 16\n"
               "                           (boxoffice's, src/http/server.c)\n");
}

static bool parse_uint(const char *text, unsigned long max,
                       unsigned long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long value = strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' ||
      value > max)
    return false;
  *out = value;
  return true;
}

static bool parse_listen(const char *text, struct options *opt) {
  const char *colon = strrchr(text, ':');
  unsigned long port = 0;
  struct in_addr ignored;
  size_t host_len = colon ? (size_t)(colon - text) : 0;
  if (colon == NULL || host_len == 0 || host_len >= sizeof opt->host ||
      !parse_uint(colon + 1, 65535, &port))
    return false;
  memcpy(opt->host, text, host_len);
  opt->host[host_len] = '\0';
  opt->port = (unsigned int)port;
  return inet_pton(AF_INET, opt->host, &ignored) == 1;
}

static bool parse_options(int argc, char **argv, struct options *opt) {
  *opt = (struct options){.host = "127.0.0.1",
                          .threads = DEFAULT_THREADS,
                          .connection_memory =
                              DEFAULT_CONNECTION_MEMORY_KIB * 1024u};
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
      usage(stdout);
      exit(EXIT_SUCCESS);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bo_http_ceiling: %s needs a value\n", flag);
      return false;
    }
    const char *value = argv[++i];
    unsigned long number = 0;
    if (strcmp(flag, "--listen") == 0) {
      if (!parse_listen(value, opt)) {
        fprintf(stderr, "bo_http_ceiling: --listen wants IPV4:PORT\n");
        return false;
      }
    } else if (strcmp(flag, "--threads") == 0) {
      if (!parse_uint(value, 256, &number) || number < 1) {
        fprintf(stderr, "bo_http_ceiling: --threads wants 1..256\n");
        return false;
      }
      opt->threads = (unsigned int)number;
    } else if (strcmp(flag, "--connection-memory-kib") == 0) {
      if (!parse_uint(value, 1024, &number) || number < 4) {
        fprintf(stderr,
                "bo_http_ceiling: --connection-memory-kib wants 4..1024\n");
        return false;
      }
      opt->connection_memory = (size_t)number * 1024u;
    } else {
      fprintf(stderr, "bo_http_ceiling: unknown flag %s\n", flag);
      return false;
    }
  }
  return true;
}

/* As boxoffice does: every connection needs a descriptor, and a soft limit
 * of 1024 would refuse clients long before the connection limit. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* MHD_AccessHandlerCallback. `cls` is the one shared response. The first
 * call only marks the request as begun (any non-NULL *con_cls will do; MHD
 * clears it between requests); body chunks are dropped; the call with no
 * data left queues the answer. */
static enum MHD_Result answer(void *cls, struct MHD_Connection *connection,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
  struct MHD_Response *response = cls;
  (void)url;
  (void)method;
  (void)version;
  (void)upload_data;
  if (*con_cls == NULL) {
    *con_cls = response;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  return MHD_queue_response(connection, MHD_HTTP_OK, response);
}

static struct MHD_Daemon *start_daemon(const struct options *opt,
                                       struct MHD_Response *response) {
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)opt->port)};
  inet_pton(AF_INET, opt->host, &addr.sin_addr); /* checked when parsed */
  unsigned int flags =
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  return MHD_start_daemon(
      flags, (uint16_t)opt->port, NULL, NULL, answer, response,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
      MHD_OPTION_THREAD_POOL_SIZE, opt->threads, MHD_OPTION_CONNECTION_LIMIT,
      MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, opt->connection_memory,
      MHD_OPTION_END);
}

int main(int argc, char **argv) {
  struct options opt;
  struct MHD_Response *response = NULL;
  struct MHD_Daemon *daemon = NULL;
  int rc = EXIT_FAILURE;

  if (!parse_options(argc, argv, &opt)) {
    usage(stderr);
    return 2;
  }
  /* Blocked before MHD starts its threads, which inherit the mask, so the
   * stop signals reach only the sigwait() below. */
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, NULL);
  raise_fd_limit();

  response = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                             MHD_RESPMEM_PERSISTENT);
  if (response == NULL ||
      MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                              "application/json") != MHD_YES) {
    fprintf(stderr, "bo_http_ceiling: cannot build the response\n");
    goto done;
  }
  daemon = start_daemon(&opt, response);
  if (daemon == NULL) {
    fprintf(stderr, "bo_http_ceiling: cannot listen on %s:%u\n", opt.host,
            opt.port);
    goto done;
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
  printf("listening %s:%u\n", opt.host,
         info ? (unsigned int)info->port : opt.port);
  fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  rc = EXIT_SUCCESS;
done:
  if (daemon)
    MHD_stop_daemon(daemon);
  if (response)
    MHD_destroy_response(response);
  return rc;
}
