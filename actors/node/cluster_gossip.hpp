#pragma once

// The cluster node's gossip: this node's state told to every connected member on each
// heartbeat and at once when its level changes, and each member's taken only from the
// connection that proved its name, sealed with a key of the pair (core/peer_session.hpp).
// A member's level goes on to the emergency controller, which settles races.

#include "actors/node/cluster_state.hpp"

namespace brokedancer::cluster {

// Tells every connected member this node's state, sealed for each.
void gossip(self_pointer self);

void on_gossip(self_pointer self, const node_info& theirs, const gossip_seal& seal);

// A member spoke: what it says of itself is kept, and its level handed to the controller.
void heard(self_pointer self, member& m, const node_info& info);

} // namespace brokedancer::cluster
