#pragma once

// How a node type runs: a function that gets one node_call per attempt and settles it with
// complete() or fail(). The built-in types and an embedding program's own ones use the same API
// (node_registry::add); see examples/workflows/ for a custom type.
//
// A node runs inside its execution's actor: it may ask other actors through call.self()
// (request(...).then(...)) and settle the call from those callbacks -- never from a thread of
// its own, and never by blocking. An attempt that is settled after its timeout, a retry or a
// halt changes nothing: the call knows it is over (settled() turns true).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "messages/event_bus.hpp"
#include "messages/resilience.hpp"
#include "messages/risk.hpp"
#include "messages/state_store.hpp"
#include "messages/time_series.hpp"
#include "messages/workflow.hpp"

namespace brokedancer {

// What the built-in nodes call. A null handle makes the nodes that need it fail with
// "unavailable" (and so be retried where their policy says).
struct workflow_services {
  state_store_actor store;
  event_bus_actor bus;
  caf::actor emergency; // emergency_actor; its level stops executions
  risk_monitor_actor risk;
  time_series_actor series;
  // The configured endpoints (http_request), each behind its breaker.
  breaker_registry_actor breakers;
  // The endpoints an http_request node may call (workflows.http_endpoints): never the one
  // orders go to, or an order could pass by the risk monitor and the kill switch.
  std::vector<std::string> http_endpoints;
  // The endpoints orders go to (risk.endpoint, then risk.venues): the venues a latest_price or
  // submit_order node may name. A named venue's quote comes from its endpoint.
  std::vector<std::string> venues;
};

class node_call {
public:
  using settle_fn = std::function<void(const nlohmann::json* outputs, const std::string& kind,
                                       const std::string& message)>;

  node_call(caf::event_based_actor* self, std::shared_ptr<const workflow_definition> workflow,
            size_t node, nlohmann::json inputs, workflow_services services,
            std::string execution_id, uint32_t attempt, settle_fn settle,
            std::shared_ptr<const nlohmann::json> trigger = nullptr);

  const workflow_definition& workflow() const {
    return *workflow_;
  }
  const workflow_node& node() const {
    return workflow_->nodes[node_];
  }
  const nlohmann::json& parameters() const {
    return node().parameters;
  }
  const nlohmann::json& inputs() const {
    return inputs_;
  }
  // The input `name`, else the parameter of that name; null when neither is there.
  nlohmann::json value(const std::string& name) const;
  caf::event_based_actor* self() const {
    return self_;
  }
  const workflow_services& services() const {
    return services_;
  }
  // The correlation id of everything the node does (logs, orders, events).
  const std::string& execution_id() const {
    return execution_id_;
  }
  uint32_t attempt() const {
    return attempt_;
  }
  // The event that started the execution, {"topic", "payload"}; null when none did.
  const nlohmann::json& trigger() const;

  // Settle the call, once; later calls, and calls after the attempt ended, do nothing.
  void complete(nlohmann::json outputs);
  // `kind`: "timeout", "unavailable", "rate_limited", "halted" or "failed" (node_retry::on).
  void fail(std::string kind, std::string message);
  bool settled() const {
    return settled_;
  }
  // Marks the attempt over without an answer (its timeout, a halt).
  void abandon() {
    settled_ = true;
  }

private:
  caf::event_based_actor* self_;
  std::shared_ptr<const workflow_definition> workflow_;
  size_t node_;
  nlohmann::json inputs_;
  workflow_services services_;
  std::string execution_id_;
  uint32_t attempt_;
  settle_fn settle_;
  std::shared_ptr<const nlohmann::json> trigger_; // shared by the execution's calls
  bool settled_ = false;
};

using node_runner = std::function<void(std::shared_ptr<node_call> call)>;

// The node types of a runtime: their signatures (for validation) and how each runs.
class node_registry {
public:
  // The built-in types (messages/workflow_types.cpp): the computing ones and those that call
  // the runtime's services.
  static std::shared_ptr<node_registry> with_builtins();

  // Adds a type; false, saying why, when the catalogue refuses its signature.
  bool add(node_signature signature, node_runner run, std::string& why);

  const node_catalogue& catalogue() const {
    return catalogue_;
  }
  // How `type` runs; null for a type without a runner.
  const node_runner* runner(const std::string& type) const;

private:
  node_catalogue catalogue_;
  std::map<std::string, node_runner> runners_;
};

} // namespace brokedancer
