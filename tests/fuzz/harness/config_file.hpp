#pragma once

// A configuration file, as `brokedancer config check FILE` reads it: any text ends in a
// runtime_config or a config_error, never in another exception. An accepted file is printed
// the way `config check` prints it, and its effective configuration, written back as a file,
// is accepted too (it is what an operator copies into a file of their own).

#include <string>

#include "core/json_text.hpp"
#include "runtime/config.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

inline void config_file(std::string_view input) {
  runtime_config config;
  try {
    config = load_config({"fuzz.json", std::string(input)}, {});
  } catch (const config_error& refused) {
    expect(!refused.problems().empty(), "a config_error names at least one problem");
    return;
  }
  dump_json(config.masked(), 2);
  try {
    load_config({"effective.json", dump_json(config.effective)}, {});
  } catch (const config_error&) {
    expect(false, "the effective configuration of an accepted file is accepted as a file");
  }
}

} // namespace brokedancer::fuzz
