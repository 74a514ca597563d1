/* Holds: the rules of booking/holds.c on a real SQLite store and a clock
 * moved by hand. */
#include "booking/catalog.h"
#include "booking/holds.h"
#include "booking/housekeeping.h"
#include "booking/reservation_state.h"
#include "support/app_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define HOUR_MS (3600 * 1000LL)

static struct app_fixture fx;
static void setup(void) {
  app_fixture_open(&fx, 100);
}
static void teardown(void) {
  app_fixture_close(&fx);
}
TestSuite(holds, .init = setup, .fini = teardown);

static enum bo_seat_status seat_status(int64_t schedule_id, int number) {
  struct bo_seat_list seats;
  cr_assert_eq(bo_catalog_seats(&fx.app, schedule_id, &seats), BO_OK);
  cr_assert_geq(seats.count, (size_t)number);
  cr_assert_eq(seats.items[number - 1].seat_number, number);
  enum bo_seat_status status = seats.items[number - 1].status;
  free(seats.items);
  return status;
}

Test(holds, reserve_marks_seat_held_until_hold_time) {
  int64_t user = fixture_user(&fx, "kim", 0);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 50, 150000);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, user, schedule, 7, &r), BO_OK);
  cr_assert_eq(r.status, BO_RESERVATION_HELD);
  cr_assert_eq(r.price, 150000);
  cr_assert_eq(r.seat_number, 7);
  cr_assert_eq(r.expires_at_ms, fx.now_ms + 300 * 1000);
  cr_assert_eq(seat_status(schedule, 7), BO_SEAT_HELD);
  cr_assert_eq(seat_status(schedule, 8), BO_SEAT_AVAILABLE);
}

Test(holds, second_user_cannot_take_a_held_seat) {
  int64_t a = fixture_user(&fx, "a", 0), b = fixture_user(&fx, "b", 0);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 50, 1000);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 1, &r), BO_OK);
  cr_assert_eq(bo_holds_reserve(&fx.app, b, schedule, 1, &r),
               BO_ERR_SEAT_UNAVAILABLE);
  /* One millisecond before the hold runs out it is still held. */
  app_fixture_advance(&fx, 300 * 1000 - 1);
  cr_assert_eq(bo_holds_reserve(&fx.app, b, schedule, 1, &r),
               BO_ERR_SEAT_UNAVAILABLE);
}

Test(holds, expired_hold_is_free_at_read_time_without_housekeeping) {
  int64_t a = fixture_user(&fx, "a", 0), b = fixture_user(&fx, "b", 0);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 50, 1000);
  struct bo_reservation first, second, seen;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 3, &first), BO_OK);
  app_fixture_advance(&fx, 300 * 1000);
  cr_assert_eq(seat_status(schedule, 3), BO_SEAT_AVAILABLE);
  cr_assert_eq(bo_holds_get(&fx.app, a, first.reservation_id, &seen), BO_OK);
  cr_assert_eq(seen.status, BO_RESERVATION_EXPIRED);
  /* Someone else takes it over; the old reservation stays EXPIRED. */
  cr_assert_eq(bo_holds_reserve(&fx.app, b, schedule, 3, &second), BO_OK);
  cr_assert_neq(second.reservation_id, first.reservation_id);
  cr_assert_eq(bo_holds_get(&fx.app, a, first.reservation_id, &seen), BO_OK);
  cr_assert_eq(seen.status, BO_RESERVATION_EXPIRED);
  cr_assert_eq(seat_status(schedule, 3), BO_SEAT_HELD);
}

Test(holds, bookable_schedules_count_expired_holds_as_available) {
  int64_t a = fixture_user(&fx, "a", 0);
  int64_t schedule = fixture_schedule(&fx, 24 * HOUR_MS, 2, 1000);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 1, &r), BO_OK);
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 2, &r), BO_OK);
  struct bo_schedule sched;
  struct bo_schedule_list list;
  struct bo_concert_list concerts;
  cr_assert_eq(bo_catalog_concerts(&fx.app, &concerts), BO_OK);
  cr_assert_eq(concerts.count, 1);
  int64_t concert = concerts.items[0].concert_id;
  free(concerts.items);
  /* Both seats held: the date is not bookable. */
  cr_assert_eq(bo_catalog_bookable_schedules(&fx.app, concert, &list), BO_OK);
  cr_assert_eq(list.count, 0);
  free(list.items);
  app_fixture_advance(&fx, 300 * 1000);
  cr_assert_eq(bo_catalog_bookable_schedules(&fx.app, concert, &list), BO_OK);
  cr_assert_eq(list.count, 1);
  sched = list.items[0];
  free(list.items);
  cr_assert_eq(sched.schedule_id, schedule);
  cr_assert_eq(sched.available_seats, 2);
  cr_assert_eq(sched.total_seats, 2);
}

Test(holds, past_schedule_is_closed_and_not_listed) {
  int64_t a = fixture_user(&fx, "a", 0);
  int64_t schedule = fixture_schedule(&fx, -HOUR_MS, 50, 1000);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 1, &r),
               BO_ERR_SCHEDULE_CLOSED);
  cr_assert_eq(seat_status(schedule, 1), BO_SEAT_AVAILABLE);
}

Test(holds, unknown_schedule_or_seat_is_not_found) {
  int64_t a = fixture_user(&fx, "a", 0);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_reservation r;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule + 1000, 1, &r),
               BO_ERR_NOT_FOUND);
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 51, &r),
               BO_ERR_NOT_FOUND);
}

Test(holds, cancel_frees_the_seat_once) {
  int64_t a = fixture_user(&fx, "a", 0), b = fixture_user(&fx, "b", 0);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_reservation r, out;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 9, &r), BO_OK);
  cr_assert_eq(bo_holds_cancel(&fx.app, b, r.reservation_id, &out),
               BO_ERR_NOT_OWNER);
  cr_assert_eq(seat_status(schedule, 9), BO_SEAT_HELD);
  cr_assert_eq(bo_holds_cancel(&fx.app, a, r.reservation_id, &out), BO_OK);
  cr_assert_eq(out.status, BO_RESERVATION_CANCELLED);
  cr_assert_eq(seat_status(schedule, 9), BO_SEAT_AVAILABLE);
  cr_assert_eq(bo_holds_cancel(&fx.app, a, r.reservation_id, &out),
               BO_ERR_RESERVATION_NOT_HELD);
  cr_assert_eq(bo_holds_reserve(&fx.app, b, schedule, 9, &r), BO_OK);
}

Test(holds, cancel_of_an_expired_hold_is_refused) {
  int64_t a = fixture_user(&fx, "a", 0);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_reservation r, out;
  cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, 9, &r), BO_OK);
  app_fixture_advance(&fx, 301 * 1000);
  cr_assert_eq(bo_holds_cancel(&fx.app, a, r.reservation_id, &out),
               BO_ERR_RESERVATION_NOT_HELD);
}

Test(holds, sweep_writes_expired_rows_and_frees_seats) {
  int64_t a = fixture_user(&fx, "a", 0);
  int64_t schedule = fixture_schedule(&fx, HOUR_MS, 50, 1000);
  struct bo_reservation r;
  for (int seat = 1; seat <= 3; seat++)
    cr_assert_eq(bo_holds_reserve(&fx.app, a, schedule, seat, &r), BO_OK);
  int released = -1;
  cr_assert_eq(bo_holds_release_expired(&fx.app, &released), BO_OK);
  cr_assert_eq(released, 0);
  app_fixture_advance(&fx, 300 * 1000);
  cr_assert_eq(bo_holds_release_expired(&fx.app, &released), BO_OK);
  cr_assert_eq(released, 3);
  cr_assert_eq(bo_holds_release_expired(&fx.app, &released), BO_OK);
  cr_assert_eq(released, 0);
  struct bo_reservation_list list;
  cr_assert_eq(bo_holds_list(&fx.app, a, &list), BO_OK);
  cr_assert_eq(list.count, 3);
  for (size_t i = 0; i < list.count; i++)
    cr_assert_eq(list.items[i].status, BO_RESERVATION_EXPIRED);
  /* Newest first. */
  cr_assert_gt(list.items[0].reservation_id, list.items[2].reservation_id);
  free(list.items);
}

Test(holds, only_the_documented_transitions_are_allowed) {
  enum bo_reservation_status all[] = {
      BO_RESERVATION_HELD, BO_RESERVATION_CONFIRMED, BO_RESERVATION_EXPIRED,
      BO_RESERVATION_CANCELLED};
  int allowed = 0;
  for (int f = 0; f < 4; f++)
    for (int t = 0; t < 4; t++)
      allowed += bo_reservation_transition_allowed(all[f], all[t]);
  cr_assert_eq(allowed, 3);
  cr_assert(bo_reservation_transition_allowed(BO_RESERVATION_HELD,
                                              BO_RESERVATION_CONFIRMED));
  cr_assert_not(bo_reservation_transition_allowed(BO_RESERVATION_CONFIRMED,
                                                  BO_RESERVATION_CANCELLED));
}
