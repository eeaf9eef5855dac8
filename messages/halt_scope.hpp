#pragma once

// Scoped halts: the kill switch aimed at one bot, one strategy, one symbol or one endpoint instead
// of the whole node. Each scope is a level of its own -- REDUCE_ONLY or HALT, NORMAL once lifted --
// with the same history as the node's level (a level_change: sequence, based-on, cleared), so that
// nodes settle races the same way (merge_peer_change): a raise made anywhere holds until someone
// who knew of it lifts it, and a late message never raises again what was lifted knowingly.
//
// The node's own level still applies on top: what a scope allows, a node-wide (or cluster-wide)
// HALT forbids. Owned by the scope controller (actors/emergency/scope_controller.hpp), which
// persists the table, spreads it through the cluster, tells each bot what covers it and waits for
// those bots' acknowledgements; the risk monitor enforces it on every order.

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"

#include "messages/emergency.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

enum class scope_kind : uint8_t { bot, strategy, symbol, endpoint };

std::string to_string(scope_kind kind);
bool from_string(const std::string& text, scope_kind& kind);

constexpr bool is_valid(scope_kind kind) {
  return kind <= scope_kind::endpoint;
}

struct halt_scope {
  scope_kind kind = scope_kind::symbol;
  std::string name;    // a bot id, a strategy, a symbol, an endpoint: a plain name
  level_change change; // NORMAL: lifted (kept, so that the lift spreads and holds)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, halt_scope& x) {
  return f(caf::meta::type_name("halt_scope"), x.kind, x.name, x.change);
}

// The scopes a node knows, by kind and name; `version` counts the changes made to it here (what
// bots acknowledge), and is not compared across nodes.
struct scope_table {
  uint64_t version = 0;
  std::vector<halt_scope> scopes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scope_table& x) {
  return f(caf::meta::type_name("scope_table"), x.version, x.scopes);
}

// Bounds: scopes in force, and all kept (the lifted ones go first, oldest first).
constexpr size_t max_scopes_in_force = 200;
constexpr size_t max_scopes_kept = 256;

// Why a scope's name cannot be one (empty when it can): a plain name of at most 64 bytes.
std::string scope_name_problem(scope_kind kind, const std::string& name);

bool in_force(const halt_scope& scope);
size_t count_in_force(const scope_table& table);

// The scope of that kind and name, or null.
const halt_scope* find_scope(const scope_table& table, scope_kind kind, const std::string& name);

// Puts `scope` in the table (replacing the one of its kind and name), counts a new version, and
// drops the oldest lifted scopes beyond max_scopes_kept.
void put_scope(scope_table& table, halt_scope scope);

// The scopes of `theirs` (a peer's, or another node's stored table) merged into `table` one by
// one as merge_peer_change settles a level; returns those taken, as they now stand. Malformed
// scopes, and new ones beyond max_scopes_in_force, are not taken.
std::vector<halt_scope> merge_scopes(scope_table& table, const std::vector<halt_scope>& theirs);

// Whether a list of scopes may come from another node at all (count, kinds, names, changes).
bool acceptable_from_peer(const std::vector<halt_scope>& scopes);

// -- what a scope covers ------------------------------------------------------------------------

// A bot as scopes see it: its id, its strategy, the endpoint its orders go to.
struct scope_subject {
  std::string bot_id;
  std::string strategy;
  std::string endpoint;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scope_subject& x) {
  return f(caf::meta::type_name("scope_subject"), x.bot_id, x.strategy, x.endpoint);
}

struct symbol_scope {
  std::string symbol;
  emergency_level level = emergency_level::normal;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, symbol_scope& x) {
  return f(caf::meta::type_name("symbol_scope"), x.symbol, x.level);
}

// What a bot is told: the highest level of the scopes over the whole bot (its id, its strategy,
// its endpoint) with that scope's reason, and the symbols scoped (it trades those only as they
// allow). Answered with (scope_ack_atom, version) once the bot has acted on it.
struct bot_scope_view {
  uint64_t version = 0;
  emergency_level level = emergency_level::normal;
  std::string reason;
  std::vector<symbol_scope> symbols;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bot_scope_view& x) {
  return f(caf::meta::type_name("bot_scope_view"), x.version, x.level, x.reason, x.symbols);
}

// The view of `table` for the bot `subject`.
bot_scope_view view_for(const scope_table& table, const scope_subject& subject);

// Whether two views ask a bot to act differently (the version aside).
bool same_view(const bot_scope_view& a, const bot_scope_view& b);

// The level a view sets for an order in `symbol`: the higher of the bot's and the symbol's.
emergency_level level_for(const bot_scope_view& view, const std::string& symbol);

// The scopes in force by kind and name, for the order path: a lookup per kind, whatever the
// number of scopes.
class scope_index {
public:
  void rebuild(const scope_table& table);

  // The highest scope in force over an order of `bot_id` (of `strategy`) in `symbol` to
  // `endpoint`; null when none is.
  const halt_scope* covering(const std::string& bot_id, const std::string& strategy,
                             const std::string& symbol, const std::string& endpoint) const;

  bool empty() const {
    return in_force_.empty();
  }

private:
  std::vector<halt_scope> in_force_;
  std::unordered_map<std::string, size_t> by_kind_[4];
};

// -- persisted ----------------------------------------------------------------------------------
//
// Each node writes its table as JSON under <prefix><node> (emergency:scopes:<node>), and reads
// every node's at start: {"version": 1, "scopes": [{"kind", "name", "change": <level change as
// encode_level_change writes it>}]}.

std::string encode_scopes(const std::vector<halt_scope>& scopes);
bool decode_scopes(const std::string& json, std::vector<halt_scope>& scopes, std::string& why);

// The stored tables, merged: this node's own first, then every other node's as a peer's would be.
struct stored_scopes {
  scope_table table;
  std::vector<std::string> unreadable; // "key: why"
};

stored_scopes merge_stored_scopes(const std::vector<std::string>& keys,
                                  const std::vector<maybe_value>& values,
                                  const std::string& own_key);

// The scope as JSON, for emergency.scope_changed, status and the operator API.
std::string scope_json(const halt_scope& scope);

// Whether two lists hold the same changes of the same scopes, in the same order.
bool same_scopes(const std::vector<halt_scope>& a, const std::vector<halt_scope>& b);

// -- the scope controller's contract ------------------------------------------------------------

// A change of one scope, in force: the scope as it stands, the table's version it is part of,
// and how many bots it covers (they were told, and acknowledge that version).
struct scope_reply {
  halt_scope scope;
  uint64_t version = 0;
  uint32_t bots_covered = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scope_reply& x) {
  return f(caf::meta::type_name("scope_reply"), x.scope, x.version, x.bots_covered);
}

struct scope_status {
  std::vector<halt_scope> in_force;
  uint64_t version = 0;
  bool restored = false;  // the stored tables have been read (until then orders wait)
  bool persisted = false; // the table as it is now is in the store
  uint32_t bots_registered = 0;
  uint32_t bots_told = 0;         // whose view the newest change changed
  uint32_t bots_acknowledged = 0; // of those
  int64_t last_broadcast_us = 0;  // from a change until every bot told had acknowledged it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scope_status& x) {
  return f(caf::meta::type_name("scope_status"), x.in_force, x.version, x.restored, x.persisted,
           x.bots_registered, x.bots_told, x.bots_acknowledged, x.last_broadcast_us);
}

using raise_scope_atom = caf::atom_constant<caf::atom("sc_raise")>;
using lower_scope_atom = caf::atom_constant<caf::atom("sc_lower")>;
using register_scoped_atom = caf::atom_constant<caf::atom("sc_reg")>;
using scope_ack_atom = caf::atom_constant<caf::atom("sc_ack")>;
using watch_scopes_atom = caf::atom_constant<caf::atom("sc_watch")>;
using peer_scopes_atom = caf::atom_constant<caf::atom("sc_peer")>;
using await_scope_ack_atom = caf::atom_constant<caf::atom("sc_await")>;

using scope_actor = caf::typed_actor<
    // (kind, name, REDUCE_ONLY or HALT, reason, source): in force at once, persisted in
    // parallel; a level at or below the scope's changes nothing.
    caf::replies_to<raise_scope_atom, scope_kind, std::string, emergency_level, std::string,
                    change_source>::with<scope_reply>,
    // (kind, name, a lower level: NORMAL lifts it, reason, operator_request): in force once
    // persisted.
    caf::replies_to<lower_scope_atom, scope_kind, std::string, emergency_level, std::string,
                    change_source>::with<scope_reply>,
    // A bot: its view now, and every change of it from then on (bot_scope_view), answered with
    // (scope_ack_atom, view.version).
    caf::replies_to<register_scoped_atom, caf::actor, scope_subject>::with<bot_scope_view>,
    caf::reacts_to<scope_ack_atom, uint64_t>,
    // The risk monitor, the cluster: the whole table now (an error until it has been read), and
    // every change of it from then on (scope_table).
    caf::replies_to<watch_scopes_atom, caf::actor>::with<scope_table>,
    // A peer's scopes (from the cluster actor), merged as merge_scopes says.
    caf::reacts_to<peer_scopes_atom, std::vector<halt_scope>>,
    // Once every bot told of the change with this version (or a newer one) has acknowledged it:
    // how long that took, in microseconds.
    caf::replies_to<await_scope_ack_atom, uint64_t>::with<int64_t>,
    caf::replies_to<status_atom>::with<scope_status>>;

} // namespace brokedancer
