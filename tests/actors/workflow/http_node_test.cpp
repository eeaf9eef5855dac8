// The http_request node against a real HTTP server on loopback, through the node's breaker
// registry (the endpoint's breaker, retries and deadline): answers, failures by kind, the
// idempotency key, and an open breaker.

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/requests.hpp"
#include "support/workflow_fixture.hpp"
#include "support/workflow_nodes.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Catch::Matchers::Contains;

namespace {

struct venue_api {
  httplib::Server server;
  std::thread serving;
  int port = 0;
  std::mutex mutex;
  std::vector<httplib::Request> seen;

  venue_api() {
    server.Post("/quote", [this](const httplib::Request& req, httplib::Response& res) {
      remember(req);
      auto body = json::parse(req.body);
      res.set_content(json{{"echo", body}, {"price", 101.5}}.dump(), "application/json");
    });
    server.Get("/missing", [this](const httplib::Request& req, httplib::Response& res) {
      remember(req);
      res.status = 404;
      res.set_content("<html>\x1b[31mnot here</html>", "text/html");
    });
    server.Get("/busy", [this](const httplib::Request& req, httplib::Response& res) {
      remember(req);
      res.status = 429;
      res.set_content(R"({"error":"slow down"})", "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    serving = std::thread([this] { server.listen_after_bind(); });
    REQUIRE(testing::eventually([this] { return server.is_running(); }));
  }

  ~venue_api() {
    server.stop();
    serving.join();
  }

  void remember(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock{mutex};
    seen.push_back(req);
  }

  size_t requests() {
    std::lock_guard<std::mutex> lock{mutex};
    return seen.size();
  }
};

environment with_venue(const venue_api& api) {
  return {{"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_API_TYPE", "http"},
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_API_BASE_URL",
           "http://127.0.0.1:" + std::to_string(api.port)},
          // The endpoint's own retries would hide the node's kinds of failure.
          {"BROKEDANCER_RESILIENCE_ENDPOINTS_VENUE_API_RETRY_MAX_ATTEMPTS", "1"}};
}

json request_node(const char* method, const char* path, json extra = json::object()) {
  auto node = testing::node_json("call", "http_request",
                                 {{"endpoint", "venue_api"}, {"method", method}, {"path", path}});
  node["retry"] = {{"attempts", 1}};
  for (auto& [key, value] : extra.items())
    node[key] = value;
  return node;
}

} // namespace

TEST_CASE("an http_request node posts its body through the endpoint's breaker and gives the "
          "answer's JSON",
          "[workflow][http]") {
  venue_api api;
  testing::execution_fixture f{with_venue(api)};
  f.services.http_endpoints = {"venue_api"};
  auto node = request_node("POST", "/quote");
  node["inputs"] = {{"body", "order.value"}};
  auto result = f.run({testing::node_json("order", "constant", {{"value", 7}}), node});
  REQUIRE(result["status"] == "completed");
  CHECK(result["outputs"]["call"]["status"] == 200);
  CHECK(result["outputs"]["call"]["body"] == json{{"echo", 7}, {"price", 101.5}});
  REQUIRE(api.requests() == 1);
  auto id = result["execution_id"].get<std::string>();
  CHECK(api.seen[0].get_header_value("Idempotency-Key") == id + "-call");
  CHECK(api.seen[0].get_header_value("X-Correlation-Id") == id);
  // The call went through the endpoint's breaker, which counted it.
  auto all =
      testing::call<std::vector<breaker_stats>>(*f.sys, f.services.breakers, status_atom::value);
  REQUIRE(all);
  bool counted = false;
  for (const auto& b : *all)
    counted = counted || (b.endpoint == "venue_api" && b.successes == 1);
  CHECK(counted);
}

TEST_CASE("an http_request node fails by the kind of its answer, and not at all past an open "
          "breaker",
          "[workflow][http]") {
  venue_api api;
  testing::execution_fixture f{with_venue(api)};
  f.services.http_endpoints = {"venue_api"};
  auto missing = f.run({request_node("GET", "/missing")});
  CHECK(missing["status"] == "failed");
  // The page's control characters are not repeated.
  CHECK_THAT(missing["error"].get<std::string>(),
             Contains("failed: endpoint venue_api answered 404") && !Contains("\x1b"));
  auto busy = f.run({request_node("GET", "/busy")});
  CHECK_THAT(busy["error"].get<std::string>(), Contains("rate_limited"));
  // Only the endpoints workflows.http_endpoints lists: never the orders' one.
  for (const char* name : {"nowhere", "exchange"}) {
    auto unlisted = request_node("POST", "/orders");
    unlisted["parameters"]["endpoint"] = name;
    CHECK_THAT(f.run({unlisted})["error"].get<std::string>(),
               Contains("is not one workflows may call"));
  }
  for (const char* path : {"quote", "/../admin", "/a b"}) {
    auto bad = f.run({request_node("GET", path)});
    CHECK_THAT(bad["error"].get<std::string>(), Contains("a path"));
  }
  auto before = api.requests();
  REQUIRE(testing::call<breaker_stats>(*f.sys, f.services.breakers, force_open_atom::value,
                                       std::string{"venue_api"}, std::string{"maintenance"}));
  auto fenced = f.run({request_node("POST", "/quote",
                                    {{"parameters",
                                      {{"endpoint", "venue_api"},
                                       {"method", "POST"},
                                       {"path", "/quote"},
                                       {"body", {{"a", 1}}}}}})});
  CHECK_THAT(fenced["error"].get<std::string>(), Contains("unavailable: endpoint venue_api"));
  CHECK(api.requests() == before); // nothing reached it
}
