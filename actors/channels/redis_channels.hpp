#pragma once

// The standard channels on Redis pub/sub (messages/channels.hpp): every trading.* event this node
// publishes on its bus goes out as a typed message on <prefix>trading:<name>, where any Redis
// client reads it; TRADE_SIGNALs other clients publish on <prefix>trading:signals come in and go
// on the bus as trading.signals, checked first. Emergency level changes go out as SYSTEM_EVENTs.
//
// Only this node's events go out: on a bus shared through Redis, every node's bridge carries its
// own. Signals in: never one this node sent, and -- when the bus is shared -- never one another
// node sent either (the bus brought it already).
//
// While Redis is away messages wait in a bounded buffer (the oldest dropped and counted beyond
// it); nothing on the bus waits for Redis.

#include <string>

#include <caf/fwd.hpp>

#include "actors/redis/redis_connection.hpp"
#include "messages/channels.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

struct redis_channels_options {
  redis_connection_options connection;
  std::string node_name;
  std::string channel_prefix; // "" : the channels are trading:orders, ... exactly
  bool bus_shared = false;    // the bus is the Redis one: other nodes' signals come through it
  size_t max_buffered = 10000;
};

channel_bridge_actor spawn_redis_channels(caf::actor_system& sys, redis_channels_options options,
                                          event_bus_actor bus);

} // namespace brokedancer
