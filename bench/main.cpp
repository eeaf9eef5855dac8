// brokedancer-bench: runs the named scenarios and prints their figures beside same-run
// baselines, as a table and optionally as JSON (--json FILE, or --json - for standard output).

#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "harness.hpp"
#include "runtime/allocator.hpp"
#include "runtime/build_info.hpp"
#include "runtime/config.hpp"
#include "runtime/exit_codes.hpp"

using namespace brokedancer;

namespace {

std::string utc_now() {
  auto now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

void print_table(const nlohmann::json& report, std::ostream& out) {
  for (const auto& s : report["scenarios"]) {
    out << s["name"].get<std::string>() << " (" << s["repetitions"] << " runs)\n";
    for (const auto& f : s["figures"]) {
      out << "  " << std::left << std::setw(34) << f["name"].get<std::string>() << std::right
          << std::setw(14) << std::fixed << std::setprecision(1) << f["median"].get<double>() << ' '
          << std::setw(8) << std::left << f["unit"].get<std::string>() << std::right << " spread "
          << std::setw(5) << std::setprecision(1) << f["spread_percent"].get<double>() << "%";
      if (f.contains("baseline"))
        out << "   vs " << f["baseline"]["name"].get<std::string>() << ": " << std::setprecision(2)
            << f["ratio_to_baseline"].get<double>() << "x";
      out << '\n';
    }
  }
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"brokedancer-bench: throughput and latency beside same-run baselines"};
  std::vector<std::string> selected;
  int repetitions = 5;
  std::string json_path;
  bool list = false;
  bench::run_context context;
  app.add_option("-s,--scenario", selected, "scenario to run (repeatable); default: all");
  app.add_option("-r,--repetitions", repetitions, "measured runs per scenario")
      ->check(CLI::Range(1, 100));
  app.add_option("--json", json_path, "write the report as JSON to FILE ('-': standard output)");
  app.add_flag("--list", list, "list the scenarios and exit");
  app.add_option("--scheduler-threads", context.scheduler_threads,
                 "CAF scheduler threads for the scenarios' actor systems (0: CAF default)");
  app.add_option("--scheduler-policy", context.scheduler_policy, "stealing or sharing")
      ->check(CLI::IsMember({"stealing", "sharing"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& done) {
    return app.exit(done);
  } catch (const CLI::ParseError& err) {
    app.exit(err);
    return exit_code::usage;
  }
  if (list) {
    for (const auto& s : bench::scenarios())
      std::cout << s.name << "\t" << s.description << '\n';
    return exit_code::ok;
  }
  std::vector<const bench::scenario*> plan;
  for (const auto& s : bench::scenarios())
    if (selected.empty() || std::find(selected.begin(), selected.end(), s.name) != selected.end())
      plan.push_back(&s);
  for (const auto& name : selected) {
    if (std::none_of(plan.begin(), plan.end(), [&](auto* s) { return s->name == name; })) {
      std::cerr << "brokedancer-bench: no scenario named " << name << "; see --list\n";
      return exit_code::usage;
    }
  }
  nlohmann::json report = {
      {"tool", "brokedancer-bench"},
      {"version", std::string(version())},
      {"started_at", utc_now()},
      {"hardware_threads", std::thread::hardware_concurrency()},
      {"allocator", allocator_name()},
      {"scheduler_threads", context.scheduler_threads},
      {"scheduler_policy", context.scheduler_policy.empty() ? std::string{default_scheduler_policy}
                                                            : context.scheduler_policy},
      {"scenarios", nlohmann::json::array()},
  };
  std::cerr << "bench: allocator " << allocator_name() << '\n';
  for (const auto* s : plan)
    report["scenarios"].push_back(bench::run_scenario(*s, repetitions, context));
  if (json_path == "-") {
    std::cout << report.dump(2) << '\n';
  } else {
    print_table(report, std::cout);
    if (!json_path.empty()) {
      std::ofstream out(json_path);
      if (!(out << report.dump(2) << '\n')) {
        std::cerr << "brokedancer-bench: cannot write " << json_path << '\n';
        return exit_code::internal_error;
      }
    }
  }
  return exit_code::ok;
}
