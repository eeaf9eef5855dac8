#pragma once

// The event relay's contract (actors/api/event_relay.hpp): what a node has seen on its bus, for
// the operator API's `/metrics`, `/api/dashboard` and `/api/events`.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/durations.hpp"
#include "messages/event_bus.hpp"

namespace brokedancer {

// The book's P&L at one moment of the run.
struct pnl_point {
  int64_t t_us = 0; // microseconds since the Unix epoch
  double realized = 0;
  double unrealized = 0;
  double daily = 0;
  double equity = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pnl_point& x) {
  return f(caf::meta::type_name("pnl_point"), x.t_us, x.realized, x.unrealized, x.daily, x.equity);
}

struct relay_snapshot {
  std::vector<pnl_point> pnl;      // over the run, oldest first (thinned as it grows)
  std::vector<std::string> recent; // stream frames' JSON: level changes, alerts, breakers
  // Level changes this node published, by source (operator, risk, supervisor, node, stop...).
  std::map<std::string, uint64_t> level_changes;
  // "<status>" -> durations of executions; "<node type>|<status>" -> durations of nodes.
  // Durations of workflow runs, counted from this node's own workflow_events.
  std::map<std::string, duration_counts> executions;
  std::map<std::string, duration_counts> nodes;
  uint64_t events = 0; // events the relay took from the bus
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relay_snapshot& x) {
  return f(caf::meta::type_name("relay_snapshot"), x.pnl, x.recent, x.level_changes, x.executions,
           x.nodes, x.events);
}

// The counts only (no P&L points, no frames): what a scrape needs.
using relay_counts_atom = caf::atom_constant<caf::atom("rl_counts")>;

using event_relay_actor =
    caf::typed_actor<caf::reacts_to<event>, caf::replies_to<status_atom>::with<relay_snapshot>,
                     caf::replies_to<relay_counts_atom>::with<relay_snapshot>>;

} // namespace brokedancer
