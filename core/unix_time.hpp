#pragma once

// Wall-clock time as records carry it (events, level changes, heartbeats): microseconds since the
// Unix epoch. Durations are measured with steady_clock instead.

#include <chrono>
#include <cstdint>

namespace brokedancer {

inline int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace brokedancer
