#include "http/client_addr.h"

#include <string.h>

static bool is_trusted(const struct bo_netaddr *addr,
                       const struct bo_netrange *trusted, int count) {
  for (int i = 0; i < count; i++)
    if (bo_netrange_contains(&trusted[i], addr))
      return true;
  return false;
}

/* One X-Forwarded-For entry: an address, perhaps with a port as some
 * proxies write it ("203.0.113.9:4711", "[2001:db8::1]:4711"). */
static bool parse_entry(const char *p, size_t len, struct bo_netaddr *out) {
  while (len > 0 && (*p == ' ' || *p == '\t')) {
    p++;
    len--;
  }
  while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
    len--;
  if (len > 0 && p[0] == '[') {
    const char *close = memchr(p, ']', len);
    if (close == NULL)
      return false;
    return bo_netaddr_parse(p + 1, (size_t)(close - p - 1), out);
  }
  const char *colon = memchr(p, ':', len);
  if (colon && memchr(colon + 1, ':', len - (size_t)(colon - p) - 1) == NULL)
    len = (size_t)(colon - p); /* one colon: IPv4 with a port */
  return bo_netaddr_parse(p, len, out);
}

void bo_client_addr_resolve(const struct bo_netaddr *peer,
                            const char *const *forwarded, size_t n,
                            const struct bo_netrange *trusted,
                            int trusted_count, struct bo_netaddr *out) {
  struct bo_netaddr hop = *peer;
  for (size_t v = n; v-- > 0;) {
    const char *value = forwarded[v];
    size_t end = strlen(value);
    /* Entries of this header line, right to left. */
    for (;;) {
      if (!is_trusted(&hop, trusted, trusted_count))
        goto done;
      size_t start = end;
      while (start > 0 && value[start - 1] != ',')
        start--;
      struct bo_netaddr next;
      if (!parse_entry(value + start, end - start, &next))
        goto done;
      hop = next;
      if (start == 0)
        break;
      end = start - 1;
    }
  }
done:
  *out = hop;
}
