# r1vk_set_warnings(target): the warning set every first-party target builds with.
function(r1vk_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough)
  if(R1VK_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
