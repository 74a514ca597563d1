/* What several resources share: reading the Authorization header (queue
 * token or admin secret), the Idempotency-Key header, the standard wording
 * of each error, and time values in JSON. */
#ifndef BO_API_COMMON_H
#define BO_API_COMMON_H

#include "app.h"
#include "booking/admission.h"
#include "http/reply.h"
#include "http/request.h"

#include <jansson.h>
#include <stdbool.h>

/* "Bearer <credentials>": the scheme is case-insensitive (RFC 9110 11.1);
 * NULL when the header is missing or of another scheme. */
const char *bo_api_bearer(const struct bo_request *req);

/* Checks the bearer token for `need`; on failure answers and returns false. */
bool bo_api_token(struct bo_app *app, const struct bo_request *req,
                  enum bo_token_need need, struct bo_token_info *info,
                  struct bo_reply *reply);

/* The admin secret, compared in constant time. 403 ADMIN_DISABLED when
 * none is configured, 401 ADMIN_UNAUTHORIZED when it does not match. */
bool bo_api_admin(struct bo_app *app, const struct bo_request *req,
                  struct bo_reply *reply);

/* The Idempotency-Key header: *key is NULL when absent; 400 when present
 * but not 1-255 visible ASCII characters. */
bool bo_api_idempotency_key(const struct bo_request *req, const char **key,
                            struct bo_reply *reply);

/* Answers `err` with its standard detail sentence. */
void bo_api_fail(struct bo_reply *reply, enum bo_error err);

/* The same, but a NOT_FOUND names what was missing: "no concert with id 7". */
void bo_api_fail_about(struct bo_reply *reply, enum bo_error err,
                       const char *what, int64_t id);

/* The token body: the answer to POST /queue/tokens and GET /queue/status,
 * and the data of each event of GET /queue/stream. Returns the length
 * written (NUL-terminated), or -1 when it did not fit in `size`. */
int bo_api_token_body(struct bo_app *app, const struct bo_token_info *info,
                      char *out, size_t size);

/* An RFC 3339 string. */
json_t *bo_api_time(int64_t ms);

#endif
