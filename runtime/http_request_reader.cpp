#include "runtime/http_request_reader.hpp"

#include <algorithm>
#include <cctype>

namespace brokedancer {

namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view head_end = "\r\n\r\n";
constexpr size_t max_method_bytes = 16;
constexpr size_t max_length_digits = 18; // below 2^63: no overflow while summing

// RFC 9110's tchar: what a method or a header name is made of.
bool token_char(unsigned char c) {
  if (std::isalnum(c))
    return true;
  return std::string_view{"!#$%&'*+-.^_`|~"}.find(static_cast<char>(c)) != std::string_view::npos;
}

// A header value's bytes: visible ASCII, space, tab and (obsolete, but harmless) bytes above
// 0x7F. Never CR, LF, NUL or another control.
bool value_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

std::string lower(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Whether a comma-separated header value (Connection) lists `option`, in any case.
bool lists(std::string_view value, std::string_view option) {
  while (!value.empty()) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (lower(item) == option)
      return true;
    if (comma == std::string_view::npos)
      break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

} // namespace

const std::string* http_request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name)
      return &value;
  return nullptr;
}

http_request_reader::state http_request_reader::feed(std::string_view bytes) {
  if (phase_ == phase::failed)
    return state::failed;
  buffer_.append(bytes.data(), bytes.size());
  return advance();
}

http_request http_request_reader::take() {
  auto done = std::move(request_);
  request_ = http_request{};
  phase_ = phase::head;
  scanned_ = 0;
  body_length_ = 0;
  has_length_ = false;
  return done;
}

http_request_reader::state http_request_reader::advance() {
  if (phase_ == phase::done)
    return state::complete;
  if (phase_ == phase::head) {
    // Empty lines before a request line are skipped (RFC 9112, 2.2).
    size_t blank = 0;
    while (buffer_.compare(blank, crlf.size(), crlf) == 0)
      blank += crlf.size();
    if (blank > 0) {
      buffer_.erase(0, blank);
      scanned_ = 0;
    }
    auto from = scanned_ >= head_end.size() ? scanned_ - (head_end.size() - 1) : 0;
    auto end = buffer_.find(head_end, from);
    // A line ended by a bare LF would leave the head unended until the deadline: refused now.
    // (Within the head's limit only, so that a long head is refused alike however it arrives.)
    auto head_bytes = std::min(end == std::string::npos ? buffer_.size() : end + head_end.size(),
                               limits_.max_head_bytes);
    for (auto lf = buffer_.find('\n', scanned_); lf < head_bytes; lf = buffer_.find('\n', lf + 1))
      if (lf == 0 || buffer_[lf - 1] != '\r')
        return fail(400, "a line of the request does not end in CRLF");
    if (end == std::string::npos) {
      scanned_ = buffer_.size();
      if (buffer_.size() > limits_.max_head_bytes)
        return fail(431, "the request line and headers exceed "
                             + std::to_string(limits_.max_head_bytes) + " bytes");
      return state::need_more;
    }
    if (end + head_end.size() > limits_.max_head_bytes)
      return fail(431, "the request line and headers exceed "
                           + std::to_string(limits_.max_head_bytes) + " bytes");
    if (!parse_head(std::string_view{buffer_}.substr(0, end + crlf.size())))
      return state::failed;
    buffer_.erase(0, end + head_end.size());
    phase_ = phase::body;
  }
  if (buffer_.size() < body_length_)
    return state::need_more;
  request_.body = buffer_.substr(0, body_length_);
  buffer_.erase(0, body_length_);
  phase_ = phase::done;
  return state::complete;
}

http_request_reader::state http_request_reader::fail(int status, std::string why) {
  phase_ = phase::failed;
  error_status_ = status;
  error_ = std::move(why);
  buffer_.clear();
  return state::failed;
}

// `head`: every line of the head with its CRLF, without the empty line that ends it.
bool http_request_reader::parse_head(std::string_view head) {
  auto line_end = head.find(crlf);
  if (!parse_request_line(head.substr(0, line_end)))
    return false;
  head.remove_prefix(line_end + crlf.size());
  while (!head.empty()) {
    line_end = head.find(crlf);
    if (!parse_header_line(head.substr(0, line_end)))
      return false;
    head.remove_prefix(line_end + crlf.size());
  }
  auto* connection = request_.header("connection");
  request_.keep_alive = request_.minor_version == 1
                            ? !(connection != nullptr && lists(*connection, "close"))
                            : connection != nullptr && lists(*connection, "keep-alive");
  return true;
}

bool http_request_reader::parse_request_line(std::string_view line) {
  auto first = line.find(' ');
  auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    fail(400, "the request line is not METHOD SP TARGET SP HTTP/1.1");
    return false;
  }
  auto method = line.substr(0, first);
  auto target = line.substr(first + 1, second - first - 1);
  auto version = line.substr(second + 1);
  if (method.empty() || method.size() > max_method_bytes
      || !std::all_of(method.begin(), method.end(),
                      [](unsigned char c) { return std::isupper(c) != 0; })) {
    fail(400, "the method must be 1 to 16 capital letters (GET, POST, ...)");
    return false;
  }
  if (target.size() > limits_.max_target_bytes) {
    fail(414, "the target exceeds " + std::to_string(limits_.max_target_bytes) + " bytes");
    return false;
  }
  if (target.empty() || target.front() != '/'
      || !std::all_of(target.begin(), target.end(),
                      [](unsigned char c) { return c > 0x20 && c < 0x7f; })) {
    fail(400, "the target must be a path beginning with '/', in visible ASCII");
    return false;
  }
  if (version == "HTTP/1.1") {
    request_.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    request_.minor_version = 0;
  } else {
    fail(505, "only HTTP/1.1 and HTTP/1.0 are spoken here");
    return false;
  }
  request_.method = std::string{method};
  auto question = target.find('?');
  request_.path = std::string{target.substr(0, question)};
  if (question != std::string_view::npos)
    request_.query = std::string{target.substr(question + 1)};
  return true;
}

bool http_request_reader::parse_header_line(std::string_view line) {
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    fail(400, "folded header lines are not accepted");
    return false;
  }
  auto colon = line.find(':');
  auto name = line.substr(0, colon);
  if (colon == std::string_view::npos || name.empty()
      || !std::all_of(name.begin(), name.end(), token_char)) {
    fail(400, "a header line must be NAME: VALUE, its name a token");
    return false;
  }
  auto value = trim(line.substr(colon + 1));
  if (!std::all_of(value.begin(), value.end(), value_char)) {
    fail(400, "a header value holds a control character");
    return false;
  }
  if (request_.headers.size() >= limits_.max_headers) {
    fail(431, "more than " + std::to_string(limits_.max_headers) + " headers");
    return false;
  }
  auto key = lower(name);
  if (key == "transfer-encoding") {
    fail(501, "Transfer-Encoding is not accepted; send the body with a Content-Length");
    return false;
  }
  if (key == "content-length") {
    if (value.empty() || value.size() > max_length_digits
        || !std::all_of(value.begin(), value.end(),
                        [](unsigned char c) { return std::isdigit(c) != 0; })) {
      fail(400, "Content-Length must be a decimal number");
      return false;
    }
    auto length = std::stoull(std::string{value});
    if (has_length_ && length != body_length_) {
      fail(400, "two Content-Length headers disagree");
      return false;
    }
    if (length > limits_.max_body_bytes) {
      fail(413, "a body is at most " + std::to_string(limits_.max_body_bytes) + " bytes");
      return false;
    }
    has_length_ = true;
    body_length_ = static_cast<size_t>(length);
  }
  request_.headers.emplace_back(std::move(key), std::string{value});
  return true;
}

} // namespace brokedancer
