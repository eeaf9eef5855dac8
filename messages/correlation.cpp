#include "messages/correlation.hpp"

#include <cstdint>
#include <random>

namespace brokedancer {

correlation_id new_correlation_id() {
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }()};
  static constexpr char digits[] = "0123456789abcdef";
  auto value = generator();
  correlation_id id(16, '0');
  for (auto i = id.size(); i-- > 0; value >>= 4)
    id[i] = digits[value & 0xf];
  return id;
}

std::string random_token() {
  std::random_device entropy;
  static constexpr char digits[] = "0123456789abcdef";
  std::string token;
  for (int i = 0; i < 4; ++i)
    for (uint32_t value = entropy(), n = 0; n < 8; ++n, value >>= 4)
      token += digits[value & 0xf];
  return token;
}

} // namespace brokedancer
