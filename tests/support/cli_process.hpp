#pragma once

// `brokedancer` run by a test as a user runs it: to the end, or in the background and asked for
// its status over the control port (`brokedancer status --node ... --json`).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "runtime/exit_codes.hpp"
#include "runtime/operator_auth.hpp"
#include "support/child_process.hpp"

namespace brokedancer::testing {

using environment_map = std::map<std::string, std::string>;

// The operator credentials of this test process: one of each role, in a credentials file that
// every node started through quiet() reads. Control commands run with the risk token unless a
// test says otherwise (BROKEDANCER_TOKEN in its environment).
struct test_credentials {
  std::string file;
  std::string risk_token;
  std::string operator_token;
  std::string viewer_token;
};

inline const test_credentials& credentials() {
  static const test_credentials made = [] {
    test_credentials c;
    char dir[] = "/tmp/brokedancer-credentials-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    c.file = std::string{dir} + "/credentials";
    c.risk_token = make_token();
    c.operator_token = make_token();
    c.viewer_token = make_token();
    std::ofstream out{c.file};
    out << credential_line({"test-risk", operator_role::risk, digest_of(c.risk_token)}) << '\n'
        << credential_line(
               {"test-operator", operator_role::operator_role, digest_of(c.operator_token)})
        << '\n'
        << credential_line({"test-viewer", operator_role::viewer, digest_of(c.viewer_token)})
        << '\n';
    return c;
  }();
  return made;
}

inline environment_map quiet(environment_map extra = {}) {
  // BROKEDANCER_TEST_LOG_LEVEL=debug (say) when chasing a failure: every node logs that much.
  const char* level = std::getenv("BROKEDANCER_TEST_LOG_LEVEL");
  extra.emplace("BROKEDANCER_LOG_LEVEL", level != nullptr ? level : "warn");
  extra.emplace("BROKEDANCER_NODE_CREDENTIALS_FILE", credentials().file);
  extra.emplace("BROKEDANCER_TOKEN", credentials().risk_token);
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

// The control commands (status, halt, resume, shutdown) end right after their first exchange
// with a node. CAF 0.17's network layer can then leave a reference cycle behind: for each node
// it connects to, it spawns a hidden helper that asks the node's spawn server for its name, and
// an answer that arrives as the process ends keeps the helper, its network broker and the
// broker's proxies alive together. Under the sanitizers LeakSanitizer reports it and the
// command exits 1 (a few times in a hundred on a busy machine). Leak checking stays on for every
// process that runs the runtime and for every in-process test.
inline bool is_control_command(const std::vector<std::string>& args) {
  // The command follows the program's path when a launcher runs it, else it comes first.
  auto command = std::find(args.begin(), args.end(), std::string{BROKEDANCER_CLI_PATH});
  command = command == args.end() ? args.begin() : command + 1;
  return command != args.end()
         && (*command == "status" || *command == "halt" || *command == "resume"
             || *command == "shutdown" || *command == "reduce-only" || *command == "flatten"
             || *command == "cancel-all");
}

inline environment_map without_exit_leak_check(environment_map env) {
  const char* options = std::getenv("ASAN_OPTIONS");
  auto& value = env["ASAN_OPTIONS"];
  value = options != nullptr && *options != '\0' ? std::string{options} + ":" : std::string{};
  value += "detect_leaks=0";
  return env;
}

inline outcome run_to_end(const std::vector<std::string>& args, environment_map env = {},
                          const char* program = BROKEDANCER_CLI_PATH) {
  if (is_control_command(args))
    env = without_exit_leak_check(std::move(env));
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
