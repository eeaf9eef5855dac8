// libFuzzer entry point; tests/fuzz/harness/operator_request.hpp says what is fuzzed and what is
// checked.

#include "tests/fuzz/harness/operator_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::operator_request(brokedancer::fuzz::as_text(data, size));
  return 0;
}
