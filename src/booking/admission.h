/* Admission: who may book. Issuing a token puts a known user in the line;
 * every booking call then shows its token and is let through only in the
 * state it needs. The line itself (order, activeMax) is the queue driver's. */
#ifndef BO_BOOKING_ADMISSION_H
#define BO_BOOKING_ADMISSION_H

#include "app.h"
#include "errors.h"

#include <stdbool.h>

/* What a call needs its token to be. */
enum bo_token_need {
  BO_NEED_ACTIVE, /* booking calls: WAITING answers 403 TOKEN_NOT_ACTIVE */
  BO_NEED_LIVE,   /* reading one's reservations: WAITING or ACTIVE */
  BO_NEED_KNOWN,  /* a payment replay: also a SPENT (already paid) token */
};

/* A place in the line that books `concert_id` (booking/lines.h; 0: the
 * global line). 404 NOT_FOUND for an unknown user or concert; 409 SOLD_OUT
 * when that line is sold out. `created` says whether the token is new or
 * the user's live one in that line handed back. */
enum bo_error bo_admission_issue(struct bo_app *app, int64_t user_id,
                                 int64_t concert_id, struct bo_token_info *out,
                                 bool *created);

/* Checks a token's text against the line. 401 TOKEN_INVALID for malformed,
 * unknown, expired or spent tokens (unless `need` accepts spent ones);
 * 403 TOKEN_NOT_ACTIVE for a WAITING token when ACTIVE is needed;
 * 503 when the queue store is down. */
enum bo_error bo_admission_check(struct bo_app *app, const char *token_text,
                                 enum bo_token_need need,
                                 struct bo_token_info *out);

/* 403 WRONG_LINE unless the token belongs to the line that books this
 * concert (or this schedule's concert); 404 for an unknown one. */
enum bo_error bo_admission_scope_concert(struct bo_app *app,
                                         const struct bo_token_info *info,
                                         int64_t concert_id);
enum bo_error bo_admission_scope_schedule(struct bo_app *app,
                                          const struct bo_token_info *info,
                                          int64_t schedule_id);

/* An operator ends a live token now: it reads SPENT, and its slot goes to
 * the next in line. 401 TOKEN_INVALID for a token that is not live. */
enum bo_error bo_admission_end(struct bo_app *app, const char *token_text);

/* The user is done (payment completed): the token stops being live and its
 * slot goes to the next in line. */
void bo_admission_finish(struct bo_app *app, const struct bo_token_info *info);

#endif
