// How the built-in node types run: the computing ones inline, the others by asking the
// runtime's services from the execution's actor.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "actors/workflow/node_call.hpp"
#include "actors/workflow/node_functions.hpp"
#include "actors/workflow/workflow_events.hpp"
#include "core/json_text.hpp"
#include "core/plain_name.hpp"
#include "messages/bars.hpp"
#include "messages/errors.hpp"
#include "messages/market.hpp"
#include "messages/reserved_topics.hpp"

namespace brokedancer {

using json = nlohmann::json;
using call_ptr = std::shared_ptr<node_call>;

namespace {

// Requests are bounded by the node's own timeout: the execution's timer settles the attempt
// first, and the request does not outlive it by much.
std::chrono::milliseconds limit(const node_call& call) {
  return std::chrono::milliseconds(call.node().timeout_ms + 1000);
}

// The failure a service's error is: a request that timed out, or one that could not be served.
void fail_with(const call_ptr& call, const caf::error& err, const std::string& what) {
  bool timed_out = err == caf::sec::request_timeout;
  call->fail(timed_out ? "timeout" : "unavailable",
             what + ": " + call->self()->system().render(err));
}

// The venue a node names (empty: none), or nullopt with the call failed when it is not one
// orders go to on this node (risk.endpoint, risk.venues).
std::optional<std::string> named_venue(const call_ptr& call) {
  auto venue = call->value("venue");
  if (venue.is_null())
    return std::string{};
  const auto& venues = call->services().venues;
  if (std::find(venues.begin(), venues.end(), venue) != venues.end())
    return venue.get<std::string>();
  call->fail("failed", "venue " + dump_json(venue)
                           + " is not one this node trades on: name risk.endpoint or one of "
                             "risk.venues");
  return std::nullopt;
}

// A venue's quote of `symbol`, asked of its endpoint through the breaker: the venue's own
// prices, not the node's market's.
void ask_venue_quote(const call_ptr& call, const std::string& venue, const std::string& symbol) {
  if (!call->services().breakers)
    return call->fail("unavailable", "no endpoints on this node");
  endpoint_request request;
  request.operation = "quote";
  request.json = dump_json({{"symbol", symbol}});
  request.timeout_ms = call->node().timeout_ms;
  request.correlation = call->execution_id();
  call->self()
      ->request(call->services().breakers, limit(*call), call_atom::value, venue,
                std::move(request))
      .then(
          [call, venue, symbol](endpoint_response& answer) {
            quote q;
            std::string why;
            // A 404 is no quote of the symbol yet (the venue has had no tick): as after a
            // 5xx, a later attempt may find one.
            if (answer.status < 200 || answer.status >= 300)
              return call->fail(answer.status >= 500 || answer.status == 404 ? "unavailable"
                                                                             : "failed",
                                "venue " + venue + " answered the quote of " + symbol + " with "
                                    + std::to_string(answer.status));
            if (!decode_quote(answer.json, q, why) || q.symbol != symbol)
              return call->fail("failed", "venue " + venue + "'s quote of " + symbol
                                              + " is not usable: " + why);
            call->complete({{"price", q.last}, {"bid", q.bid}, {"ask", q.ask}});
          },
          [call, venue](caf::error& err) { fail_with(call, err, "venue " + venue); });
}

void run_computed(const call_ptr& call) {
  auto answer = compute_node(call->node().type, call->parameters(), call->inputs());
  if (answer.failure)
    call->fail(answer.failure->kind, answer.failure->message);
  else
    call->complete(std::move(answer.outputs));
}

void run_latest_price(const call_ptr& call) {
  auto venue = named_venue(call);
  if (!venue)
    return;
  auto symbol = call->value("symbol").get<std::string>();
  if (!venue->empty())
    return ask_venue_quote(call, *venue, symbol);
  if (!call->services().store)
    return call->fail("unavailable", "no state store to read the quote cache from");
  call->self()
      ->request(call->services().store, limit(*call), get_atom::value, quote_cache_key(symbol))
      .then(
          [call, symbol](maybe_value& found) {
            quote q;
            std::string why;
            if (!found.found)
              return call->fail("unavailable", "no quote of " + symbol + " in the quote cache");
            if (!decode_quote(found.json, q, why) || q.symbol != symbol)
              return call->fail("failed",
                                "the cached quote of " + symbol + " is not usable: " + why);
            call->complete({{"price", q.last}, {"bid", q.bid}, {"ask", q.ask}});
          },
          [call](caf::error& err) { fail_with(call, err, "the quote cache"); });
}

void run_trigger_event(const call_ptr& call) {
  const auto& trigger = call->trigger();
  if (trigger.is_null())
    return call->fail("failed", "this execution was not started by an event: trigger_event "
                                "needs a workflow whose trigger is {\"event\": PATTERN}");
  if (auto problem = trigger.find("problem"); problem != trigger.end() && problem->is_string())
    return call->fail("failed", "the event on " + trigger["topic"].get<std::string>()
                                    + " that started the execution is not passed on: "
                                    + problem->get<std::string>());
  call->complete({{"topic", trigger["topic"]}, {"payload", trigger["payload"]}});
}

json bar_json(const ohlcv_bar& bar) {
  return {{"open_time_ms", bar.open_time_ms},
          {"open", bar.open},
          {"high", bar.high},
          {"low", bar.low},
          {"close", bar.close},
          {"volume", bar.volume}};
}

void run_bars(const call_ptr& call) {
  auto symbol = call->value("symbol").get<std::string>();
  timeframe frame;
  if (!from_string(call->value("timeframe").get<std::string>(), frame))
    return call->fail("failed", "unknown timeframe");
  auto count = static_cast<uint32_t>(call->value("count").get<double>());
  if (!call->services().series)
    return call->fail("unavailable", "no time-series service on this node");
  call->self()
      ->request(call->services().series, limit(*call), bars_last_atom::value, symbol, frame, count)
      .then(
          [call](std::vector<ohlcv_bar>& bars) {
            json all = json::array();
            json closes = json::array();
            for (const auto& bar : bars) {
              all.push_back(bar_json(bar));
              closes.push_back(bar.close);
            }
            call->complete({{"bars", std::move(all)}, {"closes", std::move(closes)}});
          },
          [call](caf::error& err) { fail_with(call, err, "the time-series service"); });
}

// A workflow's own keys: workflow:<id>:state:<key>. A definition cannot read or overwrite what
// the runtime keeps (the level, the books, the journal). Empty, with the call failed, when the
// key is not a plain name or there is no store.
std::string state_key(const call_ptr& call) {
  auto key = call->value("key").get<std::string>();
  if (auto why = check_plain_name("a state key", key, 256); !why.empty()) {
    call->fail("failed", why);
    return {};
  }
  if (!call->services().store) {
    call->fail("unavailable", "no state store on this node");
    return {};
  }
  return "workflow:" + call->workflow().id + ":state:" + key;
}

void run_state_get(const call_ptr& call) {
  auto key = state_key(call);
  if (key.empty())
    return;
  call->self()
      ->request(call->services().store, limit(*call), get_atom::value, key)
      .then(
          [call](maybe_value& found) {
            if (!found.found)
              return call->complete({{"value", call->value("default")}, {"found", false}});
            auto value = parse_json_within(found.json);
            if (value.is_discarded())
              return call->fail("failed", "the stored value is not JSON");
            call->complete({{"value", std::move(value)}, {"found", true}});
          },
          [call](caf::error& err) { fail_with(call, err, "the state store"); });
}

void run_state_set(const call_ptr& call) {
  auto key = state_key(call);
  if (key.empty())
    return;
  call->self()
      ->request(call->services().store, limit(*call), set_atom::value, key,
                dump_json(call->value("value")), int64_t{0})
      .then(
          [call]() {
            call->complete({{"written", true}});
          },
          [call](caf::error& err) { fail_with(call, err, "the state store"); });
}

void publish(const call_ptr& call, const std::string& topic, const json& payload) {
  if (!call->services().bus)
    return call->fail("unavailable", "no event bus on this node");
  call->self()
      ->request(call->services().bus, limit(*call), publish_atom::value, topic, dump_json(payload),
                call->execution_id())
      .then(
          [call](uint64_t) {
            call->complete({{"published", true}});
          },
          [call](caf::error& err) { fail_with(call, err, "the event bus"); });
}

void run_publish_event(const call_ptr& call) {
  auto topic = call->value("topic").get<std::string>();
  // What the infrastructure says on these topics, others act on: a workflow does not speak
  // there (as a bot does not).
  if (is_reserved_topic(topic))
    return call->fail("failed",
                      "a workflow may not publish on the infrastructure's topic " + topic);
  auto payload = call->value("payload");
  publish(call, topic, payload.is_null() ? json::object() : payload);
}

void run_publish_alert(const call_ptr& call) {
  json data{{"type", "PRICE_ALERT"},
            {"category", "price"},
            {"symbol", call->value("symbol")},
            {"message", call->value("message")},
            {"severity", call->value("severity")},
            {"workflow_id", call->workflow().id},
            {"execution_id", call->execution_id()}};
  if (auto price = call->value("price"); !price.is_null())
    data["price"] = price;
  publish(call, "trading.alerts", data);
}

void run_submit_order(const call_ptr& call) {
  auto venue = named_venue(call);
  if (!venue)
    return;
  auto quantity = call->value("quantity");
  auto price = call->value("price");
  for (const auto* v : {&quantity, &price})
    if (!v->is_number() || !std::isfinite(v->get<double>()) || v->get<double>() <= 0)
      return call->fail("failed", "an order needs a positive quantity and price, found "
                                      + dump_json(quantity) + " and " + dump_json(price));
  if (!call->services().risk)
    return call->fail("unavailable", "no risk monitor on this node");
  order o;
  const auto& w = call->workflow();
  o.bot_id = w.bot_id.empty() ? "workflow:" + w.id : w.bot_id;
  o.symbol = call->value("symbol").get<std::string>();
  o.side = call->value("side") == "sell" ? order_side::sell : order_side::buy;
  o.quantity = quantity.get<double>();
  o.price = price.get<double>();
  // Unique per execution and node; never sent twice (order nodes are not retried).
  o.client_order_id = order_id_of(call->execution_id(), call->node().id);
  o.correlation = call->execution_id();
  o.venue = std::move(*venue); // the risk monitor books it apart, and sends it there
  call->self()
      ->request(call->services().risk, limit(*call), submit_order_atom::value, o)
      .then(
          [call](order_result& result) {
            json outputs{{"outcome", to_string(result.outcome)},
                         {"client_order_id", result.client_order_id},
                         {"filled_quantity", result.filled_quantity},
                         {"fill_price", result.fill_price}};
            if (result.outcome == order_outcome::filled)
              return call->complete(std::move(outputs));
            // Refused (a limit, the level) or failed: the order node fails with the reason; it
            // is never retried, whatever the policy (the definition cannot ask it to be).
            call->fail(result.code == reject_code::halted ? "halted" : "failed",
                       "the order " + result.client_order_id + " was " + to_string(result.outcome)
                           + (result.reason.empty() ? "" : ": " + result.reason));
          },
          [call](caf::error& err) { fail_with(call, err, "the risk monitor"); });
}

// Why `path` cannot be an HTTP request's path, or empty: it starts with '/', is at most 1,024
// bytes of visible ASCII (a query string included), and has no "..": it comes from a file.
std::string path_problem(const std::string& path) {
  if (path.empty() || path[0] != '/' || path.size() > 1024)
    return "a path starts with '/' and has at most 1,024 bytes";
  for (unsigned char c : path)
    if (c <= 0x20 || c >= 0x7f)
      return "a path holds visible ASCII only (percent-encode the rest)";
  if (path.find("..") != std::string::npos)
    return "a path does not climb (\"..\")";
  return {};
}

void run_http_request(const call_ptr& call) {
  auto path = call->value("path").get<std::string>();
  if (auto why = path_problem(path); !why.empty())
    return call->fail("failed", why + ": " + escaped_name(path));
  if (!call->services().breakers)
    return call->fail("unavailable", "no endpoints on this node");
  auto endpoint = call->value("endpoint").get<std::string>();
  const auto& allowed = call->services().http_endpoints;
  if (std::find(allowed.begin(), allowed.end(), endpoint) == allowed.end())
    return call->fail("failed", "endpoint " + escaped_name(endpoint)
                                    + " is not one workflows may call: list it in "
                                      "workflows.http_endpoints (never the orders' endpoint)");
  auto body = call->value("body");
  endpoint_request request;
  request.operation = call->value("method").get<std::string>() + " " + path;
  request.json = body.is_null() ? std::string{} : dump_json(body);
  // The same for every attempt and for a resumed execution's run: a server that honours the
  // Idempotency-Key executes the request once.
  request.client_request_id = order_id_of(call->execution_id(), call->node().id);
  request.timeout_ms = call->node().timeout_ms;
  request.correlation = call->execution_id();
  call->self()
      ->request(call->services().breakers, limit(*call), call_atom::value, endpoint,
                std::move(request))
      .then(
          [call, endpoint](endpoint_response& answer) {
            auto status = answer.status;
            // Not JSON (an HTML error page): its text, which the endpoint gave as a string.
            auto parsed = parse_json_within(answer.json);
            json body_out = parsed.is_discarded() ? json(answer.json) : std::move(parsed);
            if (status >= 200 && status < 300)
              return call->complete({{"status", status}, {"body", std::move(body_out)}});
            // Not the body: an error page may echo what was sent (a credential among it), and
            // the error goes to logs, events and the history.
            auto what = "endpoint " + endpoint + " answered " + std::to_string(status);
            call->fail(status == 429   ? "rate_limited"
                       : status >= 500 ? "unavailable"
                                       : "failed",
                       what);
          },
          [call, endpoint](caf::error& err) {
            auto what = "endpoint " + endpoint;
            if (is(err, errc::endpoint_timeout) || err == caf::sec::request_timeout)
              return call->fail("timeout", what + ": " + call->self()->system().render(err));
            if (is(err, errc::rate_limited))
              return call->fail("rate_limited", what + ": " + call->self()->system().render(err));
            if (is(err, errc::unknown_endpoint) || is(err, errc::invalid_argument))
              return call->fail("failed", what + ": " + call->self()->system().render(err));
            // Open breaker, unreachable, overloaded: the endpoint is away for now.
            call->fail("unavailable", what + ": " + call->self()->system().render(err));
          });
}

} // namespace

std::shared_ptr<node_registry> node_registry::with_builtins() {
  auto registry = std::make_shared<node_registry>();
  const std::map<std::string, node_runner> runners{
      {"latest_price", run_latest_price},   {"bars", run_bars},
      {"trigger_event", run_trigger_event}, {"state_get", run_state_get},
      {"state_set", run_state_set},         {"publish_event", run_publish_event},
      {"publish_alert", run_publish_alert}, {"submit_order", run_submit_order},
      {"http_request", run_http_request}};
  auto builtins = node_catalogue::with_builtins();
  for (const auto& type : builtins.types()) {
    auto found = runners.find(type);
    node_runner run = is_computed(type)        ? node_runner{run_computed}
                      : found != runners.end() ? found->second
                                               : node_runner{};
    std::string why;
    if (!registry->add(*builtins.find(type), std::move(run), why))
      throw std::logic_error("built-in node type " + type + ": " + why);
  }
  return registry;
}

} // namespace brokedancer
