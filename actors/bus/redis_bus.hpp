#pragma once

// The Redis event bus: events travel through Redis pub/sub, so every node sharing the Redis
// (and the channel prefix) sees every event on the topics its bots subscribe to.
//
// - A publish is a PUBLISH of a JSON envelope (actors/bus/bus_envelope.hpp) on channel
//   <bus.channel_prefix><topic>, pipelined with every other publish waiting in the mailbox.
//   Its reply comes once Redis has taken it.
// - One pub/sub connection per node (actors/bus/redis_subscriber.hpp) holds one SUBSCRIBE per
//   distinct exact topic and one PSUBSCRIBE per distinct pattern that local bots asked for, and
//   events arriving there go to the local subscriptions through the same bounded delivery as
//   the memory bus. Local events make the round trip through Redis too: one order for all.
// - While Redis is unreachable, publish and subscribe are refused at once with bus_unavailable:
//   nothing is buffered, so nothing is sent late or lost without the publisher knowing.
//   Subscriptions already made are kept, and made again in Redis when it is back; publishing
//   resumes only once they are, so local subscribers miss nothing published after that.

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/bus/bus_core.hpp"
#include "actors/redis/redis_connection.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

struct redis_bus_options {
  bus_options bus;
  redis_connection_options connection;
  // Put before every topic to make the channel name: Redis pub/sub ignores SELECT, so this is
  // what keeps deployments that share one Redis apart.
  std::string channel_prefix;
};

// `data` is shared by every incarnation: a restarted bus subscribes again to what it had.
event_bus_actor spawn_redis_bus(caf::actor_system& sys, std::shared_ptr<bus_data> data,
                                redis_bus_options options);

} // namespace brokedancer
