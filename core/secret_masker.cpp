#include "core/secret_masker.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <nlohmann/json.hpp>

namespace brokedancer {

namespace {

constexpr std::array<std::string_view, 9> secret_key_words = {
    "password", "passwd",  "secret",        "token",     "api_key",
    "apikey",   "api-key", "authorization", "credential"};

std::string lowercase(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

void replace_all(std::string& text, std::string_view needle, std::string_view replacement) {
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + replacement.size()))
    text.replace(pos, needle.size(), replacement);
}

// scheme://user:password@host -> scheme://user:***@host; scheme://token@host -> scheme://***@host
void mask_url_credentials(std::string& text) {
  for (auto scheme_end = text.find("://"); scheme_end != std::string::npos;
       scheme_end = text.find("://", scheme_end + 3)) {
    auto authority = scheme_end + 3;
    auto authority_end = text.find_first_of("/ \t\n\"'<>,;", authority);
    if (authority_end == std::string::npos)
      authority_end = text.size();
    auto at = text.rfind('@', authority_end);
    if (at == std::string::npos || at < authority)
      continue;
    auto colon = text.find(':', authority);
    auto hidden_from = (colon != std::string::npos && colon < at) ? colon + 1 : authority;
    if (text.compare(hidden_from, at - hidden_from, secret_masker::mask) != 0 && at > hidden_from)
      text.replace(hidden_from, at - hidden_from, secret_masker::mask);
  }
}

// key=value, key: value, "key": "value", Authorization: Bearer value
void mask_key_values(std::string& text) {
  auto lower = lowercase(text);
  size_t search_from = 0;
  while (search_from < lower.size()) {
    auto hit = std::string::npos;
    for (auto word : secret_key_words)
      hit = std::min(hit, lower.find(word, search_from));
    if (hit == std::string::npos)
      return;
    auto pos = hit;
    while (pos < text.size() && is_key_char(text[pos]))
      ++pos;
    auto after_key = pos;
    if (pos < text.size() && (text[pos] == '"' || text[pos] == '\''))
      ++pos;
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
    if (pos >= text.size() || (text[pos] != '=' && text[pos] != ':')) {
      search_from = after_key;
      continue;
    }
    ++pos;
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
    char quote = 0;
    if (pos < text.size() && (text[pos] == '"' || text[pos] == '\''))
      quote = text[pos++];
    for (auto scheme : {"bearer ", "basic ", "token "}) {
      if (lower.compare(pos, std::char_traits<char>::length(scheme), scheme) == 0)
        pos += std::char_traits<char>::length(scheme);
    }
    auto value_end = pos;
    if (quote != 0) {
      while (value_end < text.size() && text[value_end] != quote) {
        if (text[value_end] == '\\' && value_end + 1 < text.size())
          ++value_end;
        ++value_end;
      }
    } else {
      while (value_end < text.size() && !std::isspace(static_cast<unsigned char>(text[value_end]))
             && text[value_end] != ',' && text[value_end] != ';' && text[value_end] != '&'
             && text[value_end] != '}' && text[value_end] != ')')
        ++value_end;
    }
    auto length = value_end - pos;
    if (length > 0 && text.compare(pos, length, secret_masker::mask) != 0) {
      text.replace(pos, length, secret_masker::mask);
      lower.replace(pos, length, secret_masker::mask);
      value_end = pos + secret_masker::mask.size();
    }
    search_from = std::max(value_end, after_key);
  }
}

} // namespace

void secret_masker::add_secret(std::string value) {
  if (value.empty())
    return;
  std::lock_guard<std::mutex> guard{mutex_};
  auto updated = std::make_shared<secret_list>(*secrets_);
  if (std::find(updated->begin(), updated->end(), value) != updated->end())
    return;
  updated->push_back(std::move(value));
  // Longest first, so a secret that contains another is hidden whole.
  std::sort(updated->begin(), updated->end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  secrets_ = std::move(updated);
}

std::shared_ptr<const secret_masker::secret_list> secret_masker::snapshot() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return secrets_;
}

void secret_masker::apply(std::string& text) const {
  apply_known_and_urls(text);
  mask_key_values(text);
}

// An operator token (bd1_ and 64 hex digits, runtime/operator_auth.hpp) wherever it appears:
// the node never holds one, but an operator may paste one where it does not belong.
static void mask_operator_tokens(std::string& text) {
  constexpr std::string_view prefix = "bd1_";
  for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    auto end = at + prefix.size();
    while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end])))
      ++end;
    if (end - at - prefix.size() >= 32)
      text.replace(at + prefix.size(), end - at - prefix.size(), secret_masker::mask);
  }
}

void secret_masker::apply_known_and_urls(std::string& text) const {
  for (const auto& secret : *snapshot())
    replace_all(text, secret, mask);
  mask_url_credentials(text);
  mask_operator_tokens(text);
}

std::string secret_masker::masked(std::string_view text) const {
  std::string result(text);
  apply(result);
  return result;
}

void secret_masker::apply(nlohmann::json& value) const {
  if (value.is_string()) {
    apply(value.get_ref<std::string&>());
  } else if (value.is_array()) {
    for (auto& element : value)
      apply(element);
  } else if (value.is_object()) {
    for (auto& [key, element] : value.items()) {
      // json::empty() is false for every string, so test an empty string explicitly.
      bool present = !element.is_null()
                     && !(element.is_string() && element.get_ref<const std::string&>().empty());
      if (is_secret_key(key) && present && !element.is_boolean())
        element = std::string{mask};
      else
        apply(element);
    }
  }
}

bool secret_masker::is_secret_key(std::string_view key) {
  auto lower = lowercase(key);
  return std::any_of(secret_key_words.begin(), secret_key_words.end(),
                     [&](auto word) { return lower.find(word) != std::string::npos; });
}

} // namespace brokedancer
