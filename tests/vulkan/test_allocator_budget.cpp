// The allocator's device-memory budget: allocations that would pass it fail with kOutOfBudget
// and allocate nothing; blocks shrink to fit under it; freed memory is available again.
#include <doctest/doctest.h>

#include <memory>

#include "vulkan/context.h"

namespace r1vk {
namespace {

std::unique_ptr<vk::Context> budget_context(uint64_t budget) {
  vk::ContextOptions options;
  options.disk_pipeline_cache = false;
  options.allocator.budget_bytes = budget;
  auto ctx = vk::Context::create(options);
  REQUIRE(ctx.ok());
  return std::move(ctx).value();
}

TEST_CASE("allocations past the budget fail cleanly and allocate nothing") {
  constexpr uint64_t kBudget = 1 << 20;
  auto ctx = budget_context(kBudget);
  CHECK(ctx->allocator().budget_bytes() == kBudget);
  auto a = ctx->create_buffer(512 << 10, vk::MemoryUsage::kDeviceLocal, "first half");
  REQUIRE(a.ok());
  // The 256 MiB default block shrank to the budget instead of failing.
  CHECK(ctx->allocator().bytes_allocated() <= kBudget);
  const uint64_t before = ctx->allocator().bytes_allocated();
  auto b = ctx->create_buffer(768 << 10, vk::MemoryUsage::kDeviceLocal, "too much");
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().code() == ErrorCode::kOutOfBudget);
  CHECK(b.error().message().find("too much") != std::string::npos);
  CHECK(b.error().message().find("budget of 1048576 bytes") != std::string::npos);
  // What the buffer needs (768 KiB), not the allocator's 256 MiB block: the budget is full.
  CHECK(b.error().message().find("786432 more bytes") != std::string::npos);
  CHECK(ctx->allocator().bytes_allocated() == before);
  auto c = ctx->create_buffer(256 << 10, vk::MemoryUsage::kDeviceLocal, "fits");
  CHECK(c.ok());
  CHECK(ctx->allocator().bytes_allocated() <= kBudget);

  *a = vk::Buffer();  // freeing makes room again
  auto d = ctx->create_buffer(512 << 10, vk::MemoryUsage::kDeviceLocal, "again");
  CHECK(d.ok());
  CHECK(ctx->allocator().bytes_allocated() <= kBudget);
}

TEST_CASE("without a budget nothing is limited") {
  auto ctx = budget_context(0);
  auto a = ctx->create_buffer(4 << 20, vk::MemoryUsage::kDeviceLocal, "big");
  CHECK(a.ok());
  CHECK(ctx->allocator().bytes_allocated() >= (4u << 20));
}

}  // namespace
}  // namespace r1vk
