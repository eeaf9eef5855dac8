#include "actors/workflow/node_call.hpp"

namespace brokedancer {

using json = nlohmann::json;

node_call::node_call(caf::event_based_actor* self,
                     std::shared_ptr<const workflow_definition> workflow, size_t node, json inputs,
                     workflow_services services, std::string execution_id, uint32_t attempt,
                     settle_fn settle, std::shared_ptr<const json> trigger)
  : self_(self), workflow_(std::move(workflow)), node_(node), inputs_(std::move(inputs)),
    services_(std::move(services)), execution_id_(std::move(execution_id)), attempt_(attempt),
    settle_(std::move(settle)), trigger_(std::move(trigger)) {}

const json& node_call::trigger() const {
  static const json none = nullptr;
  return trigger_ ? *trigger_ : none;
}

json node_call::value(const std::string& name) const {
  if (auto found = inputs_.find(name); found != inputs_.end() && !found->is_null())
    return *found;
  if (auto found = parameters().find(name); found != parameters().end())
    return *found;
  return nullptr;
}

void node_call::complete(json outputs) {
  if (settled_)
    return;
  settled_ = true;
  settle_(&outputs, {}, {});
}

void node_call::fail(std::string kind, std::string message) {
  if (settled_)
    return;
  settled_ = true;
  settle_(nullptr, kind, message);
}

bool node_registry::add(node_signature signature, node_runner run, std::string& why) {
  if (!run) {
    why = "node type \"" + signature.type + "\" needs a function that runs it";
    return false;
  }
  auto type = signature.type;
  if (!catalogue_.add(std::move(signature), why))
    return false;
  runners_.emplace(type, std::move(run));
  return true;
}

const node_runner* node_registry::runner(const std::string& type) const {
  auto found = runners_.find(type);
  return found == runners_.end() ? nullptr : &found->second;
}

} // namespace brokedancer
