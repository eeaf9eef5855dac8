#pragma once

// What `brokedancer` returns, so that scripts and process managers can tell failures apart.

namespace brokedancer::exit_code {

constexpr int ok = 0;
constexpr int internal_error = 1;     // a bug: please report it with the log
constexpr int config_invalid = 2;     // the configuration (file or environment) was rejected
constexpr int input_invalid = 2;      // an input was rejected (a reason that is not UTF-8, ...)
constexpr int escalated = 3;          // the supervisor's restart intensity was exceeded
constexpr int startup_failed = 4;     // the runtime could not start (a child failed to start)
constexpr int emergency_shutdown = 5; // an emergency SHUTDOWN (operator or risk) ended the run
constexpr int node_unreachable = 6;   // status|halt|resume|shutdown: no node answers at --node
constexpr int command_refused = 7;    // the node refused the command (see the message)
constexpr int not_authenticated = 8;  // no credential, an unknown one, or too many failures
constexpr int workflow_failed = 9;    // workflow run: a node failed for good (or it was cancelled)
constexpr int workflow_halted = 10;   // workflow run: the emergency level stopped it
constexpr int positions_left = 11;    // flatten: some positions could not be closed (see them)
constexpr int cancels_failed = 12;    // cancel-all: the exchange could not be asked for some
constexpr int usage = 64;             // bad command line (as in sysexits.h)

} // namespace brokedancer::exit_code
