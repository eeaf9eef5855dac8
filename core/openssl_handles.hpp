#pragma once

// OpenSSL objects owned by unique_ptr, and its last error as text: what the code that makes
// certificates (runtime/certificates) and the code that checks peers (core/node_identity)
// share.

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace brokedancer::openssl {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* x) const {
    Free(x);
  }
};

using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using store_ptr = std::unique_ptr<X509_STORE, deleter<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, deleter<SSL_CTX, SSL_CTX_free>>;
using ssl_ptr = std::unique_ptr<SSL, deleter<SSL, SSL_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

// The oldest error OpenSSL has queued, as text; the queue is cleared.
inline std::string last_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  char text[256] = "unknown OpenSSL error";
  if (code != 0)
    ERR_error_string_n(code, text, sizeof(text));
  return text;
}

} // namespace brokedancer::openssl
