// The trust boundary's costs and bounds, on real `brokedancer run` processes over loopback:
//
// control-roundtrip: GET /v1/status on the operator API, a new connection each time as the
//   `status` command makes one, over HTTPS beside plain HTTP (p50/p99).
// unauthenticated-cost: what connections that never authenticate cost a node (resident memory
//   per connection) and how long the node keeps them: idle ones on the TLS peer port and on the
//   operator API, and on the API ones that trickle a header a byte at a time or flood headers
//   as fast as loopback carries them.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "harness.hpp"
#include "runtime/operator_auth.hpp"
#include "support/child_process.hpp"
#include "support/redis_server.hpp"

namespace brokedancer::bench {

namespace {

using clock = std::chrono::steady_clock;

constexpr int requests = 100;
// Below the peer port's connection limit (64), and within what the operator API's workers and
// queue hold (16 + 64), so that every connection is accepted and its cost counted.
constexpr int idle_connections = 50;

// A temporary directory with a cluster authority, the certificate of node "bench", and one
// operator credential.
struct secrets {
  std::string dir;
  std::string token = make_token();

  secrets() {
    char pattern[] = "/tmp/brokedancer-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr)
      throw std::runtime_error("cannot make a temporary directory");
    dir = pattern;
    std::ofstream{dir + "/credentials"}
        << credential_line({"bench", operator_role::risk, digest_of(token)}) << '\n';
    auto certs = std::string{BROKEDANCER_CLI_PATH} + " certs ";
    if (std::system((certs + "ca --dir " + dir + " 2>/dev/null").c_str()) != 0
        || std::system((certs + "node bench --dir " + dir + " 2>/dev/null").c_str()) != 0)
      throw std::runtime_error("brokedancer certs failed");
  }

  ~secrets() {
    [[maybe_unused]] auto ignored = std::system(("rm -rf '" + dir + "'").c_str());
  }
};

struct node {
  uint16_t control_port = testing::free_loopback_port();
  bool https = false;
  std::unique_ptr<testing::child_process> process;

  node(const secrets& s, bool with_https, bool with_peer_port) : https(with_https) {
    std::map<std::string, std::string> env{
        {"BROKEDANCER_LOG_LEVEL", "error"},
        {"BROKEDANCER_RUNTIME_NODE_NAME", "bench"},
        {"BROKEDANCER_NODE_CONTROL_PORT", std::to_string(control_port)},
        {"BROKEDANCER_NODE_CREDENTIALS_FILE", s.dir + "/credentials"}};
    if (https) {
      env["BROKEDANCER_NODE_CONTROL_TLS_CERTIFICATE"] = s.dir + "/bench.pem";
      env["BROKEDANCER_NODE_CONTROL_TLS_KEY"] = s.dir + "/bench.key";
    }
    if (with_peer_port) {
      peer_port = testing::free_loopback_port();
      env["BROKEDANCER_NODE_LISTEN"] = "127.0.0.1:" + std::to_string(peer_port);
      env["BROKEDANCER_NODE_TLS_CERTIFICATE"] = s.dir + "/bench.pem";
      env["BROKEDANCER_NODE_TLS_KEY"] = s.dir + "/bench.key";
      env["BROKEDANCER_NODE_TLS_CA"] = s.dir + "/ca.pem";
    }
    process = std::make_unique<testing::child_process>(
        BROKEDANCER_CLI_PATH, std::vector<std::string>{"run", "--bots", "2"}, env);
    auto deadline = clock::now() + std::chrono::seconds(60);
    while (status(s) != 200) {
      if (clock::now() > deadline)
        throw std::runtime_error("the node's operator API did not answer within 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // One GET /v1/status on a fresh connection, as the `status` command makes it.
  int status(const secrets& s) const {
    auto base =
        std::string{https ? "https" : "http"} + "://127.0.0.1:" + std::to_string(control_port);
    httplib::Client client{base};
    if (https) {
      client.set_ca_cert_path((s.dir + "/ca.pem").c_str());
      client.enable_server_certificate_verification(true);
    }
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(10, 0);
    auto result = client.Get("/v1/status", {{"Authorization", "Bearer " + s.token}});
    return result ? result->status : -1;
  }

  double resident_kb() const {
    std::ifstream in{"/proc/" + std::to_string(process->pid()) + "/status"};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0)
        return std::stod(line.substr(6));
    throw std::runtime_error("cannot read the node's resident memory");
  }

  uint16_t peer_port = 0;
};

std::vector<double> round_trips(const node& n, const secrets& s) {
  std::vector<double> ms;
  for (int i = 0; i < requests; ++i) {
    auto started = clock::now();
    if (n.status(s) != 200)
      throw std::runtime_error("a status request failed");
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - started).count());
  }
  return ms;
}

samples roundtrip_once(const run_context&) {
  secrets s;
  node plain{s, false, false};
  node tls{s, true, false};
  auto plain_ms = round_trips(plain, s);
  auto tls_ms = round_trips(tls, s);
  return {{"plain_p50_ms", percentile(plain_ms, 50)},
          {"plain_p99_ms", percentile(plain_ms, 99)},
          {"tls_p50_ms", percentile(tls_ms, 50)},
          {"tls_p99_ms", percentile(tls_ms, 99)}};
}

int open_idle(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  return fd;
}

// What a hostile client sends on its connection, called every 10 ms while it is open.
enum class behaviour { idle, trickle, flood };

void act(int fd, behaviour how, clock::time_point opened) {
  static const std::string header_line = "X-Filler: aaaaaaaaaaaaaaaa\r\n";
  if (how == behaviour::idle)
    return;
  if (how == behaviour::trickle) {
    // The request line, then one byte of a header every 100 ms: each read succeeds well within
    // any per-read timeout, and the request never ends.
    auto tick = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - opened);
    if (tick.count() % 100 < 10)
      send(fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    return;
  }
  std::string burst;
  for (int i = 0; i < 256; ++i)
    burst += header_line;
  send(fd, burst.data(), burst.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Opens connections that never authenticate and behave `how`; the resident memory they add per
// connection (KiB), and how long until the node has closed every one of them (ms).
std::pair<double, double> connection_cost(const node& n, uint16_t port,
                                          behaviour how = behaviour::idle) {
  auto before = n.resident_kb();
  std::vector<int> fds;
  auto opened = clock::now();
  for (int i = 0; i < idle_connections; ++i) {
    fds.push_back(open_idle(port));
    if (how != behaviour::idle)
      send(fds.back(), "GET /v1/status HTTP/1.1\r\n", 25, MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  double peak_kb = 0;
  size_t closed = 0;
  std::vector<bool> done(fds.size(), false);
  auto deadline = opened + std::chrono::seconds(120);
  auto next_sample = opened + std::chrono::milliseconds(500);
  while (closed < fds.size() && clock::now() < deadline) {
    if (clock::now() >= next_sample) {
      peak_kb = std::max(peak_kb, n.resident_kb() - before);
      next_sample += std::chrono::milliseconds(500);
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done[i])
        continue;
      act(fds[i], how, opened);
      pollfd p{fds[i], POLLIN, 0};
      char answer[4096]; // a refusal is read whole; only the close counts
      if (poll(&p, 1, 0) > 0 && recv(fds[i], answer, sizeof(answer), MSG_DONTWAIT) <= 0) {
        done[i] = true;
        ++closed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto took = std::chrono::duration<double, std::milli>(clock::now() - opened).count();
  for (int fd : fds)
    close(fd);
  if (closed < fds.size())
    throw std::runtime_error("connections that never authenticate were still open after 120 s");
  return {std::max(0.0, peak_kb) / idle_connections, took};
}

samples unauthenticated_once(const run_context&) {
  secrets s;
  node n{s, false, true};
  auto at_rest = n.resident_kb();
  auto [peer_kb, peer_ms] = connection_cost(n, n.peer_port);
  auto [api_kb, api_ms] = connection_cost(n, n.control_port);
  auto [trickle_kb, trickle_ms] = connection_cost(n, n.control_port, behaviour::trickle);
  auto [flood_kb, flood_ms] = connection_cost(n, n.control_port, behaviour::flood);
  return {{"node_resident_mb", at_rest / 1024},
          {"peer_port_kb_per_connection", peer_kb},
          {"peer_port_closed_after_ms", peer_ms},
          {"api_kb_per_connection", api_kb},
          {"api_closed_after_ms", api_ms},
          {"api_trickle_kb_per_connection", trickle_kb},
          {"api_trickle_closed_after_ms", trickle_ms},
          {"api_flood_kb_per_connection", flood_kb},
          {"api_flood_closed_after_ms", flood_ms}};
}

const bool roundtrip_registered = register_scenario({
    "control-roundtrip",
    "GET /v1/status on the operator API with a new connection each time, as the status command "
    "makes it: HTTPS beside plain HTTP",
    {
        {"tls_p50_ms", "ms", "over HTTPS (TLS handshake included)", false, "plain_p50_ms"},
        {"tls_p99_ms", "ms", "99th percentile", false, "plain_p99_ms"},
        {"plain_p50_ms", "ms", "over plain HTTP on loopback", false, ""},
        {"plain_p99_ms", "ms", "99th percentile", false, ""},
    },
    roundtrip_once,
});

const bool unauthenticated_registered = register_scenario({
    "unauthenticated-cost",
    "50 connections that never authenticate, to a node's TLS peer port and to its operator API "
    "(idle, trickling a header, flooding headers): peak resident memory each, and how long the "
    "node keeps them",
    {
        {"peer_port_kb_per_connection", "KiB", "peer port (mutual TLS): memory per connection",
         false, ""},
        {"peer_port_closed_after_ms", "ms", "until the node cut all 50 (handshake timeout 3 s)",
         false, ""},
        {"api_kb_per_connection", "KiB", "operator API: memory per connection", false, ""},
        {"api_closed_after_ms", "ms",
         "until the API closed all 50 (1 s for a first byte, 16 workers)", false, ""},
        {"api_trickle_kb_per_connection", "KiB", "API, a header byte every 100 ms: memory each",
         false, ""},
        {"api_trickle_closed_after_ms", "ms", "until the API closed all 50 tricklers", false, ""},
        {"api_flood_kb_per_connection", "KiB", "API, headers as fast as loopback: memory each",
         false, ""},
        {"api_flood_closed_after_ms", "ms", "until the API refused (431) and closed all 50", false,
         ""},
        {"node_resident_mb", "MiB", "the node at rest, 2 bots", false, ""},
    },
    unauthenticated_once,
});

} // namespace

} // namespace brokedancer::bench
