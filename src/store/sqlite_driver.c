/* The SQLite driver's table of operations; each lives in the sqlite_*.c file
 * of its concern. */
#include "store/sqlite_internal.h"

const struct bo_store_driver bo_sqlite_driver = {
    .name = "sqlite",
    .migrate = bo_sqlite_migrate,
    .ping = bo_sqlite_ping,
    .close = bo_sqlite_close,
    .transaction = bo_sqlite_transaction,

    .user_insert = bo_sqlite_user_insert,
    .user_get = bo_sqlite_user_get,
    .points_get = bo_sqlite_points_get,
    .points_add = bo_sqlite_points_add,
    .points_history_insert = bo_sqlite_points_history_insert,
    .points_history_get = bo_sqlite_points_history_get,
    .points_history_list = bo_sqlite_points_history_list,
    .idempotency_get = bo_sqlite_idempotency_get,
    .idempotency_put = bo_sqlite_idempotency_put,

    .concert_insert = bo_sqlite_concert_insert,
    .schedule_insert = bo_sqlite_schedule_insert,
    .concert_list = bo_sqlite_concert_list,
    .concert_get = bo_sqlite_concert_get,
    .schedule_list_bookable = bo_sqlite_schedule_list_bookable,
    .schedule_list_upcoming = bo_sqlite_schedule_list_upcoming,
    .schedule_get = bo_sqlite_schedule_get,
    .seat_list = bo_sqlite_seat_list,
    .seat_list_upcoming = bo_sqlite_seat_list_upcoming,
    .seat_peek = bo_sqlite_seat_peek,
    .seat_hold = bo_sqlite_seat_hold,
    .seat_release = bo_sqlite_seat_release,
    .seat_sell = bo_sqlite_seat_sell,
    .concert_inventory = bo_sqlite_concert_inventory,
    .schedule_counts = bo_sqlite_schedule_counts,

    .reservation_insert = bo_sqlite_reservation_insert,
    .reservation_get = bo_sqlite_reservation_get,
    .reservation_list_by_user = bo_sqlite_reservation_list_by_user,
    .reservation_transition = bo_sqlite_reservation_transition,
    .reservation_expire_seat = bo_sqlite_reservation_expire_seat,
    .payment_insert = bo_sqlite_payment_insert,
    .payment_get = bo_sqlite_payment_get,

    .line_insert = bo_sqlite_line_insert,
    .line_get = bo_sqlite_line_get,
    .line_update = bo_sqlite_line_update,
    .line_list = bo_sqlite_line_list,

    .holds_release_expired = bo_sqlite_holds_release_expired,
};
