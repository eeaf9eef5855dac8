#pragma once

// A key that only two members share, for the gossip between them. The hello and the welcome of
// a handshake each carry an ephemeral X25519 public key inside their signed proof
// (core/node_identity.hpp), so both ends derive the same secret and nobody else can, not
// even another member of the cluster.
//
// Why a member needs more than its proven connection: CAF 0.17's BASP lets a connected node
// name any source node in a routed message, so a member (a node of the cluster's own CA) could
// deliver gossip that appears to come from another member. With every gossip sealed under the
// key of the pair, such a message fails to open and is dropped.
//
// The seal is HMAC-SHA256 over the sender's name, the receiver's name, a counter that only
// rises and the gossip's bytes: it cannot be moved to another pair, turned around, or replayed.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace brokedancer {

constexpr size_t session_public_bytes = 32;

class session_key {
public:
  using bytes = std::array<unsigned char, 32>;

  explicit session_key(const bytes& key);

  // A short name for the key, the same at both ends: which key a seal was made with.
  uint64_t id() const {
    return id_;
  }

  // The seal of `message` (32 bytes).
  std::string seal(std::string_view message) const;
  // Whether `tag` is the seal of `message`, compared in constant time.
  bool opens(std::string_view message, std::string_view tag) const;

private:
  bytes key_;
  uint64_t id_ = 0;
};

// An ephemeral key pair, made for one handshake and dropped after it.
class session_offer {
public:
  // A fresh pair; nothing when OpenSSL cannot make one.
  static std::unique_ptr<session_offer> make();
  ~session_offer();

  session_offer(const session_offer&) = delete;
  session_offer& operator=(const session_offer&) = delete;

  // The public half, raw (32 bytes).
  const std::string& public_key() const;

  // The key shared with whoever holds the private half of `their_public`, for the handshake
  // that `initiator` began with `responder` (CAF node ids, as text). Nothing when
  // `their_public` is not a usable X25519 key.
  std::optional<session_key> agree(std::string_view their_public, std::string_view initiator,
                                   std::string_view responder) const;

private:
  session_offer();
  struct impl;
  std::unique_ptr<impl> impl_;
};

// What a seal covers: a gossip's bytes, bound to its direction and its place in the stream.
std::string sealed_text(std::string_view from_name, std::string_view to_name, uint64_t counter,
                        std::string_view payload);

} // namespace brokedancer
