/* Routing compares a path with each pattern segment by segment: a literal
 * segment must be equal, a "{name}" segment takes any non-empty segment.
 * That "shape" match is done first and ignores the method and whether the
 * ids parse, so that the answer can say what is actually wrong:
 *
 *   no shape matches                      → NOT_FOUND (404)
 *   shapes match, none with this method   → BAD_METHOD (405, Allow)
 *   this method's shape has a bad id      → BAD_ID (400)
 *
 * The whole path must match: "/api/v1/concerts/" (trailing slash) is not
 * "/api/v1/concerts". The table is small (a few dozen routes), so a linear
 * scan beats any index in both speed and obviousness.
 *
 * On BAD_ID, result->index names the route whose id failed, so the caller
 * can log and count the request under that route; on NOT_FOUND and
 * BAD_METHOD it is route_count (the "unmatched" slot of the metrics). */
#include "http/router.h"

#include "http/input.h"

#include <stdbool.h>
#include <string.h>

/* One segment: [start, start+len). */
struct segment {
  const char *start;
  size_t len;
};

/* Takes the segment after the '/' at *p and advances *p past it; false at
 * the end of the string. */
static bool next_segment(const char **p, struct segment *seg) {
  if (**p != '/')
    return false;
  const char *start = *p + 1;
  const char *end = strchr(start, '/');
  if (end == NULL)
    end = start + strlen(start);
  seg->start = start;
  seg->len = (size_t)(end - start);
  *p = end;
  return true;
}

static bool is_placeholder(const struct segment *seg) {
  return seg->len >= 2 && seg->start[0] == '{' &&
         seg->start[seg->len - 1] == '}';
}

/* Whether `path` has the shape of `pattern`. When it does, *ids_ok tells
 * whether every {id} segment held a valid id; those parsed are stored. */
static bool shape_matches(const char *pattern, const char *path,
                          struct bo_route_result *ids, bool *ids_ok) {
  struct segment ps, ts;
  ids->id_count = 0;
  *ids_ok = true;
  for (;;) {
    bool more_pattern = next_segment(&pattern, &ps);
    bool more_path = next_segment(&path, &ts);
    if (!more_pattern || !more_path)
      return !more_pattern && !more_path && *pattern == '\0' && *path == '\0';
    if (is_placeholder(&ps)) {
      if (ts.len == 0)
        return false;
      int64_t id;
      if (ids->id_count >= BO_PATH_IDS_MAX ||
          !bo_input_parse_id(ts.start, ts.len, &id)) {
        *ids_ok = false;
      } else {
        ids->ids[ids->id_count++] = id;
      }
    } else if (ps.len != ts.len || memcmp(ps.start, ts.start, ps.len) != 0) {
      return false;
    }
  }
}

/* Appends `method` to the comma-separated list unless it is there already
 * or would not fit (the table never has that many methods on one path). */
static void allow_add(char *allow, size_t size, const char *method) {
  size_t mlen = strlen(method);
  for (const char *p = allow; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == mlen && memcmp(p, method, mlen) == 0)
      return;
    if (end == NULL)
      break;
    p = end + 2; /* ", " */
  }
  size_t used = strlen(allow);
  size_t need = (used ? 2 : 0) + mlen + 1;
  if (used + need > size)
    return;
  if (used) {
    memcpy(allow + used, ", ", 2);
    used += 2;
  }
  memcpy(allow + used, method, mlen + 1);
}

enum bo_route_match bo_router_match(const struct bo_route *routes,
                                    size_t route_count, const char *method,
                                    const char *path,
                                    struct bo_route_result *result) {
  bool any_shape = false;
  bool bad_id_seen = false;
  size_t bad_id_index = route_count;

  memset(result, 0, sizeof *result);
  result->index = route_count;
  if (path == NULL || method == NULL || path[0] != '/')
    return BO_ROUTE_NOT_FOUND;

  for (size_t i = 0; i < route_count; i++) {
    struct bo_route_result ids;
    bool ids_ok;
    if (!shape_matches(routes[i].pattern, path, &ids, &ids_ok))
      continue;
    any_shape = true;
    if (strcmp(routes[i].method, method) != 0) {
      allow_add(result->allow, sizeof result->allow, routes[i].method);
      continue;
    }
    if (!ids_ok) {
      /* Another route of this method may still take the path. */
      if (!bad_id_seen) {
        bad_id_seen = true;
        bad_id_index = i;
      }
      continue;
    }
    result->index = i;
    for (int k = 0; k < ids.id_count; k++)
      result->ids[k] = ids.ids[k];
    result->id_count = ids.id_count;
    result->allow[0] = '\0';
    return BO_ROUTE_FOUND;
  }
  if (bad_id_seen) {
    result->index = bad_id_index;
    result->allow[0] = '\0';
    return BO_ROUTE_BAD_ID;
  }
  if (any_shape)
    return BO_ROUTE_BAD_METHOD;
  return BO_ROUTE_NOT_FOUND;
}
