// Non-throwing access to an op's attributes: a plan whose op lacks one is corrupt, and says so.
#pragma once

#include <string>

#include "base/status.h"
#include "plan/program.h"

namespace r1vk::exec {

inline Result<int64_t> attr_int(const plan::Op& op, const std::string& name) {
  auto it = op.ints.find(name);
  if (it == op.ints.end()) return make_error(ErrorCode::kCorruptData, "op " + op.label + " lacks attribute " + name);
  return it->second;
}

inline Result<double> attr_real(const plan::Op& op, const std::string& name) {
  auto it = op.reals.find(name);
  if (it == op.reals.end()) return make_error(ErrorCode::kCorruptData, "op " + op.label + " lacks attribute " + name);
  return it->second;
}

inline int64_t attr_int_or(const plan::Op& op, const std::string& name, int64_t fallback) {
  auto it = op.ints.find(name);
  return it == op.ints.end() ? fallback : it->second;
}

}  // namespace r1vk::exec
