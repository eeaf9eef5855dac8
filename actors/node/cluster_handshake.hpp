#pragma once

// The cluster node's handshake: a peer becomes a member once it has proved its name, by a hello
// (it spoke first) or a welcome (it answers our hello), each signed with the key of a
// certificate of the cluster's authority that names it, and each carrying its half of the
// session key the two then seal their gossip with (core/peer_session.hpp).

#include <string>

#include "actors/node/cluster_state.hpp"

namespace brokedancer::cluster {

// Sends our hello to `peer`, remembering the key half it offers.
void send_hello(self_pointer self, const cluster_actor& peer);

// Introduces this node to a peer that spoke first (it restarted, or only it lists us); its
// welcome makes it a member. At most one hello in flight per peer node.
void say_hello(self_pointer self, const cluster_actor& peer);

void on_hello(self_pointer self, const node_info& theirs, const peer_proof& proof);
void on_welcome(self_pointer self, const node_info& theirs, const peer_proof& proof);
void on_refused(self_pointer self, const std::string& why);

// Hellos unanswered for longer than request_timeout are forgotten: their welcome no longer counts.
void forget_old_hellos(self_pointer self, clock::time_point now);

} // namespace brokedancer::cluster
