#include "vulkan/allocator.h"

#include <algorithm>
#include <optional>

#include "vulkan/fault_injection.h"
#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

// Names the buffer and the bytes it needed, so "out of memory" says what did not fit.
Error out_of_device_memory(const std::string& what, VkDeviceSize size, uint64_t allocated, VkResult r) {
  return make_error(ErrorCode::kOutOfMemory, what + ": out of device memory: needed " + std::to_string(size) +
                                                 " more bytes with " + std::to_string(allocated) +
                                                 " already allocated (" + vk_result_name(r) + ")");
}

VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a) { return a <= 1 ? v : (v + a - 1) / a * a; }

// First fit; returns the offset or nullopt.
std::optional<VkDeviceSize> take_range(MemoryBlock& b, VkDeviceSize size, VkDeviceSize align) {
  for (auto it = b.free_ranges.begin(); it != b.free_ranges.end(); ++it) {
    const VkDeviceSize start = it->first, len = it->second;
    const VkDeviceSize aligned = align_up(start, align);
    if (aligned + size > start + len) continue;
    b.free_ranges.erase(it);
    if (aligned > start) b.free_ranges[start] = aligned - start;
    if (aligned + size < start + len) b.free_ranges[aligned + size] = start + len - (aligned + size);
    return aligned;
  }
  return std::nullopt;
}

void return_range(MemoryBlock& b, VkDeviceSize offset, VkDeviceSize size) {
  auto [it, inserted] = b.free_ranges.emplace(offset, size);
  (void)inserted;
  auto next = std::next(it);
  if (next != b.free_ranges.end() && it->first + it->second == next->first) {
    it->second += next->second;
    b.free_ranges.erase(next);
  }
  if (it != b.free_ranges.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      b.free_ranges.erase(it);
    }
  }
}

}  // namespace

Result<std::unique_ptr<Allocator>> Allocator::create(const Device& device, const AllocatorOptions& options) {
  std::unique_ptr<Allocator> a(new Allocator(device));
  const uint64_t max_alloc = device.caps().max_memory_allocation_size;
  a->block_size_ = max_alloc ? std::min<uint64_t>(options.block_size, max_alloc) : options.block_size;
  if (a->block_size_ == 0) return make_error(ErrorCode::kInvalidArgument, "allocator block size must be positive");
  a->budget_ = options.budget_bytes;
  a->directory_.enable_texel_views(device.handle(), device.caps().max_texel_buffer_elements);
  return a;
}

Allocator::~Allocator() {
  for (auto& b : blocks_) {
    if (b->mapped) vkUnmapMemory(device_.handle(), b->memory);
    vkFreeMemory(device_.handle(), b->memory, nullptr);
  }
}

Result<uint32_t> Allocator::pick_memory_type(uint32_t type_bits, MemoryUsage usage) const {
  const auto& mem = device_.memory_properties();
  const bool host = usage != MemoryUsage::kDeviceLocal;
  const VkMemoryPropertyFlags required = host ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT : 0;
  int best = -1, best_score = -1;
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const VkMemoryPropertyFlags f = mem.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    int score = 0;
    if (usage == MemoryUsage::kDeviceLocal) {
      score = (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) ? 1 : 0;
    } else {
      score = __builtin_popcount(f & (VK_MEMORY_PROPERTY_HOST_CACHED_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT));
      // Host-resident weights must not take the device's own memory (a resizable-BAR type is
      // host-visible and device-local): prefer a type of a heap in system memory above all.
      const uint32_t heap = mem.memoryTypes[i].heapIndex;
      if (usage == MemoryUsage::kHostResident && !(mem.memoryHeaps[heap].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) score += 4;
    }
    if (score > best_score) best = static_cast<int>(i), best_score = score;
  }
  if (best < 0) return make_error(ErrorCode::kUnsupported, "no Vulkan memory type fits the buffer");
  return static_cast<uint32_t>(best);
}

Result<MemoryBlock*> Allocator::new_block(uint32_t type_index, VkDeviceSize size, bool dedicated, bool device_class,
                                          const std::string& what) {
  if (device_class && budget_ && allocated_ + size > budget_) {
    return make_error(ErrorCode::kOutOfBudget, what + ": " + std::to_string(size) + " more bytes of device memory would pass the budget of " +
                                                   std::to_string(budget_) + " bytes (" + std::to_string(allocated_) + " in use)");
  }
  VkMemoryAllocateFlagsInfo flags{};
  flags.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO;
  flags.flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT;
  VkMemoryAllocateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  info.pNext = &flags;
  info.allocationSize = size;
  info.memoryTypeIndex = type_index;
  auto block = std::make_unique<MemoryBlock>();
  const VkResult r = vkAllocateMemory(device_.handle(), &info, nullptr, &block->memory);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
    return out_of_device_memory(what, size, allocated_, r);
  }
  if (r != VK_SUCCESS) return vk_error(r, "vkAllocateMemory").with_context(what + " (" + std::to_string(size) + " bytes)");
  const VkMemoryPropertyFlags f = device_.memory_properties().memoryTypes[type_index].propertyFlags;
  block->size = size;
  block->type_index = type_index;
  block->dedicated = dedicated;
  block->device_class = device_class;
  block->host_coherent = (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
  if (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
    void* p = nullptr;
    const VkResult mr = vkMapMemory(device_.handle(), block->memory, 0, VK_WHOLE_SIZE, 0, &p);
    if (mr != VK_SUCCESS) {
      vkFreeMemory(device_.handle(), block->memory, nullptr);
      return vk_error(mr, "vkMapMemory").with_context(what);
    }
    block->mapped = static_cast<std::byte*>(p);
  }
  block->free_ranges[0] = size;
  (device_class ? allocated_ : host_allocated_) += size;
  blocks_.push_back(std::move(block));
  return blocks_.back().get();
}

Result<Allocation> Allocator::allocate(const VkMemoryRequirements& req, MemoryUsage usage, const std::string& what) {
  std::lock_guard<std::mutex> lock(mutex_);
  R1VK_ASSIGN_OR_RETURN(uint32_t type, pick_memory_type(req.memoryTypeBits, usage));
  const VkMemoryPropertyFlags f = device_.memory_properties().memoryTypes[type].propertyFlags;
  const bool non_coherent = (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && !(f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
  const VkDeviceSize atom = non_coherent ? device_.caps().non_coherent_atom_size : 1;
  const VkDeviceSize align = std::max<VkDeviceSize>({req.alignment, atom, 1});
  const VkDeviceSize size = align_up(std::max<VkDeviceSize>(req.size, 1), atom);
  // Injected faults count buffer allocations (a shared block may serve many without a new
  // vkAllocateMemory) and fail one as the driver would.
  if (const VkResult fr = fault::check(fault::Site::kAllocate); fr != VK_SUCCESS) {
    return out_of_device_memory(what, size, allocated_, fr);
  }
  const uint64_t max_alloc = device_.caps().max_memory_allocation_size;
  if (max_alloc && size > max_alloc)
    return make_error(ErrorCode::kOutOfRange, what + ": " + std::to_string(size) +
                                                  " bytes exceed the device's maxMemoryAllocationSize of " +
                                                  std::to_string(max_alloc));

  const bool device_class = is_device_class(usage);
  MemoryBlock* chosen = nullptr;
  VkDeviceSize offset = 0;
  if (size <= block_size_) {
    for (auto& b : blocks_) {
      if (b->dedicated || b->type_index != type || b->device_class != device_class) continue;
      if (auto off = take_range(*b, size, align)) {
        chosen = b.get();
        offset = *off;
        break;
      }
    }
  }
  if (!chosen) {
    const bool dedicated = size > block_size_;
    VkDeviceSize block = dedicated ? size : block_size_;
    // Under a budget, a shared block shrinks to what is left rather than failing an allocation
    // that would fit; with nothing left it is the buffer's own size, so the error names what
    // the buffer needs, not the allocator's block size.
    if (device_class && budget_ && !dedicated) {
      const VkDeviceSize left = allocated_ < budget_ ? budget_ - allocated_ : 0;
      block = std::max(size, std::min<VkDeviceSize>(block, left));
    }
    R1VK_ASSIGN_OR_RETURN(chosen, new_block(type, block, dedicated, device_class, what));
    offset = *take_range(*chosen, size, align);
  }
  ++chosen->live;
  if (device_class) in_use_ += size;
  Allocation a;
  a.memory = chosen->memory;
  a.offset = offset;
  a.size = size;
  a.mapped = chosen->mapped ? chosen->mapped + offset : nullptr;
  a.host_coherent = chosen->host_coherent;
  a.block = chosen;
  return a;
}

void Allocator::free(const Allocation& a) {
  if (!a.block) return;
  std::lock_guard<std::mutex> lock(mutex_);
  return_range(*a.block, a.offset, a.size);
  if (a.block->device_class) in_use_ -= a.size;
  if (--a.block->live == 0) release_block(a.block);
}

void Allocator::release_block(MemoryBlock* block) {
  auto it = std::find_if(blocks_.begin(), blocks_.end(), [&](const auto& b) { return b.get() == block; });
  if (it == blocks_.end()) return;
  if (block->mapped) vkUnmapMemory(device_.handle(), block->memory);
  vkFreeMemory(device_.handle(), block->memory, nullptr);
  (block->device_class ? allocated_ : host_allocated_) -= block->size;
  blocks_.erase(it);
}

VkMappedMemoryRange Allocator::atom_range(const Allocation& a, VkDeviceSize offset, VkDeviceSize size) const {
  const VkDeviceSize atom = std::max<VkDeviceSize>(device_.caps().non_coherent_atom_size, 1);
  const VkDeviceSize begin = (a.offset + offset) / atom * atom;
  VkDeviceSize end = align_up(a.offset + offset + size, atom);
  end = std::min(end, a.block->size);
  VkMappedMemoryRange r{};
  r.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
  r.memory = a.memory;
  r.offset = begin;
  r.size = end - begin;
  return r;
}

Status Allocator::flush(const Allocation& a, VkDeviceSize offset, VkDeviceSize size) const {
  if (!a.mapped || a.host_coherent || size == 0) return ok_status();
  const VkMappedMemoryRange r = atom_range(a, offset, size);
  R1VK_VK_TRY(vkFlushMappedMemoryRanges(device_.handle(), 1, &r));
  return ok_status();
}

Status Allocator::invalidate(const Allocation& a, VkDeviceSize offset, VkDeviceSize size) const {
  if (!a.mapped || a.host_coherent || size == 0) return ok_status();
  const VkMappedMemoryRange r = atom_range(a, offset, size);
  R1VK_VK_TRY(vkInvalidateMappedMemoryRanges(device_.handle(), 1, &r));
  return ok_status();
}

size_t Allocator::block_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return blocks_.size();
}

uint64_t Allocator::bytes_allocated() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return allocated_;
}

uint64_t Allocator::host_bytes_allocated() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return host_allocated_;
}

uint64_t Allocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

}  // namespace r1vk::vk
