/* The BOXOFFICE_QUEUE URL of the Redis driver:
 *
 *   redis://[[user]:password@]host[:port][/db]
 *
 * host is a name, an IPv4 address or an [IPv6] address; port defaults to
 * 6379 and db to 0. user and password may be percent-encoded (a password
 * with '@' or '/' in it). Nothing else is accepted: a query string or a
 * path that is not a number is a mistake worth stopping for. No error
 * message repeats any part of the URL, which may carry a password. */
#include "queue/redis_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bo_redisq_url_fail(char *error, size_t error_size,
                              const char *reason) {
  snprintf(error, error_size, "redis queue: %s in BOXOFFICE_QUEUE", reason);
  return -1;
}

static int bo_redisq_hex(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* A NUL-terminated, percent-decoded copy of s[0..len), or NULL if an
 * escape is malformed or decodes to NUL (or memory ran out). */
static char *bo_redisq_decode(const char *s, size_t len) {
  char *out = malloc(len + 1);
  if (out == NULL)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '%') {
      out[n++] = s[i];
      continue;
    }
    int hi = i + 2 < len ? bo_redisq_hex((unsigned char)s[i + 1]) : -1;
    int lo = hi >= 0 ? bo_redisq_hex((unsigned char)s[i + 2]) : -1;
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      free(out);
      return NULL;
    }
    out[n++] = (char)(hi * 16 + lo);
    i += 2;
  }
  out[n] = '\0';
  return out;
}

/* A decimal number in [min, max] spanning exactly s[0..len). */
static int bo_redisq_number(const char *s, size_t len, long min, long max,
                            int *out) {
  if (len == 0 || len > 9)
    return -1;
  long value = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    value = value * 10 + (s[i] - '0');
  }
  if (value < min || value > max)
    return -1;
  *out = (int)value;
  return 0;
}

int bo_redisq_url_parse(const char *url, struct bo_redisq_url *out, char *error,
                        size_t error_size) {
  static const char scheme[] = "redis://";
  *out = (struct bo_redisq_url){.port = 6379};
  if (strncmp(url, "rediss://", 9) == 0)
    return bo_redisq_url_fail(error, error_size,
                              "rediss:// (TLS) is not supported by this build; "
                              "use redis:// over a private network or a TLS "
                              "tunnel");
  if (strncmp(url, scheme, sizeof scheme - 1) != 0)
    return bo_redisq_url_fail(error, error_size, "no redis:// scheme");
  const char *p = url + sizeof scheme - 1;
  const char *end = p + strcspn(p, "/");
  if (strpbrk(p, "?#") != NULL)
    return bo_redisq_url_fail(error, error_size,
                              "a query or fragment (not supported)");

  /* userinfo: the part before the last '@' of the authority. */
  const char *at = NULL;
  for (const char *c = p; c < end; c++)
    if (*c == '@')
      at = c;
  if (at != NULL) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (colon == NULL) {
      /* "redis://secret@host": the usual meaning is a bare password. */
      colon = p - 1;
    } else if (colon > p) {
      out->user = bo_redisq_decode(p, (size_t)(colon - p));
      if (out->user == NULL)
        goto bad_userinfo;
    }
    out->password = bo_redisq_decode(colon + 1, (size_t)(at - colon - 1));
    if (out->password == NULL)
      goto bad_userinfo;
    if (out->password[0] == '\0') {
      free(out->password);
      out->password = NULL;
    }
    p = at + 1;
  }

  /* host[:port] */
  const char *host_end;
  const char *port_start = NULL;
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (close == NULL)
      goto bad_host;
    if (close + 1 < end) {
      if (close[1] != ':')
        goto bad_host;
      port_start = close + 2;
    }
    p++;
    host_end = close;
  } else {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    host_end = colon != NULL ? colon : end;
    if (colon != NULL)
      port_start = colon + 1;
  }
  size_t host_len = (size_t)(host_end - p);
  if (host_len == 0 || host_len >= sizeof out->host)
    goto bad_host;
  for (size_t i = 0; i < host_len; i++)
    if (!isalnum((unsigned char)p[i]) && strchr(".-_:%", p[i]) == NULL)
      goto bad_host;
  memcpy(out->host, p, host_len);
  out->host[host_len] = '\0';
  if (port_start != NULL &&
      bo_redisq_number(port_start, (size_t)(end - port_start), 1, 65535,
                       &out->port) != 0) {
    bo_redisq_url_free(out);
    return bo_redisq_url_fail(error, error_size,
                              "the Redis port is not a number in 1..65535");
  }

  /* [/db] */
  if (*end == '/' && end[1] != '\0' &&
      bo_redisq_number(end + 1, strlen(end + 1), 0, 100000, &out->db) != 0) {
    bo_redisq_url_free(out);
    return bo_redisq_url_fail(error, error_size,
                              "the part after the host is not a database "
                              "number");
  }
  return 0;

bad_userinfo:
  bo_redisq_url_free(out);
  return bo_redisq_url_fail(error, error_size,
                            "a malformed user or password (percent-encode "
                            "'%', '@', ':' and '/')");
bad_host:
  bo_redisq_url_free(out);
  return bo_redisq_url_fail(error, error_size, "no valid Redis host");
}

void bo_redisq_url_free(struct bo_redisq_url *url) {
  if (url->password != NULL) /* not left behind in freed memory */
    sodium_memzero(url->password, strlen(url->password));
  free(url->password);
  free(url->user);
  url->password = NULL;
  url->user = NULL;
}
