#include "runtime/exchange_server.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/market/exchange_ledger.hpp"
#include "core/json_text.hpp"
#include "core/logging.hpp"
#include "core/unix_time.hpp"
#include "runtime/http_server.hpp"

namespace brokedancer {

namespace {

using json = nlohmann::json;

constexpr size_t max_fills_page = 10000;

http_response answer(int status, const json& body) {
  http_response r;
  r.status = status;
  r.body = dump_json(body);
  return r;
}

http_response problem(int status, std::string why) {
  return answer(status, json{{"error", std::move(why)}});
}

// The value of `name` in a query string (no percent-decoding: the values asked for are names
// and numbers).
std::string query_value(const std::string& query, const std::string& name) {
  size_t at = 0;
  while (at <= query.size()) {
    auto end = query.find('&', at);
    if (end == std::string::npos)
      end = query.size();
    auto pair = query.substr(at, end - at);
    auto eq = pair.find('=');
    if (eq != std::string::npos && pair.substr(0, eq) == name)
      return pair.substr(eq + 1);
    at = end + 1;
  }
  return {};
}

bool parse_count(const std::string& text, uint64_t& value) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  value = std::stoull(text);
  return true;
}

} // namespace

struct exchange_server::impl {
  exchange_server_options options;
  mutable std::mutex mutex; // the ledger and the file, together
  exchange_ledger ledger;
  int file = -1;
  size_t replayed = 0;
  logger log{"exchange"};
  std::unique_ptr<http_server> server;

  explicit impl(exchange_server_options o)
    : options(std::move(o)), ledger(exchange_ledger::settings{options.fee_rate, 1000000}) {}

  ~impl() {
    server.reset(); // no request is served past here
    if (file >= 0)
      ::close(file);
  }

  // Reads the ledger back; the byte offset where its last whole record ends. A last record cut
  // short by a crash in the middle of its write (it was never answered) is not counted: the file
  // is cut back to the offset before appending, so that it never sits in the middle of the file.
  // A bad record anywhere else means the file is damaged or not a ledger.
  off_t read_ledger() {
    std::ifstream in{options.ledger_file, std::ios::binary};
    if (!in)
      return 0; // a new ledger
    off_t good_end = 0;
    size_t number = 0;
    std::string line;
    // A line at a time: the file may hold a million orders.
    while (std::getline(in, line)) {
      ++number;
      bool ended = !in.eof(); // getline stopped at a line end, not at the end of the file
      auto next = good_end + static_cast<off_t>(line.size()) + (ended ? 1 : 0);
      std::string why;
      auto record = line.empty() ? json{} : parse_json_within(line);
      if (line.empty()) {
        good_end = next;
      } else if (!record.is_discarded() && ledger.replay(record, why)) {
        ++replayed;
        // A whole record without its line end (the crash came just before it) is kept, and the
        // line end added.
        good_end = next;
      } else if (in.peek() == std::char_traits<char>::eof()) {
        log.warn("the last record of the ledger file is incomplete (a crash while writing it); "
                 "it was never answered and is dropped",
                 {{"file", options.ledger_file}, {"line", number}});
        break;
      } else {
        throw std::runtime_error(options.ledger_file + ":" + std::to_string(number)
                                 + ": not a ledger record; the file is damaged or not a ledger");
      }
    }
    return good_end;
  }

  void open_ledger() {
    if (options.ledger_file.empty())
      return;
    auto good_end = read_ledger();
    file = ::open(options.ledger_file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (file < 0)
      throw std::runtime_error(options.ledger_file
                               + ": cannot open the ledger file: " + std::strerror(errno));
    if (::ftruncate(file, good_end) != 0)
      throw std::runtime_error(options.ledger_file
                               + ": cannot cut off an incomplete record: " + std::strerror(errno));
    // A whole last record without its line end: end its line.
    char last = '\n';
    if (good_end > 0 && ::pread(file, &last, 1, good_end - 1) == 1 && last != '\n')
      append_text("\n");
    ledger.on_record = [this](const json& record) {
      append(record);
    };
  }

  void append_text(const std::string& line) {
    const char* at = line.data();
    size_t left = line.size();
    while (left > 0) {
      auto n = ::write(file, at, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        log.critical("cannot write the ledger file; stopping",
                     {{"file", options.ledger_file}, {"error", std::strerror(errno)}});
        std::abort();
      }
      at += n;
      left -= static_cast<size_t>(n);
    }
  }

  // Under the mutex. A record that cannot be written stops the process: answering an order the
  // ledger cannot remember would let a retry fill it twice after a restart.
  void append(const json& record) {
    append_text(dump_json(record) + "\n");
    if (options.fsync)
      ::fdatasync(file);
  }

  http_response serve(const http_request& request) {
    const auto& path = request.path;
    if (path == "/health")
      return request.method == "GET" ? health() : problem(405, "GET /health");
    if (path == "/fills")
      return request.method == "GET" ? fills(request) : problem(405, "GET /fills");
    if (path == "/orders" || path == "/orders/cancel" || path == "/orders/status") {
      if (request.method != "POST")
        return problem(405, "POST " + path);
      auto body = parse_json_within(request.body);
      if (!body.is_object())
        return problem(400, "the body is a JSON object");
      if (path == "/orders")
        return submit(body);
      if (path == "/orders/cancel")
        return cancel(body);
      return status(body);
    }
    if (path == "/fences") {
      if (request.method != "POST")
        return problem(405, "POST /fences");
      auto body = parse_json_within(request.body);
      std::lock_guard<std::mutex> guard{mutex};
      auto decided = ledger.raise_fence(body);
      return answer(decided.status, decided.body);
    }
    if (path.rfind("/orders/", 0) == 0 && request.method == "GET")
      return one_order(path.substr(8));
    return problem(404, "no such resource: " + path.substr(0, 64));
  }

  http_response health() const {
    std::lock_guard<std::mutex> guard{mutex};
    return answer(200,
                  json{{"status", "ok"}, {"orders", ledger.orders()}, {"fills", ledger.fills()}});
  }

  http_response submit(const json& body) {
    std::lock_guard<std::mutex> guard{mutex};
    auto decided = ledger.submit(body, now_us(), false, nullptr);
    return answer(decided.status, decided.body);
  }

  http_response cancel(const json& body) {
    std::lock_guard<std::mutex> guard{mutex};
    auto decided = ledger.cancel_request(body, now_us());
    return answer(decided.status, decided.body);
  }

  http_response status(const json& body) {
    std::lock_guard<std::mutex> guard{mutex};
    auto decided = ledger.status_request(body, now_us());
    return answer(decided.status, decided.body);
  }

  http_response one_order(const std::string& id) {
    std::lock_guard<std::mutex> guard{mutex};
    auto found = ledger.status_of({id}, false, now_us());
    auto& order = found["orders"][0];
    if (order.value("status", "") == "unknown")
      return answer(404, order);
    return answer(200, order);
  }

  http_response fills(const http_request& request) const {
    auto account = query_value(request.query, "account");
    uint64_t after = 0;
    uint64_t limit = 1000;
    auto after_text = query_value(request.query, "after");
    auto limit_text = query_value(request.query, "limit");
    if (account.empty() || account.size() > max_ledger_text)
      return problem(400, "account names the node whose fills are asked for");
    if ((!after_text.empty() && !parse_count(after_text, after))
        || (!limit_text.empty() && (!parse_count(limit_text, limit) || limit == 0)))
      return problem(400, "after and limit are counts");
    std::lock_guard<std::mutex> guard{mutex};
    return answer(200,
                  ledger.fills_since(account, after, std::min<uint64_t>(limit, max_fills_page)));
  }
};

exchange_server::exchange_server(exchange_server_options options)
  : impl_(std::make_unique<impl>(std::move(options))) {
  impl_->open_ledger();
  http_server_options http;
  http.host = impl_->options.host;
  http.port = impl_->options.port;
  http.threads = impl_->options.threads;
  http.limits.max_body_bytes = 256 * 1024;
  // Trading nodes keep their connections: a long life, many requests. One idle for a while
  // gives its thread back (the node's adapter connects again when it needs to).
  http.idle_timeout = std::chrono::seconds(5);
  http.queued_connections = 256;
  http.max_requests_per_connection = 1000000;
  // Minutes, not a day: each connection holds a worker, and 64 clients trickling a request under
  // the idle timeout would otherwise hold every worker until then. The node's adapter connects
  // again when it needs to.
  http.max_connection_age = std::chrono::minutes(5);
  impl_->server = std::make_unique<http_server>(
      http, [this](const http_request& request) { return impl_->serve(request); });
}

exchange_server::~exchange_server() = default;

uint16_t exchange_server::port() const {
  return impl_->server->port();
}

size_t exchange_server::orders() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->ledger.orders();
}

uint64_t exchange_server::fills() const {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  return impl_->ledger.fills();
}

size_t exchange_server::replayed() const {
  return impl_->replayed;
}

} // namespace brokedancer
