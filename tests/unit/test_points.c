/* Points: charges, limits, history and idempotency keys. */
#include "booking/points.h"
#include "support/app_fixture.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static struct app_fixture fx;
static void setup(void) {
  app_fixture_open(&fx, 10);
}
static void teardown(void) {
  app_fixture_close(&fx);
}
TestSuite(points, .init = setup, .fini = teardown);

Test(points, new_user_has_zero_and_charges_add_up) {
  int64_t kim = fixture_user(&fx, "kim", 0);
  int64_t balance = -1;
  cr_assert_eq(bo_points_balance(&fx.app, kim, &balance), BO_OK);
  cr_assert_eq(balance, 0);
  cr_assert_eq(bo_points_charge(&fx.app, kim, 10000, NULL, &balance), BO_OK);
  cr_assert_eq(balance, 10000);
  cr_assert_eq(bo_points_charge(&fx.app, kim, 20000, NULL, &balance), BO_OK);
  cr_assert_eq(balance, 30000);
  struct bo_point_history_list list;
  cr_assert_eq(bo_points_history(&fx.app, kim, 50, &list), BO_OK);
  cr_assert_eq(list.count, 2);
  cr_assert_eq(list.items[0].amount, 20000); /* newest first */
  cr_assert_eq(list.items[0].balance_after, 30000);
  cr_assert_eq(list.items[1].type, BO_POINT_CHARGE);
  free(list.items);
  cr_assert_eq(bo_points_history(&fx.app, kim, 1, &list), BO_OK);
  cr_assert_eq(list.count, 1);
  free(list.items);
}

Test(points, unknown_user_is_not_found) {
  int64_t balance;
  struct bo_point_history_list list;
  cr_assert_eq(bo_points_balance(&fx.app, 424242, &balance), BO_ERR_NOT_FOUND);
  cr_assert_eq(bo_points_charge(&fx.app, 424242, 1, NULL, &balance),
               BO_ERR_NOT_FOUND);
  cr_assert_eq(bo_points_history(&fx.app, 424242, 5, &list), BO_ERR_NOT_FOUND);
}

struct raise_ctx {
  int64_t user_id, delta, balance;
};

/* Puts a balance near the limit directly, where 10,000 maximal charges
 * would take the long way round. */
static enum bo_store_status raise_tx(struct bo_store_tx *tx, void *arg) {
  struct raise_ctx *ctx = arg;
  return bo_store_op(tx)->points_add(tx, ctx->user_id, ctx->delta,
                                     BO_BALANCE_MAX, 0, &ctx->balance);
}

Test(points, balance_never_exceeds_the_limit) {
  int64_t kim = fixture_user(&fx, "kim", 0);
  struct raise_ctx raise = {kim, BO_BALANCE_MAX - 5, 0};
  cr_assert_eq(bo_store_transaction(fx.app.store, true, raise_tx, &raise),
               BO_STORE_OK);
  int64_t balance = 0;
  cr_assert_eq(bo_points_charge(&fx.app, kim, 6, NULL, &balance),
               BO_ERR_BALANCE_LIMIT);
  cr_assert_eq(bo_points_charge(&fx.app, kim, 5, NULL, &balance), BO_OK);
  cr_assert_eq(balance, BO_BALANCE_MAX);
  cr_assert_eq(bo_points_charge(&fx.app, kim, 1, NULL, &balance),
               BO_ERR_BALANCE_LIMIT);
  cr_assert_eq(bo_points_balance(&fx.app, kim, &balance), BO_OK);
  cr_assert_eq(balance, BO_BALANCE_MAX);
}

Test(points, a_key_charges_once_and_is_scoped_to_its_user) {
  int64_t kim = fixture_user(&fx, "kim", 0);
  int64_t lee = fixture_user(&fx, "lee", 0);
  int64_t balance;
  cr_assert_eq(bo_points_charge(&fx.app, kim, 500, "k1", &balance), BO_OK);
  cr_assert_eq(balance, 500);
  cr_assert_eq(bo_points_charge(&fx.app, kim, 700, NULL, &balance), BO_OK);
  /* The retry answers as the first did (500), and charges nothing. */
  cr_assert_eq(bo_points_charge(&fx.app, kim, 500, "k1", &balance), BO_OK);
  cr_assert_eq(balance, 500);
  cr_assert_eq(bo_points_balance(&fx.app, kim, &balance), BO_OK);
  cr_assert_eq(balance, 1200);
  cr_assert_eq(bo_points_charge(&fx.app, kim, 501, "k1", &balance),
               BO_ERR_IDEMPOTENCY_KEY_REUSED);
  /* Another user's same key is their own. */
  cr_assert_eq(bo_points_charge(&fx.app, lee, 900, "k1", &balance), BO_OK);
  cr_assert_eq(balance, 900);
  cr_assert_eq(bo_points_balance(&fx.app, kim, &balance), BO_OK);
  cr_assert_eq(balance, 1200);
}
