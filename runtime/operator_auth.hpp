#pragma once

// Who may operate a node, and how a request proves it: plain code, no actors, time passed in.
//
// - A credential is a name, a role and a random token. The node keeps only the SHA-256 of each
//   token (a credentials file or BROKEDANCER_NODE_CREDENTIALS), so a copy of that file opens
//   nothing; the operator keeps the token (BROKEDANCER_TOKEN or a token file).
// - Roles: `operator` may read the status, HALT and SHUTDOWN; `risk` may do all of that and is
//   the only one that may lower a level (resume).
// - A token is checked against every credential in constant time; failed attempts are counted
//   per remote address and, past a limit, refused before any check (auth_throttle).

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "messages/operator_role.hpp"

namespace brokedancer {

using token_digest = std::array<unsigned char, 32>;

struct operator_credential {
  std::string name;
  operator_role role = operator_role::operator_role;
  token_digest digest{};
};

// Tokens look like "bd1_" followed by 64 hex digits (256 random bits); the prefix lets secret
// scanners and the log masker recognise one.
constexpr std::string_view token_prefix = "bd1_";
std::string make_token();
token_digest digest_of(std::string_view token);
std::string to_hex(const token_digest& digest);
// The value of a hexadecimal digit (either case), or -1.
int hex_digit_value(char c);

// One credential a line: `NAME ROLE SHA256-HEX`; blank lines and lines starting with '#' are
// skipped. Returns false with `why` (naming the line, never the digest) on the first bad line.
bool parse_credentials(std::string_view text, std::vector<operator_credential>& out,
                       std::string& why);
std::string credential_line(const operator_credential& credential);

class credential_set {
public:
  credential_set() = default;
  explicit credential_set(std::vector<operator_credential> credentials);

  // The credential the token belongs to, or none. Takes the same time whichever credential
  // matches, or none: every digest is compared in full.
  std::optional<operator_credential> authenticate(std::string_view token) const;

  bool empty() const {
    return credentials_.empty();
  }
  size_t size() const {
    return credentials_.size();
  }

private:
  std::vector<operator_credential> credentials_;
};

// Failed attempts per remote address. After `max_failures` within `window`, an address is
// refused until its oldest failure leaves the window; a success does not reset the count (a
// guesser with one good token must not gain free guesses). The table holds at most
// `max_addresses`; when full, an unknown address is refused too (a flood from many addresses
// is throttled as a whole rather than growing the table).
class auth_throttle {
public:
  using clock = std::chrono::steady_clock;

  struct settings {
    uint32_t max_failures = 5;
    std::chrono::seconds window{60};
    size_t max_addresses = 4096;
  };

  auth_throttle() = default;
  explicit auth_throttle(settings s) : settings_(s) {}

  // Whether a request from `address` may be checked at all; when not, how long until it may.
  std::optional<std::chrono::seconds> refused_for(const std::string& address,
                                                  clock::time_point now);
  void failed(const std::string& address, clock::time_point now);

private:
  void forget_old(clock::time_point now);

  settings settings_;
  std::map<std::string, std::deque<clock::time_point>> failures_;
};

} // namespace brokedancer
