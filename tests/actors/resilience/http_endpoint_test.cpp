// The HTTP adapter against a real HTTP server on loopback that the test makes fail, stall and
// recover on command.

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <catch2/catch.hpp>

#include "actors/resilience/circuit_breaker.hpp"
#include "actors/resilience/http_endpoint.hpp"
#include "core/logging.hpp"
#include "messages/errors.hpp"
#include "messages/registry.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

// An exchange's REST API, as far as the tests need one.
class fake_api {
public:
  enum mode_type { ok, failing, stalling, rate_limited, plain_text };
  std::atomic<int> mode{ok};
  std::atomic<int> requests{0};
  std::mutex mutex;
  httplib::Headers last_headers;
  std::string last_body;

  fake_api() {
    server_.Post("/api/order", [this](const httplib::Request& req, httplib::Response& res) {
      ++requests;
      {
        std::lock_guard<std::mutex> guard{mutex};
        last_headers = req.headers;
        last_body = req.body;
      }
      switch (mode.load()) {
        case failing:
          res.status = 500;
          res.set_content(R"({"error":"internal"})", "application/json");
          return;
        case stalling: std::this_thread::sleep_for(1s); break;
        case rate_limited:
          res.status = 429;
          res.set_header("Retry-After", "2");
          res.set_content(R"({"error":"slow down"})", "application/json");
          return;
        case plain_text: res.set_content("all good", "text/plain"); return;
        default: break;
      }
      res.set_content(R"({"accepted":true})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(1ms);
  }

  ~fake_api() {
    stop();
  }

  void stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }

private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

struct http_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  fake_api api;
  endpoint_actor endpoint;

  http_fixture() {
    configure_logging({log_format::console, log_level::warn, ""});
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    http_endpoint_settings settings;
    settings.name = "fake";
    settings.base_url = api.url();
    settings.concurrency = 2;
    endpoint = spawn_http_endpoint(*sys, settings);
  }

  ~http_fixture() {
    caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
  }

  template <class Handle>
  caf::expected<endpoint_response> order(const Handle& dest, int64_t timeout_ms = 2000,
                                         std::string operation = "POST /api/order") {
    return testing::call<endpoint_response>(*sys, dest, call_atom::value,
                                            endpoint_request{std::move(operation), R"({"qty":2})",
                                                             "order-9", timeout_ms,
                                                             "c0ffee00c0ffee00"});
  }
};

} // namespace

TEST_CASE("the HTTP adapter sends the body and the idempotency headers and returns the answer",
          "[http]") {
  http_fixture f;
  auto response = f.order(f.endpoint);
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(nlohmann::json::parse(response->json)["accepted"] == true);
  std::lock_guard<std::mutex> guard{f.api.mutex};
  CHECK(f.api.last_body == R"({"qty":2})");
  auto header = [&](const char* name) {
    auto found = f.api.last_headers.find(name);
    return found == f.api.last_headers.end() ? std::string{} : found->second;
  };
  CHECK(header("Idempotency-Key") == "order-9");
  CHECK(header("X-Client-Request-Id") == "order-9");
  CHECK(header("X-Correlation-Id") == "c0ffee00c0ffee00");
  CHECK(header("Content-Type") == "application/json");
}

TEST_CASE("the HTTP adapter reports failures, stalls, rate limits and a dead server", "[http]") {
  http_fixture f;
  f.api.mode = fake_api::failing;
  auto failed = f.order(f.endpoint);
  REQUIRE(failed);
  CHECK(failed->status == 500);

  f.api.mode = fake_api::rate_limited;
  auto limited = f.order(f.endpoint);
  REQUIRE(limited);
  CHECK(limited->status == 429);
  CHECK(limited->retry_after_ms == 2000);

  f.api.mode = fake_api::plain_text;
  auto text = f.order(f.endpoint);
  REQUIRE(text);
  CHECK(text->json == R"("all good")");

  f.api.mode = fake_api::stalling;
  auto started = std::chrono::steady_clock::now();
  CHECK(is(f.order(f.endpoint, 300).error(), errc::endpoint_timeout));
  CHECK(std::chrono::steady_clock::now() - started < 900ms);

  CHECK(is(f.order(f.endpoint, 2000, "FETCH /api/order").error(), errc::invalid_argument));

  f.api.stop();
  CHECK(is(f.order(f.endpoint).error(), errc::endpoint_unreachable));
}

TEST_CASE("behind a breaker, a failing HTTP API opens it and a recovered one closes it again",
          "[http][breaker]") {
  http_fixture f;
  circuit_breaker_options options;
  options.endpoint = "fake";
  options.breaker.failure_threshold = 3;
  options.breaker.recovery_timeout = 200ms;
  options.breaker.half_open_calls = 1;
  options.breaker.success_threshold = 1;
  options.retry.max_attempts = 1;
  auto breaker = spawn_circuit_breaker(*f.sys, f.endpoint, options);
  f.api.mode = fake_api::failing;
  for (int i = 0; i < 3; ++i)
    CHECK(f.order(breaker)->status == 500);
  auto seen = f.api.requests.load();
  CHECK(is(f.order(breaker).error(), errc::breaker_open));
  CHECK(f.api.requests == seen);
  f.api.mode = fake_api::ok;
  std::this_thread::sleep_for(250ms);
  auto response = f.order(breaker);
  REQUIRE(response);
  CHECK(response->status == 200);
  auto stats = testing::call<breaker_stats>(*f.sys, breaker, status_atom::value);
  REQUIRE(stats);
  CHECK(stats->state == breaker_state::closed);
  caf::anon_send_exit(breaker, caf::exit_reason::user_shutdown);
}
