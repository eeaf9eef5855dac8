// The fuzzers' inputs, replayed through the same harnesses (tests/fuzz/harness): every seed of
// tests/fuzz/corpus/<target>/ and every input under tests/fuzz/regressions/<target>/ that once
// crashed a parser. None may crash, nor throw anything but the error its parser documents (the
// harnesses catch that one), nor break a promise a harness checks.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/fuzz/harness/addresses.hpp"
#include "tests/fuzz/harness/config_file.hpp"
#include "tests/fuzz/harness/envelope.hpp"
#include "tests/fuzz/harness/environment.hpp"
#include "tests/fuzz/harness/http_request.hpp"
#include "tests/fuzz/harness/node_proof.hpp"
#include "tests/fuzz/harness/operator_request.hpp"
#include "tests/fuzz/harness/stored_records.hpp"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_of(const std::string& target) {
  std::vector<fs::path> inputs;
  for (const char* kind : {"corpus", "regressions"}) {
    auto dir = fs::path{BROKEDANCER_SOURCE_DIR} / "tests" / "fuzz" / kind / target;
    if (fs::is_directory(dir))
      for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file())
          inputs.push_back(entry.path());
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

std::string contents(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class Harness>
void replay(const std::string& target, Harness harness) {
  auto inputs = inputs_of(target);
  // A missing corpus would make the test pass without running anything.
  REQUIRE_FALSE(inputs.empty());
  for (const auto& path : inputs) {
    INFO(path.string());
    CHECK_NOTHROW(harness(contents(path)));
  }
}

} // namespace

using namespace brokedancer;

TEST_CASE("every fuzz input of the config file loads or is refused with a config_error") {
  replay("config_file", fuzz::config_file);
}

TEST_CASE("every fuzz input of the environment overrides loads or is refused with a config_error") {
  replay("environment", fuzz::environment_overrides);
}

TEST_CASE("every fuzz input of the address parsers is read or refused with a reason") {
  replay("address", fuzz::addresses);
}

TEST_CASE("every fuzz input of the bus envelope decodes or is refused with a reason") {
  replay("envelope", fuzz::envelope);
}

TEST_CASE("every fuzz input of the stored records decodes or is refused with a reason") {
  replay("stored_records", fuzz::stored_records);
}

TEST_CASE("every fuzz input of the operator requests is read or refused with a reason") {
  replay("operator_request", fuzz::operator_request);
}

TEST_CASE("every fuzz input of the peer proof check is judged without crashing") {
  replay("node_proof", fuzz::node_proof);
}

TEST_CASE(
    "every fuzz input of the HTTP request reader is read alike in pieces and kept in bounds") {
  replay("http_request", fuzz::http_request_bytes);
}
