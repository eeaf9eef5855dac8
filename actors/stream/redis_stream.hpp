#pragma once

// The market-data stream on Redis Streams, shared by every node of one Redis: each stream the
// key <prefix>stream:<name>, consumer groups Redis's own (XREADGROUP, XACK, XPENDING), a claim
// one script (actors/stream/stream_codec.hpp). Live subscribers are served by one blocking
// XREAD loop on a second connection, over every stream someone here reads: a tick published
// by any node reaches them in one hop from Redis. Like the store it answers at once with
// store_unavailable while Redis is away; nothing is buffered for later (a publisher that wants
// a bound buffer keeps its own: the simulated market does). Both connections are driven by
// CAF's multiplexer.

#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/redis/redis_connection.hpp"
#include "actors/stream/stream_options.hpp"
#include "messages/market_stream.hpp"

namespace brokedancer {

struct redis_stream_options {
  redis_connection_options connection;
  std::string key_prefix;
  stream_options streams;
};

// The live subscribers and counters, owned outside any one incarnation: a stream actor that
// crashes and is restarted keeps sending to everyone who had subscribed.
struct redis_stream_data;
std::shared_ptr<redis_stream_data> make_redis_stream_data();

market_stream_actor spawn_redis_stream(caf::actor_system& sys,
                                       std::shared_ptr<redis_stream_data> data,
                                       redis_stream_options options);

} // namespace brokedancer
