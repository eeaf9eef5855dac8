#pragma once

// One HTTP/1.1 request, read from bytes as they arrive, with every size bounded before it is
// stored: the request line, each header, the number of headers, the whole head and the body.
// cpp-httplib 0.11.4's server bounds neither the number of header lines nor the time a request
// may take, so a stranger could make the operator API hold memory and threads for as long as
// it trickled bytes; this reader is what the API's server (runtime/http_server) parses with
// instead. Plain code: no sockets, no clock; the server owns the deadlines.
//
// Strict where leniency has been an attack surface: lines end in CRLF, no folded headers, no
// Transfer-Encoding (a body has a Content-Length, or there is none), one Content-Length.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brokedancer {

struct http_limits {
  size_t max_target_bytes = 2048;
  size_t max_headers = 64;
  size_t max_head_bytes = 16 * 1024; // request line and headers, with their line ends
  size_t max_body_bytes = 64 * 1024;
};

struct http_request {
  std::string method;
  std::string path;  // the target up to '?'
  std::string query; // after '?', undecoded
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers; // names in lower case
  std::string body;
  bool keep_alive = true;
  std::string remote_address; // set by the server

  // The value of the first header called `name` (lower case), or nullptr.
  const std::string* header(std::string_view name) const;
};

class http_request_reader {
public:
  enum class state { need_more, complete, failed };

  explicit http_request_reader(http_limits limits) : limits_(limits) {}

  // Takes the next bytes of the connection. Bytes past a complete request are kept for the
  // next one (take() then reads them).
  state feed(std::string_view bytes);

  // The complete request; the reader then starts on the next one with whatever followed it.
  http_request take();

  // Whether any byte of the current request has arrived.
  bool started() const {
    return !buffer_.empty() || phase_ != phase::head;
  }

  // When failed: the status to answer with (400, 413, 414, 431, 501, 505) and why, in words a
  // client's author can act on.
  int error_status() const {
    return error_status_;
  }
  const std::string& error() const {
    return error_;
  }

private:
  enum class phase { head, body, done, failed };

  state advance();
  state fail(int status, std::string why);
  bool parse_head(std::string_view head);
  bool parse_request_line(std::string_view line);
  bool parse_header_line(std::string_view line);

  http_limits limits_;
  phase phase_ = phase::head;
  std::string buffer_;     // bytes not yet consumed
  size_t scanned_ = 0;     // of buffer_, searched for the head's end already
  size_t body_length_ = 0; // from Content-Length
  bool has_length_ = false;
  http_request request_;
  int error_status_ = 0;
  std::string error_;
};

} // namespace brokedancer
