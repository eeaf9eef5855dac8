#pragma once

// A real browser for tests of the web pages: Debian's headless Chromium, driven through the
// Chrome DevTools Protocol over a pipe (--remote-debugging-pipe: Chromium reads commands from
// its fd 3 and writes replies and events to its fd 4, each a JSON text ended by a '\0' byte).
// A pipe rather than a WebSocket needs no extra library and no port. Single-threaded: events
// (page loads, console messages) are taken in while a call waits for its reply. Every wait has
// a deadline, so a stuck page fails a test instead of hanging the suite.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <sys/types.h>

namespace brokedancer::testing {

class headless_browser {
public:
  // True when /usr/bin/chromium (or $BROKEDANCER_CHROMIUM) exists and is executable, so that
  // tests can skip rather than fail on a machine without it.
  static bool available();

  // Starts Chromium headless with a fresh profile in a temporary directory, attaches to a page
  // and enables its Page and Runtime domains. Throws std::runtime_error, with Chromium's exit
  // status and the end of its stderr, when it cannot start or does not answer within ~20 s.
  headless_browser();
  // Browser.close, then SIGKILL of Chromium's whole process group after 3 s if the browser is
  // still alive (it spawns helpers); reaps it and removes the temporary directory. Never throws.
  ~headless_browser();

  headless_browser(const headless_browser&) = delete;
  headless_browser& operator=(const headless_browser&) = delete;

  // Navigates the page to `url` and waits for that document's load event. Throws when the
  // navigation fails (e.g. net::ERR_CONNECTION_REFUSED) or does not load within `timeout`.
  // A change of the fragment alone loads no new document: it returns once Chromium has it.
  void open(const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // Runs `expression` in the page (a promise is awaited) and returns its value as JSON: null for
  // undefined, a string for values JSON cannot hold ("NaN", "Infinity", "-0", "12n"). Throws
  // std::runtime_error with the exception's text when the page threw, or on timeout (a script
  // still running then is not stopped: the page stays busy, and later calls may time out too).
  nlohmann::json evaluate(const std::string& expression,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Evaluates `expression` every ~50 ms until its value is truthy (as in JavaScript); false when
  // `timeout` passes first. While it throws, or the page is between documents, it counts as
  // falsy. An evaluation started just before the deadline may finish up to 0.5 s after it.
  bool wait_until(const std::string& expression, std::chrono::milliseconds timeout);

  // document.documentElement.outerHTML.
  std::string dom();

  // A PNG of the viewport, written to `path`. Throws when it cannot be written. The window is
  // 1400x1000; headless Chromium keeps some of its height for (invisible) browser UI, so the
  // image is 1400 wide and a little less than 1000 high.
  void screenshot(const std::string& path);

  // What the page logged on the console ("console.error: ...") and its uncaught exceptions
  // ("uncaught: ..."), oldest first, for failure messages. Only the latest 1000 are kept.
  std::vector<std::string> console() const;

private:
  using clock = std::chrono::steady_clock;

  void launch(const std::string& program);
  void attach(clock::time_point deadline);
  // Sends `method` (to the page's session when `to_page`) and returns the reply's "result".
  // Throws protocol_error when Chromium answers with an error, command_timeout at `deadline`.
  nlohmann::json command(const std::string& method, nlohmann::json params,
                         clock::time_point deadline, bool to_page = true);
  void write_message(const std::string& text, clock::time_point deadline);
  // The next complete message; nullopt at `deadline`. Throws when the pipe is closed.
  std::optional<nlohmann::json> next_message(clock::time_point deadline);
  // Takes in messages, recording events, until `until`.
  void pump(clock::time_point until);
  void dispatch(const nlohmann::json& message);
  void record_console(std::string line);
  // Why Chromium is gone, if it is, and the end of its stderr: for error messages.
  std::string diagnostics() const;
  void shut_down() noexcept;

  std::string program_;
  std::string temp_dir_;    // holds the profile and Chromium's stderr
  pid_t pid_ = -1;          // also the id of its process group
  int commands_ = -1;       // our end of Chromium's fd 3
  int replies_ = -1;        // our end of Chromium's fd 4
  std::string incoming_;    // bytes read from replies_ not yet split into messages
  std::size_t scanned_ = 0; // incoming_[0, scanned_) holds no '\0'
  std::int64_t next_id_ = 1;
  std::string session_id_;
  std::deque<std::string> loaded_loaders_; // loaderIds of documents whose load event fired
  std::deque<std::string> console_;
};

} // namespace brokedancer::testing
