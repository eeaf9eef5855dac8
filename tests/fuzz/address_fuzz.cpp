// libFuzzer entry point; tests/fuzz/harness/addresses.hpp says what is fuzzed and what is checked.

#include "tests/fuzz/harness/addresses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::addresses(brokedancer::fuzz::as_text(data, size));
  return 0;
}
