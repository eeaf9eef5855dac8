#pragma once

// The in-memory state store, the embedded default. Its data lives in a memory_store_data that
// the runtime owns and hands to every incarnation: a crash and restart of the actor loses no
// acknowledged write (a crash of the process does, which is what the Redis backend is for).

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/store/store_limits.hpp"
#include "messages/state_store.hpp"

namespace brokedancer {

struct memory_store_data;

std::shared_ptr<memory_store_data> make_memory_store_data();

// Spawns one incarnation over `data`. Only one incarnation may use `data` at a time; the
// supervisor guarantees it (it starts the next only after the previous one is down).
state_store_actor spawn_memory_store(caf::actor_system& sys,
                                     std::shared_ptr<memory_store_data> data, store_limits limits,
                                     std::chrono::milliseconds sweep_interval);

} // namespace brokedancer
