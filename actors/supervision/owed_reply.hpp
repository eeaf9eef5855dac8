#pragma once

// A response promise that is answered even when its actor dies first. CAF 0.17 drops a promise
// that is destroyed unanswered: the requester then waits for its own timeout, or forever if it
// set none (a bot waiting for its order's outcome). An actor keeps its open promises as
// owed_replies in its state; when the state is destroyed, each one still open answers with the
// error given here (subsystem_unavailable unless the actor's contract names another, such as
// bus_unavailable) and its text.

#include <utility>

#include <caf/typed_response_promise.hpp>

#include "messages/errors.hpp"

namespace brokedancer {

template <class... Ts>
class owed_reply {
public:
  using promise_type = caf::typed_response_promise<Ts...>;

  // `if_dropped` is a literal: it says what the requester should assume ("the order may have
  // been executed").
  owed_reply(promise_type promise, const char* if_dropped)
    : owed_reply(std::move(promise), errc::subsystem_unavailable, if_dropped) {
    // nop
  }

  owed_reply(promise_type promise, errc code, const char* if_dropped)
    : promise_(std::move(promise)), code_(code), if_dropped_(if_dropped) {
    // nop
  }

  owed_reply(owed_reply&& other) noexcept
    : promise_(std::move(other.promise_)), code_(other.code_), if_dropped_(other.if_dropped_) {
    other.promise_ = promise_type{};
  }

  owed_reply& operator=(owed_reply&& other) noexcept {
    if (this != &other) {
      answer_if_open();
      promise_ = std::move(other.promise_);
      code_ = other.code_;
      if_dropped_ = other.if_dropped_;
      other.promise_ = promise_type{};
    }
    return *this;
  }

  owed_reply(const owed_reply&) = delete;
  owed_reply& operator=(const owed_reply&) = delete;

  ~owed_reply() {
    answer_if_open();
  }

  template <class... Us>
  void deliver(Us&&... values) {
    promise_.deliver(std::forward<Us>(values)...);
  }

  bool pending() const {
    return promise_.pending();
  }

private:
  void answer_if_open() {
    if (promise_.pending())
      promise_.deliver(make_error(code_, if_dropped_));
  }

  promise_type promise_;
  errc code_;
  const char* if_dropped_;
};

} // namespace brokedancer
