// Bots inside a runtime: restarts that restore state, crash loops given up without harm to the
// others, the kill switch as a bot lives it, and the order path as the only way out.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// Takes the lock "rebalance" at start and reports what it got. With "hold_ms" it releases it
// that much later; with "try_unlock" it tries at once to release it (held or not).
class lock_taker final : public strategy {
public:
  struct seen {
    std::mutex mutex;
    std::map<std::string, std::pair<bool, uint64_t>> taken; // bot -> (acquired, fence)
    std::map<std::string, bool> released;
  };
  explicit lock_taker(std::shared_ptr<seen> board) : board_(std::move(board)) {}
  void on_start(bot_context& ctx, const json& restored) override {
    (void) restored;
    auto board = board_;
    auto id = ctx.id();
    auto hold_ms = ctx.params().value("hold_ms", 0);
    bool try_unlock = ctx.params().value("try_unlock", false);
    ctx.lock("rebalance", 10s, [board, id, hold_ms, &ctx](bool acquired, uint64_t fence) {
      {
        std::lock_guard<std::mutex> guard{board->mutex};
        board->taken[id] = {acquired, fence};
      }
      if (acquired && hold_ms > 0)
        ctx.after(std::chrono::milliseconds(hold_ms), "release");
    });
    if (try_unlock)
      release(ctx);
  }
  void on_timer(bot_context& ctx, const std::string&) override {
    release(ctx);
  }

private:
  void release(bot_context& ctx) {
    auto board = board_;
    auto id = ctx.id();
    ctx.unlock("rebalance", [board, id](bool released) {
      std::lock_guard<std::mutex> guard{board->mutex};
      board->released[id] = released;
    });
  }

  std::shared_ptr<seen> board_;
};

} // namespace

TEST_CASE("a strategy's lock has one holder, only the holder releases it, and the next holder's "
          "fence is higher",
          "[bots][lease]") {
  auto board = std::make_shared<lock_taker::seen>();
  runtime_options options;
  options.strategies["lock_taker"] = [board](const json&) {
    return std::make_unique<lock_taker>(board);
  };
  options.bots.push_back({"first", "lock_taker", R"({"hold_ms": 1500})"});
  runtime node{quiet_config(), std::move(options)};
  auto seen_of = [&](const std::string& id) {
    std::lock_guard<std::mutex> guard{board->mutex};
    auto found = board->taken.find(id);
    return found == board->taken.end() ? std::optional<std::pair<bool, uint64_t>>{}
                                       : std::optional{found->second};
  };
  auto released_by = [&](const std::string& id) {
    std::lock_guard<std::mutex> guard{board->mutex};
    auto found = board->released.find(id);
    return found == board->released.end() ? std::optional<bool>{} : std::optional{found->second};
  };
  REQUIRE(eventually([&] { return seen_of("first").has_value(); }));
  auto first = *seen_of("first");
  CHECK(first.first);
  CHECK(first.second > 0);
  // While the first holds it, another bot gets nothing, and cannot release it either.
  REQUIRE(testing::call<bool>(node.system(), node.bots(), spawn_bot_atom::value,
                              bot_config{"second", "lock_taker", R"({"try_unlock": true})"}));
  REQUIRE(eventually([&] { return seen_of("second") && released_by("second"); }));
  CHECK_FALSE(seen_of("second")->first);
  CHECK(*released_by("second") == false);
  auto status = testing::call<lease_grant>(node.system(), node.state_store(),
                                           lease_status_atom::value, std::string{"lock:rebalance"});
  REQUIRE(status);
  CHECK(status->held);
  CHECK(status->holder == "first");
  // The first releases it; the next taker's fence is higher.
  REQUIRE(eventually([&] { return released_by("first").has_value(); }));
  CHECK(*released_by("first"));
  REQUIRE(testing::call<bool>(node.system(), node.bots(), spawn_bot_atom::value,
                              bot_config{"third", "lock_taker", "{}"}));
  REQUIRE(eventually([&] { return seen_of("third").has_value(); }));
  CHECK(seen_of("third")->first);
  CHECK(seen_of("third")->second > first.second);
}

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
