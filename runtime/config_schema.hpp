#pragma once

// Every setting the runtime understands: where it lives, its type, default and limits.
// The files in config/, the environment overrides and `brokedancer config check` are all
// validated against this one table; add a setting here and it is configurable everywhere.

#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace brokedancer {

enum class setting_kind { string, integer, number, boolean };

std::string_view to_string(setting_kind kind);

struct setting {
  std::string section;
  std::string key;
  setting_kind kind = setting_kind::string;
  nlohmann::json default_value;
  std::string help;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices; // for strings: the only values allowed
  // Secrets are accepted from the environment only, never from a file, and never printed.
  bool secret = false;
  // A URL that may carry a password: accepted from the environment with one, from a file without.
  bool url_may_carry_password = false;
  // Extra validation of a string value: returns what was expected, or empty when valid.
  std::string (*check)(const std::string& value) = nullptr;

  // BROKEDANCER_<SECTION>_<KEY>, upper-case.
  std::string environment_name() const;
  // $.section.key
  std::string json_path() const;
};

const std::vector<setting>& config_schema();

} // namespace brokedancer
