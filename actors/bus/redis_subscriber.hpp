#pragma once

// A node's one pub/sub connection to Redis. It holds the channels (SUBSCRIBE) and patterns
// (PSUBSCRIBE) its owner asks for, hands every message that arrives to the owner in batches,
// and after a lost connection reconnects (backoff with jitter) and subscribes to all of them
// again by itself. It reports itself ready only once Redis has confirmed every one of them.
//
// Its intake is bounded: past a number of messages handed over and not yet taken (taken()), it
// stops reading the socket until the owner catches up.
//
// hiredis blocks, so this is a detached actor on a thread of its own that waits in poll() on
// the socket and on an eventfd its owner pokes after each change -- never on a CAF scheduler
// thread. Like redis_connection's types, these never leave the process.

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/redis/redis_connection.hpp"

namespace brokedancer {

// A message that arrived on a channel; `pattern` is the PSUBSCRIBE pattern it matched, empty
// when it came through a SUBSCRIBE.
struct pubsub_message {
  std::string pattern;
  std::string channel;
  std::string payload;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pubsub_message& x) {
  return f(caf::meta::type_name("pubsub_message"), x.pattern, x.channel, x.payload);
}

struct pubsub_change {
  bool subscribe = true; // false: unsubscribe
  bool pattern = false;  // PSUBSCRIBE rather than SUBSCRIBE
  std::string name;      // the channel or pattern, as Redis sees it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pubsub_change& x) {
  return f(caf::meta::type_name("pubsub_change"), x.subscribe, x.pattern, x.name);
}

// To the owner: (pubsub_state_atom, bool ready, std::string error) on every change of readiness.
using pubsub_state_atom = caf::atom_constant<caf::atom("ps_state")>;
// To the owner: (pubsub_confirmed_atom, bool pattern, std::string name) when Redis confirms a
// subscription -- from then on, everything published there reaches the owner.
using pubsub_confirmed_atom = caf::atom_constant<caf::atom("ps_conf")>;

class redis_subscriber {
public:
  // Spawns the connection, detached and linked to `owner`, which also receives
  // std::vector<pubsub_message>. `initial`: what to subscribe to from the first connection on
  // (it is ready only once Redis has confirmed all of it).
  static redis_subscriber spawn(caf::local_actor* owner, redis_connection_options options,
                                std::vector<pubsub_change> initial = {});

  redis_subscriber() = default;

  void change(pubsub_change request) const;

  // Makes the connection look at its mailbox now (an exit message, for instance).
  void wake() const;

  // The owner has dealt with `count` of the messages it was handed: the connection reads on
  // while fewer than a bounded number are waiting (its intake is bounded).
  void taken(uint64_t count) const;

  const caf::actor& actor() const {
    return actor_;
  }

  struct wakeup;

private:
  caf::actor actor_;
  std::shared_ptr<wakeup> wakeup_;
};

} // namespace brokedancer
