// The built-in chat page served at "/": one HTML document with its script and style inline (no
// external assets, no build step). It streams /v1/chat/completions and shows the reasoning in a
// collapsed <details> apart from the answer. Opening "/?q=QUESTION" asks QUESTION at once.
#pragma once

#include <string_view>

namespace r1vk::serve::http {

std::string_view chat_page_html();

}  // namespace r1vk::serve::http
