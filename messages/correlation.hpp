#pragma once

// Correlation ids travel inside messages, never in thread-locals: an actor hops between
// scheduler threads, so only the message itself knows which flow it belongs to.

#include <string>

namespace brokedancer {

using correlation_id = std::string;

// A fresh id: 16 lowercase hex digits from a per-thread generator seeded by the OS. Ids are
// logged and published, and that generator can be predicted from enough of them: never a
// secret.
correlation_id new_correlation_id();

// A secret (a lease or lock token): 32 lowercase hex digits, every bit from the OS's entropy.
std::string random_token();

} // namespace brokedancer
