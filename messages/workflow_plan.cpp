#include "messages/workflow_plan.hpp"

#include <algorithm>
#include <map>

namespace brokedancer {

using json = nlohmann::json;

namespace {

constexpr size_t no_node = static_cast<size_t>(-1);

} // namespace

const char* to_string(node_progress status) {
  switch (status) {
    case node_progress::waiting: return "waiting";
    case node_progress::running: return "running";
    case node_progress::completed: return "completed";
    case node_progress::failed: return "failed";
    case node_progress::skipped: return "skipped";
    case node_progress::cancelled: return "cancelled";
  }
  return "?";
}

execution_plan::execution_plan(const workflow_definition& workflow)
  : workflow_(workflow), reads_(workflow.nodes.size()), condition_(workflow.nodes.size(), no_node),
    status_(workflow.nodes.size(), node_progress::waiting),
    outputs_(workflow.nodes.size(), json::object()) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < workflow.nodes.size(); ++i)
    index.emplace(workflow.nodes[i].id, i);
  for (size_t i = 0; i < workflow.nodes.size(); ++i) {
    const auto& node = workflow.nodes[i];
    for (const auto& [input, ref] : node.inputs)
      reads_[i].push_back(index.at(ref.node));
    if (!node.condition.empty()) {
      condition_[i] = index.at(node.condition);
      reads_[i].push_back(condition_[i]);
    }
  }
}

bool execution_plan::ended(size_t node) const {
  auto s = status_[node];
  return s == node_progress::completed || s == node_progress::skipped;
}

execution_plan::step execution_plan::advance() {
  step out;
  if (failed_ || stopped_)
    return out;
  // Skips make more nodes decidable: go round until nothing changes. The definition is acyclic,
  // so this ends within as many rounds as the graph is deep.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < status_.size(); ++i) {
      if (status_[i] != node_progress::waiting)
        continue;
      const auto& reads = reads_[i];
      if (!std::all_of(reads.begin(), reads.end(), [&](size_t r) { return ended(r); }))
        continue;
      bool skip = std::any_of(reads.begin(), reads.end(),
                              [&](size_t r) { return status_[r] == node_progress::skipped; });
      if (!skip && condition_[i] != no_node) {
        const auto& passed = outputs_[condition_[i]].value("passed", json(false));
        bool did_pass = passed.is_boolean() && passed.get<bool>();
        skip = did_pass != workflow_.nodes[i].run_if_passed;
      }
      if (skip) {
        status_[i] = node_progress::skipped;
        out.skipped.push_back(i);
        changed = true;
      } else {
        status_[i] = node_progress::running;
        out.start.push_back(i);
      }
    }
  }
  return out;
}

json execution_plan::inputs_of(size_t node) const {
  const auto& n = workflow_.nodes[node];
  json inputs = json::object();
  for (const auto& [name, ref] : n.inputs)
    for (size_t r : reads_[node])
      if (workflow_.nodes[r].id == ref.node) {
        auto found = outputs_[r].find(ref.output);
        inputs[name] = found == outputs_[r].end() ? json() : *found;
        break;
      }
  return inputs;
}

void execution_plan::completed(size_t node, json outputs) {
  if (status_[node] != node_progress::running)
    return;
  status_[node] = node_progress::completed;
  outputs_[node] = outputs.is_object() ? std::move(outputs) : json::object();
}

void execution_plan::failed(size_t node, std::string error) {
  if (status_[node] != node_progress::running)
    return;
  status_[node] = node_progress::failed;
  if (!failed_) {
    failed_ = true;
    failed_node_ = node;
    error_ = std::move(error);
  }
}

std::vector<size_t> execution_plan::stop() {
  stopped_ = true;
  std::vector<size_t> cancelled;
  for (size_t i = 0; i < status_.size(); ++i)
    if (status_[i] == node_progress::running) {
      status_[i] = node_progress::cancelled;
      cancelled.push_back(i);
    }
  return cancelled;
}

void execution_plan::restore(size_t node, json outputs) {
  status_[node] = node_progress::completed;
  outputs_[node] = outputs.is_object() ? std::move(outputs) : json::object();
}

size_t execution_plan::running() const {
  return static_cast<size_t>(std::count(status_.begin(), status_.end(), node_progress::running));
}

bool execution_plan::finished() const {
  if (running() > 0)
    return false;
  if (failed_ || stopped_)
    return true;
  return std::none_of(status_.begin(), status_.end(),
                      [](node_progress s) { return s == node_progress::waiting; });
}

bool execution_plan::succeeded() const {
  return finished() && !failed_ && !stopped_;
}

} // namespace brokedancer
