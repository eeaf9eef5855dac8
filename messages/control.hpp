#pragma once

// Operator control of a running node. The node's control actor (actors/node/node_control) is local
// only: operators reach it through the authenticated HTTP API (runtime/operator_api), which
// passes on who is asking. A level change returns only once every bot of the node has
// acknowledged it.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/bot.hpp"
#include "messages/channels.hpp"
#include "messages/cluster.hpp"
#include "messages/emergency.hpp"
#include "messages/halt_scope.hpp"
#include "messages/operator_role.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/workflow.hpp"

namespace brokedancer {

// Who asks: the credential the operator API authenticated, and from where.
struct operator_identity {
  std::string name;
  operator_role role = operator_role::operator_role;
  std::string address; // the remote address of the request
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, operator_identity& x) {
  return f(caf::meta::type_name("operator_identity"), x.name, x.role, x.address);
}

// One operator action, as the audit trail keeps it: accepted, refused or failed.
struct audit_entry {
  int64_t at_us = 0;      // microseconds since the epoch
  std::string credential; // the credential's name; "-" when none was proved
  std::string role;       // "operator", "risk" or "-"
  std::string address;    // remote address
  std::string command;    // status, halt, resume, shutdown
  std::string reason;     // as given (valid UTF-8, at most max_reason_bytes)
  std::string outcome;    // "ok", or why not: "unauthenticated", "forbidden", an error text
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_entry& x) {
  return f(caf::meta::type_name("audit_entry"), x.at_us, x.credential, x.role, x.address, x.command,
           x.reason, x.outcome);
}

// The entry as JSON (nlohmann's ADL hook): the one shape of the persisted trail and of status.
void to_json(nlohmann::json& j, const audit_entry& e);

// Reasons travel to every bot, into the store and the log: a sentence, not a document (the same
// bound as core/json_text.hpp's reason_problem).
constexpr size_t max_reason_bytes = 1024;

// Who owns a bot, as status shows it (owner empty: no leases, the node owns its bots alone).
struct bot_owner {
  std::string id;
  std::string state;
  std::string owner;
  int64_t lease_age_ms = 0;
  uint64_t fence = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bot_owner& x) {
  return f(caf::meta::type_name("bot_owner"), x.id, x.state, x.owner, x.lease_age_ms, x.fence);
}

// The most bots whose owner status lists (the first by id).
constexpr size_t max_bot_owners_in_status = 1000;

struct node_status {
  std::string node;
  emergency_status emergency; // the level, the bots' acknowledgements, the risk limits
  bots_summary bots;
  std::vector<breaker_stats> breakers;
  bool clustered = false;         // node.listen or node.peers is set
  cluster_status cluster;         // the peers as this node sees them, when clustered
  std::vector<audit_entry> audit; // the newest operator actions, oldest first
  risk_status risk;               // the book and the order journal's reconciliation
  std::vector<bot_owner> owners;  // each bot's owner and lease age
  watch_status services;          // each service's health (the system watch's last look)
  std::string workflows;          // the workflow executor's status as JSON; "" when none runs
  scope_status scopes;            // the scoped halts in force, and their acknowledgements
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_status& x) {
  return f(caf::meta::type_name("node_status"), x.node, x.emergency, x.bots, x.breakers,
           x.clustered, x.cluster, x.audit, x.risk, x.owners, x.services, x.workflows, x.scopes);
}

struct control_reply {
  level_change change;         // the change in force afterwards
  uint32_t bots = 0;           // bots registered when the command returned
  int64_t acknowledged_us = 0; // from the change until every bot had acknowledged it
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, control_reply& x) {
  return f(caf::meta::type_name("control_reply"), x.change, x.bots, x.acknowledged_us);
}

using flush_atom = caf::atom_constant<caf::atom("flush")>;

using node_control_actor =
    caf::typed_actor<caf::replies_to<status_atom>::with<node_status>,
                     // Raises the level (HALT, SHUTDOWN, ...) as an operator, with a reason.
                     caf::replies_to<raise_atom, emergency_level, std::string,
                                     operator_identity>::with<control_reply>,
                     // Lowers it, with a reason: the risk role only.
                     caf::replies_to<resume_atom, emergency_level, std::string,
                                     operator_identity>::with<control_reply>,
                     // A scope's level (kind, name, REDUCE_ONLY or HALT, reason), raised as an
                     // operator; returns once every bot it covers has acknowledged.
                     caf::replies_to<raise_scope_atom, scope_kind, std::string, emergency_level,
                                     std::string, operator_identity>::with<control_reply>,
                     // Lowers a scope (NORMAL lifts it): the risk role only.
                     caf::replies_to<lower_scope_atom, scope_kind, std::string, emergency_level,
                                     std::string, operator_identity>::with<control_reply>,
                     // An action the operator API refused before it reached the node (no
                     // credential, wrong role, bad input): recorded in the audit trail. Status
                     // reads that succeed are not.
                     caf::reacts_to<audit_atom, audit_entry>,
                     // Cancels the working orders of the bots in a scope (kind bot, strategy or
                     // symbol, and its name; an empty name: every bot), as an operator, with a
                     // reason: (kind, name, reason). Recorded.
                     caf::replies_to<cancel_all_atom, scope_kind, std::string, std::string,
                                     operator_identity>::with<cancel_report>,
                     // Closes the node's positions in a symbol (empty: all) with reduce-only
                     // orders, as an operator, with a reason: (symbol, reason). Recorded.
                     caf::replies_to<flatten_atom, std::string, std::string,
                                     operator_identity>::with<flatten_report>,
                     // The node's workflows (actors/workflow/workflow_executor.hpp), as an
                     // operator; each answer is the executor's JSON. The newest history entries
                     // of a workflow (any role):
                     caf::replies_to<workflow_history_atom, std::string, uint32_t,
                                     operator_identity>::with<std::string>,
                     // A workflow's breaker: (id, action, reason). force_open takes any role;
                     // force_close and reset lift a safety, so the risk role only. Recorded.
                     caf::replies_to<workflow_breaker_atom, std::string, std::string, std::string,
                                     operator_identity>::with<std::string>,
                     // Ends a running execution as cancelled: (execution id, reason). Recorded.
                     caf::replies_to<cancel_execution_atom, std::string, std::string,
                                     operator_identity>::with<std::string>,
                     // Starts an execution of a workflow now: (workflow id, reason); the
                     // execution's id. Any role (it passes the level and the breaker). Recorded.
                     caf::replies_to<start_workflow_atom, std::string, std::string,
                                     operator_identity>::with<std::string>,
                     // Runs an interrupted execution again from its checkpoint: (execution id,
                     // reason). The risk role only. Recorded.
                     caf::replies_to<resume_execution_atom, std::string, std::string,
                                     operator_identity>::with<std::string>,
                     // Answers once every recorded action is persisted (or its write failed):
                     // what a graceful stop waits for, so that the trail keeps the last action.
                     caf::replies_to<flush_atom>::with<bool>>;

} // namespace brokedancer
