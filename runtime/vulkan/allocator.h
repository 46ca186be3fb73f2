// Device-memory allocator: sub-allocates buffers from large VkDeviceMemory blocks (drivers limit
// the number of allocations and each one is slow), never exceeding maxMemoryAllocationSize, and
// honouring each buffer's alignment plus nonCoherentAtomSize for host-visible, non-coherent memory.
// Every block is allocated with the device-address flag because all buffers are addressed by BDA.
// Memory is accounted in two classes by what the caller asked for: device memory (kDeviceLocal,
// what the budget limits) and host memory (staging, read-back, and weights kernels read in place
// over the bus). Blocks never mix classes, so the accounting holds even on drivers (lavapipe,
// integrated GPUs) whose only memory type serves both.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vulkan/buffer_directory.h"

#include "base/status.h"
#include "vulkan/device.h"

namespace r1vk::vk {

enum class MemoryUsage {
  kDeviceLocal,   // kernels read/write it; may or may not be host-visible
  kHostVisible,   // staging and read-back: mapped for the host
  // Weights the kernels read in place from host memory through their device address
  // (zero-copy over the bus): host-visible, preferably outside device-local heaps, mapped.
  kHostResident,
};

// Which class an allocation is accounted in.
inline bool is_device_class(MemoryUsage usage) { return usage == MemoryUsage::kDeviceLocal; }

// One VkDeviceMemory and its free ranges; internal to the allocator.
struct MemoryBlock {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  uint32_t type_index = 0;
  bool dedicated = false;
  bool host_coherent = false;
  bool device_class = true;  // accounted as device memory (see MemoryUsage)
  std::byte* mapped = nullptr;
  std::map<VkDeviceSize, VkDeviceSize> free_ranges;  // offset -> length, never adjacent
  size_t live = 0;
};

struct Allocation {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  std::byte* mapped = nullptr;  // host pointer to offset 0 of this allocation, or null
  bool host_coherent = false;
  MemoryBlock* block = nullptr;
};

struct AllocatorOptions {
  uint64_t block_size = 256ull << 20;  // clamped to maxMemoryAllocationSize
  // Most device memory (bytes of VkDeviceMemory of the device class) this allocator may hold;
  // 0 = no limit. An allocation that would pass it fails with ErrorCode::kOutOfBudget and
  // allocates nothing. Host-class memory is not limited by it.
  uint64_t budget_bytes = 0;
};

class Allocator {
 public:
  static Result<std::unique_ptr<Allocator>> create(const Device& device, const AllocatorOptions& options = {});

  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;
  ~Allocator();

  // `what` names the buffer in error messages.
  Result<Allocation> allocate(const VkMemoryRequirements& req, MemoryUsage usage, const std::string& what);
  void free(const Allocation& allocation);

  // Make host writes visible to the device / device writes visible to the host (no-ops on
  // coherent memory). Ranges are widened to nonCoherentAtomSize as the spec requires.
  Status flush(const Allocation& a, VkDeviceSize offset, VkDeviceSize size) const;
  Status invalidate(const Allocation& a, VkDeviceSize offset, VkDeviceSize size) const;

  size_t block_count() const;
  // Device class: bytes in live buffers, and bytes of VkDeviceMemory held (blocks, including
  // their free ranges): what the budget limits.
  uint64_t bytes_in_use() const;
  uint64_t bytes_allocated() const;
  // Host class (staging, read-back, host-resident weights): bytes of VkDeviceMemory held.
  uint64_t host_bytes_allocated() const;
  uint64_t budget_bytes() const { return budget_; }
  uint64_t block_size() const { return block_size_; }
  // Live buffers by device address (vk::Buffer keeps it current).
  BufferDirectory& directory() { return directory_; }
  const BufferDirectory& directory() const { return directory_; }

 private:
  explicit Allocator(const Device& device) : device_(device) {}
  Result<uint32_t> pick_memory_type(uint32_t type_bits, MemoryUsage usage) const;
  Result<MemoryBlock*> new_block(uint32_t type_index, VkDeviceSize size, bool dedicated, bool device_class,
                                 const std::string& what);
  void release_block(MemoryBlock* block);
  VkMappedMemoryRange atom_range(const Allocation& a, VkDeviceSize offset, VkDeviceSize size) const;

  const Device& device_;
  uint64_t block_size_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<MemoryBlock>> blocks_;
  uint64_t in_use_ = 0;     // device class
  uint64_t allocated_ = 0;  // device class
  uint64_t host_allocated_ = 0;
  uint64_t budget_ = 0;
  BufferDirectory directory_;
};

}  // namespace r1vk::vk
