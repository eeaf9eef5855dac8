#include "actors/risk/order_throttle.hpp"

#include <algorithm>

namespace brokedancer {

namespace {

// Beyond this many bots kept, the idle ones are forgotten (orders come from the node's own bots
// and workflows, but their ids are not bounded by anything here). Looked for at most once a
// window; a bot that finds no room meanwhile has only the node's cap.
constexpr size_t bots_kept = 4096;

} // namespace

bool order_throttle::window::fits(int64_t now_us, int64_t length_us, uint32_t cap) {
  while (!times_.empty() && times_.front() <= now_us - length_us)
    times_.pop_front();
  return times_.size() < cap;
}

order_throttle::order_throttle(throttle_limits limits) : limits_(limits) {
  limits_.window_us = std::max<int64_t>(limits_.window_us, 1);
}

rejection order_throttle::refusal(const char* what, uint32_t cap, const window& full,
                                  int64_t now_us) const {
  auto wait_ms = std::max<int64_t>(0, full.frees_at(limits_.window_us) - now_us) / 1000 + 1;
  return {reject_code::throttled, std::string{"throttled: "} + what + " (" + std::to_string(cap)
                                      + " per " + std::to_string(limits_.window_us / 1000)
                                      + " ms) is spent; the next fits in " + std::to_string(wait_ms)
                                      + " ms"};
}

void order_throttle::forget_idle_bots(int64_t now_us) {
  for (auto i = bots_.begin(); i != bots_.end();)
    i = i->second.idle(now_us, limits_.window_us) ? bots_.erase(i) : std::next(i);
}

std::optional<rejection> order_throttle::admit_order(const std::string& bot_id, int64_t now_us) {
  const auto length = limits_.window_us;
  window* bot = nullptr;
  if (limits_.orders_per_bot > 0) {
    auto found = bots_.find(bot_id);
    if (found == bots_.end() && bots_.size() >= bots_kept && now_us - last_sweep_us_ >= length) {
      last_sweep_us_ = now_us;
      forget_idle_bots(now_us);
    }
    if (found != bots_.end())
      bot = &found->second;
    else if (bots_.size() < bots_kept)
      bot = &bots_[bot_id];
    if (bot && !bot->fits(now_us, length, limits_.orders_per_bot))
      return refusal("the bot's order throttle", limits_.orders_per_bot, *bot, now_us);
  }
  if (limits_.orders_per_node > 0) {
    if (!node_orders_.fits(now_us, length, limits_.orders_per_node))
      return refusal("the node's order throttle", limits_.orders_per_node, node_orders_, now_us);
    node_orders_.add(now_us);
  }
  if (bot)
    bot->add(now_us);
  return std::nullopt;
}

std::optional<rejection> order_throttle::admit_cancel(int64_t now_us) {
  if (limits_.cancels_per_node == 0)
    return std::nullopt;
  if (!node_cancels_.fits(now_us, limits_.window_us, limits_.cancels_per_node))
    return refusal("the node's cancel throttle", limits_.cancels_per_node, node_cancels_, now_us);
  node_cancels_.add(now_us);
  return std::nullopt;
}

} // namespace brokedancer
