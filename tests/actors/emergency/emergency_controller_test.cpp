// The kill switch: levels and who may change them, the broadcast every bot acknowledges, and a
// level that survives a crash of the controller and a restart of the process.

#include <atomic>
#include <chrono>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <catch2/catch.hpp>

#include "actors/emergency/emergency_controller.hpp"
#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"
#include "messages/registry.hpp"
#include "runtime/infrastructure.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/requests.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

// A bot as far as the kill switch is concerned: it takes every level change and acknowledges.
caf::behavior obedient_bot(caf::event_based_actor* self, std::shared_ptr<std::atomic<int>> seen) {
  return {[self, seen](const level_change& change) {
    ++*seen;
    self->send(caf::actor_cast<emergency_actor>(self->current_sender()), emergency_ack_atom::value,
               change.sequence);
  }};
}

// The infrastructure the controller needs, supervised as in the runtime.
struct controller_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  supervision_tree tree;
  emergency_actor controller;

  explicit controller_fixture(environment settings = {}) {
    settings.emplace("BROKEDANCER_LOG_LEVEL", "error");
    auto config = load_config(embedded_default_config(), settings);
    configure_logging(config.log);
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    supervisor_options options;
    options.max_restarts = 10;
    tree = spawn_supervisor(
        *sys, options,
        {state_store_child(config), event_bus_child(config), emergency_child(config, nullptr)});
    controller = caf::actor_cast<emergency_actor>(tree.children.at("emergency"));
    REQUIRE(await([](const emergency_status& s) { return s.restored; }));
  }

  ~controller_fixture() {
    caf::anon_send_exit(tree.supervisor, caf::exit_reason::user_shutdown);
  }

  template <class Predicate>
  bool await(Predicate ok, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
      if (auto s = status(); s && ok(*s))
        return true;
      std::this_thread::sleep_for(5ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  caf::expected<emergency_status> status() {
    return testing::call<emergency_status>(*sys, controller, status_atom::value);
  }

  caf::expected<level_change> raise(emergency_level level, std::string reason = "test",
                                    change_source source = change_source::operator_request) {
    return testing::call<level_change>(*sys, controller, raise_atom::value, level,
                                       std::move(reason), source);
  }

  caf::expected<level_change> resume(emergency_level level, std::string reason = "test",
                                     change_source source = change_source::operator_request) {
    return testing::call<level_change>(*sys, controller, resume_atom::value, level,
                                       std::move(reason), source);
  }

  state_store_actor store() {
    return caf::actor_cast<state_store_actor>(tree.children.at("state_store"));
  }
};

} // namespace

TEST_CASE("anyone raises the level, only an operator lowers it with a reason, and SHUTDOWN is "
          "final",
          "[emergency]") {
  controller_fixture f;
  auto status = f.status();
  REQUIRE(status);
  CHECK(status->current.level == emergency_level::normal);
  CHECK(status->trading_allowed);

  auto alert = f.raise(emergency_level::alert, "drawdown at 80 %", change_source::risk_monitor);
  REQUIRE(alert);
  CHECK(alert->previous == emergency_level::normal);
  CHECK(alert->source == change_source::risk_monitor);
  auto halt = f.raise(emergency_level::halt, "daily loss", change_source::risk_monitor);
  REQUIRE(halt);
  CHECK(halt->sequence == alert->sequence + 1);
  // Raising to a level at or below the current one changes nothing.
  auto same = f.raise(emergency_level::alert, "again");
  REQUIRE(same);
  CHECK(same->sequence == halt->sequence);
  CHECK(same->level == emergency_level::halt);
  CHECK_FALSE(f.status()->trading_allowed);

  CHECK(is(f.resume(emergency_level::normal, "not mine", change_source::risk_monitor).error(),
           errc::invalid_argument));
  CHECK(is(f.resume(emergency_level::normal, "").error(), errc::invalid_argument));
  CHECK(is(f.resume(emergency_level::halt, "same level").error(), errc::invalid_argument));
  CHECK(is(f.raise(emergency_level::shutdown, "").error(), errc::invalid_argument));
  auto resumed = f.resume(emergency_level::normal, "loss understood, limits reviewed");
  REQUIRE(resumed);
  CHECK(resumed->previous == emergency_level::halt);
  CHECK(f.status()->trading_allowed);

  REQUIRE(f.raise(emergency_level::shutdown, "end of the day"));
  auto final_resume = f.resume(emergency_level::normal, "please");
  CHECK(is(final_resume.error(), errc::invalid_argument));
  CHECK(f.status()->current.level == emergency_level::shutdown);
}

TEST_CASE("a level or source that is no such thing is refused, and changes nothing",
          "[emergency]") {
  controller_fixture f;
  // What a peer could send over the network: any byte where an enum is expected.
  auto bogus = static_cast<emergency_level>(200);
  CHECK(is(f.raise(bogus).error(), errc::invalid_argument));
  CHECK(is(f.raise(emergency_level::halt, "test", static_cast<change_source>(99)).error(),
           errc::invalid_argument));
  CHECK(is(f.resume(bogus).error(), errc::invalid_argument));
  auto status = f.status();
  REQUIRE(status);
  CHECK(status->current.level == emergency_level::normal);
  CHECK(status->current.sequence == 0);
}

TEST_CASE("a HALT reaches 10,000 bots and every one acknowledges it", "[emergency]") {
  controller_fixture f;
  constexpr int bots = 10000;
  // Bots that register while the persisted level is read hear the level restored too: wait,
  // so that every bot hears exactly one change.
  REQUIRE(f.await([](const emergency_status& s) { return s.restored && s.persisted; }));
  auto seen = std::make_shared<std::atomic<int>>(0);
  std::vector<caf::actor> spawned;
  for (int i = 0; i < bots; ++i) {
    spawned.push_back(f.sys->spawn(obedient_bot, seen));
    auto current =
        testing::call<level_change>(*f.sys, f.controller, register_bot_atom::value, spawned.back());
    REQUIRE(current);
  }
  CHECK(f.status()->bots_registered == bots);
  REQUIRE(f.raise(emergency_level::halt, "test the kill switch"));
  REQUIRE(f.await([](const emergency_status& s) {
    return s.bots_acknowledged == bots && s.last_broadcast_us > 0;
  }));
  CHECK(*seen == bots);
  // Bots that die are dropped, and acknowledge nothing.
  for (int i = 0; i < 100; ++i)
    caf::anon_send_exit(spawned[static_cast<size_t>(i)], caf::exit_reason::kill);
  CHECK(f.await([](const emergency_status& s) { return s.bots_registered == bots - 100; }));
  for (auto& bot : spawned)
    caf::anon_send_exit(bot, caf::exit_reason::user_shutdown);
}

TEST_CASE("a crash of the controller keeps the level and the registered bots", "[emergency]") {
  controller_fixture f;
  auto seen = std::make_shared<std::atomic<int>>(0);
  auto bot = f.sys->spawn(obedient_bot, seen);
  REQUIRE(testing::call<level_change>(*f.sys, f.controller, register_bot_atom::value, bot));
  REQUIRE(f.raise(emergency_level::halt, "before the crash"));
  REQUIRE(f.await([](const emergency_status& s) { return s.persisted; }));
  REQUIRE_FALSE(
      testing::ack(*f.sys, f.tree.supervisor, restart_atom::value, std::string{"emergency"}));
  REQUIRE(f.await([](const emergency_status& s) {
    return s.restored && s.current.level == emergency_level::halt && s.bots_registered == 1;
  }));
  auto status = f.status();
  CHECK(status->current.reason == "before the crash");
  CHECK_FALSE(status->trading_allowed);
  // The bot still hears of changes after the restart.
  auto before = seen->load();
  REQUIRE(f.resume(emergency_level::normal, "after the crash"));
  CHECK(f.await([](const emergency_status& s) { return s.bots_acknowledged == 1; }));
  CHECK(*seen > before);
  caf::anon_send_exit(bot, caf::exit_reason::user_shutdown);
}

TEST_CASE("a persisted level that cannot be read is taken as HALT", "[emergency]") {
  controller_fixture f;
  REQUIRE_FALSE(testing::ack(*f.sys, f.store(), set_atom::value, std::string{"emergency:level"},
                             std::string{R"({"level":"NOPE"})"}, int64_t{0}));
  // A controller starting fresh (as a new process would) reads what the store holds.
  emergency_options options;
  options.node_name = "fresh";
  auto fresh =
      spawn_emergency_controller(*f.sys, make_emergency_data(), options, f.store(), {}, {});
  emergency_status status;
  for (int i = 0; i < 2000; ++i) {
    auto s = testing::call<emergency_status>(*f.sys, fresh, status_atom::value);
    REQUIRE(s);
    status = *s;
    if (status.restored)
      break;
    std::this_thread::sleep_for(5ms);
  }
  CHECK(status.restored);
  CHECK(status.current.level == emergency_level::halt);
  CHECK_THAT(status.current.reason, Catch::Matchers::Contains("could not be read"));
  CHECK_FALSE(status.trading_allowed);
  caf::anon_send_exit(fresh, caf::exit_reason::user_shutdown);
}

TEST_CASE("a node killed with SIGKILL while HALTed comes back HALTed on the same Redis",
          "[emergency][redis]") {
  testing::redis_server redis;
  std::map<std::string, std::string> env{{"BROKEDANCER_STATE_BACKEND", "redis"},
                                         {"BROKEDANCER_REDIS_URL", redis.url()},
                                         {"BROKEDANCER_STATE_KEY_PREFIX", "killtest:"},
                                         {"BROKEDANCER_LOG_LEVEL", "warn"},
                                         {"BROKEDANCER_RUNTIME_NODE_NAME", "node-k"}};
  {
    testing::child_process node{BROKEDANCER_NODE_PEER_PATH, {}, env};
    REQUIRE(node.read_line(30s) == std::optional<std::string>{"ready"});
    node.send_line("halt limits breached in test");
    REQUIRE(node.read_line(10s) == std::optional<std::string>{"level HALT persisted"});
    node.kill_now();
  }
  testing::child_process again{BROKEDANCER_NODE_PEER_PATH, {}, env};
  REQUIRE(again.read_line(30s) == std::optional<std::string>{"ready"});
  again.send_line("status");
  auto line = again.read_line(10s);
  REQUIRE(line);
  CHECK(*line == "level HALT reason limits breached in test");
  again.close_input();
  CHECK(again.wait(20s) == std::optional<int>{0});
}

namespace {

// A store that takes `delay` to answer a read, holding one value: what the controller reads
// at start while its persisted level is slow to come. It lists no keys, and answers every key
// read with the value.
caf::behavior slow_store(caf::event_based_actor* self, std::shared_ptr<std::string> stored,
                         std::chrono::milliseconds delay) {
  return {
      [](list_keys_atom, const std::string&) { return std::vector<std::string>{}; },
      [self, stored, delay](get_many_atom, const std::vector<std::string>& keys) {
        auto rp = self->make_response_promise<std::vector<maybe_value>>();
        auto values = std::vector<maybe_value>(keys.size(), maybe_value{!stored->empty(), *stored});
        self->delayed_send(self, delay, std::string{"answer"});
        self->become(caf::keep_behavior, [self, rp, values](const std::string&) mutable {
          rp.deliver(values);
          self->unbecome();
        });
        return rp;
      },
      [stored](set_atom, const std::string&, std::string& json, int64_t) { *stored = json; },
  };
}

// What a registered bot heard, in order, as its level_tracker took it.
caf::behavior tracking_bot(caf::event_based_actor* self,
                           std::shared_ptr<std::vector<level_change>> heard) {
  return {[self, heard](const level_change& change) {
    heard->push_back(change);
    self->send(caf::actor_cast<emergency_actor>(self->current_sender()), emergency_ack_atom::value,
               change.sequence);
  }};
}

// A controller whose persisted level, `stored`, takes `delay` to be read.
struct slow_restore_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<std::string> stored;
  state_store_actor store;
  emergency_actor controller;

  explicit slow_restore_fixture(emergency_level level, std::string reason, change_source source,
                                std::chrono::milliseconds delay = 300ms) {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    level_change persisted;
    persisted.level = level;
    persisted.reason = std::move(reason);
    persisted.source = source;
    persisted.sequence = 5;
    stored = std::make_shared<std::string>(encode_level_change(persisted));
    store = caf::actor_cast<state_store_actor>(sys->spawn(slow_store, stored, delay));
    emergency_options options;
    options.node_name = "test";
    controller = spawn_emergency_controller(*sys, make_emergency_data(), options, store, {}, {});
  }

  ~slow_restore_fixture() {
    caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  }

  // The status once the level has been read and written back, and `also` holds.
  template <class Predicate>
  emergency_status restored(Predicate also) {
    emergency_status status;
    for (int i = 0; i < 400; ++i) {
      auto s = testing::call<emergency_status>(*sys, controller, status_atom::value);
      REQUIRE(s);
      status = *s;
      if (status.restored && status.persisted && also(status))
        break;
      std::this_thread::sleep_for(5ms);
    }
    return status;
  }

  level_change now_stored() {
    level_change change;
    std::string why;
    REQUIRE(decode_level_change(*stored, change, why));
    return change;
  }
};

} // namespace

TEST_CASE("a raise before the persisted level is read neither overwrites it nor lets bots trade",
          "[emergency]") {
  slow_restore_fixture f{emergency_level::halt, "before the restart",
                         change_source::operator_request};
  auto heard = std::make_shared<std::vector<level_change>>();
  auto bot = f.sys->spawn(tracking_bot, heard);
  auto first = testing::call<level_change>(*f.sys, f.controller, register_bot_atom::value, bot);
  REQUIRE(first);
  CHECK(first->provisional);
  CHECK(first->level == emergency_level::halt);
  // The risk monitor raises ALERT while the level is still being read.
  auto alert =
      testing::call<level_change>(*f.sys, f.controller, raise_atom::value, emergency_level::alert,
                                  std::string{"near a limit"}, change_source::risk_monitor);
  REQUIRE(alert);
  CHECK(alert->provisional);
  CHECK_FALSE(trading_allowed(alert->level));
  // Once read, the persisted HALT is in force -- not the ALERT -- and still stored.
  auto status = f.restored([](const emergency_status& s) { return s.bots_acknowledged == 1; });
  CHECK(status.current.level == emergency_level::halt);
  CHECK(status.current.reason == "before the restart");
  CHECK(f.now_stored().level == emergency_level::halt);
  // The bot never heard a level that let it trade.
  for (const auto& change : *heard)
    CHECK_FALSE(trading_allowed(change.level));
  caf::anon_send_exit(bot, caf::exit_reason::user_shutdown);
}

TEST_CASE("a raise above the persisted level, made while it is read, takes effect after it",
          "[emergency]") {
  slow_restore_fixture f{emergency_level::alert, "stored", change_source::risk_monitor};
  REQUIRE(testing::call<level_change>(*f.sys, f.controller, raise_atom::value,
                                      emergency_level::halt, std::string{"operator, early"},
                                      change_source::operator_request));
  auto status = f.restored([](const emergency_status&) { return true; });
  CHECK(status.current.level == emergency_level::halt);
  CHECK(status.current.previous == emergency_level::alert);
  CHECK(status.current.reason == "operator, early");
  CHECK(status.current.sequence == 6);
  CHECK(f.now_stored().level == emergency_level::halt);
}

TEST_CASE("while the persisted level is read, resumes and peers' levels are refused, and contact "
          "lost meanwhile halts the node once it is read",
          "[emergency]") {
  slow_restore_fixture f{emergency_level::normal, "stored", change_source::operator_request, 1s};
  auto resume = [&f](std::string reason) {
    return testing::call<level_change>(*f.sys, f.controller, resume_atom::value,
                                       emergency_level::normal, std::move(reason),
                                       change_source::operator_request);
  };
  auto early = resume("too early");
  REQUIRE_FALSE(early);
  CHECK(is(early.error(), errc::subsystem_unavailable));
  // A resume that could never be taken is refused for what it is.
  auto without_reason = resume("");
  REQUIRE_FALSE(without_reason);
  CHECK(is(without_reason.error(), errc::invalid_argument));
  level_change peer;
  peer.level = emergency_level::halt;
  peer.reason = "halted there";
  peer.source = change_source::operator_request;
  peer.node = "peer";
  peer.sequence = 9;
  auto from_peer = testing::call<level_change>(*f.sys, f.controller, peer_change_atom::value, peer);
  REQUIRE_FALSE(from_peer);
  CHECK(is(from_peer.error(), errc::subsystem_unavailable));
  caf::anon_send(f.controller, isolation_atom::value, true, std::string{"no heartbeat"});
  auto status = f.restored(
      [](const emergency_status& s) { return s.current.level == emergency_level::halt; });
  CHECK(status.isolated);
  CHECK(status.current.level == emergency_level::halt);
  CHECK(status.current.local_only);
  CHECK(status.current.sequence == 6);
  CHECK(f.now_stored().level == emergency_level::halt);
  // Read: the node runs, and refuses a resume only while it is isolated.
  auto isolated = resume("still isolated");
  REQUIRE_FALSE(isolated);
  CHECK(is(isolated.error(), errc::invalid_argument));
  caf::anon_send(f.controller, isolation_atom::value, false, std::string{});
  auto lifted = resume("contact is back");
  REQUIRE(lifted);
  CHECK(lifted->level == emergency_level::normal);
  CHECK(f.now_stored().level == emergency_level::normal);
}
