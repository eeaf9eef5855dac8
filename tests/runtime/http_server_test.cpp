// The operator API's transport as a stranger meets it: the request reader on its own, then a
// real server on 127.0.0.1 reached through raw sockets (and TLS through cpp-httplib's client).

#include <chrono>
#include <string>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#define CPPHTTPLIB_OPENSSL_SUPPORT
#include <httplib.h>

#include "runtime/http_request_reader.hpp"
#include "runtime/http_server.hpp"
#include "support/loopback_socket.hpp"
#include "support/test_certificates.hpp"

using namespace brokedancer;
using namespace brokedancer::testing;
using namespace std::chrono_literals;
using Catch::Contains;
using state = http_request_reader::state;

namespace {

http_request read_one(std::string_view bytes, size_t piece = 0) {
  http_request_reader reader{http_limits{}};
  auto s = state::need_more;
  if (piece == 0) {
    s = reader.feed(bytes);
  } else {
    for (size_t i = 0; i < bytes.size() && s == state::need_more; i += piece)
      s = reader.feed(bytes.substr(i, piece));
  }
  REQUIRE(s == state::complete);
  return reader.take();
}

int refusal(std::string_view bytes, http_limits limits = {}) {
  http_request_reader reader{limits};
  auto s = reader.feed(bytes);
  REQUIRE(s == state::failed);
  CHECK_FALSE(reader.error().empty());
  return reader.error_status();
}

void send_all(int fd, std::string_view bytes) {
  REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// What arrives until the server closes or `wait` passes; `closed` says which.
std::string receive(int fd, std::chrono::milliseconds wait, bool* closed = nullptr) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buffer[4096];
    auto n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      if (closed != nullptr)
        *closed = true;
      return out;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  if (closed != nullptr)
    *closed = false;
  return out;
}

http_response echo(const http_request& req) {
  http_response res;
  res.body = req.method + " " + req.path + " " + req.body;
  res.content_type = "text/plain";
  return res;
}

http_server_options quick_options() {
  http_server_options options;
  options.request_deadline = 600ms;
  options.idle_timeout = 300ms;
  options.threads = 2;
  options.queued_connections = 4;
  return options;
}

} // namespace

TEST_CASE("the reader reads a request alike whole and a byte at a time") {
  std::string bytes = "POST /v1/halt?x=1 HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer t\r\n"
                      "Content-Length: 5\r\n\r\nhello";
  auto whole = read_one(bytes);
  auto bytewise = read_one(bytes, 1);
  for (const auto* r : {&whole, &bytewise}) {
    CHECK(r->method == "POST");
    CHECK(r->path == "/v1/halt");
    CHECK(r->query == "x=1");
    CHECK(r->body == "hello");
    CHECK(r->keep_alive);
    REQUIRE(r->header("authorization") != nullptr);
    CHECK(*r->header("authorization") == "Bearer t");
  }
}

TEST_CASE("the reader keeps what follows a request for the next one") {
  http_request_reader reader{http_limits{}};
  REQUIRE(reader.feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c") == state::complete);
  CHECK(reader.take().path == "/a");
  REQUIRE(reader.feed({}) == state::complete);
  auto second = reader.take();
  CHECK(second.path == "/b");
  CHECK_FALSE(second.keep_alive); // HTTP/1.0 without keep-alive
  CHECK(reader.feed({}) == state::need_more);
  CHECK(reader.started());
}

TEST_CASE("the reader refuses what it will not hold, before holding it") {
  http_limits small;
  small.max_headers = 3;
  small.max_head_bytes = 256;
  small.max_body_bytes = 10;
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 4; ++i)
    many += "X-" + std::to_string(i) + ": y\r\n";
  CHECK(refusal(many + "\r\n", small) == 431);
  // Refused as soon as the head outgrows its limit, whether or not it ever ends.
  CHECK(refusal("GET / HTTP/1.1\r\nX: " + std::string(300, 'a'), small) == 431);
  CHECK(refusal("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", small) == 413);
  CHECK(refusal("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n") == 400);
  CHECK(refusal("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n") == 400);
  CHECK(refusal("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == 501);
  CHECK(refusal("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n") == 400);
  CHECK(refusal("GET / HTTP/1.1\r\nBad Name: a\r\n\r\n") == 400);
  CHECK(refusal(std::string{"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 27}) == 400);
  CHECK(refusal("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(refusal("GET " + std::string(3000, 'a') + " HTTP/1.1\r\n\r\n") == 414);
  CHECK(refusal("get / HTTP/1.1\r\n\r\n") == 400);
  CHECK(refusal("GET relative HTTP/1.1\r\n\r\n") == 400);
  CHECK(refusal("GET / HTTP/1.1\nHost: x\n\n") == 400);
}

TEST_CASE("the server answers requests on one connection and closes it when idle") {
  http_server server{quick_options(), echo};
  int fd = dial_loopback(server.port());
  send_all(fd, "POST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /y HTTP/1.1\r\n\r\n");
  bool closed = false;
  auto answers = receive(fd, 1500ms, &closed);
  CHECK_THAT(answers, Contains("HTTP/1.1 200 OK"));
  CHECK_THAT(answers, Contains("POST /x hi"));
  CHECK_THAT(answers, Contains("GET /y"));
  CHECK(closed); // after the idle timeout
  close(fd);
  CHECK(server.counters().requests == 2);
}

TEST_CASE("a client that trickles its request is cut at the deadline while others are served") {
  http_server server{quick_options(), echo};
  int slow = dial_loopback(server.port());
  auto start = std::chrono::steady_clock::now();
  bool cut = false;
  // A byte every 50 ms: each read succeeds well within any per-read timeout.
  std::string request = "GET /slow HTTP/1.1\r\nX-Padding: " + std::string(200, 'a');
  for (const char& c : request) {
    if (send(slow, &c, 1, MSG_NOSIGNAL) != 1) {
      cut = true;
      break;
    }
    // Meanwhile the other worker serves a well-behaved client.
    if (&c == &request.front()) {
      int fast = dial_loopback(server.port());
      send_all(fast, "GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n");
      CHECK_THAT(receive(fast, 1000ms), Contains("GET /fast"));
      close(fast);
    }
    pollfd p{slow, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      char b;
      if (recv(slow, &b, 1, 0) <= 0) {
        cut = true;
        break;
      }
    }
  }
  auto held = std::chrono::steady_clock::now() - start;
  close(slow);
  CHECK(cut);
  CHECK(held < 1500ms); // the deadline is 600 ms
  CHECK(server.counters().timed_out == 1);
}

TEST_CASE("a flood of headers is refused with 431 and costs no more than the head limit") {
  http_server server{quick_options(), echo};
  int fd = dial_loopback(server.port());
  std::string flood = "GET / HTTP/1.1\r\n";
  while (flood.size() < 1024 * 1024)
    flood += "X-Flood: 1\r\n";
  // The server stops reading at its limit; the rest may not be sent at all.
  send(fd, flood.data(), flood.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  auto answer = receive(fd, 2000ms);
  close(fd);
  CHECK_THAT(answer, Contains("HTTP/1.1 431"));
  CHECK_THAT(answer, Contains("headers"));
  CHECK(server.counters().malformed == 1);
}

TEST_CASE("a connection that sends nothing, or stalls in the TLS handshake, is closed at the "
          "deadline") {
  test_certificates certs;
  certs.issue("api", {"127.0.0.1"});
  auto options = quick_options();
  options.tls_certificate = certs.dir + "/api.pem";
  options.tls_key = certs.dir + "/api.key";
  http_server server{options, echo};

  // A real TLS client is served.
  httplib::SSLClient client{"127.0.0.1", server.port()};
  client.set_ca_cert_path((certs.dir + "/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto result = client.Get("/over-tls");
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(result->body == "GET /over-tls ");

  // Silence, and a handshake that begins and never goes on, are both cut.
  for (std::string_view opening : {std::string_view{}, std::string_view{"\x16\x03\x01\x02\x00"}}) {
    int fd = dial_loopback(server.port());
    if (!opening.empty())
      send_all(fd, opening);
    auto start = std::chrono::steady_clock::now();
    bool closed = false;
    receive(fd, 3000ms, &closed);
    close(fd);
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  }
  CHECK(server.counters().tls_failed == 1); // the stalled handshake; silence never began one
}

TEST_CASE("stopping the server closes idle connections and ends at once") {
  auto server = std::make_unique<http_server>(quick_options(), echo);
  int fd = dial_loopback(server->port());
  send_all(fd, "GET /half");
  auto start = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - start < 500ms);
  bool closed = false;
  receive(fd, 500ms, &closed);
  CHECK(closed);
  close(fd);
}
