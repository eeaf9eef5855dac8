#include "actors/market/simulated_exchange.hpp"

#include <deque>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/market/exchange_ledger.hpp"
#include "actors/supervision/supervisor.hpp"
#include "core/json_fields.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "messages/errors.hpp"
#include "messages/market.hpp"

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
  std::mt19937_64 price_random; // the venue's price noise: the calls' draws stay as they were
  uint64_t executions = 0;
  // Answers already given, by client request id, oldest first in `order`.
  std::unordered_map<std::string, endpoint_response> answered;
  std::deque<std::string> order;
  uint64_t next_delayed = 1;
  std::unordered_map<uint64_t, delayed_answer> delayed;
  std::unordered_map<std::string, quote> book; // the latest top of the book, by symbol
  exchange_ledger ledger;                      // orders, fills, cancels that came first, fences
  logger log{"exchange"};

  // CAF 0.17 drops a promise destroyed unanswered: answer every delayed call, with
  // endpoint_unreachable (which the circuit breaker retries). Not an owed_reply: the answer
  // names the endpoint, and an owed_reply's text is a literal.
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

// The venue's top of the book for {"symbol"}.
ledger_answer venue_quote(const exchange_state& st, const nlohmann::json& body) {
  auto symbol = text_field(body, "symbol");
  auto top = st.book.find(symbol);
  if (top == st.book.end())
    return {404, {{"error", "no quote of this symbol on " + st.settings.name + " yet"}}};
  return {200, parse_json_within(encode_quote(top->second))};
}

// The ledger's answer to one operation, or nullopt for an operation it does not know.
std::optional<ledger_answer> ledger_call(exchange_state& st, const endpoint_request& request) {
  auto body = parse_json_within(request.json);
  auto now = now_us();
  if (request.operation == "submit_order") {
    auto quotes = [&st](const std::string& symbol) -> const quote* {
      auto top = st.book.find(symbol);
      return top == st.book.end() ? nullptr : &top->second;
    };
    return st.ledger.submit(body, now, st.settings.match_market, quotes);
  }
  if (request.operation == "cancel_order")
    return st.ledger.cancel_request(body, now);
  if (request.operation == "register_fence")
    return st.ledger.raise_fence(body);
  if (request.operation == "order_status")
    return st.ledger.status_request(body, now);
  if (request.operation == "quote")
    return venue_quote(st, body);
  return std::nullopt;
}

endpoint_response execute(exchange_state& st, const endpoint_request& request) {
  endpoint_response response;
  response.client_request_id = request.client_request_id;
  response.status = 200;
  auto answer = nlohmann::json{{"operation", request.operation},
                               {"accepted", true},
                               {"execution", st.executions + 1},
                               {"client_request_id", request.client_request_id}};
  if (auto decided = ledger_call(st, request)) {
    if (decided->status != 200) {
      response.status = decided->status;
      response.json = dump_json(decided->body);
      return response; // not executed, not remembered
    }
    for (auto& [key, value] : decided->body.items())
      answer[key] = std::move(value);
  }
  ++st.executions;
  response.json = dump_json(answer);
  // Status queries are answered afresh every time: what they report changes.
  if (!request.client_request_id.empty() && request.operation != "order_status") {
    st.answered.emplace(request.client_request_id, response);
    st.order.push_back(request.client_request_id);
    if (st.order.size() > st.settings.remembered_requests) {
      st.answered.erase(st.order.front());
      st.order.pop_front();
    }
  }
  return response;
}

// A call's answer: the first answer again for a request executed before, else a simulated
// failure or an execution.
endpoint_response answer_to(exchange_state& s, const endpoint_request& request, bool fails) {
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
  return response;
}

// The answer waits on the actor clock, never a sleeping thread.
caf::result<endpoint_response> answer_later(self_pointer self, endpoint_response response,
                                            std::chrono::milliseconds latency) {
  auto& s = self->state;
  auto promise = self->make_response_promise<endpoint_response>();
  auto id = s.next_delayed++;
  s.delayed.emplace(id, delayed_answer{promise, std::move(response)});
  self->delayed_send(self, latency, respond_atom::value, id);
  return promise;
}

caf::result<endpoint_response> on_call(self_pointer self, const endpoint_request& request) {
  auto& s = self->state;
  auto now = clock::now();
  if (in_outage(s, now))
    return make_error(errc::endpoint_unreachable,
                      s.settings.name + ": connection refused (simulated outage)");
  // The draws happen for every call, in order: the same seed and calls give the same run.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  bool fails = unit(s.random) < s.settings.error_rate;
  auto jitter =
      s.settings.latency_jitter.count() > 0
          ? std::uniform_int_distribution<int64_t>(0, s.settings.latency_jitter.count())(s.random)
          : 0;
  auto response = answer_to(s, request, fails);
  auto latency = s.settings.latency + std::chrono::milliseconds(jitter);
  if (latency.count() == 0)
    return response;
  return answer_later(self, std::move(response), latency);
}

bool on_outage(self_pointer self, int64_t duration_ms) {
  self->state.manual_outage_until = clock::now() + std::chrono::milliseconds(duration_ms);
  return true;
}

// A tick from the bus: the top of its symbol's book.
void on_market_event(self_pointer self, const event& ev) {
  quote q;
  std::string why;
  constexpr std::string_view prefix = "market.";
  if (!decode_quote(ev.json, q, why)) {
    self->state.log.warn("ignoring a market event that is not a quote",
                         {{"topic", ev.topic}, {"problem", why}});
    return;
  }
  // The topic says which book it is for; a quote that names another symbol is not one.
  if (ev.topic.size() <= prefix.size() || ev.topic.substr(prefix.size()) != q.symbol) {
    self->state.log.warn("ignoring a quote published on another symbol's topic",
                         {{"topic", ev.topic}, {"symbol", q.symbol}});
    return;
  }
  auto& st = self->state;
  if (st.settings.price_offset_bps != 0 || st.settings.price_noise_bps != 0) {
    double drawn = 0;
    if (st.settings.price_noise_bps > 0)
      drawn = std::uniform_real_distribution<double>(-st.settings.price_noise_bps,
                                                     st.settings.price_noise_bps)(st.price_random);
    auto factor = 1 + (st.settings.price_offset_bps + drawn) / 10000;
    q.bid *= factor;
    q.ask *= factor;
    q.last *= factor;
  }
  st.book[q.symbol] = std::move(q);
}

void on_respond(self_pointer self, uint64_t id) {
  auto found = self->state.delayed.find(id);
  if (found == self->state.delayed.end())
    return;
  auto answer = std::move(found->second);
  self->state.delayed.erase(found);
  answer.promise.deliver(std::move(answer.response));
}

void subscribe_to_market(self_pointer self, const event_bus_actor& bus) {
  auto& st = self->state;
  if (st.settings.match_market && !bus)
    st.log.error("matching against the market needs the event bus; every order will be "
                 "refused with no_market_data",
                 {{"endpoint", st.settings.name}});
  if (st.settings.match_market && bus) {
    self->request(bus, std::chrono::seconds(5), subscribe_atom::value, std::string{"market.*"},
                  caf::actor_cast<caf::actor>(self))
        .then([](uint64_t) {},
              [self](caf::error& err) {
                // Without ticks every order would be refused: better to fail and be restarted.
                self->quit(make_error(errc::subsystem_unavailable,
                                      self->state.settings.name
                                          + ": cannot subscribe to market data: "
                                          + self->system().render(err)));
              });
  }
}

exchange_actor::behavior_type
simulated_exchange(self_pointer self, simulated_exchange_settings settings, event_bus_actor bus) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.settings = std::move(settings);
  st.started = clock::now();
  st.random.seed(st.settings.seed);
  st.price_random.seed(st.settings.seed ^ 0x9e3779b97f4a7c15ULL);
  st.ledger = exchange_ledger{{st.settings.fee_rate, st.settings.remembered_requests}};
  subscribe_to_market(self, bus);
  return {
      [self](call_atom, endpoint_request& request) { return on_call(self, request); },
      [self](outage_atom, int64_t duration_ms) { return on_outage(self, duration_ms); },
      [self](const event& ev) { on_market_event(self, ev); },
      [self](respond_atom, uint64_t id) { on_respond(self, id); },
  };
}

} // namespace

simulated_exchange_actor spawn_simulated_exchange(caf::actor_system& sys,
                                                  simulated_exchange_settings settings,
                                                  event_bus_actor bus) {
  return caf::actor_cast<simulated_exchange_actor>(
      sys.spawn(simulated_exchange, std::move(settings), std::move(bus)));
}

} // namespace brokedancer
