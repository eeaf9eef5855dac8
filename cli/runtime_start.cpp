#include "cli/runtime_start.hpp"

#include <iostream>

#include "core/logging.hpp"
#include "core/secret_masker.hpp"
#include "runtime/exit_codes.hpp"

namespace brokedancer {

namespace {

void report(const config_error& err) {
  for (const auto& problem : err.problems())
    std::cerr << "error: " << problem.render() << '\n';
  std::cerr << "brokedancer: the configuration was rejected\n";
}

} // namespace

std::optional<runtime_config> load_config_or_report(const std::string& path) {
  try {
    return load_selected_config(path, process_environment());
  } catch (const config_error& err) {
    report(err);
    return std::nullopt;
  }
}

int start_runtime(std::optional<runtime>& node, runtime_config config, runtime_options options) {
  try {
    node.emplace(std::move(config), std::move(options));
    return exit_code::ok;
  } catch (const config_error& err) {
    report(err);
    return exit_code::config_invalid;
  } catch (const std::exception& ex) {
    std::cerr << "brokedancer: the runtime could not start: " << log_masker().masked(ex.what())
              << '\n';
    return exit_code::startup_failed;
  }
}

} // namespace brokedancer
