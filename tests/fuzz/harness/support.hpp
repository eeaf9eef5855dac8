#pragma once

// What the fuzz harnesses share. Each harness is header-only so that the regression test
// (tests/runtime/fuzz_regression_test.cpp) replays an input through exactly the code the fuzzer
// ran it through.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace brokedancer::fuzz {

// A promise a parser made (a round trip, an agreement with a reference) and broke. Thrown, not
// aborted on: libFuzzer reports any escaping exception as a crash, and the regression test can
// then name the promise.
struct broken_promise : std::logic_error {
  using std::logic_error::logic_error;
};

inline void expect(bool kept, const char* promise) {
  if (!kept)
    throw broken_promise(promise);
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// `input` cut at NUL bytes into at most `count` fields (missing ones empty); the last field
// keeps the rest, NULs and all, so that binary data can end an input.
inline std::vector<std::string_view> split_fields(std::string_view input, size_t count) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < count) {
    auto nul = input.find('\0');
    if (nul == std::string_view::npos)
      break;
    fields.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  fields.push_back(input);
  fields.resize(count);
  return fields;
}

} // namespace brokedancer::fuzz
