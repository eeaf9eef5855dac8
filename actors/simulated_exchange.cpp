#include "actors/simulated_exchange.hpp"

#include <cmath>
#include <deque>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervisor.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;
using respond_atom = caf::atom_constant<caf::atom("respond")>;

using exchange_actor = simulated_exchange_actor::extend<caf::reacts_to<respond_atom, uint64_t>>;

struct delayed_answer {
  caf::typed_response_promise<endpoint_response> promise;
  endpoint_response response;
};

struct exchange_state {
  simulated_exchange_settings settings;
  clock::time_point started;
  clock::time_point manual_outage_until;
  std::mt19937_64 random;
  uint64_t executions = 0;
  // Answers already given, by client request id, oldest first in `order`.
  std::unordered_map<std::string, endpoint_response> answered;
  std::deque<std::string> order;
  uint64_t next_delayed = 1;
  std::unordered_map<uint64_t, delayed_answer> delayed;

  // CAF 0.17 drops a promise destroyed unanswered: answer every delayed call.
  ~exchange_state() {
    for (auto& [id, answer] : delayed)
      answer.promise.deliver(make_error(errc::endpoint_unreachable,
                                        settings.name + ": the simulated exchange stopped"));
  }
};

using self_pointer = exchange_actor::stateful_pointer<exchange_state>;

bool in_outage(const exchange_state& st, clock::time_point now) {
  if (now < st.manual_outage_until)
    return true;
  auto since_start = now - st.started;
  for (const auto& window : st.settings.outages)
    if (since_start >= window.from && since_start < window.to)
      return true;
  return false;
}

endpoint_response execute(exchange_state& st, const endpoint_request& request) {
  endpoint_response response;
  response.client_request_id = request.client_request_id;
  response.status = 200;
  auto answer = nlohmann::json{{"operation", request.operation},
                               {"accepted", true},
                               {"execution", st.executions + 1},
                               {"client_request_id", request.client_request_id}};
  if (request.operation == "submit_order") {
    auto body = nlohmann::json::parse(request.json, nullptr, false);
    auto number = [&](const char* key) {
      return body.is_object() && body.contains(key) && body[key].is_number()
                 ? body[key].get<double>()
                 : 0.0;
    };
    auto quantity = number("quantity");
    auto price = number("price");
    if (quantity <= 0 || price <= 0 || !std::isfinite(quantity) || !std::isfinite(price)) {
      response.status = 400;
      response.json = R"({"error":"an order needs a positive quantity and price"})";
      return response; // not executed, not remembered
    }
    answer["status"] = "filled";
    answer["filled_quantity"] = quantity;
    answer["fill_price"] = price;
    answer["fee"] = quantity * price * st.settings.fee_rate;
  }
  ++st.executions;
  response.json = answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!request.client_request_id.empty()) {
    st.answered.emplace(request.client_request_id, response);
    st.order.push_back(request.client_request_id);
    if (st.order.size() > st.settings.remembered_requests) {
      st.answered.erase(st.order.front());
      st.order.pop_front();
    }
  }
  return response;
}

exchange_actor::behavior_type simulated_exchange(self_pointer self,
                                                 simulated_exchange_settings settings) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.settings = std::move(settings);
  st.started = clock::now();
  st.random.seed(st.settings.seed);
  return {
      [self](call_atom, endpoint_request& request) -> caf::result<endpoint_response> {
        auto& s = self->state;
        auto now = clock::now();
        if (in_outage(s, now))
          return make_error(errc::endpoint_unreachable,
                            s.settings.name + ": connection refused (simulated outage)");
        // The draws happen for every call, in order: the same seed and calls give the same run.
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        bool fails = unit(s.random) < s.settings.error_rate;
        auto jitter = s.settings.latency_jitter.count() > 0
                          ? std::uniform_int_distribution<int64_t>(
                              0, s.settings.latency_jitter.count())(s.random)
                          : 0;
        endpoint_response response;
        if (auto known = s.answered.find(request.client_request_id);
            !request.client_request_id.empty() && known != s.answered.end()) {
          response = known->second; // executed before: the same answer, not a second execution
        } else if (fails) {
          response.status = 503;
          response.client_request_id = request.client_request_id;
          response.json = R"({"error":"simulated failure"})";
        } else {
          response = execute(s, request);
        }
        auto latency = s.settings.latency + std::chrono::milliseconds(jitter);
        if (latency.count() == 0)
          return response;
        // The answer waits on the actor clock, never a sleeping thread.
        auto promise = self->make_response_promise<endpoint_response>();
        auto id = s.next_delayed++;
        s.delayed.emplace(id, delayed_answer{promise, std::move(response)});
        self->delayed_send(self, latency, respond_atom::value, id);
        return promise;
      },
      [self](outage_atom, int64_t duration_ms) {
        self->state.manual_outage_until = clock::now() + std::chrono::milliseconds(duration_ms);
        return true;
      },
      [self](respond_atom, uint64_t id) {
        auto found = self->state.delayed.find(id);
        if (found == self->state.delayed.end())
          return;
        auto answer = std::move(found->second);
        self->state.delayed.erase(found);
        answer.promise.deliver(std::move(answer.response));
      },
  };
}

} // namespace

simulated_exchange_actor spawn_simulated_exchange(caf::actor_system& sys,
                                                  simulated_exchange_settings settings) {
  return caf::actor_cast<simulated_exchange_actor>(
      sys.spawn(simulated_exchange, std::move(settings)));
}

std::vector<outage_window> parse_outages(const std::string& text) {
  std::vector<outage_window> windows;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    auto item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    auto dash = item.find('-');
    if (dash == std::string::npos)
      throw std::invalid_argument("\"" + item + "\" is not FROM-TO (seconds since start)");
    size_t used_from = 0, used_to = 0;
    double from = 0, to = 0;
    try {
      from = std::stod(item.substr(0, dash), &used_from);
      to = std::stod(item.substr(dash + 1), &used_to);
    } catch (const std::exception&) {
      throw std::invalid_argument("\"" + item + "\" is not FROM-TO (seconds since start)");
    }
    if (used_from != dash || used_to != item.size() - dash - 1 || from < 0 || to <= from)
      throw std::invalid_argument("\"" + item
                                  + "\" is not FROM-TO with 0 <= FROM < TO (seconds since start)");
    windows.push_back({std::chrono::milliseconds(static_cast<int64_t>(from * 1000)),
                       std::chrono::milliseconds(static_cast<int64_t>(to * 1000))});
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return windows;
}

} // namespace brokedancer
