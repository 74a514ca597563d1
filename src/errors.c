#include "errors.h"

static const struct bo_error_info registry[BO_ERR__COUNT] = {
    [BO_OK] = {500, "INTERNAL", "Internal error"},
#define BO_ERROR_ROW(name, status, title)                                      \
  [BO_ERR_##name] = {status, #name, title},
    BO_ERRORS(BO_ERROR_ROW)
#undef BO_ERROR_ROW
};

const struct bo_error_info *bo_error_info(enum bo_error err) {
  if (err <= BO_OK || err >= BO_ERR__COUNT)
    return &registry[BO_ERR_INTERNAL];
  return &registry[err];
}
