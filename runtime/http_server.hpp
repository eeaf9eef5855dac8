#pragma once

// A small HTTP/1.1 server (HTTPS with a certificate) whose cost to a client that never proves
// who it is stays bounded: the operator API's transport (runtime/operator_api).
//
// - A fixed pool of worker threads serves connections; at most `queued_connections` wait for
//   one. Past that the accepting thread pauses and the kernel's backlog holds the rest.
// - A connection has `idle_timeout` from when a worker takes it (or from its previous answer)
//   to send its first byte, and `request_deadline` to deliver a whole request, TLS handshake
//   included. Whatever it sends, slowly or not at all, it is closed at the deadline.
// - Requests are parsed with http_request_reader's size limits: a client can make the server
//   hold at most a head and a body of those sizes.
// - Answers have `write_timeout` to leave. An answer of 400 or more ends the connection, and so
//   does the end of `max_connection_age`: one client holds a worker for one refused request,
//   or for `max_connection_age` at most.
//
// Why not cpp-httplib's server: in 0.11.4 it has no deadline for a whole request and no limit on
// the number of header lines, so a client trickling headers held a worker and grew the process
// for as long as it liked. Its client is still what `brokedancer` speaks with.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/http_request_reader.hpp"

namespace brokedancer {

// The open end of a streamed answer (server-sent events): what its producer may do.
class http_stream {
public:
  virtual ~http_stream() = default;
  // Writes `bytes` within the server's write_timeout; false when the client is gone or too slow
  // to take them, or the server is stopping: the stream must end.
  virtual bool write(std::string_view bytes) = 0;
  // True once the server is stopping or the client has closed its end.
  virtual bool ended() = 0;
};

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the answer is a stream: the head goes out without a length, then `stream` writes
  // the body for as long as it likes on the worker that serves it, and the connection closes
  // when it returns. Only a status below 400 streams.
  std::function<void(http_stream&)> stream;
};

struct http_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0; // 0: any free port (see http_server::port)
  // Both or neither: HTTPS with this certificate chain and key (PEM files).
  std::string tls_certificate;
  std::string tls_key;
  http_limits limits;
  std::chrono::milliseconds request_deadline{3000};
  std::chrono::milliseconds idle_timeout{1000};
  std::chrono::milliseconds write_timeout{5000};
  size_t max_requests_per_connection = 100;
  // Past this, a connection is closed after its current answer, however well it behaves.
  std::chrono::milliseconds max_connection_age{30000};
  size_t threads = 16;
  size_t queued_connections = 64;
};

// What the server has served and turned away so far: for tests and, later, for metrics.
struct http_server_counters {
  uint64_t requests = 0;
  uint64_t malformed = 0;  // answered 4xx/5xx by the reader, then closed
  uint64_t timed_out = 0;  // closed at their deadline with a request under way
  uint64_t tls_failed = 0; // TLS handshakes that failed
};

class http_server {
public:
  // Called on a worker thread for every complete request; may block (it holds that worker).
  using handler = std::function<http_response(const http_request&)>;

  // Binds and starts serving; throws std::runtime_error saying what to do when the address
  // cannot be bound or the certificate cannot be loaded.
  http_server(http_server_options options, handler serve);
  // Stops accepting, closes idle connections at once and waits for the answers in progress.
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  uint16_t port() const;
  http_server_counters counters() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The reason phrase of a status code this server sends.
const char* http_reason(int status);

} // namespace brokedancer
