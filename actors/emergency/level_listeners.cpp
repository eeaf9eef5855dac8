#include "actors/emergency/level_listeners.hpp"

#include <algorithm>
#include <string>

#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>

#include "messages/errors.hpp"

namespace brokedancer {

bool level_listeners::add(const caf::actor& listener) {
  return listeners_.emplace(listener.address(), listener).second;
}

void level_listeners::remove(const caf::actor_addr& listener) {
  listeners_.erase(listener);
}

void level_listeners::broadcast(const level_change& change, caf::actor_control_block* sender,
                                caf::execution_unit* context) {
  acking_ = change.sequence;
  waiting_.clear();
  broadcast_started_ = clock::now();
  // Straight to each bot with high priority: a HALT overtakes whatever the bot has queued. One
  // message shared by all (CAF messages are copy-on-write): no copy of the change per bot.
  // Every registered bot is a level_listener: this is the one message it must take.
  auto message = caf::make_message(change);
  for (const auto& [address, listener] : listeners_) {
    waiting_.insert(address);
    // (What send<high> does, minus the static check that keeps a typed actor from sending a
    // prebuilt message.)
    listener->enqueue(caf::make_mailbox_element(
                          sender, caf::make_message_id(caf::message_priority::high), {}, message),
                      context);
  }
  if (waiting_.empty())
    last_broadcast_us_ = 0;
}

bool level_listeners::acknowledge(const caf::actor_addr& listener) {
  if (waiting_.erase(listener) == 0 || !waiting_.empty())
    return false;
  last_broadcast_us_ =
      std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - broadcast_started_)
          .count();
  return true;
}

uint32_t level_listeners::acknowledged_of(uint64_t sequence) const {
  if (acking_ != sequence)
    return 0;
  return static_cast<uint32_t>(listeners_.size() - std::min(listeners_.size(), waiting_.size()));
}

void ack_waiters::add(uint64_t sequence, caf::typed_response_promise<int64_t> promise) {
  waiting_.emplace(sequence,
                   owed_reply<int64_t>{std::move(promise), "the emergency controller stopped "
                                                           "before every bot acknowledged"});
}

void ack_waiters::settle(uint64_t current_sequence, const level_listeners& listeners) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->first < current_sequence) {
      it->second.deliver(make_error(errc::invalid_argument,
                                    "a newer level change (sequence "
                                        + std::to_string(current_sequence)
                                        + ") replaced it before every bot had acknowledged it"));
      it = waiting_.erase(it);
    } else if (it->first == listeners.acking() && listeners.unacknowledged() == 0) {
      it->second.deliver(listeners.last_broadcast_us());
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
}

} // namespace brokedancer
