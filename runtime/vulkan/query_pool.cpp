#include "vulkan/query_pool.h"

#include <utility>

#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<TimestampQueryPool> TimestampQueryPool::create(const Device& device, uint32_t count) {
  if (device.caps().timestamp_valid_bits == 0)
    return make_error(ErrorCode::kUnsupported, device.caps().name + ": the compute queue does not support timestamps");
  VkQueryPoolCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
  info.queryType = VK_QUERY_TYPE_TIMESTAMP;
  info.queryCount = count;
  TimestampQueryPool p;
  R1VK_VK_TRY(vkCreateQueryPool(device.handle(), &info, nullptr, &p.pool_));
  p.device_ = device.handle();
  p.count_ = count;
  p.valid_bits_ = device.caps().timestamp_valid_bits;
  p.period_ns_ = device.caps().timestamp_period_ns;
  return p;
}

TimestampQueryPool::TimestampQueryPool(TimestampQueryPool&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)),
      pool_(std::exchange(o.pool_, VK_NULL_HANDLE)),
      count_(o.count_),
      valid_bits_(o.valid_bits_),
      period_ns_(o.period_ns_) {}

TimestampQueryPool& TimestampQueryPool::operator=(TimestampQueryPool&& o) noexcept {
  if (this != &o) {
    if (pool_ != VK_NULL_HANDLE) vkDestroyQueryPool(device_, pool_, nullptr);
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    pool_ = std::exchange(o.pool_, VK_NULL_HANDLE);
    count_ = o.count_;
    valid_bits_ = o.valid_bits_;
    period_ns_ = o.period_ns_;
  }
  return *this;
}

TimestampQueryPool::~TimestampQueryPool() {
  if (pool_ != VK_NULL_HANDLE) vkDestroyQueryPool(device_, pool_, nullptr);
}

Result<std::vector<double>> TimestampQueryPool::read_ns() const {
  std::vector<uint64_t> raw(count_);
  R1VK_VK_TRY(vkGetQueryPoolResults(device_, pool_, 0, count_, raw.size() * sizeof(uint64_t), raw.data(),
                                    sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  const uint64_t mask = valid_bits_ >= 64 ? ~0ull : ((1ull << valid_bits_) - 1);
  std::vector<double> ns(count_);
  for (uint32_t i = 0; i < count_; ++i) ns[i] = static_cast<double>(raw[i] & mask) * period_ns_;
  return ns;
}

}  // namespace r1vk::vk
