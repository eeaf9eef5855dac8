#pragma once

// One Redis connection driven by the actor that owns it, without a thread of its own in between.
// The owner is a CAF broker: the middleman's multiplexer watches the socket and runs the owner's
// handler when Redis answers, and the commands the owner writes while it handles its mailbox go
// out together once it is done -- concurrent requests share a round trip with no batching step
// of ours. A request costs one hop into the owner and one out to whoever asked; with the old
// blocking connection actor it cost two more (to the connection's thread and back), and those
// hops cost more than Redis itself (issue 15 has the figures).
//
// Kept from the blocking connection, exactly: connect with a timeout, AUTH and SELECT (on a
// dialer thread, actors/redis/redis_dialer.hpp), reconnection with backoff and jitter, the
// command timeout, and at most pipeline_max commands in flight.
//
// Two modes:
// - replies: every reply answers the oldest command in flight; each send() gets its replies (or
//   the reason there are none) through its completion. A connection that drops after having
//   proved itself is made again at once, and requests made meanwhile wait for it instead of
//   failing (as they did when the blocking connection noticed the drop before writing).
// - pushes: for pub/sub. Replies are handed to the owner as they come (confirmations and
//   messages); the connection is checked with a PING every 2 s, busy or not. Commands sent
//   while it is down are dropped: the owner sends what it needs again when it is back up.

#include <cassert>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <caf/atom.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/fwd.hpp>

#include "actors/redis/redis_connection.hpp"
#include "actors/redis/redis_protocol.hpp"

namespace brokedancer {

// The owner's handler passes (redis_tick_atom, tag) to its link of that tag.
using redis_tick_atom = caf::atom_constant<caf::atom("redis_tick")>;

// What a send() came to.
struct redis_result {
  // False when the commands were not carried out, or it is not known whether they were (the
  // connection broke before the replies came); then `error` says why.
  bool ok = false;
  std::string error;
  std::vector<redis_reply> replies; // one per command when ok
};

class redis_link {
public:
  enum class mode : uint8_t { replies, pushes };

  using completion = std::function<void(redis_result&)>;

  struct events {
    // A connection was made (each one: the owner counts reconnections), or the link went down
    // with `error` (never the password), told once. A drop followed by an immediate
    // reconnection that succeeds is told only as the new connection.
    std::function<void(bool up, const std::string& error)> changed;
    // Pushes mode: the replies of one read, in order.
    std::function<void(std::vector<redis_reply>&)> pushed;
  };

  // `tag` tells the owner's links apart in its ticks.
  redis_link(caf::io::broker* owner, uint8_t tag, redis_connection_options options, mode m,
             events callbacks);
  // Answers every open completion: however the owner ends, nobody waits for a reply.
  ~redis_link();

  redis_link(const redis_link&) = delete;
  redis_link& operator=(const redis_link&) = delete;

  // Makes the first connection, in the background; requests made meanwhile wait for it unless
  // refuse_while_redialing() was called first.
  void start();

  // Replies mode: requests made while a dropped connection is made again (or the first one is
  // made) are refused rather than held (the bus: an event sent late is worse than one refused
  // at once).
  void refuse_while_redialing() {
    // start() reads it for the first dial: set later, the first dial would still hold.
    assert(phase_ == phase::idle && "refuse_while_redialing() before start()");
    hold_during_redial_ = false;
  }

  bool connected() const {
    return phase_ == phase::connected;
  }

  // Whether send() takes commands now: connected, or making the connection again right after
  // a drop.
  bool accepting() const {
    return connected() || (phase_ == phase::dialing && waiting_for_redial_);
  }

  // Why the connection is not up; empty while it is.
  const std::string& last_error() const {
    return last_error_;
  }

  // Replies mode: sends `commands` back to back; `done` gets one reply per command. Refused at
  // once (done runs before this returns) when not accepting().
  void send(std::vector<std::vector<std::string>> commands, completion done);

  // Pushes mode: sends one command whose answer comes as a push. Dropped while not connected.
  void send(const std::vector<std::string>& command);

  // Drops the connection (the owner found it unusable: Redis refused what it must accept); it
  // is made again as after any other drop.
  void fail(std::string error) {
    if (connected())
      drop(std::move(error));
  }

  // The owner's handlers pass these on; each says false when the message is not this link's.
  bool handle(caf::io::new_data_msg& msg);
  bool handle(const caf::io::connection_closed_msg& msg);
  bool handle_tick(uint8_t tag);

private:
  enum class phase : uint8_t { idle, dialing, connected, waiting };

  struct in_flight {
    completion done;
    size_t expected = 0;
    std::vector<redis_reply> replies;
    std::chrono::steady_clock::time_point sent;
  };

  struct queued {
    std::vector<std::vector<std::string>> commands;
    completion done;
  };

  void dial();
  void dialed(uint64_t generation, int fd, const std::string& error);
  void connection_made(int fd);
  void dial_failed(std::string error);
  // By value: the reason may live in what the drop destroys (the reader's error).
  void drop(std::string error);
  void fail_open(const std::string& error);
  void pump();
  void read_replies();
  void read_pushes();
  void reply_taken();
  void check_health();
  void check_dial();
  void arm_tick(std::chrono::milliseconds after);
  void announce(bool up);

  caf::io::broker* owner_;
  uint8_t tag_;
  redis_connection_options options_;
  mode mode_;
  events events_;
  phase phase_ = phase::idle;
  caf::io::connection_handle handle_;
  std::optional<redis_reply_reader> reader_;
  uint64_t generation_ = 0; // of dials: an answer to an older one is stale
  bool waiting_for_redial_ = false;
  bool hold_during_redial_ = true;
  int failed_attempts_ = 0;
  std::mt19937_64 random_;
  std::chrono::steady_clock::time_point connected_at_;
  std::chrono::steady_clock::time_point last_ping_;
  bool traffic_since_ping_ = false;
  std::chrono::steady_clock::time_point dial_deadline_;
  size_t unreplied_bytes_ = 0; // fed to the reader since its last complete reply
  std::optional<std::chrono::steady_clock::time_point> ping_sent_;
  std::chrono::steady_clock::time_point redial_at_;
  std::optional<std::chrono::steady_clock::time_point> tick_due_;
  std::deque<in_flight> in_flight_;
  size_t commands_in_flight_ = 0;
  std::deque<queued> backlog_;
  std::optional<bool> announced_;
  std::string last_error_ = "not connected yet";
};

} // namespace brokedancer
