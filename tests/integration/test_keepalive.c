/* Keep-alive: consecutive requests from one client travel over one
 * connection, for GETs, for POSTs with a body, and after error replies.
 * (libmicrohttpd 0.9.75 answers "Connection: close" when a reply is queued
 * before the request is fully received; see DESIGN.md.) Each test uses a
 * client of its own, so the first request must connect and every later one
 * must reuse: CURLINFO_NUM_CONNECTS is 1, then 0. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(keepalive, .init = it_setup, .fini = it_teardown);

/* Sends each request in turn on one fresh client; each must get `statuses`
 * and all but the first must reuse the connection. */
static void expect_one_connection(const struct it_server *s,
                                  const struct it_request *reqs,
                                  const long *statuses, size_t n) {
  struct it_client *c = it_client_new();
  cr_assert_not_null(c);
  struct it_response r = {0};
  for (size_t i = 0; i < n; i++) {
    it_request_on(c, s, &reqs[i], &r);
    it_assert_status(&r, statuses[i]);
    cr_assert_eq(r.num_connects, i == 0 ? 1 : 0,
                 "request %zu (%s, %ld): %ld new connection(s); the one "
                 "before it was not kept alive",
                 i, r.what, r.status, r.num_connects);
  }
  it_response_free(&r);
  it_client_free(c);
}

Test(keepalive, gets_share_a_connection, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  const struct it_request reqs[] = {{.path = "/healthz"},
                                    {.path = "/healthz"},
                                    {.path = "/api/v1/concerts"},
                                    {.path = "/metrics"}};
  const long statuses[] = {200, 200, 200, 200};
  expect_one_connection(s, reqs, statuses, 4);
}

Test(keepalive, posts_with_bodies_share_a_connection, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  int64_t kim = it_create_user(s, "kim");
  char charge[96];
  snprintf(charge, sizeof charge, "/api/v1/users/%lld/points/charge",
           (long long)kim);
  /* A 10 KiB body arrives in several pieces (and curl asks for
   * "100 Continue" first); the connection must still be kept. */
  enum { BIG = 10 * 1024 };
  char *big = malloc(BIG + 1);
  int head = snprintf(big, BIG, "{\"amount\": 5, \"pad\": \"");
  memset(big + head, 'x', BIG - head - 2);
  memcpy(big + BIG - 2, "\"}", 3);
  const struct it_request reqs[] = {
      {.method = "POST", .path = "/api/v1/users", .body = "{\"name\": \"a\"}"},
      {.method = "POST", .path = "/api/v1/users", .body = "{\"name\": \"b\"}"},
      {.method = "POST", .path = charge, .body = "{\"amount\": 10}"},
      {.method = "POST", .path = charge, .body = big},
      {.path = "/healthz"},
  };
  const long statuses[] = {201, 201, 200, 200, 200};
  expect_one_connection(s, reqs, statuses, 5);
  it_assert_balance(s, kim, 15);
  free(big);
}

Test(keepalive, error_replies_keep_the_connection, .timeout = 30) {
  struct it_server *s = it_server_start(NULL);
  /* Errors found before the body is read (404, 405, 415) are the ones
   * libmicrohttpd would close on if queued too early. */
  const struct it_request reqs[] = {
      {.path = "/nope"},
      {.path = "/nope"},
      {.method = "DELETE", .path = "/api/v1/users"},
      {.method = "POST", .path = "/api/v1/users", .body = "{\"name\":"},
      {.method = "POST",
       .path = "/api/v1/users",
       .body = "{\"name\": \"kim\"}",
       .content_type = "text/plain"},
      {.method = "POST", .path = "/nope", .body = "{\"name\": \"kim\"}"},
      {.path = "/api/v1/queue/status", .token = "forged"},
      {.method = "POST",
       .path = "/api/v1/users",
       .body = "{\"name\": \"kim\"}"},
  };
  const long statuses[] = {404, 404, 405, 400, 415, 404, 401, 201};
  expect_one_connection(s, reqs, statuses, 8);
}
