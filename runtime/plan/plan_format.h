// The .r1vk plan container, shared by the writer (frontend/plan) and the loader (runtime/plan).
// Layout (docs/plan_format.md):
//   [FileHeader, 64 bytes][blob 0][pad][blob 1]...[manifest JSON]
// Every blob starts at a multiple of kBlobAlignment so it can be mapped and uploaded in place;
// the manifest lists each blob's offset, size and XXH64; the header holds the manifest's
// position and XXH64 and its own XXH64, so any corrupted byte is caught on load.
#pragma once

#include <cstdint>

namespace r1vk::plan {

inline constexpr char kMagic[8] = {'R', '1', 'V', 'K', 'P', 'L', 'A', 'N'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint64_t kBlobAlignment = 4096;
inline constexpr uint64_t kMaxManifestBytes = 256ull << 20;

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;  // sizeof(FileHeader)
  uint64_t file_size;
  uint64_t manifest_offset;
  uint64_t manifest_size;
  uint64_t manifest_xxh64;
  uint64_t reserved;
  uint64_t header_xxh64;  // XXH64 of the 56 bytes before this field
};
static_assert(sizeof(FileHeader) == 64);

// A byte range of the file holding one blob.
struct BlobRef {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t xxh64 = 0;
};

}  // namespace r1vk::plan
