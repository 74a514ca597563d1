#include "tokens_file.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_line(const char *line, struct bo_load_token *out) {
  char status[16];
  char token[BO_LOAD_TOKEN_MAX];
  int64_t user = 0;
  /* %63s matches BO_LOAD_TOKEN_MAX - 1. */
  if (sscanf(line, "%63s %" SCNd64 " %15s", token, &user, status) != 3)
    return false;
  if (strcmp(status, "ACTIVE") != 0 && strcmp(status, "WAITING") != 0)
    return false;
  memcpy(out->text, token, sizeof token);
  out->user_id = user;
  out->active = strcmp(status, "ACTIVE") == 0;
  return true;
}

static bool blank(const char *line) {
  return line[strspn(line, " \t\r\n")] == '\0';
}

bool bo_load_token_list_read(const char *path, bool active_only,
                             struct bo_load_token_list *out, size_t *skipped) {
  memset(out, 0, sizeof *out);
  size_t cap = 0, left_out = 0, line_no = 0;
  bool ok = false;
  char *line = NULL;
  size_t line_cap = 0;
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "bo_load: cannot read %s: %s\n", path, strerror(errno));
    return false;
  }
  while (getline(&line, &line_cap, f) >= 0) {
    line_no++;
    if (blank(line))
      continue;
    struct bo_load_token t;
    if (!parse_line(line, &t)) {
      fprintf(stderr, "bo_load: %s:%zu: not \"TOKEN USERID STATUS\"\n", path,
              line_no);
      goto done;
    }
    if (active_only && !t.active) {
      left_out++;
      continue;
    }
    if (out->count == cap) {
      cap = cap ? cap * 2 : 1024;
      struct bo_load_token *grown = realloc(out->items, cap * sizeof *grown);
      if (!grown) {
        fprintf(stderr, "bo_load: out of memory reading %s\n", path);
        goto done;
      }
      out->items = grown;
    }
    out->items[out->count++] = t;
  }
  ok = !ferror(f);
  if (!ok)
    fprintf(stderr, "bo_load: error reading %s\n", path);
done:
  free(line);
  fclose(f);
  if (skipped)
    *skipped = left_out;
  if (!ok)
    bo_load_token_list_free(out);
  return ok;
}

void bo_load_token_list_free(struct bo_load_token_list *list) {
  free(list->items);
  list->items = NULL;
  list->count = 0;
}

bool bo_load_lines_add(struct bo_load_lines *lines, const char *token,
                       int64_t user_id, const char *status) {
  char line[BO_LOAD_TOKEN_MAX + 48];
  int n = snprintf(line, sizeof line, "%s %" PRId64 " %s\n", token, user_id,
                   status);
  if (n < 0 || (size_t)n >= sizeof line)
    return false;
  if (lines->len + (size_t)n > lines->cap) {
    size_t cap = lines->cap ? lines->cap * 2 : 65536;
    char *grown = realloc(lines->text, cap);
    if (!grown)
      return false;
    lines->text = grown;
    lines->cap = cap;
  }
  memcpy(lines->text + lines->len, line, (size_t)n);
  lines->len += (size_t)n;
  return true;
}

void bo_load_lines_free(struct bo_load_lines *lines) {
  free(lines->text);
  lines->text = NULL;
  lines->len = lines->cap = 0;
}

bool bo_load_lines_write(const char *path, const struct bo_load_lines *parts,
                         size_t part_count) {
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "bo_load: cannot write %s: %s\n", path, strerror(errno));
    return false;
  }
  bool ok = true;
  for (size_t i = 0; ok && i < part_count; i++)
    if (parts[i].len)
      ok = fwrite(parts[i].text, 1, parts[i].len, f) == parts[i].len;
  if (fclose(f) != 0)
    ok = false;
  if (!ok)
    fprintf(stderr, "bo_load: error writing %s\n", path);
  return ok;
}
