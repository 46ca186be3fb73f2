// Contexts: r1vk's own device, or the host's adopted one, and the memory budget.
#include <string>

#include "capi/errors.h"
#include "capi/handles.h"
#include "vulkan/enabled_features.h"

namespace r1vk::capi {
namespace {

vk::ContextOptions to_context_options(const r1vk_context_options* o) {
  vk::ContextOptions opts;
  if (!o) return opts;
  if (o->device_index >= 0) opts.device_index = o->device_index;
  opts.validation = o->validation != 0;
  opts.allocator.budget_bytes = o->memory_budget_bytes;
  if (o->pipeline_cache_path) {
    if (o->pipeline_cache_path[0] == '\0') {
      opts.disk_pipeline_cache = false;
    } else {
      opts.pipeline_cache_path = o->pipeline_cache_path;
    }
  }
  return opts;
}

r1vk_status check_options(const r1vk_context_options* o) {
  if (o && o->struct_size < sizeof(r1vk_context_options))
    return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_context_options.struct_size is too small: initialise it with r1vk_context_options_init");
  return R1VK_OK;
}

r1vk_status finish(Result<std::unique_ptr<vk::Context>> created, r1vk_context** out) {
  if (!created.ok()) return fail(created.error());
  auto handle = std::make_unique<r1vk_context>();
  handle->state = std::make_shared<ContextState>();
  handle->state->context = std::move(created).value();
  *out = handle.release();
  return R1VK_OK;
}

}  // namespace
}  // namespace r1vk::capi

using namespace r1vk::capi;  // NOLINT: the C entry points below are thin shims

extern "C" {

R1VK_EXPORT void r1vk_context_options_init(r1vk_context_options* o) {
  if (!o) return;
  *o = r1vk_context_options{};
  o->struct_size = sizeof(*o);
  o->device_index = -1;
}

R1VK_EXPORT void r1vk_host_device_init(r1vk_host_device* h) {
  if (!h) return;
  *h = r1vk_host_device{};
  h->struct_size = sizeof(*h);
}

R1VK_EXPORT const char* r1vk_device_requirements(void) {
  try {
    static const std::string text = [] {
      std::string t;
      for (const auto& line : r1vk::vk::device_requirements()) t += line + "\n";
      return t;
    }();
    return text.c_str();
  } catch (...) {  // only host memory exhaustion can get here
    return "";
  }
}

R1VK_EXPORT r1vk_status r1vk_context_create(const r1vk_context_options* options, r1vk_context** out_context) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(out_context);
    *out_context = nullptr;
    if (r1vk_status s = check_options(options); s != R1VK_OK) return s;
    return finish(r1vk::vk::Context::create(to_context_options(options)), out_context);
  });
}

R1VK_EXPORT r1vk_status r1vk_context_create_adopted(const r1vk_host_device* host, const r1vk_context_options* options,
                                                    r1vk_context** out_context) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(out_context);
    *out_context = nullptr;
    R1VK_CAPI_REQUIRE(host);
    if (host->struct_size < sizeof(r1vk_host_device))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_host_device.struct_size is too small: initialise it with r1vk_host_device_init");
    if (r1vk_status s = check_options(options); s != R1VK_OK) return s;
    if ((host->lock_queue == nullptr) != (host->unlock_queue == nullptr))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "lock_queue and unlock_queue must be set together");
    r1vk::vk::HostDevice h;
    h.instance = static_cast<VkInstance>(host->instance);
    h.instance_api_version = host->instance_api_version;
    h.physical = static_cast<VkPhysicalDevice>(host->physical_device);
    h.device = static_cast<VkDevice>(host->device);
    h.queue_family = host->queue_family_index;
    h.queue = static_cast<VkQueue>(host->queue);
    h.create_info = static_cast<const VkDeviceCreateInfo*>(host->device_create_info);
    h.get_instance_proc_addr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(host->get_instance_proc_addr);
    if (host->lock_queue) {
      auto lock = host->lock_queue;
      auto unlock = host->unlock_queue;
      void* user = host->queue_lock_user_data;
      h.lock_queue = [lock, user] { lock(user); };
      h.unlock_queue = [unlock, user] { unlock(user); };
    }
    r1vk::vk::ContextOptions opts = to_context_options(options);
    opts.device_index.reset();
    opts.validation = false;
    return finish(r1vk::vk::Context::adopt(h, opts), out_context);
  });
}

R1VK_EXPORT void r1vk_context_destroy(r1vk_context* context) {
  (void)guarded([&] {
    delete context;
    return R1VK_OK;
  });
}

R1VK_EXPORT const char* r1vk_context_device_name(const r1vk_context* context) {
  if (!context || !context->state) return "";
  return context->state->context->caps().name.c_str();
}

R1VK_EXPORT r1vk_status r1vk_context_memory_usage(const r1vk_context* context, r1vk_memory_usage* out_usage) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(context);
    R1VK_CAPI_REQUIRE(out_usage);
    auto& alloc = context->state->context->allocator();
    out_usage->allocated_bytes = alloc.bytes_allocated();
    out_usage->used_bytes = alloc.bytes_in_use();
    out_usage->budget_bytes = alloc.budget_bytes();
    return R1VK_OK;
  });
}

}  // extern "C"
