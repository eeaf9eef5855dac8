#pragma once

// `brokedancer workflow ...`: working with workflow definitions (messages/workflow.hpp).

#include <string>

namespace brokedancer {

// `workflow validate FILE`: every problem of the definition, each with its JSON path, on stderr
// and exit code 2; a summary of a valid one on stdout and 0.
int workflow_validate(const std::string& path);

// `workflow types`: the node types a definition may use, with their parameters and ports.
int workflow_types();

} // namespace brokedancer
