/* One route table: {method, pattern, handler}. Patterns are literal
 * segments and "{id}" segments (positive 64-bit integers). An unknown path is
 * 404, a known path with another method 405 (with Allow), a malformed id 400.
 */
#ifndef BO_HTTP_ROUTER_H
#define BO_HTTP_ROUTER_H

#include "http/reply.h"
#include "http/request.h"

#include <stddef.h>
#include <stdint.h>

struct bo_app;

typedef void (*bo_handler_fn)(struct bo_app *app, const struct bo_request *req,
                              struct bo_reply *reply);

struct bo_route {
  const char *method;
  const char *pattern; /* "/api/v1/users/{id}/points" */
  bo_handler_fn handler;
};

enum bo_route_match {
  BO_ROUTE_FOUND,
  BO_ROUTE_NOT_FOUND,
  BO_ROUTE_BAD_METHOD, /* `allow` lists the methods the path does take */
  BO_ROUTE_BAD_ID,     /* the shape matched but an {id} was not an id */
};

struct bo_route_result {
  size_t index; /* into the table, when FOUND */
  int64_t ids[BO_PATH_IDS_MAX];
  int id_count;
  char allow[64];
};

enum bo_route_match bo_router_match(const struct bo_route *routes,
                                    size_t route_count, const char *method,
                                    const char *path,
                                    struct bo_route_result *result);

#endif
