/* The route table: 404 for unknown paths, 405 with Allow for a known path
 * and another method, 400 for a malformed id, and the ids handed over. */
#include "http/input.h"
#include "http/router.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

static void h_any(struct bo_app *app, const struct bo_request *req,
                  struct bo_reply *reply) {
  (void)app;
  (void)req;
  (void)reply;
}

static const struct bo_route routes[] = {
    {"POST", "/api/v1/users", h_any},
    {"GET", "/api/v1/users/{id}/points", h_any},
    {"POST", "/api/v1/users/{id}/points/charge", h_any},
    {"GET", "/api/v1/reservations/{id}", h_any},
    {"DELETE", "/api/v1/reservations/{id}", h_any},
    {"GET", "/api/v1/concerts", h_any},
    {"GET", "/api/v1/queue/status", h_any},
    {"GET", "/api/v1/a/{id}/b/{id}", h_any},
    {"GET", "/healthz", h_any},
};
#define ROUTE_COUNT (sizeof routes / sizeof routes[0])

static enum bo_route_match match(const char *method, const char *path,
                                 struct bo_route_result *r) {
  return bo_router_match(routes, ROUTE_COUNT, method, path, r);
}

Test(router, literal_route_found) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/concerts", &r), BO_ROUTE_FOUND);
  cr_assert_eq(r.index, 5);
  cr_assert_eq(r.id_count, 0);
  cr_assert_eq(match("GET", "/healthz", &r), BO_ROUTE_FOUND);
  cr_assert_eq(r.index, 8);
}

Test(router, id_route_found_with_id) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/users/7/points", &r), BO_ROUTE_FOUND);
  cr_assert_eq(r.index, 1);
  cr_assert_eq(r.id_count, 1);
  cr_assert_eq(r.ids[0], 7);
}

Test(router, two_ids_in_order) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/a/12/b/34", &r), BO_ROUTE_FOUND);
  cr_assert_eq(r.id_count, 2);
  cr_assert_eq(r.ids[0], 12);
  cr_assert_eq(r.ids[1], 34);
}

Test(router, same_path_two_methods) {
  struct bo_route_result r;
  cr_assert_eq(match("DELETE", "/api/v1/reservations/55", &r), BO_ROUTE_FOUND);
  cr_assert_eq(r.index, 4);
  cr_assert_eq(match("GET", "/api/v1/reservations/55", &r), BO_ROUTE_FOUND);
  cr_assert_eq(r.index, 3);
}

Test(router, unknown_path_is_not_found) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/nothing", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(r.index, ROUTE_COUNT);
  cr_assert_eq(match("GET", "/", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "api/v1/concerts", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "/api/v1/users/7/points/extra", &r),
               BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "/api/v1/users/7", &r), BO_ROUTE_NOT_FOUND);
}

Test(router, trailing_slash_is_another_path) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/concerts/", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "/healthz/", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "/api/v1/users/7/points/", &r), BO_ROUTE_NOT_FOUND);
}

Test(router, empty_segments_do_not_match) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/users//points", &r), BO_ROUTE_NOT_FOUND);
  cr_assert_eq(match("GET", "//api/v1/concerts", &r), BO_ROUTE_NOT_FOUND);
}

Test(router, case_matters_in_paths) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/API/v1/concerts", &r), BO_ROUTE_NOT_FOUND);
}

Test(router, wrong_method_lists_allowed) {
  struct bo_route_result r;
  cr_assert_eq(match("POST", "/api/v1/concerts", &r), BO_ROUTE_BAD_METHOD);
  cr_assert_str_eq(r.allow, "GET");
  cr_assert_eq(r.index, ROUTE_COUNT);
  cr_assert_eq(match("GET", "/api/v1/users", &r), BO_ROUTE_BAD_METHOD);
  cr_assert_str_eq(r.allow, "POST");
}

Test(router, wrong_method_lists_every_method_once) {
  struct bo_route_result r;
  cr_assert_eq(match("PUT", "/api/v1/reservations/5", &r), BO_ROUTE_BAD_METHOD);
  cr_assert_str_eq(r.allow, "GET, DELETE");
}

Test(router, methods_are_case_sensitive) {
  struct bo_route_result r;
  cr_assert_eq(match("get", "/api/v1/concerts", &r), BO_ROUTE_BAD_METHOD);
}

Test(router, wrong_method_wins_over_bad_id) {
  struct bo_route_result r;
  cr_assert_eq(match("PUT", "/api/v1/reservations/abc", &r),
               BO_ROUTE_BAD_METHOD);
  cr_assert_str_eq(r.allow, "GET, DELETE");
}

Test(router, bad_ids_are_rejected) {
  static const char *const bad[] = {"0",
                                    "01",
                                    "-1",
                                    "+1",
                                    "9223372036854775808",
                                    "99999999999999999999",
                                    "1a",
                                    "a1",
                                    " 1",
                                    "1 ",
                                    "1.0",
                                    "0x10",
                                    "{id}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char path[128];
    struct bo_route_result r;
    snprintf(path, sizeof path, "/api/v1/users/%s/points", bad[i]);
    cr_assert_eq(match("GET", path, &r), BO_ROUTE_BAD_ID, "id '%s'", bad[i]);
    cr_assert_eq(r.index, 1, "bad id names its route");
  }
}

Test(router, largest_id_is_accepted) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/users/9223372036854775807/points", &r),
               BO_ROUTE_FOUND);
  cr_assert_eq(r.ids[0], INT64_MAX);
}

Test(router, second_id_bad) {
  struct bo_route_result r;
  cr_assert_eq(match("GET", "/api/v1/a/1/b/x", &r), BO_ROUTE_BAD_ID);
}

Test(router, allow_fits_and_deduplicates) {
  static const struct bo_route many[] = {
      {"GET", "/x", h_any},      {"POST", "/x", h_any},
      {"PUT", "/x", h_any},      {"PATCH", "/x", h_any},
      {"DELETE", "/x", h_any},   {"OPTIONS", "/x", h_any},
      {"GET", "/x", h_any},      {"CONNECT", "/x", h_any},
      {"PROPFIND", "/x", h_any}, {"PROPPATCH", "/x", h_any},
      {"MKCOL", "/x", h_any},    {"LOCK", "/x", h_any},
  };
  struct bo_route_result r;
  cr_assert_eq(
      bo_router_match(many, sizeof many / sizeof many[0], "HEAD", "/x", &r),
      BO_ROUTE_BAD_METHOD);
  cr_assert_lt(strlen(r.allow), sizeof r.allow);
  cr_assert_eq(strncmp(r.allow, "GET, POST, PUT, PATCH, DELETE, OPTIONS", 38),
               0);
  cr_assert_null(strstr(r.allow + 3, "GET"), "GET listed once: %s", r.allow);
}

Test(router, empty_table) {
  struct bo_route_result r;
  cr_assert_eq(bo_router_match(routes, 0, "GET", "/healthz", &r),
               BO_ROUTE_NOT_FOUND);
  cr_assert_eq(r.index, 0);
}

Test(input_id, strict_positive_int64) {
  int64_t v = 0;
  cr_assert(bo_input_parse_id("7", 1, &v));
  cr_assert_eq(v, 7);
  cr_assert(bo_input_parse_id("9223372036854775807", 19, &v));
  cr_assert_eq(v, INT64_MAX);
  cr_assert(bo_input_parse_id("1000", 4, &v));
  cr_assert_eq(v, 1000);
  /* Only `len` bytes are read. */
  cr_assert(bo_input_parse_id("12/points", 2, &v));
  cr_assert_eq(v, 12);
  cr_assert_not(bo_input_parse_id("0", 1, &v));
  cr_assert_not(bo_input_parse_id("07", 2, &v));
  cr_assert_not(bo_input_parse_id("-1", 2, &v));
  cr_assert_not(bo_input_parse_id("+7", 2, &v));
  cr_assert_not(bo_input_parse_id("7x", 2, &v));
  cr_assert_not(bo_input_parse_id("", 0, &v));
  cr_assert_not(bo_input_parse_id(NULL, 0, &v));
  cr_assert_not(bo_input_parse_id("9223372036854775808", 19, &v));
  cr_assert_not(bo_input_parse_id("18446744073709551616", 20, &v));
  cr_assert_not(bo_input_parse_id("9999999999999999999", 19, &v));
}
