#include "runtime/listener_guard.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/logging.hpp"

namespace brokedancer {

std::vector<uint64_t> connection_rules::review(const std::vector<connection_sample>& open,
                                               clock::time_point now) {
  std::map<uint64_t, seen> still;
  std::vector<uint64_t> cut;
  struct handshaking_connection {
    uint64_t bytes;
    clock::time_point first;
    uint64_t id;
  };
  std::vector<handshaking_connection> in_handshake;
  for (const auto& c : open) {
    auto found = known_.find(c.id);
    seen s =
        found != known_.end() ? found->second : seen{now, now, c.bytes_received, c.bytes_received};
    s.bytes = std::max(s.bytes, c.bytes_received);
    bool handshaking = s.bytes < settings_.handshake_bytes;
    if (handshaking && now - s.first >= settings_.handshake_timeout) {
      cut.push_back(c.id);
      continue;
    }
    if (handshaking) {
      // The idle windows begin once the handshake is through.
      s.window_start = now;
      s.window_bytes = s.bytes;
    } else if (now - s.window_start >= settings_.idle_timeout) {
      if (s.bytes - s.window_bytes < settings_.idle_bytes) {
        cut.push_back(c.id);
        continue;
      }
      s.window_start = now;
      s.window_bytes = s.bytes;
    }
    if (handshaking)
      in_handshake.push_back({s.bytes, s.first, c.id});
    still.emplace(c.id, s);
  }
  // Over the limit: of those still handshaking, the ones that have sent least go first, the
  // newest of them first. A peer's handshake is under way within milliseconds of connecting,
  // so a flood of strangers that send nothing does not crowd out a peer reconnecting through
  // it; an established peer is never cut for the number of strangers.
  auto open_now = still.size();
  if (open_now > settings_.max_connections) {
    std::sort(in_handshake.begin(), in_handshake.end(), [](const auto& a, const auto& b) {
      if (a.bytes != b.bytes)
        return a.bytes < b.bytes;
      return a.first != b.first ? a.first > b.first : a.id > b.id;
    });
    for (const auto& c : in_handshake) {
      if (open_now <= settings_.max_connections)
        break;
      cut.push_back(c.id);
      still.erase(c.id);
      --open_now;
    }
  }
  known_ = std::move(still);
  return cut;
}

namespace {

constexpr auto scan_interval = std::chrono::milliseconds(250);

uint16_t local_port(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    return 0;
  if (addr.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

bool connected(int fd) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
}

// Every connection accepted on `port`: its inode and the bytes it has received.
std::vector<connection_sample> scan(uint16_t port) {
  std::vector<connection_sample> out;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr)
    return out;
  while (auto* entry = readdir(dir)) {
    if (entry->d_name[0] == '.')
      continue;
    int fd = std::atoi(entry->d_name);
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
      continue;
    // Ours is the listening port; a connection out to a peer has a port of its own.
    if (local_port(fd) != port || !connected(fd))
      continue;
    tcp_info info{};
    socklen_t length = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0)
      continue;
    out.push_back({static_cast<uint64_t>(st.st_ino), info.tcpi_bytes_received});
  }
  closedir(dir);
  return out;
}

// Cuts the connection whose socket has inode `id`. The descriptor is duplicated first and the
// inode checked on the duplicate, so that a descriptor number CAF closed and reused meanwhile is
// never touched: the duplicate holds the very socket that was checked.
bool cut_connection(uint64_t id) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr)
    return false;
  bool done = false;
  while (auto* entry = readdir(dir)) {
    if (entry->d_name[0] == '.')
      continue;
    int fd = std::atoi(entry->d_name);
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0)
      continue;
    struct stat st {};
    if (fstat(own, &st) == 0 && S_ISSOCK(st.st_mode) && static_cast<uint64_t>(st.st_ino) == id) {
      done = shutdown(own, SHUT_RDWR) == 0;
      close(own);
      break;
    }
    close(own);
  }
  closedir(dir);
  return done;
}

} // namespace

struct listener_guard::impl {
  uint16_t port;
  connection_rules rules;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::atomic<uint64_t> cut{0};
  logger log{"listener_guard"};
  std::thread thread;

  impl(uint16_t p, guard_settings settings) : port(p), rules(settings) {}

  void run() {
    std::unique_lock<std::mutex> guard{mutex};
    while (!wake.wait_for(guard, scan_interval, [this] { return stopping; })) {
      guard.unlock();
      auto open = scan(port);
      for (auto id : rules.review(open, connection_rules::clock::now())) {
        if (!cut_connection(id))
          continue;
        auto count = ++cut;
        if (count <= 10 || count % 1000 == 0)
          log.warn("cut a connection to the cluster port that did not authenticate in time or "
                   "went silent",
                   {{"port", port}, {"open", open.size()}, {"cut_so_far", count}});
      }
      guard.lock();
    }
  }
};

listener_guard::listener_guard(uint16_t port, guard_settings settings)
  : impl_(std::make_unique<impl>(port, settings)) {
  impl_->thread = std::thread([this] { impl_->run(); });
}

listener_guard::~listener_guard() {
  {
    std::lock_guard<std::mutex> guard{impl_->mutex};
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
}

uint64_t listener_guard::cut() const {
  return impl_->cut.load();
}

} // namespace brokedancer
