#include "queue_calls.h"

#include "body.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void bo_load_queue_issue(struct bo_load_conn *c, int64_t user_id,
                         bool forwarded_for) {
  char body[48], headers[48];
  snprintf(body, sizeof body, "{\"userId\":%" PRId64 "}", user_id);
  if (forwarded_for)
    snprintf(headers, sizeof headers, "X-Forwarded-For: 10.%u.%u.%u\r\n",
             (unsigned)(user_id >> 16) & 255u, (unsigned)(user_id >> 8) & 255u,
             (unsigned)user_id & 255u);
  struct bo_load_request req = {
      .method = "POST",
      .path = "/api/v1/queue/tokens",
      .headers = forwarded_for ? headers : NULL,
      .body = body,
      .keep_body = true,
  };
  bo_load_conn_send(c, &req);
}

void bo_load_queue_poll(struct bo_load_conn *c, const char *token,
                        bool keep_body) {
  struct bo_load_request req = {
      .method = "GET",
      .path = "/api/v1/queue/status",
      .bearer = token,
      .keep_body = keep_body,
  };
  bo_load_conn_send(c, &req);
}

bool bo_load_queue_read(const struct bo_load_response *r,
                        char token[BO_LOAD_TOKEN_MAX], bool *active) {
  json_t *root = bo_load_body_json(r);
  char status[16];
  bool ok = root &&
            bo_load_json_text(root, "token", token, BO_LOAD_TOKEN_MAX) &&
            bo_load_json_text(root, "status", status, sizeof status) &&
            (strcmp(status, "ACTIVE") == 0 || strcmp(status, "WAITING") == 0);
  if (ok)
    *active = strcmp(status, "ACTIVE") == 0;
  json_decref(root);
  return ok;
}

uint64_t bo_load_retry_after_ms(const struct bo_load_response *r,
                                uint64_t floor_ms) {
  uint64_t ms = r->retry_after > 0 ? (uint64_t)r->retry_after * 1000u : 0;
  return ms > floor_ms ? ms : floor_ms;
}
