#include "actors/emergency/scope_controller.hpp"

#include <map>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/owed_reply.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

struct scope_data {
  using clock = std::chrono::steady_clock;
  scope_table table;
  bool restored = false;
  bool persisted = true;
  uint64_t persisted_version = 0;
  struct registered_bot {
    caf::actor handle;
    scope_subject subject;
    bot_scope_view told;       // what it was last told
    uint64_t told_version = 0; // the table's version then
    bool acknowledged = true;  // it has acknowledged what it was last told
  };
  std::unordered_map<caf::actor_addr, registered_bot> bots;
  std::unordered_map<caf::actor_addr, caf::actor> watchers;
  // Bots that have not acknowledged what they were last told, by the version they were told at:
  // the changes up to a version are acknowledged once no bot told at it or later still owes.
  std::map<uint64_t, uint32_t> owing;
  std::map<uint64_t, clock::time_point> told_at; // the newest changes' times
  uint64_t newest_told = 0;                      // the newest change
  uint32_t told = 0;                             // the bots it changed
  int64_t last_broadcast_us = 0;
};

std::shared_ptr<scope_data> make_scope_data() {
  return std::make_shared<scope_data>();
}

namespace {

using restore_atom = caf::atom_constant<caf::atom("sc_rest")>;
using persist_atom = caf::atom_constant<caf::atom("sc_pers")>;
using halt_again_atom = caf::atom_constant<caf::atom("sc_halt")>;

using scope_impl =
    scope_actor::extend<caf::reacts_to<restore_atom>, caf::reacts_to<persist_atom, uint64_t>,
                        caf::reacts_to<halt_again_atom, std::string>>;

constexpr auto store_timeout = std::chrono::seconds(5);
constexpr auto retry_after = std::chrono::milliseconds(500);

struct scope_state {
  std::shared_ptr<scope_data> data;
  scope_options options;
  state_store_actor store;
  event_bus_actor bus;
  emergency_actor emergency;
  std::multimap<uint64_t, owed_reply<int64_t>> awaiting;
  // Until the stored tables are read, by watcher: asked again, the older request is answered
  // with an error (owed_reply) and replaced.
  std::unordered_map<caf::actor_addr, owed_reply<scope_table>> waiting_watchers;
  logger log{"scopes"};
};

using self_pointer = scope_impl::stateful_pointer<scope_state>;

std::string own_key(const scope_state& st) {
  return st.options.key_prefix + st.options.node_name;
}

// -- telling bots and watchers ------------------------------------------------------------------

void send_high(self_pointer self, const caf::actor& to, caf::message message) {
  // Like a level change, a scope's HALT overtakes what the bot has queued.
  to->enqueue(caf::make_mailbox_element(self->ctrl(),
                                        caf::make_message_id(caf::message_priority::high), {},
                                        std::move(message)),
              self->context());
}

int64_t micros_since_told(const scope_data& d, uint64_t version) {
  auto at = d.told_at.find(version);
  if (at == d.told_at.end())
    return 0;
  return std::chrono::duration_cast<std::chrono::microseconds>(scope_data::clock::now()
                                                               - at->second)
      .count();
}

// Whether every bot told of a change up to `version` has acknowledged it (or a later one).
bool acknowledged_up_to(const scope_data& d, uint64_t version) {
  return d.owing.lower_bound(version) == d.owing.end();
}

void settle_awaiting(self_pointer self) {
  auto& d = *self->state.data;
  auto& awaiting = self->state.awaiting;
  for (auto i = awaiting.begin(); i != awaiting.end();) {
    if (!acknowledged_up_to(d, i->first)) {
      ++i;
      continue;
    }
    i->second.deliver(micros_since_told(d, i->first));
    i = awaiting.erase(i);
  }
}

// `bot` no longer owes what it was told (it acknowledged it, or it is gone).
void settle_bot(scope_data& d, scope_data::registered_bot& bot) {
  if (bot.acknowledged)
    return;
  bot.acknowledged = true;
  auto owed = d.owing.find(bot.told_version);
  if (owed != d.owing.end() && --owed->second == 0)
    d.owing.erase(owed);
}

void note_settled(self_pointer self) {
  auto& d = *self->state.data;
  if (d.told > 0 && d.last_broadcast_us == 0 && acknowledged_up_to(d, d.newest_told)) {
    d.last_broadcast_us = std::max<int64_t>(1, micros_since_told(d, d.newest_told));
    self->state.log.info(
        "every bot covered acknowledged the scopes",
        {{"version", d.newest_told}, {"bots", d.told}, {"took_us", d.last_broadcast_us}});
  }
  settle_awaiting(self);
}

// Every bot whose view changed is told; every watcher gets the table. Returns the bots told.
uint32_t tell_everyone(self_pointer self) {
  auto& d = *self->state.data;
  auto version = d.table.version;
  d.newest_told = version;
  d.told = 0;
  d.last_broadcast_us = 0;
  d.told_at[version] = scope_data::clock::now();
  while (d.told_at.size() > 1024)
    d.told_at.erase(d.told_at.begin());
  for (auto& [address, bot] : d.bots) {
    auto view = view_for(d.table, bot.subject);
    if (same_view(view, bot.told))
      continue;
    settle_bot(d, bot); // what it owed before is replaced by this
    bot.told = view;
    bot.told_version = version;
    bot.acknowledged = false;
    ++d.owing[version];
    ++d.told;
    send_high(self, bot.handle, caf::make_message(std::move(view)));
  }
  // Until the stored tables are read, a watcher learns nothing: it would take a partial table.
  if (d.restored) {
    auto table = caf::make_message(d.table);
    for (const auto& [address, watcher] : d.watchers)
      send_high(self, watcher, table);
  }
  note_settled(self);
  return d.told;
}

void publish(self_pointer self, const halt_scope& scope) {
  auto& st = self->state;
  logger::fields fields{{"kind", to_string(scope.kind)},
                        {"name", scope.name},
                        {"level", to_string(scope.change.level)},
                        {"reason", scope.change.reason},
                        {"source", to_string(scope.change.source)},
                        {"node", scope.change.node}};
  if (scope.change.level >= emergency_level::halt)
    st.log.critical("a scope is halted: what it covers stops trading", std::move(fields));
  else
    st.log.warn("a scope changed", std::move(fields));
  if (st.bus)
    self->request(st.bus, store_timeout, publish_atom::value,
                  std::string{"emergency.scope_changed"}, scope_json(scope), correlation_id{})
        .then([](uint64_t) {}, [](caf::error&) {});
}

// -- persisting ---------------------------------------------------------------------------------

void persist(self_pointer self) {
  auto& st = self->state;
  auto& d = *st.data;
  d.persisted = false;
  // Before the stored tables are read, this one would overwrite them: the restore writes it.
  if (!d.restored)
    return;
  auto version = d.table.version;
  self->request(st.store, store_timeout, set_atom::value, own_key(st),
                encode_scopes(d.table.scopes), int64_t{0})
      .then(
          [self, version] {
            auto& now = *self->state.data;
            now.persisted_version = std::max(now.persisted_version, version);
            now.persisted = now.persisted_version >= now.table.version;
          },
          [self, version](caf::error& err) {
            self->state.log.error("could not persist the scopes; retrying",
                                  {{"error", self->system().render(err)}});
            self->delayed_send(self, retry_after, persist_atom::value, version);
          });
}

// A change in force: told, published, persisted.
uint32_t take_effect(self_pointer self, const std::vector<halt_scope>& changed) {
  for (const auto& scope : changed)
    publish(self, scope);
  auto told = tell_everyone(self);
  persist(self);
  return told;
}

// -- restoring ----------------------------------------------------------------------------------

// Halts the node through the emergency controller, retried until it answers.
void raise_halt(self_pointer self, const std::string& reason) {
  auto& st = self->state;
  if (!st.emergency)
    return;
  self->request(st.emergency, store_timeout, raise_atom::value, emergency_level::halt, reason,
                change_source::restore)
      .then([](level_change&) {},
            [self, reason](caf::error&) {
              self->delayed_send(self, retry_after, halt_again_atom::value, reason);
            });
}

// This node's own record, unreadable, is about to be written over: kept aside first, under a key
// the restore does not read (emergency:scopes-unreadable:<node>:<time>), for whoever settles it.
void keep_unreadable_own(self_pointer self, const std::vector<std::string>& keys,
                         const std::vector<maybe_value>& values) {
  auto& st = self->state;
  for (size_t i = 0; i < keys.size() && i < values.size(); ++i) {
    std::vector<halt_scope> scopes;
    std::string why;
    if (keys[i] != own_key(st) || !values[i].found || decode_scopes(values[i].json, scopes, why))
      continue;
    auto aside =
        "emergency:scopes-unreadable:" + st.options.node_name + ":" + std::to_string(now_us());
    self->request(st.store, store_timeout, set_atom::value, aside, values[i].json, int64_t{0})
        .then([] {},
              [self, aside](caf::error& err) {
                self->state.log.error("could not keep the unreadable scope table aside",
                                      {{"key", aside}, {"error", self->system().render(err)}});
              });
    st.log.warn("the unreadable scope table is kept aside", {{"key", aside}});
  }
}

// The stored tables are in: raises made here while they were read go on top of them (each a
// change after the stored scope's, so that no lift stored earlier cancels it), and every bot and
// watcher learns the scopes in force.
void take_restored(self_pointer self, scope_table stored) {
  auto& st = self->state;
  auto& d = *st.data;
  auto before = std::move(d.table);
  auto version = std::max(before.version, stored.version);
  d.table = std::move(stored);
  for (const auto& raised : before.scopes) {
    if (!in_force(raised))
      continue;
    const auto* here = find_scope(d.table, raised.kind, raised.name);
    if (here && here->change.level >= raised.change.level)
      continue;
    put_scope(d.table, {raised.kind, raised.name,
                        next_change(here ? here->change : level_change{}, raised.change.level,
                                    raised.change.reason, raised.change.source, raised.change.node,
                                    raised.change.at_us)});
  }
  d.table.version = version + 1;
  d.restored = true;
  // Told the table now; the broadcast below tells them again (the version lets them see it).
  for (auto& [address, w] : st.waiting_watchers)
    w.deliver(d.table);
  st.waiting_watchers.clear();
  st.log.info("scopes restored", {{"in_force", count_in_force(d.table)}});
  tell_everyone(self);
  persist(self);
}

void restore(self_pointer self) {
  auto& st = self->state;
  auto retry = [self](caf::error& err) {
    self->state.log.error("cannot read the stored scopes yet; orders wait until they are read",
                          {{"error", self->system().render(err)}});
    self->delayed_send(self, retry_after, restore_atom::value);
  };
  self->request(st.store, store_timeout, list_keys_atom::value, st.options.key_prefix + "*")
      .then(
          [self, retry](std::vector<std::string>& keys) {
            auto& s = self->state;
            self->request(s.store, store_timeout, get_many_atom::value, keys)
                .then(
                    [self, keys](std::vector<maybe_value>& values) {
                      auto& now = self->state;
                      auto stored = merge_stored_scopes(keys, values, own_key(now));
                      keep_unreadable_own(self, keys, values);
                      for (const auto& problem : stored.unreadable) {
                        now.log.critical("a stored scope table is unreadable; halting the node",
                                         {{"problem", problem}});
                        raise_halt(self, "a stored scope table could not be read (" + problem
                                             + "): what it halted is unknown");
                      }
                      take_restored(self, std::move(stored.table));
                    },
                    retry);
          },
          retry);
}

// -- raising and lowering -----------------------------------------------------------------------

caf::error change_problem(scope_kind kind, const std::string& name, const std::string& reason,
                          change_source source) {
  if (auto problem = scope_name_problem(kind, name); !problem.empty())
    return make_error(errc::invalid_argument, problem);
  if (!is_valid(source))
    return make_error(errc::invalid_argument, "no such source");
  if (reason.empty())
    return make_error(errc::invalid_argument, "a scope's change needs a reason");
  return {};
}

caf::result<scope_reply> on_raise(self_pointer self, scope_kind kind, const std::string& name,
                                  emergency_level level, std::string& reason,
                                  change_source source) {
  if (auto problem = change_problem(kind, name, reason, source))
    return problem;
  if (level != emergency_level::reduce_only && level != emergency_level::halt)
    return make_error(errc::invalid_argument, "a scope is raised to REDUCE_ONLY or HALT");
  auto& d = *self->state.data;
  const auto* here = find_scope(d.table, kind, name);
  if (here && here->change.level >= level)
    return scope_reply{*here, d.table.version, 0};
  if ((!here || !in_force(*here)) && count_in_force(d.table) >= max_scopes_in_force)
    return make_error(errc::invalid_argument,
                      "at most " + std::to_string(max_scopes_in_force)
                          + " scopes are in force at once; lift some, or halt the node");
  halt_scope scope{kind, name,
                   next_change(here ? here->change : level_change{}, level, std::move(reason),
                               source, self->state.options.node_name, now_us())};
  put_scope(d.table, scope);
  auto told = take_effect(self, {scope});
  return scope_reply{scope, d.table.version, told};
}

caf::result<scope_reply> on_lower(self_pointer self, scope_kind kind, const std::string& name,
                                  emergency_level level, std::string& reason,
                                  change_source source) {
  if (auto problem = change_problem(kind, name, reason, source))
    return problem;
  if (source != change_source::operator_request)
    return make_error(errc::invalid_argument, "only an operator may lower a scope");
  auto& d = *self->state.data;
  if (!d.restored)
    return make_error(errc::subsystem_unavailable,
                      "the stored scopes have not been read yet; try again shortly");
  const auto* here = find_scope(d.table, kind, name);
  if (!here || !in_force(*here))
    return make_error(errc::invalid_argument,
                      "no " + to_string(kind) + " scope " + name + " is in force");
  if (level != emergency_level::normal && level != emergency_level::reduce_only)
    return make_error(errc::invalid_argument,
                      "a scope is lowered to REDUCE_ONLY, or lifted (NORMAL); not to "
                          + to_string(level));
  if (level >= here->change.level)
    return make_error(errc::invalid_argument, "a resume lowers the scope: " + to_string(level)
                                                  + " is not below "
                                                  + to_string(here->change.level));
  halt_scope scope{kind, name,
                   next_change(here->change, level, std::move(reason), source,
                               self->state.options.node_name, now_us())};
  // Persisted first, and only then in force: a lift that is not stored does not happen.
  auto lowered = d.table;
  put_scope(lowered, scope);
  auto rp = self->make_response_promise<scope_reply>();
  self->request(self->state.store, store_timeout, set_atom::value, own_key(self->state),
                encode_scopes(lowered.scopes), int64_t{0})
      .then(
          [self, rp, scope, before = key_of(here->change)]() mutable {
            auto& now = *self->state.data;
            const auto* current = find_scope(now.table, scope.kind, scope.name);
            if (!current || !(key_of(current->change) == before)) {
              rp.deliver(make_error(errc::invalid_argument,
                                    "the scope changed meanwhile; resume it again"));
              return;
            }
            put_scope(now.table, scope);
            auto told = take_effect(self, {scope});
            rp.deliver(scope_reply{scope, now.table.version, told});
          },
          [rp](caf::error& err) mutable {
            rp.deliver(make_error(errc::store_unavailable,
                                  "the scope was not lowered: it could not be persisted ("
                                      + to_string(err) + ")"));
          });
  return rp;
}

void on_peer_scopes(self_pointer self, const std::vector<halt_scope>& theirs) {
  auto& d = *self->state.data;
  // Each scope is checked on its own (merge_scopes): one malformed scope does not hide the rest.
  if (!d.restored || theirs.size() > max_scopes_kept)
    return; // the next heartbeat brings them again
  auto taken = merge_scopes(d.table, theirs);
  if (taken.empty())
    return;
  self->state.log.warn("taking scopes from a peer", {{"scopes", taken.size()}});
  take_effect(self, taken);
}

// -- bots and watchers --------------------------------------------------------------------------

caf::result<bot_scope_view> on_register(self_pointer self, const caf::actor& bot,
                                        scope_subject& subject) {
  if (!bot)
    return make_error(errc::invalid_argument, "no bot given");
  auto& d = *self->state.data;
  auto view = view_for(d.table, subject);
  auto [entry, added] = d.bots.try_emplace(bot.address());
  settle_bot(d, entry->second); // registered again: the answer tells it all
  entry->second.handle = bot;
  entry->second.subject = std::move(subject);
  entry->second.told = view;
  entry->second.told_version = d.table.version;
  if (added)
    self->monitor(bot);
  return view;
}

caf::result<scope_table> on_watch(self_pointer self, const caf::actor& watcher) {
  auto& d = *self->state.data;
  if (!watcher)
    return make_error(errc::invalid_argument, "no watcher given");
  if (d.watchers.emplace(watcher.address(), watcher).second)
    self->monitor(watcher);
  if (d.restored)
    return d.table;
  // Answered as soon as the stored tables are read (no retry gap while orders wait for it).
  auto rp = self->make_response_promise<scope_table>();
  auto& waiting = self->state.waiting_watchers;
  waiting.erase(watcher.address());
  waiting.emplace(watcher.address(),
                  owed_reply<scope_table>{
                      rp, "the scope controller stopped before the stored scopes were read"});
  return rp;
}

void on_ack(self_pointer self, uint64_t version) {
  auto sender = self->current_sender();
  if (!sender)
    return; // anonymous acknowledgements say nothing about which bot has acted
  auto& d = *self->state.data;
  auto bot = d.bots.find(caf::actor_cast<caf::actor_addr>(sender));
  if (bot == d.bots.end() || version < bot->second.told_version)
    return;
  settle_bot(d, bot->second);
  note_settled(self);
}

caf::result<int64_t> on_await(self_pointer self, uint64_t version) {
  auto& d = *self->state.data;
  if (version > d.table.version)
    return make_error(errc::invalid_argument, "no scope change with that version yet");
  auto rp = self->make_response_promise<int64_t>();
  self->state.awaiting.emplace(
      version, owed_reply<int64_t>{rp, "the scope controller stopped before every bot "
                                       "acknowledged"});
  settle_awaiting(self);
  return rp;
}

scope_status status_of(const scope_data& d) {
  scope_status s;
  for (const auto& scope : d.table.scopes)
    if (in_force(scope))
      s.in_force.push_back(scope);
  s.version = d.table.version;
  s.restored = d.restored;
  s.persisted = d.persisted;
  s.bots_registered = static_cast<uint32_t>(d.bots.size());
  s.bots_told = d.told;
  auto owed = d.owing.find(d.newest_told);
  s.bots_acknowledged = d.told - (owed == d.owing.end() ? 0 : std::min(d.told, owed->second));
  s.last_broadcast_us = d.last_broadcast_us;
  return s;
}

void on_down(self_pointer self, const caf::down_msg& down) {
  auto& d = *self->state.data;
  d.watchers.erase(down.source);
  auto bot = d.bots.find(down.source);
  if (bot == d.bots.end())
    return;
  settle_bot(d, bot->second); // a dead bot holds up nobody
  d.bots.erase(bot);
  note_settled(self);
}

scope_impl::behavior_type scope_controller(self_pointer self, std::shared_ptr<scope_data> data,
                                           scope_options options, state_store_actor store,
                                           event_bus_actor bus, emergency_actor emergency) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.data = std::move(data);
  st.options = std::move(options);
  st.store = std::move(store);
  st.bus = std::move(bus);
  st.emergency = std::move(emergency);
  // Monitored again in this incarnation: a bot or watcher that goes is forgotten.
  for (auto& [address, bot] : st.data->bots)
    self->monitor(bot.handle);
  for (auto& [address, watcher] : st.data->watchers)
    self->monitor(watcher);
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  if (!st.data->restored)
    restore(self);
  else if (!st.data->persisted)
    persist(self);
  return {
      [self](raise_scope_atom, scope_kind kind, const std::string& name, emergency_level level,
             std::string& reason,
             change_source source) { return on_raise(self, kind, name, level, reason, source); },
      [self](lower_scope_atom, scope_kind kind, const std::string& name, emergency_level level,
             std::string& reason,
             change_source source) { return on_lower(self, kind, name, level, reason, source); },
      [self](register_scoped_atom, const caf::actor& bot, scope_subject& subject) {
        return on_register(self, bot, subject);
      },
      [self](scope_ack_atom, uint64_t version) { on_ack(self, version); },
      [self](watch_scopes_atom, const caf::actor& watcher) { return on_watch(self, watcher); },
      [self](peer_scopes_atom, const std::vector<halt_scope>& theirs) {
        on_peer_scopes(self, theirs);
      },
      [self](await_scope_ack_atom, uint64_t version) { return on_await(self, version); },
      [self](status_atom) { return status_of(*self->state.data); },
      [self](restore_atom) { restore(self); },
      [self](halt_again_atom, const std::string& reason) { raise_halt(self, reason); },
      [self](persist_atom, uint64_t version) {
        auto& d = *self->state.data;
        if (d.persisted_version < version)
          persist(self);
      },
  };
}

} // namespace

scope_actor spawn_scope_controller(caf::actor_system& sys, std::shared_ptr<scope_data> data,
                                   scope_options options, state_store_actor store,
                                   event_bus_actor bus, emergency_actor emergency) {
  return sys.spawn(scope_controller, std::move(data), std::move(options), std::move(store),
                   std::move(bus), std::move(emergency));
}

} // namespace brokedancer
