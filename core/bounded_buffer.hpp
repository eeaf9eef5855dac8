#pragma once

// Items on their way to a service that may be away (Redis restarting): kept in order up to a
// bound, the oldest dropped and counted beyond it -- a producer that cannot deliver must neither
// block nor grow without end, and the newest items are the ones worth having.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <vector>

namespace brokedancer {

template <class T>
class bounded_buffer {
public:
  explicit bounded_buffer(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

  void push(T item) {
    items_.push_back(std::move(item));
    drop_beyond_capacity();
  }

  // The oldest `n` items, out of the buffer.
  std::vector<T> take(size_t n) {
    n = n < items_.size() ? n : items_.size();
    auto end = items_.begin() + static_cast<std::ptrdiff_t>(n);
    std::vector<T> taken(std::make_move_iterator(items_.begin()), std::make_move_iterator(end));
    items_.erase(items_.begin(), end);
    return taken;
  }

  // Items taken and not delivered go back in front of those that came since.
  void put_back(std::vector<T> items) {
    items_.insert(items_.begin(), std::make_move_iterator(items.begin()),
                  std::make_move_iterator(items.end()));
    drop_beyond_capacity();
  }

  size_t size() const {
    return items_.size();
  }
  bool empty() const {
    return items_.empty();
  }
  uint64_t dropped() const {
    return dropped_;
  }

private:
  void drop_beyond_capacity() {
    while (items_.size() > capacity_) {
      items_.pop_front();
      ++dropped_;
    }
  }

  size_t capacity_;
  std::deque<T> items_;
  uint64_t dropped_ = 0;
};

} // namespace brokedancer
