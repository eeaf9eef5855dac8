#pragma once

// The cluster node's connections: it joins the peers of node.peers over CAF's network layer
// and joins them again, with jittered backoff, whenever a connection is lost (CAF does not
// reconnect by itself) or a handshake fails.

#include <string>

#include <caf/system_messages.hpp>

#include "actors/node/cluster_state.hpp"

namespace brokedancer::cluster {

// Joins a peer of node.peers: a connection through the middleman (without blocking a scheduler
// thread), then hello both ways.
void join(self_pointer self, const std::string& configured);

// A join of `configured` failed: it is tried again after a backoff.
void join_failed(self_pointer self, const std::string& configured, std::string why);

// `m` proved its name on `handle`: it is a connected member.
void connected(self_pointer self, member& m, cluster_actor handle, const node_info& info);

// Joins whose welcome did not come in time are tried again.
void check_joins(self_pointer self);

// A member's connection is gone: its keys with it; a configured peer is joined again.
void on_peer_down(self_pointer self, const caf::down_msg& down);

} // namespace brokedancer::cluster
