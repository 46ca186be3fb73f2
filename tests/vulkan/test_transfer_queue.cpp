// The transfer queue (vk::Context::submit_transfer): copies submitted there return at once and
// are ordered against compute submits by the two timeline semaphores only, on a separate queue
// when the device has a second family (a GPU) and on the compute queue otherwise (lavapipe).
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "harness/kernel_harness.h"
#include "vulkan/vk_check.h"

namespace r1vk {
namespace {

using test::context;

// A host-set event that a compute submit waits on: the device work behind it cannot start
// before the test says so, which makes "returned before the copy ran" observable.
struct HostEvent {
  VkDevice device = VK_NULL_HANDLE;
  VkEvent event = VK_NULL_HANDLE;
  explicit HostEvent(VkDevice d) : device(d) {
    VkEventCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO;
    REQUIRE(vkCreateEvent(device, &info, nullptr, &event) == VK_SUCCESS);
  }
  ~HostEvent() { vkDestroyEvent(device, event, nullptr); }
};

std::vector<uint32_t> read(const vk::Buffer& b) {
  REQUIRE(context().allocator().invalidate(b.allocation(), 0, b.size()).ok());
  std::vector<uint32_t> out(b.size() / 4);
  std::memcpy(out.data(), b.mapped().data(), b.size());
  return out;
}

TEST_CASE("a transfer submit returns before its copy runs and is ordered by the timeline semaphores") {
  vk::Context& ctx = context();
  MESSAGE("swap copies go to " << ctx.transfer_queue_description());
  const vk::Device& dev = ctx.device();
  if (dev.separate_transfer_queue()) CHECK(dev.transfer_queue() != dev.compute_queue());
  else CHECK(dev.transfer_queue() == dev.compute_queue());

  constexpr uint64_t kWords = 4096;
  auto src = ctx.create_buffer(kWords * 4, vk::MemoryUsage::kHostVisible, "transfer test src", /*transfer_shared=*/true);
  auto mid = ctx.create_buffer(kWords * 4, vk::MemoryUsage::kHostVisible, "transfer test mid", /*transfer_shared=*/true);
  auto dst = ctx.create_buffer(kWords * 4, vk::MemoryUsage::kHostVisible, "transfer test dst", /*transfer_shared=*/true);
  REQUIRE((src.ok() && mid.ok() && dst.ok()));
  std::vector<uint32_t> want(kWords);
  for (uint64_t i = 0; i < kWords; ++i) want[i] = static_cast<uint32_t>(i * 2654435761u);
  std::memcpy(src->mapped().data(), want.data(), kWords * 4);
  std::memset(mid->mapped().data(), 0, kWords * 4);
  std::memset(dst->mapped().data(), 0, kWords * 4);
  REQUIRE(ctx.allocator().flush(src->allocation(), 0, src->size()).ok());
  REQUIRE(ctx.allocator().flush(mid->allocation(), 0, mid->size()).ok());
  REQUIRE(ctx.allocator().flush(dst->allocation(), 0, dst->size()).ok());

  // 1. A compute submit held back by a host event.
  HostEvent gate(dev.handle());
  auto hold = ctx.create_command_buffer();
  REQUIRE(hold.ok());
  REQUIRE(hold->begin().ok());
  vkCmdWaitEvents(hold->handle(), 1, &gate.event, VK_PIPELINE_STAGE_HOST_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, nullptr, 0,
                  nullptr, 0, nullptr);
  REQUIRE(hold->end().ok());
  auto held = ctx.submit(*hold);
  REQUIRE(held.ok());

  // 2. The copy src -> mid on the transfer queue, after the held compute submit: it returns
  // although the device cannot have run it.
  auto copy = ctx.create_transfer_command_buffer();
  REQUIRE(copy.ok());
  REQUIRE(copy->begin().ok());
  copy->copy_buffer(src->handle(), 0, mid->handle(), 0, kWords * 4);
  REQUIRE(copy->end().ok());
  auto copied = ctx.submit_transfer(*copy, *held);
  REQUIRE(copied.ok());

  // 3. A compute submit mid -> dst that waits (on the device) for the copy.
  auto after = ctx.create_command_buffer();
  REQUIRE(after.ok());
  REQUIRE(after->begin().ok());
  after->copy_buffer(mid->handle(), 0, dst->handle(), 0, kWords * 4);
  VkMemoryBarrier host{};
  host.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  host.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  host.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(after->handle(), VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &host, 0, nullptr, 0,
                       nullptr);
  REQUIRE(after->end().ok());
  auto done = ctx.submit(*after, *copied);
  REQUIRE(done.ok());

  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto copy_done = ctx.is_transfer_complete(*copied);
  REQUIRE(copy_done.ok());
  CHECK_FALSE(*copy_done);
  auto after_done = ctx.is_complete(*done);
  REQUIRE(after_done.ok());
  CHECK_FALSE(*after_done);
  CHECK(read(*dst) == std::vector<uint32_t>(kWords, 0));

  REQUIRE(vkSetEvent(dev.handle(), gate.event) == VK_SUCCESS);
  REQUIRE(ctx.wait_transfer(*copied).ok());
  REQUIRE(ctx.wait(*done).ok());
  CHECK(read(*dst) == want);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("submits refuse to wait for timeline values never submitted") {
  vk::Context& ctx = context();
  auto cmd = ctx.create_transfer_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin().ok());
  REQUIRE(cmd->end().ok());
  auto bad = ctx.submit_transfer(*cmd, UINT64_MAX);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("never submitted") != std::string::npos);
  auto compute = ctx.create_command_buffer();
  REQUIRE(compute.ok());
  REQUIRE(compute->begin().ok());
  REQUIRE(compute->end().ok());
  auto bad2 = ctx.submit(*compute, UINT64_MAX);
  REQUIRE_FALSE(bad2.ok());
  CHECK(bad2.error().message().find("never submitted") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
