#include "actors/emergency/emergency_controller.hpp"

#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/supervisor.hpp"
#include "messages/errors.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"

namespace brokedancer {

struct emergency_data {
  level_change current;
  bool restored = false;
  // A raise made before the persisted level was read: applied on top of it once it is.
  std::optional<level_change> deferred;
  bool persisted = false;
  bool shutdown_done = false;
  std::unordered_map<caf::actor_addr, caf::actor> bots;
  // The broadcast in progress: who has yet to acknowledge `acking`. Before the first broadcast
  // no sequence matches it: bots that registered while the persisted level was being read were
  // told a provisional HALT, and have not acknowledged the level in force until it reaches them.
  uint64_t acking = std::numeric_limits<uint64_t>::max();
  std::unordered_set<caf::actor_addr> waiting;
  std::chrono::steady_clock::time_point broadcast_started;
  int64_t last_broadcast_us = 0;
  // The dead man's switch has tripped, and contact has not come back since.
  bool isolated = false;
};

std::shared_ptr<emergency_data> make_emergency_data() {
  return std::make_shared<emergency_data>();
}

std::string encode_level_change(const level_change& change) {
  return nlohmann::json{{"level", to_string(change.level)},
                        {"previous", to_string(change.previous)},
                        {"reason", change.reason},
                        {"source", to_string(change.source)},
                        {"node", change.node},
                        {"at_us", change.at_us},
                        {"sequence", change.sequence},
                        {"based_on_sequence", change.based_on_sequence},
                        {"based_on_level", to_string(change.based_on_level)},
                        {"based_on_node", change.based_on_node},
                        {"local_only", change.local_only},
                        {"cleared",
                         [&] {
                           auto keys = nlohmann::json::array();
                           for (const auto& k : change.cleared)
                             keys.push_back({k.sequence, to_string(k.level), k.node});
                           return keys;
                         }()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_level_change(const std::string& json, level_change& change, std::string& why) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    why = "not a JSON object";
    return false;
  }
  auto text = [&](const char* key) -> const std::string* {
    auto found = j.find(key);
    return found != j.end() && found->is_string() ? &found->get_ref<const std::string&>() : nullptr;
  };
  const auto* level = text("level");
  const auto* previous = text("previous");
  const auto* source = text("source");
  if (!level || !from_string(*level, change.level) || !previous
      || !from_string(*previous, change.previous) || !source || !from_string(*source, change.source)
      || !text("reason") || !text("node")) {
    why = "a level, previous level, source, reason or node is missing or not valid";
    return false;
  }
  if (!j.contains("sequence") || !j["sequence"].is_number_unsigned() || !j.contains("at_us")
      || !j["at_us"].is_number_integer()) {
    why = "the sequence or time is missing or not a number";
    return false;
  }
  change.reason = *text("reason");
  change.node = *text("node");
  change.sequence = j["sequence"].get<uint64_t>();
  change.at_us = j["at_us"].get<int64_t>();
  // Written since nodes form a cluster; a record from before reads as based on nothing.
  if (j.contains("based_on_sequence")) {
    const auto* based_on_level = text("based_on_level");
    if (!j["based_on_sequence"].is_number_unsigned() || !based_on_level
        || !from_string(*based_on_level, change.based_on_level) || !text("based_on_node")
        || !j.contains("local_only") || !j["local_only"].is_boolean()) {
      why = "the change it was based on, or local_only, is not valid";
      return false;
    }
    change.based_on_sequence = j["based_on_sequence"].get<uint64_t>();
    change.based_on_node = *text("based_on_node");
    change.local_only = j["local_only"].get<bool>();
  }
  change.cleared.clear();
  if (j.contains("cleared")) {
    const auto& keys = j["cleared"];
    if (!keys.is_array() || keys.size() > max_cleared) {
      why = "cleared is not a list of at most " + std::to_string(max_cleared) + " changes";
      return false;
    }
    for (const auto& k : keys) {
      change_key key;
      if (!k.is_array() || k.size() != 3 || !k[0].is_number_unsigned() || !k[1].is_string()
          || !from_string(k[1].get<std::string>(), key.level) || !k[2].is_string()) {
        why = "an entry of cleared is not [sequence, level, node]";
        return false;
      }
      key.sequence = k[0].get<uint64_t>();
      key.node = k[2].get<std::string>();
      change.cleared.push_back(std::move(key));
    }
  }
  return true;
}

namespace {

using clock = std::chrono::steady_clock;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using persist_atom = caf::atom_constant<caf::atom("persist")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;

using controller_actor =
    emergency_actor::extend<caf::reacts_to<restore_atom>, caf::reacts_to<persist_atom, uint64_t>,
                            caf::reacts_to<grace_atom, uint64_t>>;

struct controller_state {
  std::shared_ptr<emergency_data> data;
  emergency_options options;
  state_store_actor store;
  event_bus_actor bus;
  caf::actor risk_monitor;
  logger log{"emergency"};
  // await_ack requests, by the sequence they wait for.
  std::multimap<uint64_t, caf::typed_response_promise<int64_t>> awaiting;

  // CAF 0.17 drops a promise destroyed unanswered.
  ~controller_state() {
    for (auto& [sequence, promise] : awaiting)
      promise.deliver(make_error(errc::subsystem_unavailable,
                                 "the emergency controller stopped before every bot acknowledged"));
  }
};

using self_pointer = controller_actor::stateful_pointer<controller_state>;

constexpr auto store_timeout = std::chrono::seconds(5);

// Each node writes its level under a key of its own (no two nodes overwrite each other on a
// shared store), and reads every node's at start.
std::string own_key(const emergency_options& options) {
  return options.state_key + ":" + options.node_name;
}
constexpr auto persist_retry = std::chrono::milliseconds(500);

void maybe_shut_down(self_pointer self) {
  auto& d = *self->state.data;
  if (d.current.level != emergency_level::shutdown || d.shutdown_done)
    return;
  d.shutdown_done = true;
  self->state.log.critical("SHUTDOWN acknowledged or its grace ran out; stopping the process",
                           {{"reason", d.current.reason},
                            {"acknowledged", d.bots.size() - d.waiting.size()},
                            {"bots", d.bots.size()}});
  if (self->state.options.on_shutdown)
    self->state.options.on_shutdown(d.current);
}

// Answers the await_ack requests that can be answered: their change has been acknowledged by
// every bot, or a newer change has replaced it.
void settle_awaiting(self_pointer self) {
  auto& st = self->state;
  auto& d = *st.data;
  for (auto it = st.awaiting.begin(); it != st.awaiting.end();) {
    if (it->first < d.current.sequence) {
      it->second.deliver(make_error(errc::invalid_argument,
                                    "a newer level change (sequence "
                                        + std::to_string(d.current.sequence)
                                        + ") replaced it before every bot had acknowledged it"));
      it = st.awaiting.erase(it);
    } else if (it->first == d.acking && d.waiting.empty()) {
      it->second.deliver(d.last_broadcast_us);
      it = st.awaiting.erase(it);
    } else {
      ++it;
    }
  }
}

void acknowledged(self_pointer self, const caf::actor_addr& bot) {
  auto& d = *self->state.data;
  if (d.waiting.erase(bot) == 0 || !d.waiting.empty())
    return;
  d.last_broadcast_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - d.broadcast_started)
          .count();
  self->state.log.info("every bot acknowledged the level", {{"level", to_string(d.current.level)},
                                                            {"sequence", d.current.sequence},
                                                            {"bots", d.bots.size()},
                                                            {"took_us", d.last_broadcast_us}});
  settle_awaiting(self);
  maybe_shut_down(self);
}

// At once, whatever the store is doing: to every bot, on the bus, in the log.
void announce(self_pointer self, const level_change& change) {
  auto& st = self->state;
  auto& d = *st.data;
  d.acking = change.sequence;
  d.waiting.clear();
  d.broadcast_started = clock::now();
  // Straight to each bot with high priority: a HALT overtakes whatever the bot has queued. One
  // message shared by all (CAF messages are copy-on-write): no copy of the change per bot.
  // Every registered bot is a level_listener: this is the one message it must take.
  auto message = caf::make_message(change);
  for (const auto& [address, bot] : d.bots) {
    d.waiting.insert(address);
    // (What send<high> does, minus the static check that keeps a typed actor from sending a
    // prebuilt message.)
    bot->enqueue(caf::make_mailbox_element(
                     self->ctrl(), caf::make_message_id(caf::message_priority::high), {}, message),
                 self->context());
  }
  if (d.waiting.empty())
    d.last_broadcast_us = 0;
  settle_awaiting(self);
  if (st.bus)
    self->request(st.bus, store_timeout, publish_atom::value,
                  std::string{"emergency.level_changed"}, encode_level_change(change),
                  correlation_id{})
        .then([](uint64_t) {},
              [self](caf::error& err) {
                self->state.log.error("could not publish the level change on the bus",
                                      {{"error", self->system().render(err)}});
              });
  logger::fields fields{
      {"level", to_string(change.level)}, {"previous", to_string(change.previous)},
      {"reason", change.reason},          {"source", to_string(change.source)},
      {"sequence", change.sequence},      {"bots", d.bots.size()},
      {"persisted", d.persisted}};
  if (change.level >= emergency_level::halt)
    st.log.critical("emergency level changed: trading stops", fields);
  else
    st.log.warn("emergency level changed", fields);
  if (change.level == emergency_level::shutdown) {
    self->delayed_send(self, st.options.shutdown_grace, grace_atom::value, change.sequence);
    if (d.waiting.empty())
      maybe_shut_down(self);
  }
}

// Writes the current level to the store; retried until it works or a newer change replaces it.
void persist(self_pointer self) {
  auto& st = self->state;
  auto change = st.data->current;
  self->request(st.store, store_timeout, set_atom::value, own_key(st.options),
                encode_level_change(change), int64_t{0})
      .then(
          [self, sequence = change.sequence] {
            if (self->state.data->current.sequence == sequence)
              self->state.data->persisted = true;
          },
          [self, sequence = change.sequence](caf::error& err) {
            self->state.log.error("could not persist the emergency level; retrying",
                                  {{"error", self->system().render(err)}, {"sequence", sequence}});
            self->delayed_send(self, persist_retry, persist_atom::value, sequence);
          });
}

level_change make_change(self_pointer self, emergency_level level, std::string reason,
                         change_source source) {
  auto& d = *self->state.data;
  auto change = next_change(d.current, level, std::move(reason), source,
                            self->state.options.node_name, now_us());
  // The end of this process's run is this node's business, not the cluster's.
  change.local_only = source == change_source::stop;
  return change;
}

void apply_raise(self_pointer self, level_change change) {
  auto& d = *self->state.data;
  d.current = change;
  d.persisted = false;
  // The kill switch never waits: in force for every bot and peer at once, persisted in
  // parallel and retried until the store has it (status says "persisted": false meanwhile). A
  // store that hangs (Redis busy, a partition) once held a HALT back for up to 5 s.
  announce(self, change);
  persist(self);
}

// What the store holds for this node: its own record (or one written before nodes had keys of
// their own), with every other node's record taken as a peer's change would be -- so a node
// that starts late, or again, begins at the cluster's level. Unreadable records count as HALT.
struct stored_level {
  bool found = false;
  level_change change;
};

// A graceful stop's record as the next start takes it: SHUTDOWN is final for the process that
// had it, not for the next one. After an emergency SHUTDOWN the node comes back HALTed, for an
// operator to resume; after a graceful stop, at the level in force before it.
level_change as_restored(level_change found) {
  if (found.level != emergency_level::shutdown)
    return found;
  bool graceful = found.source == change_source::stop;
  auto ended = found.reason;
  found.level = graceful ? found.previous : emergency_level::halt;
  found.previous = emergency_level::shutdown;
  found.source = change_source::restore;
  if (!graceful)
    found.reason = "the previous run ended in an emergency SHUTDOWN: " + ended;
  found.local_only = false;
  return found;
}

stored_level merge_records(self_pointer self, const std::vector<std::string>& keys,
                           const std::vector<maybe_value>& values) {
  auto& st = self->state;
  stored_level own;
  std::vector<level_change> others;
  std::vector<std::string> unreadable;
  uint64_t newest = 0;
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    if (!values[i].found)
      continue;
    level_change record;
    std::string why;
    if (!decode_level_change(values[i].json, record, why)) {
      st.log.critical("a persisted emergency level is unreadable; taking it as HALT",
                      {{"key", keys[i]}, {"problem", why}});
      unreadable.push_back(keys[i] + ": " + why);
      continue;
    }
    newest = std::max(newest, record.sequence);
    bool mine = keys[i] == own_key(st.options) || keys[i] == st.options.state_key;
    if (mine && (!own.found || key_of(record) > key_of(own.change))) {
      own.found = true;
      own.change = record;
    } else if (!mine) {
      others.push_back(record);
    }
  }
  // This node's own stop is its own business: the others' records are merged with what it
  // comes back to.
  if (own.found)
    own.change = as_restored(own.change);
  for (const auto& other : others) {
    if (!own.found) {
      if (other.local_only)
        continue;
      own.found = true;
      own.change = other;
      continue;
    }
    if (auto merged = merge_peer_change(own.change, other))
      own.change = std::move(*merged);
  }
  if (!unreadable.empty()) {
    // Fail safe: a level we cannot read may have been a HALT -- and it comes after everything
    // that could be read.
    level_change base = own.found ? own.change : level_change{};
    base.sequence = std::max(base.sequence, newest);
    own.change = next_change(base, std::max(base.level, emergency_level::halt),
                             "the persisted level could not be read: " + unreadable.front(),
                             change_source::restore, st.options.node_name, now_us());
    own.found = true;
  }
  return own;
}

void apply_restored(self_pointer self, stored_level stored);

void restore(self_pointer self) {
  auto& st = self->state;
  auto retry = [self](caf::error& err) {
    self->state.log.error("cannot read the persisted emergency level yet; nothing trades "
                          "until it is read",
                          {{"error", self->system().render(err)}});
    self->delayed_send(self, persist_retry, restore_atom::value);
  };
  self->request(st.store, store_timeout, list_keys_atom::value, st.options.state_key + ":*")
      .then(
          [self, retry](std::vector<std::string>& keys) {
            auto& s = self->state;
            keys.push_back(s.options.state_key);
            self->request(s.store, store_timeout, get_many_atom::value, keys)
                .then(
                    [self, keys](std::vector<maybe_value>& values) {
                      apply_restored(self, merge_records(self, keys, values));
                    },
                    retry);
          },
          retry);
}

void apply_restored(self_pointer self, stored_level stored) {
  auto& s = self->state;
  auto& d = *s.data;
  level_change found = stored.change;
  d.restored = true;
  // Another node's emergency SHUTDOWN, merged in: this node comes back HALTed too.
  if (stored.found)
    found = as_restored(found);
  if (stored.found) {
    auto next_sequence = std::max(d.current.sequence, found.sequence);
    if (found.level >= d.current.level) {
      found.sequence = next_sequence;
      d.current = found;
      s.log.warn("restored the persisted emergency level",
                 {{"level", to_string(found.level)}, {"reason", found.reason}});
    } else {
      d.current.sequence = next_sequence;
    }
  } else {
    s.log.info("no persisted emergency level; starting at the current one",
               {{"level", to_string(d.current.level)}});
  }
  if (d.deferred && d.deferred->level > d.current.level) {
    auto change = *d.deferred;
    change.previous = d.current.level;
    change.sequence = d.current.sequence + 1;
    change.based_on_sequence = d.current.sequence;
    change.based_on_level = d.current.level;
    change.based_on_node = d.current.node;
    d.current = change;
    s.log.warn("a raise made while the level was read takes effect",
               {{"level", to_string(change.level)}, {"reason", change.reason}});
  }
  d.deferred.reset();
  if (d.isolated && d.current.level < emergency_level::halt) {
    // The dead man's switch tripped while the level was being read.
    auto change = make_change(self, emergency_level::halt,
                              "isolated: contact was lost before the persisted level was read",
                              change_source::node);
    change.local_only = true;
    d.current = change;
  }
  d.persisted = false;
  // Bots registered meanwhile were told to wait; now they learn the level in force, at once.
  announce(self, d.current);
  persist(self);
}

emergency_status status_of(const emergency_data& d) {
  emergency_status s;
  s.current = d.current;
  s.restored = d.restored;
  s.persisted = d.persisted;
  s.trading_allowed = d.restored && trading_allowed(d.current.level);
  s.bots_registered = static_cast<uint32_t>(d.bots.size());
  // Of the change in force: until its broadcast has gone out, nobody has acknowledged it.
  s.bots_acknowledged =
      d.acking == d.current.sequence
          ? static_cast<uint32_t>(d.bots.size() - std::min(d.bots.size(), d.waiting.size()))
          : 0;
  s.last_broadcast_us = d.last_broadcast_us;
  s.isolated = d.isolated;
  return s;
}

controller_actor::behavior_type emergency_controller(self_pointer self,
                                                     std::shared_ptr<emergency_data> data,
                                                     emergency_options options,
                                                     state_store_actor store, event_bus_actor bus,
                                                     caf::actor risk_monitor) {
  exit_with_exception_text(self);
  auto& fresh = self->state;
  fresh.data = std::move(data);
  fresh.options = std::move(options);
  fresh.store = std::move(store);
  fresh.bus = std::move(bus);
  fresh.risk_monitor = std::move(risk_monitor);
  // Taking over from a crashed incarnation: watch the bots again.
  for (const auto& [address, bot] : fresh.data->bots)
    self->monitor(bot);
  self->set_down_handler([self](caf::down_msg& down) {
    auto& d = *self->state.data;
    d.bots.erase(down.source);
    acknowledged(self, down.source); // a dead bot acknowledges nothing, and holds up nobody
  });
  if (!fresh.data->restored)
    restore(self);
  return {
      [self](raise_atom, emergency_level level, std::string& reason,
             change_source source) -> caf::result<level_change> {
        auto& d = *self->state.data;
        if (!is_valid(level) || !is_valid(source))
          return make_error(errc::invalid_argument, "no such level or source: " + to_string(level)
                                                        + ", " + to_string(source));
        if (reason.empty())
          return make_error(errc::invalid_argument, "a level change needs a reason");
        if (!d.restored) {
          // Persisting it now would overwrite what is stored (a HALT could be lost), and
          // announcing it would tell bots a level that may not be the one in force: it waits
          // for the restore, and bots stay at the provisional HALT meanwhile.
          if (!d.deferred || level > d.deferred->level)
            d.deferred = make_change(self, level, reason, source);
          auto waiting = d.current;
          waiting.level = std::max(level, emergency_level::halt);
          waiting.reason = "raised to " + to_string(level) + " (" + reason
                           + "); in force once the persisted level has been read";
          waiting.provisional = true;
          return waiting;
        }
        if (level <= d.current.level)
          return d.current;
        auto change = make_change(self, level, std::move(reason), source);
        apply_raise(self, change);
        return change;
      },
      [self](resume_atom, emergency_level level, std::string& reason,
             change_source source) -> caf::result<level_change> {
        auto& d = *self->state.data;
        if (!is_valid(level))
          return make_error(errc::invalid_argument, "no such level: " + to_string(level));
        if (source != change_source::operator_request)
          return make_error(errc::invalid_argument,
                            "only an operator may lower the emergency level, not "
                                + to_string(source));
        if (reason.empty())
          return make_error(errc::invalid_argument, "resuming needs a reason");
        if (d.current.level == emergency_level::shutdown)
          return make_error(errc::invalid_argument,
                            "SHUTDOWN is final for this process; restart it to trade again");
        if (!d.restored)
          return make_error(errc::subsystem_unavailable,
                            "the persisted level has not been read yet; try again shortly");
        if (d.isolated)
          return make_error(errc::invalid_argument,
                            "this node has lost contact with its cluster or its shared store "
                            "(dead man's switch); it can be resumed once contact is back");
        if (level >= d.current.level)
          return make_error(errc::invalid_argument, "resume lowers the level: " + to_string(level)
                                                        + " is not below "
                                                        + to_string(d.current.level));
        auto change = make_change(self, level, std::move(reason), source);
        // Lifting this node's own HALT (its dead man's switch) is this node's business too:
        // the cluster's level reaches it again through its peers.
        change.local_only = change.local_only || d.current.local_only;
        auto rp = self->make_response_promise<level_change>();
        // Persisted first, and only then in force: a resume that is not stored does not happen.
        self->request(self->state.store, store_timeout, set_atom::value,
                      own_key(self->state.options), encode_level_change(change), int64_t{0})
            .then(
                [self, change, rp]() mutable {
                  auto& now_data = *self->state.data;
                  if (now_data.current.sequence >= change.sequence) {
                    rp.deliver(make_error(errc::invalid_argument,
                                          "the level changed meanwhile; resume again"));
                    return;
                  }
                  now_data.current = change;
                  now_data.persisted = true;
                  announce(self, change);
                  rp.deliver(change);
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(make_error(errc::store_unavailable,
                                        "the level was not lowered: it could not be persisted ("
                                            + to_string(err) + ")"));
                });
        return rp;
      },
      [self](peer_change_atom, level_change& incoming) -> caf::result<level_change> {
        auto& d = *self->state.data;
        if (!d.restored)
          return make_error(errc::subsystem_unavailable,
                            "the persisted level has not been read yet; the next heartbeat "
                            "brings the peer's level again");
        auto merged = merge_peer_change(d.current, incoming);
        if (!merged)
          return d.current;
        auto change = std::move(*merged);
        // The dead man's switch holds this node: nothing lower from the cluster until an
        // operator has resumed it.
        if (d.isolated && change.level < d.current.level)
          return d.current;
        self->state.log.warn("taking the level of a peer node",
                             {{"level", to_string(change.level)},
                              {"node", change.node},
                              {"sequence", change.sequence},
                              {"restamped", change.sequence != incoming.sequence}});
        if (change.level >= d.current.level) {
          // As a raise: in force at once, persisted as soon as the store takes it.
          apply_raise(self, change);
          return change;
        }
        // As a resume: in force once persisted, if nothing changed meanwhile.
        auto rp = self->make_response_promise<level_change>();
        self->request(self->state.store, store_timeout, set_atom::value,
                      own_key(self->state.options), encode_level_change(change), int64_t{0})
            .then(
                [self, change, rp, before = key_of(d.current)]() mutable {
                  auto& now = *self->state.data;
                  if (key_of(now.current) == before && !now.isolated) {
                    now.current = change;
                    now.persisted = true;
                    announce(self, change);
                  }
                  rp.deliver(now.current);
                },
                [rp](caf::error& err) mutable {
                  rp.deliver(make_error(errc::store_unavailable,
                                        "the peer's lower level was not taken: it could not be "
                                        "persisted ("
                                            + to_string(err) + ")"));
                });
        return rp;
      },
      [self](isolation_atom, bool isolated, std::string& reason) {
        auto& d = *self->state.data;
        if (d.isolated == isolated)
          return;
        d.isolated = isolated;
        if (!isolated) {
          self->state.log.warn("contact is back; an operator can resume this node", {});
          return;
        }
        self->state.log.critical("dead man's switch: this node lost contact; halting its bots",
                                 {{"reason", reason}});
        if (!d.restored || d.current.level >= emergency_level::halt)
          return; // already halted; or not restored yet, and apply_restored halts it
        auto change =
            make_change(self, emergency_level::halt, "isolated: " + reason, change_source::node);
        change.local_only = true;
        apply_raise(self, change);
      },
      [self](register_bot_atom, caf::actor& bot) -> caf::result<level_change> {
        if (!bot)
          return make_error(errc::invalid_argument, "no bot given");
        auto& d = *self->state.data;
        if (d.bots.emplace(bot.address(), bot).second)
          self->monitor(bot);
        auto current = d.current;
        if (!d.restored) {
          // Until the persisted level is known, a new bot must not trade: tell it HALT-like.
          current.level = std::max(current.level, emergency_level::halt);
          current.reason = "the persisted emergency level has not been read yet";
          current.provisional = true;
        }
        return current;
      },
      [self](emergency_ack_atom, uint64_t sequence) {
        auto& d = *self->state.data;
        // Anonymous acknowledgements say nothing about which bot has acted.
        auto sender = self->current_sender();
        if (sender && sequence == d.acking)
          acknowledged(self, caf::actor_cast<caf::actor_addr>(sender));
      },
      [self](await_ack_atom, uint64_t sequence) -> caf::result<int64_t> {
        auto& d = *self->state.data;
        if (sequence > d.current.sequence)
          return make_error(errc::invalid_argument,
                            "no level change with sequence " + std::to_string(sequence) + " yet");
        auto promise = self->make_response_promise<int64_t>();
        self->state.awaiting.emplace(sequence, promise);
        settle_awaiting(self);
        return promise;
      },
      [self](status_atom) -> caf::result<emergency_status> {
        auto& st = self->state;
        auto status = status_of(*st.data);
        if (!st.risk_monitor)
          return status;
        auto rp = self->make_response_promise<emergency_status>();
        self->request(st.risk_monitor, std::chrono::seconds(1), limits_atom::value)
            .then(
                [rp, status](std::vector<limit_status>& limits) mutable {
                  status.limits = std::move(limits);
                  rp.deliver(status);
                },
                [rp, status](caf::error&) mutable { rp.deliver(status); });
        return rp;
      },
      [self](restore_atom) { restore(self); },
      [self](persist_atom, uint64_t sequence) {
        auto& d = *self->state.data;
        if (d.current.sequence == sequence && !d.persisted)
          persist(self);
      },
      [self](grace_atom, uint64_t sequence) {
        if (self->state.data->current.sequence == sequence)
          maybe_shut_down(self);
      },
  };
}

} // namespace

emergency_actor spawn_emergency_controller(caf::actor_system& sys,
                                           std::shared_ptr<emergency_data> data,
                                           emergency_options options, state_store_actor store,
                                           event_bus_actor bus, caf::actor risk_monitor) {
  // Detached: the kill switch has a thread of its own, so a HALT never waits for a scheduler
  // worker busy with the bots' work, and its sends to thousands of bots are spread over the
  // workers instead of piling into one worker's queue (10,000 bots: 120 ms on a worker, 18 ms
  // detached, on the 2-core machine; bench halt-broadcast).
  return caf::actor_cast<emergency_actor>(
      sys.spawn<caf::detached>(emergency_controller, std::move(data), std::move(options),
                               std::move(store), std::move(bus), std::move(risk_monitor)));
}

} // namespace brokedancer
