#pragma once

// The in-memory time-series store, the embedded default: the series of this process alone. Its
// table lives in a memory_series_data the runtime owns and hands to every incarnation, so a crash
// of the actor loses no point.

#include <memory>

#include <caf/fwd.hpp>

#include "messages/time_series.hpp"

namespace brokedancer {

struct memory_series_data;

std::shared_ptr<memory_series_data> make_memory_series_data(series_settings settings);

// Spawns one incarnation over `data`; one at a time (the supervisor sees to it).
time_series_actor spawn_memory_series(caf::actor_system& sys,
                                      std::shared_ptr<memory_series_data> data);

} // namespace brokedancer
