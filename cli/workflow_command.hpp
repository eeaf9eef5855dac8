#pragma once

// `brokedancer workflow ...`: working with workflow definitions (messages/workflow.hpp).

#include <string>

namespace brokedancer {

// `workflow validate FILE`: every problem of the definition, each with its JSON path, on stderr
// and exit code 2; a summary of a valid one on stdout and 0.
int workflow_validate(const std::string& path);

struct workflow_run_options {
  std::string path;        // the definition
  std::string config_path; // empty: $BROKEDANCER_CONFIG, else the embedded default
  bool json = false;       // the result document on standard output
  double timeout_s = 600;  // gives up (exit 1) when the execution has not ended by then
};

// `workflow run FILE`: starts the runtime of the configuration (without its sample bots), runs
// the workflow once through it, shows each node as it starts and ends, and exits 0 when it
// completed, 9 when it failed, 10 when the emergency level halted it, 2 when it is invalid.
int workflow_run(const workflow_run_options& options);

// `workflow types`: the node types a definition may use, with their parameters and ports.
int workflow_types();

} // namespace brokedancer
