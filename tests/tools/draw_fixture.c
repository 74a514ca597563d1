/* A draw made by the service's own code (src/queue/draw.c), written as the
 * JSON of GET /api/v1/concerts/{id}/line/draw, for tools/verify-draw to
 * check (tests/tools/test_verify_draw.sh).
 *
 * Usage: draw_fixture [COUNT]   (default 1000 entries)
 *        draw_fixture --known   (docs/draw.md's worked example)
 *
 * A fresh seed and COUNT fresh random tokens every run; with --known the
 * seed is the bytes 00 01 .. 1f and the tokens are 16 bytes of 01, of 02
 * and of 03, whose draw the test knows the answer to. The JSON is
 * indented, one entry id per line, so the shell test can tamper with it
 * using sed. */
#include "queue/draw.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *hex_string(const uint8_t *bytes, size_t len) {
  char hex[2 * BO_DRAW_KEY_BYTES + 1];
  if (2 * len + 1 > sizeof hex)
    return NULL;
  bo_draw_hex(bytes, len, hex);
  return json_string(hex);
}

/* The draw document; NULL when out of memory. */
static json_t *draw_document(const uint8_t seed[BO_DRAW_SEED_BYTES],
                             const struct bo_draw_entry *entries,
                             size_t count) {
  uint8_t commitment[BO_DRAW_KEY_BYTES];
  json_t *doc = json_object();
  json_t *ids = json_array();
  bool failed = doc == NULL || ids == NULL;
  bo_draw_commitment(seed, commitment);
  for (size_t i = 0; i < count && !failed; i++)
    failed = json_array_append_new(
                 ids, hex_string(entries[i].id, BO_DRAW_ID_BYTES)) != 0;
  if (!failed)
    failed =
        json_object_set_new(doc, "concertId", json_integer(7)) != 0 ||
        json_object_set_new(doc, "onSaleAt",
                            json_string("2026-12-01T10:00:00Z")) != 0 ||
        json_object_set_new(doc, "seedCommitment",
                            hex_string(commitment, sizeof commitment)) != 0 ||
        json_object_set_new(doc, "seed",
                            hex_string(seed, BO_DRAW_SEED_BYTES)) != 0 ||
        json_object_set_new(doc, "drawnAt",
                            json_string("2026-12-01T10:00:00.103Z")) != 0;
  if (!failed) {
    failed = json_object_set_new(doc, "entries", ids) != 0;
    ids = NULL; /* the document owns it now, even when setting failed */
  }
  json_decref(ids);
  if (failed) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

int main(int argc, char **argv) {
  int rc = 2;
  size_t count = 1000;
  struct bo_draw_entry *entries = NULL;
  json_t *doc = NULL;
  uint8_t seed[BO_DRAW_SEED_BYTES];

  bool known = argc == 2 && strcmp(argv[1], "--known") == 0;

  if (argc > 2) {
    fprintf(stderr, "usage: draw_fixture [COUNT | --known]\n");
    goto done;
  }
  if (known) {
    count = 3;
  } else if (argc == 2) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || n > 10000000) {
      fprintf(stderr, "draw_fixture: COUNT must be 0..10000000\n");
      goto done;
    }
    count = (size_t)n;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "draw_fixture: sodium_init failed\n");
    goto done;
  }

  entries = calloc(count > 0 ? count : 1, sizeof *entries);
  if (entries == NULL)
    goto oom;
  if (known) {
    for (size_t i = 0; i < sizeof seed; i++)
      seed[i] = (uint8_t)i;
  } else {
    bo_draw_seed(seed);
  }
  for (size_t i = 0; i < count; i++) {
    struct bo_token token;
    if (known)
      memset(token.bytes, (int)(i + 1), sizeof token.bytes);
    else
      randombytes_buf(token.bytes, sizeof token.bytes);
    bo_draw_entry_id(&token, entries[i].id);
    entries[i].ref = i;
  }
  bo_draw_sort(seed, entries, count);

  doc = draw_document(seed, entries, count);
  if (doc == NULL)
    goto oom;
  if (json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 || fputc('\n', stdout) < 0 ||
      fflush(stdout) != 0) {
    fprintf(stderr, "draw_fixture: cannot write the draw\n");
    goto done;
  }
  rc = 0;
  goto done;

oom:
  fprintf(stderr, "draw_fixture: out of memory\n");
done:
  json_decref(doc);
  free(entries);
  return rc;
}
