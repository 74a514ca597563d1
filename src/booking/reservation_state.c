#include "booking/reservation_state.h"

#include <assert.h>

bool bo_reservation_transition_allowed(enum bo_reservation_status from,
                                       enum bo_reservation_status to) {
  return from == BO_RESERVATION_HELD &&
         (to == BO_RESERVATION_CONFIRMED || to == BO_RESERVATION_CANCELLED ||
          to == BO_RESERVATION_EXPIRED);
}

enum bo_reservation_status
bo_reservation_effective_status(const struct bo_reservation *r,
                                int64_t now_ms) {
  if (r->status == BO_RESERVATION_HELD && r->expires_at_ms <= now_ms)
    return BO_RESERVATION_EXPIRED;
  return r->status;
}

enum bo_store_status bo_reservation_move(struct bo_store_tx *tx,
                                         int64_t reservation_id,
                                         enum bo_reservation_status from,
                                         enum bo_reservation_status to,
                                         int64_t now_ms) {
  assert(bo_reservation_transition_allowed(from, to));
  /* Paying or cancelling needs the hold alive at this instant: the
   * condition rides in the UPDATE so no read-then-write gap exists. */
  int64_t live_at = to == BO_RESERVATION_EXPIRED ? 0 : now_ms;
  return bo_store_op(tx)->reservation_transition(tx, reservation_id, from, to,
                                                 live_at, now_ms);
}
