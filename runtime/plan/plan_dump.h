// Human-readable text of a plan (`r1vk compile --dump-plan`, `r1vk info model.r1vk`): tensor
// table, memory plan and the dispatch program, one op a line. Stable enough for golden tests.
#pragma once

#include <string>

#include "plan/manifest.h"

namespace r1vk::plan {

std::string dump_plan(const Manifest& m);
std::string summarize_plan(const Manifest& m);  // the header part only

}  // namespace r1vk::plan
