# With R1VK_SANITIZE=ON every target is built with ASan + UBSan and any UB report aborts,
# so CI's sanitizer build fails on the first finding instead of printing and carrying on.
if(R1VK_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
