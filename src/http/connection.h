/* Private to the HTTP adapter: the server object shared by server.c (daemon
 * life cycle) and connection.c (one request from headers to log line). */
#ifndef BO_HTTP_CONNECTION_H
#define BO_HTTP_CONNECTION_H

#include "http/conn_limit.h"
#include "http/router.h"
#include "util/netaddr.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct bo_app;
struct bo_stream_hub;

struct bo_http_server {
  struct MHD_Daemon *daemon;
  struct bo_app *app;
  const struct bo_route *routes;
  size_t route_count;
  uint16_t port;
  /* Requests between their first access-handler call and their completion
   * notice; bo_http_stop() waits for it to reach zero. */
  atomic_int in_flight;
  /* BOXOFFICE_TRUSTED_PROXIES, parsed once. */
  struct bo_netrange trusted[BO_NETRANGE_LIST_MAX];
  int trusted_count;
  /* BOXOFFICE_MAX_CONNECTIONS_PER_IP; NULL when it is 0 (off). */
  struct bo_conn_limit *conn_limit;
  /* Connections refused at a connection cap since the last log line about
   * them, and when that line was written (monotonic ms): under a flood
   * the log gets one line a second, not one per connection. */
  atomic_uint_fast64_t refused;
  atomic_int_fast64_t refused_logged_ms;
  /* Request ids: a counter, keyed-hashed so that ids are unique per
   * instance (and across instances with overwhelming odds) without asking
   * the kernel for random bytes per request, and without telling clients
   * how many requests we serve. The key is drawn at start. */
  atomic_uint_fast64_t request_seq;
  unsigned char request_id_key[crypto_shorthash_KEYBYTES];
  /* The open event streams and their thread (stream_hub.h). */
  struct bo_stream_hub *streams;
};

/* MHD_OPTION_URI_LOG_CALLBACK: called once the request line is in, before
 * the headers; what it returns is the request's context. cls is the
 * struct bo_http_server. */
void *bo_http_on_uri(void *cls, const char *uri,
                     struct MHD_Connection *connection);

/* MHD_AccessHandlerCallback; cls is the struct bo_http_server. */
enum MHD_Result bo_http_on_request(void *cls, struct MHD_Connection *connection,
                                   const char *url, const char *method,
                                   const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls);

/* MHD_RequestCompletedCallback: the log line, the metrics, the cleanup. */
void bo_http_on_completed(void *cls, struct MHD_Connection *connection,
                          void **con_cls, enum MHD_RequestTerminationCode toe);

#endif
