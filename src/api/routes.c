#include "api/api.h"
#include "web_paths.h" /* generated: BO_WEB_PATHS, one X("/path") per file */

/* The web front's files reach their handler as routes generated at build
 * time, a GET and a HEAD for each file of web/ (cmake/embed_web.cmake),
 * rather than through a catch-all in the router. So the router and its
 * answers stay exactly as they were: a path is a known file or it is
 * unknown (404 problem+json, under /api as anywhere), another method on a
 * file is a 405 with "Allow: GET, HEAD", and each file is counted as its
 * own route in the metrics. The cost is a table a few dozen rows longer,
 * scanned in well under a microsecond. */
#define WEB_ROUTES(path)                                                       \
  {"GET", path, bo_api_web_file}, {"HEAD", path, bo_api_web_file},

/* Every path the service answers. Order does not matter: the router matches
 * whole paths, and a path known under another method answers 405. */
const struct bo_route bo_api_routes[] = {
    {"POST", "/api/v1/users", bo_api_users_create},
    {"GET", "/api/v1/users/{id}/points", bo_api_points_balance},
    {"POST", "/api/v1/users/{id}/points/charge", bo_api_points_charge},
    {"GET", "/api/v1/users/{id}/points/history", bo_api_points_history},
    {"GET", "/api/v1/users/{id}/reservations", bo_api_reservations_of_user},
    {"POST", "/api/v1/queue/tokens", bo_api_queue_issue},
    {"GET", "/api/v1/queue/status", bo_api_queue_status},
    {"GET", "/api/v1/queue/stream", bo_api_queue_stream},
    {"GET", "/api/v1/concerts", bo_api_concerts_list},
    {"GET", "/api/v1/concerts/{id}/schedules", bo_api_concerts_schedules},
    {"GET", "/api/v1/concerts/{id}/line", bo_api_lines_get},
    {"GET", "/api/v1/concerts/{id}/line/draw", bo_api_lines_draw},
    {"GET", "/api/v1/schedules/{id}/seats", bo_api_schedules_seats},
    {"POST", "/api/v1/reservations", bo_api_reservations_create},
    {"GET", "/api/v1/reservations/{id}", bo_api_reservations_get},
    {"DELETE", "/api/v1/reservations/{id}", bo_api_reservations_cancel},
    {"POST", "/api/v1/payments", bo_api_payments_create},
    {"POST", "/api/v1/admin/concerts", bo_api_admin_create_concert},
    {"GET", "/api/v1/admin/lines", bo_api_admin_lines_list},
    {"GET", "/api/v1/admin/queue", bo_api_admin_queue_get},
    {"PATCH", "/api/v1/admin/queue", bo_api_admin_queue_patch},
    {"GET", "/api/v1/admin/concerts/{id}/line", bo_api_admin_line_get},
    {"PATCH", "/api/v1/admin/concerts/{id}/line", bo_api_admin_line_patch},
    {"GET", "/api/v1/admin/concerts/{id}/schedules",
     bo_api_admin_schedules_list},
    {"POST", "/api/v1/admin/tokens/end", bo_api_admin_token_end},
    {"GET", "/healthz", bo_api_ops_health},
    {"GET", "/metrics", bo_api_ops_metrics},
    {"GET", "/", bo_api_web_file},
    {"HEAD", "/", bo_api_web_file},
    /* clang-format off: each generated row ends with its own comma */
    BO_WEB_PATHS(WEB_ROUTES)
    /* clang-format on */
};

const size_t bo_api_route_count =
    sizeof bo_api_routes / sizeof bo_api_routes[0];
