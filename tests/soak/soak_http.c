#include "soak_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
  char *data;
  size_t len, cap;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  struct sink *sink = userdata;
  size_t n = size * nmemb;
  if (sink->len + n + 1 > sink->cap) {
    size_t cap = sink->cap ? sink->cap : 4096;
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

static struct curl_slist *header(struct curl_slist *list, const char *name,
                                 const char *value) {
  char line[512];
  snprintf(line, sizeof line, "%s: %s", name, value);
  return curl_slist_append(list, line);
}

void soak_resp_free(struct soak_resp *resp) {
  json_decref(resp->json);
  memset(resp, 0, sizeof *resp);
}

void soak_http(CURL *curl, const struct soak_req *req, struct soak_resp *resp) {
  soak_resp_free(resp);
  const char *method = req->method ? req->method : "GET";
  char url[512];
  snprintf(url, sizeof url, "%s%s", req->base, req->path);

  curl_easy_reset(curl); /* keeps the handle's live connections */
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   req->timeout_ms ? req->timeout_ms : 8000L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  struct sink sink = {0};
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);

  struct curl_slist *headers = NULL;
  if (req->body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
    headers = curl_slist_append(headers, "Content-Type: application/json");
  }
  if (strcmp(method, "GET") == 0)
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  else if (strcmp(method, "POST") != 0)
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  else if (!req->body)
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  if (req->token) {
    char bearer[300];
    snprintf(bearer, sizeof bearer, "Bearer %s", req->token);
    headers = header(headers, "Authorization", bearer);
  }
  if (req->idem_key)
    headers = header(headers, "Idempotency-Key", req->idem_key);
  if (req->request_id)
    headers = header(headers, "X-Request-Id", req->request_id);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc == CURLE_OK) {
    resp->net = SOAK_NET_OK;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (sink.len)
      resp->json = json_loadb(sink.data, sink.len, 0, NULL);
    json_t *code = json_object_get(resp->json, "code");
    if (resp->status >= 400 && json_is_string(code))
      snprintf(resp->code, sizeof resp->code, "%s", json_string_value(code));
    if (resp->code[0])
      snprintf(resp->label, sizeof resp->label, "%ld:%s", resp->status,
               resp->code);
    else
      snprintf(resp->label, sizeof resp->label, "%ld", resp->status);
  } else if (rc == CURLE_COULDNT_CONNECT) {
    resp->net = SOAK_NET_REFUSED;
    snprintf(resp->label, sizeof resp->label, "net:refused");
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    resp->net = SOAK_NET_TIMEOUT;
    snprintf(resp->label, sizeof resp->label, "net:timeout");
  } else {
    resp->net = SOAK_NET_LOST;
    snprintf(resp->label, sizeof resp->label, "net:lost");
  }
  free(sink.data);
}

bool soak_uncertain(const struct soak_resp *resp) {
  return resp->net != SOAK_NET_OK || resp->status >= 500;
}

long long soak_jint(const struct soak_resp *resp, const char *key,
                    long long fallback) {
  json_t *v = json_object_get(resp->json, key);
  return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

const char *soak_jstr(const struct soak_resp *resp, const char *key) {
  json_t *v = json_object_get(resp->json, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}
