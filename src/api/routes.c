#include "api/api.h"

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
    {"POST", "/api/v1/admin/tokens/end", bo_api_admin_token_end},
    {"GET", "/healthz", bo_api_ops_health},
    {"GET", "/metrics", bo_api_ops_metrics},
};

const size_t bo_api_route_count =
    sizeof bo_api_routes / sizeof bo_api_routes[0];
