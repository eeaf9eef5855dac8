// order-path-observed: what watching a node costs its order path. The order-path load (64 bots,
// one order in flight each, through risk monitor, breaker and simulated exchange) on five nodes
// in one run:
//   unobserved  counting off, no operator API: the same-run baseline;
//   counted     the risk monitor counts every order's outcome and latency, no operator API;
//   observed    counting on, the operator API and its event relay run, /metrics is scraped
//               every second and a dashboard's stream (its topics, and a status frame every
//               second) is read the whole time;
//   streamed    as observed, and a script also reads every order's event (topics=trading.*);
//   stalled     as observed, and a client asks for every topic and never reads (it is cut off).

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "harness.hpp"
#include "order_load.hpp"
#include "runtime/operator_auth.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

constexpr int bots = 64;
constexpr int orders_each = 1500;

// Someone watching the node at `port` until told to stop, on a thread of their own.
class watcher {
public:
  watcher(uint16_t port, std::string token, std::string stream_query, bool scrape)
    : thread_([this, port, token = std::move(token), query = std::move(stream_query), scrape] {
        httplib::Headers headers{{"Authorization", "Bearer " + token}};
        if (scrape) {
          httplib::Client client{"127.0.0.1", port};
          while (!stop_) {
            if (auto res = client.Get("/metrics", headers); res && res->status == 200)
              ++scrapes;
            for (int i = 0; i < 10 && !stop_; ++i)
              std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
          return;
        }
        httplib::Client client{"127.0.0.1", port};
        client.set_read_timeout(1, 0);
        while (!stop_)
          client.Get(("/api/events?" + query).c_str(), headers, [this](const char*, size_t n) {
            bytes += n;
            return !stop_.load();
          });
      }) {}

  ~watcher() {
    stop_ = true;
    thread_.join();
  }

  std::atomic<uint64_t> scrapes{0};
  std::atomic<uint64_t> bytes{0};

private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A client that asks for every event and never reads one: what a hung script does.
class stalled_client {
public:
  stalled_client(uint16_t port, const std::string& token) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    std::string request = "GET /api/events?topics=* HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                          + token + "\r\n\r\n";
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || send(fd_, request.data(), request.size(), MSG_NOSIGNAL)
               != static_cast<ssize_t>(request.size())) {
      if (fd_ >= 0)
        close(fd_);
      throw std::runtime_error("the stalled client could not connect");
    }
  }
  ~stalled_client() {
    close(fd_);
  }
  stalled_client(const stalled_client&) = delete;
  stalled_client& operator=(const stalled_client&) = delete;

private:
  int fd_ = -1;
};

samples run_once(const run_context& context) {
  samples out;
  {
    auto board = make_order_board();
    auto node = start_order_node(order_load_settings(context), board, false);
    record_orders(out, "unobserved", run_order_load(*node, *board, "plain", bots, orders_each));
  }
  {
    auto board = make_order_board();
    auto node = start_order_node(order_load_settings(context), board, true);
    record_orders(out, "counted", run_order_load(*node, *board, "counted", bots, orders_each));
  }
  // Each watched load on a node of its own, as the two above: a node that has served one load
  // carries its journal and memory into the next. Prometheus scrapes every one of them; `watch`
  // adds the load's own watchers for as long as it runs.
  auto token = make_token();
  auto watched = [&](const std::string& name, const auto& watch) {
    auto port = testing::free_loopback_port();
    auto board = make_order_board();
    auto node = start_order_node(
        order_load_settings(
            context, {{"BROKEDANCER_NODE_CONTROL_PORT", std::to_string(port)},
                      {"BROKEDANCER_NODE_CREDENTIALS",
                       credential_line({"bench", operator_role::viewer, digest_of(token)})}}),
        board, true);
    watcher scraper{port, token, "", true};
    auto extra = watch(port);
    record_orders(out, name, run_order_load(*node, *board, name, bots, orders_each));
    // Read before the watchers stop (at the end of this scope, before the node goes).
    uint64_t bytes = 0;
    if constexpr (std::is_same_v<typename decltype(extra)::element_type, watcher>)
      bytes = extra->bytes.load();
    return std::make_pair(scraper.scrapes.load(), bytes);
  };
  auto dashboard = watched("observed", [&](uint16_t port) {
    return std::make_unique<watcher>(port, token,
                                     "topics=emergency.*,breaker.*,trading.alerts,trading.system,"
                                     "workflow_events,node.status&status=1",
                                     false);
  });
  out["observed_scrapes"] = static_cast<double>(dashboard.first);
  auto reader = watched("streamed", [&](uint16_t port) {
    return std::make_unique<watcher>(port, token, "topics=trading.*", false);
  });
  out["streamed_bytes"] = static_cast<double>(reader.second);
  watched("stalled", [&](uint16_t port) { return std::make_unique<stalled_client>(port, token); });
  return out;
}

const bool registered = register_scenario({
    "order-path-observed",
    "the order path of 64 bots while /metrics is scraped and the dashboard's stream is read, "
    "beside the same load with counting off and no operator API",
    {
        {"counted_orders", "orders/s", "counting on, no operator API", true, "unobserved_orders"},
        {"counted_p50_us", "us", "median, submit to result", false, "unobserved_p50_us"},
        {"observed_orders", "orders/s",
         "counting on, /metrics scraped each second, a dashboard "
         "stream open",
         true, "unobserved_orders"},
        {"observed_p50_us", "us", "median, submit to result", false, "unobserved_p50_us"},
        {"observed_p99_us", "us", "99th percentile", false, "unobserved_p99_us"},
        {"streamed_orders", "orders/s", "as observed, and every order event streamed to a script",
         true, "unobserved_orders"},
        {"streamed_p50_us", "us", "median", false, "unobserved_p50_us"},
        {"stalled_orders", "orders/s",
         "as observed, and a client that asked for every topic never reads", true,
         "unobserved_orders"},
        {"stalled_p50_us", "us", "median", false, "unobserved_p50_us"},
        {"unobserved_orders", "orders/s", "counting off, no operator API", true, ""},
        {"unobserved_p50_us", "us", "median", false, ""},
        {"unobserved_p99_us", "us", "99th percentile", false, ""},
        {"observed_scrapes", "scrapes", "answered during the observed load", true, ""},
        {"streamed_bytes", "bytes", "of events the script read during its load", true, ""},
    },
    run_once,
});

} // namespace

} // namespace brokedancer::bench
