#include "actors/resilience/http_endpoint.hpp"

#include <deque>
#include <unordered_map>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/supervision/supervisor.hpp"
#include "core/json_text.hpp"
#include "messages/errors.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;

// These stay inside the process, between the endpoint and its workers.
struct http_job {
  uint64_t id = 0;
  endpoint_request request;
  int64_t deadline_ns = 0; // steady clock
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_job& x) {
  return f(caf::meta::type_name("http_job"), x.id, x.request, x.deadline_ns);
}

struct http_job_result {
  uint64_t id = 0;
  bool answered = false; // false: no answer; `error` is an errc and `detail` says why
  endpoint_response response;
  uint8_t error = 0;
  std::string detail;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_job_result& x) {
  return f(caf::meta::type_name("http_job_result"), x.id, x.answered, x.response, x.error,
           x.detail);
}

using worker_done_atom = caf::atom_constant<caf::atom("done")>;

using http_endpoint_impl =
    endpoint_actor::extend<caf::reacts_to<worker_done_atom, caf::actor, http_job_result>>;

int64_t steady_ns(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void set_timeouts(httplib::Client& client, std::chrono::microseconds connect,
                  std::chrono::microseconds total) {
  auto split = [](std::chrono::microseconds t) {
    return std::pair<time_t, time_t>{static_cast<time_t>(t.count() / 1000000),
                                     static_cast<time_t>(t.count() % 1000000)};
  };
  auto [cs, cus] = split(std::min(connect, total));
  auto [ts, tus] = split(total);
  client.set_connection_timeout(cs, cus);
  client.set_read_timeout(ts, tus);
  client.set_write_timeout(ts, tus);
}

int64_t retry_after_ms(const httplib::Response& response) {
  if (!response.has_header("Retry-After"))
    return 0;
  // Seconds only; an HTTP date is not honoured (the breaker's own backoff applies).
  const auto& text = response.get_header_value("Retry-After");
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9)
    return 0;
  return std::stoll(text) * 1000;
}

// The exchange operations the risk monitor sends, as the requests of the exchange API that
// `brokedancer exchange` serves (runtime/exchange_server.hpp).
std::string http_operation(const std::string& operation) {
  if (operation == "submit_order")
    return "POST /orders";
  if (operation == "cancel_order")
    return "POST /orders/cancel";
  if (operation == "order_status")
    return "POST /orders/status";
  if (operation == "register_fence")
    return "POST /fences";
  // A venue's quote (a workflow's latest_price): an API without one answers 404, which is no
  // failure of the endpoint's breaker (an operation it cannot map would be one).
  if (operation == "quote")
    return "POST /quote";
  return operation;
}

http_job_result perform(httplib::Client& client, const http_endpoint_settings& settings,
                        http_job& job) {
  http_job_result result;
  result.id = job.id;
  auto& request = job.request;
  request.operation = http_operation(request.operation);
  auto space = request.operation.find(' ');
  auto method = request.operation.substr(0, space);
  auto path = space == std::string::npos ? std::string{} : request.operation.substr(space + 1);
  if (method != "GET" && method != "POST" && method != "PUT" && method != "PATCH"
      && method != "DELETE") {
    result.error = static_cast<uint8_t>(errc::invalid_argument);
    result.detail = "the operation \"" + request.operation
                    + "\" is not \"<METHOD> <path>\" with GET, POST, PUT, PATCH or DELETE";
    return result;
  }
  if (path.empty() || path[0] != '/') {
    result.error = static_cast<uint8_t>(errc::invalid_argument);
    result.detail = "the operation \"" + request.operation + "\" has no path starting with /";
    return result;
  }
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::nanoseconds(job.deadline_ns) - clock::now().time_since_epoch());
  if (left.count() <= 0) {
    result.error = static_cast<uint8_t>(errc::endpoint_timeout);
    result.detail = settings.name + ": the deadline passed while the call waited for a worker";
    return result;
  }
  set_timeouts(client, settings.connect_timeout, left);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.set_header("Accept", "application/json");
  if (!request.client_request_id.empty()) {
    req.set_header("Idempotency-Key", request.client_request_id);
    req.set_header("X-Client-Request-Id", request.client_request_id);
  }
  if (!request.correlation.empty())
    req.set_header("X-Correlation-Id", request.correlation);
  if (!request.json.empty()) {
    req.set_header("Content-Type", "application/json");
    req.body = request.json;
  }
  auto answer = client.send(req);
  if (!answer) {
    auto err = answer.error();
    bool timed_out = err == httplib::Error::Read || err == httplib::Error::Write
                     || err == httplib::Error::ConnectionTimeout;
    result.error =
        static_cast<uint8_t>(timed_out ? errc::endpoint_timeout : errc::endpoint_unreachable);
    result.detail = settings.name + " (" + settings.base_url + "): " + httplib::to_string(err);
    return result;
  }
  result.answered = true;
  result.response.status = answer->status;
  result.response.client_request_id = request.client_request_id;
  result.response.retry_after_ms = retry_after_ms(*answer);
  if (answer->body.empty())
    result.response.json = "null";
  else if (is_json_text(answer->body)) // else passed on as a JSON string, never a document
    result.response.json = std::move(answer->body);
  else
    result.response.json = dump_json(answer->body);
  return result;
}

void worker(caf::blocking_actor* self, http_endpoint_settings settings, caf::actor owner) {
  httplib::Client client{settings.base_url};
  client.set_keep_alive(true);
  // httplib writes a request's head and body apart: with Nagle's algorithm on, the body waits
  // for the server's delayed ACK of the head -- 40 ms an order (measured: 360 orders/s over 16
  // connections, p50 176 ms, before this line).
  client.set_tcp_nodelay(true);
  bool running = true;
  self->receive_while(running)(
      [&](http_job& job) {
        self->send(owner, worker_done_atom::value, caf::actor_cast<caf::actor>(self),
                   perform(client, settings, job));
      },
      [&](caf::exit_msg& exit) {
        running = false;
        self->fail_state(std::move(exit.reason));
      });
}

struct endpoint_state {
  http_endpoint_settings settings;
  std::vector<caf::actor> idle;
  std::deque<http_job> queue;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, caf::typed_response_promise<endpoint_response>> open;

  // CAF 0.17 drops a promise destroyed unanswered: answer every open call, with
  // endpoint_unreachable (which the circuit breaker retries). Not an owed_reply: the answer
  // names the endpoint, and an owed_reply's text is a literal.
  ~endpoint_state() {
    for (auto& [id, promise] : open)
      promise.deliver(make_error(errc::endpoint_unreachable,
                                 settings.name + ": the HTTP adapter stopped before an answer"));
  }
};

using self_pointer = http_endpoint_impl::stateful_pointer<endpoint_state>;

void dispatch(self_pointer self) {
  auto& st = self->state;
  while (!st.idle.empty() && !st.queue.empty()) {
    auto worker_handle = std::move(st.idle.back());
    st.idle.pop_back();
    caf::anon_send(worker_handle, std::move(st.queue.front()));
    st.queue.pop_front();
  }
}

caf::result<endpoint_response> on_call(self_pointer self, endpoint_request& request) {
  auto& s = self->state;
  if (s.queue.size() >= s.settings.max_queue)
    return make_error(errc::endpoint_overloaded,
                      s.settings.name + ": " + std::to_string(s.queue.size())
                          + " calls are already waiting for a connection");
  auto timeout = request.timeout_ms > 0
                     ? std::chrono::milliseconds(std::min<int64_t>(request.timeout_ms, 3600 * 1000))
                     : std::chrono::milliseconds(30000);
  http_job job{s.next_id++, std::move(request), steady_ns(clock::now() + timeout)};
  auto promise = self->make_response_promise<endpoint_response>();
  s.open.emplace(job.id, promise);
  s.queue.push_back(std::move(job));
  dispatch(self);
  return promise;
}

void on_worker_done(self_pointer self, caf::actor& worker_handle, http_job_result& result) {
  auto& s = self->state;
  s.idle.push_back(std::move(worker_handle));
  if (auto found = s.open.find(result.id); found != s.open.end()) {
    if (result.answered)
      found->second.deliver(std::move(result.response));
    else
      found->second.deliver(make_error(static_cast<errc>(result.error), std::move(result.detail)));
    s.open.erase(found);
  }
  dispatch(self);
}

http_endpoint_impl::behavior_type http_endpoint(self_pointer self,
                                                http_endpoint_settings settings) {
  exit_with_exception_text(self);
  auto& st = self->state;
  st.settings = std::move(settings);
  for (size_t i = 0; i < std::max<size_t>(st.settings.concurrency, 1); ++i)
    st.idle.push_back(self->spawn<caf::detached + caf::linked>(worker, st.settings,
                                                               caf::actor_cast<caf::actor>(self)));
  return {
      [self](call_atom, endpoint_request& request) { return on_call(self, request); },
      [self](worker_done_atom, caf::actor& worker_handle, http_job_result& result) {
        on_worker_done(self, worker_handle, result);
      },
  };
}

} // namespace

endpoint_actor spawn_http_endpoint(caf::actor_system& sys, http_endpoint_settings settings) {
  return caf::actor_cast<endpoint_actor>(sys.spawn(http_endpoint, std::move(settings)));
}

} // namespace brokedancer
