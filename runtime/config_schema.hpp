#pragma once

// Every setting the runtime understands: where it lives, its type, default and limits, and the
// field of runtime_config it fills. The files in config/, the environment overrides and
// `brokedancer config check` are all validated against this one table, and the loader fills
// runtime_config from it: a new setting is one row here and the field it binds to.

#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/config.hpp"

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
  // Writes the validated value into the field the setting configures: a field of
  // runtime_config (config_schema()) or of one endpoint's section (endpoint_schema()).
  std::function<void(runtime_config&, const nlohmann::json&)> fill;
  std::function<void(runtime_config::endpoint_section&, const nlohmann::json&)> fill_endpoint;

  // BROKEDANCER_<SECTION>_<KEY>, upper-case.
  std::string environment_name() const;
  // $.section.key
  std::string json_path() const;
};

const std::vector<setting>& config_schema();

// The settings of one endpoint: resilience.endpoints.<name>.<key>, with `section` written as
// "resilience.endpoints.<name>" (see setting_for_endpoint).
const std::vector<setting>& endpoint_schema();

// `s`, one of endpoint_schema(), for the endpoint `name`: its JSON path and variable name.
setting setting_for_endpoint(const setting& s, const std::string& name);

// What an endpoint name must be ("1 to 64 ..."), or "" when `name` is valid.
std::string check_endpoint_name(const std::string& name);

// "10-20,45.5-50" -> {{10, 20}, {45.5, 50}}; on a bad value, empty with `problem` set.
std::vector<std::pair<double, double>> parse_outage_windows(const std::string& text,
                                                            std::string& problem);
std::string check_outages(const std::string& value);

// "BTC-USD,ETH-USD" -> {"BTC-USD", "ETH-USD"}; "" -> {}.
std::vector<std::string> split_setting_list(const std::string& text);

} // namespace brokedancer
