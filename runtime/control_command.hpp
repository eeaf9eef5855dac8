#pragma once

// The operator's side of node control: `brokedancer status|halt|resume|shutdown --node
// HOST:PORT`, talking to a running node's control port over CAF's network layer.

#include <string>

namespace brokedancer {

struct control_command_options {
  std::string command;          // status, halt, resume, shutdown
  std::string node;             // HOST:PORT
  std::string reason;           // required for level changes
  std::string level = "NORMAL"; // resume: the level to go down to
  bool json = false;            // status: print JSON
};

// Returns the process exit code (runtime/exit_codes.hpp).
int control_command(const control_command_options& options);

} // namespace brokedancer
