#pragma once

// How an actor that must obey the kill switch joins it: it registers with the emergency
// controller (like a bot), learns the level in force from the answer, and tries again until the
// controller answers -- at start the controller may not be up yet, or still reading the
// persisted level. Until then the actor acts as if halted (its own rule; see its header).
//
// The actor keeps an `emergency_registration` in its state (with its own registration_timing)
// and handles `register_again_atom` by calling `attempt` again:
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

// How one kind of actor registers: how long it waits for an answer, how soon it asks again, and
// which failures it logs. Each kind keeps its own: a bot host waits long and retries slowly (a
// node may have thousands, all asking at once while the controller starts), a circuit breaker
// retries fast and warns once, the cluster link says nothing (it is wired before the controller
// on purpose).
struct registration_timing {
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds retry_after{200};
  // The failures logged: the warn_at-th (1-based) and then every warn_every-th after it; 0 for
  // warn_every: only that one; 0 for warn_at: none.
  int warn_at = 1;
  int warn_every = 1;
};

class emergency_registration {
public:
  // `warning` is the log line while the controller does not answer, saying what the actor does
  // meanwhile ("... orders are refused until it answers").
  explicit emergency_registration(std::string warning, registration_timing timing = {})
    : warning_(std::move(warning)), timing_(timing) {
    // nop
  }

  // Asks `controller` to register `self`. `on_registered(level_change&)` runs with the level in
  // force once it answers; on an error, `self` is sent register_again_atom after retry_after.
  // `fields` go into the warning (which bot). The handlers run only while `self` lives, and
  // `this` and `log` live in its state.
  template <class Self, class Controller, class OnRegistered>
  void attempt(Self* self, const Controller& controller, const logger& log,
               OnRegistered on_registered, logger::fields fields = logger::fields::object()) {
    self->request(controller, timing_.timeout, register_bot_atom::value,
                  caf::actor_cast<caf::actor>(self))
        .then(
            [this, on_registered](level_change& current) mutable {
              registered_ = true;
              on_registered(current);
            },
            [this, self, &log, fields](caf::error& err) mutable {
              if (should_warn(++failures_)) {
                fields["error"] = self->system().render(err);
                log.warn(warning_, fields);
              }
              self->delayed_send(self, timing_.retry_after, register_again_atom::value);
            });
  }

  bool registered() const {
    return registered_;
  }

private:
  bool should_warn(int failure) const {
    if (timing_.warn_at <= 0 || failure < timing_.warn_at)
      return false;
    if (timing_.warn_every <= 0)
      return failure == timing_.warn_at;
    return (failure - timing_.warn_at) % timing_.warn_every == 0;
  }

  std::string warning_;
  registration_timing timing_;
  bool registered_ = false;
  int failures_ = 0;
};

} // namespace brokedancer
