/* The reservation's life, in one place:
 *
 *   HELD ──pay──▶ CONFIRMED
 *     │ ╲──cancel──▶ CANCELLED
 *     ╰──time runs out──▶ EXPIRED
 *
 * Nothing leaves CONFIRMED, EXPIRED or CANCELLED. Every change of a
 * reservation's state goes through bo_reservation_move(), which asserts the
 * transition is one of these (anything else is our bug) and lets the store
 * make it with one conditional UPDATE. */
#ifndef BO_BOOKING_RESERVATION_STATE_H
#define BO_BOOKING_RESERVATION_STATE_H

#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

bool bo_reservation_transition_allowed(enum bo_reservation_status from,
                                       enum bo_reservation_status to);

/* A HELD reservation whose time ran out is EXPIRED, whether or not
 * housekeeping has written that yet. */
enum bo_reservation_status
bo_reservation_effective_status(const struct bo_reservation *r, int64_t now_ms);

/* Moves HELD -> `to` only if the hold is still live at now_ms (CONFIRMED,
 * CANCELLED) or has run out (EXPIRED is written by housekeeping in bulk).
 * CONFLICT when the row was not in `from` (someone else moved it first). */
enum bo_store_status bo_reservation_move(struct bo_store_tx *tx,
                                         int64_t reservation_id,
                                         enum bo_reservation_status from,
                                         enum bo_reservation_status to,
                                         int64_t now_ms);

#endif
