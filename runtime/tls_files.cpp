#include "runtime/tls_files.hpp"

#include <cstring>
#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace brokedancer {

namespace {

std::string openssl_errors() {
  std::string text;
  while (auto code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text += (text.empty() ? "" : "; ") + std::string{buffer};
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

int give_passphrase(char* buffer, int size, int, void* user) {
  const auto* passphrase = static_cast<const std::string*>(user);
  if (size <= 0 || passphrase->size() >= static_cast<size_t>(size))
    return 0;
  std::memcpy(buffer, passphrase->data(), passphrase->size());
  return static_cast<int>(passphrase->size());
}

} // namespace

std::string check_tls_files(const std::string& certificate, const std::string& key,
                            const std::string& ca, const std::string& passphrase) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return "cannot set up OpenSSL: " + openssl_errors();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), certificate.c_str()) != 1)
    return "node.tls_certificate \"" + certificate
           + "\" is not a readable PEM certificate: " + openssl_errors();
  SSL_CTX_set_default_passwd_cb(ctx.get(), give_passphrase);
  SSL_CTX_set_default_passwd_cb_userdata(ctx.get(), const_cast<std::string*>(&passphrase));
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    return "node.tls_key \"" + key
           + "\" is not a readable PEM private key (or BROKEDANCER_NODE_TLS_PASSPHRASE does not "
             "open it): "
           + openssl_errors();
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return "node.tls_key \"" + key + "\" is not the key of node.tls_certificate \"" + certificate
           + "\"";
  if (SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr) != 1)
    return "node.tls_ca \"" + ca
           + "\" is not a readable PEM file of certificate authorities: " + openssl_errors();
  return {};
}

} // namespace brokedancer
