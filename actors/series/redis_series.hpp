#pragma once

// The time-series store on Redis sorted sets, shared by every node of one Redis
// (messages/time_series.hpp says the keys and members). Writes are one script each
// (actors/series/series_codec.hpp); reads plain ZRANGE commands. Like the store it answers at
// once with store_unavailable while Redis is away; its connection is driven by CAF's multiplexer.

#include <string>

#include <caf/fwd.hpp>

#include "actors/redis/redis_connection.hpp"
#include "messages/time_series.hpp"

namespace brokedancer {

struct redis_series_options {
  redis_connection_options connection;
  std::string key_prefix;
  series_settings settings;
};

time_series_actor spawn_redis_series(caf::actor_system& sys, redis_series_options options);

} // namespace brokedancer
