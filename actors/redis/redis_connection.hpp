#pragma once

// How a node reaches Redis and how long it waits for it: the settings every Redis connection of
// the node shares (the state store's, the bus's publisher and its subscriber).

#include <chrono>
#include <cstddef>
#include <random>

#include "core/redis_url.hpp"

namespace brokedancer {

struct redis_connection_options {
  redis_endpoint endpoint;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds reconnect_initial{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Most commands sent and not yet answered at once; more wait their turn in the connection.
  // It bounds what Redis buffers for us and how much one slow reply can hold up.
  size_t pipeline_max = 256;
  // The longest reply taken from Redis (a reply still incomplete past it drops the connection):
  // hiredis buffers a reply whole, with no limit of its own, so a hostile or broken server
  // could otherwise make this process buffer without bound. The store and the bus raise it to
  // hold twice their largest value or event (reply_cap); a get_many of many large values can
  // still be more, and is refused by the drop.
  size_t max_reply_bytes = 64 * 1024 * 1024;
};

// The reply cap for a connection whose largest single value is `largest` bytes: room for it
// twice over (escaped inside an envelope, say) and a MiB of framing, and never under the default.
inline size_t reply_cap(const redis_connection_options& options, size_t largest) {
  size_t wanted = 2 * largest + 1024 * 1024;
  return wanted > options.max_reply_bytes ? wanted : options.max_reply_bytes;
}

// How long to wait before reconnection attempt number `failed_attempts` (0 for the first):
// exponential backoff with equal jitter -- half the delay fixed, half random -- so that many
// nodes that lost Redis together do not reconnect in lockstep.
std::chrono::milliseconds reconnect_delay(const redis_connection_options& options,
                                          int failed_attempts, std::mt19937_64& random);

} // namespace brokedancer
