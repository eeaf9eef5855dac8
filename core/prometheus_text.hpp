#pragma once

// The Prometheus text exposition format, version 0.0.4: what `/metrics` answers.
//
//   # HELP <name> <text>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value>",...} <number>
//
// The writer keeps each family together (its HELP and TYPE once, then every sample), escapes
// label values (\\, \" and \n) and HELP texts (\\ and \n), writes numbers as Prometheus reads
// them (+Inf, -Inf, NaN) and refuses names that are not metric or label names: a name is code,
// never data, and a wrong one would make the whole scrape fail.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brokedancer {

using metric_labels = std::vector<std::pair<std::string, std::string>>;

enum class metric_type { counter, gauge, histogram };

// Buckets of a latency histogram, with atomic counts: observe() from any thread, without a lock,
// on a hot path (a relaxed increment or two). Upper bounds in microseconds, in seconds on the
// wire.
class latency_histogram {
public:
  // 50 µs to 10 s: an order to a simulated venue takes tens of microseconds, to a real one
  // milliseconds, and a retried one behind a breaker seconds.
  static constexpr std::array<int64_t, 16> bounds_us{
      50,     100,    250,     500,     1'000,   2'500,     5'000,     10'000,
      25'000, 50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 10'000'000};

  void observe(int64_t micros) {
    if (micros < 0)
      micros = 0;
    size_t i = 0;
    while (i < bounds_us.size() && micros > bounds_us[i])
      ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
  }

  // A consistent-enough copy: each bucket is read once, and the count is their total, so the
  // cumulative buckets never exceed the count however observe() races with the read.
  struct snapshot {
    std::array<uint64_t, bounds_us.size() + 1> counts{}; // the last: above every bound
    uint64_t count = 0;
    double sum_seconds = 0;
  };

  snapshot read() const {
    snapshot s;
    for (size_t i = 0; i < counts_.size(); ++i) {
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
      s.count += s.counts[i];
    }
    s.sum_seconds = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return s;
  }

private:
  std::array<std::atomic<uint64_t>, bounds_us.size() + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

// The same buckets as plain counts, for one actor's own use (no atomics) and to travel in a
// message: how long the workflow runs took, how long the Redis store's commands took.
struct duration_counts {
  // One count per bound of latency_histogram::bounds_us, and the last above them all.
  std::vector<uint64_t> buckets = std::vector<uint64_t>(latency_histogram::bounds_us.size() + 1);
  uint64_t count = 0;
  double sum_seconds = 0;

  void observe(int64_t micros) {
    if (micros < 0)
      micros = 0;
    size_t i = 0;
    while (i < latency_histogram::bounds_us.size() && micros > latency_histogram::bounds_us[i])
      ++i;
    if (buckets.size() != latency_histogram::bounds_us.size() + 1)
      buckets.assign(latency_histogram::bounds_us.size() + 1, 0);
    ++buckets[i];
    ++count;
    sum_seconds += static_cast<double>(micros) / 1e6;
  }

  latency_histogram::snapshot as_snapshot() const {
    latency_histogram::snapshot s;
    for (size_t i = 0; i < s.counts.size() && i < buckets.size(); ++i) {
      s.counts[i] = buckets[i];
      s.count += buckets[i];
    }
    s.sum_seconds = sum_seconds;
    return s;
  }
};

class prometheus_text {
public:
  // Starts a family. Every sample until the next family() belongs to it; a name already used
  // throws std::logic_error (two families of one name make Prometheus reject the scrape).
  void family(std::string_view name, metric_type type, std::string_view help);

  // One sample of the current family: `suffix` is "" or, for a histogram, "_bucket", "_sum" or
  // "_count".
  void sample(const metric_labels& labels, double value, std::string_view suffix = {});

  // A whole histogram sample set (buckets with le, sum, count) for one label set.
  void histogram(const metric_labels& labels, const latency_histogram::snapshot& values);

  const std::string& text() const {
    return out_;
  }

private:
  std::string out_;
  std::string current_;
  metric_type type_ = metric_type::gauge;
  std::vector<std::string> families_;
};

// Whether `name` is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with `label`, a label name
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool is_metric_name(std::string_view name, bool label = false);

// A label value as the format escapes it: \ as \\, " as \", a newline as \n.
std::string escape_label_value(std::string_view value);

// A number as the format writes it: +Inf, -Inf, NaN, or the shortest exact decimal.
std::string metric_number(double value);

} // namespace brokedancer
