/* If-None-Match, read by the grammar of RFC 9110 section 8.8.3:
 *
 *   If-None-Match = "*" / #entity-tag
 *   entity-tag    = [ "W/" ] DQUOTE *etagc DQUOTE
 *
 * A comma may sit inside the quotes, so the list is walked tag by tag
 * rather than split on commas. Whatever does not parse (a bare word, a tag
 * without its closing quote) names nothing: the client then gets the whole
 * file, which is always a correct answer. */
#include "http/conditional.h"

#include <string.h>

/* Skips optional white space and empty list elements. */
static const char *skip_separators(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == ',')
    p++;
  return p;
}

bool bo_conditional_etag_listed(const char *if_none_match, const char *etag) {
  if (if_none_match == NULL || etag == NULL)
    return false;
  size_t etag_len = strlen(etag);
  const char *p = skip_separators(if_none_match);
  while (*p != '\0') {
    if (*p == '*')
      return true;
    if (p[0] == 'W' && p[1] == '/')
      p += 2;
    if (*p != '"') {
      p += strcspn(p, ","); /* not a tag: on to the next element */
      p = skip_separators(p);
      continue;
    }
    const char *close = strchr(p + 1, '"');
    if (close == NULL)
      return false;
    size_t len = (size_t)(close - p) + 1;
    if (len == etag_len && memcmp(p, etag, len) == 0)
      return true;
    p = skip_separators(close + 1);
  }
  return false;
}

void bo_conditional_apply(struct bo_reply *reply, const char *method,
                          const char *if_none_match) {
  if (reply->status != 200 || reply->etag == NULL || method == NULL)
    return;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return;
  if (!bo_conditional_etag_listed(if_none_match, reply->etag))
    return;
  /* The body stays in the reply: libmicrohttpd never sends the body of a
   * 304 (as for HEAD), but takes its Content-Length from it, and section
   * 8.6 allows a Content-Length in a 304 only when it is the 200's. A
   * Content-Type is representation metadata that a 304 should not carry
   * (section 15.4.5). */
  reply->content_type = NULL;
  reply->status = 304;
}
