#pragma once

// Which allocator this build uses, and how much heap it has handed out. The runtime links
// jemalloc unless built without it (BROKEDANCER_JEMALLOC=OFF, or with sanitizers, which bring
// their own): actors allocate a message on one thread and free it on another, and glibc's
// malloc serialises exactly that on its arena locks.

#include <cstddef>
#include <optional>

namespace brokedancer {

// "jemalloc" or "glibc".
const char* allocator_name();

// Bytes allocated by the program and not yet freed, as the allocator counts them (not what it
// holds from the system); nothing when the allocator cannot say.
std::optional<std::size_t> heap_in_use_bytes();

} // namespace brokedancer
