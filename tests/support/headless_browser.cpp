#include "support/headless_browser.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace brokedancer::testing {

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t max_message_bytes = 64 * 1024 * 1024;
constexpr std::size_t max_console_entries = 1000;
constexpr std::size_t max_console_entry_bytes = 16 * 1024;
constexpr auto startup_timeout = std::chrono::seconds(20);
constexpr auto screenshot_timeout = std::chrono::seconds(30);
constexpr auto close_grace = std::chrono::seconds(3);

// Chromium answered a command with an error ("Execution context was destroyed", ...): the
// connection itself is fine. wait_until() tells it apart from a dead browser.
struct protocol_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// No reply before the deadline; a late one is dropped when it comes.
struct command_timeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string chromium_path() {
  const char* configured = std::getenv("BROKEDANCER_CHROMIUM");
  return configured && *configured ? configured : "/usr/bin/chromium";
}

long long milliseconds_until(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now()).count();
  return std::max<long long>(left, 0);
}

// poll() until `fd` is ready for `events`, retrying on EINTR; false at the deadline.
bool wait_for_fd(int fd, short events, clock::time_point deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    auto wait = static_cast<int>(std::min<long long>(milliseconds_until(deadline), 60'000));
    int ready = ::poll(&entry, 1, wait);
    if (ready > 0)
      return true;
    if (ready < 0 && errno != EINTR)
      throw std::runtime_error("poll on the DevTools pipe: " + std::string(std::strerror(errno)));
    if (ready == 0 && clock::now() >= deadline)
      return false;
  }
}

// Closes a file descriptor on scope exit unless released: launch() must not leak the pipes'
// ends when one of its steps fails.
class unique_fd {
public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  ~unique_fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  int get() const {
    return fd_;
  }
  int release() {
    return std::exchange(fd_, -1);
  }

private:
  int fd_;
};

// A write to a pipe whose reader has died raises SIGPIPE, which would kill the whole test
// runner. Blocking it in this thread for the write, and consuming the one the write caused,
// leaves the process-wide disposition (which other code may rely on) as it was.
class sigpipe_blocked {
public:
  sigpipe_blocked() {
    sigemptyset(&pipe_only_);
    sigaddset(&pipe_only_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only_, &previous_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~sigpipe_blocked() {
    if (raised_ && !was_pending_) {
      timespec no_wait{0, 0};
      while (sigtimedwait(&pipe_only_, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  sigpipe_blocked(const sigpipe_blocked&) = delete;
  sigpipe_blocked& operator=(const sigpipe_blocked&) = delete;
  // The write failed with EPIPE: a SIGPIPE is now pending for this thread.
  void raised() {
    raised_ = true;
  }

private:
  sigset_t pipe_only_;
  sigset_t previous_;
  bool was_pending_ = false;
  bool raised_ = false;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings)
    result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// Replaces invalid UTF-8 rather than throwing: an expression or URL a test got wrong should
// fail in the page, not in the serializer.
std::string to_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string shortened(const std::string& text, std::size_t limit = 200) {
  return text.size() <= limit ? text : text.substr(0, limit) + "...";
}

std::vector<unsigned char> decode_base64(const std::string& text) {
  std::array<int, 256> values;
  values.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i)
    values[static_cast<unsigned char>(alphabet[i])] = i;
  std::vector<unsigned char> bytes;
  bytes.reserve(text.size() / 4 * 3);
  unsigned int bits = 0;
  int bit_count = 0;
  for (char c : text) {
    if (c == '=')
      break; // padding: only the bits already taken in form whole bytes
    int value = values[static_cast<unsigned char>(c)];
    if (value < 0)
      throw std::runtime_error("invalid base64 in Chromium's screenshot");
    bits = (bits << 6) | static_cast<unsigned int>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      bytes.push_back(static_cast<unsigned char>((bits >> bit_count) & 0xFF));
    }
  }
  return bytes;
}

// A value as the protocol describes it (a RemoteObject), as the JSON evaluate() returns.
nlohmann::json value_of(const nlohmann::json& remote) {
  if (remote.contains("unserializableValue"))
    return remote["unserializableValue"];
  if (remote.contains("value"))
    return remote["value"];
  return nullptr; // undefined, or something returnByValue cannot carry (a function, a symbol)
}

// JavaScript's truthiness of the RemoteObject `remote`.
bool truthy(const nlohmann::json& remote) {
  if (remote.value("type", "") == "undefined")
    return false;
  if (remote.contains("unserializableValue")) {
    auto text = remote["unserializableValue"].get<std::string>();
    return text != "NaN" && text != "-0" && text != "0n";
  }
  if (!remote.contains("value"))
    return true; // functions and symbols
  const auto& value = remote["value"];
  if (value.is_null())
    return false;
  if (value.is_boolean())
    return value.get<bool>();
  if (value.is_number())
    return value.get<double>() != 0;
  if (value.is_string())
    return !value.get_ref<const std::string&>().empty();
  return true; // objects and arrays, even empty ones
}

// One console argument as the console would print it.
std::string console_text(const nlohmann::json& remote) {
  if (remote.contains("value")) {
    const auto& value = remote["value"];
    return value.is_string() ? value.get<std::string>() : to_text(value);
  }
  if (remote.contains("unserializableValue"))
    return remote["unserializableValue"].get<std::string>();
  if (remote.contains("description"))
    return remote["description"].get<std::string>();
  return remote.value("type", "?");
}

// An exception's message with its stack when the page gives one ("Error: boom\n    at ...").
std::string exception_text(const nlohmann::json& details) {
  std::string text;
  if (details.contains("exception")) {
    const auto& exception = details["exception"];
    if (exception.contains("description"))
      text = exception["description"].get<std::string>();
    else
      text = console_text(exception); // throw "a string", throw 42
  }
  if (text.empty())
    text = details.value("text", "exception");
  // Where it was thrown, unless the stack in the description already says so.
  auto url = details.value("url", "");
  if (!url.empty() && text.find(url) == std::string::npos)
    text += " (" + url + ":" + std::to_string(details.value("lineNumber", 0) + 1) + ")";
  return text;
}

std::string file_tail(const std::string& path, std::size_t bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return {};
  file.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(std::max<std::streamoff>(file.tellg(), 0));
  auto start = size > bytes ? size - bytes : 0;
  file.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(std::max<std::streamsize>(file.gcount(), 0)));
  return text;
}

} // namespace

bool headless_browser::available() {
  struct stat info {};
  auto path = chromium_path();
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode)
         && ::access(path.c_str(), X_OK) == 0;
}

headless_browser::headless_browser() : program_(chromium_path()) {
  if (!available())
    throw std::runtime_error("no executable Chromium at " + program_
                             + " (set BROKEDANCER_CHROMIUM to use another)");
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/brokedancer-chromium-XXXXXX";
  if (!mkdtemp(pattern.data()))
    throw std::runtime_error("cannot create a directory for Chromium's profile: "
                             + std::string(std::strerror(errno)));
  temp_dir_ = pattern;
  // The destructor does not run when the constructor throws: clean up here.
  try {
    launch(program_);
    attach(clock::now() + startup_timeout);
  } catch (...) {
    shut_down();
    throw;
  }
}

headless_browser::~headless_browser() {
  shut_down();
}

void headless_browser::launch(const std::string& program) {
  std::vector<std::string> args{
      program,
      "--headless=new",
      "--no-sandbox", // the tests run as root, which Chromium's sandbox refuses
      "--disable-gpu",
      // /dev/shm is 64 MiB in a default container, too little for Chromium's renderer.
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-sync",
      "--metrics-recording-only",
      "--mute-audio",
      "--remote-debugging-pipe",
      "--user-data-dir=" + temp_dir_ + "/profile",
      "--window-size=1400,1000",
      "about:blank",
  };
  // Everything the child needs is prepared before fork(): the test process has threads, so the
  // child may only call async-signal-safe functions until it execs.
  auto argv = pointers(args);
  int command_pipe[2];
  int reply_pipe[2];
  if (pipe2(command_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  unique_fd command_read(command_pipe[0]), command_write(command_pipe[1]);
  if (pipe2(reply_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  unique_fd reply_read(reply_pipe[0]), reply_write(reply_pipe[1]);
  // Chromium's stdout and stderr go to a file rather than the test's output (it is chatty):
  // its end is what error messages quote when it fails to start.
  auto log_path = temp_dir_ + "/chromium.log";
  unique_fd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  unique_fd null_input(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (log.get() < 0 || null_input.get() < 0)
    throw std::runtime_error("cannot open " + log_path
                             + " or /dev/null: " + std::string(std::strerror(errno)));

  pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // Copies above 10 first, so that placing them on 0-4 cannot overwrite one still needed
    // (a pipe end may itself be fd 3 or 4). dup2 clears close-on-exec on the copies it makes.
    int commands = fcntl(command_read.get(), F_DUPFD, 10);
    int replies = fcntl(reply_write.get(), F_DUPFD, 10);
    int output = fcntl(log.get(), F_DUPFD, 10);
    int input = fcntl(null_input.get(), F_DUPFD, 10);
    if (commands < 0 || replies < 0 || output < 0 || input < 0 || dup2(input, 0) < 0
        || dup2(output, 1) < 0 || dup2(output, 2) < 0 || dup2(commands, 3) < 0
        || dup2(replies, 4) < 0)
      _exit(126);
    // Nothing else of the test's reaches Chromium: were it to hold a copy of a socket or of
    // the reply pipe's read end, closing ours would not be noticed.
    if (close_range(5, ~0U, 0) != 0) {
      for (int fd = 5; fd < 65536; ++fd)
        ::close(fd);
    }
    // Its own process group, for the destructor to kill the helpers with the browser.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv.data(), environ);
    static const char failed[] = "headless_browser: execve failed\n";
    [[maybe_unused]] auto ignored = ::write(2, failed, sizeof failed - 1);
    _exit(127);
  }
  pid_ = pid;
  // Also from the parent, so that the group exists before any kill(-pid_) whichever runs
  // first; EACCES once the child has exec'd is fine, it did it itself.
  setpgid(pid, pid);
  commands_ = command_write.release();
  replies_ = reply_read.release();
  // Non-blocking ends: every read and write is preceded by a poll() with a deadline.
  fcntl(commands_, F_SETFL, fcntl(commands_, F_GETFL) | O_NONBLOCK);
  fcntl(replies_, F_SETFL, fcntl(replies_, F_GETFL) | O_NONBLOCK);
  // A larger buffer lets a screenshot through in fewer round trips; not needed, so best effort.
  fcntl(replies_, F_SETPIPE_SZ, 1024 * 1024);
}

void headless_browser::attach(clock::time_point deadline) {
  std::string target_id;
  try {
    auto targets = command("Target.getTargets", nlohmann::json::object(), deadline, false);
    for (const auto& info : targets.value("targetInfos", nlohmann::json::array())) {
      if (info.value("type", "") == "page") {
        target_id = info.value("targetId", "");
        break;
      }
    }
    if (target_id.empty()) {
      auto created = command("Target.createTarget", {{"url", "about:blank"}}, deadline, false);
      target_id = created.value("targetId", "");
    }
    // flatten: the page's messages travel on this same pipe, tagged with the sessionId.
    auto attached = command("Target.attachToTarget", {{"targetId", target_id}, {"flatten", true}},
                            deadline, false);
    session_id_ = attached.value("sessionId", "");
    if (session_id_.empty())
      throw std::runtime_error("Target.attachToTarget gave no sessionId");
    command("Page.enable", nlohmann::json::object(), deadline);
    // Lifecycle events name the loader (document) that loaded, so open() cannot mistake a
    // previous document's load event for the one it waits for.
    command("Page.setLifecycleEventsEnabled", {{"enabled", true}}, deadline);
    command("Runtime.enable", nlohmann::json::object(), deadline);
  } catch (const command_timeout&) {
    throw std::runtime_error("Chromium (" + program_
                             + ") did not answer on its DevTools pipe within "
                             + std::to_string(startup_timeout.count()) + " s" + diagnostics());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot start Chromium (" + program_ + "): " + e.what());
  }
}

nlohmann::json headless_browser::command(const std::string& method, nlohmann::json params,
                                         clock::time_point deadline, bool to_page) {
  auto id = next_id_++;
  nlohmann::json message{{"id", id}, {"method", method}, {"params", std::move(params)}};
  if (to_page)
    message["sessionId"] = session_id_;
  write_message(to_text(message), deadline);
  for (;;) {
    auto reply = next_message(deadline);
    if (!reply)
      throw command_timeout("Chromium did not answer " + method + " in time");
    if (!reply->contains("id")) {
      dispatch(*reply);
      continue;
    }
    if ((*reply)["id"] != id)
      continue; // the late answer to a command that timed out
    if (reply->contains("error")) {
      const auto& error = (*reply)["error"];
      throw protocol_error("Chromium refused " + method + ": "
                           + error.value("message", to_text(error))
                           + (error.contains("data") ? " (" + to_text(error["data"]) + ")" : ""));
    }
    return reply->value("result", nlohmann::json::object());
  }
}

void headless_browser::write_message(const std::string& text, clock::time_point deadline) {
  if (commands_ < 0)
    throw std::runtime_error("the DevTools pipe to Chromium is closed");
  // The '\0' ends the message: Chromium's pipe protocol has no other framing.
  std::string framed = text;
  framed.push_back('\0');
  sigpipe_blocked guard;
  std::size_t written = 0;
  while (written < framed.size()) {
    auto n = ::write(commands_, framed.data() + written, framed.size() - written);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN) {
      if (!wait_for_fd(commands_, POLLOUT, deadline))
        throw command_timeout("Chromium does not read its DevTools pipe");
      continue;
    }
    if (n < 0 && errno == EPIPE)
      guard.raised();
    throw std::runtime_error("cannot write to Chromium's DevTools pipe: "
                             + std::string(std::strerror(errno)) + diagnostics());
  }
}

std::optional<nlohmann::json> headless_browser::next_message(clock::time_point deadline) {
  constexpr std::size_t chunk = 256 * 1024;
  for (;;) {
    auto end = incoming_.find('\0', scanned_);
    if (end != std::string::npos) {
      nlohmann::json message;
      try {
        message = nlohmann::json::parse(incoming_.begin(),
                                        incoming_.begin() + static_cast<std::ptrdiff_t>(end));
      } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error("Chromium sent a message that is not JSON: "
                                 + std::string(e.what()));
      }
      incoming_.erase(0, end + 1);
      scanned_ = 0;
      return message;
    }
    scanned_ = incoming_.size();
    if (incoming_.size() > max_message_bytes)
      throw std::runtime_error("a message from Chromium is larger than 64 MiB");
    if (replies_ < 0)
      throw std::runtime_error("the DevTools pipe from Chromium is closed");
    if (!wait_for_fd(replies_, POLLIN, deadline))
      return std::nullopt;
    auto old_size = incoming_.size();
    incoming_.resize(old_size + chunk);
    auto got = ::read(replies_, incoming_.data() + old_size, chunk);
    incoming_.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    if (got == 0)
      throw std::runtime_error("Chromium closed its DevTools pipe" + diagnostics());
    if (got < 0 && errno != EINTR && errno != EAGAIN)
      throw std::runtime_error("cannot read Chromium's DevTools pipe: "
                               + std::string(std::strerror(errno)) + diagnostics());
  }
}

void headless_browser::pump(clock::time_point until) {
  while (auto message = next_message(until))
    if (!message->contains("id"))
      dispatch(*message);
}

void headless_browser::dispatch(const nlohmann::json& message) {
  auto method = message.value("method", "");
  auto params = message.value("params", nlohmann::json::object());
  if (method == "Target.detachedFromTarget" && params.value("sessionId", "") == session_id_) {
    record_console("page detached: " + params.value("reason", std::string("(no reason given)")));
    return;
  }
  if (message.value("sessionId", "") != session_id_)
    return; // the browser's own events, or another target's
  if (method == "Page.lifecycleEvent" && params.value("name", "") == "load") {
    loaded_loaders_.push_back(params.value("loaderId", ""));
    if (loaded_loaders_.size() > 64)
      loaded_loaders_.pop_front();
  } else if (method == "Runtime.consoleAPICalled") {
    std::string line = "console." + params.value("type", std::string("log")) + ":";
    for (const auto& argument : params.value("args", nlohmann::json::array()))
      line += " " + console_text(argument);
    record_console(std::move(line));
  } else if (method == "Runtime.exceptionThrown") {
    record_console("uncaught: "
                   + exception_text(params.value("exceptionDetails", nlohmann::json::object())));
  } else if (method == "Inspector.targetCrashed") {
    record_console("the page's renderer crashed");
  }
}

void headless_browser::record_console(std::string line) {
  if (line.size() > max_console_entry_bytes)
    line = line.substr(0, max_console_entry_bytes) + "...";
  console_.push_back(std::move(line));
  if (console_.size() > max_console_entries)
    console_.pop_front();
}

std::string headless_browser::diagnostics() const {
  std::string text;
  if (pid_ > 0) {
    // WNOWAIT: look without reaping, so that pid_ still names the process group in shut_down().
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0
        && info.si_pid == pid_) {
      if (info.si_code == CLD_EXITED)
        text += "; Chromium exited with status " + std::to_string(info.si_status);
      else
        text += "; Chromium was killed by signal " + std::to_string(info.si_status);
    }
  }
  auto log = file_tail(temp_dir_ + "/chromium.log", 2000);
  if (!log.empty())
    text += "; the end of its stderr:\n" + log;
  return text;
}

void headless_browser::open(const std::string& url, milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  auto what = "open(" + url + ")";
  try {
    auto navigated = command("Page.navigate", {{"url", url}}, deadline);
    auto error = navigated.value("errorText", "");
    if (!error.empty())
      throw std::runtime_error(what + ": " + error);
    // No loaderId: a same-document navigation (only the fragment changed), which loads nothing.
    auto loader = navigated.value("loaderId", "");
    if (loader.empty())
      return;
    auto loaded = [&] {
      return std::find(loaded_loaders_.begin(), loaded_loaders_.end(), loader)
             != loaded_loaders_.end();
    };
    while (!loaded()) {
      auto message = next_message(deadline);
      if (!message)
        throw command_timeout("the page did not fire its load event");
      if (!message->contains("id"))
        dispatch(*message);
    }
  } catch (const command_timeout& e) {
    throw std::runtime_error(what + " timed out after " + std::to_string(timeout.count())
                             + " ms: " + e.what());
  } catch (const protocol_error& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

nlohmann::json headless_browser::evaluate(const std::string& expression, milliseconds timeout) {
  nlohmann::json reply;
  try {
    reply = command("Runtime.evaluate",
                    {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}},
                    clock::now() + timeout);
  } catch (const command_timeout&) {
    throw std::runtime_error("evaluating `" + shortened(expression) + "` timed out after "
                             + std::to_string(timeout.count()) + " ms");
  }
  if (reply.contains("exceptionDetails"))
    throw std::runtime_error("JavaScript exception in `" + shortened(expression)
                             + "`: " + exception_text(reply["exceptionDetails"]));
  return value_of(reply.value("result", nlohmann::json::object()));
}

bool headless_browser::wait_until(const std::string& expression, milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  nlohmann::json params{
      {"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}};
  for (;;) {
    try {
      // A little grace past the deadline: an answer that is on its way still counts.
      auto reply =
          command("Runtime.evaluate", params, std::max(deadline, clock::now() + milliseconds(500)));
      if (!reply.contains("exceptionDetails")
          && truthy(reply.value("result", nlohmann::json::object())))
        return true;
    } catch (const command_timeout&) {
      return false;
    } catch (const protocol_error&) {
      // "Execution context was destroyed" and the like: the page is between documents.
    }
    auto now = clock::now();
    if (now >= deadline)
      return false;
    pump(std::min(now + milliseconds(50), deadline));
  }
}

std::string headless_browser::dom() {
  auto html = evaluate("document.documentElement ? document.documentElement.outerHTML : ''");
  return html.is_string() ? html.get<std::string>() : std::string{};
}

void headless_browser::screenshot(const std::string& path) {
  nlohmann::json shot;
  try {
    shot =
        command("Page.captureScreenshot", {{"format", "png"}}, clock::now() + screenshot_timeout);
  } catch (const command_timeout&) {
    throw std::runtime_error("Chromium took more than 30 s to take a screenshot");
  }
  auto png = decode_base64(shot.value("data", ""));
  if (png.empty())
    throw std::runtime_error("Chromium returned an empty screenshot");
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  file.close();
  if (!file)
    throw std::runtime_error("cannot write the screenshot to " + path);
}

std::vector<std::string> headless_browser::console() const {
  return {console_.begin(), console_.end()};
}

void headless_browser::shut_down() noexcept {
  if (pid_ > 0) {
    try {
      // A polite close first, so that Chromium ends its helpers itself; the reply is not awaited.
      if (commands_ >= 0)
        write_message(to_text({{"id", next_id_++}, {"method", "Browser.close"}}),
                      clock::now() + milliseconds(500));
    } catch (...) {
    }
    auto deadline = clock::now() + close_grace;
    for (;;) {
      siginfo_t info{};
      bool exited = waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0
                    || info.si_pid == pid_;
      if (exited || clock::now() >= deadline)
        break;
      // Keep reading what it writes meanwhile, so that it never blocks on a full pipe instead
      // of exiting; the messages themselves no longer matter.
      char discard[65536];
      if (replies_ >= 0) {
        pollfd entry{replies_, POLLIN, 0};
        if (::poll(&entry, 1, 20) > 0 && ::read(replies_, discard, sizeof discard) == 0) {
          ::close(replies_);
          replies_ = -1;
        }
      } else {
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
    // The whole group, even when the browser exited: a helper it left behind would keep files
    // in the profile open. Sent before reaping, while the browser's pid (the group's id)
    // cannot have been reused.
    ::kill(-pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  if (commands_ >= 0)
    ::close(commands_);
  if (replies_ >= 0)
    ::close(replies_);
  commands_ = replies_ = -1;
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    // A helper killed a moment ago may still be finishing a write there: a second try.
    if (std::filesystem::remove_all(temp_dir_, ignored) == static_cast<std::uintmax_t>(-1)
        || std::filesystem::exists(temp_dir_, ignored)) {
      std::this_thread::sleep_for(milliseconds(100));
      std::filesystem::remove_all(temp_dir_, ignored);
    }
    temp_dir_.clear();
  }
}

} // namespace brokedancer::testing
