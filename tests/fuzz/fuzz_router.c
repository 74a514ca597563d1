/* fuzz_router: bo_router_match and bo_input_parse_id on any method and
 * path, against the real route table and against a small table of awkward
 * patterns (a root route, three ids where a result holds two, an empty
 * segment, a trailing slash, a bare "{}").
 *
 * Input: line 0 is the method, the rest the path (which, as in
 * libmicrohttpd after unescaping, may hold any byte but NUL). The whole
 * input, as raw bytes, is also given to bo_input_parse_id.
 *
 * Each answer is compared with a second, deliberately naive matcher written
 * here from the router's documented rules, so a wrong 404/405/400 is caught
 * as well as a crash; a FOUND is also checked by rebuilding the path from
 * the pattern and the parsed ids, which must give back the input exactly. */
#include "api/api.h"
#include "fuzz_support.h"
#include "http/input.h"
#include "http/router.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_handler(struct bo_app *app, const struct bo_request *req,
                       struct bo_reply *reply) {
  (void)app, (void)req, (void)reply;
}

static const struct bo_route odd_routes[] = {
    {"GET", "/", no_handler},       {"GET", "/a/{x}/{y}/{z}", no_handler},
    {"POST", "/a/{x}", no_handler}, {"PUT", "/a/{x}", no_handler},
    {"GET", "/{id}", no_handler},   {"DELETE", "/a//b", no_handler},
    {"GET", "/{}/x", no_handler},   {"PATCH", "/a/{id}/", no_handler},
    {"GET", "/a/{x}", no_handler},
};

/* ---- the naive matcher ----------------------------------------------------
 * Splits both strings on every '/' into arrays and compares them; slow and
 * obvious, which is the point. */

#define SEGMENTS_MAX 64

struct split {
  const char *start[SEGMENTS_MAX];
  size_t len[SEGMENTS_MAX];
  int count; /* -1: more segments than we track (no pattern has that many) */
};

static void split(const char *s, struct split *out) {
  out->count = 0;
  /* s starts with '/': each segment follows one '/'. */
  for (const char *p = s; *p == '/';) {
    if (out->count == SEGMENTS_MAX) {
      out->count = -1;
      return;
    }
    const char *start = p + 1;
    size_t len = strcspn(start, "/");
    out->start[out->count] = start;
    out->len[out->count] = len;
    out->count++;
    p = start + len;
  }
}

static bool reference_id(const char *s, size_t len, int64_t *out) {
  static const char max[] = "9223372036854775807";
  if (len == 0 || len > 19 || s[0] < '1' || s[0] > '9')
    return false;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  if (len == 19 && memcmp(s, max, 19) > 0)
    return false;
  char buf[20];
  memcpy(buf, s, len);
  buf[len] = '\0';
  *out = (int64_t)strtoll(buf, NULL, 10);
  return true;
}

static bool placeholder(const char *s, size_t len) {
  return len >= 2 && s[0] == '{' && s[len - 1] == '}';
}

/* Shape match as documented; *ids_ok: every {..} held an id and there were
 * at most BO_PATH_IDS_MAX of them. */
static bool reference_shape(const char *pattern, const char *path,
                            bool *ids_ok) {
  struct split ps, ts;
  split(pattern, &ps);
  split(path, &ts);
  *ids_ok = true;
  if (ps.count < 0 || ts.count < 0 || ps.count != ts.count)
    return false;
  int ids = 0;
  for (int i = 0; i < ps.count; i++) {
    if (placeholder(ps.start[i], ps.len[i])) {
      int64_t id;
      if (ts.len[i] == 0)
        return false;
      if (++ids > BO_PATH_IDS_MAX || !reference_id(ts.start[i], ts.len[i], &id))
        *ids_ok = false;
    } else if (ps.len[i] != ts.len[i] ||
               memcmp(ps.start[i], ts.start[i], ps.len[i]) != 0) {
      return false;
    }
  }
  return true;
}

static enum bo_route_match reference_match(const struct bo_route *routes,
                                           size_t count, const char *method,
                                           const char *path, size_t *index) {
  bool any_shape = false, bad_id = false;
  *index = count;
  if (path[0] != '/')
    return BO_ROUTE_NOT_FOUND;
  for (size_t i = 0; i < count; i++) {
    bool ids_ok;
    if (!reference_shape(routes[i].pattern, path, &ids_ok))
      continue;
    any_shape = true;
    if (strcmp(routes[i].method, method) != 0)
      continue;
    if (ids_ok) {
      *index = i;
      return BO_ROUTE_FOUND;
    }
    if (!bad_id)
      *index = i;
    bad_id = true;
  }
  if (bad_id)
    return BO_ROUTE_BAD_ID;
  return any_shape ? BO_ROUTE_BAD_METHOD : BO_ROUTE_NOT_FOUND;
}

/* ---- checks -------------------------------------------------------------- */

/* The pattern with each {..} replaced by the next id, as decimal. */
static void rebuild(const char *pattern, const struct bo_route_result *r,
                    char *out, size_t size) {
  size_t used = 0;
  int k = 0;
  out[0] = '\0';
  for (const char *p = pattern; *p && used + 1 < size;) {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      if (close && (close[1] == '/' || close[1] == '\0') &&
          (p == pattern || p[-1] == '/')) {
        used += (size_t)snprintf(out + used, size - used, "%" PRId64,
                                 k < r->id_count ? r->ids[k] : -1);
        k++;
        p = close + 1;
        continue;
      }
    }
    out[used++] = *p++;
    out[used] = '\0';
  }
}

static bool allow_lists(const char *allow, const char *method) {
  size_t n = strlen(method);
  for (const char *p = allow; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && memcmp(p, method, n) == 0)
      return true;
    p += len;
    while (*p == ',' || *p == ' ')
      p++;
  }
  return false;
}

static void check_table(const struct bo_route *routes, size_t count,
                        const char *method, const char *path) {
  struct bo_route_result r;
  enum bo_route_match got = bo_router_match(routes, count, method, path, &r);
  size_t want_index;
  enum bo_route_match want =
      reference_match(routes, count, method, path, &want_index);
  if (got != want || r.index != want_index)
    fuzz_fail("%s '%s': router says %d (route %zu), reference %d (route %zu)",
              method, path, got, r.index, want, want_index);
  if (memchr(r.allow, '\0', sizeof r.allow) == NULL)
    fuzz_fail("Allow not terminated");
  switch (got) {
  case BO_ROUTE_FOUND: {
    if (r.id_count < 0 || r.id_count > BO_PATH_IDS_MAX)
      fuzz_fail("id_count %d", r.id_count);
    for (int i = 0; i < r.id_count; i++)
      if (r.ids[i] <= 0)
        fuzz_fail("id %" PRId64 " is not positive", r.ids[i]);
    char again[4096];
    rebuild(routes[r.index].pattern, &r, again, sizeof again);
    if (strlen(path) < sizeof again - 1 && strcmp(again, path) != 0)
      fuzz_fail("'%s' matched %s but rebuilds as '%s'", path,
                routes[r.index].pattern, again);
    if (r.allow[0])
      fuzz_fail("FOUND with an Allow list");
    break;
  }
  case BO_ROUTE_BAD_METHOD:
    if (r.allow[0] == '\0' || allow_lists(r.allow, method))
      fuzz_fail("405 for %s with Allow '%s'", method, r.allow);
    break;
  case BO_ROUTE_BAD_ID:
  case BO_ROUTE_NOT_FOUND:
    if (r.allow[0])
      fuzz_fail("outcome %d with an Allow list", got);
    break;
  }
}

static void check_parse_id(const uint8_t *data, size_t size) {
  /* An exact-size copy, not NUL-terminated: the parser takes a length. */
  char *text = size ? malloc(size) : NULL;
  if (text)
    memcpy(text, data, size);
  int64_t got = 0, want = 0;
  bool ok = bo_input_parse_id(text, size, &got);
  bool want_ok = text && reference_id(text, size, &want);
  if (ok != want_ok || (ok && got != want))
    fuzz_fail("parse_id('%.*s') = %d/%" PRId64 ", reference %d/%" PRId64,
              (int)size, text ? text : "", ok, got, want_ok, want);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_parse_id(data, size);
  char *method = fuzz_take_line(&data, &size);
  char *path = fuzz_strndup(data, size);
  check_table(bo_api_routes, bo_api_route_count, method, path);
  check_table(odd_routes, sizeof odd_routes / sizeof odd_routes[0], method,
              path);
  free(path);
  free(method);
  return 0;
}
