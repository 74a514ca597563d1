#include "target.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool resolve_ipv4(const char *host, struct in_addr *out) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *found = NULL;
  int rc = getaddrinfo(host, NULL, &hints, &found);
  if (rc != 0) {
    fprintf(stderr, "bo_load: cannot resolve %s: %s\n", host, gai_strerror(rc));
    return false;
  }
  *out = ((const struct sockaddr_in *)found->ai_addr)->sin_addr;
  freeaddrinfo(found);
  return true;
}

bool bo_load_target_parse(const char *url, struct bo_load_target *out) {
  static const char scheme[] = "http://";
  memset(out, 0, sizeof *out);
  if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
    fprintf(stderr, "bo_load: --url must start with http:// (got %s)\n", url);
    return false;
  }
  const char *host = url + sizeof scheme - 1;
  size_t authority_len = strcspn(host, "/");
  if (host[authority_len] == '/' && host[authority_len + 1] != '\0') {
    fprintf(stderr, "bo_load: --url takes no path (got %s)\n", url);
    return false;
  }
  if (authority_len == 0 || authority_len >= sizeof out->host_header) {
    fprintf(stderr, "bo_load: --url has no usable host (got %s)\n", url);
    return false;
  }
  memcpy(out->host_header, host, authority_len);
  out->host_header[authority_len] = '\0';

  char name[sizeof out->host_header];
  memcpy(name, out->host_header, authority_len + 1);
  long port = 80;
  char *colon = strchr(name, ':');
  if (colon) {
    char *end = NULL;
    *colon = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 1 || port > 65535) {
      fprintf(stderr, "bo_load: bad port in --url %s\n", url);
      return false;
    }
  }
  out->addr.sin_family = AF_INET;
  out->addr.sin_port = htons((uint16_t)port);
  return resolve_ipv4(name, &out->addr.sin_addr);
}

bool bo_load_target_reachable(const struct bo_load_target *t, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  bool open = false;
  if (connect(fd, (const struct sockaddr *)&t->addr, sizeof t->addr) == 0) {
    open = true;
  } else if (errno == EINPROGRESS) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    open = poll(&p, 1, timeout_ms) == 1 &&
           getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  close(fd);
  return open;
}
