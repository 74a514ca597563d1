/* Holds: a seat kept for one user for hold_seconds. Exactly one of any
 * number of racers wins a seat, because the store takes it with one
 * conditional UPDATE (free, or its hold ran out) and the affected-row count
 * names the winner; a partial unique index (one HELD or CONFIRMED
 * reservation per seat) catches the same race a second time.
 *
 * Expiry never waits for anyone: a hold whose time ran out reads as free
 * (seat AVAILABLE, reservation EXPIRED) at once; housekeeping writes that
 * down later in bulk, which only tidies the rows. */
#ifndef BO_BOOKING_HOLDS_H
#define BO_BOOKING_HOLDS_H

#include "app.h"
#include "errors.h"

/* 404 unknown schedule or seat number; 409 SCHEDULE_CLOSED for a schedule
 * that has started; 409 SEAT_UNAVAILABLE when held or sold. */
enum bo_error bo_holds_reserve(struct bo_app *app, int64_t user_id,
                               int64_t schedule_id, int32_t seat_number,
                               struct bo_reservation *out);

/* The user's own reservation, status as of now. 403 NOT_OWNER. */
enum bo_error bo_holds_get(struct bo_app *app, int64_t user_id,
                           int64_t reservation_id, struct bo_reservation *out);

/* Newest first, statuses as of now. 404 for an unknown user. */
enum bo_error bo_holds_list(struct bo_app *app, int64_t user_id,
                            struct bo_reservation_list *out);

/* HELD -> CANCELLED and the seat free again. 409 RESERVATION_NOT_HELD for
 * any other state (expired included). */
enum bo_error bo_holds_cancel(struct bo_app *app, int64_t user_id,
                              int64_t reservation_id,
                              struct bo_reservation *out);

/* Housekeeping: writes down holds that ran out. */
enum bo_error bo_holds_release_expired(struct bo_app *app, int *released);

#endif
