#pragma once

// What a stranger sends the operator API before any credential is checked: the bytes of HTTP
// requests, read by runtime/http_request_reader. Each input is fed twice, whole and in pieces
// whose sizes the input's first byte picks: the reader must reach the same requests and the
// same refusal either way (a server reads whatever the network hands it), and whatever it
// accepts keeps within its limits.

#include <algorithm>
#include <string>
#include <vector>

#include "runtime/http_request_reader.hpp"
#include "tests/fuzz/harness/support.hpp"

namespace brokedancer::fuzz {

struct http_reading {
  std::vector<http_request> requests;
  int refused_with = 0;
};

inline http_limits fuzz_http_limits() {
  http_limits limits;
  limits.max_head_bytes = 1024; // small, so that the fuzzer reaches them
  limits.max_headers = 8;
  limits.max_target_bytes = 128;
  limits.max_body_bytes = 256;
  return limits;
}

inline http_reading read_http(std::string_view input, size_t piece) {
  http_reading out;
  http_request_reader reader{fuzz_http_limits()};
  auto take_all = [&](http_request_reader::state state) {
    while (state == http_request_reader::state::complete) {
      out.requests.push_back(reader.take());
      state = reader.feed({});
    }
    if (state == http_request_reader::state::failed)
      out.refused_with = reader.error_status();
    return state;
  };
  while (!input.empty() && out.refused_with == 0) {
    auto n = std::min(piece, input.size());
    take_all(reader.feed(input.substr(0, n)));
    input.remove_prefix(n);
  }
  return out;
}

inline bool same(const http_request& a, const http_request& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query
         && a.minor_version == b.minor_version && a.headers == b.headers && a.body == b.body
         && a.keep_alive == b.keep_alive;
}

inline void http_request_bytes(std::string_view input) {
  size_t piece = input.empty() ? 1 : 1 + static_cast<unsigned char>(input.front()) % 7;
  auto whole = read_http(input, input.size() + 1);
  auto pieces = read_http(input, piece);
  expect(whole.refused_with == pieces.refused_with, "pieces are refused as the whole is");
  expect(whole.requests.size() == pieces.requests.size(), "pieces make the same requests");
  for (size_t i = 0; i < whole.requests.size(); ++i)
    expect(same(whole.requests[i], pieces.requests[i]), "pieces make the same requests");
  auto limits = fuzz_http_limits();
  for (const auto& r : whole.requests) {
    expect(!r.method.empty() && r.method.size() <= 16, "a method is 1 to 16 letters");
    expect(!r.path.empty() && r.path.front() == '/', "a path begins with '/'");
    expect(r.path.size() + r.query.size() <= limits.max_target_bytes, "the target is bounded");
    expect(r.headers.size() <= limits.max_headers, "the headers are bounded in number");
    expect(r.body.size() <= limits.max_body_bytes, "the body is bounded");
    for (const auto& [name, value] : r.headers) {
      expect(!name.empty(), "a header has a name");
      expect(std::none_of(value.begin(), value.end(),
                          [](char c) { return c == '\r' || c == '\n' || c == '\0'; }),
             "a header value holds no line end");
      expect(name != "transfer-encoding", "Transfer-Encoding is never accepted");
    }
  }
  auto status = whole.refused_with;
  expect(status == 0 || status == 400 || status == 413 || status == 414 || status == 431
             || status == 501 || status == 505,
         "a refusal is one of the documented statuses");
}

} // namespace brokedancer::fuzz
