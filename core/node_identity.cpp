#include "core/node_identity.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/openssl_handles.hpp"

namespace brokedancer {

namespace {

using openssl::bio_ptr;
using openssl::md_ctx_ptr;
using openssl::pkey_ptr;
using openssl::store_ctx_ptr;
using openssl::store_ptr;
using openssl::x509_ptr;

struct stack_deleter {
  void operator()(STACK_OF(X509) * s) const {
    sk_X509_pop_free(s, X509_free);
  }
};

bool read_file(const std::string& path, std::string& text) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  text = buffer.str();
  return true;
}

std::string common_name(X509* cert) {
  char name[256] = {};
  int length =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  // A name that fills the buffer may have been cut: it names no node (at most 64 characters).
  if (length <= 0 || static_cast<size_t>(length) >= sizeof(name) - 1)
    return {};
  return std::string(name, static_cast<size_t>(length));
}

// Every certificate in `pem`, leaf first.
std::vector<x509_ptr> read_certificates(std::string_view pem) {
  std::vector<x509_ptr> out;
  bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  if (!bio)
    return out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.emplace_back(cert);
  ERR_clear_error(); // the end of the input reads as an error
  return out;
}

} // namespace

std::string hello_payload(std::string_view name, std::string_view from_node,
                          std::string_view to_node, int64_t at_us, std::string_view session_public,
                          std::string_view answers) {
  static constexpr char digits[] = "0123456789abcdef";
  auto hex = [](std::string& out, std::string_view bytes) {
    for (unsigned char c : bytes) {
      out += digits[c >> 4];
      out += digits[c & 0xf];
    }
  };
  std::string out = "brokedancer-hello-v2\n";
  out.append(name).append("\n").append(from_node).append("\n").append(to_node).append("\n");
  out += std::to_string(at_us);
  out += "\n";
  hex(out, session_public);
  out += "\n";
  hex(out, answers);
  return out;
}

struct node_identity::impl {
  std::string name;
  std::string certificate_pem;
  pkey_ptr key;
  store_ptr authority;
};

node_identity::node_identity() : impl_(std::make_unique<impl>()) {}
node_identity::~node_identity() = default;

std::unique_ptr<node_identity>
node_identity::load(const std::string& certificate_file, const std::string& key_file,
                    const std::string& ca_file, const std::string& passphrase, std::string& why) {
  std::unique_ptr<node_identity> id{new node_identity()};
  auto& d = *id->impl_;
  if (!read_file(certificate_file, d.certificate_pem)) {
    why = "cannot read node.tls_certificate \"" + certificate_file + "\"";
    return nullptr;
  }
  auto chain = read_certificates(d.certificate_pem);
  if (chain.empty()) {
    why = "node.tls_certificate \"" + certificate_file + "\" holds no PEM certificate";
    return nullptr;
  }
  if (d.certificate_pem.size() > max_certificate_bytes) {
    why = "node.tls_certificate \"" + certificate_file + "\" is larger than "
          + std::to_string(max_certificate_bytes) + " bytes; peers would refuse it";
    return nullptr;
  }
  d.name = common_name(chain.front().get());
  if (d.name.empty()) {
    why = "node.tls_certificate \"" + certificate_file
          + "\" has no common name: a node's certificate names the node (CN=NAME)";
    return nullptr;
  }
  std::string key_pem;
  if (!read_file(key_file, key_pem)) {
    why = "cannot read node.tls_key \"" + key_file + "\"";
    return nullptr;
  }
  bio_ptr key_bio{BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()))};
  d.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr,
                                      const_cast<char*>(passphrase.c_str())));
  if (!d.key) {
    ERR_clear_error();
    why = "cannot read the private key in node.tls_key \"" + key_file
          + "\" (is node.tls_passphrase right?)";
    return nullptr;
  }
  if (X509_check_private_key(chain.front().get(), d.key.get()) != 1) {
    ERR_clear_error();
    why = "node.tls_key \"" + key_file + "\" is not the key of node.tls_certificate";
    return nullptr;
  }
  d.authority.reset(X509_STORE_new());
  if (!d.authority || X509_STORE_load_file(d.authority.get(), ca_file.c_str()) != 1) {
    why = "cannot read the authority in node.tls_ca \"" + ca_file + "\": " + openssl::last_error();
    return nullptr;
  }
  return id;
}

const std::string& node_identity::name() const {
  return impl_->name;
}

const std::string& node_identity::certificate_pem() const {
  return impl_->certificate_pem;
}

std::string node_identity::sign(std::string_view payload) const {
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, impl_->key.get()) != 1
      || EVP_DigestSign(ctx.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(payload.data()), payload.size())
             != 1) {
    ERR_clear_error();
    return {};
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(payload.data()), payload.size())
      != 1) {
    ERR_clear_error();
    return {};
  }
  signature.resize(length);
  return signature;
}

std::string node_identity::check(std::string_view certificate_pem, std::string_view signature,
                                 std::string_view payload, std::string_view claimed_name) const {
  if (certificate_pem.empty() || certificate_pem.size() > max_certificate_bytes)
    return "no certificate, or one larger than " + std::to_string(max_certificate_bytes) + " bytes";
  if (signature.empty() || signature.size() > max_signature_bytes)
    return "no signature, or one larger than " + std::to_string(max_signature_bytes) + " bytes";
  auto chain = read_certificates(certificate_pem);
  if (chain.empty())
    return "the certificate is not PEM";
  auto* leaf = chain.front().get();
  std::unique_ptr<STACK_OF(X509), stack_deleter> untrusted{sk_X509_new_null()};
  for (size_t i = 1; i < chain.size(); ++i)
    sk_X509_push(untrusted.get(), chain[i].release());
  store_ctx_ptr verify{X509_STORE_CTX_new()};
  if (!verify
      || X509_STORE_CTX_init(verify.get(), impl_->authority.get(), leaf, untrusted.get()) != 1) {
    ERR_clear_error();
    return "cannot check the certificate";
  }
  if (X509_verify_cert(verify.get()) != 1) {
    auto code = X509_STORE_CTX_get_error(verify.get());
    ERR_clear_error();
    return std::string{"the certificate is not one of the cluster's authority: "}
           + X509_verify_cert_error_string(code);
  }
  auto name = common_name(leaf);
  if (name != claimed_name)
    return "the certificate names \"" + name + "\", not \"" + std::string{claimed_name} + "\"";
  pkey_ptr key{X509_get_pubkey(leaf)};
  md_ctx_ptr ctx{EVP_MD_CTX_new()};
  if (!key || !ctx
      || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    ERR_clear_error();
    return "cannot check the signature";
  }
  int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(),
                            reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  ERR_clear_error();
  return ok == 1 ? std::string{} : "the signature does not verify with the certificate's key";
}

bool node_identity::names_host(std::string_view certificate_pem, std::string_view host) {
  if (host.empty() || certificate_pem.size() > max_certificate_bytes)
    return false;
  auto certificates = read_certificates(certificate_pem);
  if (certificates.empty())
    return false;
  auto* leaf = certificates.front().get();
  std::string name{host};
  // An IP address matches only an IP entry (-2: not an address); anything else is a DNS name,
  // never the common name, which is the node's name and not a host.
  int matched = X509_check_ip_asc(leaf, name.c_str(), 0);
  if (matched == -2)
    matched = X509_check_host(leaf, name.data(), name.size(), X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                              nullptr);
  ERR_clear_error();
  return matched == 1;
}

} // namespace brokedancer
