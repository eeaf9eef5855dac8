#pragma once

// `brokedancer` run by a test as a user runs it: to the end, or in the background and asked for
// its status over the control port (`brokedancer status --node ... --json`).

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/exit_codes.hpp"
#include "support/child_process.hpp"

namespace brokedancer::testing {

using environment_map = std::map<std::string, std::string>;

inline environment_map quiet(environment_map extra = {}) {
  extra.emplace("BROKEDANCER_LOG_LEVEL", "warn");
  return extra;
}

struct outcome {
  int exit_code = -1;
  std::string out;
};

// Everything the process writes on standard output until it exits.
inline outcome finish(child_process& p, std::chrono::seconds timeout = std::chrono::seconds(90)) {
  outcome result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto line = p.read_line(left);
    if (!line)
      break;
    result.out += *line + "\n";
  }
  auto code = p.wait(std::chrono::seconds(10));
  REQUIRE(code);
  result.exit_code = *code;
  return result;
}

inline outcome run_to_end(const std::vector<std::string>& args, environment_map env = {},
                          const char* program = BROKEDANCER_CLI_PATH) {
  child_process p{program, args, quiet(std::move(env))};
  return finish(p);
}

// A command that runs another ("ip netns exec NS"), or none: `brokedancer` itself.
using launcher = std::vector<std::string>;

// `brokedancer args...`, through `via` when it is given.
inline outcome run_cli(const std::vector<std::string>& args, const launcher& via = {}) {
  if (via.empty())
    return run_to_end(args);
  std::vector<std::string> all(via.begin() + 1, via.end());
  all.push_back(BROKEDANCER_CLI_PATH);
  all.insert(all.end(), args.begin(), args.end());
  return run_to_end(all, {}, via.front().c_str());
}

// `brokedancer status --node ... --json`, parsed; null while nobody answers.
inline nlohmann::json node_status(const std::string& node, const launcher& via = {}) {
  auto o = run_cli({"status", "--node", node, "--json"}, via);
  if (o.exit_code != exit_code::ok)
    return nullptr;
  return nlohmann::json::parse(o.out, nullptr, false);
}

inline nlohmann::json await_status(const std::string& node,
                                   const std::function<bool(const nlohmann::json&)>& wanted,
                                   std::chrono::seconds timeout = std::chrono::seconds(30),
                                   const launcher& via = {}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json last;
  while (std::chrono::steady_clock::now() < deadline) {
    last = node_status(node, via);
    if (last.is_object() && wanted(last))
      return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO("last status: " << last.dump());
  FAIL("the node at " << node << " never reached the state waited for");
  return nullptr;
}

} // namespace brokedancer::testing
