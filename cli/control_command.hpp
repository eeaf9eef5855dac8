#pragma once

// The operator's side of node control: `brokedancer status|halt|resume|shutdown --node
// [https://]HOST:PORT`, speaking the node's operator API (runtime/operator_api.hpp).
// The credential is a token from BROKEDANCER_TOKEN or --token-file, never from the command line
// (where any user of the machine could read it in the process list).

#include <string>

namespace brokedancer {

struct control_command_options {
  std::string command;          // status, halt, resume, shutdown
  std::string node;             // HOST:PORT, or https://HOST:PORT
  std::string reason;           // required for level changes
  std::string level = "NORMAL"; // resume: the level to go down to
  bool json = false;            // status: print JSON
  std::string token_file;       // empty: $BROKEDANCER_TOKEN
  std::string ca_file;          // https: the authority that signed the node's certificate
};

// Returns the process exit code (runtime/exit_codes.hpp).
int control_command(const control_command_options& options);

} // namespace brokedancer
