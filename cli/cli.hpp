#pragma once

namespace brokedancer {

// The `brokedancer` command line: --version, `config check [FILE]`, `run [--config FILE]`.
// Returns the process exit code (see exit_codes.hpp).
int cli_main(int argc, char** argv);

} // namespace brokedancer
