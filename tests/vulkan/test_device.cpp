// Device layer: instance/validation, device choice and its errors, caps, allocator, transfers,
// sync objects, timestamps and the on-disk pipeline cache.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <unistd.h>

#include "harness/kernel_harness.h"
#include "vulkan/fence.h"
#include "vulkan/physical_device.h"
#include "vulkan/pipeline_cache.h"
#include "vulkan/query_pool.h"
#include "vulkan/timeline_semaphore.h"
#include "vulkan/transfer.h"
#include "vulkan/vk_check.h"

namespace r1vk {
namespace {

using test::context;

TEST_CASE("the test context runs with the validation layer on") {
  CHECK(context().instance().validation_enabled());
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a validation error is counted, so tests can fail on it") {
  // A private context: the shared one must stay at zero errors.
  vk::ContextOptions options;
  options.validation = true;
  options.disk_pipeline_cache = false;
  auto ctx = vk::Context::create(options);
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->validation_errors() == 0);
  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = 64;
  info.usage = 0;  // invalid: at least one usage bit is required (harmless to the driver)
  VkBuffer buffer = VK_NULL_HANDLE;
  const VkResult r = vkCreateBuffer((*ctx)->device().handle(), &info, nullptr, &buffer);
  if (r == VK_SUCCESS) vkDestroyBuffer((*ctx)->device().handle(), buffer, nullptr);
  CHECK((*ctx)->validation_errors() >= 1);
}

TEST_CASE("R1VK_VALIDATION=sync reports a hazard that no barrier orders") {
  // A private context created with synchronization validation (the variable is read at creation).
  const char* old = std::getenv("R1VK_VALIDATION");
  const std::string saved = old ? old : "";
  ::setenv("R1VK_VALIDATION", "sync", 1);
  vk::ContextOptions options;
  options.validation = true;
  options.disk_pipeline_cache = false;
  auto ctx = vk::Context::create(options);
  if (old) ::setenv("R1VK_VALIDATION", saved.c_str(), 1);
  else ::unsetenv("R1VK_VALIDATION");
  REQUIRE(ctx.ok());
  auto src = (*ctx)->create_buffer(256, vk::MemoryUsage::kDeviceLocal, "src");
  auto dst = (*ctx)->create_buffer(256, vk::MemoryUsage::kDeviceLocal, "dst");
  auto cmd = (*ctx)->create_command_buffer();
  REQUIRE((src.ok() && dst.ok() && cmd.ok()));
  REQUIRE(cmd->begin().ok());
  // Two transfers write the same bytes with no barrier between them: WRITE_AFTER_WRITE.
  cmd->copy_buffer(src->handle(), 0, dst->handle(), 0, 256);
  cmd->copy_buffer(src->handle(), 0, dst->handle(), 0, 256);
  REQUIRE(cmd->end().ok());
  REQUIRE((*ctx)->submit_and_wait(*cmd).ok());
  CHECK((*ctx)->validation_errors() >= 1);
}

TEST_CASE("validation requested but the layer missing is an error, not a silent downgrade") {
  context();  // the shared context must exist before the layer path is hidden
  const char* old = std::getenv("VK_LAYER_PATH");
  const std::string saved = old ? old : "";
  ::setenv("VK_LAYER_PATH", "/nonexistent-r1vk-layer-dir", 1);
  auto inst = vk::Instance::create({true});
  if (old) ::setenv("VK_LAYER_PATH", saved.c_str(), 1);
  else ::unsetenv("VK_LAYER_PATH");
  REQUIRE_FALSE(inst.ok());
  CHECK(inst.error().code() == ErrorCode::kNotFound);
  CHECK(inst.error().message().find("VK_LAYER_KHRONOS_validation") != std::string::npos);
}

TEST_CASE("device caps carry real limits") {
  const vk::DeviceCaps& caps = context().caps();
  INFO("device: " << caps.name);
  CHECK(caps.api_version >= VK_API_VERSION_1_2);
  CHECK(caps.subgroup_size > 0);
  CHECK(caps.max_storage_buffer_range > 0);
  CHECK(caps.max_memory_allocation_size > 0);
  CHECK(caps.max_compute_shared_memory_size > 0);
  CHECK(caps.max_workgroup_invocations >= 128);
  CHECK(!caps.heaps.empty());
  CHECK(caps.buffer_device_address);
  CHECK(caps.storage_buffer_16bit);
  if (caps.name.find("llvmpipe") != std::string::npos) {
    // lavapipe's documented limits that motivated DESIGN.md decision 3.
    CHECK(caps.max_storage_buffer_range == (128u << 20));
    CHECK(caps.subgroup_size == 8);
    CHECK(caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU);
  }
}

TEST_CASE("device choice prefers discrete > integrated > virtual > CPU and skips unusable devices") {
  auto make = [](VkPhysicalDeviceType type, bool usable) {
    vk::PhysicalDevice d;
    d.caps.type = type;
    d.caps.name = vk::device_type_name(type);
    d.caps.api_version = VK_API_VERSION_1_3;
    d.caps.compute_queue_family = 0;
    d.caps.storage_buffer_16bit = true;
    d.caps.buffer_device_address = usable;
    d.caps.timeline_semaphore = true;
    d.caps.shader_int64 = true;
    d.caps.max_push_constants_size = 128;
    return d;
  };
  std::vector<vk::PhysicalDevice> devs = {make(VK_PHYSICAL_DEVICE_TYPE_CPU, true),
                                          make(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, true),
                                          make(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, false),
                                          make(VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU, true)};
  auto idx = vk::default_device_index(devs);
  REQUIRE(idx.ok());
  CHECK(*idx == 1);  // the discrete GPU lacks bufferDeviceAddress

  auto forced = vk::select_device_index(devs, 0);
  REQUIRE(forced.ok());
  CHECK(*forced == 0);

  auto unusable = vk::select_device_index(devs, 2);
  REQUIRE_FALSE(unusable.ok());
  CHECK(unusable.error().code() == ErrorCode::kUnsupported);
  CHECK(unusable.error().message().find("bufferDeviceAddress") != std::string::npos);

  CHECK_FALSE(vk::default_device_index(std::span<const vk::PhysicalDevice>{}).ok());
}

TEST_CASE("a device index out of range is a clear usage error") {
  vk::ContextOptions options;
  options.validation = true;
  options.disk_pipeline_cache = false;
  for (int bad : {99, -1}) {
    options.device_index = bad;
    auto ctx = vk::Context::create(options);
    REQUIRE_FALSE(ctx.ok());
    CHECK(ctx.error().code() == ErrorCode::kInvalidArgument);
    CHECK(ctx.error().message().find("Vulkan device " + std::to_string(bad) + " does not exist") != std::string::npos);
  }
}

TEST_CASE("creating a device that lacks a required feature is a clear error") {
  auto devices = vk::enumerate_physical_devices(context().instance().handle(), context().instance().api_version());
  REQUIRE(devices.ok());
  REQUIRE(!devices->empty());
  vk::PhysicalDevice crippled = (*devices)[0];
  crippled.caps.storage_buffer_16bit = false;
  crippled.caps.buffer_device_address = false;
  auto dev = vk::Device::create(crippled, context().instance().api_version());
  REQUIRE_FALSE(dev.ok());
  CHECK(dev.error().code() == ErrorCode::kUnsupported);
  CHECK(dev.error().message().find("storageBuffer16BitAccess, bufferDeviceAddress") != std::string::npos);
}

TEST_CASE("VkResult failures become errors naming the call") {
  Error e = vk::vk_error(VK_ERROR_OUT_OF_DEVICE_MEMORY, "vkAllocateMemory(device, &info, nullptr, &mem)");
  CHECK(e.code() == ErrorCode::kVulkan);
  CHECK(e.message() == "vkAllocateMemory failed: VK_ERROR_OUT_OF_DEVICE_MEMORY (-2)");
}

TEST_CASE("the allocator sub-allocates blocks, aligns, reuses freed ranges and respects limits") {
  vk::Context& ctx = context();
  vk::Allocator& alloc = ctx.allocator();
  const size_t blocks_before = alloc.block_count();
  {
    auto a = ctx.create_buffer(1000, vk::MemoryUsage::kDeviceLocal, "a");
    auto b = ctx.create_buffer(3000, vk::MemoryUsage::kDeviceLocal, "b");
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->allocation().memory == b->allocation().memory);  // same block
    CHECK(a->allocation().offset != b->allocation().offset);
    CHECK(b->allocation().offset % ctx.caps().min_storage_buffer_offset_alignment == 0);
    CHECK(alloc.block_count() == blocks_before + 1);
    const VkDeviceSize freed_offset = a->allocation().offset;
    *a = vk::Buffer();  // free the first range
    auto c = ctx.create_buffer(512, vk::MemoryUsage::kDeviceLocal, "c");
    REQUIRE(c.ok());
    CHECK(c->allocation().offset == freed_offset);  // first fit reuses the hole
  }
  CHECK(alloc.block_count() == blocks_before);  // empty blocks are returned to the driver

  // Larger than a block: its own allocation, still within maxMemoryAllocationSize.
  auto big = ctx.create_buffer(alloc.block_size() + 4096, vk::MemoryUsage::kDeviceLocal, "big");
  REQUIRE(big.ok());
  CHECK(big->size() == alloc.block_size() + 4096);
  big = vk::Buffer();

  auto absurd = ctx.create_buffer(ctx.caps().max_memory_allocation_size + 1, vk::MemoryUsage::kDeviceLocal, "absurd");
  REQUIRE_FALSE(absurd.ok());
  CHECK(absurd.error().code() == ErrorCode::kOutOfRange);
  CHECK(absurd.error().message().find("absurd") != std::string::npos);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("texel views: one per buffer, element offsets from the buffer's start, gone with the buffer") {
  vk::Context& ctx = context();
  vk::BufferDirectory& dir = ctx.allocator().directory();
  auto buf = ctx.create_buffer(1000, vk::MemoryUsage::kDeviceLocal, "texels");
  REQUIRE(buf.ok());
  const VkDeviceAddress a = buf->address();
  const auto at0 = dir.texel_view(a);
  REQUIRE(at0);
  CHECK(at0->view != VK_NULL_HANDLE);
  CHECK(at0->element == 0);
  CHECK(at0->elements == 1000 / 16 * 4);  // whole 16-byte texels only: 62 texels of the 1000 bytes
  const auto at20 = dir.texel_view(a + 20);
  REQUIRE(at20);
  CHECK(at20->view == at0->view);  // the same view, another element
  CHECK(at20->element == 5);
  CHECK(at20->elements == 62 * 4 - 5);
  CHECK_FALSE(dir.texel_view(a + 2));        // not a whole f32
  CHECK_FALSE(dir.texel_view(a + 62 * 16));  // in the buffer's tail past the last whole texel
  // A window: the values must lie in the view (62 * 4 - 5 of them remain from element 5).
  CHECK(dir.texel_window(a + 20, 62 * 4 - 5));
  CHECK(dir.texel_window(a + 20, 62 * 4 - 5)->element == 5);
  CHECK_FALSE(dir.texel_window(a + 20, 62 * 4 - 4));
  CHECK_FALSE(dir.texel_window(a + 2, 1));
  *buf = vk::Buffer();  // destroys the view with the buffer: the layer reports a leaked view otherwise
  CHECK_FALSE(dir.texel_view(a));
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("upload and download round-trip through mapping and through staging") {
  std::vector<uint32_t> data(100003);
  std::iota(data.begin(), data.end(), 7u);
  for (bool staging : {false, true}) {
    CAPTURE(staging);
    vk::TransferOptions opt;
    opt.force_staging = staging;
    opt.staging_chunk = 65536;  // several chunks
    auto buf = context().create_buffer(data.size() * 4, vk::MemoryUsage::kDeviceLocal, "roundtrip");
    REQUIRE(buf.ok());
    REQUIRE(vk::upload_span(context(), *buf, std::span<const uint32_t>(data), opt).ok());
    std::vector<uint32_t> back(data.size());
    REQUIRE(vk::download_span(context(), *buf, std::span<uint32_t>(back), opt).ok());
    CHECK(back == data);
    std::vector<uint32_t> too_long(data.size() + 1);
    auto overrun = vk::upload_span(context(), *buf, std::span<const uint32_t>(too_long), opt);
    REQUIRE_FALSE(overrun.ok());
    CHECK(overrun.error().code() == ErrorCode::kOutOfRange);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("timeline semaphore, fence and timestamps") {
  vk::Context& ctx = context();
  auto sem = vk::TimelineSemaphore::create(ctx.device().handle(), 5);
  REQUIRE(sem.ok());
  CHECK(*sem->value() == 5);
  REQUIRE(sem->signal_from_host(9).ok());
  CHECK(sem->wait(9, 1000000).ok());
  auto timeout = sem->wait(10, 1000);
  REQUIRE_FALSE(timeout.ok());
  CHECK(timeout.error().message().find("timed out") != std::string::npos);

  auto fence = vk::Fence::create(ctx.device().handle());
  REQUIRE(fence.ok());
  CHECK_FALSE(fence->wait(1000).ok());  // never submitted: times out, no hang

  auto pool = vk::TimestampQueryPool::create(ctx.device(), 2);
  REQUIRE(pool.ok());
  auto src = test::zeros(1 << 20, "ts_src");
  auto dst = test::zeros(1 << 20, "ts_dst");
  REQUIRE(src.ok());
  REQUIRE(dst.ok());
  auto cmd = ctx.create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin().ok());
  cmd->reset_queries(*pool);
  cmd->write_timestamp(*pool, 0);
  REQUIRE(test::kernels().record_copy(*cmd, *src, *dst, 1 << 20).ok());
  cmd->write_timestamp(*pool, 1);
  REQUIRE(cmd->end().ok());
  auto value = ctx.submit(*cmd);
  REQUIRE(value.ok());
  REQUIRE(ctx.wait(*value).ok());
  auto ns = pool->read_ns();
  REQUIRE(ns.ok());
  CHECK((*ns)[1] >= (*ns)[0]);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a context remembers a lost device (VK_ERROR_DEVICE_LOST from a submit or wait), not a timed-out wait") {
  // A private context: the shared one must not be marked lost.
  vk::ContextOptions options;
  options.validation = true;
  options.disk_pipeline_cache = false;
  auto ctx = vk::Context::create(options);
  REQUIRE(ctx.ok());
  vk::Context& c = **ctx;
  auto cmd = c.create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin(/*one_time=*/false).ok());  // submitted several times
  REQUIRE(cmd->end().ok());
  REQUIRE(c.submit_and_wait(*cmd).ok());
  CHECK(c.lost().empty());
  // A wait that times out is no loss: the work may still end.
  c.set_submit_timeout_ns(1000);
  const Status late = c.wait(1000);  // a timeline value never submitted
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message().find("timed out") != std::string::npos);
  CHECK(c.lost().empty());
  c.set_submit_timeout_ns(0);
  Status failed = ok_status();
  SUBCASE("a submit") {
    ::setenv("R1VK_FAULT", "submit:1", 1);
    auto value = c.submit(*cmd);
    REQUIRE_FALSE(value.ok());
    failed = value.error();
  }
  SUBCASE("a wait") {
    ::setenv("R1VK_FAULT", "wait:1", 1);
    auto value = c.submit(*cmd);
    REQUIRE(value.ok());
    failed = c.wait(*value);  // an injected loss still waits for the work
  }
  ::unsetenv("R1VK_FAULT");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message().find("VK_ERROR_DEVICE_LOST") != std::string::npos);
  CHECK(c.lost() == failed.error().message());
  // It stays lost, even once nothing more is injected.
  REQUIRE(c.submit_and_wait(*cmd).ok());
  CHECK(c.lost() == failed.error().message());
}

TEST_CASE("pipeline cache: header checks, corrupt files ignored with a warning, save and reload") {
  const vk::DeviceCaps& caps = context().caps();
  const auto dir = std::filesystem::temp_directory_path() / ("r1vk_cache_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "cache.bin";

  SUBCASE("garbage") {
    std::ofstream(path, std::ios::binary) << "this is not a pipeline cache at all, but it is long enough";
  }
  SUBCASE("truncated header") { std::ofstream(path, std::ios::binary) << "short"; }
  SUBCASE("empty file") { std::ofstream(path, std::ios::binary).flush(); }

  auto pc = vk::PipelineCache::open(context().device(), path);
  REQUIRE(pc.ok());
  CHECK_FALSE(pc->loaded_from_disk());
  CHECK_FALSE(pc->rejected_reason().empty());
  // Build a pipeline into it so the saved cache has content, then reload.
  auto w = test::zeros(64, "pc_w");
  REQUIRE(w.ok());
  REQUIRE(pc->save().ok());
  auto again = vk::PipelineCache::open(context().device(), path);
  REQUIRE(again.ok());
  CHECK(again->loaded_from_disk());
  CHECK(again->rejected_reason().empty());

  // A header from another device is rejected before the driver sees it.
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() >= 32);
  bytes[8] ^= 0x5a;  // vendorID
  CHECK(vk::pipeline_cache_header_problem(std::as_bytes(std::span<const char>(bytes)), caps).find("written for device") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
