#pragma once

// Structured logging on top of spdlog. A line has a timestamp, a level, a logger name, a
// message and a JSON object of fields; it is written as one JSON object per line (`json`) or as
// a human-readable line (`console`). Every sink gets a formatter that masks secrets, so no
// code path can log a password by forgetting to mask it.
//
// Log lines about a message carry its correlation id as the field `correlation_id`:
//   log.info("order rejected", {{"correlation_id", order.correlation}, {"reason", "halted"}});

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace spdlog {
class logger;
}

namespace brokedancer {

class secret_masker;

enum class log_format { console, json };

enum class log_level { trace, debug, info, warn, error, critical, off };

struct log_options {
  log_format format = log_format::console;
  log_level level = log_level::info;
  // Empty: standard error. Otherwise a file the lines are appended to.
  std::string file;
};

bool from_string(std::string_view text, log_format& format);
bool from_string(std::string_view text, log_level& level);
std::string to_string(log_format format);
std::string to_string(log_level level);

// Replaces the sinks of every logger, existing and future. Thread-safe; throws
// std::runtime_error when the log file cannot be opened.
void configure_logging(const log_options& options);

// The one masker every sink applies. Register secrets here as soon as they are known.
secret_masker& log_masker();

class logger {
public:
  using fields = nlohmann::json;

  explicit logger(std::string name);

  void trace(std::string_view message, const fields& f = fields::object()) const;
  void debug(std::string_view message, const fields& f = fields::object()) const;
  void info(std::string_view message, const fields& f = fields::object()) const;
  void warn(std::string_view message, const fields& f = fields::object()) const;
  void error(std::string_view message, const fields& f = fields::object()) const;
  void critical(std::string_view message, const fields& f = fields::object()) const;

  void write(log_level level, std::string_view message, const fields& f) const;
  bool enabled(log_level level) const;
  void flush() const;

private:
  std::shared_ptr<spdlog::logger> impl_;
};

} // namespace brokedancer
