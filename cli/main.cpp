#include "cli/cli.hpp"
#include "runtime/runtime.hpp"

int main(int argc, char** argv) {
  // Before any thread exists, so that every thread inherits the mask and the runtime can
  // take SIGINT/SIGTERM synchronously instead of in an async-signal handler.
  brokedancer::block_termination_signals();
  return brokedancer::cli_main(argc, argv);
}
