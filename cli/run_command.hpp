#pragma once

// `brokedancer run`: the main job. Boots a runtime with the sample strategies, spawns the bots,
// shows a live status line (a terminal) or periodic log lines (anything else), and prints a
// summary at the end -- as text, or as JSON with --json.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace brokedancer {

struct run_command_options {
  std::string config_path;           // empty: $BROKEDANCER_CONFIG, else the embedded default
  std::optional<uint32_t> bots;      // overrides bots.count
  std::optional<double> duration_s;  // none: until a signal or a SHUTDOWN
  std::optional<uint64_t> seed;      // overrides market.seed and every simulated endpoint's
  bool json = false;                 // the summary as JSON on standard output
  std::optional<std::string> listen; // overrides node.listen (checked by the CLI)
  std::vector<std::string> join;     // overrides node.peers (checked by the CLI)
  // Serve the operator API with its dashboard (on node.control_port, else dashboard_port) and
  // print the dashboard's address with a viewer credential made for this run only.
  bool dashboard = false;
};

// Where --dashboard serves when node.control_port is not set.
constexpr uint16_t dashboard_port = 8642;

// Returns the process exit code (runtime/exit_codes.hpp).
int run_command(const run_command_options& options);

} // namespace brokedancer
