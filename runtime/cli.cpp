#include "runtime/cli.hpp"

#include <cstdlib>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>

#include "actors/supervisor.hpp"
#include "runtime/build_info.hpp"
#include "runtime/config.hpp"
#include "runtime/config_schema.hpp"
#include "runtime/exit_codes.hpp"
#include "runtime/runtime.hpp"
#include "runtime/secret_masker.hpp"

namespace brokedancer {

namespace {

// --config FILE, else $BROKEDANCER_CONFIG, else the embedded development configuration.
runtime_config load_selected_config(const std::string& path, const environment& env) {
  if (!path.empty())
    return load_config(read_config_file(path), env);
  if (auto named = env.find(std::string(config_file_variable));
      named != env.end() && !named->second.empty())
    return load_config(read_config_file(named->second), env);
  return load_config(embedded_default_config(), env);
}

void report(const config_error& err) {
  for (const auto& problem : err.problems())
    std::cerr << "error: " << problem.render() << '\n';
  std::cerr << "brokedancer: the configuration was rejected (" << err.problems().size()
            << (err.problems().size() == 1 ? " problem" : " problems") << ")\n";
}

int config_check(const std::string& path) {
  auto env = process_environment();
  try {
    auto config = load_selected_config(path, env);
    std::cout << config.masked().dump(2) << '\n';
    std::cerr << "config OK: " << config.source;
    if (!config.overrides.empty()) {
      std::cerr << "; environment overrides:";
      for (const auto& name : config.overrides)
        std::cerr << ' ' << name;
    }
    std::cerr << '\n';
    return exit_code::ok;
  } catch (const config_error& err) {
    report(err);
    return exit_code::config_invalid;
  }
}

int config_keys() {
  auto all = config_schema();
  for (const auto& s : endpoint_schema())
    all.push_back(s);
  for (const auto& s : all) {
    std::cout << s.json_path() << "  (" << s.environment_name() << ")\n    " << to_string(s.kind);
    if (!s.secret)
      std::cout << ", default " << s.default_value.dump();
    else
      std::cout << ", secret: from the environment only";
    std::cout << "\n    " << s.help << '\n';
  }
  return exit_code::ok;
}

int run(const std::string& path, std::optional<double> duration_s) {
  runtime_config config;
  try {
    config = load_selected_config(path, process_environment());
  } catch (const config_error& err) {
    report(err);
    return exit_code::config_invalid;
  }
  std::optional<runtime> node;
  try {
    node.emplace(std::move(config));
  } catch (const std::exception& ex) {
    std::cerr << "brokedancer: the runtime could not start: " << log_masker().masked(ex.what())
              << '\n';
    return exit_code::startup_failed;
  }
  std::optional<std::chrono::milliseconds> duration;
  if (duration_s)
    duration = std::chrono::milliseconds(static_cast<int64_t>(*duration_s * 1000.0));
  auto result = node->run(duration, true);
  node.reset();
  if (result.reason == stop_reason::escalated)
    std::cerr << "brokedancer: stopped by escalation: " << log_masker().masked(result.detail)
              << '\n';
  return result.exit_code;
}

} // namespace

int cli_main(int argc, char** argv) {
  CLI::App app{"brokedancer: an actor runtime that hosts trading bots", "brokedancer"};
  app.set_version_flag("--version", std::string("brokedancer ") + std::string(version()));
  app.require_subcommand(1);

  auto* config_cmd = app.add_subcommand("config", "Work with configuration files");
  config_cmd->require_subcommand(1);
  std::string check_path;
  auto* check_cmd = config_cmd->add_subcommand(
      "check", "Validate a config file and print the effective configuration (environment "
               "overrides applied, secrets masked); exit code 2 when it is rejected");
  check_cmd->add_option("file", check_path,
                        "JSON config file; default: $BROKEDANCER_CONFIG, else the embedded "
                        "development configuration");

  auto* keys_cmd = config_cmd->add_subcommand(
      "keys", "List every setting: JSON path, environment variable, type, default");

  auto* run_cmd = app.add_subcommand("run", "Boot the runtime and run until SIGINT/SIGTERM");
  std::string run_path;
  std::optional<double> duration_s;
  run_cmd->add_option("-c,--config", run_path,
                      "JSON config file; default: $BROKEDANCER_CONFIG, else the embedded "
                      "development configuration");
  run_cmd->add_option("-d,--duration", duration_s, "stop after this many seconds")
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& done) {
    return app.exit(done);
  } catch (const CLI::ParseError& err) {
    app.exit(err);
    return exit_code::usage;
  }
  if (check_cmd->parsed())
    return config_check(check_path);
  if (keys_cmd->parsed())
    return config_keys();
  if (run_cmd->parsed())
    return run(run_path, duration_s);
  return exit_code::usage;
}

} // namespace brokedancer
