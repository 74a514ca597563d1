#include "util/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                          0, 0, 0, 0, 0xff, 0xff};

static void set_ipv4(struct bo_netaddr *out, const void *four_bytes) {
  memcpy(out->bytes, mapped_prefix, sizeof mapped_prefix);
  memcpy(out->bytes + 12, four_bytes, 4);
}

bool bo_netaddr_parse(const char *text, size_t len, struct bo_netaddr *out) {
  char buf[BO_NETADDR_TEXT_SIZE];
  if (len == 0 || len >= sizeof buf)
    return false;
  memcpy(buf, text, len);
  buf[len] = '\0';
  struct in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    set_ipv4(out, &v4);
    return true;
  }
  return inet_pton(AF_INET6, buf, out->bytes) == 1;
}

bool bo_netaddr_from_sockaddr(const void *sa, struct bo_netaddr *out) {
  const struct sockaddr *addr = sa;
  if (addr == NULL)
    return false;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in4 = sa;
    set_ipv4(out, &in4->sin_addr);
    return true;
  }
  if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = sa;
    memcpy(out->bytes, &in6->sin6_addr, BO_NETADDR_BYTES);
    return true;
  }
  return false;
}

bool bo_netaddr_is_ipv4(const struct bo_netaddr *addr) {
  return memcmp(addr->bytes, mapped_prefix, sizeof mapped_prefix) == 0;
}

struct bo_netaddr bo_netaddr_client_key(const struct bo_netaddr *addr) {
  struct bo_netaddr key = *addr;
  if (!bo_netaddr_is_ipv4(&key))
    memset(key.bytes + 8, 0, 8);
  return key;
}

void bo_netaddr_format(const struct bo_netaddr *addr,
                       char out[BO_NETADDR_TEXT_SIZE]) {
  const char *ok =
      bo_netaddr_is_ipv4(addr)
          ? inet_ntop(AF_INET, addr->bytes + 12, out, BO_NETADDR_TEXT_SIZE)
          : inet_ntop(AF_INET6, addr->bytes, out, BO_NETADDR_TEXT_SIZE);
  if (ok == NULL)
    out[0] = '\0';
}

/* Whether every bit of `addr` from bit `from` on is zero. */
static bool tail_is_zero(const struct bo_netaddr *addr, int from) {
  for (int bit = from; bit < 8 * BO_NETADDR_BYTES; bit++)
    if (addr->bytes[bit / 8] & (0x80u >> (bit % 8)))
      return false;
  return true;
}

bool bo_netrange_parse(const char *text, size_t len, struct bo_netrange *out) {
  const char *slash = memchr(text, '/', len);
  size_t addr_len = slash ? (size_t)(slash - text) : len;
  if (!bo_netaddr_parse(text, addr_len, &out->base))
    return false;
  int width = bo_netaddr_is_ipv4(&out->base) ? 32 : 128;
  int prefix = width;
  if (slash) {
    const char *digits = slash + 1;
    size_t n = len - addr_len - 1;
    if (n == 0 || n > 3)
      return false;
    prefix = 0;
    for (size_t i = 0; i < n; i++) {
      if (digits[i] < '0' || digits[i] > '9')
        return false;
      prefix = prefix * 10 + (digits[i] - '0');
    }
    if (prefix > width)
      return false;
  }
  out->prefix = prefix + (128 - width);
  return tail_is_zero(&out->base, out->prefix);
}

bool bo_netrange_contains(const struct bo_netrange *range,
                          const struct bo_netaddr *addr) {
  int whole = range->prefix / 8, rest = range->prefix % 8;
  if (memcmp(range->base.bytes, addr->bytes, (size_t)whole) != 0)
    return false;
  if (rest == 0)
    return true;
  uint8_t mask = (uint8_t)(0xffu << (8 - rest));
  return (range->base.bytes[whole] & mask) == (addr->bytes[whole] & mask);
}

static bool is_space(char c) {
  return c == ' ' || c == '\t';
}

int bo_netrange_parse_list(const char *text, struct bo_netrange *out, int max) {
  int count = 0;
  const char *p = text;
  while (is_space(*p))
    p++;
  if (*p == '\0')
    return 0;
  for (;;) {
    size_t len = strcspn(p, ",");
    size_t end = len;
    while (end > 0 && is_space(p[end - 1]))
      end--;
    struct bo_netrange range;
    if (count == max || !bo_netrange_parse(p, end, &range))
      return -1;
    if (out)
      out[count] = range;
    count++;
    if (p[len] == '\0')
      return count;
    p += len + 1;
    while (is_space(*p))
      p++;
  }
}
