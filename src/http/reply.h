/* What a handler answers. Handlers fill a struct bo_reply; the server turns
 * it into an HTTP response. Every error goes through bo_reply_error(), which
 * renders application/problem+json from the registry in errors.h. */
#ifndef BO_HTTP_REPLY_H
#define BO_HTTP_REPLY_H

#include "errors.h"

#include <jansson.h>
#include <stddef.h>

struct bo_stream_spec; /* http/stream.h: an event stream instead of a body */

/* Room for the longest list a handler adds: an HTML page's cache and
 * security headers (api/web.c). */
#define BO_REPLY_HEADERS_MAX 6

/* A response header whose name and value outlive the reply (static
 * strings); see bo_reply_header(). */
struct bo_reply_header {
  const char *name;
  const char *value;
};

struct bo_reply {
  int status;   /* 0 until a handler answers */
  json_t *json; /* owned; serialised when sent */
  char *text;   /* owned; a non-JSON body (metrics) */
  size_t text_len;
  const char *content_type; /* a static string */
  enum bo_error error;      /* BO_OK unless an error reply; for logs */
  char allow[64];           /* the Allow header of a 405, else empty */
  /* Seconds for a Retry-After header (429), 0 for none. Set it after
   * bo_reply_error(), which empties the reply. */
  int retry_after;
  /* Owned; set by bo_reply_stream() (http/stream.h): the answer is an
   * endless text/event-stream rather than `json` or `text`. */
  struct bo_stream_spec *stream;
  /* Borrowed; a body that outlives the reply (an embedded file), sent as
   * it is without a copy; its length is text_len. Set by
   * bo_reply_static(). */
  const char *static_body;
  /* Borrowed; a strong entity tag, quotes included, sent as ETag. A GET or
   * HEAD whose If-None-Match names it is answered 304 instead
   * (http/conditional.h). */
  const char *etag;
  struct bo_reply_header headers[BO_REPLY_HEADERS_MAX];
  int header_count;
};

/* Takes ownership of `body` (which may be NULL only on allocation failure,
 * answered then as 500). */
void bo_reply_json(struct bo_reply *reply, int status, json_t *body);

/* problem+json: {"type","title","status","code","detail"}; `detail` is a
 * printf format. Replaces whatever the reply held. */
void bo_reply_error(struct bo_reply *reply, enum bo_error err,
                    const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Takes ownership of `text` (malloc'd). */
void bo_reply_text(struct bo_reply *reply, int status, const char *content_type,
                   char *text, size_t len);

/* A body that outlives the reply (any bytes, `len` long), sent as it is:
 * never copied, never freed. */
void bo_reply_static(struct bo_reply *reply, int status,
                     const char *content_type, const char *body, size_t len);

/* Adds a response header; name and value are borrowed and must outlive the
 * reply. More than BO_REPLY_HEADERS_MAX is a bug (asserts). An error reply
 * set afterwards drops them. */
void bo_reply_header(struct bo_reply *reply, const char *name,
                     const char *value);

/* Frees what the reply owns and empties it. */
void bo_reply_clear(struct bo_reply *reply);

/* The problem document bo_reply_error() answers with, as a tree, for
 * bodies that are not replies of their own (the last event of an event
 * stream). NULL only when memory ran out. */
json_t *bo_reply_problem(enum bo_error err, const char *detail);

/* The serialised body and its length; for a JSON reply this serialises once
 * into `text`. Returns NULL on allocation failure. */
const char *bo_reply_body(struct bo_reply *reply, size_t *len);

#endif
