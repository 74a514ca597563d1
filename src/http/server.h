/* The libmicrohttpd adapter: its internal thread pool on epoll, request
 * limits (URL 2 KiB: 414, headers 8 KiB: 431, body 64 KiB: 413;
 * connections per server and per client address; a timeout for silent
 * clients), body collection, routing, one log line per request, metrics,
 * and replies that keep the connection alive. */
#ifndef BO_HTTP_SERVER_H
#define BO_HTTP_SERVER_H

#include "http/router.h"

#include <stddef.h>
#include <stdint.h>

#define BO_HTTP_BODY_MAX (64 * 1024)
/* The request target (path and query) at most, in bytes: 414 past it. The
 * longest URL of the API is well under 100 bytes; 2 KiB leaves room for
 * any honest client and is what old browsers and proxies already assume. */
#define BO_HTTP_URL_MAX 2048
/* Request line and headers at most, in bytes: 431 past it. Our clients send
 * under 1 KiB (no cookies); 8 KiB is what nginx and Apache allow a header
 * line by default and stays well inside MHD's per-connection memory
 * (CONNECTION_MEMORY, server.c), so the 431 is our problem+json, not MHD's
 * page. */
#define BO_HTTP_HEADERS_MAX (8 * 1024)

struct bo_app;
struct bo_http_server;

/* Starts serving app->settings.listen_host:listen_port with the given route
 * table. Returns NULL (and logs why) when the address cannot be bound. */
struct bo_http_server *bo_http_start(struct bo_app *app,
                                     const struct bo_route *routes,
                                     size_t route_count);

/* The port actually bound (useful with port 0). */
uint16_t bo_http_port(const struct bo_http_server *server);

/* Stops accepting, lets requests in flight finish (up to `grace_ms`), then
 * stops the threads and frees the server. */
void bo_http_stop(struct bo_http_server *server, int grace_ms);

#endif
