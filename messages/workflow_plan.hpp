#pragma once

// The rules of one execution, as plain code: which nodes may start, which are skipped, what each
// node's inputs are, when the execution has ended and how. The execution actor holds a plan and
// does the messaging and the timing; tests drive a plan directly.
//
// A node starts once every node it reads from (inputs, and its condition) has completed. It is
// skipped instead when one of them was skipped, or when its condition did not come out the way
// it asks (`when`: passed; `unless`: did not pass). The first node that fails for good fails
// the execution: nothing starts after it, and what is running is cancelled by the executor.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/workflow.hpp"

namespace brokedancer {

enum class node_progress { waiting, running, completed, failed, skipped, cancelled };

const char* to_string(node_progress status);

class execution_plan {
public:
  // `workflow` came from parse_workflow without problems; the plan keeps a reference to it.
  explicit execution_plan(const workflow_definition& workflow);

  struct step {
    std::vector<size_t> start;   // now running: the executor starts them
    std::vector<size_t> skipped; // reported as skipped
  };

  // The nodes that can start now (marked running) and those found skipped on the way. Nothing
  // once the execution has failed or was stopped.
  step advance();

  // The wired inputs of a node that is about to start, by name: the outputs it reads (null
  // where the source did not give that output). An input that may be a parameter and is not
  // wired is the node's parameter of that name.
  nlohmann::json inputs_of(size_t node) const;

  void completed(size_t node, nlohmann::json outputs);
  void failed(size_t node, std::string error);
  // Stops the execution (a halt, an operator's cancel): no node starts after it; running ones
  // are marked cancelled.
  std::vector<size_t> stop();

  // A node done before a restart: completed with the outputs it had.
  void restore(size_t node, nlohmann::json outputs);

  node_progress status(size_t node) const {
    return status_[node];
  }
  const nlohmann::json& outputs(size_t node) const {
    return outputs_[node];
  }
  const std::string& error() const {
    return error_;
  }
  size_t failed_node() const {
    return failed_node_;
  }
  size_t running() const;
  // True once nothing runs and nothing more can start.
  bool finished() const;
  bool succeeded() const; // finished, nothing failed, not stopped
  bool stopped() const {
    return stopped_;
  }
  const workflow_definition& workflow() const {
    return workflow_;
  }

private:
  bool ended(size_t node) const;

  const workflow_definition& workflow_;
  std::vector<std::vector<size_t>> reads_; // node -> the nodes it waits for
  std::vector<size_t> condition_;          // node -> its condition's index, or npos
  std::vector<node_progress> status_;
  std::vector<nlohmann::json> outputs_;
  bool failed_ = false;
  bool stopped_ = false;
  size_t failed_node_ = static_cast<size_t>(-1);
  std::string error_;
};

} // namespace brokedancer
