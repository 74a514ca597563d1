/* Private to the HTTP adapter: the server object shared by server.c (daemon
 * life cycle) and connection.c (one request from headers to log line). */
#ifndef BO_HTTP_CONNECTION_H
#define BO_HTTP_CONNECTION_H

#include "http/router.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct bo_app;

struct bo_http_server {
  struct MHD_Daemon *daemon;
  struct bo_app *app;
  const struct bo_route *routes;
  size_t route_count;
  uint16_t port;
  /* Requests between their first access-handler call and their completion
   * notice; bo_http_stop() waits for it to reach zero. */
  atomic_int in_flight;
};

/* MHD_AccessHandlerCallback; cls is the struct bo_http_server. */
enum MHD_Result bo_http_on_request(void *cls, struct MHD_Connection *connection,
                                   const char *url, const char *method,
                                   const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls);

/* MHD_RequestCompletedCallback: the log line, the metrics, the cleanup. */
void bo_http_on_completed(void *cls, struct MHD_Connection *connection,
                          void **con_cls, enum MHD_RequestTerminationCode toe);

#endif
