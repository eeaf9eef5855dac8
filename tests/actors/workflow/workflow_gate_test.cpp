// The rules that let a triggered execution start: the level, the executions still running, and
// the workflow's own breaker -- with time passed in, no actor system.

#include <chrono>

#include <catch2/catch.hpp>

#include "actors/workflow/workflow_gate.hpp"

using namespace brokedancer;
using namespace std::chrono_literals;

namespace {

breaker_settings three_in_a_row() {
  breaker_settings s;
  s.failure_threshold = 3;
  s.failure_rate_threshold = 0;
  s.recovery_timeout = 10s;
  s.half_open_calls = 1;
  s.success_threshold = 1;
  return s;
}

} // namespace

TEST_CASE("from HALT up a trigger is held, and takes no breaker slot", "[workflow][gate]") {
  auto t0 = workflow_gate::clock::now();
  workflow_gate gate{1, three_in_a_row(), t0};
  CHECK(gate.admit(false, t0).verdict == start_verdict::held);
  CHECK(gate.running() == 0);
  auto s = gate.stats(t0);
  CHECK(s["held"] == 1);
  CHECK(s["started"] == 0);
  CHECK(s["breaker"]["calls"] == 0);
  CHECK(gate.admit(true, t0).verdict == start_verdict::start);
}

TEST_CASE("a trigger while as many executions run as allowed is skipped", "[workflow][gate]") {
  auto t0 = workflow_gate::clock::now();
  workflow_gate gate{2, three_in_a_row(), t0};
  auto first = gate.admit(true, t0);
  auto second = gate.admit(true, t0);
  REQUIRE(first.verdict == start_verdict::start);
  REQUIRE(second.verdict == start_verdict::start);
  CHECK(gate.admit(true, t0).verdict == start_verdict::busy);
  gate.ended(first.permit, "completed", "", t0);
  CHECK(gate.admit(true, t0).verdict == start_verdict::start);
  auto s = gate.stats(t0);
  CHECK(s["skipped_busy"] == 1);
  CHECK(s["running"] == 2);
  CHECK(s["completed"] == 1);
}

TEST_CASE("failed executions in a row open the breaker, and a trial after the recovery closes it",
          "[workflow][gate]") {
  auto t0 = workflow_gate::clock::now();
  workflow_gate gate{1, three_in_a_row(), t0};
  for (int i = 0; i < 3; ++i) {
    auto a = gate.admit(true, t0);
    REQUIRE(a.verdict == start_verdict::start);
    gate.ended(a.permit, "failed", "node quote failed: unavailable", t0);
  }
  CHECK(gate.breaker().state() == breaker_state::open);
  // Fails fast: nothing runs, nothing counts as running.
  CHECK(gate.admit(true, t0 + 1s).verdict == start_verdict::breaker_open);
  CHECK(gate.running() == 0);
  auto s = gate.stats(t0 + 1s);
  CHECK(s["breaker"]["rejected"] == 1);
  CHECK(s["breaker"]["last_failure"] == "node quote failed: unavailable");
  // After the recovery time, one trial; while it runs, the next trigger is busy, not a trial.
  auto trial = gate.admit(true, t0 + 11s);
  REQUIRE(trial.verdict == start_verdict::start);
  CHECK(trial.permit.trial);
  CHECK(gate.admit(true, t0 + 11s).verdict == start_verdict::busy);
  gate.ended(trial.permit, "completed", "", t0 + 12s);
  CHECK(gate.breaker().state() == breaker_state::closed);
}

TEST_CASE("a halted or cancelled execution is no evidence against the workflow",
          "[workflow][gate]") {
  auto t0 = workflow_gate::clock::now();
  workflow_gate gate{1, three_in_a_row(), t0};
  for (int i = 0; i < 5; ++i) {
    auto a = gate.admit(true, t0);
    REQUIRE(a.verdict == start_verdict::start);
    gate.ended(a.permit, i % 2 == 0 ? "halted" : "cancelled", "HALT: test", t0);
  }
  CHECK(gate.breaker().state() == breaker_state::closed);
  auto s = gate.stats(t0);
  CHECK(s["halted"] == 3);
  CHECK(s["cancelled"] == 2);
  CHECK(s["breaker"]["failures"] == 0);
  // A halted trial gives its slot back: the next trigger is the next trial.
  for (int i = 0; i < 3; ++i)
    gate.ended(gate.admit(true, t0).permit, "failed", "x", t0);
  REQUIRE(gate.breaker().state() == breaker_state::open);
  auto trial = gate.admit(true, t0 + 11s);
  REQUIRE(trial.permit.trial);
  gate.ended(trial.permit, "halted", "HALT: test", t0 + 11s);
  // Still on trial: the halt proved nothing either way.
  CHECK(gate.breaker().state() == breaker_state::half_open);
  auto next = gate.admit(true, t0 + 11s);
  CHECK(next.verdict == start_verdict::start);
  CHECK(next.permit.trial);
}

TEST_CASE("an operator can force a workflow's breaker open and closed", "[workflow][gate]") {
  auto t0 = workflow_gate::clock::now();
  workflow_gate gate{1, three_in_a_row(), t0};
  gate.breaker().force_open(t0, "operator: venue maintenance");
  CHECK(gate.admit(true, t0 + 1h).verdict == start_verdict::breaker_open);
  gate.breaker().force_close(t0 + 1h, "operator: back");
  CHECK(gate.admit(true, t0 + 1h).verdict == start_verdict::start);
}
