#include "core/peer_session.hpp"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

#include "core/openssl_handles.hpp"

namespace brokedancer {

namespace {

using openssl::pkey_ctx_ptr;
using openssl::pkey_ptr;

constexpr std::string_view key_context = "brokedancer-gossip-key-v1";

std::string hmac(const session_key::bytes& key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length)
      == nullptr)
    return {};
  return std::string(reinterpret_cast<const char*>(out), length);
}

// HKDF-SHA256 of the shared secret, bound to the two nodes and to which of them began.
std::optional<session_key::bytes> derive(const std::string& secret, std::string_view initiator,
                                         std::string_view responder) {
  std::string info{key_context};
  info.append("\n").append(initiator).append("\n").append(responder);
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr)};
  session_key::bytes key{};
  size_t length = key.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0
      || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0
      || EVP_PKEY_CTX_set1_hkdf_key(ctx.get(),
                                    reinterpret_cast<const unsigned char*>(secret.data()),
                                    static_cast<int>(secret.size()))
             <= 0
      || EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), reinterpret_cast<const unsigned char*>(info.data()),
                                     static_cast<int>(info.size()))
             <= 0
      || EVP_PKEY_derive(ctx.get(), key.data(), &length) <= 0 || length != key.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  return key;
}

} // namespace

session_key::session_key(const bytes& key) : key_(key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  std::string label = "brokedancer-gossip-key-id";
  label.append(reinterpret_cast<const char*>(key_.data()), key_.size());
  SHA256(reinterpret_cast<const unsigned char*>(label.data()), label.size(), digest);
  std::memcpy(&id_, digest, sizeof(id_));
}

std::string session_key::seal(std::string_view message) const {
  return hmac(key_, message);
}

bool session_key::opens(std::string_view message, std::string_view tag) const {
  auto expected = hmac(key_, message);
  return !expected.empty() && tag.size() == expected.size()
         && CRYPTO_memcmp(expected.data(), tag.data(), tag.size()) == 0;
}

struct session_offer::impl {
  pkey_ptr key;
  std::string public_key;
};

session_offer::session_offer() : impl_(std::make_unique<impl>()) {}
session_offer::~session_offer() = default;

std::unique_ptr<session_offer> session_offer::make() {
  std::unique_ptr<session_offer> offer{new session_offer()};
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr)};
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &key) <= 0) {
    ERR_clear_error();
    return nullptr;
  }
  offer->impl_->key.reset(key);
  std::string raw(session_public_bytes, '\0');
  size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &length) <= 0
      || length != raw.size()) {
    ERR_clear_error();
    return nullptr;
  }
  offer->impl_->public_key = std::move(raw);
  return offer;
}

const std::string& session_offer::public_key() const {
  return impl_->public_key;
}

std::optional<session_key> session_offer::agree(std::string_view their_public,
                                                std::string_view initiator,
                                                std::string_view responder) const {
  if (their_public.size() != session_public_bytes)
    return std::nullopt;
  pkey_ptr theirs{EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(their_public.data()),
      their_public.size())};
  pkey_ctx_ptr ctx{EVP_PKEY_CTX_new(impl_->key.get(), nullptr)};
  std::string secret(32, '\0');
  size_t length = secret.size();
  // OpenSSL refuses a peer key of small order (an all-zero secret) here.
  if (!theirs || !ctx || EVP_PKEY_derive_init(ctx.get()) <= 0
      || EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) <= 0
      || EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) <= 0
      || length != secret.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  auto key = derive(secret, initiator, responder);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!key)
    return std::nullopt;
  session_key out{*key};
  OPENSSL_cleanse(key->data(), key->size());
  return out;
}

std::string sealed_text(std::string_view from_name, std::string_view to_name, uint64_t counter,
                        std::string_view payload) {
  std::string out = "brokedancer-gossip-v1\n";
  out.append(from_name).append("\n").append(to_name).append("\n");
  out += std::to_string(counter);
  out += "\n";
  out.append(payload);
  return out;
}

} // namespace brokedancer
