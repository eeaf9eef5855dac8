#pragma once

// Correlation ids travel inside messages, never in thread-locals: an actor hops between
// scheduler threads, so only the message itself knows which flow it belongs to.

#include <string>

namespace brokedancer {

using correlation_id = std::string;

// A fresh id: 16 lowercase hex digits from a per-thread generator seeded by the OS.
correlation_id new_correlation_id();

} // namespace brokedancer
