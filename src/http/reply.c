/* Replies. Errors are RFC 9457 problem documents built from the registry in
 * errors.h with jansson's typed builders, so no detail text can break the
 * JSON. A detail may quote client input (a path segment, a parser message),
 * which can be anything but UTF-8; it is repaired before it reaches jansson,
 * which would otherwise refuse the string and leave us without an answer. */
#include "http/reply.h"

#include "http/stream.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBLEM_TYPE_BASE "https://boxoffice.dev/problems/"
#define DETAIL_MAX 1024

static const char content_json[] = "application/json";
static const char content_problem[] = "application/problem+json";

/* Length of the well-formed UTF-8 sequence at s (at most `avail` bytes), or
 * 0 when it is not one: overlong forms, surrogates and code points past
 * U+10FFFF are refused, as RFC 3629 (and jansson) require. */
static size_t utf8_sequence(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (len > avail)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return len;
}

/* Rewrites `text` in place so that it is valid UTF-8: each byte that starts
 * no well-formed sequence becomes '?'. A sequence cut by truncation too. */
static void repair_utf8(char *text) {
  unsigned char *p = (unsigned char *)text;
  size_t left = strlen(text);
  while (left > 0) {
    size_t n = utf8_sequence(p, left);
    if (n == 0) {
      *p = '?';
      n = 1;
    }
    p += n;
    left -= n;
  }
}

void bo_reply_clear(struct bo_reply *reply) {
  json_decref(reply->json);
  free(reply->text);
  bo_stream_spec_free(reply->stream);
  memset(reply, 0, sizeof *reply);
}

void bo_reply_json(struct bo_reply *reply, int status, json_t *body) {
  bo_reply_clear(reply);
  if (body == NULL) {
    bo_reply_error(reply, BO_ERR_INTERNAL, "out of memory building a reply");
    return;
  }
  reply->status = status;
  reply->json = body;
  reply->content_type = content_json;
}

void bo_reply_text(struct bo_reply *reply, int status, const char *content_type,
                   char *text, size_t len) {
  bo_reply_clear(reply);
  if (text == NULL) {
    bo_reply_error(reply, BO_ERR_INTERNAL, "out of memory building a reply");
    return;
  }
  reply->status = status;
  reply->text = text;
  reply->text_len = len;
  reply->content_type = content_type;
}

void bo_reply_static(struct bo_reply *reply, int status,
                     const char *content_type, const char *body, size_t len) {
  bo_reply_clear(reply);
  reply->status = status;
  reply->static_body = body;
  reply->text_len = len;
  reply->content_type = content_type;
}

void bo_reply_header(struct bo_reply *reply, const char *name,
                     const char *value) {
  assert(reply->header_count < BO_REPLY_HEADERS_MAX);
  if (reply->header_count >= BO_REPLY_HEADERS_MAX)
    return; /* NDEBUG: a header short rather than a write past the end */
  reply->headers[reply->header_count++] =
      (struct bo_reply_header){.name = name, .value = value};
}

/* Builds the problem document; NULL only when memory ran out. */
static json_t *problem_new(const struct bo_error_info *info,
                           const char *detail) {
  char type[128];
  snprintf(type, sizeof type, "%s%s", PROBLEM_TYPE_BASE, info->code);
  json_t *doc = json_object();
  if (doc == NULL)
    return NULL;
  if (json_object_set_new(doc, "type", json_string(type)) != 0 ||
      json_object_set_new(doc, "title", json_string(info->title)) != 0 ||
      json_object_set_new(doc, "status", json_integer(info->http_status)) !=
          0 ||
      json_object_set_new(doc, "code", json_string(info->code)) != 0 ||
      json_object_set_new(doc, "detail", json_string(detail)) != 0) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

json_t *bo_reply_problem(enum bo_error err, const char *detail) {
  char repaired[DETAIL_MAX];
  snprintf(repaired, sizeof repaired, "%s", detail ? detail : "");
  repair_utf8(repaired);
  return problem_new(bo_error_info(err), repaired);
}

void bo_reply_error(struct bo_reply *reply, enum bo_error err,
                    const char *detail_fmt, ...) {
  const struct bo_error_info *info = bo_error_info(err);
  char detail[DETAIL_MAX];
  va_list ap;
  va_start(ap, detail_fmt);
  if (vsnprintf(detail, sizeof detail, detail_fmt, ap) < 0)
    detail[0] = '\0';
  va_end(ap);
  repair_utf8(detail);

  bo_reply_clear(reply);
  reply->status = info->http_status;
  /* An unknown code was reported as INTERNAL by the registry: say so in the
   * log field too, so the line and the body agree. */
  reply->error = (err > BO_OK && err < BO_ERR__COUNT) ? err : BO_ERR_INTERNAL;
  reply->content_type = content_problem;
  /* On allocation failure json stays NULL and bo_reply_body() returns NULL;
   * the server then answers with its static 500. */
  reply->json = problem_new(info, detail);
}

const char *bo_reply_body(struct bo_reply *reply, size_t *len) {
  if (reply->static_body != NULL) {
    *len = reply->text_len;
    return reply->static_body;
  }
  if (reply->text == NULL && reply->json != NULL) {
    /* ENCODE_ANY: a handler may answer a bare value; better sent than lost. */
    reply->text = json_dumps(reply->json, JSON_COMPACT | JSON_ENCODE_ANY);
    if (reply->text == NULL)
      return NULL;
    reply->text_len = strlen(reply->text);
  }
  if (reply->text == NULL) {
    if (reply->json == NULL && reply->error != BO_OK)
      return NULL; /* a problem document we could not build */
    *len = 0;
    return "";
  }
  *len = reply->text_len;
  return reply->text;
}
