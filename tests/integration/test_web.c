/* The web front, served by the real binary: "/" is web/index.html with a
 * page's headers, every file of web/ (as found on disk now) comes back byte
 * for byte with its Content-Type and cache policy, also to HEAD, an ETag
 * revalidates to a 304 that carries no body, unknown files are 404
 * problem+json, and the API's own 404 and 405 are what they were. */
#include "support/harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

TestSuite(web, .init = it_setup, .fini = it_teardown);

#define PAGE_CSP                                                               \
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; "             \
  "style-src 'self'; script-src 'self'; frame-ancestors 'none'"

/* ---- one request, headers kept ------------------------------------------ */

struct fetched {
  long status;
  char *body; /* owned, NUL-terminated */
  size_t body_len;
  char headers[8192]; /* the header block as received */
  size_t headers_len;
};

static size_t on_body(char *data, size_t size, size_t n, void *cls) {
  struct fetched *f = cls;
  char *grown = realloc(f->body, f->body_len + size * n + 1);
  if (grown == NULL)
    return 0;
  memcpy(grown + f->body_len, data, size * n);
  f->body = grown;
  f->body_len += size * n;
  f->body[f->body_len] = '\0';
  return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *cls) {
  struct fetched *f = cls;
  size_t len = size * n;
  if (len >= sizeof f->headers - f->headers_len)
    return 0;
  memcpy(f->headers + f->headers_len, data, len);
  f->headers_len += len;
  f->headers[f->headers_len] = '\0';
  return len;
}

/* GET or HEAD of `path`, with If-None-Match when `if_none_match` is set. */
static void fetch(const struct it_server *s, const char *method,
                  const char *path, const char *if_none_match,
                  struct fetched *f) {
  memset(f, 0, sizeof *f);
  CURL *curl = curl_easy_init();
  cr_assert_not_null(curl);
  char url[512];
  snprintf(url, sizeof url, "%s%s", s->base_url, path);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, f);
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  struct curl_slist *headers = NULL;
  char line[256];
  if (if_none_match) {
    snprintf(line, sizeof line, "If-None-Match: %s", if_none_match);
    headers = curl_slist_append(headers, line);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f->status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
  if (f->body == NULL)
    f->body = calloc(1, 1);
}

static void fetched_free(struct fetched *f) {
  free(f->body);
  f->body = NULL;
}

/* The value of header `name` (first of them), or NULL; `out` holds it. */
static const char *header(const struct fetched *f, const char *name, char *out,
                          size_t size) {
  size_t name_len = strlen(name);
  for (const char *p = f->headers; *p;) {
    const char *end = strstr(p, "\r\n");
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > name_len && p[name_len] == ':' &&
        strncasecmp(p, name, name_len) == 0) {
      const char *v = p + name_len + 1;
      while (*v == ' ')
        v++;
      snprintf(out, size, "%.*s", (int)(len - (size_t)(v - p)), v);
      return out;
    }
    p += len + (end ? 2 : 0);
  }
  return NULL;
}

static void assert_header(const struct fetched *f, const char *what,
                          const char *name, const char *expected) {
  char value[512];
  const char *got = header(f, name, value, sizeof value);
  cr_assert_not_null(got, "%s: no %s header in:\n%s", what, name, f->headers);
  cr_assert_str_eq(got, expected, "%s: %s", what, name);
}

static void assert_no_header(const struct fetched *f, const char *what,
                             const char *name) {
  char value[512];
  cr_assert_null(header(f, name, value, sizeof value), "%s: %s: %s", what, name,
                 value);
}

/* ---- what web/ holds ---------------------------------------------------- */

/* The Content-Type each extension must get, written out again here so
 * that the test does not trust the table it checks. */
static const char *expected_type(const char *path) {
  static const char *const types[][2] = {
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"json", "application/json"},
      {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},
      {"ico", "image/x-icon"},
      {"woff2", "font/woff2"},
      {"woff", "font/woff"},
      {"txt", "text/plain; charset=utf-8"},
  };
  const char *name = strrchr(path, '/') + 1;
  const char *dot = strrchr(name, '.');
  for (size_t i = 0; dot && dot != name && i < sizeof types / sizeof *types;
       i++)
    if (strcasecmp(dot + 1, types[i][0]) == 0)
      return types[i][1];
  return "application/octet-stream";
}

static bool is_page(const char *path) {
  return strncmp(expected_type(path), "text/html", 9) == 0;
}

/* What cmake/embed_web.cmake embeds: no hidden names, no Markdown (notes
 * for the front's developers), and names only of A-Z a-z 0-9 . _ - (it
 * warns about and leaves out the others). */
static bool embeddable(const char *name) {
  size_t len = strlen(name);
  if (name[0] == '.' || (len >= 3 && strcmp(name + len - 3, ".md") == 0))
    return false;
  for (const char *p = name; *p; p++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                "0123456789._-",
                *p))
      return false;
  return true;
}

static char *read_file(const char *path, size_t *len) {
  FILE *in = fopen(path, "rb");
  cr_assert_not_null(in, "cannot open %s", path);
  char *data = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap) {
      cap = cap ? cap * 2 : 4096;
      data = realloc(data, cap);
      cr_assert_not_null(data);
    }
    size_t n = fread(data + *len, 1, cap - *len, in);
    if (n == 0)
      break;
    *len += n;
  }
  fclose(in);
  return data;
}

struct web_file {
  char path[256]; /* as in a URL: "/assets/x.svg" */
  char disk[512];
};

struct web_files {
  struct web_file items[256];
  size_t count;
};

static void collect(const char *dir, const char *url_prefix,
                    struct web_files *out) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "cannot open %s", dir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!embeddable(e->d_name))
      continue; /* ".", "..", hidden, odd names */
    char disk[512], url[256];
    int disk_len = snprintf(disk, sizeof disk, "%s/%s", dir, e->d_name);
    int url_len = snprintf(url, sizeof url, "%s/%s", url_prefix, e->d_name);
    cr_assert(disk_len > 0 && (size_t)disk_len < sizeof disk && url_len > 0 &&
                  (size_t)url_len < sizeof url,
              "path too long under %s", dir);
    struct stat st;
    cr_assert_eq(stat(disk, &st), 0, "%s", disk);
    if (S_ISDIR(st.st_mode)) {
      collect(disk, url, out);
    } else if (S_ISREG(st.st_mode)) {
      cr_assert_lt(out->count, sizeof out->items / sizeof *out->items);
      struct web_file *f = &out->items[out->count++];
      snprintf(f->path, sizeof f->path, "%s", url);
      snprintf(f->disk, sizeof f->disk, "%s", disk);
    }
  }
  closedir(d);
}

static void web_files_on_disk(struct web_files *out) {
  const char *src = getenv("BOXOFFICE_SOURCE_DIR");
  cr_assert_not_null(src, "BOXOFFICE_SOURCE_DIR is not set (ctest sets it)");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/web", src);
  out->count = 0;
  collect(dir, "", out);
  cr_assert_gt(out->count, 0, "web/ holds no file to serve");
}

/* A strong entity tag: quoted, no W/. */
static void assert_strong_etag(const struct fetched *f, const char *what,
                               char *etag, size_t size) {
  cr_assert_not_null(header(f, "ETag", etag, size), "%s: no ETag", what);
  size_t len = strlen(etag);
  cr_assert(len > 2 && etag[0] == '"' && etag[len - 1] == '"',
            "%s: ETag %s is not a strong tag", what, etag);
}

/* ---- tests -------------------------------------------------------------- */

Test(web, root_is_the_index_page, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  const char *src = getenv("BOXOFFICE_SOURCE_DIR");
  cr_assert_not_null(src);
  char path[512];
  snprintf(path, sizeof path, "%s/web/index.html", src);
  size_t len;
  char *index = read_file(path, &len);

  struct fetched root, named;
  fetch(s, "GET", "/", NULL, &root);
  fetch(s, "GET", "/index.html", NULL, &named);
  cr_assert_eq(root.status, 200, "GET /: %ld", root.status);
  cr_assert_eq(root.body_len, len, "GET / is not web/index.html");
  cr_assert_eq(memcmp(root.body, index, len), 0, "GET / is not web/index.html");
  assert_header(&root, "GET /", "Content-Type", "text/html; charset=utf-8");
  assert_header(&root, "GET /", "X-Content-Type-Options", "nosniff");
  assert_header(&root, "GET /", "Cache-Control", "no-cache");
  assert_header(&root, "GET /", "Content-Security-Policy", PAGE_CSP);
  assert_header(&root, "GET /", "Referrer-Policy", "no-referrer");

  char root_tag[128], named_tag[128];
  assert_strong_etag(&root, "GET /", root_tag, sizeof root_tag);
  assert_strong_etag(&named, "GET /index.html", named_tag, sizeof named_tag);
  cr_assert_str_eq(root_tag, named_tag, "/ and /index.html are one file");
  fetched_free(&root);
  fetched_free(&named);
  free(index);
}

/* Each file of web/: GET gives its bytes with its type and cache policy,
 * HEAD the same headers and no body. */
Test(web, every_file_with_its_type, .timeout = 120) {
  struct it_server *s = it_server_start(NULL);
  struct web_files *files = calloc(1, sizeof *files);
  cr_assert_not_null(files);
  web_files_on_disk(files);
  for (size_t i = 0; i < files->count; i++) {
    const struct web_file *wf = &files->items[i];
    size_t len;
    char *bytes = read_file(wf->disk, &len);
    const char *type = expected_type(wf->path);
    bool page = is_page(wf->path);

    struct fetched get, head;
    fetch(s, "GET", wf->path, NULL, &get);
    cr_assert_eq(get.status, 200, "GET %s: %ld", wf->path, get.status);
    cr_assert_eq(get.body_len, len, "GET %s: %zu bytes, the file has %zu",
                 wf->path, get.body_len, len);
    cr_assert_eq(memcmp(get.body, bytes, len), 0, "GET %s: other bytes",
                 wf->path);
    assert_header(&get, wf->path, "Content-Type", type);
    assert_header(&get, wf->path, "X-Content-Type-Options", "nosniff");
    assert_header(&get, wf->path, "Cache-Control",
                  page ? "no-cache" : "public, max-age=300");
    if (page) {
      assert_header(&get, wf->path, "Content-Security-Policy", PAGE_CSP);
      assert_header(&get, wf->path, "Referrer-Policy", "no-referrer");
    }
    char tag[128], head_tag[128], length[32];
    assert_strong_etag(&get, wf->path, tag, sizeof tag);

    fetch(s, "HEAD", wf->path, NULL, &head);
    cr_assert_eq(head.status, 200, "HEAD %s: %ld", wf->path, head.status);
    cr_assert_eq(head.body_len, 0, "HEAD %s sent a body", wf->path);
    assert_header(&head, wf->path, "Content-Type", type);
    snprintf(length, sizeof length, "%zu", len);
    assert_header(&head, wf->path, "Content-Length", length);
    assert_strong_etag(&head, wf->path, head_tag, sizeof head_tag);
    cr_assert_str_eq(head_tag, tag, "HEAD %s: another ETag", wf->path);
    fetched_free(&get);
    fetched_free(&head);
    free(bytes);
  }
  free(files);
}

Test(web, etag_revalidates_to_304, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  struct fetched f;
  char tag[128], list[300], weak[140];
  fetch(s, "GET", "/index.html", NULL, &f);
  assert_strong_etag(&f, "GET /index.html", tag, sizeof tag);
  fetched_free(&f);

  snprintf(list, sizeof list, "\"stale\", %s", tag);
  snprintf(weak, sizeof weak, "W/%s", tag);
  const char *matching[] = {tag, list, weak, "*"};
  for (size_t i = 0; i < sizeof matching / sizeof *matching; i++) {
    const char *methods[] = {"GET", "HEAD"};
    for (size_t m = 0; m < 2; m++) {
      const char *paths[] = {"/", "/index.html"};
      for (size_t p = 0; p < 2; p++) {
        char what[400];
        snprintf(what, sizeof what, "%s %s, If-None-Match: %s", methods[m],
                 paths[p], matching[i]);
        fetch(s, methods[m], paths[p], matching[i], &f);
        cr_assert_eq(f.status, 304, "%s: %ld", what, f.status);
        cr_assert_eq(f.body_len, 0, "%s: a body", what);
        assert_header(&f, what, "ETag", tag);
        assert_header(&f, what, "Cache-Control", "no-cache");
        assert_no_header(&f, what, "Content-Type");
        fetched_free(&f);
      }
    }
  }

  /* A tag of another version of the file: the whole file again. */
  fetch(s, "GET", "/index.html", "\"0000\"", &f);
  cr_assert_eq(f.status, 200);
  cr_assert_gt(f.body_len, 0);
  fetched_free(&f);
}

/* curl never reads a 304's body, so look at the bytes: a 304 and then the
 * next answer on the same connection, with nothing between them. */
Test(web, a_304_sends_no_body_bytes, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  struct fetched f;
  char tag[128];
  fetch(s, "GET", "/index.html", NULL, &f);
  assert_strong_etag(&f, "GET /index.html", tag, sizeof tag);
  size_t full_len = f.body_len;
  fetched_free(&f);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s->port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /index.html HTTP/1.1\r\nHost: x\r\n"
                   "If-None-Match: %s\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                   "Connection: close\r\n\r\n",
                   tag);
  cr_assert_eq(write(fd, req, (size_t)n), n);
  char got[8192];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof got - 1 &&
         (r = read(fd, got + len, sizeof got - 1 - len)) > 0)
    len += (size_t)r;
  got[len] = '\0';
  close(fd);

  cr_assert_eq(strncmp(got, "HTTP/1.1 304", 12), 0, "%s", got);
  const char *end = strstr(got, "\r\n\r\n");
  cr_assert_not_null(end, "%s", got);
  cr_assert_eq(strncmp(end + 4, "HTTP/1.1 200", 12), 0,
               "bytes after the 304's headers:\n%s", end + 4);
  /* A Content-Length in a 304 may only be the 200's (RFC 9110, 8.6). */
  char length[64];
  snprintf(length, sizeof length, "\r\nContent-Length: %zu\r\n", full_len);
  const char *cl = strcasestr(got, "\r\nContent-Length:");
  cr_assert(cl == NULL || cl > end ||
                strncasecmp(cl, length, strlen(length)) == 0,
            "the 304's Content-Length is not the file's:\n%s", got);
}

Test(web, unknown_files_are_404_problems, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  const char *paths[] = {"/nope.html",       "/index.htm",      "/index.html/",
                         "/web/index.html",  "/index.html.bak", "/.index.html",
                         "/assets/nope.svg", "//index.html",    "/README.md"};
  struct it_response r = {0};
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    it_send(s, &(struct it_request){.path = paths[i]}, &r);
    it_assert_problem(&r, 404, "NOT_FOUND");
  }
  it_response_free(&r);
}

Test(web, api_answers_as_before, .timeout = 60) {
  struct it_server *s = it_server_start(NULL);
  struct it_response r = {0};
  it_send(s, &(struct it_request){.path = "/api/v1/nope"}, &r);
  it_assert_problem(&r, 404, "NOT_FOUND");
  it_send(s, &(struct it_request){.path = "/api/v1/index.html"}, &r);
  it_assert_problem(&r, 404, "NOT_FOUND");
  it_send(s,
          &(struct it_request){.method = "DELETE", .path = "/api/v1/concerts"},
          &r);
  it_assert_problem(&r, 405, "METHOD_NOT_ALLOWED");
  it_send(s, &(struct it_request){.path = "/healthz"}, &r);
  it_assert_status(&r, 200);
  cr_assert_str_eq(r.content_type, "application/json");
  it_response_free(&r);

  /* A file of the front takes GET and HEAD only. */
  it_send(s,
          &(struct it_request){
              .method = "POST", .path = "/index.html", .body = "{}"},
          &r);
  it_assert_problem(&r, 405, "METHOD_NOT_ALLOWED");
  it_response_free(&r);
  struct fetched f;
  fetch(s, "HEAD", "/healthz", NULL, &f);
  cr_assert_eq(f.status, 405, "HEAD /healthz: %ld", f.status);
  fetched_free(&f);
  fetch(s, "GET", "/api/v1/nope", NULL, &f);
  assert_no_header(&f, "GET /api/v1/nope", "ETag");
  assert_no_header(&f, "GET /api/v1/nope", "Cache-Control");
  fetched_free(&f);
}
