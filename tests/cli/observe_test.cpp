// Seeing a node: /metrics read by Debian's promtool and scraped by a real Prometheus, the event
// stream read as a script and as a client that stops reading, the health endpoints, and the
// dashboard loaded by a real headless Chromium. Real `brokedancer run` processes on 127.0.0.1.

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.hpp"
#include "support/headless_browser.hpp"
#include "support/loopback_socket.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Catch::Contains;

namespace {

std::string temporary_directory(const char* what) {
  std::string pattern = std::string{"/tmp/brokedancer-"} + what + "-XXXXXX";
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

// A node with the operator API, started with `args` after `run`.
struct observed_node {
  uint16_t port = free_loopback_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  std::unique_ptr<child_process> process;

  explicit observed_node(std::vector<std::string> args = {"--bots", "3"},
                         environment_map env = {}) {
    env.emplace("BROKEDANCER_NODE_CONTROL_PORT", std::to_string(port));
    args.insert(args.begin(), "run");
    process = std::make_unique<child_process>(BROKEDANCER_CLI_PATH, args, quiet(env));
    await_status(
        address, [](const json& s) { return s["trading_allowed"] == true; }, 90s);
  }

  httplib::Result get(const std::string& path, const std::string& token) const {
    httplib::Client client{"127.0.0.1", port};
    client.set_read_timeout(10, 0);
    httplib::Headers headers;
    if (!token.empty())
      headers.emplace("Authorization", "Bearer " + token);
    return client.Get(path.c_str(), headers);
  }

  std::string metrics() const {
    auto res = get("/metrics", credentials().viewer_token);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return res->body;
  }
};

// The value of one sample in a Prometheus text (the line that starts with `series` and a
// space); -1 when there is none.
double sample_value(const std::string& text, const std::string& series) {
  std::istringstream lines{text};
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

// A shell command run to its end (support/cli_process.hpp's runner): its exit code, and what it
// printed on standard output and error.
outcome run_tool(const std::string& command) {
  return run_to_end({"-c", command + " 2>&1"}, {}, "/bin/sh");
}

bool have(const char* program) {
  return run_tool(std::string{"command -v "} + program).exit_code == 0;
}

// Frames of an event stream, read by a script: each frame's JSON, in arrival order.
std::vector<json> read_stream(uint16_t port, const std::string& query, size_t frames_wanted,
                              std::chrono::seconds within) {
  std::vector<json> frames;
  std::string pending;
  httplib::Client client{"127.0.0.1", port};
  client.set_read_timeout(static_cast<time_t>(within.count()), 0);
  auto deadline = std::chrono::steady_clock::now() + within;
  httplib::Headers headers{{"Authorization", "Bearer " + credentials().viewer_token}};
  client.Get(("/api/events?" + query).c_str(), headers, [&](const char* data, size_t length) {
    pending.append(data, length);
    for (auto end = pending.find("\n\n"); end != std::string::npos; end = pending.find("\n\n")) {
      auto frame = pending.substr(0, end);
      pending.erase(0, end + 2);
      auto at = frame.find("data: ");
      if (at != std::string::npos)
        frames.push_back(json::parse(frame.substr(at + 6, frame.find('\n', at) - at - 6)));
    }
    return frames.size() < frames_wanted && std::chrono::steady_clock::now() < deadline;
  });
  return frames;
}

std::string artifact_path(const std::string& name) {
  auto dir = std::string{BROKEDANCER_ARTIFACT_DIR};
  mkdir(dir.c_str(), 0755);
  return dir + "/" + name;
}

} // namespace

TEST_CASE("/metrics needs a credential and passes promtool's check", "[observe][metrics]") {
  REQUIRE(have("promtool"));
  observed_node node;
  auto refused = node.get("/metrics", "");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  auto text = node.metrics();
  CHECK_THAT(text, Contains("# TYPE brokedancer_orders_total counter"));
  CHECK_THAT(text, Contains("# TYPE brokedancer_order_latency_seconds histogram"));
  CHECK_THAT(text, Contains("brokedancer_order_latency_seconds_bucket{le=\"+Inf\"}"));
  CHECK_THAT(text, Contains("brokedancer_breaker_state{endpoint=\"exchange\"} 0"));
  CHECK_THAT(text, Contains("brokedancer_emergency_level 0"));
  CHECK_THAT(text, Contains("brokedancer_bots{state=\"running\"} 3"));
  CHECK_THAT(text, Contains("brokedancer_bus_events_published_total{backend=\"memory\"}"));
  CHECK(sample_value(text, "brokedancer_scrape_sources_missing") == 0);
  auto dir = temporary_directory("metrics");
  std::ofstream{dir + "/metrics.txt"} << text;
  auto checked = run_tool("promtool check metrics < " + dir + "/metrics.txt");
  INFO(checked.out);
  CHECK(checked.exit_code == 0);
}

TEST_CASE("a real Prometheus scrapes the node and reads the order counter the node reports",
          "[observe][metrics][prometheus]") {
  REQUIRE(have("prometheus"));
  observed_node node;
  // Orders stop at HALT: the counter then holds still, so the node's and Prometheus's values
  // can be compared exactly.
  auto fills = [&] {
    return sample_value(node.metrics(),
                        "brokedancer_orders_total{outcome=\"filled\",code=\"none\"}");
  };
  REQUIRE(eventually([&] { return fills() > 0; }, 30s));
  auto halted = run_to_end({"halt", "--node", node.address, "--reason", "compare counters"});
  REQUIRE(halted.exit_code == exit_code::ok);
  auto at_node = fills();
  REQUIRE(at_node > 0);

  auto dir = temporary_directory("prometheus");
  std::ofstream{dir + "/token"} << credentials().viewer_token;
  auto prometheus_port = free_loopback_port();
  std::ofstream{dir + "/prometheus.yml"}
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: brokedancer\n    scrape_interval: 1s\n"
      << "    authorization:\n      type: Bearer\n      credentials_file: " << dir << "/token\n"
      << "    static_configs:\n      - targets: ['" << node.address << "']\n";
  child_process prometheus{
      "/usr/bin/prometheus",
      {"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      {}};
  auto query = [&](const std::string& promql) -> json {
    httplib::Client client{"127.0.0.1", prometheus_port};
    client.set_read_timeout(5, 0);
    auto res = client.Get("/api/v1/query", httplib::Params{{"query", promql}}, httplib::Headers{});
    if (!res || res->status != 200)
      return nullptr;
    auto body = json::parse(res->body, nullptr, false);
    if (body.is_discarded() || body["data"]["result"].empty())
      return nullptr;
    return body["data"]["result"][0]["value"][1];
  };
  CHECK(eventually([&] { return query("up{job=\"brokedancer\"}") == "1"; }, 60s));
  json scraped;
  CHECK(eventually(
      [&] {
        // An order in flight at the HALT may still fill: the node is asked again each time.
        at_node = fills();
        scraped = query("brokedancer_orders_total{outcome=\"filled\",code=\"none\"}");
        return scraped.is_string() && std::stod(scraped.get<std::string>()) == at_node;
      },
      30s));
  INFO("node: " << at_node << ", prometheus: " << scraped.dump());
  CHECK(scraped.is_string());
  CHECK(query("brokedancer_emergency_level") == "3");
}

TEST_CASE("/api/events delivers the events of a run in order, filtered by topic",
          "[observe][events]") {
  observed_node node;
  auto frames = read_stream(node.port, "topics=trading.orders", 12, 60s);
  REQUIRE(frames.size() >= 12);
  uint64_t last = 0;
  for (const auto& f : frames) {
    CHECK(f["topic"] == "trading.orders");
    CHECK(f["source_node"].is_string());
    auto sequence = f["sequence"].get<uint64_t>();
    CHECK(sequence > last);
    last = sequence;
    CHECK(f["data"]["type"] == "ORDER_UPDATE");
    CHECK_THAT(f["data"]["bot_id"].get<std::string>(), Catch::StartsWith("bot-"));
  }
  // Every level change, with the status frames the dashboard asks for.
  auto with_status = read_stream(node.port, "topics=emergency.*&status=1", 1, 30s);
  REQUIRE(with_status.size() == 1);
  CHECK(with_status[0]["topic"] == "node.status");
  CHECK(with_status[0]["data"]["bot_list"].size() == 3);
  CHECK(with_status[0]["data"]["level"] == "NORMAL");

  auto refused = node.get("/api/events", "");
  REQUIRE(refused);
  CHECK(refused->status == 401);
  auto bad = node.get("/api/events?topics=a%20b", credentials().viewer_token);
  REQUIRE(bad);
  CHECK(bad->status == 400);
}

TEST_CASE("a stream client that stops reading is cut off and the node's orders go on",
          "[observe][events]") {
  // Fast ticks: a stream of every topic carries a few hundred kilobytes a second. The limits
  // are off, so that nothing but the stream could change the rate (the default ones halt such
  // a busy node within seconds).
  observed_node node({"--bots", "4"}, {{"BROKEDANCER_MARKET_TICK_MS", "2"},
                                       {"BROKEDANCER_RISK_MAX_POSITION_SIZE", "0"},
                                       {"BROKEDANCER_RISK_MAX_TOTAL_POSITION", "0"},
                                       {"BROKEDANCER_RISK_MAX_TRADES_PER_HOUR", "0"},
                                       {"BROKEDANCER_RISK_MAX_DAILY_LOSS", "0"},
                                       {"BROKEDANCER_RISK_MAX_DRAWDOWN_PERCENT", "0"},
                                       {"BROKEDANCER_RISK_MAX_ORDER_NOTIONAL", "0"}});
  auto filled = [&] {
    return sample_value(node.metrics(),
                        "brokedancer_orders_total{outcome=\"filled\",code=\"none\"}");
  };
  auto rate_over = [&](std::chrono::seconds window) {
    auto before = filled();
    std::this_thread::sleep_for(window);
    return (filled() - before) / static_cast<double>(window.count());
  };
  auto alone = rate_over(4s);

  // A client that asks for everything, with a tiny receive buffer, and never reads.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(node.port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string request = "GET /api/events?topics=* HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + credentials().viewer_token + "\r\n\r\n";
  REQUIRE(send(fd, request.data(), request.size(), MSG_NOSIGNAL)
          == static_cast<ssize_t>(request.size()));
  auto stalled = rate_over(4s);
  CHECK(node_status(node.address)["level"] == "NORMAL");
  // Cut off: the node no longer counts it among its stream clients, though its socket is open.
  CHECK(eventually(
      [&] {
        auto text = node.metrics();
        return sample_value(text, "brokedancer_event_stream_clients") == 0;
      },
      30s));
  close(fd);
  INFO("fills per second alone: " << alone << ", with a stalled client: " << stalled);
  CHECK(alone > 0);
  // The node kept trading while the client stalled (a node that waited on it would trade
  // nothing). How much a stalled client costs the order rate is a benchmark's figure
  // (order-path-observed, `stalled`), not a timed test's on a shared machine.
  CHECK(stalled > 0);
  // The node serves the next client as before.
  CHECK(read_stream(node.port, "topics=trading.*", 3, 30s).size() >= 3);
}

TEST_CASE("liveness and readiness answer without a credential and say only that",
          "[observe][health]") {
  observed_node node;
  auto alive = node.get("/healthz", "");
  REQUIRE(alive);
  CHECK(alive->status == 200);
  CHECK(json::parse(alive->body)["alive"] == true);
  auto ready = node.get("/readyz", "");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  auto body = json::parse(ready->body);
  CHECK(body["ready"] == true);
  CHECK(body["level_known"] == true);
  CHECK(body["book_loaded"] == true);
  CHECK(body["store_reachable"] == true);
  CHECK(body.size() == 4);
}

TEST_CASE("a node whose Redis store is down is alive but not ready", "[observe][health][redis]") {
  redis_server redis;
  environment_map env{{"BROKEDANCER_STATE_BACKEND", "redis"},
                      {"BROKEDANCER_REDIS_URL", redis.url()}};
  observed_node node({"--bots", "1"}, env);
  redis.kill();
  CHECK(eventually(
      [&] {
        auto res = node.get("/readyz", "");
        return res && res->status == 503 && json::parse(res->body)["store_reachable"] == false;
      },
      30s));
  auto alive = node.get("/healthz", "");
  REQUIRE(alive);
  CHECK(alive->status == 200);
}

TEST_CASE("the dashboard shows the level, every bot and the breaker, and a HALT through the CLI "
          "reaches its banner within a second",
          "[observe][dashboard][browser]") {
  REQUIRE(headless_browser::available());
  observed_node node({"--bots", "5"});
  auto page = node.get("/", "");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK_THAT(page->get_header_value("Content-Security-Policy"), Contains("script-src 'sha256-"));
  headless_browser browser;
  browser.open("http://" + node.address + "/#token=" + credentials().viewer_token);
  INFO("console: " << [&] {
    std::string all;
    for (const auto& line : browser.console())
      all += line + "\n";
    return all;
  }());
  REQUIRE(
      browser.wait_until("document.querySelectorAll('#bots-body tr[data-bot]').length === 5", 30s));
  CHECK(browser.wait_until("document.querySelector('#level').textContent === 'NORMAL'", 10s));
  CHECK(browser.wait_until("document.querySelector('#breakers-body tr[data-endpoint=\"exchange\"]')"
                           " !== null",
                           10s));
  CHECK(browser.evaluate("location.hash") == "");
  // The P&L chart draws the run's points (from /api/dashboard and the status frames).
  CHECK(browser.wait_until("document.querySelector('#pnl-chart polyline') !== null", 10s));
  auto dom = browser.dom();
  CHECK_THAT(dom, Contains("data-bot=\"bot-1\""));
  CHECK_THAT(dom, Contains("data-bot=\"bot-5\""));
  CHECK_THAT(dom, Contains("data-endpoint=\"exchange\""));
  CHECK_THAT(dom, !Contains(credentials().viewer_token));

  // Marks this document: a reload would lose it.
  browser.evaluate("window.loadedOnce = true");
  auto halted = run_to_end({"halt", "--node", node.address, "--reason", "dashboard test"});
  REQUIRE(halted.exit_code == exit_code::ok);
  auto start = std::chrono::steady_clock::now();
  CHECK(browser.wait_until("document.querySelector('#level').textContent === 'HALT'", 1000ms));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now()
                                                                    - start);
  INFO("the banner showed HALT after " << took.count() << " ms");
  CHECK(took < 1500ms);
  CHECK(browser.evaluate("document.querySelector('#level-reason').textContent.includes("
                         "'dashboard test')")
        == true);
  CHECK(browser.evaluate("window.loadedOnce === true") == true);
  browser.screenshot(artifact_path("dashboard-halt.png"));
}

TEST_CASE("the dashboard's HALT button is refused without a credential, and halts with the "
          "operator's",
          "[observe][dashboard][browser]") {
  REQUIRE(headless_browser::available());
  observed_node node({"--bots", "2"});
  headless_browser browser;
  browser.open("http://" + node.address + "/#token=" + credentials().viewer_token);
  REQUIRE(browser.wait_until("document.querySelector('#level').textContent === 'NORMAL'", 30s));
  auto press_halt = [&](const std::string& token) {
    browser.evaluate("document.querySelector('#halt-result').textContent = ''");
    browser.evaluate("document.querySelector('#halt-button').click()");
    browser.evaluate("document.querySelector('#halt-token').value = " + json(token).dump());
    browser.evaluate("document.querySelector('#halt-reason').value = 'from the dashboard'");
    browser.evaluate("document.querySelector('#halt-confirm').click()");
    // "sending HALT…" while the request is out; then the node's answer.
    REQUIRE(browser.wait_until("(t => t !== '' && !t.startsWith('sending'))("
                               "document.querySelector('#halt-result').textContent)",
                               30s));
    return browser.evaluate("document.querySelector('#halt-result').textContent")
        .get<std::string>();
  };
  CHECK_THAT(press_halt(""), Contains("401"));
  // The viewer credential the page watches with may not halt either.
  CHECK_THAT(press_halt(credentials().viewer_token), Contains("403"));
  CHECK(node_status(node.address)["level"] == "NORMAL");
  press_halt(credentials().operator_token);
  CHECK(await_status(node.address, [](const json& s) { return s["level"] == "HALT"; })["reason"]
        == "from the dashboard");
  CHECK(browser.wait_until("document.querySelector('#level').textContent === 'HALT'", 2000ms));
  // Resuming is the risk role's: the operator's credential is refused.
  browser.evaluate("document.querySelector('#resume-button').click()");
  browser.evaluate("document.querySelector('#resume-token').value = "
                   + json(credentials().operator_token).dump());
  browser.evaluate("document.querySelector('#resume-confirm').click()");
  CHECK(browser.wait_until("document.querySelector('#resume-result').textContent.includes('403')",
                           10s));
  CHECK(node_status(node.address)["level"] == "HALT");
}

TEST_CASE("the dashboard stays responsive with 1,000 bots", "[observe][dashboard][browser]") {
  REQUIRE(headless_browser::available());
  observed_node node({"--bots", "1000"});
  headless_browser browser;
  browser.open("http://" + node.address + "/#token=" + credentials().viewer_token);
  REQUIRE(browser.wait_until("document.querySelectorAll('#bots-body tr[data-bot]').length === 1000",
                             60s));
  // The longest gap between two animation frames over three seconds of live updates: a frozen
  // page would show it.
  auto longest = browser.evaluate(R"(new Promise(done => {
      let last = performance.now(), worst = 0, end = last + 3000;
      function frame(now) {
        worst = Math.max(worst, now - last);
        last = now;
        if (now < end) requestAnimationFrame(frame); else done(worst);
      }
      requestAnimationFrame(frame);
    }))",
                                  10s);
  INFO("longest frame gap: " << longest.dump() << " ms");
  CHECK(longest.get<double>() < 500);
  browser.screenshot(artifact_path("dashboard-1000-bots.png"));
}

TEST_CASE("run --dashboard prints the dashboard's address and a viewer credential that can watch "
          "and cannot halt",
          "[observe][dashboard]") {
  auto port = free_loopback_port();
  // Standard error is where the address goes; the shell folds it into what the test reads.
  child_process run{"/bin/sh",
                    {"-c", std::string{"exec \""} + BROKEDANCER_CLI_PATH
                               + "\" run --dashboard --bots 1 --duration 60 2>&1"},
                    quiet({{"BROKEDANCER_NODE_CONTROL_PORT", std::to_string(port)},
                           {"BROKEDANCER_LOG_LEVEL", "error"}})};
  std::string address_line;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (address_line.empty() && std::chrono::steady_clock::now() < deadline)
    if (auto line = run.read_line(5s); line && line->rfind("dashboard: ", 0) == 0)
      address_line = *line;
  INFO(address_line);
  REQUIRE_THAT(address_line,
               Contains("http://127.0.0.1:" + std::to_string(port) + "/ (the viewer credential"));
  // Not a terminal: the token is in a file only its owner reads, not in the output.
  auto from = address_line.find("/tmp/");
  REQUIRE(from != std::string::npos);
  auto path = address_line.substr(from, address_line.find(';', from) - from);
  struct stat info {};
  REQUIRE(stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  std::string token;
  std::ifstream{path} >> token;
  REQUIRE_FALSE(token.empty());
  CHECK(address_line.find(token) == std::string::npos);

  httplib::Client client{"127.0.0.1", port};
  client.set_read_timeout(10, 0);
  httplib::Headers as_viewer{{"Authorization", "Bearer " + token}};
  CHECK(eventually(
      [&] {
        auto res = client.Get("/metrics", as_viewer);
        return res && res->status == 200;
      },
      30s));
  auto halt =
      client.Post("/v1/halt", as_viewer, R"({"reason":"viewer tries"})", "application/json");
  REQUIRE(halt);
  CHECK(halt->status == 403);
  run.signal(SIGTERM);
  CHECK(run.wait(60s) == 0);
  // The credential died with the run, and so did its file.
  CHECK(stat(path.c_str(), &info) != 0);
}

TEST_CASE("run --dashboard refuses an operator API off loopback without TLS", "[observe]") {
  auto refused = run_to_end({"run", "--dashboard", "--duration", "1"},
                            {{"BROKEDANCER_NODE_CONTROL_HOST", "0.0.0.0"}});
  CHECK(refused.exit_code == exit_code::config_invalid);
}
