#include "core/json_check.hpp"

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace brokedancer {

namespace {

class json_checker {
public:
  explicit json_checker(std::string_view text)
    : at_(text.data()), end_(text.data() + text.size()) {}

  bool run() {
    // nlohmann skips a UTF-8 byte order mark at the very start.
    if (end_ - at_ >= 3 && at_[0] == '\xEF' && at_[1] == '\xBB' && at_[2] == '\xBF')
      at_ += 3;
    if (!value())
      return false;
    skip_space();
    return at_ == end_;
  }

  // Whether run() refused the text for nesting deeper than max_json_depth.
  bool too_deep() const {
    return too_deep_;
  }

private:
  // One value, containers walked with an explicit stack, at most max_json_depth deep: a
  // payload of a million '[' neither overflows this thread's stack nor reaches code that would
  // (nlohmann copies and dumps recursively).
  bool value() {
    for (;;) {
      skip_space();
      if (at_ == end_)
        return false;
      char c = *at_;
      if (c == '{' || c == '[') {
        ++at_;
        skip_space();
        char close = c == '{' ? '}' : ']';
        if (at_ != end_ && *at_ == close) {
          ++at_;
        } else {
          if (open_.size() == static_cast<size_t>(max_json_depth)) {
            too_deep_ = true;
            return false;
          }
          open_.push_back(c);
          if (c == '{' && !key())
            return false;
          continue; // the first member's value
        }
      } else if (!scalar()) {
        return false;
      }
      // A value is complete: close what it completes, or go on to the next member.
      for (;;) {
        if (open_.empty())
          return true;
        skip_space();
        if (at_ == end_)
          return false;
        char open = open_.back();
        if (*at_ == ',') {
          ++at_;
          if (open == '{' && !key())
            return false;
          break;
        }
        if (*at_ != (open == '{' ? '}' : ']'))
          return false;
        ++at_;
        open_.pop_back();
      }
    }
  }

  // A member's name and its colon.
  bool key() {
    skip_space();
    if (at_ == end_ || *at_ != '"' || !string())
      return false;
    skip_space();
    if (at_ == end_ || *at_ != ':')
      return false;
    ++at_;
    return true;
  }

  bool scalar() {
    switch (*at_) {
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - at_) < word.size() || std::string_view{at_, word.size()} != word)
      return false;
    at_ += word.size();
    return true;
  }

  bool digit() const {
    return at_ != end_ && *at_ >= '0' && *at_ <= '9';
  }

  bool number() {
    const char* start = at_;
    if (*at_ == '-')
      ++at_;
    if (!digit())
      return false;
    int64_t integer_digits = 0;
    if (*at_ == '0') {
      ++at_;
    } else {
      while (digit())
        ++at_, ++integer_digits;
    }
    if (at_ != end_ && *at_ == '.') {
      ++at_;
      if (!digit())
        return false;
      while (digit())
        ++at_;
    }
    int64_t exponent = 0;
    if (at_ != end_ && (*at_ == 'e' || *at_ == 'E')) {
      ++at_;
      bool negative = false;
      if (at_ != end_ && (*at_ == '+' || *at_ == '-'))
        negative = *at_++ == '-';
      if (!digit())
        return false;
      for (; digit(); ++at_)
        if (exponent < 100000)
          exponent = exponent * 10 + (*at_ - '0');
      if (negative)
        exponent = -exponent;
    }
    // The value is below 10^(integer_digits + exponent), and 10^308 is below the largest
    // double: only a number past that may overflow, which nlohmann refuses. Those few are
    // left to nlohmann itself, to refuse exactly what it refuses.
    if (integer_digits + exponent <= 308)
      return true;
    return nlohmann::json::accept(std::string_view{start, static_cast<size_t>(at_ - start)});
  }

  static bool in(unsigned char c, unsigned char low, unsigned char high) {
    return c >= low && c <= high;
  }

  // Past the opening quote to past the closing one.
  bool string() {
    ++at_;
    while (at_ != end_) {
      auto c = static_cast<unsigned char>(*at_);
      if (c == '"') {
        ++at_;
        return true;
      }
      if (c == '\\') {
        if (!escape())
          return false;
      } else if (c < 0x20) {
        return false; // control characters must be escaped
      } else if (c < 0x80) {
        ++at_;
      } else if (!utf8_sequence(c)) {
        return false;
      }
    }
    return false;
  }

  // One multi-byte UTF-8 sequence, well-formed as RFC 3629 has it.
  bool utf8_sequence(unsigned char lead) {
    unsigned char low = 0x80, high = 0xBF;
    size_t length = 0;
    if (in(lead, 0xC2, 0xDF)) {
      length = 2;
    } else if (in(lead, 0xE0, 0xEF)) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (in(lead, 0xF0, 0xF4)) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return false;
    }
    if (static_cast<size_t>(end_ - at_) < length
        || !in(static_cast<unsigned char>(at_[1]), low, high))
      return false;
    for (size_t i = 2; i < length; ++i)
      if (!in(static_cast<unsigned char>(at_[i]), 0x80, 0xBF))
        return false;
    at_ += length;
    return true;
  }

  // \uXXXX's code unit, or -1.
  int32_t hex4() {
    if (end_ - at_ < 4)
      return -1;
    int32_t unit = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *at_++;
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0)
        return -1;
      unit = unit * 16 + v;
    }
    return unit;
  }

  bool escape() {
    ++at_;
    if (at_ == end_)
      return false;
    char c = *at_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't': return true;
      case 'u': break;
      default: return false;
    }
    auto unit = hex4();
    if (unit < 0 || in_range(unit, 0xDC00, 0xDFFF))
      return false; // a low surrogate must follow a high one
    if (!in_range(unit, 0xD800, 0xDBFF))
      return true;
    if (end_ - at_ < 2 || at_[0] != '\\' || at_[1] != 'u')
      return false;
    at_ += 2;
    auto low = hex4();
    return in_range(low, 0xDC00, 0xDFFF);
  }

  static bool in_range(int32_t x, int32_t low, int32_t high) {
    return x >= low && x <= high;
  }

  void skip_space() {
    while (at_ != end_ && (*at_ == ' ' || *at_ == '\t' || *at_ == '\n' || *at_ == '\r'))
      ++at_;
  }

  const char* at_;
  const char* end_;
  std::string open_; // the open containers, '{' or '['
  bool too_deep_ = false;
};

} // namespace

std::string json_text_problem(std::string_view text) {
  json_checker checker{text};
  if (checker.run())
    return {};
  if (checker.too_deep())
    return "nests containers deeper than " + std::to_string(max_json_depth) + " levels";
  return "is not valid JSON";
}

bool is_json_text(std::string_view text) {
  return json_checker{text}.run();
}

} // namespace brokedancer
