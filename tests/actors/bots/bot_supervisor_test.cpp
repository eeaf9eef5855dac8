// Bots inside a runtime: restarts that restore state, crash loops given up without harm to the
// others, the kill switch as a bot lives it, and the order path as the only way out.

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>

#include <catch2/catch.hpp>

#include "actors/bots/bot.hpp"
#include "actors/bots/bot_host.hpp"
#include "messages/bot.hpp"
#include "messages/market.hpp"
#include "runtime/runtime.hpp"
#include "support/bus_fixture.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

runtime_config quiet_config(environment extra = {}) {
  environment env{{"BROKEDANCER_LOG_LEVEL", "error"},
                  {"BROKEDANCER_BOTS_COUNT", "0"},
                  {"BROKEDANCER_MARKET_TICK_MS", "10"}};
  for (auto& [key, value] : extra)
    env[key] = value;
  return load_config(embedded_default_config(), env);
}

// Polls `ready` every 5 ms for up to 20 s (the sanitizers and a parallel run are slow).
template <class F>
bool eventually(F&& ready) {
  for (int i = 0; i < 4000; ++i) {
    if (ready())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

std::optional<bot_stats> stats_of(runtime& node, const std::string& id) {
  auto all = testing::call<std::vector<bot_stats>>(node.system(), node.bots(), bots_atom::value);
  if (!all)
    return std::nullopt;
  for (auto& b : *all)
    if (b.id == id)
      return b;
  return std::nullopt;
}

// Counts its starts in its saved state and crashes on a timer until it has started three times.
class crash_twice final : public strategy {
public:
  void on_start(bot_context& ctx, const json& restored) override {
    int starts = restored.is_object() ? restored.value("starts", 0) : 0;
    ctx.save({{"starts", starts + 1}});
    if (starts + 1 < 3)
      ctx.after(50ms, "crash");
  }
  void on_timer(bot_context&, const std::string&) override {
    throw std::runtime_error("crashing on purpose");
  }
};

class always_crash final : public strategy {
public:
  void on_start(bot_context&, const json&) override {
    throw std::runtime_error("this strategy cannot start");
  }
};

// Tries to buy on every tick, whatever the level says.
class eager_buyer final : public strategy {
public:
  explicit eager_buyer(std::shared_ptr<std::atomic<int>> heard) : heard_(heard) {}
  void on_start(bot_context& ctx, const json&) override {
    ctx.subscribe("market.BTC-USD");
  }
  void on_event(bot_context& ctx, const event& ev) override {
    quote q;
    std::string why;
    if (decode_quote(ev.json, q, why))
      ctx.submit("BTC-USD", order_side::buy, 0.01, q.ask);
  }
  void on_level(bot_context&, const level_change&) override {
    ++*heard_;
  }

private:
  std::shared_ptr<std::atomic<int>> heard_; // level changes the strategy was told of
};

} // namespace

TEST_CASE("a crashing bot is restarted and restores its state from the store", "[bots]") {
  runtime_options options;
  options.strategies["crash_twice"] = [](const json&) {
    return std::make_unique<crash_twice>();
  };
  options.bots.push_back({"phoenix", "crash_twice", "{}"});
  runtime node{quiet_config(), std::move(options)};
  REQUIRE(eventually([&] {
    auto s = stats_of(node, "phoenix");
    return s && s->restarts == 2 && s->state == "running";
  }));
  auto s = stats_of(node, "phoenix");
  CHECK_THAT(s->last_error, Catch::Matchers::Contains("crashing on purpose"));
  // Each incarnation read what the one before had saved.
  auto saved = testing::call<maybe_value>(node.system(), node.state_store(), get_atom::value,
                                          bot_state_key("phoenix"));
  REQUIRE(saved);
  REQUIRE(saved->found);
  CHECK(json::parse(saved->json)["starts"] == 3);
}

TEST_CASE("a crash-looping bot is given up and reported, and the other bots and the runtime go on",
          "[bots]") {
  runtime_options options;
  options.strategies["always_crash"] = [](const json&) {
    return std::make_unique<always_crash>();
  };
  runtime node{
      quiet_config({{"BROKEDANCER_BOTS_COUNT", "2"}, {"BROKEDANCER_BOTS_MAX_RESTARTS", "2"}}),
      std::move(options)};
  auto box = std::make_shared<testing::inbox>();
  auto probe = node.system().spawn(testing::collector, box);
  REQUIRE(testing::call<uint64_t>(node.system(), node.event_bus(), subscribe_atom::value,
                                  std::string{"trading.system"}, probe));
  // Spawned now that the probe listens; the answer says it could not be kept up.
  auto spawned = testing::call<bool>(node.system(), node.bots(), spawn_bot_atom::value,
                                     bot_config{"doomed", "always_crash", "{}"});
  REQUIRE_FALSE(spawned);
  CHECK_THAT(node.system().render(spawned.error()), Catch::Matchers::Contains("crashed too often"));
  auto doomed = stats_of(node, "doomed");
  REQUIRE(doomed);
  CHECK(doomed->state == "given_up");
  CHECK(doomed->restarts == 2);
  CHECK_THAT(doomed->last_error, Catch::Matchers::Contains("this strategy cannot start"));
  // Reported on trading.system; the other bots run on, and nothing escalated.
  REQUIRE(box->await(1) >= 1);
  {
    std::lock_guard<std::mutex> guard{box->mutex};
    auto report = json::parse(box->events.front().json);
    CHECK(report["event"] == "bot_given_up");
    CHECK(report["bot"] == "doomed");
  }
  for (const char* id : {"bot-1", "bot-2"}) {
    auto s = stats_of(node, id);
    REQUIRE(s);
    CHECK(s->state == "running");
    CHECK(s->restarts == 0);
  }
  auto summary = testing::call<bots_summary>(node.system(), node.bots(), status_atom::value);
  REQUIRE(summary);
  CHECK(summary->running == 2);
  CHECK(summary->given_up == 1);
  auto level = testing::call<emergency_status>(node.system(), node.emergency(), status_atom::value);
  REQUIRE(level);
  CHECK(level->current.level == emergency_level::normal);
  caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
}

TEST_CASE("from HALT up a bot's orders never reach the risk monitor, and after a resume they do",
          "[bots][emergency]") {
  auto heard = std::make_shared<std::atomic<int>>(0);
  runtime_options options;
  options.strategies["eager_buyer"] = [heard](const json&) {
    return std::make_unique<eager_buyer>(heard);
  };
  options.bots.push_back({"eager", "eager_buyer", "{}"});
  runtime node{quiet_config(), std::move(options)};
  auto& sys = node.system();
  auto filled = [&] {
    auto r = testing::call<risk_status>(sys, node.risk_monitor(), status_atom::value);
    REQUIRE(r);
    return r->orders_filled + r->orders_rejected + r->orders_failed;
  };
  REQUIRE(eventually([&] { return filled() >= 3; }));
  auto change =
      testing::call<level_change>(sys, node.emergency(), raise_atom::value, emergency_level::halt,
                                  std::string{"test"}, change_source::operator_request);
  REQUIRE(change);
  // Once the bot has acknowledged, nothing more reaches the risk monitor however often it
  // tries.
  REQUIRE(testing::call<int64_t>(sys, node.emergency(), await_ack_atom::value, change->sequence));
  auto at_halt = filled();
  REQUIRE(eventually([&] {
    auto s = stats_of(node, "eager");
    return s && s->rejections.count("halted") > 0 && s->rejections.at("halted") >= 10;
  }));
  CHECK(filled() == at_halt);
  auto s = stats_of(node, "eager");
  CHECK(s->state == "halted");
  // Resumed by an operator, it trades again.
  REQUIRE(testing::call<level_change>(sys, node.emergency(), resume_atom::value,
                                      emergency_level::normal, std::string{"all clear"},
                                      change_source::operator_request));
  REQUIRE(eventually([&] { return filled() > at_halt + 2; }));
  // The strategy heard both changes, after its host had acted on them.
  REQUIRE(eventually([&] { return heard->load() >= 2; }));
}

TEST_CASE("a bot stopped by request stays stopped and is not restarted", "[bots]") {
  runtime node{quiet_config({{"BROKEDANCER_BOTS_COUNT", "2"}}), runtime_options{}};
  auto& sys = node.system();
  REQUIRE(eventually([&] {
    auto s = stats_of(node, "bot-1");
    return s && s->state == "running";
  }));
  auto stopped = testing::call<bool>(sys, node.bots(), stop_bot_atom::value, std::string{"bot-1"});
  REQUIRE(stopped);
  CHECK(*stopped);
  REQUIRE(eventually([&] {
    auto s = stats_of(node, "bot-1");
    return s && s->state == "stopped";
  }));
  // Nothing to stop twice, nor a bot that does not exist.
  CHECK_FALSE(*testing::call<bool>(sys, node.bots(), stop_bot_atom::value, std::string{"bot-1"}));
  CHECK_FALSE(*testing::call<bool>(sys, node.bots(), stop_bot_atom::value, std::string{"nobody"}));
  std::this_thread::sleep_for(200ms);
  auto s = stats_of(node, "bot-1");
  CHECK(s->state == "stopped");
  CHECK(s->restarts == 0);
  CHECK(stats_of(node, "bot-2")->state == "running");
}
