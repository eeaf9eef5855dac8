#pragma once

// The Redis state store: the state_store_actor interface over a shared Redis, with every key
// under a per-deployment prefix. It answers at once with store_unavailable while Redis is
// unreachable (it never hangs: a request made while a dropped connection is being made again
// waits for that one attempt, which gives up after the connect timeout plus twice the command
// timeout and a second) and serves again as soon as its
// connection is back. Its connection is driven by CAF's multiplexer: the actor system needs the
// middleman loaded.

#include <string>

#include <caf/fwd.hpp>

#include "actors/redis/redis_connection.hpp"
#include "actors/store/store_limits.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct redis_store_options {
  redis_connection_options connection;
  std::string key_prefix;
  store_limits limits;
};

state_store_actor spawn_redis_store(caf::actor_system& sys, redis_store_options options);

} // namespace brokedancer
