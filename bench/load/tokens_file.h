/* The tokens file that `bo_load tokens` writes and rush and crowd read:
 * one issued token a line, "TOKEN USERID STATUS", STATUS being ACTIVE or
 * WAITING as the issuing response said. */
#ifndef BO_LOAD_TOKENS_FILE_H
#define BO_LOAD_TOKENS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BO_LOAD_TOKEN_MAX 64 /* with the NUL; the server's are 22 chars */

struct bo_load_token {
  char text[BO_LOAD_TOKEN_MAX];
  int64_t user_id;
  bool active;
};

struct bo_load_token_list {
  struct bo_load_token *items;
  size_t count;
};

/* Reads every line of `path`; with `active_only`, keeps the ACTIVE ones.
 * `skipped` (may be NULL) gets how many well-formed lines were left out.
 * False with a message on stderr when the file cannot be read or a line
 * is malformed. The caller frees with bo_load_token_list_free(). */
bool bo_load_token_list_read(const char *path, bool active_only,
                             struct bo_load_token_list *out, size_t *skipped);
void bo_load_token_list_free(struct bo_load_token_list *list);

/* A growing text buffer of lines, one per thread while the run goes. */
struct bo_load_lines {
  char *text;
  size_t len;
  size_t cap;
};

/* Appends "TOKEN USERID STATUS\n"; false when memory runs out. */
bool bo_load_lines_add(struct bo_load_lines *lines, const char *token,
                       int64_t user_id, const char *status);
void bo_load_lines_free(struct bo_load_lines *lines);

/* Writes the buffers one after the other into `path` (replaced). */
bool bo_load_lines_write(const char *path, const struct bo_load_lines *parts,
                         size_t part_count);

#endif
