#include "runtime/allocator.hpp"

#include <cstdint>

#ifdef BROKEDANCER_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

namespace brokedancer {

#ifdef BROKEDANCER_WITH_JEMALLOC

const char* allocator_name() {
  return "jemalloc";
}

std::optional<std::size_t> heap_in_use_bytes() {
  // jemalloc's statistics are a snapshot refreshed when the epoch is advanced.
  uint64_t epoch = 1;
  auto epoch_size = sizeof(epoch);
  if (mallctl("epoch", &epoch, &epoch_size, &epoch, epoch_size) != 0)
    return std::nullopt;
  std::size_t allocated = 0;
  auto allocated_size = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &allocated_size, nullptr, 0) != 0)
    return std::nullopt;
  return allocated;
}

#else

const char* allocator_name() {
  return "glibc";
}

std::optional<std::size_t> heap_in_use_bytes() {
  auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

#endif

} // namespace brokedancer
