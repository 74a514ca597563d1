/* The load generator's HTTP client: one libcurl easy handle per thread,
 * one call per request, and a classification of what came back that the
 * retry logic can act on (was the request surely not executed, maybe
 * executed, or answered). */
#ifndef SOAK_HTTP_H
#define SOAK_HTTP_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

/* What happened on the wire. */
enum soak_net {
  SOAK_NET_OK,      /* an HTTP answer came back (any status) */
  SOAK_NET_REFUSED, /* could not connect: most likely never executed */
  SOAK_NET_TIMEOUT, /* no answer in time: maybe executed */
  SOAK_NET_LOST,    /* connection broke mid-request: maybe executed */
};

struct soak_req {
  const char *method; /* "GET" when NULL */
  const char *base;   /* http://127.0.0.1:PORT */
  const char *path;
  const char *body; /* JSON, or NULL */
  const char *token;
  const char *idem_key;
  const char *request_id;
  long timeout_ms; /* 0: the default (8 s) */
};

struct soak_resp {
  enum soak_net net;
  long status;    /* 0 unless net == SOAK_NET_OK */
  json_t *json;   /* parsed body, or NULL */
  char code[48];  /* problem+json "code", or "" */
  char label[64]; /* "201", "409:SEAT_UNAVAILABLE", "net:timeout", ... */
};

void soak_http(CURL *curl, const struct soak_req *req, struct soak_resp *resp);
void soak_resp_free(struct soak_resp *resp);

/* An answer that says nothing about whether the request took effect: a
 * network failure or any 5xx (the server or haproxy gave up; a 503 from a
 * lost COMMIT may still have committed). */
bool soak_uncertain(const struct soak_resp *resp);

/* Integer / string field of the JSON body, or the fallback. */
long long soak_jint(const struct soak_resp *resp, const char *key,
                    long long fallback);
const char *soak_jstr(const struct soak_resp *resp, const char *key);

#endif
