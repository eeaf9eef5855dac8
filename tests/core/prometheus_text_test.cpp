#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "core/prometheus_text.hpp"

using namespace brokedancer;
using Catch::Contains;

TEST_CASE("a family is written once with its HELP and TYPE, then its samples", "[metrics]") {
  prometheus_text out;
  out.family("brokedancer_orders_total", metric_type::counter, "Orders by outcome");
  out.sample({{"outcome", "filled"}, {"code", "none"}}, 3);
  out.sample({{"outcome", "rejected"}, {"code", "halted"}}, 1);
  out.family("brokedancer_equity", metric_type::gauge, "Equity");
  out.sample({}, 100000.5);
  CHECK(out.text()
        == "# HELP brokedancer_orders_total Orders by outcome\n"
           "# TYPE brokedancer_orders_total counter\n"
           "brokedancer_orders_total{outcome=\"filled\",code=\"none\"} 3\n"
           "brokedancer_orders_total{outcome=\"rejected\",code=\"halted\"} 1\n"
           "# HELP brokedancer_equity Equity\n"
           "# TYPE brokedancer_equity gauge\n"
           "brokedancer_equity 100000.5\n");
}

TEST_CASE("label values and help texts are escaped, and names are checked", "[metrics]") {
  prometheus_text out;
  out.family("m", metric_type::gauge, "a \\ help\nwith a newline");
  out.sample({{"endpoint", "a\"b\\c\nd"}}, 1);
  CHECK_THAT(out.text(), Contains("# HELP m a \\\\ help\\nwith a newline\n"));
  CHECK_THAT(out.text(), Contains("m{endpoint=\"a\\\"b\\\\c\\nd\"} 1\n"));
  CHECK_THROWS_AS(out.family("m", metric_type::gauge, "again"), std::logic_error);
  CHECK_THROWS_AS(out.family("bad-name", metric_type::gauge, "x"), std::logic_error);
  CHECK_THROWS_AS(out.sample({{"__reserved", "x"}}, 1), std::logic_error);
  CHECK_THROWS_AS(out.sample({{"0digit", "x"}}, 1), std::logic_error);
  CHECK(is_metric_name("a:b_c9"));
  CHECK_FALSE(is_metric_name("a:b", true));
  CHECK_FALSE(is_metric_name(""));
}

TEST_CASE("numbers are written as Prometheus reads them", "[metrics]") {
  CHECK(metric_number(0) == "0");
  CHECK(metric_number(1234567) == "1234567");
  CHECK(metric_number(-2.5) == "-2.5");
  CHECK(metric_number(0.1) == "0.1");
  CHECK(metric_number(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(metric_number(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(metric_number(std::nan("")) == "NaN");
  CHECK(std::stod(metric_number(1.0 / 3)) == 1.0 / 3);
}

TEST_CASE("a histogram's buckets are cumulative and end in +Inf, with its sum and count",
          "[metrics]") {
  latency_histogram h;
  h.observe(10);         // the first bucket (50 µs)
  h.observe(50);         // on the bound: still the first
  h.observe(700);        // 1 ms
  h.observe(60'000'000); // above every bound
  h.observe(-5);         // a clock step back counts as 0
  prometheus_text out;
  out.family("lat_seconds", metric_type::histogram, "latency");
  out.histogram({{"venue", "a"}}, h.read());
  const auto& text = out.text();
  CHECK_THAT(text, Contains("lat_seconds_bucket{venue=\"a\",le=\"5e-05\"} 3\n"));
  CHECK_THAT(text, Contains("lat_seconds_bucket{venue=\"a\",le=\"0.001\"} 4\n"));
  CHECK_THAT(text, Contains("lat_seconds_bucket{venue=\"a\",le=\"10\"} 4\n"));
  CHECK_THAT(text, Contains("lat_seconds_bucket{venue=\"a\",le=\"+Inf\"} 5\n"));
  CHECK_THAT(text, Contains("lat_seconds_count{venue=\"a\"} 5\n"));
  CHECK_THAT(text, Contains("lat_seconds_sum{venue=\"a\"} 60.00076\n"));
}

TEST_CASE("a histogram counts every observation from many threads", "[metrics]") {
  latency_histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i)
        h.observe(i % 2000);
    });
  for (auto& t : threads)
    t.join();
  auto s = h.read();
  CHECK(s.count == 40000);
  uint64_t total = 0;
  for (auto c : s.counts)
    total += c;
  CHECK(total == 40000);
}
