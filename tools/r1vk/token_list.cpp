#include "token_list.h"

#include <sstream>

namespace r1vk::cli {

Result<std::vector<int32_t>> parse_token_list(const std::string& list, const std::string& flag) {
  std::vector<int32_t> ids;
  std::string item;
  std::istringstream in(list);
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    const std::string trimmed = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (trimmed.empty() || trimmed.size() > 9 || trimmed.find_first_not_of("0123456789") != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, flag + ": \"" + item + "\" is not a token id");
    }
    ids.push_back(static_cast<int32_t>(std::stol(trimmed)));
  }
  if (ids.empty()) return make_error(ErrorCode::kInvalidArgument, flag + ": empty list");
  return ids;
}

}  // namespace r1vk::cli
