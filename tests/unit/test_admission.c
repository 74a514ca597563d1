/* Admission: tokens, the activeMax bound and expiry of active time, through
 * booking/admission.c and the housekeeping pass. */
#include "booking/admission.h"
#include "booking/housekeeping.h"
#include "support/app_fixture.h"

#include <criterion/criterion.h>

static struct app_fixture fx;
static void setup(void) {
  app_fixture_open(&fx, 2);
}
static void teardown(void) {
  app_fixture_close(&fx);
}
TestSuite(admission, .init = setup, .fini = teardown);

static enum bo_error check(const struct bo_token_info *info,
                           enum bo_token_need need, struct bo_token_info *out) {
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&info->token, text);
  return bo_admission_check(&fx.app, text, need, out);
}

Test(admission, unknown_user_gets_no_token) {
  struct bo_token_info info;
  bool created;
  cr_assert_eq(bo_admission_issue(&fx.app, 99, 0, &info, &created),
               BO_ERR_NOT_FOUND);
}

Test(admission, waiting_tokens_need_active_for_booking) {
  int64_t users[3];
  struct bo_token_info tokens[3], seen;
  bool created;
  for (int i = 0; i < 3; i++) {
    users[i] = fixture_user(&fx, "u", 0);
    cr_assert_eq(bo_admission_issue(&fx.app, users[i], 0, &tokens[i], &created),
                 BO_OK);
    cr_assert(created);
  }
  cr_assert_eq(tokens[2].state, BO_TOKEN_WAITING);
  cr_assert_eq(tokens[2].position, 1);
  cr_assert_eq(check(&tokens[2], BO_NEED_ACTIVE, &seen),
               BO_ERR_TOKEN_NOT_ACTIVE);
  cr_assert_eq(check(&tokens[2], BO_NEED_LIVE, &seen), BO_OK);
  cr_assert_eq(check(&tokens[0], BO_NEED_ACTIVE, &seen), BO_OK);
  cr_assert_eq(seen.user_id, users[0]);
  /* Asking again hands back the same token. */
  struct bo_token_info again;
  cr_assert_eq(bo_admission_issue(&fx.app, users[2], 0, &again, &created),
               BO_OK);
  cr_assert_not(created);
  cr_assert(bo_token_equal(&again.token, &tokens[2].token));
}

Test(admission, forged_and_malformed_tokens_are_invalid) {
  struct bo_token_info seen;
  cr_assert_eq(bo_admission_check(&fx.app, "", BO_NEED_LIVE, &seen),
               BO_ERR_TOKEN_INVALID);
  cr_assert_eq(bo_admission_check(&fx.app, "not-a-token", BO_NEED_LIVE, &seen),
               BO_ERR_TOKEN_INVALID);
  struct bo_token forged;
  bo_token_generate(&forged);
  char text[BO_TOKEN_TEXT_LEN + 1];
  bo_token_encode(&forged, text);
  cr_assert_eq(bo_admission_check(&fx.app, text, BO_NEED_LIVE, &seen),
               BO_ERR_TOKEN_INVALID);
}

Test(admission, active_time_runs_out_and_the_next_is_admitted) {
  struct bo_token_info a, b, c, seen;
  bool created;
  cr_assert_eq(
      bo_admission_issue(&fx.app, fixture_user(&fx, "a", 0), 0, &a, &created),
      BO_OK);
  app_fixture_advance(&fx, 1000);
  cr_assert_eq(
      bo_admission_issue(&fx.app, fixture_user(&fx, "b", 0), 0, &b, &created),
      BO_OK);
  cr_assert_eq(
      bo_admission_issue(&fx.app, fixture_user(&fx, "c", 0), 0, &c, &created),
      BO_OK);
  cr_assert_eq(c.state, BO_TOKEN_WAITING);
  /* a's 600 s run out; it is gone at once, c is let in by the next pass. */
  app_fixture_advance(&fx, 600 * 1000 - 1000);
  cr_assert_eq(check(&a, BO_NEED_LIVE, &seen), BO_ERR_TOKEN_INVALID);
  bo_housekeeping_admit(&fx.app);
  cr_assert_eq(check(&c, BO_NEED_ACTIVE, &seen), BO_OK);
  cr_assert_eq(seen.expires_at_ms, fx.now_ms + 600 * 1000);
  cr_assert_eq(check(&b, BO_NEED_ACTIVE, &seen), BO_OK);
}
