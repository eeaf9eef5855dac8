// libFuzzer entry point; tests/fuzz/harness/environment.hpp says what is fuzzed and what is
// checked.

#include "tests/fuzz/harness/environment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::environment_overrides(brokedancer::fuzz::as_text(data, size));
  return 0;
}
