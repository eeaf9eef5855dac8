#include "runtime/dashboard_page.hpp"

#include <openssl/evp.h>

namespace brokedancer {

namespace {

// 'sha256-<base64>' of the page's inline script: the browser runs that script and no other,
// so text an event smuggled into the page could not run even if it escaped its escaping.
std::string script_source() {
  auto page = dashboard_page();
  constexpr std::string_view open = "<script>";
  constexpr std::string_view close = "</script>";
  auto begin = page.find(open);
  auto end = begin == std::string_view::npos ? begin : page.find(close, begin);
  if (begin == std::string_view::npos || end == std::string_view::npos)
    return "'none'";
  auto script = page.substr(begin + open.size(), end - begin - open.size());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(script.data(), script.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    return "'none'";
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  auto n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(encoded), static_cast<size_t>(n))
         + "'";
}

} // namespace

const std::string& dashboard_content_security_policy() {
  static const std::string policy =
      "default-src 'none'; script-src " + script_source()
      + "; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'";
  return policy;
}

} // namespace brokedancer
