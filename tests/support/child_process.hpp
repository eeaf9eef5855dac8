#pragma once

// Another program run by a test: a real process with pipes to its standard input and output,
// for tests that need a second node. The destructor kills it if it is still running.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace brokedancer::testing {

class child_process {
public:
  // Starts `program` with `args`; `env` is added to (and overrides) the test's environment.
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::map<std::string, std::string>& env);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next line the child writes, without its newline; nullopt at end of output or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

  // Writes `line` and a newline to the child's standard input.
  void send_line(const std::string& line);

  // SIGKILL, and waits for it to be gone: no chance to clean up.
  void kill_now();

  // Sends `sig` (SIGINT, SIGTERM, ...) and returns at once.
  void signal(int sig);

  // Closes the child's standard input: the peer programs take that as "stop".
  void close_input();

  // The exit code once the child has exited; nullopt when it is still running at `timeout`
  // (then it is killed). A child killed by a signal gives 128 + the signal number.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  pid_t pid() const {
    return pid_;
  }

private:
  pid_t pid_ = -1;
  int input_ = -1;
  int output_ = -1;
  std::string buffered_;
};

} // namespace brokedancer::testing
