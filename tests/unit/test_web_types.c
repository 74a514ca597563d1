/* The web front without a socket: the Content-Type of each extension, and
 * what the handler puts in a reply for a page, for another file and for a
 * path it does not hold. */
#include "api/api.h"
#include "http/reply.h"
#include "http/request.h"

#include <criterion/criterion.h>
#include <string.h>

static void check_type(const char *path, const char *content_type, bool page) {
  const struct bo_web_type *type = bo_web_type_of(path);
  cr_assert_not_null(type, "%s", path);
  cr_assert_str_eq(type->content_type, content_type, "%s", path);
  cr_assert_eq(type->page, page, "%s", path);
}

Test(web_types, each_extension) {
  check_type("/index.html", "text/html; charset=utf-8", true);
  check_type("/old.htm", "text/html; charset=utf-8", true);
  check_type("/style.css", "text/css; charset=utf-8", false);
  check_type("/app.js", "text/javascript; charset=utf-8", false);
  check_type("/module.mjs", "text/javascript; charset=utf-8", false);
  check_type("/data.json", "application/json", false);
  check_type("/assets/x.svg", "image/svg+xml", false);
  check_type("/logo.png", "image/png", false);
  check_type("/favicon.ico", "image/x-icon", false);
  check_type("/fonts/a.woff2", "font/woff2", false);
  check_type("/robots.txt", "text/plain; charset=utf-8", false);
}

Test(web_types, extension_in_any_case) {
  check_type("/INDEX.HTML", "text/html; charset=utf-8", true);
  check_type("/App.Js", "text/javascript; charset=utf-8", false);
}

Test(web_types, only_the_last_extension_of_the_last_segment) {
  check_type("/app.min.js", "text/javascript; charset=utf-8", false);
  check_type("/index.html.bak", "application/octet-stream", false);
  check_type("/v1.2/README", "application/octet-stream", false);
  check_type("/style.css/", "application/octet-stream", false);
}

Test(web_types, unknown_is_octet_stream) {
  check_type("/archive.tar.zst", "application/octet-stream", false);
  check_type("/Makefile", "application/octet-stream", false);
  check_type("/.htaccess", "application/octet-stream", false);
  check_type("/trailing.", "application/octet-stream", false);
  check_type("noslash.css", "text/css; charset=utf-8", false);
}

/* The handler, called as the server calls it once the router matched. */
static void serve(const char *path, struct bo_reply *reply) {
  struct bo_request req = {.method = "GET", .path = path, .route = path};
  bo_api_web_file(NULL, &req, reply);
}

static const char *find_header(const struct bo_reply *reply, const char *name) {
  for (int i = 0; i < reply->header_count; i++)
    if (strcmp(reply->headers[i].name, name) == 0)
      return reply->headers[i].value;
  return NULL;
}

static const struct bo_web_file *embedded(const char *path) {
  for (const struct bo_web_file *f = bo_web_files; f->path; f++)
    if (strcmp(f->path, path) == 0)
      return f;
  return NULL;
}

/* A strong tag: a quoted 32-digit lower-case hex hash, no W/. */
static void check_etag(const char *etag) {
  cr_assert_not_null(etag);
  cr_assert_eq(strlen(etag), 34, "etag %s", etag);
  cr_assert_eq(etag[0], '"');
  cr_assert_eq(etag[33], '"');
  for (int i = 1; i < 33; i++)
    cr_assert(strchr("0123456789abcdef", etag[i]) != NULL, "etag %s", etag);
}

Test(web_handler, root_is_the_index_page) {
  const struct bo_web_file *index = embedded("/index.html");
  cr_assert_not_null(index, "web/index.html is not embedded");
  struct bo_reply root = {0}, named = {0};
  serve("/", &root);
  serve("/index.html", &named);

  cr_assert_eq(root.status, 200);
  cr_assert_str_eq(root.content_type, "text/html; charset=utf-8");
  size_t len = 0;
  const char *body = bo_reply_body(&root, &len);
  cr_assert_eq(body, index->data, "served without a copy");
  cr_assert_eq(len, index->len);
  check_etag(root.etag);
  cr_assert_str_eq(root.etag, named.etag);
  cr_assert_str_eq(find_header(&root, "Cache-Control"), "no-cache");
  cr_assert_str_eq(find_header(&root, "X-Content-Type-Options"), "nosniff");
  cr_assert_str_eq(find_header(&root, "Referrer-Policy"), "no-referrer");
  cr_assert_str_eq(find_header(&root, "Content-Security-Policy"),
                   "default-src 'self'; connect-src 'self'; img-src 'self' "
                   "data:; style-src 'self'; script-src 'self'; "
                   "frame-ancestors 'none'");
  bo_reply_clear(&root);
  bo_reply_clear(&named);
}

Test(web_handler, every_file_has_its_type_and_cache_policy) {
  for (const struct bo_web_file *f = bo_web_files; f->path; f++) {
    struct bo_reply reply = {0};
    serve(f->path, &reply);
    const struct bo_web_type *type = bo_web_type_of(f->path);
    cr_assert_eq(reply.status, 200, "%s", f->path);
    cr_assert_str_eq(reply.content_type, type->content_type, "%s", f->path);
    check_etag(reply.etag);
    cr_assert_str_eq(find_header(&reply, "Cache-Control"),
                     type->page ? "no-cache" : "public, max-age=300", "%s",
                     f->path);
    cr_assert_eq(find_header(&reply, "Content-Security-Policy") != NULL,
                 type->page, "%s", f->path);
    bo_reply_clear(&reply);
  }
}

Test(web_handler, tags_differ_between_files) {
  for (const struct bo_web_file *a = bo_web_files; a->path; a++)
    for (const struct bo_web_file *b = a + 1; b->path; b++) {
      if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0)
        continue; /* the same bytes may well share a tag */
      struct bo_reply ra = {0}, rb = {0};
      serve(a->path, &ra);
      serve(b->path, &rb);
      cr_assert_str_neq(ra.etag, rb.etag, "%s and %s", a->path, b->path);
      bo_reply_clear(&ra);
      bo_reply_clear(&rb);
    }
}

Test(web_handler, a_path_it_does_not_hold_is_404) {
  struct bo_reply reply = {0};
  serve("/no-such-file.js", &reply);
  cr_assert_eq(reply.status, 404);
  cr_assert_eq(reply.error, BO_ERR_NOT_FOUND);
  cr_assert_null(reply.etag);
  cr_assert_eq(reply.header_count, 0);
  bo_reply_clear(&reply);
}
