#include "core/prometheus_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace brokedancer {

namespace {

bool name_char(char c, bool first, bool label) {
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  bool digit = c >= '0' && c <= '9';
  bool colon = c == ':' && !label;
  return first ? letter || colon : letter || digit || colon;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

const char* type_name(metric_type type) {
  switch (type) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

} // namespace

bool is_metric_name(std::string_view name, bool label) {
  if (name.empty() || (label && name.substr(0, 2) == "__"))
    return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, label))
      return false;
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string metric_number(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  // Counts are whole numbers: written as such, not as 1e+06.
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.0f", value);
    return text;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", value);
  // The shortest form that reads back as the same double.
  for (int digits = 6; digits < 17; ++digits) {
    char shorter[32];
    std::snprintf(shorter, sizeof(shorter), "%.*g", digits, value);
    if (std::strtod(shorter, nullptr) == value)
      return shorter;
  }
  return text;
}

void prometheus_text::family(std::string_view name, metric_type type, std::string_view help) {
  if (!is_metric_name(name))
    throw std::logic_error("not a metric name: " + std::string{name});
  std::string text{name};
  if (std::find(families_.begin(), families_.end(), text) != families_.end())
    throw std::logic_error("a metric family written twice: " + text);
  families_.push_back(text);
  current_ = std::move(text);
  type_ = type;
  out_ += "# HELP " + current_ + " " + escape_help(help) + "\n";
  out_ += "# TYPE " + current_ + " " + type_name(type) + "\n";
}

void prometheus_text::sample(const metric_labels& labels, double value, std::string_view suffix) {
  if (current_.empty())
    throw std::logic_error("a metric sample before its family");
  out_ += current_;
  out_ += suffix;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [name, label_value] : labels) {
      if (!is_metric_name(name, true))
        throw std::logic_error("not a label name: " + name);
      if (!first)
        out_ += ',';
      first = false;
      out_ += name + "=\"" + escape_label_value(label_value) + "\"";
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += metric_number(value);
  out_ += '\n';
}

void prometheus_text::histogram(const metric_labels& labels,
                                const latency_histogram::snapshot& values) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < values.counts.size(); ++i) {
    cumulative += values.counts[i];
    auto with_le = labels;
    with_le.emplace_back("le", i < latency_histogram::bounds_us.size() ? metric_number(
                                   static_cast<double>(latency_histogram::bounds_us[i]) / 1e6)
                                                                       : std::string{"+Inf"});
    sample(with_le, static_cast<double>(cumulative), "_bucket");
  }
  sample(labels, values.sum_seconds, "_sum");
  sample(labels, static_cast<double>(values.count), "_count");
}

} // namespace brokedancer
