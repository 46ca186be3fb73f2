#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a bare GPU machine with no network into gpu-bundle/
# (git-ignored), as one xz archive so it fits a device tool's 64 MiB transfer: the r1vk CLI and the GPU-relevant test executables from a build tree, every
# shared library they load apart from glibc's own, the Vulkan loader and the Khronos validation
# layer. The source tree (tests/data, models/) travels beside it as the working tree.
#
#   scripts/gpu-bundle.sh [BUILD_DIR]     (default: build/, built by scripts/build.sh)
#
# Then, on the GPU machine, from the repository root: scripts/gpu-check.sh [OUT_DIR]
# (docs/gpu_check.md; with this workplace's device tool: carry gpu-bundle).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
out_dir=$root/gpu-bundle
bundle=$(mktemp -d)/gpu-bundle
trap 'rm -rf "$(dirname "$bundle")"' EXIT
tests=(vulkan_tests attention_kernel_tests linear_kernel_tests exec_tests offload_tests)

[ -x "$build/r1vk" ] || { echo "gpu-bundle: $build/r1vk not found: run scripts/build.sh first" >&2; exit 1; }
rm -rf "$out_dir"
mkdir -p "$bundle/bin" "$bundle/lib" "$bundle/layers"
cp "$build/r1vk" "$bundle/bin/"
for t in "${tests[@]}"; do
  [ -x "$build/tests/$t" ] || { echo "gpu-bundle: $build/tests/$t not built" >&2; exit 1; }
  cp "$build/tests/$t" "$bundle/bin/"
done
strip --strip-debug "$bundle"/bin/*

# Shared libraries: everything ldd resolves except glibc itself (the target's own glibc must be
# used; it is at least as new as Debian 12's on current distributions).
copy_libs() {
  ldd "$1" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*|libresolv.so.*) ;;
      *) [ -e "$bundle/lib/$(basename "$lib")" ] || cp -L "$lib" "$bundle/lib/" ;;
    esac
  done
}
for b in "$bundle"/bin/*; do copy_libs "$b"; done

# The Khronos validation layer, so the kernel and logit tests run with validation on there too.
layer_json=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
layer_lib=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
  if [ -f "$d/libVkLayer_khronos_validation.so" ]; then layer_lib=$d/libVkLayer_khronos_validation.so; break; fi
done
if [ -f "$layer_json" ] && [ -n "$layer_lib" ]; then
  cp -L "$layer_lib" "$bundle/layers/"
  strip --strip-debug "$bundle/layers/$(basename "$layer_lib")"
  sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"./$(basename "$layer_lib")\"#" "$layer_json" \
    >"$bundle/layers/VkLayer_khronos_validation.json"
  copy_libs "$layer_lib"
else
  echo "gpu-bundle: no Khronos validation layer here; the GPU tests will run without it" >&2
fi
git -C "$root" rev-parse --short HEAD >"$bundle/COMMIT" 2>/dev/null || true
mkdir -p "$out_dir"
tar -C "$(dirname "$bundle")" -cJf "$out_dir/bundle.tar.xz" gpu-bundle
du -sh "$out_dir/bundle.tar.xz"
