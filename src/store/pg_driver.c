/* The PostgreSQL driver's table of operations; each lives in the pg_*.c file
 * of its concern. */
#include "store/pg_internal.h"

const struct bo_store_driver bo_pg_driver = {
    .name = "postgres",
    .migrate = bo_pg_migrate,
    .ping = bo_pg_ping,
    .close = bo_pg_close,
    .transaction = bo_pg_transaction,

    .user_insert = bo_pg_user_insert,
    .user_get = bo_pg_user_get,
    .points_get = bo_pg_points_get,
    .points_add = bo_pg_points_add,
    .points_history_insert = bo_pg_points_history_insert,
    .points_history_get = bo_pg_points_history_get,
    .points_history_list = bo_pg_points_history_list,
    .idempotency_get = bo_pg_idempotency_get,
    .idempotency_put = bo_pg_idempotency_put,

    .concert_insert = bo_pg_concert_insert,
    .schedule_insert = bo_pg_schedule_insert,
    .concert_list = bo_pg_concert_list,
    .concert_get = bo_pg_concert_get,
    .schedule_list_bookable = bo_pg_schedule_list_bookable,
    .schedule_list_upcoming = bo_pg_schedule_list_upcoming,
    .schedule_get = bo_pg_schedule_get,
    .seat_list = bo_pg_seat_list,
    .seat_list_upcoming = bo_pg_seat_list_upcoming,
    .seat_peek = bo_pg_seat_peek,
    .seat_hold = bo_pg_seat_hold,
    .seat_release = bo_pg_seat_release,
    .seat_sell = bo_pg_seat_sell,
    .concert_inventory = bo_pg_concert_inventory,
    .schedule_counts = bo_pg_schedule_counts,

    .reservation_insert = bo_pg_reservation_insert,
    .reservation_get = bo_pg_reservation_get,
    .reservation_list_by_user = bo_pg_reservation_list_by_user,
    .reservation_transition = bo_pg_reservation_transition,
    .reservation_expire_seat = bo_pg_reservation_expire_seat,
    .payment_insert = bo_pg_payment_insert,
    .payment_get = bo_pg_payment_get,

    .line_insert = bo_pg_line_insert,
    .line_get = bo_pg_line_get,
    .line_update = bo_pg_line_update,
    .line_list = bo_pg_line_list,

    .holds_release_expired = bo_pg_holds_release_expired,
};
