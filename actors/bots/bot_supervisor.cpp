#include "actors/bots/bot_supervisor.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/owed_reply.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

using clock = std::chrono::steady_clock;

struct bot_entry {
  bot_config config;
  nlohmann::json params;
  std::shared_ptr<bot_record> record;
  caf::actor current; // empty while not running
  uint32_t incarnations = 0;
  // Within the restart window. A vector: an empty one allocates nothing, where a deque takes
  // over half a kilobyte -- per bot, with 100,000 bots.
  std::vector<clock::time_point> crashes;
  bool stopping = false; // an operator asked it to stop
  bool finished = false; // stopped, given up, or refused its parameters
};

struct bot_supervisor_data {
  std::map<std::string, bot_entry> bots; // ordered: reports list bots by id
  // Tells this run's client order ids from the last run's: microseconds since the epoch at
  // start, in base 36.
  std::string run_id;
  bool initial_spawned = false;
  bool market_started = false;
};

std::shared_ptr<bot_supervisor_data> make_bot_supervisor_data() {
  auto data = std::make_shared<bot_supervisor_data>();
  auto us = static_cast<uint64_t>(now_us());
  do {
    data->run_id.insert(data->run_id.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[us % 36]);
    us /= 36;
  } while (us > 0);
  return data;
}

std::string check_bot_id(const std::string& id) {
  bool valid =
      !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
      });
  return valid ? std::string{} : "a bot id is 1 to 64 letters, digits, '-', '_' or '.'";
}

namespace {

using start_market_atom = caf::atom_constant<caf::atom("start_mkt")>;

using supervisor_impl = bot_supervisor_actor::extend<caf::reacts_to<bot_ready_atom, std::string>,
                                                     caf::reacts_to<start_market_atom>>;

struct supervisor_state {
  std::shared_ptr<bot_supervisor_data> data;
  bot_supervisor_options options;
  bot_services services;
  market_actor market;
  logger log{"bots"};
  std::unordered_map<caf::actor_addr, std::string> by_address;
  std::set<std::string> awaited; // initial bots not ready yet
  // Spawns waiting for their bot to be up; answered even if this supervisor stops first.
  std::map<std::string, std::vector<owed_reply<bool>>> waiting;

  // Bots are monitored, not linked (linking is linear in the links an actor has, so 100,000
  // bots would take seconds): they are stopped here when their supervisor stops.
  ~supervisor_state() {
    for (auto& [id, entry] : data->bots)
      if (entry.current) {
        caf::anon_send_exit(entry.current, caf::exit_reason::user_shutdown);
        entry.current = nullptr;
      }
  }
};

using self_pointer = supervisor_impl::stateful_pointer<supervisor_state>;

template <class F>
void with_stats(bot_entry& entry, F&& f) {
  std::lock_guard<std::mutex> guard{entry.record->mutex};
  f(entry.record->stats);
}

void start_market(self_pointer self) {
  auto& st = self->state;
  if (st.data->market_started || !st.market)
    return;
  st.data->market_started = true;
  self->request(st.market, std::chrono::seconds(10), start_atom::value)
      .then([](bool) {},
            [self](caf::error& err) {
              self->state.log.error("the market could not be started",
                                    {{"error", self->system().render(err)}});
            });
}

// Spawns the next incarnation; false (with the reason in the stats) when the strategy refuses
// its parameters.
bool spawn_incarnation(self_pointer self, bot_entry& entry) {
  auto& st = self->state;
  std::shared_ptr<strategy> instance;
  std::string problem;
  auto factory = st.options.strategies.find(entry.config.strategy);
  if (factory == st.options.strategies.end()) {
    problem = "unknown strategy \"" + entry.config.strategy + "\"";
  } else {
    try {
      instance = factory->second(entry.params);
      if (!instance)
        problem = "the strategy's factory made nothing";
    } catch (const std::exception& ex) {
      problem = ex.what();
    }
  }
  if (!instance) {
    entry.finished = true;
    with_stats(entry, [&](bot_stats& s) {
      s.state = "failed_to_start";
      s.last_error = problem;
    });
    st.log.error("bot refused its parameters", {{"bot", entry.config.id}, {"problem", problem}});
    return false;
  }
  auto order_ids =
      entry.config.id + "-" + st.data->run_id + "-" + std::to_string(++entry.incarnations) + "-";
  auto services = st.services;
  services.supervisor = caf::actor_cast<caf::actor>(self);
  // Before the spawn: the bot runs at once, and may report itself running before this line
  // would run after it -- and be shown as starting for good.
  with_stats(entry, [](bot_stats& s) { s.state = "starting"; });
  entry.current = spawn_bot_host(self->system(), entry.config, std::move(instance), entry.params,
                                 entry.record, std::move(services), std::move(order_ids));
  self->monitor(entry.current);
  st.by_address.emplace(entry.current.address(), entry.config.id);
  return true;
}

void report_given_up(self_pointer self, const bot_entry& entry, const std::string& reason) {
  auto& st = self->state;
  st.log.error("bot crashed too often; it stays stopped", {{"bot", entry.config.id},
                                                           {"crashes", entry.crashes.size()},
                                                           {"window_ms", st.options.window.count()},
                                                           {"last_error", reason}});
  if (!st.services.bus)
    return;
  auto payload = nlohmann::json{{"event", "bot_given_up"},
                                {"bot", entry.config.id},
                                {"strategy", entry.config.strategy},
                                {"crashes", entry.crashes.size()},
                                {"last_error", reason}};
  self->request(st.services.bus, std::chrono::seconds(5), publish_atom::value,
                std::string{"trading.system"}, dump_json(payload), correlation_id{})
      .then([](uint64_t) {}, [](caf::error&) {});
}

void forget_awaited(self_pointer self, const std::string& id) {
  auto& st = self->state;
  if (st.awaited.erase(id) > 0 && st.awaited.empty())
    start_market(self);
}

void answer_waiting(self_pointer self, const std::string& id, const caf::error& err) {
  auto& st = self->state;
  auto found = st.waiting.find(id);
  if (found == st.waiting.end())
    return;
  for (auto& promise : found->second) {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(true);
  }
  st.waiting.erase(found);
}

void on_bot_exit(self_pointer self, const std::string& id, const caf::error& reason) {
  auto& st = self->state;
  auto& entry = st.data->bots.at(id);
  entry.current = nullptr;
  auto text = self->system().render(reason);
  bool crashed = reason && reason != caf::exit_reason::user_shutdown && !entry.stopping;
  if (!crashed) {
    entry.finished = true;
    with_stats(entry, [](bot_stats& s) { s.state = "stopped"; });
    st.log.info("bot stopped", {{"bot", id}});
    answer_waiting(self, id, make_error(errc::invalid_argument, "bot " + id + " stopped"));
    forget_awaited(self, id);
    return;
  }
  auto now = clock::now();
  entry.crashes.push_back(now);
  entry.crashes.erase(std::remove_if(entry.crashes.begin(), entry.crashes.end(),
                                     [&](auto at) { return now - at > st.options.window; }),
                      entry.crashes.end());
  if (entry.crashes.size() > st.options.max_restarts) {
    entry.finished = true;
    with_stats(entry, [&](bot_stats& s) {
      s.state = "given_up";
      s.last_error = text;
    });
    report_given_up(self, entry, text);
    answer_waiting(self, id,
                   make_error(errc::invalid_argument, "bot " + id + " crashed too often: " + text));
    forget_awaited(self, id);
    return;
  }
  with_stats(entry, [&](bot_stats& s) {
    ++s.restarts;
    s.last_error = text;
  });
  st.log.warn("bot crashed; restarting it",
              {{"bot", id}, {"error", text}, {"crashes_in_window", entry.crashes.size()}});
  if (!spawn_incarnation(self, entry)) {
    answer_waiting(self, id, make_error(errc::invalid_argument, "bot " + id + " cannot restart"));
    forget_awaited(self, id);
  }
}

caf::error add_bot(self_pointer self, bot_config config) {
  auto& st = self->state;
  if (auto problem = check_bot_id(config.id); !problem.empty())
    return make_error(errc::invalid_argument, problem + ", not \"" + config.id + "\"");
  if (st.options.strategies.count(config.strategy) == 0) {
    std::string known;
    for (const auto& [name, factory] : st.options.strategies)
      known += (known.empty() ? "" : ", ") + name;
    return make_error(errc::invalid_argument, "bot " + config.id + ": unknown strategy \""
                                                  + config.strategy + "\" (known: " + known + ")");
  }
  auto params = config.params.empty() ? nlohmann::json::object()
                                      : nlohmann::json::parse(config.params, nullptr, false);
  if (!params.is_object())
    return make_error(errc::invalid_argument, "bot " + config.id
                                                  + ": params must be a JSON object, not \""
                                                  + config.params + "\"");
  auto existing = st.data->bots.find(config.id);
  if (existing != st.data->bots.end() && !existing->second.finished)
    return make_error(errc::invalid_argument, "bot " + config.id + " exists already");
  bot_entry entry;
  if (existing != st.data->bots.end()) {
    // A bot spawned again keeps its counters, and its incarnations go on: its order ids too.
    entry.record = existing->second.record;
    entry.incarnations = existing->second.incarnations;
  } else
    entry.record = std::make_shared<bot_record>();
  with_stats(entry, [&](bot_stats& s) {
    s.id = config.id;
    s.strategy = config.strategy;
    s.last_error.clear();
  });
  entry.config = std::move(config);
  entry.params = std::move(params);
  auto id = entry.config.id;
  auto& stored = st.data->bots[id] = std::move(entry);
  if (!spawn_incarnation(self, stored))
    return make_error(
        errc::invalid_argument,
        "bot " + id + ": the strategy refused its parameters: " + stored.record->stats.last_error);
  return {};
}

caf::result<bool> on_spawn_bot(self_pointer self, bot_config config) {
  auto id = config.id;
  if (auto err = add_bot(self, std::move(config)))
    return err;
  auto promise = self->make_response_promise<bool>();
  self->state.waiting[id].emplace_back(promise, "the bot supervisor stopped before the bot was up");
  return promise;
}

bool on_stop_bot(self_pointer self, const std::string& id) {
  auto& s = self->state;
  auto found = s.data->bots.find(id);
  if (found == s.data->bots.end() || !found->second.current)
    return false;
  found->second.stopping = true;
  self->send_exit(found->second.current, caf::exit_reason::user_shutdown);
  return true;
}

void on_bot_ready(self_pointer self, const std::string& id) {
  auto& s = self->state;
  auto found = s.data->bots.find(id);
  if (found == s.data->bots.end())
    return;
  answer_waiting(self, id, caf::error{});
  forget_awaited(self, id);
}

// The initial bots did not all get ready within start_timeout.
void on_start_timeout(self_pointer self) {
  auto& s = self->state;
  if (!s.awaited.empty() && !s.data->market_started)
    s.log.warn("starting the market before every bot is ready", {{"not_ready", s.awaited.size()}});
  s.awaited.clear();
  start_market(self);
}

bots_summary summarize(self_pointer self) {
  bots_summary summary;
  for (auto& [id, entry] : self->state.data->bots) {
    std::lock_guard<std::mutex> guard{entry.record->mutex};
    const auto& s = entry.record->stats;
    ++summary.total;
    if (s.state == "stopped")
      ++summary.stopped;
    else if (s.state == "given_up" || s.state == "failed_to_start")
      ++summary.given_up;
    else
      ++summary.running;
    summary.restarts += s.restarts;
    summary.orders += s.orders;
    summary.fills += s.fills;
    summary.rejected += s.rejected;
    summary.pnl += s.realized_pnl + s.unrealized_pnl - s.fees;
  }
  return summary;
}

std::vector<bot_stats> all_stats(self_pointer self) {
  std::vector<bot_stats> all;
  all.reserve(self->state.data->bots.size());
  for (auto& [id, entry] : self->state.data->bots) {
    std::lock_guard<std::mutex> guard{entry.record->mutex};
    all.push_back(entry.record->stats);
  }
  return all;
}

void on_bot_down(self_pointer self, const caf::down_msg& msg) {
  auto& s = self->state;
  auto found = s.by_address.find(msg.source);
  if (found == s.by_address.end())
    return;
  auto id = found->second;
  s.by_address.erase(found);
  on_bot_exit(self, id, msg.reason);
}

void spawn_initial_bots(self_pointer self) {
  auto& st = self->state;
  st.data->initial_spawned = true;
  for (auto& config : st.options.initial_bots) {
    auto id = config.id;
    if (auto err = add_bot(self, std::move(config)))
      st.log.error("a configured bot could not be spawned",
                   {{"bot", id}, {"error", self->system().render(err)}});
    else
      st.awaited.insert(id);
  }
  st.log.info("bots spawned", {{"bots", st.awaited.size()}});
}

void start(self_pointer self) {
  auto& st = self->state;
  self->set_down_handler([self](caf::down_msg& msg) { on_bot_down(self, msg); });
  if (!st.data->initial_spawned) {
    spawn_initial_bots(self);
  } else {
    // A restarted supervisor: the bots stopped with the last incarnation; they come back and
    // restore their saved state.
    for (auto& [id, entry] : st.data->bots)
      if (!entry.finished)
        spawn_incarnation(self, entry);
  }
  if (st.awaited.empty())
    start_market(self);
  else
    self->delayed_send(self, st.options.start_timeout, start_market_atom::value);
}

supervisor_impl::behavior_type bot_supervisor(self_pointer self,
                                              std::shared_ptr<bot_supervisor_data> data,
                                              bot_supervisor_options options, bot_services services,
                                              market_actor market) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.options = std::move(options);
  st.services = std::move(services);
  st.market = std::move(market);
  start(self);
  return {
      [self](spawn_bot_atom, bot_config& config) { return on_spawn_bot(self, std::move(config)); },
      [self](stop_bot_atom, const std::string& id) { return on_stop_bot(self, id); },
      [self](bot_ready_atom, const std::string& id) { on_bot_ready(self, id); },
      [self](start_market_atom) { on_start_timeout(self); },
      [self](status_atom) { return summarize(self); },
      [self](bots_atom) { return all_stats(self); },
  };
}

} // namespace

bot_supervisor_actor spawn_bot_supervisor(caf::actor_system& sys,
                                          std::shared_ptr<bot_supervisor_data> data,
                                          bot_supervisor_options options, bot_services services,
                                          market_actor market) {
  return caf::actor_cast<bot_supervisor_actor>(sys.spawn(
      bot_supervisor, std::move(data), std::move(options), std::move(services), std::move(market)));
}

} // namespace brokedancer
