/* Conditional requests (RFC 9110, section 13): a client that already holds
 * a representation sends its entity tag in If-None-Match, and when the tag
 * is still the current one the answer is 304 with no body. Only GET and
 * HEAD are made conditional, and only replies that carry an ETag. */
#ifndef BO_HTTP_CONDITIONAL_H
#define BO_HTTP_CONDITIONAL_H

#include "http/reply.h"

#include <stdbool.h>

/* Whether the If-None-Match value (a comma-separated list of entity tags,
 * or "*"; NULL when the header is absent) names `etag` (quotes included).
 * Weak comparison, as section 13.1.2 asks: W/"x" names "x". */
bool bo_conditional_etag_listed(const char *if_none_match, const char *etag);

/* Turns a 200 reply with an ETag into a 304 when `method` is GET or HEAD
 * and `if_none_match` names the tag. It keeps its body, which is not sent
 * (see conditional.c), and drops its Content-Type; the ETag and the other
 * headers (Cache-Control) stay, as a 304 must carry them. */
void bo_conditional_apply(struct bo_reply *reply, const char *method,
                          const char *if_none_match);

#endif
