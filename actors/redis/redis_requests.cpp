#include "actors/redis/redis_requests.hpp"

namespace brokedancer {

bool redis_requests::add(redis_job job, completion done) {
  job.id = next_id_++;
  open_.emplace(job.id, std::move(done));
  batch_.push_back(std::move(job));
  return batch_.size() == 1;
}

std::vector<redis_job> redis_requests::take_batch() {
  auto batch = std::move(batch_);
  batch_.clear();
  return batch;
}

void redis_requests::complete(std::vector<redis_job_result>& results) {
  for (auto& result : results) {
    auto found = open_.find(result.id);
    if (found == open_.end())
      continue;
    auto done = std::move(found->second);
    open_.erase(found);
    done(result);
  }
}

void redis_requests::fail_all(const std::string& why) {
  batch_.clear();
  auto open = std::move(open_);
  open_.clear();
  for (auto& [id, done] : open) {
    redis_job_result result;
    result.id = id;
    result.error = why;
    done(result);
  }
}

} // namespace brokedancer
