#pragma once

// `brokedancer exchange`: the simulated exchange as its own process (runtime/exchange_server.hpp),
// serving until SIGINT or SIGTERM.

#include <string>

namespace brokedancer {

struct exchange_command_options {
  std::string listen = "127.0.0.1:0"; // HOST:PORT; port 0: any free port (printed)
  std::string ledger_file;            // empty: the ledger lives in memory only
  bool fsync = false;
  double fee_rate = 0.001;
};

// Returns the process exit code (runtime/exit_codes.hpp).
int exchange_command(const exchange_command_options& options);

} // namespace brokedancer
