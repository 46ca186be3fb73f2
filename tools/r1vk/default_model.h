// Where the CLI finds the bundled demo model when no MODEL is given: in an installed r1vk, next
// to the executable (<prefix>/bin/r1vk -> <prefix>/share/r1vk/models/r1vk-demo, so a relocated
// prefix still works); in a build tree, the source tree's models/r1vk-demo.
#pragma once

#include <string>

namespace r1vk::cli {

// The first candidate directory that exists; the installed one when none does (so the error
// then names where an install should have put it).
std::string default_model_dir();

}  // namespace r1vk::cli
