/* The HTTP client of the end-to-end tests, on libcurl, and the assertions
 * on what comes back.
 *
 * One CURL handle per thread (a handle is not thread-safe, and its
 * connection cache is what keep-alive tests look at). curl_easy_reset
 * between requests clears options but keeps live connections, so a thread
 * talks to a server over one connection as long as the server allows. */
#include "support/harness.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct it_client {
  CURL *curl;
};

static _Thread_local struct it_client *thread_client;

struct it_client *it_client_new(void) {
  struct it_client *c = calloc(1, sizeof *c);
  if (c)
    c->curl = curl_easy_init();
  if (!c || !c->curl) {
    free(c);
    return NULL;
  }
  return c;
}

void it_client_free(struct it_client *c) {
  if (!c)
    return;
  curl_easy_cleanup(c->curl);
  free(c);
}

void it_thread_done(void) {
  it_client_free(thread_client);
  thread_client = NULL;
}

void it_response_free(struct it_response *resp) {
  free(resp->body);
  json_decref(resp->json);
  memset(resp, 0, sizeof *resp);
}

/* ---- Transfer ----------------------------------------------------------- */

struct sink {
  char *data;
  size_t len, cap;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  struct sink *sink = userdata;
  size_t n = size * nmemb;
  if (sink->len + n + 1 > sink->cap) {
    size_t cap = sink->cap ? sink->cap : 1024;
    while (cap < sink->len + n + 1)
      cap *= 2;
    char *bigger = realloc(sink->data, cap);
    if (!bigger)
      return 0; /* curl reports a write error */
    sink->data = bigger;
    sink->cap = cap;
  }
  memcpy(sink->data + sink->len, ptr, n);
  sink->len += n;
  sink->data[sink->len] = '\0';
  return n;
}

/* The body of a chunked upload, handed to curl piece by piece. */
struct source {
  const char *data;
  size_t left;
};

static size_t on_read(char *buffer, size_t size, size_t nitems,
                      void *userdata) {
  struct source *src = userdata;
  size_t n = size * nitems < src->left ? size * nitems : src->left;
  memcpy(buffer, src->data, n);
  src->data += n;
  src->left -= n;
  return n;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *name,
                                     const char *value) {
  char line[512];
  snprintf(line, sizeof line, "%s: %s", name, value);
  return curl_slist_append(list, line);
}

void it_request_on(struct it_client *c, const struct it_server *s,
                   const struct it_request *req, struct it_response *resp) {
  it_response_free(resp);
  const char *method = req->method ? req->method : "GET";
  snprintf(resp->what, sizeof resp->what, "%s %s", method, req->path);
  if (!c) {
    snprintf(resp->error, sizeof resp->error, "no curl handle");
    return;
  }
  char url[600];
  snprintf(url, sizeof url, "%s%s", s->base_url, req->path);

  CURL *curl = c->curl;
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  /* Generous: under ASan and with 100 racers a reply can take a while; a
   * hung server still ends the test through Criterion's timeout. */
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   req->timeout_ms ? req->timeout_ms : 60000L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, resp->error);
  struct sink sink = {0};
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);

  struct curl_slist *headers = NULL;
  struct source source = {0};
  if (req->body) {
    size_t len = req->body_len ? req->body_len : strlen(req->body);
    if (req->chunked) {
      source = (struct source){req->body, len};
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(curl, CURLOPT_READDATA, &source);
      headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    } else {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
    }
    if (!req->content_type)
      headers = curl_slist_append(headers, "Content-Type: application/json");
    else if (!*req->content_type) /* drop curl's form-urlencoded default */
      headers = curl_slist_append(headers, "Content-Type:");
    else
      headers = add_header(headers, "Content-Type", req->content_type);
  }
  if (strcmp(method, "GET") == 0 && !req->body)
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  else if (strcmp(method, "POST") != 0)
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  else if (!req->body) /* an empty POST; without this curl reads stdin */
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  if (req->token) {
    char bearer[400];
    snprintf(bearer, sizeof bearer, "Bearer %s", req->token);
    headers = add_header(headers, "Authorization", bearer);
  }
  if (req->idempotency_key)
    headers = add_header(headers, "Idempotency-Key", req->idempotency_key);
  for (size_t i = 0; req->headers && req->headers[i]; i++)
    headers = curl_slist_append(headers, req->headers[i]);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  resp->body = sink.data ? sink.data : strdup("");
  resp->body_len = sink.len;
  if (rc != CURLE_OK) {
    if (!resp->error[0])
      snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(rc));
    return; /* status stays 0 */
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &resp->num_connects);
  char *ct = NULL;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ct);
  if (resp->body_len)
    resp->json = json_loadb(resp->body, resp->body_len, 0, NULL);
}

void it_send(const struct it_server *s, const struct it_request *req,
             struct it_response *resp) {
  if (!thread_client)
    thread_client = it_client_new();
  it_request_on(thread_client, s, req, resp);
}

void it_call(const struct it_server *s, struct it_response *resp,
             const char *method, const char *token, json_t *body,
             const char *path_fmt, ...) {
  char path[512];
  va_list ap;
  va_start(ap, path_fmt);
  vsnprintf(path, sizeof path, path_fmt, ap);
  va_end(ap);
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  it_send(s,
          &(struct it_request){
              .method = method, .path = path, .body = text, .token = token},
          resp);
  free(text);
}

/* ---- Assertions --------------------------------------------------------- */

void it_assert_status(const struct it_response *r, long status) {
  cr_assert_eq(r->status, status, "%s: expected %ld, got %ld%s%s; body: %.600s",
               r->what, status, r->status, r->error[0] ? " - " : "", r->error,
               r->body ? r->body : "");
}

void it_assert_problem(const struct it_response *r, long status,
                       const char *code) {
  it_assert_status(r, status);
  cr_assert_eq(strncmp(r->content_type, "application/problem+json", 24), 0,
               "%s: Content-Type of a %ld is \"%s\", not "
               "application/problem+json",
               r->what, status, r->content_type);
  cr_assert(json_is_object(r->json),
            "%s: problem body is not a JSON object: "
            "%.300s",
            r->what, r->body);
  json_t *st = json_object_get(r->json, "status");
  cr_assert(json_is_integer(st) && json_integer_value(st) == status,
            "%s: problem \"status\" is not the integer %ld: %.300s", r->what,
            status, r->body);
  json_t *c = json_object_get(r->json, "code");
  cr_assert(json_is_string(c) && strcmp(json_string_value(c), code) == 0,
            "%s: expected code %s: %.300s", r->what, code, r->body);
  json_t *title = json_object_get(r->json, "title");
  cr_assert(json_is_string(title) && json_string_length(title) > 0,
            "%s: problem without a title: %.300s", r->what, r->body);
  cr_assert(json_is_string(json_object_get(r->json, "detail")),
            "%s: problem without a detail: %.300s", r->what, r->body);
}

json_int_t it_jint(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  cr_assert(json_is_integer(v), "\"%s\" is not an integer in %s", key,
            obj ? "the reply" : "(no JSON)");
  return json_integer_value(v);
}

const char *it_jstr(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  cr_assert(json_is_string(v), "\"%s\" is not a string in %s", key,
            obj ? "the reply" : "(no JSON)");
  return json_string_value(v);
}

json_t *it_jarr(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  cr_assert(json_is_array(v), "\"%s\" is not an array in %s", key,
            obj ? "the reply" : "(no JSON)");
  return v;
}

size_t it_item_count(const struct it_response *r) {
  cr_assert(json_is_array(json_object_get(r->json, "items")),
            "%s: no \"items\" array: %.300s", r->what, r->body);
  return json_array_size(json_object_get(r->json, "items"));
}

json_t *it_item(const struct it_response *r, size_t i) {
  size_t n = it_item_count(r);
  cr_assert_lt(i, n, "%s: item %zu of %zu", r->what, i, n);
  json_t *item = json_array_get(json_object_get(r->json, "items"), i);
  cr_assert(json_is_object(item), "%s: item %zu is not an object", r->what, i);
  return item;
}
