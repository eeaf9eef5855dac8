#pragma once

// The cluster node's dead man's switch: out of contact with every peer (when it has any) for
// longer than isolation_halt_after, or with the shared store for longer than store_halt_after,
// it has the emergency controller halt this node's bots; when contact is back it says so, and
// an operator resumes.

#include "actors/node/cluster_state.hpp"

namespace brokedancer::cluster {

// How long one cause of isolation has lasted, and whether it trips the switch: `since` is when
// contact was lost (reset while `ok`), and a `limit` of 0 never trips.
bool tripped(clock::time_point& since, bool ok, std::chrono::milliseconds limit,
             clock::time_point now);

// Checks both causes of isolation now; tells the controller when the switch trips, or when
// contact is back after it did.
void check_contact(self_pointer self);

} // namespace brokedancer::cluster
