#pragma once

// The operator's side of node control: `brokedancer status|halt|resume|shutdown --node
// [https://]HOST:PORT`, speaking the node's operator API (runtime/operator_api.hpp).
// The credential is a token from BROKEDANCER_TOKEN or --token-file, never from the command line
// (where any user of the machine could read it in the process list).

#include <cstdint>
#include <string>

namespace brokedancer {

struct control_command_options {
  std::string command;          // status, halt, reduce-only, resume, shutdown, flatten
  std::string node;             // HOST:PORT, or https://HOST:PORT
  std::string reason;           // required for level changes
  std::string level = "NORMAL"; // resume: the level to go down to
  std::string symbol;           // flatten: the symbol whose positions close (empty: all)
  // halt, reduce-only, resume: the scope changed instead of the node's level (empty: none); a
  // kind (bot, strategy, symbol, endpoint) and its name.
  std::string scope_kind;
  std::string scope_name;
  bool json = false;      // status: print JSON
  std::string token_file; // empty: $BROKEDANCER_TOKEN
  std::string ca_file;    // https: the authority that signed the node's certificate
};

// Returns the process exit code (runtime/exit_codes.hpp).
int control_command(const control_command_options& options);

// `brokedancer workflow history|breaker|cancel ... --node`: the node's workflows, through the
// same API and credential.
struct workflow_operator_options {
  control_command_options node; // command: "workflow history", "workflow breaker", ...
  std::string id;               // a workflow's id (history, breaker) or an execution's (cancel)
  std::string action;           // breaker: force_open, force_close, reset
  uint32_t limit = 20;          // history
};

int workflow_operator_command(const workflow_operator_options& options);

} // namespace brokedancer
