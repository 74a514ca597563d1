/* If-None-Match: which header values name an entity tag, and how a 200
 * becomes a 304 (http/conditional.c). */
#include "http/conditional.h"
#include "http/reply.h"

#include <criterion/criterion.h>

#define TAG "\"0123abcd\""

Test(web_conditional, listed_tags) {
  cr_assert(bo_conditional_etag_listed(TAG, TAG));
  cr_assert(bo_conditional_etag_listed("W/" TAG, TAG), "weak comparison");
  cr_assert(bo_conditional_etag_listed("\"x\", " TAG, TAG));
  cr_assert(bo_conditional_etag_listed("\"x\",W/" TAG ",\"y\"", TAG));
  cr_assert(bo_conditional_etag_listed(" ,\t" TAG " , ", TAG));
  cr_assert(bo_conditional_etag_listed("*", TAG));
  cr_assert(bo_conditional_etag_listed("\"a,b\", " TAG, TAG),
            "a comma inside a tag does not split it");
}

Test(web_conditional, unlisted_or_malformed_tags) {
  cr_assert_not(bo_conditional_etag_listed(NULL, TAG));
  cr_assert_not(bo_conditional_etag_listed("", TAG));
  cr_assert_not(bo_conditional_etag_listed("\"x\"", TAG));
  cr_assert_not(bo_conditional_etag_listed("\"0123abc\"", TAG), "a prefix");
  cr_assert_not(bo_conditional_etag_listed("\"0123abcde\"", TAG));
  cr_assert_not(bo_conditional_etag_listed("0123abcd", TAG), "no quotes");
  cr_assert_not(bo_conditional_etag_listed("\"0123abcd", TAG), "unclosed");
  cr_assert_not(bo_conditional_etag_listed("\"a," TAG, TAG),
                "the tag is inside an unclosed one");
  cr_assert_not(bo_conditional_etag_listed(TAG, NULL));
  cr_assert(bo_conditional_etag_listed("junk, " TAG, TAG),
            "a bad element does not hide the good one after it");
}

static const char body[] = "<!doctype html>";

static void reply_with_tag(struct bo_reply *reply) {
  bo_reply_static(reply, 200, "text/html; charset=utf-8", body,
                  sizeof body - 1);
  reply->etag = TAG;
  bo_reply_header(reply, "Cache-Control", "no-cache");
}

Test(web_conditional, matching_get_and_head_become_304) {
  const char *methods[] = {"GET", "HEAD"};
  for (int i = 0; i < 2; i++) {
    struct bo_reply reply = {0};
    reply_with_tag(&reply);
    bo_conditional_apply(&reply, methods[i], TAG);
    cr_assert_eq(reply.status, 304, "%s", methods[i]);
    cr_assert_null(reply.content_type);
    cr_assert_str_eq(reply.etag, TAG);
    cr_assert_eq(reply.header_count, 1, "Cache-Control stays");
    /* Kept for its Content-Length; libmicrohttpd sends no body on a 304. */
    size_t len = 0;
    cr_assert_eq(bo_reply_body(&reply, &len), body);
    cr_assert_eq(len, sizeof body - 1);
    bo_reply_clear(&reply);
  }
}

Test(web_conditional, left_alone_otherwise) {
  struct bo_reply reply = {0};
  reply_with_tag(&reply);
  bo_conditional_apply(&reply, "GET", "\"other\"");
  cr_assert_eq(reply.status, 200);
  bo_conditional_apply(&reply, "GET", NULL);
  cr_assert_eq(reply.status, 200);
  bo_conditional_apply(&reply, "POST", TAG);
  cr_assert_eq(reply.status, 200, "only GET and HEAD");
  cr_assert_str_eq(reply.content_type, "text/html; charset=utf-8");

  reply.etag = NULL;
  bo_conditional_apply(&reply, "GET", "*");
  cr_assert_eq(reply.status, 200, "no ETag, nothing to compare");

  bo_reply_error(&reply, BO_ERR_NOT_FOUND, "gone");
  reply.etag = TAG;
  bo_conditional_apply(&reply, "GET", TAG);
  cr_assert_eq(reply.status, 404, "only a 200");
  bo_reply_clear(&reply);
}
