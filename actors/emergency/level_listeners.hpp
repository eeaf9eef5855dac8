#pragma once

// Who hears of the emergency level, and who has acted on it: the emergency controller's
// registered bots (and any other actor that must stop trading on HALT), which of them have yet to
// acknowledge the newest broadcast, and the await_ack requests waiting for them all. The
// listeners outlive an incarnation of the controller (they are part of emergency_data); the
// waiting requests belong to one incarnation, and are answered with an error if it stops first.

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/supervision/owed_reply.hpp"
#include "messages/emergency.hpp"

namespace brokedancer {

class level_listeners {
public:
  using clock = std::chrono::steady_clock;

  // Registers `listener`; true when it was not registered yet (the controller then monitors it).
  bool add(const caf::actor& listener);

  // Forgets a listener that is gone. It still has to be acknowledged (see acknowledge): a dead
  // bot acknowledges nothing, and holds up nobody.
  void remove(const caf::actor_addr& listener);

  // Sends `change` to every listener, as from `sender`, and waits for each to acknowledge it.
  void broadcast(const level_change& change, caf::actor_control_block* sender,
                 caf::execution_unit* context);

  // `listener` has acted on the change being acknowledged (or is gone); true when it was the
  // last one waited for, and last_broadcast_us says how long the broadcast took.
  bool acknowledge(const caf::actor_addr& listener);

  const std::unordered_map<caf::actor_addr, caf::actor>& all() const {
    return listeners_;
  }

  size_t size() const {
    return listeners_.size();
  }

  // The sequence of the change being acknowledged.
  uint64_t acking() const {
    return acking_;
  }

  size_t unacknowledged() const {
    return waiting_.size();
  }

  // How many have acknowledged the change with `sequence`: until its broadcast has gone out,
  // nobody has.
  uint32_t acknowledged_of(uint64_t sequence) const;

  // From a change until every listener had acknowledged it; 0 when nobody was listening.
  int64_t last_broadcast_us() const {
    return last_broadcast_us_;
  }

private:
  std::unordered_map<caf::actor_addr, caf::actor> listeners_;
  // The broadcast in progress: who has yet to acknowledge `acking_`. Before the first broadcast
  // no sequence matches it: bots that registered while the persisted level was being read were
  // told a provisional HALT, and have not acknowledged the level in force until it reaches them.
  uint64_t acking_ = std::numeric_limits<uint64_t>::max();
  std::unordered_set<caf::actor_addr> waiting_;
  clock::time_point broadcast_started_;
  int64_t last_broadcast_us_ = 0;
};

// The await_ack requests, by the sequence they wait for.
class ack_waiters {
public:
  void add(uint64_t sequence, caf::typed_response_promise<int64_t> promise);

  // Answers the requests that can be answered: their change has been acknowledged by every
  // listener, or a newer change (`current_sequence`) has replaced it.
  void settle(uint64_t current_sequence, const level_listeners& listeners);

private:
  std::multimap<uint64_t, owed_reply<int64_t>> waiting_;
};

} // namespace brokedancer
