// libFuzzer entry point; tests/fuzz/harness/config_file.hpp says what is fuzzed and what is
// checked.

#include "tests/fuzz/harness/config_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::config_file(brokedancer::fuzz::as_text(data, size));
  return 0;
}
