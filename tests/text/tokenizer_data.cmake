# The real tokenizers used by the text tests are stored xz-compressed (tests/data/tokenizers/*/
# tokenizer.json.tar.xz); this unpacks each next to a copy of its tokenizer_config.json in the
# build tree, so a tokenizer directory there looks like a checkpoint's.
set(R1VK_TOKENIZER_DATA_DIR ${CMAKE_CURRENT_BINARY_DIR}/data/tokenizers)
set(tokenizer_outputs)
foreach(name deepseek_r1 qwen3 llama3_1)
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/data/tokenizers/${name})
  set(dst ${R1VK_TOKENIZER_DATA_DIR}/${name})
  add_custom_command(
    OUTPUT ${dst}/tokenizer.json ${dst}/tokenizer_config.json
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dst}
    COMMAND ${CMAKE_COMMAND} -E chdir ${dst} ${CMAKE_COMMAND} -E tar xf ${src}/tokenizer.json.tar.xz
    COMMAND ${CMAKE_COMMAND} -E touch ${dst}/tokenizer.json
    COMMAND ${CMAKE_COMMAND} -E copy ${src}/tokenizer_config.json ${dst}/tokenizer_config.json
    DEPENDS ${src}/tokenizer.json.tar.xz ${src}/tokenizer_config.json
    COMMENT "Unpacking test tokenizer ${name}")
  list(APPEND tokenizer_outputs ${dst}/tokenizer.json ${dst}/tokenizer_config.json)
endforeach()
add_custom_target(r1vk_tokenizer_test_data ALL DEPENDS ${tokenizer_outputs})
