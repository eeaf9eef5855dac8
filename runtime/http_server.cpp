#include "runtime/http_server.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/openssl_handles.hpp"

namespace brokedancer {

namespace {

using clock = std::chrono::steady_clock;

constexpr size_t read_chunk = 4096;
constexpr int listen_backlog = 128;
// After the last answer: how long, and how much, a client may still send so that it reads it.
constexpr auto linger_time = std::chrono::milliseconds(500);
constexpr size_t linger_bytes = 256 * 1024;
constexpr size_t stream_send_buffer = 64 * 1024;

// -- waiting with a deadline ------------------------------------------------------------------

enum class readiness { ready, timed_out, stopping };

// Waits until `fd` is ready for `events`, the deadline passes or the server stops (`stop_fd`
// becomes readable and stays so).
readiness wait_for(int fd, short events, clock::time_point deadline, int stop_fd) {
  for (;;) {
    // Rounded up: poll's milliseconds must not end the wait before the deadline has passed.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return readiness::timed_out;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    auto n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 60'000)));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return readiness::stopping;
    if (fds[1].revents != 0)
      return readiness::stopping;
    if (fds[0].revents != 0)
      return readiness::ready;
  }
}

// -- one connection, plain or TLS ----------------------------------------------------------------

class connection {
public:
  connection(int fd, SSL_CTX* tls, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {
    if (tls != nullptr) {
      ssl_.reset(SSL_new(tls));
      if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1) {
        ERR_clear_error();
        unusable_ = true; // never served in plaintext on an HTTPS port
      }
    }
  }

  ~connection() {
    close_tls();
    ssl_.reset();
    ::close(fd_);
  }

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  bool tls() const {
    return static_cast<bool>(ssl_);
  }

  // False when TLS was wanted and could not be set up for it.
  bool usable() const {
    return !unusable_;
  }

  // The TLS handshake, within `deadline`; trivially true in plaintext.
  bool handshake(clock::time_point deadline) {
    if (!ssl_)
      return true;
    for (;;) {
      ERR_clear_error();
      auto rc = SSL_accept(ssl_.get());
      if (rc == 1) {
        handshaken_ = true;
        return true;
      }
      if (!await(SSL_get_error(ssl_.get(), rc), deadline))
        return false;
    }
  }

  // Some bytes into `buffer`; 0 when the peer closed, the deadline passed, the server is
  // stopping or the connection failed.
  size_t read_some(char* buffer, size_t size, clock::time_point deadline) {
    for (;;) {
      if (ssl_) {
        ERR_clear_error();
        auto n = SSL_read(ssl_.get(), buffer, static_cast<int>(size));
        if (n > 0)
          return static_cast<size_t>(n);
        if (!await(SSL_get_error(ssl_.get(), n), deadline))
          return 0;
        continue;
      }
      auto n = ::recv(fd_, buffer, size, 0);
      if (n > 0)
        return static_cast<size_t>(n);
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return 0;
      if (wait_for(fd_, POLLIN, deadline, stop_fd_) != readiness::ready)
        return 0;
    }
  }

  bool write_all(std::string_view bytes, clock::time_point deadline) {
    while (!bytes.empty()) {
      if (ssl_) {
        ERR_clear_error();
        auto n = SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size()));
        if (n > 0) {
          bytes.remove_prefix(static_cast<size_t>(n));
          continue;
        }
        if (!await(SSL_get_error(ssl_.get(), n), deadline))
          return false;
        continue;
      }
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return false;
      if (wait_for(fd_, POLLOUT, deadline, stop_fd_) != readiness::ready)
        return false;
    }
    return true;
  }

  // Ends the connection after its last answer while the client's bytes may still be arriving:
  // closing with unread bytes makes the kernel send a reset, which can destroy the answer
  // before the client reads it. So: no more writing, then what arrives is read and dropped
  // until the client closes, `max_bytes` have come or the deadline passes.
  void linger(clock::time_point deadline, size_t max_bytes) {
    close_tls();
    ::shutdown(fd_, SHUT_WR);
    char sink[read_chunk];
    for (size_t drained = 0; drained < max_bytes;) {
      auto n = ::recv(fd_, sink, sizeof(sink), 0);
      if (n > 0) {
        drained += static_cast<size_t>(n);
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return;
      if (wait_for(fd_, POLLIN, deadline, stop_fd_) != readiness::ready)
        return;
    }
  }

  int descriptor() const {
    return fd_;
  }

  // Whether the stop pipe fired: for telling a deadline from a stop.
  bool stopping() const {
    pollfd fd{stop_fd_, POLLIN, 0};
    return ::poll(&fd, 1, 0) > 0;
  }

private:
  // After a TLS call that did not complete: waits for what it wants; false if it failed.
  bool await(int ssl_error, clock::time_point deadline) {
    if (ssl_error == SSL_ERROR_WANT_READ)
      return wait_for(fd_, POLLIN, deadline, stop_fd_) == readiness::ready;
    if (ssl_error == SSL_ERROR_WANT_WRITE)
      return wait_for(fd_, POLLOUT, deadline, stop_fd_) == readiness::ready;
    // SSL_ERROR_SSL or _SYSCALL: the session is unusable, not even for a close_notify.
    if (ssl_error != SSL_ERROR_ZERO_RETURN)
      broken_ = true;
    ERR_clear_error();
    return false;
  }

  // One close_notify attempt (the socket is non-blocking), on a session that can still send it.
  void close_tls() {
    if (ssl_ && handshaken_ && !broken_ && !tls_closed_) {
      tls_closed_ = true;
      SSL_shutdown(ssl_.get());
      ERR_clear_error();
    }
  }

  int fd_;
  int stop_fd_;
  openssl::ssl_ptr ssl_;
  bool unusable_ = false;
  bool handshaken_ = false;
  bool broken_ = false;
  bool tls_closed_ = false;
};

std::string render(const http_response& response, bool keep_alive) {
  std::string out =
      "HTTP/1.1 " + std::to_string(response.status) + " " + http_reason(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  // A stream has no length: its end is the connection's.
  if (!response.stream)
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "Cache-Control: no-store\r\n";
  for (const auto& [name, value] : response.headers)
    out += name + ": " + value + "\r\n";
  out += "\r\n";
  out += response.body;
  return out;
}

http_response error_response(int status, const std::string& why) {
  http_response response;
  response.status = status;
  response.body = dump_json(nlohmann::json{{"error", why}}, 2) + "\n";
  return response;
}

std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    return "unknown";
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, text, sizeof(text));
  else if (addr.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, text, sizeof(text));
  return text[0] != '\0' ? text : "unknown";
}

// -- the workers --------------------------------------------------------------------------------

// At most `capacity` accepted connections wait for a worker; past that, add() blocks the
// accepting thread, so that a flood waits in the kernel's backlog, not in this process.
class bounded_pool {
public:
  using job = std::function<void()>;

  bounded_pool(size_t threads, size_t capacity) : capacity_(capacity) {
    for (size_t i = 0; i < threads; ++i)
      workers_.emplace_back([this] { work(); });
  }

  ~bounded_pool() {
    stop();
  }

  // False when stopping: the job was not taken.
  bool add(job fn) {
    std::unique_lock<std::mutex> guard{mutex_};
    space_.wait(guard, [this] { return jobs_.size() < capacity_ || stopping_; });
    if (stopping_)
      return false;
    jobs_.push_back(std::move(fn));
    ready_.notify_one();
    return true;
  }

  // From now on add() takes nothing (and a blocked add() returns).
  void begin_stop() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
  }

  // Runs what is queued (each job sees the server stopping and ends quickly), then joins.
  void stop() {
    begin_stop();
    for (auto& t : workers_)
      if (t.joinable())
        t.join();
  }

private:
  void work() {
    // A peer that resets while TLS writes would raise SIGPIPE: OpenSSL's socket writes cannot
    // pass MSG_NOSIGNAL. Blocked here, the write fails with EPIPE instead.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    for (;;) {
      job next;
      {
        std::unique_lock<std::mutex> guard{mutex_};
        ready_.wait(guard, [this] { return !jobs_.empty() || stopping_; });
        if (jobs_.empty())
          return;
        next = std::move(jobs_.front());
        jobs_.pop_front();
        space_.notify_one();
      }
      next();
    }
  }

  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<job> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

} // namespace

const char* http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

struct http_server::impl {
  http_server_options options;
  handler serve;
  openssl::ssl_ctx_ptr tls;
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};
  uint16_t port = 0;
  std::unique_ptr<bounded_pool> pool;
  std::thread acceptor;
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> malformed{0};
  std::atomic<uint64_t> timed_out{0};
  std::atomic<uint64_t> tls_failed{0};
  logger log{"http_server"};

  impl(http_server_options opts, handler h) : options(std::move(opts)), serve(std::move(h)) {}

  ~impl() {
    if (listen_fd >= 0)
      ::close(listen_fd);
    for (int fd : stop_pipe)
      if (fd >= 0)
        ::close(fd);
  }

  void load_tls() {
    if (options.tls_certificate.empty())
      return;
    tls.reset(SSL_CTX_new(TLS_server_method()));
    if (!tls)
      throw std::runtime_error("cannot make a TLS context: " + openssl::last_error());
    SSL_CTX_set_min_proto_version(tls.get(), TLS1_2_VERSION);
    // Renegotiation lets a client make the server redo the costly part of a handshake at will.
    SSL_CTX_set_options(tls.get(), SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(tls.get(), options.tls_certificate.c_str()) != 1)
      throw std::runtime_error("cannot load the certificate \"" + options.tls_certificate + "\": "
                               + openssl::last_error() + " (make one with `brokedancer certs`)");
    if (SSL_CTX_use_PrivateKey_file(tls.get(), options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(tls.get()) != 1)
      throw std::runtime_error("cannot load the key \"" + options.tls_key
                               + "\" of the certificate \"" + options.tls_certificate
                               + "\": " + openssl::last_error());
  }

  void bind_and_listen() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    auto service = std::to_string(options.port);
    std::string why;
    if (int rc = getaddrinfo(options.host.c_str(), service.c_str(), &hints, &found); rc != 0)
      throw std::runtime_error("cannot listen on " + options.host + ":" + service + ": "
                               + gai_strerror(rc));
    for (auto* a = found; a != nullptr && listen_fd < 0; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0)
        continue;
      int on = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, listen_backlog) == 0) {
        listen_fd = fd;
        break;
      }
      why = std::strerror(errno);
      ::close(fd);
    }
    freeaddrinfo(found);
    if (listen_fd < 0)
      throw std::runtime_error("cannot listen on " + options.host + ":" + service + ": " + why);
    sockaddr_storage addr{};
    socklen_t length = sizeof(addr);
    getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &length);
    port = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
      throw std::runtime_error(std::string{"cannot make a pipe: "} + std::strerror(errno));
  }

  void accept_loop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR)
        return;
      if (fds[1].revents != 0)
        return;
      if (fds[0].revents == 0)
        continue;
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE) // out of descriptors: let some close first
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      int on = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
      if (!pool->add([this, fd] { serve_connection(fd); }))
        ::close(fd);
    }
  }

  // Serves one connection until it closes, breaks a rule or misses a deadline.
  void serve_connection(int fd) {
    connection conn{fd, tls.get(), stop_pipe[0]};
    auto remote = peer_address(fd);
    auto start = clock::now();
    auto deadline = start + options.request_deadline;
    // A client that says nothing holds the worker for idle_timeout, not the whole deadline.
    if (wait_for(fd, POLLIN, std::min(deadline, start + options.idle_timeout), stop_pipe[0])
        != readiness::ready)
      return;
    if (!conn.usable() || (conn.tls() && !conn.handshake(deadline))) {
      ++tls_failed;
      return;
    }
    http_request_reader reader{options.limits};
    char buffer[read_chunk];
    for (size_t served = 0; served < options.max_requests_per_connection; ++served) {
      auto state = reader.feed({}); // a pipelined request may be complete already
      while (state == http_request_reader::state::need_more) {
        // Between requests, only idle_timeout to begin the next.
        auto until = served > 0 && !reader.started()
                         ? std::min(deadline, clock::now() + options.idle_timeout)
                         : deadline;
        auto n = conn.read_some(buffer, sizeof(buffer), until);
        if (n == 0) {
          if (reader.started() && !conn.stopping() && clock::now() >= until)
            ++timed_out;
          return;
        }
        state = reader.feed({buffer, n});
      }
      if (state == http_request_reader::state::failed) {
        ++malformed;
        if (conn.write_all(render(error_response(reader.error_status(), reader.error()), false),
                           clock::now() + options.write_timeout))
          conn.linger(clock::now() + linger_time, linger_bytes);
        return;
      }
      auto request = reader.take();
      request.remote_address = remote;
      ++requests;
      // A stopping server takes no new action: the handler may wait long for the node.
      auto response =
          conn.stopping() ? error_response(503, "the node is stopping") : answer(request);
      if (response.stream && response.status < 400) {
        stream_answer(conn, response);
        return;
      }
      response.stream = nullptr;
      // A refused request (an unknown credential, say) ends the connection: whoever is refused
      // holds a worker for one request, not for a connection's worth of them.
      bool keep_alive = request.keep_alive && response.status < 400
                        && served + 1 < options.max_requests_per_connection
                        && clock::now() - start < options.max_connection_age && !conn.stopping();
      if (!conn.write_all(render(response, keep_alive), clock::now() + options.write_timeout))
        return;
      if (!keep_alive) {
        conn.linger(clock::now() + linger_time, linger_bytes);
        return;
      }
      deadline = clock::now() + options.request_deadline;
    }
  }

  // A streamed answer: the head, then whatever the producer writes, each write within
  // write_timeout (a client that stops reading ends its stream, it never holds the producer).
  void stream_answer(connection& conn, const http_response& response) {
    struct open_stream : http_stream {
      connection& conn;
      std::chrono::milliseconds write_timeout;
      int fd;
      explicit open_stream(connection& c, std::chrono::milliseconds timeout, int socket)
        : conn(c), write_timeout(timeout), fd(socket) {}
      bool write(std::string_view bytes) override {
        return conn.write_all(bytes, clock::now() + write_timeout);
      }
      bool ended() override {
        if (conn.stopping())
          return true;
        // The client sends nothing on a stream: readable means it closed (or broke the rules).
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 0) > 0;
      }
    };
    // A fixed send buffer (no autotuning): a client that stops reading holds that much of the
    // kernel's memory at most, and its stream's writes stop soon instead of after megabytes.
    int buffer = static_cast<int>(stream_send_buffer);
    setsockopt(conn.descriptor(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    if (!conn.write_all(render(response, false), clock::now() + options.write_timeout))
      return;
    open_stream out{conn, options.write_timeout, conn.descriptor()};
    try {
      response.stream(out);
    } catch (const std::exception& e) {
      log.error("an HTTP stream failed", {{"error", e.what()}});
    }
  }

  http_response answer(const http_request& request) {
    try {
      return serve(request);
    } catch (const std::exception& e) {
      log.error("an HTTP handler failed", {{"path", request.path}, {"error", e.what()}});
    } catch (...) {
      log.error("an HTTP handler failed", {{"path", request.path}});
    }
    return error_response(500, "internal error; see the node's log");
  }
};

http_server::http_server(http_server_options options, handler serve)
  : impl_(std::make_unique<impl>(std::move(options), std::move(serve))) {
  auto& d = *impl_;
  d.load_tls();
  d.bind_and_listen();
  d.pool = std::make_unique<bounded_pool>(d.options.threads, d.options.queued_connections);
  d.acceptor = std::thread([&d] { d.accept_loop(); });
}

http_server::~http_server() {
  auto& d = *impl_;
  char stop = 1;
  if (::write(d.stop_pipe[1], &stop, 1) != 1)
    d.log.error("cannot signal the HTTP server to stop", {{"error", std::strerror(errno)}});
  d.pool->begin_stop(); // before the join: the acceptor may be waiting for room in the queue
  d.acceptor.join();
  d.pool->stop();
}

uint16_t http_server::port() const {
  return impl_->port;
}

http_server_counters http_server::counters() const {
  const auto& d = *impl_;
  return {d.requests.load(), d.malformed.load(), d.timed_out.load(), d.tls_failed.load()};
}

} // namespace brokedancer
