/* A request as the API layer sees it: already routed, body complete. It
 * knows nothing of libmicrohttpd, so handlers can be driven by tests and
 * fuzzers without a socket. */
#ifndef BO_HTTP_REQUEST_H
#define BO_HTTP_REQUEST_H

#include "util/netaddr.h"

#include <stddef.h>
#include <stdint.h>

#define BO_REQUEST_ID_SIZE 17 /* 16 hex digits + NUL */
#define BO_PATH_IDS_MAX 2

struct bo_request {
  const char *method;
  const char *path;
  const char *route;           /* the matched pattern, for logs and metrics */
  const char *content_type;    /* header value or NULL */
  const char *authorization;   /* header value or NULL */
  const char *idempotency_key; /* header value or NULL */
  const char *body;            /* not NUL-terminated; NULL when empty */
  size_t body_len;
  /* The {id} segments of the path, in order, already checked to be
   * positive 64-bit integers. */
  int64_t path_ids[BO_PATH_IDS_MAX];
  int path_id_count;
  char request_id[BO_REQUEST_ID_SIZE];
  /* Who sent it: the peer's address, or behind a trusted proxy the one
   * that proxy put in X-Forwarded-For (BOXOFFICE_TRUSTED_PROXIES). All
   * zero when unknown (a request built by a test or a fuzzer). */
  struct bo_netaddr client_addr;
  /* Looks up a query-string argument; NULL when absent. */
  const char *(*query)(void *query_ctx, const char *name);
  void *query_ctx;
};

static inline const char *bo_request_query(const struct bo_request *req,
                                           const char *name) {
  return req->query ? req->query(req->query_ctx, name) : NULL;
}

#endif
