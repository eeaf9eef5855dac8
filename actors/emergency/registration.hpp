#pragma once

// How an actor that must obey the kill switch joins it: it registers with the emergency
// controller (like a bot), learns the level in force from the answer, and tries again until the
// controller answers -- at start the controller may not be up yet, or still reading the
// persisted level. Until then the actor acts as if halted (its own rule; see its header).
//
// The actor keeps an `emergency_registration` in its state and handles `register_again_atom`
// by calling `attempt` again:
//
//   [self](register_again_atom) { self->state.registration.attempt(self, ...); }

#include <chrono>
#include <string>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>

#include "core/logging.hpp"
#include "messages/emergency.hpp"

namespace brokedancer {

// Sent by an actor to itself when its registration should be tried again.
using register_again_atom = caf::atom_constant<caf::atom("em_again")>;

class emergency_registration {
public:
  // The controller answers a registration at once; this long means it is gone or stuck.
  static constexpr auto timeout = std::chrono::seconds(5);
  // Short: until it is registered, the actor refuses to trade.
  static constexpr auto retry_after = std::chrono::milliseconds(200);
  // A warning on the first failure and then every this many (every 5 s at retry_after).
  static constexpr int warn_every = 25;

  // `until_registered` says, for the warning, what the actor does meanwhile ("orders are
  // refused until it answers").
  explicit emergency_registration(std::string until_registered)
      : until_registered_(std::move(until_registered)) {
    // nop
  }

  // Asks `controller` to register `self`. `on_registered(level_change&)` runs with the level in
  // force once it answers; on an error, `self` is sent register_again_atom after retry_after.
  // The handlers run only while `self` lives, and `this` lives in its state.
  template <class Self, class Controller, class OnRegistered>
  void attempt(Self* self, const Controller& controller, const logger& log,
               OnRegistered on_registered) {
    self->request(controller, timeout, register_bot_atom::value, caf::actor_cast<caf::actor>(self))
        .then(
            [this, on_registered](level_change& current) mutable {
              registered_ = true;
              on_registered(current);
            },
            [this, self, &log](caf::error& err) {
              if (failures_++ % warn_every == 0)
                log.warn("cannot register with the emergency controller yet; " + until_registered_,
                         {{"error", self->system().render(err)}, {"attempts", failures_}});
              self->delayed_send(self, retry_after, register_again_atom::value);
            });
  }

  bool registered() const {
    return registered_;
  }

private:
  std::string until_registered_;
  bool registered_ = false;
  int failures_ = 0;
};

} // namespace brokedancer
