#pragma once

// Workflow definitions from files an operator wrote: `brokedancer workflow validate|run FILE`
// and the `workflows.files` a node runs. A file is read up to max_workflow_text_bytes (one byte
// more says it is too large) and every problem comes back with its JSON path.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "messages/workflow.hpp"
#include "runtime/config.hpp"

namespace brokedancer {

struct workflow_file {
  std::optional<workflow_definition> workflow; // only when there is no problem
  // Why the file could not be read at all (then `problems` is empty).
  std::string unreadable;
  std::vector<workflow_problem> problems;
};

workflow_file read_workflow_file(const std::string& path, const node_catalogue& types);

// Every workflow of `config.workflows.files`, validated against `types`. Throws config_error
// with every problem of every file (and workflow ids used twice).
std::vector<std::shared_ptr<const workflow_definition>>
load_configured_workflows(const runtime_config& config, const node_catalogue& types);

} // namespace brokedancer
