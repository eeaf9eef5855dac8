#pragma once

// A node's one pub/sub connection to Redis. It holds the channels (SUBSCRIBE) and patterns
// (PSUBSCRIBE) its owner asks for, hands every message that arrives to the owner as it is read,
// and after a lost connection reconnects (backoff with jitter) and subscribes to all of them
// again by itself. It reports itself ready only once Redis has confirmed every one of them.
//
// It lives inside its owner, the Redis bus, which is a broker: the multiplexer reads the socket
// and the owner delivers each message in the same handler, with no thread or hop in between.
// Its intake is bounded by that: the socket is read no faster than the owner delivers (Redis
// holds what follows, and past its client-output-buffer-limit for pub/sub drops the connection,
// which is then made again: pub/sub may lose messages, this process's memory does not grow
// without bound), and each subscriber's backlog is bounded by the bus's delivery.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/io/fwd.hpp>

#include "actors/redis/redis_link.hpp"

namespace brokedancer {

// A message that arrived on a channel; `pattern` is the PSUBSCRIBE pattern it matched, empty
// when it came through a SUBSCRIBE.
struct pubsub_message {
  std::string pattern;
  std::string channel;
  std::string payload;
};

struct pubsub_change {
  bool subscribe = true; // false: unsubscribe
  bool pattern = false;  // PSUBSCRIBE rather than SUBSCRIBE
  std::string name;      // the channel or pattern, as Redis sees it
};

class redis_subscriber {
public:
  struct events {
    // On every change of readiness; `error` says why it is not ready.
    std::function<void(bool ready, const std::string& error)> readiness;
    // Redis confirmed a subscription: from then on, everything published there arrives.
    std::function<void(bool pattern, const std::string& name)> confirmed;
    std::function<void(pubsub_message& message)> message;
  };

  // `initial`: what to subscribe to from the first connection on (it is ready only once Redis
  // has confirmed all of it).
  redis_subscriber(caf::io::broker* owner, uint8_t tag, redis_connection_options options,
                   const std::vector<pubsub_change>& initial, events callbacks);

  redis_subscriber(const redis_subscriber&) = delete;
  redis_subscriber& operator=(const redis_subscriber&) = delete;

  void start() {
    link_.start();
  }

  void change(const pubsub_change& request);

  // The owner's handlers pass these on (see redis_link).
  bool handle(caf::io::new_data_msg& msg) {
    return link_.handle(msg);
  }
  bool handle(const caf::io::connection_closed_msg& msg) {
    return link_.handle(msg);
  }
  bool handle_tick(uint8_t tag) {
    return link_.handle_tick(tag);
  }

private:
  using name_set = std::set<std::string>;

  void connection_changed(bool up, const std::string& error);
  void send_all(const char* command, const name_set& names);
  void received(std::vector<redis_reply>& replies);
  void handle_reply(redis_reply& reply);
  void announce(bool ready, const std::string& error = {});

  events events_;
  name_set channels_;
  name_set patterns_;
  // Subscriptions Redis has yet to confirm since the last (re)connection: not ready before.
  std::set<std::pair<bool, std::string>> awaiting_;
  std::optional<bool> announced_;
  redis_link link_; // last: its callbacks use the members above
};

} // namespace brokedancer
