#pragma once

// Hides secrets in text before it reaches any log sink or error message. Three rules:
//   1. every value registered with add_secret (the Redis password, API keys, tokens), wherever
//      it appears;
//   2. the password in a URL's user-info: redis://:hunter2@host -> redis://:***@host;
//   3. the value after a secret-looking key: password=..., "api_key": "...", token: ...,
//      Authorization: Bearer ...
// Rule 3 masks a little too much rather than too little: a field called max_tokens is hidden.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace brokedancer {

class secret_masker {
public:
  static constexpr std::string_view mask = "***";

  // Registers a value to hide wherever it appears. Empty values are ignored.
  void add_secret(std::string value);

  // Masks `text` in place.
  void apply(std::string& text) const;

  std::string masked(std::string_view text) const;

  // Rules 1 and 2 only: for text whose own wording names secrets ("$.redis.password: ..."),
  // where rule 3 would hide the explanation instead of a value.
  void apply_known_and_urls(std::string& text) const;

  // Masks every string in `value`, and replaces the whole value of any key that looks secret.
  void apply(nlohmann::json& value) const;

  // True for keys such as password, redis_password, api_key, apiKey, token, authorization.
  static bool is_secret_key(std::string_view key);

private:
  using secret_list = std::vector<std::string>;
  // Written rarely (at start-up), read on every log line: readers take a snapshot.
  std::shared_ptr<const secret_list> snapshot() const;

  mutable std::mutex mutex_;
  std::shared_ptr<const secret_list> secrets_ = std::make_shared<secret_list>();
};

} // namespace brokedancer
