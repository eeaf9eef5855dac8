#pragma once

// A stateful CAF broker that, once dead, answers requests as every other CAF actor does.
//
// CAF 0.17's brokers skip scheduled_actor::cleanup: a dead broker's mailbox is never closed, so
// the requests waiting in it when it died, and those sent to it afterwards (a stable handle
// forwards to the incarnation it knows until the supervisor rebinds it), are never answered,
// and their senders wait for their whole timeout. Measured: a request to a killed plain broker
// fails after its 2 s timeout; to this one, at once with request_receiver_down. The actors that
// own Redis connections are brokers (actors/redis/redis_link.hpp), and a request to a crashed
// store or bus must fail at once, never hang.

#include <utility>

#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>

namespace brokedancer {

// What scheduled_actor::cleanup does for the mailbox: close it, and answer every request in it
// with `reason`. Compiled on its own without UBSan (actors/CMakeLists.txt): CAF's queues cast
// their list sentinel to an element type, which UBSan reports in every instantiation compiled
// with it, CAF's own being compiled without.
void close_and_bounce_mailbox(caf::scheduled_actor& self, const caf::error& reason);

template <class State>
class answering_broker : public caf::stateful_actor<State, caf::io::broker> {
public:
  using super = caf::stateful_actor<State, caf::io::broker>;
  using super::super;

  bool cleanup(caf::error&& reason, caf::execution_unit* host) override {
    close_and_bounce_mailbox(*this, reason);
    return super::cleanup(std::move(reason), host);
  }
};

} // namespace brokedancer
