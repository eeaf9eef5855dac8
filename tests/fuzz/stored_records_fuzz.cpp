// libFuzzer entry point; tests/fuzz/harness/stored_records.hpp says what is fuzzed and what is
// checked.

#include "tests/fuzz/harness/stored_records.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::stored_records(brokedancer::fuzz::as_text(data, size));
  return 0;
}
