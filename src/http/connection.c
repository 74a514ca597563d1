/* One request, from its headers to its log line.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in, once per chunk of body, and once more (with no
 * data) when the body is complete. We never queue a response on the first
 * call: MHD 0.9.75 then answers "Connection: close", since it has not read
 * the body yet, and keep-alive is lost for every request. Everything is
 * answered on the last call, after the whole body has been read, which is
 * also the only call besides the first on which MHD accepts a response.
 *
 * A body over BO_HTTP_BODY_MAX is not kept: the excess is read and dropped
 * so that the 413 still goes out on a connection that stays usable. The one
 * exception is a client that announces (Content-Length) more than
 * DRAIN_MAX: reading megabytes only to keep one connection alive is a bad
 * trade, so it gets its 413 at once and the connection closes after it,
 * which RFC 9110 allows for 413. A client sending "Expect: 100-continue"
 * then never has to send the body at all.
 *
 * A request target longer than BO_HTTP_URL_MAX (414) or a request line
 * and headers over BO_HTTP_HEADERS_MAX (431) are refused before routing, in
 * the same way: answered once the body is in (or at once, past DRAIN_MAX).
 * Headers beyond MHD's per-connection memory never reach us: MHD answers
 * those 431 (and a request line beyond it 414) itself, with a short HTML
 * body, and closes the connection.
 *
 * The request's context is made as soon as the request line is in (MHD's
 * URI log callback), not at the first access-handler call, so that a
 * client stalling half-way through its headers until the connection
 * timeout closes it still gets a log line. The completion notice, which MHD
 * sends for every request that has a context, is where the log line, the
 * metrics and the cleanup happen, exactly once per request; the requests
 * MHD answers itself (431, 414, 400, 505), with or without a context, are
 * logged and counted by its logger instead (server.c). */
#include "http/connection.h"

#include "app.h"
#include "http/client_addr.h"
#include "http/conditional.h"
#include "http/input.h"
#include "http/reply.h"
#include "http/request.h"
#include "http/server.h"
#include "http/stream_hub.h"
#include "metrics.h"
#include "util/clock.h"
#include "util/log.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Past this announced size the 413 goes out before the body is read. */
#define DRAIN_MAX (1024 * 1024)
/* X-Forwarded-For header lines looked at, the last ones (a trusted proxy's
 * line is the last; more lines than this are the client's own). */
#define FORWARDED_LINES_MAX 8

/* What we answer when not even a problem document can be built. */
static const char oom_body[] =
    "{\"type\":\"https://boxoffice.dev/problems/INTERNAL\","
    "\"title\":\"Internal error\",\"status\":500,\"code\":\"INTERNAL\","
    "\"detail\":\"out of memory\"}";

struct request_ctx {
  struct bo_http_server *server;
  int64_t start_ns; /* when the request line was in */
  char request_id[BO_REQUEST_ID_SIZE];
  char method[16];       /* a copy: MHD's string may be gone at completion */
  size_t uri_len;        /* the request target as sent, query included */
  bool begun;            /* the access handler has seen it (headers complete) */
  enum bo_error refusal; /* URI_TOO_LONG or REQUEST_HEADER_TOO_LARGE */
  char *body;
  size_t body_len, body_cap;
  bool too_large;
  size_t route_index; /* route_count when no route took the request */
  const char *route;  /* the pattern, or NULL */
  int status;         /* 0 until a response is queued */
  enum bo_error error;
};

/* SipHash-2-4 of the next sequence number: 64 bits, so two ids collide
 * only by chance (about one in 10^10 for a million requests). */
static void new_request_id(struct bo_http_server *server,
                           char out[BO_REQUEST_ID_SIZE]) {
  _Static_assert(crypto_shorthash_BYTES * 2 + 1 == BO_REQUEST_ID_SIZE,
                 "a request id is one short hash in hex");
  uint64_t seq = atomic_fetch_add(&server->request_seq, 1);
  unsigned char in[sizeof seq], hash[crypto_shorthash_BYTES];
  memcpy(in, &seq, sizeof seq);
  crypto_shorthash(hash, in, sizeof in, server->request_id_key);
  sodium_bin2hex(out, BO_REQUEST_ID_SIZE, hash, sizeof hash);
}

static const char *header(struct MHD_Connection *connection, const char *name) {
  return MHD_lookup_connection_value(connection, MHD_HEADER_KIND, name);
}

/* The request line and headers as received, in bytes. */
static size_t header_size(struct MHD_Connection *connection) {
  const union MHD_ConnectionInfo *info = MHD_get_connection_info(
      connection, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
  return info ? info->header_size : 0;
}

static const char *query_lookup(void *query_ctx, const char *name) {
  return MHD_lookup_connection_value((struct MHD_Connection *)query_ctx,
                                     MHD_GET_ARGUMENT_KIND, name);
}

/* The Content-Length the client announced, or -1 when absent or unreadable
 * (MHD itself rejects a malformed one before we are called). */
static int64_t announced_length(struct MHD_Connection *connection) {
  const char *text = header(connection, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (text == NULL || *text < '0' || *text > '9')
    return -1;
  char *end;
  unsigned long long v = strtoull(text, &end, 10);
  return (*end == '\0' && v <= INT64_MAX) ? (int64_t)v : INT64_MAX;
}

/* Appends a chunk of body, or notes that the body is too large and drops
 * it. False only when memory ran out. */
static bool take_body(struct request_ctx *ctx, const char *data, size_t n) {
  if (ctx->too_large || ctx->refusal)
    return true;
  if (n > BO_HTTP_BODY_MAX - ctx->body_len) {
    ctx->too_large = true;
    free(ctx->body);
    ctx->body = NULL;
    ctx->body_len = ctx->body_cap = 0;
    return true;
  }
  if (ctx->body_len + n > ctx->body_cap) {
    size_t cap = ctx->body_cap ? ctx->body_cap * 2 : 4096;
    if (cap < ctx->body_len + n)
      cap = ctx->body_len + n;
    if (cap > BO_HTTP_BODY_MAX)
      cap = BO_HTTP_BODY_MAX;
    char *grown = realloc(ctx->body, cap);
    if (grown == NULL)
      return false;
    ctx->body = grown;
    ctx->body_cap = cap;
  }
  memcpy(ctx->body + ctx->body_len, data, n);
  ctx->body_len += n;
  return true;
}

/* Finds the first "{...}" segment of `pattern` whose counterpart in `path`
 * is not an id, for a 400 that names it. The router already matched the
 * shape, so both have the same number of segments. */
static void find_bad_id(const char *pattern, const char *path, const char **seg,
                        int *seg_len) {
  *seg = path;
  *seg_len = 0;
  while (*pattern == '/' && *path == '/') {
    pattern++;
    path++;
    size_t plen = strcspn(pattern, "/");
    size_t tlen = strcspn(path, "/");
    int64_t id;
    if (plen >= 2 && pattern[0] == '{' && !bo_input_parse_id(path, tlen, &id)) {
      *seg = path;
      *seg_len = tlen > 256 ? 256 : (int)tlen;
      return;
    }
    pattern += plen;
    path += tlen;
  }
}

struct forwarded_lines {
  const char *values[FORWARDED_LINES_MAX];
  size_t n;
};

/* MHD_KeyValueIterator over the headers: keeps the last X-Forwarded-For
 * lines. MHD_lookup_connection_value would give only the first, which is
 * the one a client may have sent itself. */
static enum MHD_Result collect_forwarded(void *cls, enum MHD_ValueKind kind,
                                         const char *key, const char *value) {
  struct forwarded_lines *lines = cls;
  (void)kind;
  if (strcasecmp(key, "X-Forwarded-For") != 0 || value == NULL)
    return MHD_YES;
  if (lines->n == FORWARDED_LINES_MAX) {
    memmove(lines->values, lines->values + 1,
            (FORWARDED_LINES_MAX - 1) * sizeof lines->values[0]);
    lines->n--;
  }
  lines->values[lines->n++] = value;
  return MHD_YES;
}

static void client_address(const struct bo_http_server *server,
                           struct MHD_Connection *connection,
                           struct bo_netaddr *out) {
  struct bo_netaddr peer = {0};
  const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == NULL || !bo_netaddr_from_sockaddr(info->client_addr, &peer) ||
      server->trusted_count == 0) {
    *out = peer;
    return;
  }
  struct forwarded_lines lines = {.n = 0};
  MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_forwarded,
                            &lines);
  bo_client_addr_resolve(&peer, lines.values, lines.n, server->trusted,
                         server->trusted_count, out);
}

/* Routes the request and lets its handler fill `reply`. */
static void dispatch(struct request_ctx *ctx, struct MHD_Connection *connection,
                     const char *url, const char *method,
                     struct bo_reply *reply) {
  const struct bo_http_server *server = ctx->server;
  struct bo_route_result match;
  enum bo_route_match outcome =
      bo_router_match(server->routes, server->route_count, method, url, &match);

  ctx->route_index = match.index;
  if (outcome == BO_ROUTE_FOUND || outcome == BO_ROUTE_BAD_ID)
    ctx->route = server->routes[match.index].pattern;
  switch (outcome) {
  case BO_ROUTE_NOT_FOUND:
    bo_reply_error(reply, BO_ERR_NOT_FOUND, "no resource at '%s'", url);
    return;
  case BO_ROUTE_BAD_METHOD:
    bo_reply_error(reply, BO_ERR_METHOD_NOT_ALLOWED,
                   "%s is not allowed here; allowed: %s", method, match.allow);
    memcpy(reply->allow, match.allow, sizeof reply->allow);
    return;
  case BO_ROUTE_BAD_ID: {
    const char *seg;
    int seg_len;
    find_bad_id(ctx->route, url, &seg, &seg_len);
    bo_reply_error(reply, BO_ERR_BAD_REQUEST,
                   "'%.*s' is not a valid id in '%s': ids are positive 64-bit "
                   "integers without leading zeros",
                   seg_len, seg, ctx->route);
    return;
  }
  case BO_ROUTE_FOUND:
    break;
  }

  struct bo_request req = {
      .method = method,
      .path = url,
      .route = ctx->route,
      .content_type = header(connection, MHD_HTTP_HEADER_CONTENT_TYPE),
      .authorization = header(connection, MHD_HTTP_HEADER_AUTHORIZATION),
      .idempotency_key = header(connection, "Idempotency-Key"),
      .body = ctx->body_len ? ctx->body : NULL,
      .body_len = ctx->body_len,
      .path_id_count = match.id_count,
      .query = query_lookup,
      .query_ctx = connection,
  };
  for (int i = 0; i < match.id_count; i++)
    req.path_ids[i] = match.ids[i];
  memcpy(req.request_id, ctx->request_id, sizeof req.request_id);
  client_address(server, connection, &req.client_addr);

  server->routes[match.index].handler(server->app, &req, reply);
  if (reply->status < 100 || reply->status > 599) {
    bo_log_error("msg=\"handler left no valid status\" route=%s status=%d "
                 "rid=%s",
                 ctx->route, reply->status, ctx->request_id);
    bo_reply_error(reply, BO_ERR_INTERNAL, "the server failed to answer");
  }
}

/* Turns `reply` into an MHD response and queues it. */
static enum MHD_Result send_reply(struct request_ctx *ctx,
                                  struct MHD_Connection *connection,
                                  struct bo_reply *reply) {
  struct MHD_Response *response = NULL;
  int status = reply->status;
  const char *content_type = reply->content_type;
  size_t len;
  const char *body = bo_reply_body(reply, &len);

  if (reply->stream) {
    /* An event stream: the hub takes it from here. */
    struct bo_stream_spec *spec = reply->stream;
    reply->stream = NULL;
    response = bo_stream_hub_respond(ctx->server->streams, connection, spec);
    content_type = NULL; /* the stream's response has its own headers */
    if (response == NULL) {
      status = 500;
      reply->error = BO_ERR_INTERNAL;
      response = MHD_create_response_from_buffer(
          sizeof oom_body - 1, (void *)oom_body, MHD_RESPMEM_PERSISTENT);
      content_type = "application/problem+json";
    }
  } else if (body == NULL) {
    status = 500;
    content_type = "application/problem+json";
    reply->error = BO_ERR_INTERNAL;
    response = MHD_create_response_from_buffer(
        sizeof oom_body - 1, (void *)oom_body, MHD_RESPMEM_PERSISTENT);
  } else if (len == 0) {
    response = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
  } else if (reply->static_body) {
    /* Lives as long as the process (an embedded file): no copy. */
    response = MHD_create_response_from_buffer(len, (void *)body,
                                               MHD_RESPMEM_PERSISTENT);
  } else {
    /* Hand the serialised text to MHD instead of copying it. */
    char *text = reply->text;
    reply->text = NULL;
    response =
        MHD_create_response_from_buffer_with_free_callback(len, text, free);
    if (response == NULL)
      free(text);
  }
  if (response == NULL)
    return MHD_NO; /* out of memory: dropping the connection is all we can */

  if (content_type)
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type);
  MHD_add_response_header(response, "X-Request-Id", ctx->request_id);
  if (reply->allow[0])
    MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, reply->allow);
  if (reply->etag)
    MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, reply->etag);
  for (int i = 0; i < reply->header_count; i++)
    MHD_add_response_header(response, reply->headers[i].name,
                            reply->headers[i].value);
  if (reply->retry_after > 0) {
    char seconds[16];
    snprintf(seconds, sizeof seconds, "%d", reply->retry_after);
    MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
  }

  enum MHD_Result ret =
      MHD_queue_response(connection, (unsigned int)status, response);
  MHD_destroy_response(response);
  if (ret == MHD_YES) {
    ctx->status = status;
    ctx->error = reply->error;
  }
  return ret;
}

/* Routed only so that the log line and the metrics name the route; the
 * size is the answer whatever the route would have said. */
static enum MHD_Result answer_too_large(struct request_ctx *ctx,
                                        struct MHD_Connection *connection,
                                        const char *url, const char *method) {
  const struct bo_http_server *server = ctx->server;
  struct bo_route_result match;
  if (bo_router_match(server->routes, server->route_count, method, url,
                      &match) == BO_ROUTE_FOUND) {
    ctx->route_index = match.index;
    ctx->route = server->routes[match.index].pattern;
  }
  struct bo_reply reply = {0};
  bo_reply_error(&reply, BO_ERR_PAYLOAD_TOO_LARGE,
                 "request body is larger than %d bytes", BO_HTTP_BODY_MAX);
  enum MHD_Result ret = send_reply(ctx, connection, &reply);
  bo_reply_clear(&reply);
  return ret;
}

/* A refusal decided from the request line and headers alone: not routed,
 * since no route's answer would matter. */
static enum MHD_Result answer_refusal(struct request_ctx *ctx,
                                      struct MHD_Connection *connection) {
  struct bo_reply reply = {0};
  if (ctx->refusal == BO_ERR_URI_TOO_LONG)
    bo_reply_error(&reply, ctx->refusal,
                   "the request target is %zu bytes long; at most %d are "
                   "accepted",
                   ctx->uri_len, BO_HTTP_URL_MAX);
  else
    bo_reply_error(&reply, ctx->refusal,
                   "the request line and headers are %zu bytes long; at most "
                   "%d are accepted",
                   header_size(connection), BO_HTTP_HEADERS_MAX);
  enum MHD_Result ret = send_reply(ctx, connection, &reply);
  bo_reply_clear(&reply);
  return ret;
}

void *bo_http_on_uri(void *cls, const char *uri,
                     struct MHD_Connection *connection) {
  struct bo_http_server *server = cls;
  (void)connection;
  struct request_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL)
    return NULL; /* the access handler then drops the connection */
  ctx->server = server;
  ctx->start_ns = bo_clock_monotonic_ns();
  ctx->route_index = server->route_count;
  ctx->uri_len = strlen(uri);
  new_request_id(server, ctx->request_id);
  return ctx;
}

/* First call: the headers are in. Checks what can be checked before the
 * body. */
static enum MHD_Result begin(struct request_ctx *ctx,
                             struct MHD_Connection *connection, const char *url,
                             const char *method) {
  ctx->begun = true;
  snprintf(ctx->method, sizeof ctx->method, "%s", method);
  atomic_fetch_add(&ctx->server->in_flight, 1);

  if (ctx->uri_len > BO_HTTP_URL_MAX)
    ctx->refusal = BO_ERR_URI_TOO_LONG;
  else if (header_size(connection) > BO_HTTP_HEADERS_MAX)
    ctx->refusal = BO_ERR_REQUEST_HEADER_TOO_LARGE;

  int64_t announced = announced_length(connection);
  if (announced > BO_HTTP_BODY_MAX) {
    ctx->too_large = true;
    if (announced > DRAIN_MAX) /* answered now; the connection then closes */
      return ctx->refusal ? answer_refusal(ctx, connection)
                          : answer_too_large(ctx, connection, url, method);
  } else if (announced > 0 && !ctx->refusal) {
    /* One allocation for the usual body. */
    ctx->body = malloc((size_t)announced);
    ctx->body_cap = ctx->body ? (size_t)announced : 0;
  }
  return MHD_YES;
}

enum MHD_Result bo_http_on_request(void *cls, struct MHD_Connection *connection,
                                   const char *url, const char *method,
                                   const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls) {
  struct request_ctx *ctx = *con_cls;
  (void)cls;
  (void)version;

  if (ctx == NULL)
    return MHD_NO; /* bo_http_on_uri ran out of memory */
  if (!ctx->begun)
    return begin(ctx, connection, url, method);
  if (ctx->status != 0) {
    /* Answered early (413); MHD discards the rest of the body. */
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    bool ok = take_body(ctx, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return ok ? MHD_YES : MHD_NO;
  }
  if (ctx->refusal)
    return answer_refusal(ctx, connection);
  if (ctx->too_large)
    return answer_too_large(ctx, connection, url, method);

  struct bo_reply reply = {0};
  dispatch(ctx, connection, url, method, &reply);
  bo_conditional_apply(&reply, method,
                       header(connection, MHD_HTTP_HEADER_IF_NONE_MATCH));
  enum MHD_Result ret = send_reply(ctx, connection, &reply);
  bo_reply_clear(&reply);
  return ret;
}

static const char *termination_text(enum MHD_RequestTerminationCode toe) {
  switch (toe) {
  case MHD_REQUEST_TERMINATED_COMPLETED_OK:
    return NULL;
  case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
    return "timeout";
  case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
    return "shutdown";
  case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
    return "client_abort";
  case MHD_REQUEST_TERMINATED_READ_ERROR:
    return "read_error";
  default:
    return "error";
  }
}

void bo_http_on_completed(void *cls, struct MHD_Connection *connection,
                          void **con_cls, enum MHD_RequestTerminationCode toe) {
  struct bo_http_server *server = cls;
  struct request_ctx *ctx = *con_cls;
  if (ctx == NULL)
    return;
  *con_cls = NULL;

  if (!ctx->begun) {
    /* Never reached the handler. Either MHD answered it itself (431 for
     * headers beyond its memory, 400 for a malformed header), which its
     * logger already logged and counted (server.c), or the client stopped
     * half-way through its headers, which is worth a line. */
    if (MHD_get_connection_info(connection, MHD_CONNECTION_INFO_HTTP_STATUS) !=
        NULL) {
      free(ctx);
      return;
    }
    snprintf(ctx->method, sizeof ctx->method, "-");
  }

  int64_t ns = bo_clock_monotonic_ns() - ctx->start_ns;
  const char *term = termination_text(toe);
  const char *code =
      ctx->error != BO_OK ? bo_error_info(ctx->error)->code : NULL;
  char line[512];
  snprintf(line, sizeof line,
           "method=%s route=%s status=%d ms=%" PRId64 ".%03" PRId64
           " rid=%s%s%s%s%s",
           ctx->method, ctx->route ? ctx->route : "-", ctx->status,
           ns / 1000000, (ns / 1000) % 1000, ctx->request_id,
           code ? " code=" : "", code ? code : "", term ? " term=" : "",
           term ? term : "");
  /* 500 is our bug; 503 a backing store that is down; the rest is the
   * client's business and stays at info. */
  if (ctx->status == 500)
    bo_log_error("%s", line);
  else if (ctx->status > 500)
    bo_log_warn("%s", line);
  else
    bo_log_info("%s", line);

  /* A request that got no answer (the client left mid-upload) has no
   * status to count. */
  if (ctx->status != 0)
    bo_metrics_observe_request(server->app ? server->app->metrics : NULL,
                               ctx->route_index, ctx->status, ns);
  if (ctx->begun)
    atomic_fetch_sub(&server->in_flight, 1);
  free(ctx->body);
  free(ctx);
}
