// libFuzzer entry point; tests/fuzz/harness/node_proof.hpp says what is fuzzed and what is checked.

#include "tests/fuzz/harness/node_proof.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  brokedancer::fuzz::node_proof(brokedancer::fuzz::as_text(data, size));
  return 0;
}

// The throwaway authority is made before the first input, so that a failing openssl command
// stops the run at once instead of reading as a crash on some input.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  brokedancer::fuzz::throwaway_identity();
  return 0;
}
