/* How a rule's transaction ended, in the API's terms. A tx function keeps
 * the precise reason (say SEAT_UNAVAILABLE) in its context and returns
 * BO_STORE_CONFLICT to roll back; the store's own failures become 503
 * (transient: busy past every retry) or 500 (anything else).
 *
 * Call it as two statements: st = bo_store_transaction(..., &ctx); then
 * bo_outcome(st, ctx.reason). Written as one call, C may read ctx.reason
 * before the transaction has run (argument order is unspecified). */
#ifndef BO_BOOKING_OUTCOME_H
#define BO_BOOKING_OUTCOME_H

#include "errors.h"
#include "store/store.h"

static inline enum bo_error bo_outcome(enum bo_store_status status,
                                       enum bo_error reason) {
  switch (status) {
  case BO_STORE_OK:
    return BO_OK;
  case BO_STORE_NOT_FOUND:
  case BO_STORE_CONFLICT:
    return reason != BO_OK ? reason : BO_ERR_INTERNAL;
  case BO_STORE_TRANSIENT:
  case BO_STORE_UNAVAILABLE:
    return BO_ERR_UNAVAILABLE;
  case BO_STORE_FAILED:
    break;
  }
  return BO_ERR_INTERNAL;
}

#endif
