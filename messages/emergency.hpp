#pragma once

// The kill switch's contract. The emergency controller owns the node's emergency level:
//
//   NORMAL < ALERT < REDUCE_ONLY < HALT < SHUTDOWN
//
// REDUCE_ONLY lets through only new orders that shrink a position without flipping it (the risk
// monitor decides, against its book); HALT and above let no new order through.
//
// Anyone may raise it; only an operator may lower it (resume), and only with a reason;
// SHUTDOWN is final for the process. Every change is persisted through the state store before
// anything else, then sent to every registered bot as a `level_change` with high priority (it
// overtakes queued work), published on emergency.level_changed, and logged. A bot answers each
// level_change with (emergency_ack_atom, sequence) to the sender; the controller tracks who has.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

// The values travel between nodes: every node of a cluster runs the same build (REDUCE_ONLY
// moved HALT and SHUTDOWN up by one).
enum class emergency_level : uint8_t {
  normal = 0,
  alert = 1,
  reduce_only = 2,
  halt = 3,
  shutdown = 4
};

std::string to_string(emergency_level level);
bool from_string(const std::string& text, emergency_level& level);

// A value read off the wire may be any byte: only these five are levels.
constexpr bool is_valid(emergency_level level) {
  return level <= emergency_level::shutdown;
}

// New orders may be sent below HALT: all of them at NORMAL and ALERT, at REDUCE_ONLY only those
// that reduce a position (see reduces_position in actors/risk/risk_book.hpp).
constexpr bool trading_allowed(emergency_level level) {
  return level < emergency_level::halt;
}

constexpr bool reduce_only(emergency_level level) {
  return level == emergency_level::reduce_only;
}

// `stop`: the graceful end of a run (SIGINT, SIGTERM, --duration): a SHUTDOWN that closes the
// positions like any other, but is not an emergency -- the next start comes back at the level
// that was in force before it.
enum class change_source : uint8_t {
  operator_request,
  risk_monitor,
  supervisor,
  node,
  restore,
  stop
};

std::string to_string(change_source source);

constexpr bool is_valid(change_source source) {
  return source <= change_source::stop;
}
bool from_string(const std::string& text, change_source& source);

// The cluster's order of changes: by sequence, then level, then the node that made it. Two
// nodes that change their level at once make changes of the same sequence; the higher level
// comes later, so it wins.
struct change_key {
  uint64_t sequence = 0;
  emergency_level level = emergency_level::normal;
  std::string node;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_key& x) {
  return f(caf::meta::type_name("change_key"), x.sequence, x.level, x.node);
}

struct level_change {
  emergency_level level = emergency_level::normal;
  emergency_level previous = emergency_level::normal;
  std::string reason;
  change_source source = change_source::restore;
  std::string node;      // where the change was made
  int64_t at_us = 0;     // microseconds since the Unix epoch
  uint64_t sequence = 0; // increases with every change, across restarts
  // Told to a bot that registered before the persisted level was read: a HALT to hold it until
  // the level in force is known, which then follows with the same or a higher sequence.
  bool provisional = false;
  // The change in force where and when this one was made (its key: see change_key). A node
  // takes a lower level from a peer only when it was decided knowing the change in force there.
  uint64_t based_on_sequence = 0;
  emergency_level based_on_level = emergency_level::normal;
  std::string based_on_node;
  // A node's own dead man's switch: it halts that node only, and is never sent to, nor taken
  // from, another node.
  bool local_only = false;
  // Raises that were lowered knowingly in the history of this change (the newest, at most
  // max_cleared): one of them heard again -- a late message, a crashed node's stored record --
  // is not raised again.
  std::vector<change_key> cleared;
};

constexpr size_t max_cleared = 32;

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, level_change& x) {
  return f(caf::meta::type_name("level_change"), x.level, x.previous, x.reason, x.source, x.node,
           x.at_us, x.sequence, x.provisional, x.based_on_sequence, x.based_on_level,
           x.based_on_node, x.local_only, x.cleared);
}

bool operator<(const change_key& a, const change_key& b);
bool operator==(const change_key& a, const change_key& b);
inline bool operator>(const change_key& a, const change_key& b) {
  return b < a;
}

change_key key_of(const level_change& change);
change_key based_on_key(const level_change& change);

// A change made on this node on top of `current`: the next sequence, based on `current`;
// lowering the level clears `current` (see `cleared`).
level_change next_change(const level_change& current, emergency_level level, std::string reason,
                         change_source source, std::string node, int64_t at_us);

// How far ahead of this node's sequence a peer's change may be. Changes are made by people and
// limit breaches, a handful a day; a million more than this node has seen is a forgery or a
// bug, and is not taken.
constexpr uint64_t max_sequence_jump = 1'000'000;

// What a node does with a change it hears from a peer (or reads from another node's record),
// given the change in force -- the level in force afterwards, or nothing when it stays:
// - ignored: this change or an older one, another node's own level (local_only), a raise that
//   was cleared in the history of the change in force (a late message, a stale record), a
//   lower level not decided on top of the change in force here (it raced a raise: the higher
//   level stands), or anything malformed;
// - taken as it is: it comes later in the cluster's order (by change_key);
// - taken restamped (the same level, reason, source and node under the next sequence here): a
//   higher level that comes earlier in the order but was never cleared here -- a resume made
//   elsewhere without knowing of a HALT does not lift it -- or a different level with the same
//   sequence (acknowledgements are counted by sequence).
// Either way the clearings known here are kept.
std::optional<level_change> merge_peer_change(const level_change& current,
                                              const level_change& incoming);

// Whether `change` may come from another node at all: levels and sources in range, sizes
// bounded, sequences far from wrapping.
bool acceptable_from_peer(const level_change& change);

// What a registered actor knows of the level. The controller's answer to register_bot and its
// broadcasts can arrive in either order (a broadcast has high priority, the answer does not),
// so the newest change by sequence wins, a provisional one losing to a real one of the same
// sequence, and of two real ones of the same sequence (two nodes changed at once) the later in
// the cluster's order. Until it has heard anything, nothing trades.
class level_tracker {
public:
  // Takes `change` when it is newer than the one known; returns whether it did.
  bool take(const level_change& change);

  bool known() const {
    return known_;
  }

  emergency_level level() const {
    return known_ ? current_.level : emergency_level::halt;
  }

  const level_change& current() const {
    return current_;
  }

private:
  level_change current_;
  bool known_ = false;
};

// -- the persisted level --------------------------------------------------------------------
//
// Each node persists the change in force as JSON under a key of its own, <state_key>:<node> (no
// two nodes overwrite each other on a shared store), and reads every node's record at start.
// The format is stored data: a level persisted by an earlier build must still load.

// The change as the store keeps it. Text that is not UTF-8 is written as U+FFFD.
std::string encode_level_change(const level_change& change);

// Reads what encode_level_change wrote: false, with `why`, for text that is not a valid one.
bool decode_level_change(const std::string& json, level_change& change, std::string& why);

// A graceful stop's record as the next start takes it: SHUTDOWN is final for the process that
// had it, not for the next one. After an emergency SHUTDOWN the node comes back HALTed, for an
// operator to resume; after a graceful stop, at the level in force before it.
level_change as_restored(level_change found);

struct unreadable_record {
  std::string key;
  std::string problem;
};

// What the store holds for a starting node: its own record (or one written under `legacy_key`,
// before nodes had keys of their own), with every other node's record taken as a peer's change
// would be -- so a node that starts late, or again, begins at the cluster's level. Unreadable
// records count as HALT, made at `at_us` by `node_name` after everything that could be read.
struct stored_levels {
  bool found = false;
  level_change change;
  std::vector<unreadable_record> unreadable;
};

stored_levels merge_stored_levels(const std::vector<std::string>& keys,
                                  const std::vector<maybe_value>& values,
                                  const std::string& own_key, const std::string& legacy_key,
                                  const std::string& node_name, int64_t at_us);

// The level a starting controller comes back at, once the store has been read: `current` is
// the level it holds (from before the read), `deferred` a raise made while it read, `isolated`
// whether the dead man's switch tripped meanwhile.
struct restore_outcome {
  level_change current;                 // in force from now on
  std::optional<level_change> restored; // the stored level, when it was read and taken
  std::optional<level_change> deferred; // the raise made meanwhile, when it applies on top
};

restore_outcome restore_level(const level_change& current, const stored_levels& stored,
                              const std::optional<level_change>& deferred, bool isolated,
                              const std::string& node_name, int64_t at_us);

// One risk limit as the risk monitor sees it now.
struct limit_status {
  std::string name; // max_daily_loss, max_drawdown_percent, ...
  double limit = 0; // 0: not enforced
  double current = 0;
  double utilization = 0; // percent of the limit used
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, limit_status& x) {
  return f(caf::meta::type_name("limit_status"), x.name, x.limit, x.current, x.utilization);
}

struct emergency_status {
  level_change current; // the level in force, and how it came to be
  bool trading_allowed = false;
  bool restored = false;  // the persisted level has been read (until then nothing trades)
  bool persisted = false; // the current level is safely in the state store
  uint32_t bots_registered = 0;
  uint32_t bots_acknowledged = 0; // of the current change
  int64_t last_broadcast_us = 0;  // from a change until every bot had acknowledged it
  std::vector<limit_status> limits;
  bool isolated = false; // the dead man's switch holds this node halted
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, emergency_status& x) {
  return f(caf::meta::type_name("emergency_status"), x.current, x.trading_allowed, x.restored,
           x.persisted, x.bots_registered, x.bots_acknowledged, x.last_broadcast_us, x.limits,
           x.isolated);
}

using raise_atom = caf::atom_constant<caf::atom("raise")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using register_bot_atom = caf::atom_constant<caf::atom("reg_bot")>;
using emergency_ack_atom = caf::atom_constant<caf::atom("em_ack")>;
using limits_atom = caf::atom_constant<caf::atom("limits")>;
using await_ack_atom = caf::atom_constant<caf::atom("await_ack")>;
using peer_change_atom = caf::atom_constant<caf::atom("peer_chg")>;
using isolation_atom = caf::atom_constant<caf::atom("isolated")>;

// What every registered bot understands: a level change, answered with
// (emergency_ack_atom, change.sequence) to the sender once the bot has acted on it.
using level_listener = caf::typed_actor<caf::reacts_to<level_change>>;

using emergency_actor = caf::typed_actor<
    // Raises the level (a level at or below the current one changes nothing); the reply is
    // the change in force afterwards.
    caf::replies_to<raise_atom, emergency_level, std::string, change_source>::with<level_change>,
    // Lowers the level: operators only, with a reason, never from SHUTDOWN.
    caf::replies_to<resume_atom, emergency_level, std::string, change_source>::with<level_change>,
    // Registers a bot (or any actor that must stop trading on HALT); the reply is the level in
    // force, and the bot hears of every change from then on.
    caf::replies_to<register_bot_atom, caf::actor>::with<level_change>,
    caf::reacts_to<emergency_ack_atom, uint64_t>,
    // Answers once every bot registered at the time has acknowledged the change with this
    // sequence: how long that took, in microseconds. An error when a newer change replaced it
    // first.
    caf::replies_to<await_ack_atom, uint64_t>::with<int64_t>,
    // The level in force on a peer node (from the cluster actor): taken, restamped or ignored
    // as merge_peer_change says. The reply: the change in force here afterwards.
    caf::replies_to<peer_change_atom, level_change>::with<level_change>,
    // The dead man's switch (from the cluster actor): true raises a HALT of this node alone and
    // refuses resumes until false says contact is back (an operator still has to resume).
    caf::reacts_to<isolation_atom, bool, std::string>,
    caf::replies_to<status_atom>::with<emergency_status>>;

} // namespace brokedancer
