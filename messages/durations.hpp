#pragma once

// duration_counts (core/prometheus_text.hpp: latency buckets as plain counts) as a message
// field: the Redis store's command latencies, the workflows' run durations.

#include <caf/meta/type_name.hpp>

#include "core/prometheus_text.hpp"

namespace brokedancer {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, duration_counts& x) {
  return f(caf::meta::type_name("duration_counts"), x.buckets, x.count, x.sum_seconds);
}

} // namespace brokedancer
