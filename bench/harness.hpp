#pragma once

// The benchmark harness: named scenarios, several repetitions, median and spread, and a
// baseline measured in the same run beside every figure -- a number on a noisy 2-core machine
// means little alone, but its ratio to a baseline taken minutes apart on the same machine does.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace brokedancer::bench {

// One figure a scenario reports, and the figure (of the same scenario) it is compared with.
struct figure {
  std::string name;
  std::string unit;
  std::string description;
  bool higher_is_better = true;
  // Another figure of the same scenario measured in the same repetition; empty for a figure
  // that is itself a baseline.
  std::string baseline;
};

struct run_context {
  // Scheduler settings for any actor system the scenario creates (0 / empty: the runtime's
  // defaults, one thread per core and default_scheduler_policy).
  size_t scheduler_threads = 0;
  std::string scheduler_policy;
};

// One repetition: the value of every figure, by name.
using samples = std::map<std::string, double>;

struct scenario {
  std::string name;
  std::string description;
  std::vector<figure> figures;
  std::function<samples(const run_context&)> run_once;
};

// Scenarios register themselves from their own translation unit:
//   static const bool registered = register_scenario({...});
bool register_scenario(scenario s);
const std::vector<scenario>& scenarios();

struct summary {
  double median = 0;
  double min = 0;
  double max = 0;
  // (max - min) / median, in percent: how far to trust the median.
  double spread_percent = 0;
};

summary summarize(std::vector<double> values);

// Runs `s` (one discarded warm-up, then `repetitions` measured runs) and reports it as JSON.
nlohmann::json run_scenario(const scenario& s, int repetitions, const run_context& context);

// p-th percentile (0..100) of `values`, nearest-rank; for latency figures.
double percentile(std::vector<double> values, double p);

} // namespace brokedancer::bench
