#include "actors/bots/bot_supervisor.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
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
#include "messages/correlation.hpp"
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
  // Ownership, with leases: none (no leases), claiming, owned, standby, refused, lost.
  std::string ownership = "none";
  uint64_t fence = 0;
  clock::time_point granted_at; // when its holder got the lease (ours or another's)
  clock::time_point renewed_at; // when our last renewal was sent and then confirmed
  bool claim_scheduled = false;
};

struct bot_supervisor_data {
  std::map<std::string, bot_entry> bots; // ordered: reports list bots by id
  // Tells this run's client order ids from the last run's: microseconds since the epoch at
  // start, in base 36.
  std::string run_id;
  bool initial_spawned = false;
  bool market_started = false;
  // This process's token on every lease it takes: random, so that a restarted node (or a second
  // process with the same name) is not taken for the holder of its predecessor's leases.
  std::string lease_token;
};

std::shared_ptr<bot_supervisor_data> make_bot_supervisor_data() {
  auto data = std::make_shared<bot_supervisor_data>();
  data->lease_token = random_token();
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
using open_market_atom = caf::atom_constant<caf::atom("open_mkt")>;
using renew_atom = caf::atom_constant<caf::atom("renew")>;
using claim_atom = caf::atom_constant<caf::atom("claim")>;

using supervisor_impl =
    bot_supervisor_actor::extend<caf::reacts_to<bot_ready_atom, std::string>,
                                 caf::reacts_to<start_market_atom>,
                                 caf::reacts_to<open_market_atom>, caf::reacts_to<renew_atom>,
                                 caf::reacts_to<claim_atom, std::string>>;

struct supervisor_state {
  std::shared_ptr<bot_supervisor_data> data;
  bot_supervisor_options options;
  bot_services services;
  market_actor market;
  logger log{"bots"};
  std::unordered_map<caf::actor_addr, std::string> by_address;
  std::set<std::string> awaited; // initial bots not ready yet
  bool asking_readiness = false; // whether the node has read its emergency level and book
  bool readiness_poll_armed = false;
  std::optional<std::chrono::steady_clock::time_point> readiness_wait_began;
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

void open_market(self_pointer self) {
  auto& st = self->state;
  st.data->market_started = true;
  self->request(st.market, std::chrono::seconds(10), start_atom::value)
      .then([](bool) {},
            [self](caf::error& err) {
              self->state.log.error("the market could not be started",
                                    {{"error", self->system().render(err)}});
            });
}

bool readiness_wait_over(self_pointer self) {
  auto& st = self->state;
  if (!st.readiness_wait_began)
    return false;
  auto waited = std::chrono::steady_clock::now() - *st.readiness_wait_began;
  if (waited < st.options.start_timeout)
    return false;
  st.log.warn(
      "opening the market before the node has read its emergency level and its risk "
      "book: nothing trades until they are read",
      {{"waited_ms", std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()}});
  return true;
}

void wait_for_readiness(self_pointer self) {
  auto& st = self->state;
  st.asking_readiness = false;
  if (!st.readiness_wait_began) {
    st.readiness_wait_began = std::chrono::steady_clock::now();
    st.log.info("the market opens once the node has read its emergency level and its risk book");
  }
  if (!st.readiness_poll_armed) {
    st.readiness_poll_armed = true;
    self->delayed_send(self, std::chrono::milliseconds(100), open_market_atom::value);
  }
}

void ask_risk_monitor(self_pointer self) {
  auto& st = self->state;
  if (!st.services.risk) {
    open_market(self);
    return;
  }
  self->request(st.services.risk, std::chrono::seconds(5), status_atom::value)
      .then(
          [self](const risk_status& status) {
            self->state.asking_readiness = false;
            if (status.loaded)
              open_market(self);
            else
              wait_for_readiness(self);
          },
          [self](caf::error&) { wait_for_readiness(self); });
}

// The market opens once the initial bots are up and the node can trade: until the emergency
// controller has read the persisted level every bot is held at a provisional HALT, and until the
// risk monitor has read its book every order is refused. Ticks played meanwhile are lost to the
// bots -- a replay's first ticks, and with them the run's repeatability. Waits at most
// start_timeout, as for the bots.
void start_market(self_pointer self) {
  auto& st = self->state;
  if (st.data->market_started || !st.market || st.asking_readiness)
    return;
  if (readiness_wait_over(self)) {
    open_market(self);
    return;
  }
  st.asking_readiness = true;
  if (!st.services.emergency) {
    ask_risk_monitor(self);
    return;
  }
  self->request(st.services.emergency, std::chrono::seconds(5), status_atom::value)
      .then(
          [self](const emergency_status& status) {
            if (status.restored)
              ask_risk_monitor(self);
            else
              wait_for_readiness(self);
          },
          [self](caf::error&) { wait_for_readiness(self); });
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
  if (entry.ownership == "owned") {
    services.lease_name = "bot:" + entry.config.id;
    services.lease_token = st.data->lease_token;
    services.fence = entry.fence;
  }
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
  auto payload =
      nlohmann::json{{"type", "SYSTEM_EVENT"},          {"event", "bot_given_up"},
                     {"bot", entry.config.id},          {"strategy", entry.config.strategy},
                     {"crashes", entry.crashes.size()}, {"last_error", reason}};
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

// --- ownership (leases) --------------------------------------------------------------------

bool leased(self_pointer self) {
  return self->state.options.lease.count() > 0;
}

std::chrono::milliseconds renew_interval(self_pointer self) {
  return self->state.options.lease / 3;
}

// How long before the lease ends by our clock a bot stops trading: the store's clock and ours
// may drift, and an order takes time to arrive.
std::chrono::milliseconds owned_margin(self_pointer self) {
  return self->state.options.lease / 5;
}

void set_owned_until(bot_entry& entry, clock::time_point until) {
  std::lock_guard<std::mutex> guard{entry.record->mutex};
  entry.record->owned_until = until;
}

void schedule_claim(self_pointer self, bot_entry& entry, std::chrono::milliseconds after) {
  if (entry.claim_scheduled)
    return;
  entry.claim_scheduled = true;
  self->delayed_send(self, after, claim_atom::value, entry.config.id);
}

void claim(self_pointer self, const std::string& id);
void release(self_pointer self, bot_entry& entry);

// Another node holds the bot's lease.
void held_elsewhere(self_pointer self, bot_entry& entry, const lease_grant& grant) {
  auto& st = self->state;
  const auto& id = entry.config.id;
  entry.granted_at = clock::now() - std::chrono::milliseconds(grant.age_ms);
  bool ours_before = grant.holder == st.options.node_name;
  auto age_s = std::to_string(grant.age_ms / 1000);
  with_stats(entry, [&](bot_stats& s) {
    s.owner = grant.holder;
    s.fence = grant.fence;
  });
  if (st.options.standby || ours_before) {
    // A previous run of this node (killed, its lease not yet expired) is waited out like any
    // other holder: it may still be running, paused.
    if (entry.ownership != "standby")
      st.log.info(ours_before ? "bot is held by a previous run of this node; waiting for its lease"
                              : "bot is owned by another node; standing by",
                  {{"bot", id}, {"owner", grant.holder}, {"lease_age_s", age_s}});
    entry.ownership = "standby";
    with_stats(entry, [&](bot_stats& s) { s.state = "standby"; });
    answer_waiting(
        self, id,
        make_error(errc::invalid_argument,
                   "bot " + id + " is owned by node " + grant.holder + "; this node stands by"));
    forget_awaited(self, id);
    auto wait = std::min(renew_interval(self),
                         std::chrono::milliseconds(std::max<int64_t>(grant.remaining_ms, 0) + 20));
    schedule_claim(self, entry, wait);
    return;
  }
  entry.ownership = "refused";
  entry.finished = true;
  auto why = "owned by node " + grant.holder + " (lease held for " + age_s
             + " s); this node is not its standby (bots.standby)";
  with_stats(entry, [&](bot_stats& s) {
    s.state = "refused";
    s.last_error = why;
  });
  st.log.error("bot refused: another node owns it", {{"bot", id}, {"owner", grant.holder}});
  answer_waiting(self, id, make_error(errc::invalid_argument, "bot " + id + " " + why));
  forget_awaited(self, id);
}

void granted(self_pointer self, bot_entry& entry, const lease_grant& grant,
             clock::time_point sent) {
  auto& st = self->state;
  bool taken_over = entry.ownership == "standby";
  if (grant.fence != entry.fence) {
    // A new grant: another node may have traded the bot since this node last ran it. Its
    // positions are read from the store (written under the fence), not kept from before.
    std::lock_guard<std::mutex> guard{entry.record->mutex};
    entry.record->holdings.clear();
    entry.record->holdings_loaded = false;
  }
  entry.ownership = "owned";
  entry.fence = grant.fence;
  entry.granted_at = clock::now() - std::chrono::milliseconds(grant.age_ms);
  entry.renewed_at = sent;
  set_owned_until(entry, sent + st.options.lease - owned_margin(self));
  with_stats(entry, [&](bot_stats& s) {
    s.owner = st.options.node_name;
    s.fence = grant.fence;
  });
  st.log.info(taken_over ? "bot taken over: its owner's lease expired" : "bot owned",
              {{"bot", entry.config.id}, {"fence", grant.fence}});
  if (!entry.current && !spawn_incarnation(self, entry)) {
    release(self, entry); // it runs nowhere: a standby may have it
    answer_waiting(self, entry.config.id,
                   make_error(errc::invalid_argument, "bot " + entry.config.id + " cannot start"));
    forget_awaited(self, entry.config.id);
  }
}

void claim(self_pointer self, const std::string& id) {
  auto& st = self->state;
  auto found = st.data->bots.find(id);
  if (found == st.data->bots.end())
    return;
  auto& entry = found->second;
  entry.claim_scheduled = false;
  if (entry.finished || entry.current)
    return;
  if (entry.ownership == "none")
    entry.ownership = "claiming";
  auto sent = clock::now();
  self->request(st.services.store, std::chrono::seconds(10), acquire_lease_atom::value, "bot:" + id,
                st.options.node_name, st.data->lease_token,
                static_cast<int64_t>(st.options.lease.count()))
      .then(
          [self, id, sent](lease_grant& grant) {
            auto found_again = self->state.data->bots.find(id);
            if (found_again == self->state.data->bots.end() || found_again->second.finished)
              return;
            if (grant.held)
              granted(self, found_again->second, grant, sent);
            else
              held_elsewhere(self, found_again->second, grant);
          },
          [self, id](caf::error& err) {
            auto found_again = self->state.data->bots.find(id);
            if (found_again == self->state.data->bots.end())
              return;
            self->state.log.warn("cannot claim the bot's lease yet; retrying",
                                 {{"bot", id}, {"error", self->system().render(err)}});
            schedule_claim(self, found_again->second, std::chrono::seconds(1));
          });
}

// The lease went to another node, or could not be renewed in time: the bot stops at once.
void lose(self_pointer self, bot_entry& entry, const std::string& why) {
  auto& st = self->state;
  if (entry.ownership != "owned")
    return;
  entry.ownership = "lost";
  set_owned_until(entry, clock::time_point::min());
  with_stats(entry, [&](bot_stats& s) {
    s.state = "lost";
    s.last_error = why;
  });
  st.log.critical("bot lost its lease; stopping it here", {{"bot", entry.config.id}, {"why", why}});
  if (entry.current)
    self->send_exit(entry.current, caf::exit_reason::user_shutdown);
  else
    schedule_claim(self, entry, renew_interval(self));
}

void renew(self_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, renew_interval(self), renew_atom::value);
  auto now = clock::now();
  for (auto& [id, entry] : st.data->bots) {
    if (entry.ownership != "owned")
      continue;
    if (now - entry.renewed_at >= st.options.lease - owned_margin(self)) {
      lose(self, entry, "the lease could not be renewed before it would expire");
      continue;
    }
    self->request(st.services.store, renew_interval(self), renew_lease_atom::value, "bot:" + id,
                  st.data->lease_token, static_cast<int64_t>(st.options.lease.count()))
        .then(
            [self, id = id, now](bool still_ours) {
              auto found = self->state.data->bots.find(id);
              if (found == self->state.data->bots.end())
                return;
              auto& e = found->second;
              if (!still_ours) {
                lose(self, e, "another node holds the lease now");
                return;
              }
              if (e.ownership == "owned") {
                e.renewed_at = now;
                set_owned_until(e, now + self->state.options.lease - owned_margin(self));
              }
            },
            [self, id = id](caf::error& err) {
              self->state.log.warn("cannot renew a bot's lease; it stops trading if this lasts",
                                   {{"bot", id}, {"error", self->system().render(err)}});
            });
  }
}

// A bot that ends for good gives its lease back (never another's: the store compares tokens).
void release(self_pointer self, bot_entry& entry) {
  auto& st = self->state;
  if (entry.ownership != "owned")
    return;
  entry.ownership = "none";
  self->request(st.services.store, std::chrono::seconds(5), release_lease_atom::value,
                "bot:" + entry.config.id, st.data->lease_token)
      .then([](bool) {}, [](caf::error&) {});
}

void on_bot_exit(self_pointer self, const std::string& id, const caf::error& reason) {
  auto& st = self->state;
  auto& entry = st.data->bots.at(id);
  entry.current = nullptr;
  auto text = self->system().render(reason);
  if (entry.ownership == "lost") {
    // Stopped because its lease is gone: not a crash, not the end. Claimed again: a lease that
    // merely could not be renewed in time comes back; one another node holds is refused (or
    // waited for, as its standby) with the holder's name.
    with_stats(entry, [](bot_stats& s) { s.state = "lost"; });
    answer_waiting(self, id, make_error(errc::lease_lost, "bot " + id + " lost its lease"));
    forget_awaited(self, id);
    schedule_claim(self, entry, renew_interval(self));
    return;
  }
  bool crashed = reason && reason != caf::exit_reason::user_shutdown && !entry.stopping;
  if (!crashed) {
    entry.finished = true;
    release(self, entry);
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
    release(self, entry);
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
    release(self, entry);
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
  auto params = config.params.empty() ? nlohmann::json::object() : parse_json_within(config.params);
  if (!params.is_object()) {
    auto problem = json_text_problem(config.params);
    return make_error(errc::invalid_argument,
                      "bot " + config.id + ": params must be a JSON object; the text given "
                          + (problem.empty() ? std::string{"is another JSON value"} : problem));
  }
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
  if (leased(self)) {
    // Spawned once the lease is ours: another node may own it.
    with_stats(stored, [](bot_stats& s) { s.state = "starting"; });
    stored.ownership = "claiming";
    claim(self, id);
    return {};
  }
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
    if (s.state == "stopped" || s.state == "standby" || s.state == "refused" || s.state == "lost")
      ++summary.stopped; // not running here (the last three: another node owns them)
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
  auto now = clock::now();
  for (auto& [id, entry] : self->state.data->bots) {
    std::lock_guard<std::mutex> guard{entry.record->mutex};
    all.push_back(entry.record->stats);
    if (entry.ownership == "owned" || entry.ownership == "standby")
      all.back().lease_age_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - entry.granted_at).count();
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
    // restore their saved state (with leases, once the lease is confirmed ours again).
    for (auto& [id, entry] : st.data->bots)
      if (!entry.finished) {
        entry.claim_scheduled = false;
        if (!leased(self))
          spawn_incarnation(self, entry);
        else
          claim(self, id);
      }
  }
  if (leased(self))
    self->delayed_send(self, renew_interval(self), renew_atom::value);
  if (st.awaited.empty())
    start_market(self);
  else
    self->delayed_send(self, st.options.start_timeout, start_market_atom::value);
}

// Every running bot that matches asks the exchange to cancel its working orders; one report of
// every cancel once all bots have answered (a bot that does not answer within its deadline is
// reported with one failed cancel, naming it).
caf::result<cancel_report> on_cancel_all(self_pointer self, const std::string& bot_id,
                                         const std::string& strategy, const std::string& symbol) {
  auto& st = self->state;
  std::vector<std::pair<std::string, caf::actor>> asked;
  for (const auto& [id, entry] : st.data->bots)
    if (entry.current && (bot_id.empty() || id == bot_id)
        && (strategy.empty() || entry.config.strategy == strategy))
      asked.emplace_back(id, entry.current);
  auto report = std::make_shared<cancel_report>();
  report->bots = static_cast<uint32_t>(asked.size());
  if (asked.empty())
    return *report;
  auto rp = self->make_response_promise<cancel_report>();
  auto left = std::make_shared<size_t>(asked.size());
  auto done = [rp, report, left]() mutable {
    if (--*left == 0)
      rp.deliver(*report);
  };
  for (const auto& [id, bot] : asked)
    self->request(bot, std::chrono::seconds(140), cancel_open_atom::value, symbol)
        .then(
            [report, done, id = id](std::vector<order_result>& results) mutable {
              for (auto& r : results)
                report->cancels.push_back({id, std::move(r)});
              done();
            },
            [self, report, done, id = id](caf::error& err) mutable {
              report->cancels.push_back(
                  {id,
                   {"", order_outcome::failed, reject_code_of(err),
                    "the bot did not answer: " + self->system().render(err), 0, 0, 0}});
              done();
            });
  return rp;
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
      [self](open_market_atom) {
        self->state.readiness_poll_armed = false;
        start_market(self);
      },
      [self](renew_atom) { renew(self); },
      [self](claim_atom, const std::string& id) { claim(self, id); },
      [self](status_atom) { return summarize(self); },
      [self](bots_atom) { return all_stats(self); },
      [self](cancel_all_atom, const std::string& bot_id, const std::string& strategy,
             const std::string& symbol) { return on_cancel_all(self, bot_id, strategy, symbol); },
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
