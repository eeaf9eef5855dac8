#include "call_load.hpp"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "harness.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

struct call_report {
  std::mutex mutex;
  std::condition_variable finished;
  int clients_left = 0;
  int errors = 0;
  std::vector<double> latencies_us;
};

struct client_state {
  caf::actor target;
  endpoint_request request;
  int calls_left = 0;
  std::vector<double> latencies;
  std::shared_ptr<call_report> report;
};

using client_actor = caf::stateful_actor<client_state>;

void next_call(client_actor* self) {
  auto& st = self->state;
  if (st.calls_left-- == 0) {
    std::lock_guard<std::mutex> guard{st.report->mutex};
    auto& all = st.report->latencies_us;
    all.insert(all.end(), st.latencies.begin(), st.latencies.end());
    if (--st.report->clients_left == 0)
      st.report->finished.notify_all();
    self->quit();
    return;
  }
  auto started = clock::now();
  auto done = [self, started] {
    self->state.latencies.push_back(
        std::chrono::duration<double, std::micro>(clock::now() - started).count());
    next_call(self);
  };
  auto request = st.request;
  // A fresh client request id per call, or the endpoint would answer from its memory.
  if (!request.client_request_id.empty())
    request.client_request_id += "-" + std::to_string(st.calls_left);
  // No CAF timeout, as on the order path (a timeout is a round through CAF's clock thread per
  // call): the baseline is the cheapest way to ask. A call that never comes back shows as the
  // whole load not finishing.
  self->request(st.target, caf::infinite, call_atom::value, std::move(request))
      .then([done](endpoint_response&) { done(); },
            [self, done](caf::error&) {
              std::lock_guard<std::mutex> guard{self->state.report->mutex};
              ++self->state.report->errors;
              done();
            });
}

caf::behavior client(client_actor* self, caf::actor target, int calls, endpoint_request request,
                     std::shared_ptr<call_report> report) {
  self->state.target = std::move(target);
  self->state.request = std::move(request);
  self->state.calls_left = calls;
  self->state.report = std::move(report);
  self->state.latencies.reserve(static_cast<size_t>(calls));
  next_call(self);
  return {[](int) {
  }};
}

} // namespace

call_figures load_calls(caf::actor_system& sys, const caf::actor& target, int clients,
                        int calls_each, const endpoint_request& request) {
  auto report = std::make_shared<call_report>();
  report->clients_left = clients;
  auto started = clock::now();
  for (int i = 0; i < clients; ++i) {
    auto mine = request;
    if (!mine.client_request_id.empty())
      mine.client_request_id += "-" + std::to_string(i);
    sys.spawn(client, target, calls_each, std::move(mine), report);
  }
  std::unique_lock<std::mutex> guard{report->mutex};
  if (!report->finished.wait_for(guard, std::chrono::minutes(5),
                                 [&] { return report->clients_left == 0; }))
    throw std::runtime_error("the calls did not finish within 5 minutes");
  auto seconds = std::chrono::duration<double>(clock::now() - started).count();
  if (report->errors > 0)
    throw std::runtime_error(std::to_string(report->errors) + " calls failed");
  return {clients * calls_each / seconds, percentile(report->latencies_us, 50),
          percentile(report->latencies_us, 99)};
}

} // namespace brokedancer::bench
