#include "runtime/operator_api.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/errors.hpp"
#include "runtime/json_text.hpp"
#include "runtime/logging.hpp"
#include "runtime/operator_request.hpp"
#include "runtime/unix_time.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

constexpr size_t max_request_bytes = 64 * 1024;
constexpr size_t max_token_bytes = 256;
constexpr auto status_timeout = std::chrono::seconds(10);
// A change returns once it is in force and every bot has acknowledged it. The control actor
// bounds that: up to 15 s for the persisted level to be read, 15 s for the controller, 60 s for
// the acknowledgements and 5 s for the count -- 95 s; a little more here, so that the node's own
// answer always comes first.
constexpr auto change_timeout = std::chrono::seconds(100);

// httplib's own pool queues every accepted connection without bound. This one holds at most
// `capacity` waiting connections; past that, enqueue blocks the accepting thread, so a flood
// waits in the kernel's listen backlog instead of in this process's memory.
class bounded_pool final : public httplib::TaskQueue {
public:
  bounded_pool(size_t threads, size_t capacity) : capacity_(capacity) {
    for (size_t i = 0; i < threads; ++i)
      workers_.emplace_back([this] { work(); });
  }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> guard{mutex_};
    space_.wait(guard, [this] { return jobs_.size() < capacity_ || stopping_; });
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
    for (auto& t : workers_)
      t.join();
  }

private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> guard{mutex_};
        ready_.wait(guard, [this] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty())
          return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        space_.notify_one();
      }
      job(); // serves one connection and closes its socket
    }
  }

  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

json cluster_json(const cluster_status& c) {
  json members = json::array();
  for (const auto& m : c.members)
    members.push_back(
        {{"name", m.info.name},
         {"address", m.info.address},
         {"configured_address", m.configured_address},
         {"connected", m.connected},
         {"level", to_string(m.info.level.level)},
         {"sequence", m.info.level.sequence},
         {"isolated", m.info.isolated},
         {"bots", m.info.bots},
         {"last_heard_us", m.last_heard_us},
         {"last_heard_ms_ago", m.last_heard_us > 0 ? (now_us() - m.last_heard_us) / 1000 : -1},
         {"reconnects", m.reconnects},
         {"last_error", m.last_error}});
  return {{"address", c.self.address},
          {"store_shared", c.store_shared},
          {"store_reachable", c.store_reachable},
          {"out_of_contact_since_us", c.out_of_contact_since_us},
          {"members", members}};
}

json status_json(const node_status& s) {
  json limits = json::array();
  for (const auto& l : s.emergency.limits)
    limits.push_back({{"name", l.name},
                      {"limit", l.limit},
                      {"current", l.current},
                      {"utilization", l.utilization}});
  json breakers = json::array();
  for (const auto& b : s.breakers)
    breakers.push_back({{"endpoint", b.endpoint},
                        {"state", to_string(b.state)},
                        {"calls", b.calls},
                        {"failures", b.failures},
                        {"rejected", b.rejected}});
  json audit = json::array();
  for (const auto& a : s.audit)
    audit.push_back(a);
  const auto& c = s.emergency.current;
  return {{"node", s.node},
          {"level", to_string(c.level)},
          {"reason", c.reason},
          {"source", to_string(c.source)},
          {"since_us", c.at_us},
          {"sequence", c.sequence},
          {"trading_allowed", s.emergency.trading_allowed},
          // In force but not yet stored (the store is slow or down): retried until it is.
          {"persisted", s.emergency.persisted},
          {"restored", s.emergency.restored},
          {"bots_registered", s.emergency.bots_registered},
          {"bots_acknowledged", s.emergency.bots_acknowledged},
          {"bots",
           {{"total", s.bots.total},
            {"running", s.bots.running},
            {"stopped", s.bots.stopped},
            {"given_up", s.bots.given_up},
            {"orders", s.bots.orders},
            {"fills", s.bots.fills},
            {"pnl", s.bots.pnl}}},
          {"limits", limits},
          {"breakers", breakers},
          {"source_node", c.node},
          {"isolated", s.emergency.isolated},
          {"cluster", s.clustered ? cluster_json(s.cluster) : json(nullptr)},
          {"audit", audit}};
}

void answer(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump_json(body, 2) + "\n", "application/json");
}

void fail(httplib::Response& res, int status, const std::string& why) {
  answer(res, status, {{"error", why}});
}

// The bearer token of a request, or empty.
std::string bearer_token(const httplib::Request& req) {
  auto header = req.get_header_value("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() <= scheme.size() || header.size() > scheme.size() + max_token_bytes
      || header.compare(0, scheme.size(), scheme) != 0)
    return {};
  return header.substr(scheme.size());
}

} // namespace

struct operator_api::impl {
  caf::actor_system& sys;
  node_control_actor control;
  operator_api_options options;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  uint16_t port = 0;
  std::mutex throttle_mutex;
  auth_throttle throttle;
  logger log{"operator_api"};

  impl(caf::actor_system& system, node_control_actor handle, operator_api_options opts)
    : sys(system), control(std::move(handle)), options(std::move(opts)) {}

  void audit(const operator_identity& who, std::string command, std::string reason,
             std::string outcome) {
    audit_entry e;
    e.at_us = now_us();
    e.credential = who.name.empty() ? "-" : who.name;
    e.role = who.name.empty() ? "-" : to_string(who.role);
    e.address = who.address;
    e.command = std::move(command);
    e.reason = std::move(reason);
    e.outcome = std::move(outcome);
    caf::anon_send(control, audit_atom::value, std::move(e));
  }

  // Authenticates and authorises a request; answers it and returns nothing when it may not
  // go on.
  std::optional<operator_identity> admit(const httplib::Request& req, httplib::Response& res,
                                         const std::string& command, operator_action action) {
    operator_identity who;
    who.address = req.remote_addr;
    auto now = auth_throttle::clock::now();
    // The credential first: a valid one is never refused, however many failures came from the
    // same address (on loopback every local process shares one). Failures only are throttled,
    // to bound what they cost (a digest, a log line, an audit entry).
    auto token = bearer_token(req);
    auto credential = token.empty() ? std::nullopt : options.credentials.authenticate(token);
    if (!credential) {
      {
        std::lock_guard<std::mutex> guard{throttle_mutex};
        if (auto wait = throttle.refused_for(who.address, now)) {
          res.set_header("Retry-After", std::to_string(wait->count()));
          fail(res, 429,
               "too many failed attempts from " + who.address + "; try again in "
                   + std::to_string(wait->count()) + " s");
          return std::nullopt;
        }
        throttle.failed(who.address, now);
      }
      audit(who, command, {},
            token.empty() ? "unauthenticated: no credential"
                          : "unauthenticated: unknown credential");
      fail(res, 401,
           token.empty() ? "this node needs a credential: send Authorization: Bearer TOKEN "
                           "(brokedancer reads it from BROKEDANCER_TOKEN or --token-file)"
                         : "the credential is not known to this node");
      res.set_header("WWW-Authenticate", "Bearer");
      return std::nullopt;
    }
    who.name = credential->name;
    who.role = credential->role;
    if (!permits(who.role, action)) {
      audit(who, command, {}, "forbidden");
      fail(res, 403,
           "the " + to_string(who.role) + " role may not " + command
               + (action == operator_action::lower ? "; a credential of the risk role may" : ""));
      return std::nullopt;
    }
    return who;
  }

  void serve_status(const httplib::Request& req, httplib::Response& res) {
    auto who = admit(req, res, "status", operator_action::status);
    if (!who)
      return;
    caf::scoped_actor self{sys};
    self->request(control, status_timeout, status_atom::value)
        .receive([&](node_status& s) { answer(res, 200, status_json(s)); },
                 [&](caf::error& err) { fail(res, 503, sys.render(err)); });
  }

  // The reason (and, for resume, the level) of a change's body; answers and returns false when
  // it is not acceptable.
  bool read_change(const httplib::Request& req, httplib::Response& res,
                   const operator_identity& who, const std::string& command, std::string& reason,
                   emergency_level& level) {
    change_request request;
    if (auto why = parse_change_request(req.body, command, request); !why.empty()) {
      audit(who, command, {}, "refused: " + why);
      fail(res, 400, why);
      return false;
    }
    reason = std::move(request.reason);
    level = request.level;
    return true;
  }

  template <class Atom>
  void serve_change(const httplib::Request& req, httplib::Response& res, Atom op,
                    const std::string& command, emergency_level level, operator_action action) {
    auto who = admit(req, res, command, action);
    if (!who)
      return;
    std::string reason;
    if (!read_change(req, res, *who, command, reason, level))
      return;
    caf::scoped_actor self{sys};
    self->request(control, change_timeout, op, level, reason, *who)
        .receive(
            [&](control_reply& reply) {
              answer(res, 200,
                     {{"node", options.node_name},
                      {"level", to_string(reply.change.level)},
                      {"sequence", reply.change.sequence},
                      {"bots", reply.bots},
                      {"acknowledged_ms", reply.acknowledged_us / 1000.0}});
            },
            [&](caf::error& err) {
              int status = err == caf::sec::request_timeout       ? 504
                           : is(err, errc::subsystem_unavailable) ? 503
                                                                  : 409;
              fail(res, status, sys.render(err));
            });
  }

  void route() {
    auto& s = *server;
    s.Get("/v1/status",
          [this](const httplib::Request& req, httplib::Response& res) { serve_status(req, res); });
    s.Post("/v1/halt", [this](const httplib::Request& req, httplib::Response& res) {
      serve_change(req, res, raise_atom::value, "halt", emergency_level::halt,
                   operator_action::raise);
    });
    s.Post("/v1/shutdown", [this](const httplib::Request& req, httplib::Response& res) {
      serve_change(req, res, raise_atom::value, "shutdown", emergency_level::shutdown,
                   operator_action::raise);
    });
    s.Post("/v1/resume", [this](const httplib::Request& req, httplib::Response& res) {
      serve_change(req, res, resume_atom::value, "resume", emergency_level::normal,
                   operator_action::lower);
    });
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.status == 404)
        fail(res, 404, "no such resource; see GET /v1/status, POST /v1/halt|resume|shutdown");
      else if (res.status == 413)
        fail(res, 413, "a request is at most " + std::to_string(max_request_bytes) + " bytes");
    });
    s.set_exception_handler(
        [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
          std::string what = "unknown";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          log.error("operator API request failed", {{"error", what}});
          fail(res, 500, "internal error; see the node's log");
        });
  }
};

operator_api::operator_api(caf::actor_system& sys, node_control_actor control,
                           operator_api_options options)
  : impl_(std::make_unique<impl>(sys, std::move(control), std::move(options))) {
  auto& d = *impl_;
  if (!d.options.tls_certificate.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(d.options.tls_certificate.c_str(),
                                                    d.options.tls_key.c_str());
    if (!tls->is_valid())
      throw std::runtime_error("the operator API cannot load node.control_tls_certificate \""
                               + d.options.tls_certificate + "\" with its key");
    d.server = std::move(tls);
  } else {
    d.server = std::make_unique<httplib::Server>();
  }
  auto threads = d.options.threads;
  auto queued = d.options.queued_connections;
  d.server->new_task_queue = [threads, queued] {
    return new bounded_pool(threads, queued);
  };
  d.server->set_payload_max_length(max_request_bytes);
  d.server->set_read_timeout(2, 0);
  d.server->set_write_timeout(5, 0);
  // An idle connection waits this long for its (next) request: what a stranger who sends
  // nothing costs a worker.
  d.server->set_keep_alive_timeout(1);
  d.server->set_keep_alive_max_count(20);
  d.route();
  bool bound = false;
  if (d.options.port == 0) {
    auto port = d.server->bind_to_any_port(d.options.host);
    bound = port > 0;
    d.port = static_cast<uint16_t>(port > 0 ? port : 0);
  } else {
    bound = d.server->bind_to_port(d.options.host, d.options.port);
    d.port = d.options.port;
  }
  if (!bound)
    throw std::runtime_error("the operator API cannot listen on " + d.options.host + ":"
                             + std::to_string(d.options.port)
                             + " (is another node using node.control_port?)");
  d.thread = std::thread([&d] { d.server->listen_after_bind(); });
}

operator_api::~operator_api() {
  impl_->server->stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

uint16_t operator_api::port() const {
  return impl_->port;
}

} // namespace brokedancer
