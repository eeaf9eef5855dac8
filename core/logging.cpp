#include "core/logging.hpp"

#include <ctime>
#include <mutex>
#include <stdexcept>

#include <spdlog/formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/secret_masker.hpp"

namespace brokedancer {

namespace {

// spdlog carries one string per line; the structured fields ride behind the message after
// this separator and are split off again by our formatters. JSON never contains it raw
// (dump() escapes control characters) and it is stripped from message text.
constexpr char fields_separator = '\x1f';

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::trace: return spdlog::level::trace;
    case log_level::debug: return spdlog::level::debug;
    case log_level::info: return spdlog::level::info;
    case log_level::warn: return spdlog::level::warn;
    case log_level::error: return spdlog::level::err;
    case log_level::critical: return spdlog::level::critical;
    case log_level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

std::string utc_timestamp(spdlog::log_clock::time_point time, bool iso) {
  using namespace std::chrono;
  auto since_epoch = time.time_since_epoch();
  auto seconds_part = duration_cast<seconds>(since_epoch);
  auto micros = duration_cast<microseconds>(since_epoch - seconds_part).count();
  std::time_t t = seconds_part.count();
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[64];
  auto n = std::strftime(text, sizeof(text), iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &utc);
  std::snprintf(text + n, sizeof(text) - n, iso ? ".%06lldZ" : ".%03lld",
                static_cast<long long>(iso ? micros : micros / 1000));
  return text;
}

struct record {
  std::string message;
  nlohmann::json fields = nlohmann::json::object();
};

// Splits what logger::write encoded, and masks secrets in the message and every field.
record decode_and_mask(const spdlog::details::log_msg& msg) {
  std::string_view payload(msg.payload.data(), msg.payload.size());
  record result;
  auto separator = payload.find(fields_separator);
  result.message = std::string(payload.substr(0, separator));
  if (separator != std::string_view::npos) {
    // Our own fields, written by logger::write just before: whatever was dumped there without
    // overflowing the stack parses and copies here the same way, so no bound is needed.
    result.fields = nlohmann::json::parse(payload.substr(separator + 1), nullptr, false);
    if (result.fields.is_discarded() || !result.fields.is_object())
      result.fields = nlohmann::json::object();
  }
  log_masker().apply(result.message);
  log_masker().apply(result.fields);
  return result;
}

class json_line_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto rec = decode_and_mask(msg);
    // Ordered, so that every line reads ts, level, logger, message, fields.
    nlohmann::ordered_json line = {
        {"ts", utc_timestamp(msg.time, true)},
        {"level", level_name(msg.level)},
        {"logger", std::string_view(msg.logger_name.data(), msg.logger_name.size())},
        {"message", std::move(rec.message)},
        {"fields", nlohmann::ordered_json(std::move(rec.fields))},
    };
    auto text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_line_formatter>();
  }
};

class console_line_formatter final : public spdlog::formatter {
public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto rec = decode_and_mask(msg);
    std::string line = utc_timestamp(msg.time, false);
    line += ' ';
    std::string level(level_name(msg.level));
    level.resize(8, ' ');
    line += level;
    line += '[';
    line.append(msg.logger_name.data(), msg.logger_name.size());
    line += "] ";
    line += rec.message;
    for (auto& [key, value] : rec.fields.items()) {
      line += ' ';
      line += key;
      line += '=';
      if (value.is_string()
          && value.get_ref<const std::string&>().find_first_of(" \"=") == std::string::npos)
        line += value.get_ref<const std::string&>();
      else
        line += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<console_line_formatter>();
  }
};

// All loggers write into this one sink; configure_logging swaps what is behind it.
std::shared_ptr<spdlog::sinks::dist_sink_mt> shared_sink() {
  static auto sink = [] {
    auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    stderr_sink->set_formatter(std::make_unique<console_line_formatter>());
    dist->add_sink(stderr_sink);
    return dist;
  }();
  return sink;
}

std::mutex& loggers_mutex() {
  static std::mutex mutex;
  return mutex;
}

log_level& current_level() {
  static log_level level = log_level::info;
  return level;
}

} // namespace

bool from_string(std::string_view text, log_format& format) {
  if (text == "console")
    format = log_format::console;
  else if (text == "json")
    format = log_format::json;
  else
    return false;
  return true;
}

bool from_string(std::string_view text, log_level& level) {
  for (auto candidate : {log_level::trace, log_level::debug, log_level::info, log_level::warn,
                         log_level::error, log_level::critical, log_level::off}) {
    if (text == to_string(candidate)) {
      level = candidate;
      return true;
    }
  }
  return false;
}

std::string to_string(log_format format) {
  return format == log_format::json ? "json" : "console";
}

std::string to_string(log_level level) {
  return std::string(level_name(to_spdlog(level)));
}

secret_masker& log_masker() {
  static secret_masker masker;
  return masker;
}

void configure_logging(const log_options& options) {
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
    } catch (const spdlog::spdlog_ex& ex) {
      throw std::runtime_error("cannot open log file " + options.file + ": " + ex.what());
    }
  }
  if (options.format == log_format::json)
    sink->set_formatter(std::make_unique<json_line_formatter>());
  else
    sink->set_formatter(std::make_unique<console_line_formatter>());
  shared_sink()->set_sinks({sink});
  std::lock_guard<std::mutex> guard{loggers_mutex()};
  current_level() = options.level;
  spdlog::set_level(to_spdlog(options.level));
}

logger::logger(std::string name) {
  std::lock_guard<std::mutex> guard{loggers_mutex()};
  impl_ = spdlog::get(name);
  if (!impl_) {
    impl_ = std::make_shared<spdlog::logger>(std::move(name), shared_sink());
    impl_->set_level(to_spdlog(current_level()));
    impl_->flush_on(spdlog::level::warn);
    spdlog::register_logger(impl_);
  }
}

bool logger::enabled(log_level level) const {
  return impl_->should_log(to_spdlog(level));
}

void logger::write(log_level level, std::string_view message, const fields& f) const {
  if (!enabled(level))
    return;
  std::string payload(message);
  std::replace(payload.begin(), payload.end(), fields_separator, ' ');
  if (f.is_object() && !f.empty()) {
    payload += fields_separator;
    payload += f.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  impl_->log(to_spdlog(level), spdlog::string_view_t(payload.data(), payload.size()));
}

void logger::trace(std::string_view message, const fields& f) const {
  write(log_level::trace, message, f);
}
void logger::debug(std::string_view message, const fields& f) const {
  write(log_level::debug, message, f);
}
void logger::info(std::string_view message, const fields& f) const {
  write(log_level::info, message, f);
}
void logger::warn(std::string_view message, const fields& f) const {
  write(log_level::warn, message, f);
}
void logger::error(std::string_view message, const fields& f) const {
  write(log_level::error, message, f);
}
void logger::critical(std::string_view message, const fields& f) const {
  write(log_level::critical, message, f);
}

void logger::flush() const {
  impl_->flush();
}

} // namespace brokedancer
