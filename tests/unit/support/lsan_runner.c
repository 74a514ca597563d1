/* LeakSanitizer and Criterion's runner, for the unit test binaries (the
 * integration binaries have the same in tests/integration/support/
 * harness.c).
 *
 * Criterion 2.4.1's runner process leaks 48 bytes of its own bookkeeping
 * when it runs tests that have a .timeout in parallel (--jobs 2, as ctest
 * runs them): a bare Criterion file with five tests of .timeout = 30 that
 * sleep a little reproduces it under ASan, so it is Criterion's, not ours.
 * LeakSanitizer then fails the whole binary after every test passed,
 * depending on timing. The runner runs no test code: each test is a
 * process of its own, which BoxFort marks with BXFI_MAP in its
 * environment. So leaks are ignored in the runner only, by module, and
 * those of the tests and of the code under test are still reported. */
#include <stdlib.h>

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return getenv("BXFI_MAP") ? "" : "leak:libcriterion.so\n";
}
