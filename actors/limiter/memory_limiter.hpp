#pragma once

// The in-memory rate limiter, the embedded default: decisions of this process alone, on the
// steady clock. Its table lives in a memory_limiter_data the runtime owns and hands to every
// incarnation, so a crash of the actor does not hand every caller a fresh budget.

#include <memory>

#include <caf/fwd.hpp>

#include "messages/rate_limiter.hpp"

namespace brokedancer {

struct memory_limiter_data;

// `max_names` and `max_entries` bound the table (actors/limiter/rate_table.hpp).
std::shared_ptr<memory_limiter_data> make_memory_limiter_data(size_t max_names = 100000,
                                                              size_t max_entries = 4000000);

// Spawns one incarnation over `data`; one at a time (the supervisor sees to it).
rate_limiter_actor spawn_memory_limiter(caf::actor_system& sys,
                                        std::shared_ptr<memory_limiter_data> data);

} // namespace brokedancer
