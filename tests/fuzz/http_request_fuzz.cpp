// libFuzzer entry point; tests/fuzz/harness/http_request.hpp says what is fuzzed and what is
// checked.

#include "tests/fuzz/harness/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::http_request_bytes(brokedancer::fuzz::as_text(data, size));
  return 0;
}
