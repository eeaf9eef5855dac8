// The operator API as an intruder and a careless operator meet it: real `brokedancer run`
// processes on 127.0.0.1, reached by the real `brokedancer` commands and by raw sockets.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/loopback_socket.hpp"
#include "support/redis_server.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Catch::Contains;

namespace {

// A node with the operator API on a port of its own, its log in a file the test can read.
struct api_node {
  std::string port = std::to_string(free_loopback_port());
  std::string address = "127.0.0.1:" + port;
  std::string log_file;
  std::unique_ptr<child_process> process;

  explicit api_node(environment_map env = {}, int bots = 2) {
    char dir[] = "/tmp/brokedancer-api-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    log_file = std::string{dir} + "/node.log";
    env.emplace("BROKEDANCER_NODE_CONTROL_PORT", port);
    env.emplace("BROKEDANCER_LOG_FILE", log_file);
    env["BROKEDANCER_LOG_LEVEL"] = "info";
    process = std::make_unique<child_process>(
        BROKEDANCER_CLI_PATH, std::vector<std::string>{"run", "--bots", std::to_string(bots)},
        quiet(env));
    await_status(address, [](const json& s) { return s["trading_allowed"] == true; });
  }

  std::string log() const {
    std::ifstream in{log_file};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

outcome as(const std::string& token, const std::vector<std::string>& args) {
  return run_to_end(args, {{"BROKEDANCER_TOKEN", token}});
}

// Sends `request` as is and returns what the server answers before it closes (or `wait_s`
// pass).
std::string raw_http(const std::string& port, const std::string& request, int wait_s = 3) {
  int fd = dial_loopback(static_cast<uint16_t>(std::stoi(port)));
  timeval timeout{wait_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL)
          == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (;;) {
    auto n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0)
      break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return answer;
}

} // namespace

TEST_CASE("a control command without a credential, or with a wrong one, is refused and logged "
          "without the secret",
          "[control][auth]") {
  api_node node;
  auto wrong = make_token();
  auto none = run_to_end({"status", "--node", node.address}, {{"BROKEDANCER_TOKEN", ""}});
  CHECK(none.exit_code == exit_code::not_authenticated);
  auto refused = as(wrong, {"halt", "--node", node.address, "--reason", "intruder"});
  CHECK(refused.exit_code == exit_code::not_authenticated);
  auto status = node_status(node.address);
  REQUIRE(status.is_object());
  CHECK(status["level"] == "NORMAL");
  bool audited = false;
  for (const auto& a : status["audit"])
    audited = audited
              || (a["command"] == "halt" && a["credential"] == "-"
                  && a["outcome"] == "unauthenticated: unknown credential");
  CHECK(audited);
  auto log = node.log();
  CHECK_THAT(log, Contains("unauthenticated: unknown credential"));
  CHECK_THAT(log, !Contains(wrong));
  CHECK_THAT(log, !Contains(wrong.substr(4, 16)));
}

TEST_CASE("repeated failed attempts from one address are throttled, and a valid credential is "
          "never refused for them",
          "[control][auth]") {
  api_node node;
  auto wrong = make_token();
  for (int i = 0; i < 5; ++i)
    CHECK(as(wrong, {"status", "--node", node.address}).exit_code == exit_code::not_authenticated);
  auto answer = raw_http(node.port, "GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                        + wrong + "\r\nConnection: close\r\n\r\n");
  CHECK_THAT(answer, Contains("429"));
  CHECK_THAT(answer, Contains("Retry-After"));
  // An operator on the same host (the same address) is not locked out by a guesser.
  CHECK(as(credentials().operator_token, {"halt", "--node", node.address, "--reason", "locked?"})
            .exit_code
        == exit_code::ok);
}

TEST_CASE("the operator role halts but may not resume, and the risk role resumes",
          "[control][auth]") {
  api_node node;
  const auto& c = credentials();
  CHECK(as(c.operator_token, {"status", "--node", node.address}).exit_code == exit_code::ok);
  CHECK(as(c.operator_token, {"halt", "--node", node.address, "--reason", "desk halt"}).exit_code
        == exit_code::ok);
  auto resume = as(c.operator_token, {"resume", "--node", node.address, "--reason", "lift it"});
  CHECK(resume.exit_code == exit_code::command_refused);
  CHECK(node_status(node.address)["level"] == "HALT");
  CHECK(as(c.risk_token, {"resume", "--node", node.address, "--reason", "risk says ok"}).exit_code
        == exit_code::ok);
  auto status = node_status(node.address);
  CHECK(status["level"] == "NORMAL");
  // The audit trail names who did what.
  std::vector<std::string> seen;
  for (const auto& a : status["audit"])
    seen.push_back(a["command"].get<std::string>() + " " + a["credential"].get<std::string>() + " "
                   + a["outcome"].get<std::string>());
  CHECK_THAT(seen, Catch::VectorContains(std::string{"halt test-operator ok"}));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"resume test-operator forbidden"}));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"resume test-risk ok"}));
}

TEST_CASE("a reason that is not UTF-8 is refused at the CLI and by the API, and status still "
          "prints JSON",
          "[control]") {
  api_node node;
  auto bad = std::string{"bad \xff\xfe reason"};
  CHECK(run_to_end({"halt", "--node", node.address, "--reason", bad}).exit_code
        == exit_code::input_invalid);
  auto body = std::string{"{\"reason\": \"line\\nbreak\"}"};
  auto answer = raw_http(node.port, "POST /v1/halt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                        + credentials().risk_token
                                        + "\r\nContent-Type: application/json\r\nContent-Length: "
                                        + std::to_string(body.size())
                                        + "\r\nConnection: close\r\n\r\n" + body);
  CHECK_THAT(answer, Contains("400"));
  // Raw bytes that are not UTF-8 inside the JSON body are refused as well.
  auto raw = std::string{"{\"reason\": \"\xff\"}"};
  answer =
      raw_http(node.port, "POST /v1/halt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                              + credentials().risk_token + "\r\nContent-Length: "
                              + std::to_string(raw.size()) + "\r\nConnection: close\r\n\r\n" + raw);
  CHECK_THAT(answer, Contains("400"));
  auto status = run_to_end({"status", "--node", node.address, "--json"});
  CHECK(status.exit_code == exit_code::ok);
  auto parsed = json::parse(status.out, nullptr, false);
  REQUIRE(parsed.is_object());
  CHECK(parsed["level"] == "NORMAL");
}

TEST_CASE("a request announcing a huge body is refused before it is read, and the node goes on",
          "[control]") {
  api_node node;
  auto answer = raw_http(node.port,
                         "POST /v1/halt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                             + credentials().risk_token + "\r\nContent-Length: 2147483648\r\n\r\n",
                         10);
  // Refused on the headers alone: the body is never read.
  CHECK_THAT(answer, Contains("413"));
  // Garbage that is not HTTP at all, such as a CAF BASP header, is dropped.
  std::string basp(32, '\0');
  basp[0] = 0x01;
  basp[8] = 0x7f; // payload length far beyond anything
  raw_http(node.port, basp);
  auto status = node_status(node.address);
  REQUIRE(status.is_object());
  CHECK(status["level"] == "NORMAL");
  CHECK(status["bots"]["running"] == 2);
}

TEST_CASE("strangers who trickle a request or flood headers are closed within seconds, and an "
          "operator gets through after them",
          "[control]") {
  api_node node;
  auto port = static_cast<uint16_t>(std::stoi(node.port));
  std::vector<int> strangers;
  for (int i = 0; i < 20; ++i) {
    int fd = dial_loopback(port);
    send(fd, "GET /v1/status HTTP/1.1\r\n", 25, MSG_NOSIGNAL);
    strangers.push_back(fd);
  }
  std::string flood;
  for (int i = 0; i < 512; ++i)
    flood += "X-Flood: aaaaaaaaaaaaaaaa\r\n";
  std::vector<bool> closed(strangers.size(), false);
  size_t open = strangers.size();
  auto start = std::chrono::steady_clock::now();
  while (open > 0 && std::chrono::steady_clock::now() - start < 20s) {
    for (size_t i = 0; i < strangers.size(); ++i) {
      if (closed[i])
        continue;
      // Half trickle a byte of a header that never ends, half flood headers.
      if (i % 2 == 0)
        send(strangers[i], "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      else
        send(strangers[i], flood.data(), flood.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      char answer[4096];
      auto n = recv(strangers[i], answer, sizeof(answer), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        closed[i] = true;
        --open;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  auto took = std::chrono::steady_clock::now() - start;
  for (int fd : strangers)
    close(fd);
  CHECK(open == 0);
  // 16 workers take 16 of them at once, the other 4 wait their turn: two deadlines of 3 s.
  CHECK(took < 10s);
  auto status = as(credentials().operator_token, {"status", "--node", node.address});
  CHECK(status.exit_code == exit_code::ok);
  auto after = node_status(node.address);
  REQUIRE(after.is_object());
  CHECK(after["bots"]["running"] == 2);
}

TEST_CASE("an operator API without credentials, or off loopback without TLS, is refused at start",
          "[control][config]") {
  auto port = std::to_string(free_loopback_port());
  CHECK(run_to_end(
            {"run", "--bots", "0", "--duration", "1"},
            {{"BROKEDANCER_NODE_CONTROL_PORT", port}, {"BROKEDANCER_NODE_CREDENTIALS_FILE", ""}})
            .exit_code
        == exit_code::config_invalid);
  CHECK(run_to_end({"run", "--bots", "0", "--duration", "1"},
                   {{"BROKEDANCER_NODE_CONTROL_PORT", port},
                    {"BROKEDANCER_NODE_CREDENTIALS_FILE", "/nonexistent/credentials"}})
            .exit_code
        == exit_code::config_invalid);
  CHECK(run_to_end(
            {"run", "--bots", "0", "--duration", "1"},
            {{"BROKEDANCER_NODE_CONTROL_PORT", port}, {"BROKEDANCER_NODE_CONTROL_HOST", "0.0.0.0"}})
            .exit_code
        == exit_code::config_invalid);
}

TEST_CASE("the audit trail survives a restart of the node", "[control][redis]") {
  auto prefix = "audit-test:"
                + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ":";
  environment_map store{{"BROKEDANCER_STATE_BACKEND", "redis"},
                        {"BROKEDANCER_REDIS_URL", shared_redis_url()},
                        {"BROKEDANCER_STATE_KEY_PREFIX", prefix},
                        {"BROKEDANCER_RUNTIME_NODE_NAME", "audited"}};
  {
    api_node node{store};
    CHECK(run_to_end({"halt", "--node", node.address, "--reason", "before restart"}).exit_code
          == exit_code::ok);
    node.process->signal(SIGINT);
    CHECK(finish(*node.process).exit_code == exit_code::ok);
  }
  store["BROKEDANCER_NODE_CONTROL_PORT"] = std::to_string(free_loopback_port());
  auto address = "127.0.0.1:" + store["BROKEDANCER_NODE_CONTROL_PORT"];
  child_process again{BROKEDANCER_CLI_PATH, {"run", "--bots", "1"}, quiet(store)};
  auto status = await_status(address, [](const json& s) {
    for (const auto& a : s["audit"])
      if (a["reason"] == "before restart" && a["outcome"] == "ok")
        return true;
    return false;
  });
  CHECK(status["audit"].size() >= 1);
}

TEST_CASE("REDUCE_ONLY from the operator role is lifted only by the risk role, and flatten closes "
          "every position and reports each close",
          "[control][reduce_only][flatten]") {
  // Mean-reversion bots buying every dip of a falling market: they hold what they bought.
  api_node node{{{"BROKEDANCER_BOTS_STRATEGY", "mean_reversion"},
                 {"BROKEDANCER_BOTS_MAX_POSITION", "1000"},
                 {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.05"},
                 {"BROKEDANCER_MARKET_DRIFT_PERCENT", "-0.02"},
                 {"BROKEDANCER_MARKET_TICK_MS", "20"},
                 {"BROKEDANCER_RISK_MAX_DAILY_LOSS", "0"},
                 {"BROKEDANCER_RISK_MAX_DRAWDOWN_PERCENT", "0"}}};
  const auto& c = credentials();
  // Bots trade a moment, so that the book holds something.
  await_status(node.address, [](const json& s) {
    return s["risk"].is_object() && s["risk"]["positions"].is_array()
           && !s["risk"]["positions"].empty();
  });
  auto reduce = as(c.operator_token, {"reduce-only", "--node", node.address, "--reason", "desk"});
  CHECK(reduce.exit_code == exit_code::ok);
  CHECK_THAT(reduce.out, Contains("is at REDUCE_ONLY"));
  CHECK(node_status(node.address)["level"] == "REDUCE_ONLY");
  // Lowering from HALT to REDUCE_ONLY, or from it to NORMAL, is a resume: the risk role's.
  auto lifted = as(c.operator_token, {"resume", "--node", node.address, "--reason", "lift it"});
  CHECK(lifted.exit_code == exit_code::command_refused);
  CHECK(node_status(node.address)["level"] == "REDUCE_ONLY");
  CHECK(as(c.operator_token, {"halt", "--node", node.address, "--reason", "stop"}).exit_code
        == exit_code::ok);
  CHECK(as(c.operator_token,
           {"resume", "--node", node.address, "--reason", "close", "--level", "REDUCE_ONLY"})
            .exit_code
        == exit_code::command_refused);
  CHECK(as(c.risk_token,
           {"resume", "--node", node.address, "--reason", "close", "--level", "REDUCE_ONLY"})
            .exit_code
        == exit_code::ok);
  CHECK(node_status(node.address)["level"] == "REDUCE_ONLY");
  CHECK(as(c.risk_token, {"resume", "--node", node.address, "--reason", "x", "--level", "HALT"})
            .exit_code
        == exit_code::usage);
  // A viewer may not flatten; an operator may, a symbol at a time or all at once.
  CHECK(as(c.viewer_token, {"flatten", "--node", node.address, "--reason", "peek"}).exit_code
        == exit_code::command_refused);
  CHECK(as(c.operator_token,
           {"flatten", "--node", node.address, "--reason", "x", "--symbol", "BTC USD"})
            .exit_code
        == exit_code::input_invalid);
  CHECK(as(c.operator_token, {"halt", "--node", node.address, "--reason", "hold"}).exit_code
        == exit_code::ok);
  auto flat = as(c.operator_token, {"flatten", "--node", node.address, "--reason", "end of day"});
  CHECK(flat.exit_code == exit_code::ok);
  CHECK_THAT(flat.out, Contains("-> filled at"));
  CHECK_THAT(flat.out, Contains("every position asked for is closed"));
  auto status = node_status(node.address);
  CHECK(status["risk"]["positions"].empty());
  std::vector<std::string> seen;
  for (const auto& a : status["audit"])
    seen.push_back(a["command"].get<std::string>() + " " + a["credential"].get<std::string>() + " "
                   + a["outcome"].get<std::string>().substr(0, 9));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"reduce-only test-operator ok"}));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"flatten test-viewer forbidden"}));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"flatten test-operator ok"}));
}

TEST_CASE("a strategy halt idles exactly that strategy's bots, and only the risk role lifts it",
          "[control][scope]") {
  // Four bots, "mixed": bot-1 and bot-3 momentum, bot-2 and bot-4 mean_reversion.
  api_node node{{}, 4};
  const auto& c = credentials();
  auto halted = as(c.operator_token, {"halt", "--node", node.address, "--strategy", "momentum",
                                      "--reason", "momentum misbehaves"});
  REQUIRE(halted.exit_code == exit_code::ok);
  CHECK_THAT(halted.out, Contains("strategy momentum is at HALT"));
  CHECK_THAT(halted.out, Contains("; 2 bots it covers acknowledged"));
  auto states = [](const json& s) {
    std::map<std::string, std::string> out;
    for (const auto& o : s["bot_owners"])
      out[o["bot"].get<std::string>()] = o["state"].get<std::string>();
    return out;
  };
  auto status = await_status(node.address, [&](const json& s) {
    return states(s)
           == std::map<std::string, std::string>{{"bot-1", "halted"},
                                                 {"bot-2", "running"},
                                                 {"bot-3", "halted"},
                                                 {"bot-4", "running"}};
  });
  CHECK(states(status)["bot-1"] == "halted");
  CHECK(states(status)["bot-2"] == "running");
  CHECK(status["level"] == "NORMAL"); // the node trades on
  REQUIRE(status["scopes"].size() == 1);
  CHECK(status["scopes"][0]["kind"] == "strategy");
  CHECK(status["scopes"][0]["name"] == "momentum");
  CHECK(status["scopes"][0]["level"] == "HALT");
  auto printed = as(c.viewer_token, {"status", "--node", node.address});
  CHECK_THAT(printed.out, Contains("scope strategy momentum: HALT by operator"));
  // A scoped resume is the risk role's: the operator's is refused and recorded.
  auto refused = as(c.operator_token, {"resume", "--node", node.address, "--strategy", "momentum",
                                       "--reason", "lift it"});
  CHECK(refused.exit_code == exit_code::command_refused);
  CHECK(node_status(node.address)["scopes"].size() == 1);
  // Two scopes at once is a usage error; a name that is not one, an input error.
  CHECK(as(c.risk_token, {"resume", "--node", node.address, "--strategy", "momentum", "--bot",
                          "bot-1", "--reason", "x"})
            .exit_code
        == exit_code::usage);
  CHECK(as(c.risk_token, {"halt", "--node", node.address, "--symbol", "BTC USD", "--reason", "x"})
            .exit_code
        == exit_code::input_invalid);
  auto lifted = as(c.risk_token, {"resume", "--node", node.address, "--strategy", "momentum",
                                  "--reason", "fixed"});
  CHECK(lifted.exit_code == exit_code::ok);
  auto after = await_status(node.address, [&](const json& s) {
    auto st = states(s);
    return s["scopes"].empty() && st["bot-1"] == "running" && st["bot-3"] == "running";
  });
  CHECK(after["scopes"].empty());
  std::vector<std::string> seen;
  for (const auto& a : after["audit"])
    seen.push_back(a["command"].get<std::string>() + " " + a["credential"].get<std::string>() + " "
                   + a["outcome"].get<std::string>().substr(0, 9));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"halt strategy momentum test-operator ok"}));
  // Refused at the door, before its body was read: the trail says what was asked, by whom.
  CHECK_THAT(seen, Catch::VectorContains(std::string{"resume test-operator forbidden"}));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"resume strategy momentum test-risk ok"}));
}

TEST_CASE("cancel-all cancels the bots' working orders and reports each one's answer",
          "[control][cancel_all]") {
  // An exchange that takes 1.5 s to answer: each bot has an order out most of the time.
  api_node node{{{"BROKEDANCER_RESILIENCE_ENDPOINTS_EXCHANGE_LATENCY_MS", "1500"},
                 {"BROKEDANCER_BOTS_THRESHOLD_PERCENT", "0.01"},
                 {"BROKEDANCER_MARKET_TICK_MS", "20"}},
                4};
  const auto& c = credentials();
  await_status(node.address,
               [](const json& s) { return s["bots"]["orders"].get<uint64_t>() >= 2; });
  CHECK(as(c.viewer_token, {"cancel-all", "--node", node.address, "--reason", "peek"}).exit_code
        == exit_code::command_refused);
  CHECK(as(c.operator_token,
           {"cancel-all", "--node", node.address, "--reason", "x", "--endpoint", "exchange"})
            .exit_code
        == exit_code::usage);
  // Every bot's working orders, until one round finds some (the bots keep sending).
  outcome all;
  for (int i = 0; i < 20; ++i) {
    all = as(c.operator_token, {"cancel-all", "--node", node.address, "--reason", "flat book"});
    REQUIRE(all.exit_code == exit_code::ok);
    if (all.out.find(" 0 working orders") == std::string::npos)
      break;
    std::this_thread::sleep_for(200ms);
  }
  CHECK_THAT(all.out, Contains("4 bots asked"));
  CHECK_THAT(all.out, !Contains(" 0 working orders"));
  // Each answer is final: will not execute (cancelled), or executed already (not_open).
  CHECK((all.out.find(": cancelled") != std::string::npos
         || all.out.find(": not_open") != std::string::npos));
  CHECK_THAT(all.out, !Contains(": failed"));
  // Scoped to a strategy: only its bots are asked.
  auto momentum = as(c.operator_token, {"cancel-all", "--node", node.address, "--reason", "x",
                                        "--strategy", "momentum"});
  CHECK(momentum.exit_code == exit_code::ok);
  CHECK_THAT(momentum.out, Contains("2 bots asked"));
  std::vector<std::string> seen;
  auto audited = node_status(node.address);
  for (const auto& a : audited["audit"])
    seen.push_back(a["command"].get<std::string>() + " " + a["credential"].get<std::string>() + " "
                   + a["outcome"].get<std::string>().substr(0, 9));
  CHECK_THAT(seen, Catch::VectorContains(std::string{"cancel-all test-operator ok"}));
  CHECK_THAT(seen,
             Catch::VectorContains(std::string{"cancel-all strategy momentum test-operator ok"}));
}
