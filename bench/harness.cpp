#include "harness.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <stdexcept>

namespace brokedancer::bench {

namespace {

std::vector<scenario>& registry() {
  static std::vector<scenario> all;
  return all;
}

} // namespace

bool register_scenario(scenario s) {
  registry().push_back(std::move(s));
  return true;
}

const std::vector<scenario>& scenarios() {
  return registry();
}

summary summarize(std::vector<double> values) {
  summary result;
  if (values.empty())
    return result;
  std::sort(values.begin(), values.end());
  auto n = values.size();
  result.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  result.min = values.front();
  result.max = values.back();
  result.spread_percent = result.median != 0 ? (result.max - result.min) / result.median * 100 : 0;
  return result;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

nlohmann::json run_scenario(const scenario& s, int repetitions, const run_context& context) {
  std::cerr << "bench: " << s.name << ": warm-up" << std::flush;
  s.run_once(context);
  std::map<std::string, std::vector<double>> collected;
  for (int i = 0; i < repetitions; ++i) {
    std::cerr << ", run " << (i + 1) << "/" << repetitions << std::flush;
    auto values = s.run_once(context);
    for (const auto& f : s.figures) {
      auto found = values.find(f.name);
      if (found == values.end())
        throw std::logic_error("scenario " + s.name + " did not report " + f.name);
      collected[f.name].push_back(found->second);
    }
  }
  std::cerr << '\n';
  nlohmann::json figures = nlohmann::json::array();
  for (const auto& f : s.figures) {
    auto stats = summarize(collected[f.name]);
    nlohmann::json entry = {
        {"name", f.name},
        {"unit", f.unit},
        {"description", f.description},
        {"higher_is_better", f.higher_is_better},
        {"median", stats.median},
        {"min", stats.min},
        {"max", stats.max},
        {"spread_percent", stats.spread_percent},
        {"samples", collected[f.name]},
    };
    if (!f.baseline.empty()) {
      auto base = summarize(collected.at(f.baseline));
      entry["baseline"] = {{"name", f.baseline}, {"median", base.median}};
      // Figure over baseline: above 1 is better for throughput, below 1 for times.
      entry["ratio_to_baseline"] = base.median != 0 ? stats.median / base.median : 0;
    }
    figures.push_back(std::move(entry));
  }
  return {{"name", s.name},
          {"description", s.description},
          {"repetitions", repetitions},
          {"figures", std::move(figures)}};
}

} // namespace brokedancer::bench
