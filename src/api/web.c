/* The web front: GET / and GET /<file> for each file of web/, embedded in
 * the binary at build time (cmake/embed_web.cmake), which also writes the
 * routes (see routes.c). HEAD takes the same routes; libmicrohttpd sends
 * the headers of the GET and leaves the body out.
 *
 * Caching. Every file carries a strong ETag, a hash of its bytes made at
 * build time (cmake/embed_web.cmake: SHA-256, first 128 bits),
 * so a browser that holds a copy asks with If-None-Match and gets a 304
 * without the body (http/conditional.c). HTML pages are "Cache-Control:
 * no-cache": kept, but revalidated on every load, so a new release shows at
 * once. The other files (CSS, JavaScript, images) are "public,
 * max-age=300": used for five minutes without asking. The trade-off: the
 * names carry no fingerprint, so for up to five minutes after a release a
 * browser may show the new page with the old CSS or script; in exchange a
 * page load costs one round trip, not one per file. Fingerprinted names
 * (app.3f2a9c.js, cached for a year) would close that window at the price
 * of a build step for the front.
 * The tags are constants of the build, so this file keeps no state. */
#include "api/api.h"
#include "web_paths.h" /* generated: BO_WEB_FILE_COUNT */

#include <string.h>
#include <strings.h>

#define INDEX_PATH "/index.html"

/* script-src and style-src 'self': no inline script or style, so an
 * injected <script> runs nowhere; connect-src 'self' keeps the API calls
 * and the event stream on this origin; frame-ancestors 'none': no page of
 * another site can frame ours (clickjacking). */
static const char page_csp[] =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'";

static const struct {
  const char *extension;
  struct bo_web_type type;
} types[] = {
    {"html", {"text/html; charset=utf-8", true}},
    {"htm", {"text/html; charset=utf-8", true}},
    {"css", {"text/css; charset=utf-8", false}},
    {"js", {"text/javascript; charset=utf-8", false}},
    {"mjs", {"text/javascript; charset=utf-8", false}},
    {"json", {"application/json", false}},
    {"webmanifest", {"application/manifest+json", false}},
    {"svg", {"image/svg+xml", false}},
    {"png", {"image/png", false}},
    {"jpg", {"image/jpeg", false}},
    {"jpeg", {"image/jpeg", false}},
    {"webp", {"image/webp", false}},
    {"ico", {"image/x-icon", false}},
    {"woff2", {"font/woff2", false}},
    {"woff", {"font/woff", false}},
    {"txt", {"text/plain; charset=utf-8", false}},
};

/* With nosniff, a browser downloads such a file rather than guess. */
static const struct bo_web_type unknown_type = {"application/octet-stream",
                                                false};

const struct bo_web_type *bo_web_type_of(const char *path) {
  const char *name = strrchr(path, '/');
  name = name ? name + 1 : path;
  const char *dot = strrchr(name, '.');
  if (dot == NULL || dot == name)
    return &unknown_type; /* "Makefile", ".hidden" */
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcasecmp(dot + 1, types[i].extension) == 0)
      return &types[i].type;
  return &unknown_type;
}

/* Index into bo_web_files, or BO_WEB_FILE_COUNT. A linear scan, like the
 * router's: the front is a handful of files. */
static size_t find_file(const char *path) {
  size_t i = 0;
  while (i < BO_WEB_FILE_COUNT && strcmp(bo_web_files[i].path, path) != 0)
    i++;
  return i;
}

void bo_api_web_file(struct bo_app *app, const struct bo_request *req,
                     struct bo_reply *reply) {
  (void)app;
  const char *path = strcmp(req->path, "/") == 0 ? INDEX_PATH : req->path;
  size_t i = find_file(path);
  if (i == BO_WEB_FILE_COUNT) {
    /* Only "/" when web/ has no index.html: the other routes exist
     * because their files do. */
    bo_reply_error(reply, BO_ERR_NOT_FOUND, "no resource at '%s'", req->path);
    return;
  }
  const struct bo_web_file *file = &bo_web_files[i];
  const struct bo_web_type *type = bo_web_type_of(file->path);
  bo_reply_static(reply, 200, type->content_type, file->data, file->len);
  reply->etag = file->etag;
  bo_reply_header(reply, "X-Content-Type-Options", "nosniff");
  if (type->page) {
    bo_reply_header(reply, "Cache-Control", "no-cache");
    bo_reply_header(reply, "Content-Security-Policy", page_csp);
    bo_reply_header(reply, "Referrer-Policy", "no-referrer");
  } else {
    bo_reply_header(reply, "Cache-Control", "public, max-age=300");
  }
}
