#pragma once

// The in-memory market-data stream, the embedded default: the streams of this process alone,
// ids on the system clock. Its table and its live subscribers live in a memory_stream_data the
// runtime owns and hands to every incarnation, so a crash of the actor loses no tick and no
// subscription.

#include <memory>

#include <caf/fwd.hpp>

#include "actors/stream/stream_options.hpp"
#include "messages/market_stream.hpp"

namespace brokedancer {

struct memory_stream_data;

std::shared_ptr<memory_stream_data> make_memory_stream_data();

// Spawns one incarnation over `data`; one at a time (the supervisor sees to it).
market_stream_actor spawn_memory_stream(caf::actor_system& sys,
                                        std::shared_ptr<memory_stream_data> data,
                                        stream_options options);

} // namespace brokedancer
