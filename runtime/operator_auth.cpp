#include "runtime/operator_auth.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/host_port.hpp"

namespace brokedancer {

std::string to_hex(const token_digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (auto byte : digest) {
    out += digits[byte >> 4];
    out += digits[byte & 0x0F];
  }
  return out;
}

std::string make_token() {
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
    throw std::runtime_error("the system's random source failed; no token was made");
  return std::string{token_prefix} + to_hex(random);
}

token_digest digest_of(std::string_view token) {
  token_digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1
      || length != digest.size())
    throw std::runtime_error("SHA-256 failed");
  return digest;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

namespace {

bool parse_hex(std::string_view text, token_digest& out) {
  if (text.size() != out.size() * 2)
    return false;
  for (size_t i = 0; i < out.size(); ++i) {
    int high = hex_digit_value(text[2 * i]);
    int low = hex_digit_value(text[2 * i + 1]);
    if (high < 0 || low < 0)
      return false;
    out[i] = static_cast<unsigned char>(high * 16 + low);
  }
  return true;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])))
      ++i;
    size_t start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
      ++i;
    if (i > start)
      out.push_back(line.substr(start, i - start));
  }
  return out;
}

} // namespace

bool parse_credentials(std::string_view text, std::vector<operator_credential>& out,
                       std::string& why) {
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    auto line =
        text.substr(start, end == std::string_view::npos ? text.size() - start : end - start);
    start = end == std::string_view::npos ? text.size() : end + 1;
    ++line_number;
    auto parts = words(line);
    if (parts.empty() || parts.front().front() == '#')
      continue;
    auto where = "line " + std::to_string(line_number) + ": ";
    if (parts.size() != 3) {
      why = where + "expected NAME ROLE SHA256 (three words), found " + std::to_string(parts.size())
            + " words";
      return false;
    }
    operator_credential credential;
    credential.name = std::string{parts[0]};
    if (!valid_node_name(credential.name)) {
      why = where + "a credential's name is 1 to 64 letters, digits, '-', '_' or '.'";
      return false;
    }
    if (!from_string(parts[1], credential.role)) {
      why = where + "the role of \"" + credential.name + "\" must be viewer, operator or risk";
      return false;
    }
    if (!parse_hex(parts[2], credential.digest)) {
      why = where + "the third word of \"" + credential.name
            + "\" must be the SHA-256 of its token, 64 hex digits (brokedancer credentials add "
              "writes such lines)";
      return false;
    }
    if (std::any_of(out.begin(), out.end(),
                    [&](const operator_credential& c) { return c.name == credential.name; })) {
      why = where + "the name \"" + credential.name + "\" is used twice";
      return false;
    }
    out.push_back(std::move(credential));
  }
  return true;
}

std::string credential_line(const operator_credential& credential) {
  return credential.name + ' ' + to_string(credential.role) + ' ' + to_hex(credential.digest);
}

credential_set::credential_set(std::vector<operator_credential> credentials)
  : credentials_(std::move(credentials)) {}

std::optional<operator_credential> credential_set::authenticate(std::string_view token) const {
  auto digest = digest_of(token);
  const operator_credential* found = nullptr;
  for (const auto& c : credentials_) {
    // No early exit and no short-circuit: the time does not tell which credential matched.
    bool same = CRYPTO_memcmp(c.digest.data(), digest.data(), digest.size()) == 0;
    found = same ? &c : found;
  }
  if (!found)
    return std::nullopt;
  return *found;
}

void auth_throttle::forget_old(clock::time_point now) {
  for (auto it = failures_.begin(); it != failures_.end();) {
    auto& times = it->second;
    while (!times.empty() && now - times.front() >= settings_.window)
      times.pop_front();
    it = times.empty() ? failures_.erase(it) : std::next(it);
  }
}

std::optional<std::chrono::seconds> auth_throttle::refused_for(const std::string& address,
                                                               clock::time_point now) {
  forget_old(now);
  auto found = failures_.find(address);
  if (found == failures_.end()) {
    if (failures_.size() >= settings_.max_addresses)
      return settings_.window;
    return std::nullopt;
  }
  if (found->second.size() < settings_.max_failures)
    return std::nullopt;
  auto until = found->second.front() + settings_.window;
  return std::max(std::chrono::seconds{1},
                  std::chrono::duration_cast<std::chrono::seconds>(until - now));
}

void auth_throttle::failed(const std::string& address, clock::time_point now) {
  forget_old(now);
  auto found = failures_.find(address);
  if (found == failures_.end()) {
    if (failures_.size() >= settings_.max_addresses)
      return;
    found = failures_.emplace(address, std::deque<clock::time_point>{}).first;
  }
  found->second.push_back(now);
  // Only the newest max_failures matter for the decision.
  while (found->second.size() > settings_.max_failures)
    found->second.pop_front();
}

} // namespace brokedancer
