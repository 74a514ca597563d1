/* GET /api/v1/queue/stream: a queue token's status as Server-Sent Events,
 * against the real binary in both configurations.
 *
 * The streams are read with libcurl's multi interface, many at once on
 * the test's main thread: curl takes the chunked encoding off, and the
 * write callback below parses the event-stream lines, stamping each event
 * with the time it arrived. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

TestSuite(stream, .init = it_setup, .fini = it_teardown);

/* ---- An event-stream client -------------------------------------------- */

#define SSE_EVENTS_KEPT 64
#define SSE_LINE_MAX 4096
#define SSE_RAW_MAX (64 * 1024)

struct sse_event {
  char name[16]; /* "message" unless the event named itself */
  json_t *json;  /* its data, parsed; NULL when not JSON */
  int64_t at_ms;
};

struct sse {
  CURL *easy;
  struct curl_slist *headers;
  int64_t opened_ms;
  bool done;
  CURLcode result;
  long status;
  /* Response headers of interest. */
  char content_type[64];
  bool no_cache, no_buffering;
  /* The body as it came (the first SSE_RAW_MAX bytes): a refusal's
   * problem document. */
  char *raw;
  size_t raw_len;
  /* The parser. */
  char line[SSE_LINE_MAX];
  size_t line_len;
  char name[16];
  char data[SSE_LINE_MAX];
  size_t data_len;
  bool has_data;
  /* What came: every event (the first SSE_EVENTS_KEPT kept), heartbeats. */
  struct sse_event events[SSE_EVENTS_KEPT];
  int event_count;
  int heartbeats;
  int64_t first_heartbeat_ms;
  int64_t retry_ms;
};

struct sse_set {
  CURLM *multi;
  struct sse **items;
  size_t n, cap;
};

static void sse_dispatch(struct sse *s) {
  if (s->has_data) {
    if (s->event_count < SSE_EVENTS_KEPT) {
      struct sse_event *e = &s->events[s->event_count];
      snprintf(e->name, sizeof e->name, "%s", s->name[0] ? s->name : "message");
      e->json = json_loadb(s->data, s->data_len, 0, NULL);
      e->at_ms = it_now_ms();
    }
    s->event_count++;
  }
  s->name[0] = '\0';
  s->data_len = 0;
  s->has_data = false;
}

/* One line of the stream, without its line break. */
static void sse_line(struct sse *s, const char *line, size_t len) {
  if (len == 0) {
    sse_dispatch(s);
    return;
  }
  if (line[0] == ':') {
    if (s->heartbeats++ == 0)
      s->first_heartbeat_ms = it_now_ms();
    return;
  }
  const char *colon = memchr(line, ':', len);
  size_t field_len = colon ? (size_t)(colon - line) : len;
  const char *value = colon ? colon + 1 : line + len;
  if (colon && value < line + len && *value == ' ')
    value++;
  size_t value_len = (size_t)(line + len - value);
  if (field_len == 4 && memcmp(line, "data", 4) == 0) {
    if (s->has_data && s->data_len < sizeof s->data)
      s->data[s->data_len++] = '\n';
    size_t room = sizeof s->data - s->data_len;
    size_t n = value_len < room ? value_len : room;
    memcpy(s->data + s->data_len, value, n);
    s->data_len += n;
    s->has_data = true;
  } else if (field_len == 5 && memcmp(line, "event", 5) == 0) {
    snprintf(s->name, sizeof s->name, "%.*s", (int)value_len, value);
  } else if (field_len == 5 && memcmp(line, "retry", 5) == 0) {
    s->retry_ms = strtoll(value, NULL, 10);
  }
}

static size_t sse_on_body(char *ptr, size_t size, size_t nmemb, void *arg) {
  struct sse *s = arg;
  size_t n = size * nmemb;
  if (s->raw_len + n < SSE_RAW_MAX) {
    memcpy(s->raw + s->raw_len, ptr, n);
    s->raw_len += n;
    s->raw[s->raw_len] = '\0';
  }
  for (size_t i = 0; i < n; i++) {
    char c = ptr[i];
    if (c == '\n') {
      if (s->line_len > 0 && s->line[s->line_len - 1] == '\r')
        s->line_len--;
      sse_line(s, s->line, s->line_len);
      s->line_len = 0;
    } else if (s->line_len < sizeof s->line) {
      s->line[s->line_len++] = c;
    }
  }
  return n;
}

static size_t sse_on_header(char *ptr, size_t size, size_t nmemb, void *arg) {
  struct sse *s = arg;
  size_t n = size * nmemb;
  char line[256];
  snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), ptr);
  line[strcspn(line, "\r\n")] = '\0';
  if (strncasecmp(line, "Content-Type:", 13) == 0)
    snprintf(s->content_type, sizeof s->content_type, "%s",
             line + 13 + strspn(line + 13, " "));
  else if (strcasecmp(line, "Cache-Control: no-cache") == 0)
    s->no_cache = true;
  else if (strcasecmp(line, "X-Accel-Buffering: no") == 0)
    s->no_buffering = true;
  return n;
}

static struct sse_set *sse_set_new(void) {
  struct sse_set *set = calloc(1, sizeof *set);
  cr_assert_not_null(set);
  set->multi = curl_multi_init();
  cr_assert_not_null(set->multi);
  return set;
}

/* Opens a stream: the token in the header (`bearer`), in the query
 * (`query`), either, both or neither. */
static struct sse *sse_open(struct sse_set *set, const struct it_server *srv,
                            const char *bearer, const char *query) {
  struct sse *s = calloc(1, sizeof *s);
  cr_assert_not_null(s);
  s->raw = malloc(SSE_RAW_MAX);
  s->easy = curl_easy_init();
  cr_assert(s->raw && s->easy);
  char url[512];
  snprintf(url, sizeof url, "%s/api/v1/queue/stream%s%s", srv->base_url,
           query ? "?token=" : "", query ? query : "");
  if (bearer) {
    char header[256];
    snprintf(header, sizeof header, "Authorization: Bearer %s", bearer);
    s->headers = curl_slist_append(NULL, header);
  }
  curl_easy_setopt(s->easy, CURLOPT_URL, url);
  curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
  curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, sse_on_body);
  curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, sse_on_header);
  curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
  curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
  /* Each stream on a connection of its own, as browsers' tabs are. */
  curl_easy_setopt(s->easy, CURLOPT_FORBID_REUSE, 1L);
  s->opened_ms = it_now_ms();
  cr_assert_eq(curl_multi_add_handle(set->multi, s->easy), CURLM_OK);
  if (set->n == set->cap) {
    set->cap = set->cap ? set->cap * 2 : 16;
    set->items = realloc(set->items, set->cap * sizeof *set->items);
    cr_assert_not_null(set->items);
  }
  set->items[set->n++] = s;
  return s;
}

/* Runs the transfers for `ms`. */
static void sse_pump(struct sse_set *set, int64_t ms) {
  int64_t until = it_now_ms() + ms;
  do {
    int running = 0;
    curl_multi_perform(set->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(set->multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      struct sse *s = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
      s->done = true;
      s->result = msg->data.result;
    }
    for (size_t i = 0; i < set->n; i++)
      if (set->items[i]->status == 0)
        curl_easy_getinfo(set->items[i]->easy, CURLINFO_RESPONSE_CODE,
                          &set->items[i]->status);
    int64_t left_ms = until - it_now_ms();
    if (left_ms > 0)
      curl_multi_poll(set->multi, NULL, 0, left_ms < 50 ? (int)left_ms : 50,
                      NULL);
  } while (it_now_ms() < until);
}

/* Pumps until `done(set, arg)` or `timeout_ms`; says which. */
static bool sse_wait(struct sse_set *set, int64_t timeout_ms,
                     bool (*done)(struct sse_set *, void *), void *arg) {
  int64_t deadline = it_now_ms() + timeout_ms;
  while (!done(set, arg)) {
    if (it_now_ms() >= deadline)
      return false;
    sse_pump(set, 50);
  }
  return true;
}

static void sse_set_free(struct sse_set *set) {
  for (size_t i = 0; i < set->n; i++) {
    struct sse *s = set->items[i];
    curl_multi_remove_handle(set->multi, s->easy);
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
    for (int e = 0; e < s->event_count && e < SSE_EVENTS_KEPT; e++)
      json_decref(s->events[e].json);
    free(s->raw);
    free(s);
  }
  curl_multi_cleanup(set->multi);
  free(set->items);
  free(set);
}

static bool all_have_events(struct sse_set *set, void *arg) {
  int want = *(int *)arg;
  for (size_t i = 0; i < set->n; i++)
    if (set->items[i]->event_count < want)
      return false;
  return true;
}

static bool all_done(struct sse_set *set, void *arg) {
  (void)arg;
  for (size_t i = 0; i < set->n; i++)
    if (!set->items[i]->done)
      return false;
  return true;
}

/* The last event kept, asserting there is one. */
static const struct sse_event *last_event(const struct sse *s) {
  cr_assert_gt(s->event_count, 0, "no event arrived");
  int i = s->event_count < SSE_EVENTS_KEPT ? s->event_count - 1
                                           : SSE_EVENTS_KEPT - 1;
  return &s->events[i];
}

static const char *event_status(const struct sse_event *e) {
  cr_assert_not_null(e->json, "an event whose data is not JSON");
  return it_jstr(e->json, "status");
}

/* ---- Small helpers ------------------------------------------------------- */

static char *new_token(const struct it_server *s, const char *name) {
  return it_issue_token(s, it_create_user(s, name), NULL);
}

/* GET /queue/status's body for the token, parsed (caller frees). */
static json_t *polled_status(const struct it_server *s, const char *token) {
  struct it_response r = {0};
  it_call(s, &r, "GET", token, NULL, "/api/v1/queue/status");
  it_assert_status(&r, 200);
  json_t *body = json_incref(r.json);
  it_response_free(&r);
  return body;
}

/* ---- Tests -------------------------------------------------------------- */

/* The first event comes at once and is exactly the status body; the
 * stream has the headers that keep caches and proxies out of its way. */
Test(stream, first_event_is_the_status_body, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *token = new_token(s, "kim");
  struct sse_set *set = sse_set_new();
  struct sse *st = sse_open(set, s, token, NULL);
  int one = 1;
  cr_assert(sse_wait(set, 5000, all_have_events, &one),
            "no event within 5 s (status %ld, body %.300s)", st->status,
            st->raw);
  cr_assert_eq(st->status, 200);
  cr_assert_str_eq(st->content_type, "text/event-stream");
  cr_assert(st->no_cache, "no Cache-Control: no-cache");
  cr_assert(st->no_buffering, "no X-Accel-Buffering: no");
  cr_assert_gt(st->retry_ms, 0, "no retry field before the first event");
  cr_assert_lt(st->events[0].at_ms - st->opened_ms, 2000,
               "the first event took %lld ms",
               (long long)(st->events[0].at_ms - st->opened_ms));
  cr_assert_str_eq(st->events[0].name, "message");
  json_t *polled = polled_status(s, token);
  cr_assert(json_equal(st->events[0].json, polled), "event %s, poll %s",
            json_dumps(st->events[0].json, 0), json_dumps(polled, 0));
  cr_assert_str_eq(it_jstr(st->events[0].json, "token"), token);
  json_decref(polled);
  cr_assert_not(st->done, "the stream ended: %.300s", st->raw);
  sse_set_free(set);
  free(token);
}

/* Browsers' EventSource cannot send headers: ?token= works too, and the
 * header wins when both are there. */
Test(stream, token_in_query_and_header_wins, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *token = new_token(s, "kim");
  char *other = new_token(s, "lee");
  struct sse_set *set = sse_set_new();
  struct sse *by_query = sse_open(set, s, NULL, token);
  struct sse *header_good = sse_open(set, s, token, "garbage");
  struct sse *header_bad = sse_open(set, s, "garbage", token);
  struct sse *header_other = sse_open(set, s, other, token);
  sse_wait(set, 5000, all_have_events, &(int){1});
  cr_assert_eq(by_query->status, 200, "?token=: %ld %.300s", by_query->status,
               by_query->raw);
  cr_assert_str_eq(it_jstr(last_event(by_query)->json, "token"), token);
  cr_assert_eq(header_good->status, 200, "%.300s", header_good->raw);
  cr_assert_str_eq(it_jstr(last_event(header_good)->json, "token"), token);
  cr_assert_eq(header_other->status, 200);
  cr_assert_str_eq(it_jstr(last_event(header_other)->json, "token"), other,
                   "the query's token was used over the header's");
  sse_wait(set, 5000, all_done, NULL); /* the refused one is done */
  cr_assert_eq(header_bad->status, 401,
               "a bad header with a good query: %ld (the query was used)",
               header_bad->status);
  sse_set_free(set);
  free(token);
  free(other);
}

/* A missing, forged, unknown or spent token is refused like a poll: 401
 * problem+json, no stream. */
Test(stream, tokens_that_are_not_live_get_401, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  struct it_response r = {0};
  it_send(s, &(struct it_request){.path = "/api/v1/queue/stream"}, &r);
  it_assert_problem(&r, 401, "TOKEN_INVALID");
  it_send(
      s,
      &(struct it_request){.path = "/api/v1/queue/stream", .token = "forged"},
      &r);
  it_assert_problem(&r, 401, "TOKEN_INVALID");
  /* Well-formed (22 base64url characters) but never issued. */
  it_send(s,
          &(struct it_request){.path = "/api/v1/queue/stream",
                               .token = "AAAAAAAAAAAAAAAAAAAAAA"},
          &r);
  it_assert_problem(&r, 401, "TOKEN_INVALID");
  it_send(s,
          &(struct it_request){
              .path = "/api/v1/queue/stream?token=AAAAAAAAAAAAAAAAAAAAAA"},
          &r);
  it_assert_problem(&r, 401, "TOKEN_INVALID");

  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  int64_t schedule = it_create_schedule(s);
  it_charge(s, kim, 150000);
  it_pay(s, token, it_hold(s, token, schedule, 1));
  it_send(s,
          &(struct it_request){.path = "/api/v1/queue/stream", .token = token},
          &r);
  it_assert_problem(&r, 401, "TOKEN_INVALID");
  it_response_free(&r);
  free(token);
}

static bool first_is_end(struct sse_set *set, void *arg) {
  struct sse *s = arg;
  (void)set;
  return s->done ||
         (s->event_count > 0 && strcmp(last_event(s)->name, "end") == 0);
}

/* Paying spends the token: the stream's last event says so (within the
 * 5 s an ACTIVE token's stream is checked at), and the response ends
 * cleanly (the chunked body is terminated). */
Test(stream, ends_with_end_event_when_token_is_spent, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *token;
  int64_t kim = it_new_booker(s, "kim", &token);
  int64_t schedule = it_create_schedule(s);
  it_charge(s, kim, 150000);
  int64_t reservation = it_hold(s, token, schedule, 1);
  struct sse_set *set = sse_set_new();
  struct sse *st = sse_open(set, s, token, NULL);
  cr_assert(sse_wait(set, 5000, all_have_events, &(int){1}));
  cr_assert_str_eq(event_status(&st->events[0]), "ACTIVE");

  /* An ACTIVE token's stream is checked every 5 s (api/queue_stream.c):
   * nothing about it changes until it ends. */
  it_pay(s, token, reservation);
  cr_assert(sse_wait(set, 8000, first_is_end, st),
            "no end event within 8 s of the payment");
  const struct sse_event *end = last_event(st);
  cr_assert_str_eq(end->name, "end");
  cr_assert_not_null(end->json);
  cr_assert_str_eq(it_jstr(end->json, "code"), "TOKEN_INVALID");
  cr_assert_str_eq(it_jstr(end->json, "reason"), "spent");
  cr_assert_eq(it_jint(end->json, "status"), 401);
  it_jstr(end->json, "detail");
  cr_assert(sse_wait(set, 3000, all_done, NULL),
            "the stream stayed open after its end event");
  cr_assert_eq(st->result, CURLE_OK, "the stream did not end cleanly: %s",
               curl_easy_strerror(st->result));
  sse_set_free(set);
  free(token);
}

static bool saw_active(struct sse_set *set, void *arg) {
  struct sse *s = arg;
  (void)set;
  for (int i = 0; i < s->event_count && i < SSE_EVENTS_KEPT; i++)
    if (s->events[i].json && strcmp(s->events[i].name, "message") == 0 &&
        strcmp(it_jstr(s->events[i].json, "status"), "ACTIVE") == 0)
      return true;
  return false;
}

/* A waiting token's stream brings its admission: with one active slot
 * held for 2 s, the second in line is let in when the first's time runs
 * out, and the stream says ACTIVE without being asked. */
Test(stream, waiting_token_sees_its_admission, .timeout = 60) {
  struct it_server *s = it_server_start(
      &(struct it_server_opts){.active_max = 1, .active_seconds = 2});
  char *first = new_token(s, "first");
  char *second = new_token(s, "second");
  struct sse_set *set = sse_set_new();
  struct sse *st = sse_open(set, s, second, NULL);
  cr_assert(sse_wait(set, 5000, all_have_events, &(int){1}));
  cr_assert_str_eq(event_status(&st->events[0]), "WAITING");
  cr_assert_eq(it_jint(st->events[0].json, "position"), 1);
  int64_t waited_from = it_now_ms();
  cr_assert(sse_wait(set, 8000, saw_active, st),
            "no ACTIVE event within 8 s (active time 2 s); %d events",
            st->event_count);
  cr_assert_lt(it_now_ms() - waited_from, 5000);
  const struct sse_event *e = last_event(st);
  cr_assert_eq(it_jint(e->json, "position"), 0);
  cr_assert_not_null(json_object_get(e->json, "expiresAt"));
  /* Polling agrees. */
  json_t *polled = polled_status(s, second);
  cr_assert_str_eq(it_jstr(polled, "status"), "ACTIVE");
  json_decref(polled);
  sse_set_free(set);
  free(first);
  free(second);
}

/* At most one event a second. The line moves three places a second
 * (three active slots of one second each, taken a third of a second apart
 * so that they also free a third of a second apart; 30 in line), and a
 * one-second idle time makes the hub check each stream three times a
 * second (a third of the idle time), so most checks see a new position:
 * without the limit, events come about 400 ms apart. Every token in line
 * has a stream, which is also what keeps it from being dropped as idle. */
enum { LINE = 30, LINE_ACTIVE = 3 };

Test(stream, at_most_one_event_a_second, .timeout = 90) {
  static const char *const env[] = {"BOXOFFICE_IDLE_SECONDS=1", NULL};
  struct it_server *s = it_server_start(&(struct it_server_opts){
      .active_max = LINE_ACTIVE, .active_seconds = 1, .env = env});
  struct sse_set *set = sse_set_new();
  char *tokens[LINE];
  struct sse *streams[LINE];
  for (int i = 0; i < LINE; i++) {
    tokens[i] = new_token(s, "fan");
    streams[i] = sse_open(set, s, tokens[i], NULL);
    sse_pump(set, i < LINE_ACTIVE ? 1000 / LINE_ACTIVE : 10);
  }
  struct sse *last = streams[LINE - 1];
  cr_assert(sse_wait(set, 5000, all_have_events, &(int){1}));
  cr_assert_str_eq(event_status(&last->events[0]), "WAITING");
  int from = last->event_count;
  sse_pump(set, 5000);
  int events = last->event_count - from;
  cr_assert_geq(events, 3,
                "only %d events in 5 s from a line that moves several places "
                "a second: the test shows nothing",
                events);
  for (int i = from > 0 ? from : 1;
       i < last->event_count && i < SSE_EVENTS_KEPT; i++) {
    int64_t gap = last->events[i].at_ms - last->events[i - 1].at_ms;
    cr_assert_geq(gap, 800, "events %d and %d arrived %lld ms apart", i - 1, i,
                  (long long)gap);
  }
  cr_assert_leq(events, 6, "%d events in 5 s", events);
  sse_set_free(set);
  for (int i = 0; i < LINE; i++)
    free(tokens[i]);
}

/* Fifteen seconds without a change bring a heartbeat comment, and the
 * stream is not closed as an idle connection: the client timeout here is
 * 3 s, five times shorter than the silence. */
Test(stream, heartbeat_after_silence_and_no_idle_timeout, .timeout = 90) {
  static const char *const env[] = {"BOXOFFICE_CLIENT_TIMEOUT_SECONDS=3", NULL};
  struct it_server *s = it_server_start(&(struct it_server_opts){.env = env});
  char *token = new_token(s, "kim"); /* ACTIVE for 600 s: nothing changes */
  struct sse_set *set = sse_set_new();
  struct sse *st = sse_open(set, s, token, NULL);
  cr_assert(sse_wait(set, 5000, all_have_events, &(int){1}));
  int64_t first = st->events[0].at_ms;
  while (st->heartbeats == 0 && !st->done && it_now_ms() - first < 18000)
    sse_pump(set, 100);
  cr_assert_not(st->done, "the stream was closed after %lld ms: %s",
                (long long)(it_now_ms() - first),
                curl_easy_strerror(st->result));
  cr_assert_gt(st->heartbeats, 0, "no heartbeat within 18 s");
  int64_t after = st->first_heartbeat_ms - first;
  cr_assert(after >= 14000 && after <= 17000,
            "the heartbeat came %lld ms after the last event",
            (long long)after);
  cr_assert_eq(st->event_count, 1, "%d events from a state that did not change",
               st->event_count);
  /* Still open and still served. */
  sse_pump(set, 500);
  cr_assert_not(st->done);
  it_assert_alive(s);
  sse_set_free(set);
  free(token);
}

static bool all_moved_on(struct sse_set *set, void *arg) {
  (void)arg;
  for (size_t i = 0; i < set->n; i++) {
    struct sse *s = set->items[i];
    if (s->event_count < 2)
      return false;
  }
  return true;
}

/* 200 streams opened at once all get their first event, and each sees
 * what happens next: the 100 ACTIVE tokens' time runs out (an end event
 * each) and the 100 waiting ones are let in (an ACTIVE event each). Polls
 * are answered meanwhile. */
enum { CROWD = 200, CROWD_ACTIVE = 100 };

Test(stream, two_hundred_streams_at_once, .timeout = 120) {
  struct it_server *s = it_server_start(&(struct it_server_opts){
      .active_max = CROWD_ACTIVE, .active_seconds = 4});
  char *tokens[CROWD];
  for (int i = 0; i < CROWD; i++)
    tokens[i] = new_token(s, "fan");
  struct sse_set *set = sse_set_new();
  for (int i = 0; i < CROWD; i++)
    sse_open(set, s, tokens[i], NULL);
  cr_assert(sse_wait(set, 10000, all_have_events, &(int){1}),
            "not every stream had its first event within 10 s");
  int active = 0;
  for (int i = 0; i < CROWD; i++) {
    struct sse *st = set->items[i];
    cr_assert_eq(st->status, 200, "stream %d: %ld", i, st->status);
    active += strcmp(event_status(&st->events[0]), "ACTIVE") == 0;
  }
  cr_assert_eq(active, CROWD_ACTIVE);

  /* Polling still works beside them. */
  for (int i = 0; i < CROWD; i += 20) {
    json_t *polled = polled_status(s, tokens[i]);
    json_decref(polled);
  }
  it_assert_alive(s);

  cr_assert(sse_wait(set, 20000, all_moved_on, NULL),
            "not every stream saw its token's next state within 20 s");
  int ended = 0, admitted = 0;
  for (int i = 0; i < CROWD; i++) {
    struct sse *st = set->items[i];
    const struct sse_event *e = &st->events[1];
    if (i < CROWD_ACTIVE) {
      cr_assert_str_eq(e->name, "end", "stream %d (ACTIVE)", i);
      cr_assert_str_eq(it_jstr(e->json, "reason"), "expired");
      ended++;
    } else {
      cr_assert_str_eq(e->name, "message", "stream %d (waiting)", i);
      if (strcmp(event_status(e), "ACTIVE") == 0)
        admitted++;
    }
  }
  cr_assert_eq(ended, CROWD_ACTIVE);
  /* Positions move as the first are let in; ACTIVE comes next for all. */
  int64_t deadline = it_now_ms() + 10000;
  while (it_now_ms() < deadline) {
    admitted = 0;
    for (int i = CROWD_ACTIVE; i < CROWD; i++)
      admitted += saw_active(set, set->items[i]);
    if (admitted == CROWD - CROWD_ACTIVE)
      break;
    sse_pump(set, 100);
  }
  cr_assert_eq(admitted, CROWD - CROWD_ACTIVE,
               "%d of %d waiting streams saw their admission", admitted,
               CROWD - CROWD_ACTIVE);
  sse_set_free(set);
  for (int i = 0; i < CROWD; i++)
    free(tokens[i]);
}

/* SIGTERM ends open streams with an end event saying why, and the server
 * exits 0 without waiting out its grace period for them. */
Test(stream, shutdown_ends_streams, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  char *token = new_token(s, "kim");
  struct sse_set *set = sse_set_new();
  struct sse *st = sse_open(set, s, token, NULL);
  cr_assert(sse_wait(set, 5000, all_have_events, &(int){1}));
  int64_t t0 = it_now_ms();
  int status = it_server_stop(s);
  int64_t took = it_now_ms() - t0;
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "the server did not exit 0: status %d", status);
  cr_assert_lt(took, 5000, "stopping took %lld ms", (long long)took);
  cr_assert(sse_wait(set, 3000, all_done, NULL));
  const struct sse_event *end = last_event(st);
  cr_assert_str_eq(end->name, "end");
  cr_assert_str_eq(it_jstr(end->json, "reason"), "shutdown");
  cr_assert_eq(it_jint(end->json, "status"), 503);
  cr_assert_eq(st->result, CURLE_OK, "%s", curl_easy_strerror(st->result));
  sse_set_free(set);
  free(token);
}
