// The scope controller with the real store, bus, emergency controller and risk monitor: what a
// scope blocks on the order path, whom it tells, what it persists and what a start reads back.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>

#include <catch2/catch.hpp>

#include "actors/emergency/scope_controller.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"
#include "messages/halt_scope.hpp"
#include "messages/registry.hpp"
#include "messages/risk.hpp"
#include "runtime/infrastructure.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;
using Catch::Matchers::StartsWith;

namespace {

struct scoped_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  supervision_tree tree;
  risk_monitor_actor risk;
  emergency_actor emergency;
  scope_actor scopes;
  state_store_actor store;
  int next_id = 1;

  scoped_fixture() {
    environment settings{{"BROKEDANCER_LOG_LEVEL", "error"},
                         {"BROKEDANCER_MARKET_SYMBOLS", ""},
                         {"BROKEDANCER_RISK_MAX_DAILY_LOSS", "0"},
                         {"BROKEDANCER_RISK_MAX_DRAWDOWN_PERCENT", "0"}};
    auto config = load_config(embedded_default_config(), settings);
    configure_logging(config.log);
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    supervisor_options options;
    options.max_restarts = 10;
    tree = spawn_supervisor(*sys, options,
                            {state_store_child(config), event_bus_child(config),
                             breakers_child(config), emergency_child(config, nullptr),
                             scope_child(config), risk_monitor_child(config)});
    risk = caf::actor_cast<risk_monitor_actor>(tree.children.at("risk_monitor"));
    emergency = caf::actor_cast<emergency_actor>(tree.children.at("emergency"));
    scopes = caf::actor_cast<scope_actor>(tree.children.at("scopes"));
    store = caf::actor_cast<state_store_actor>(tree.children.at("state_store"));
    REQUIRE(testing::eventually([&] {
      auto s = testing::call<risk_status>(*sys, risk, status_atom::value);
      return s && s->loaded && s->reconciled && s->level == emergency_level::normal
             && submit("WARM", order_side::buy, 0.001, 1).code != reject_code::level_unknown;
    }));
  }

  ~scoped_fixture() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }

  order_result submit(const std::string& symbol, order_side side, double quantity, double price,
                      const std::string& bot = "bot-1", const std::string& strategy = "momentum") {
    order o{bot, symbol, side, quantity, price, "o-" + std::to_string(next_id++), ""};
    o.strategy = strategy;
    auto result = testing::call<order_result>(*sys, risk, submit_order_atom::value, o);
    REQUIRE(result);
    return *result;
  }

  scope_reply raise(scope_kind kind, const std::string& name, emergency_level level) {
    auto reply =
        testing::call<scope_reply>(*sys, scopes, raise_scope_atom::value, kind, name, level,
                                   std::string{"test"}, change_source::operator_request);
    REQUIRE(reply);
    return *reply;
  }

  caf::expected<scope_reply> lower(scope_kind kind, const std::string& name,
                                   change_source source = change_source::operator_request) {
    return testing::call<scope_reply>(*sys, scopes, lower_scope_atom::value, kind, name,
                                      emergency_level::normal, std::string{"lift"}, source);
  }

  scope_status status() {
    auto s = testing::call<scope_status>(*sys, scopes, status_atom::value);
    REQUIRE(s);
    return *s;
  }
};

// A stand-in bot: registers with `subject`, records each view it is told, acknowledges it.
struct fake_bot {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<bot_scope_view>> views =
      std::make_shared<std::vector<bot_scope_view>>();
  caf::actor handle;

  // `acks` false: a bot that hears but never acknowledges (stuck on something else).
  fake_bot(scoped_fixture& f, scope_subject subject, bool acks = true) {
    handle =
        f.sys->spawn([m = mutex, v = views, acks](caf::event_based_actor* self) -> caf::behavior {
          return {[self, m, v, acks](const bot_scope_view& view) {
            {
              std::lock_guard<std::mutex> guard{*m};
              v->push_back(view);
            }
            if (acks)
              self->send(caf::actor_cast<scope_actor>(self->current_sender()),
                         scope_ack_atom::value, view.version);
          }};
        });
    REQUIRE(testing::call<bot_scope_view>(*f.sys, f.scopes, register_scoped_atom::value, handle,
                                          subject));
  }

  ~fake_bot() {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  }

  size_t told() const {
    std::lock_guard<std::mutex> guard{*mutex};
    return views->size();
  }

  emergency_level last_level() const {
    std::lock_guard<std::mutex> guard{*mutex};
    return views->empty() ? emergency_level::normal : views->back().level;
  }
};

} // namespace

TEST_CASE("a symbol scope blocks that symbol's orders at the risk monitor and nothing else",
          "[scope]") {
  scoped_fixture f;
  REQUIRE(f.submit("BTC", order_side::buy, 1, 100).outcome == order_outcome::filled);
  f.raise(scope_kind::symbol, "BTC", emergency_level::halt);
  REQUIRE(testing::eventually(
      [&] { return f.submit("BTC", order_side::sell, 0.1, 100).code == reject_code::halted; }));
  auto refused = f.submit("BTC", order_side::sell, 0.1, 100);
  CHECK_THAT(refused.reason, StartsWith("halted: the symbol BTC is HALTed (test)"));
  CHECK(f.submit("ETH", order_side::buy, 1, 100).outcome == order_outcome::filled);
  // A strategy's REDUCE_ONLY: its bots only close; another strategy's bots trade on.
  f.raise(scope_kind::strategy, "momentum", emergency_level::reduce_only);
  REQUIRE(testing::eventually(
      [&] { return f.submit("ETH", order_side::buy, 1, 100).code == reject_code::reduce_only; }));
  CHECK(f.submit("ETH", order_side::sell, 0.5, 100).outcome == order_outcome::filled);
  CHECK(f.submit("ETH", order_side::buy, 1, 100, "bot-2", "mean_reversion").outcome
        == order_outcome::filled);
  // An endpoint's HALT covers every order to it.
  f.raise(scope_kind::endpoint, "exchange", emergency_level::halt);
  REQUIRE(testing::eventually([&] {
    return f.submit("SOL", order_side::buy, 1, 10, "bot-2", "mean_reversion").code
           == reject_code::halted;
  }));
  // The node's level is untouched throughout.
  auto level = testing::call<emergency_status>(*f.sys, f.emergency, status_atom::value);
  REQUIRE(level);
  CHECK(level->current.level == emergency_level::normal);
  CHECK(f.status().in_force.size() == 3);
}

TEST_CASE("a scope is told only to the bots it covers, which acknowledge it", "[scope]") {
  scoped_fixture f;
  fake_bot one{f, {"bot-1", "momentum", "exchange"}};
  fake_bot two{f, {"bot-2", "mean_reversion", "exchange"}};
  fake_bot three{f, {"bot-3", "momentum", "exchange"}};
  auto reply = f.raise(scope_kind::strategy, "momentum", emergency_level::halt);
  CHECK(reply.bots_covered == 2);
  auto took = testing::call<int64_t>(*f.sys, f.scopes, await_scope_ack_atom::value, reply.version);
  REQUIRE(took);
  CHECK(*took >= 0);
  CHECK(one.told() == 1);
  CHECK(three.told() == 1);
  CHECK(two.told() == 0);
  CHECK(one.last_level() == emergency_level::halt);
  auto s = f.status();
  CHECK(s.bots_registered == 3);
  CHECK(s.bots_told == 2);
  CHECK(s.bots_acknowledged == 2);
  // A symbol's scope reaches every bot (each checks its own symbols).
  auto symbol = f.raise(scope_kind::symbol, "BTC", emergency_level::halt);
  CHECK(symbol.bots_covered == 3);
  // Raising what is already at that level changes nothing and tells nobody.
  auto again = f.raise(scope_kind::strategy, "momentum", emergency_level::halt);
  CHECK(again.bots_covered == 0);
  CHECK(again.version == symbol.version);
  // Lifting is an operator's, with a reason; a scope not in force cannot be lifted.
  CHECK_FALSE(f.lower(scope_kind::strategy, "momentum", change_source::risk_monitor));
  CHECK_FALSE(f.lower(scope_kind::bot, "bot-9"));
  auto lifted = f.lower(scope_kind::strategy, "momentum");
  REQUIRE(lifted);
  CHECK(lifted->bots_covered == 2);
  CHECK(testing::eventually([&] { return one.last_level() == emergency_level::normal; }));
  // Names are plain names; levels of a raise are REDUCE_ONLY or HALT.
  CHECK_FALSE(testing::call<scope_reply>(*f.sys, f.scopes, raise_scope_atom::value, scope_kind::bot,
                                         std::string{"a b"}, emergency_level::halt,
                                         std::string{"x"}, change_source::operator_request));
  CHECK_FALSE(testing::call<scope_reply>(*f.sys, f.scopes, raise_scope_atom::value, scope_kind::bot,
                                         std::string{"b"}, emergency_level::alert, std::string{"x"},
                                         change_source::operator_request));
}

TEST_CASE("scopes are persisted, and a new controller on the same store starts with them",
          "[scope]") {
  scoped_fixture f;
  f.raise(scope_kind::symbol, "BTC", emergency_level::halt);
  f.raise(scope_kind::bot, "bot-7", emergency_level::reduce_only);
  REQUIRE(f.lower(scope_kind::bot, "bot-7"));
  REQUIRE(testing::eventually([&] { return f.status().persisted; }));
  // Another node's controller (its own data) on the same store reads both tables at start.
  scope_options options;
  options.node_name = "other";
  auto other = spawn_scope_controller(*f.sys, make_scope_data(), options, f.store, {}, {});
  scope_status seen;
  REQUIRE(testing::eventually([&] {
    auto s = testing::call<scope_status>(*f.sys, other, status_atom::value);
    if (s)
      seen = *s;
    return s && s->restored;
  }));
  REQUIRE(seen.in_force.size() == 1);
  CHECK(seen.in_force[0].name == "BTC");
  CHECK(seen.in_force[0].change.level == emergency_level::halt);
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE("a stored scope table that cannot be read halts the node, saying which", "[scope]") {
  scoped_fixture f;
  REQUIRE_FALSE(testing::ack(*f.sys, f.store, set_atom::value,
                             std::string{"emergency:scopes:broken"},
                             std::string{"{\"version\": 9}"}, int64_t{0}));
  scope_options options;
  options.node_name = "fresh";
  auto other = spawn_scope_controller(*f.sys, make_scope_data(), options, f.store, {}, f.emergency);
  REQUIRE(testing::eventually([&] {
    auto level = testing::call<emergency_status>(*f.sys, f.emergency, status_atom::value);
    return level && level->current.level == emergency_level::halt;
  }));
  auto level = testing::call<emergency_status>(*f.sys, f.emergency, status_atom::value);
  CHECK_THAT(level->current.reason, Catch::Matchers::Contains("emergency:scopes:broken"));
  caf::anon_send_exit(other, caf::exit_reason::user_shutdown);
}

TEST_CASE("a scope change is acknowledged only once every bot it told has acknowledged, whatever "
          "changes follow",
          "[scope]") {
  scoped_fixture f;
  fake_bot quick{f, {"bot-1", "momentum", "exchange"}};
  auto stuck =
      std::make_unique<fake_bot>(f, scope_subject{"bot-2", "mean_reversion", "exchange"}, false);
  auto first = f.raise(scope_kind::strategy, "mean_reversion", emergency_level::halt);
  CHECK(first.bots_covered == 1);
  // A later change that the stuck bot is not told of does not settle the first.
  auto second = f.raise(scope_kind::strategy, "momentum", emergency_level::halt);
  CHECK(second.bots_covered == 1);
  auto quick_ack =
      testing::call<int64_t>(*f.sys, f.scopes, await_scope_ack_atom::value, second.version);
  CHECK(quick_ack);
  caf::scoped_actor self{*f.sys};
  bool answered = false;
  self->request(f.scopes, std::chrono::milliseconds(300), await_scope_ack_atom::value,
                first.version)
      .receive([&](int64_t) { answered = true; }, [](caf::error&) {});
  CHECK_FALSE(answered);
  CHECK(f.status().bots_acknowledged == 1);
  // A bot that is gone owes nothing.
  stuck.reset();
  auto settled =
      testing::call<int64_t>(*f.sys, f.scopes, await_scope_ack_atom::value, first.version);
  CHECK(settled);
}
