// The C API's success path and its answers to bad input: NULLs, bad paths, corrupt files, wrong
// struct sizes, calls out of order. Only r1vk.h is used.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "capi/capi_fixture.h"

using namespace capi_test;

TEST_CASE("version and status names") {
  CHECK(r1vk_api_version() == R1VK_API_VERSION);
  CHECK(r1vk_version() == R1VK_VERSION);
  CHECK(std::string(r1vk_version_string()) ==
        std::to_string(R1VK_VERSION_MAJOR) + "." + std::to_string(R1VK_VERSION_MINOR) + "." + std::to_string(R1VK_VERSION_PATCH));
  CHECK(std::string(r1vk_status_name(R1VK_ERROR_CONTEXT_FULL)) == "R1VK_ERROR_CONTEXT_FULL");
  CHECK(std::string(r1vk_status_name(static_cast<r1vk_status>(999))) == "R1VK_ERROR_UNKNOWN");
  const std::string req = r1vk_device_requirements();
  CHECK(req.find("bufferDeviceAddress") != std::string::npos);
  CHECK(req.find("timelineSemaphore") != std::string::npos);
  CHECK(req.find("VK_KHR_push_descriptor") != std::string::npos);
}

TEST_CASE("NULL arguments give R1VK_ERROR_INVALID_ARGUMENT, never a crash") {
  CHECK(r1vk_context_create(nullptr, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("out_context") != std::string::npos);
  CHECK(r1vk_context_create_adopted(nullptr, nullptr, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_context* ctx = reinterpret_cast<r1vk_context*>(1);
  CHECK(r1vk_context_create_adopted(nullptr, nullptr, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(ctx == nullptr);  // outputs are cleared first
  r1vk_model* model = nullptr;
  CHECK(r1vk_model_load(nullptr, "x", nullptr, &model) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_model_get_info(nullptr, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_session* session = nullptr;
  CHECK(r1vk_session_create(nullptr, &session) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_feed_tokens(nullptr, nullptr, 0) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_feed_chat(nullptr, nullptr, 0) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_generate(nullptr, nullptr, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_cancel(nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_submit_step(nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  int ready = 7;
  CHECK(r1vk_session_poll(nullptr, nullptr, &ready) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_reset(nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_context_memory_usage(nullptr, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  size_t n = 0;
  CHECK(r1vk_tokenize(nullptr, "a", 1, 0, nullptr, 0, &n) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_detokenize(nullptr, nullptr, 0, nullptr, 0, &n) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_context_device_name(nullptr)).empty());
  r1vk_session_destroy(nullptr);
  r1vk_model_destroy(nullptr);
  r1vk_context_destroy(nullptr);
  r1vk_context_options_init(nullptr);
}

TEST_CASE("an options struct that was not initialised is refused") {
  r1vk_context_options co{};  // struct_size 0
  r1vk_context* ctx = nullptr;
  CHECK(r1vk_context_create(&co, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("r1vk_context_options_init") != std::string::npos);
  CHECK(ctx == nullptr);
}

TEST_CASE("a device index that does not exist is a clear error") {
  r1vk_context_options co;
  r1vk_context_options_init(&co);
  co.device_index = 99;
  r1vk_context* ctx = nullptr;
  CHECK(r1vk_context_create(&co, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);
  const std::string message = r1vk_last_error();
  CHECK(message.find("Vulkan device 99 does not exist") != std::string::npos);
  // The C API has no --device flag: the message must not name the CLI's.
  CHECK(message.find("--device") == std::string::npos);
  CHECK(ctx == nullptr);
  co.device_index = 0;
  CAPI_OK(r1vk_context_create(&co, &ctx));
  r1vk_context_destroy(ctx);
}

TEST_CASE("bad model paths name the problem") {
  r1vk_context* ctx = nullptr;
  CAPI_OK(r1vk_context_create(nullptr, &ctx));
  r1vk_model* model = nullptr;

  CHECK(r1vk_model_load(ctx, "/nonexistent/model.r1vk", nullptr, &model) != R1VK_OK);
  CHECK(std::string(r1vk_last_error()).find("/nonexistent/model.r1vk") != std::string::npos);
  CHECK(model == nullptr);

  const auto dir = std::filesystem::temp_directory_path();
  CHECK(r1vk_model_load(ctx, dir.c_str(), nullptr, &model) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("r1vk compile") != std::string::npos);

  const auto junk = dir / "r1vk_capi_junk.r1vk";
  std::ofstream(junk) << "this is not a plan file, just some text that is long enough to have a header";
  const r1vk_status s = r1vk_model_load(ctx, junk.c_str(), nullptr, &model);
  CHECK(s != R1VK_OK);
  CHECK(s != R1VK_ERROR_INTERNAL);
  CHECK(model == nullptr);
  std::filesystem::remove(junk);

  r1vk_model_options mo;
  r1vk_model_options_init(&mo);
  mo.context_length = 1 << 30;
  CHECK(r1vk_model_load(ctx, plan_path().c_str(), &mo, &model) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("exceeds") != std::string::npos);
  r1vk_context_destroy(ctx);
}

TEST_CASE("model info, tokenize and detokenize") {
  Loaded l;
  load(l);
  r1vk_model_info info;
  r1vk_model_info_init(&info);
  CAPI_OK(r1vk_model_get_info(l.model, &info));
  CHECK(std::string(info.architecture) == "deepseek_v3");
  CHECK(info.vocab_size > 0);
  CHECK(info.context_length == info.max_context_length);
  CHECK(info.context_length == 256);  // the fixture compiles with --ctx 256
  CHECK(info.layers > 0);
  CHECK(info.eos_token >= 0);
  CHECK(info.weight_bytes > 0);

  const std::string text = "What is 12 + 30?";
  size_t count = 0;
  CHECK(r1vk_tokenize(l.model, text.data(), text.size(), 0, nullptr, 0, &count) == R1VK_ERROR_BUFFER_TOO_SMALL);
  REQUIRE(count > 0);
  std::vector<int32_t> ids(count);
  CAPI_OK(r1vk_tokenize(l.model, text.data(), text.size(), 0, ids.data(), ids.size(), &count));
  size_t len = 0;
  char small[4];
  CHECK(r1vk_detokenize(l.model, ids.data(), ids.size(), small, sizeof small, &len) == R1VK_ERROR_BUFFER_TOO_SMALL);
  CHECK(len == text.size());
  std::vector<char> buf(len + 1);
  CAPI_OK(r1vk_detokenize(l.model, ids.data(), ids.size(), buf.data(), buf.size(), &len));
  CHECK(std::string(buf.data()) == text);
  const int32_t bad = static_cast<int32_t>(info.vocab_size) + 5;
  CHECK(r1vk_detokenize(l.model, &bad, 1, buf.data(), buf.size(), &len) == R1VK_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a chat question gets the demo model's reasoning and answer") {
  Loaded l;
  load(l);
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.reasoning.find("1:") != std::string::npos);  // the column-by-column reasoning
  CHECK(c.answer.find("-61238") != std::string::npos);  // 31415 - 92653 (models/r1vk-demo/README.md)
  CHECK(c.reasoning.find("think>") == std::string::npos);
  r1vk_session_destroy(s);
}

TEST_CASE("calls out of order and bad values are refused; the session stays usable") {
  Loaded l;
  load(l);
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  CHECK(r1vk_session_generate(s, nullptr, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("feed") != std::string::npos);
  CHECK(r1vk_session_submit_step(s) == R1VK_ERROR_INVALID_ARGUMENT);
  const int32_t bad_token = 1 << 28;
  CHECK(r1vk_session_feed_tokens(s, &bad_token, 1) == R1VK_ERROR_INVALID_ARGUMENT);
  const int32_t one = 1;
  CHECK(r1vk_session_feed_tokens(s, &one, 0) == R1VK_ERROR_INVALID_ARGUMENT);
  const r1vk_chat_message bad_role[] = {{"wizard", "hi"}};
  CHECK(r1vk_session_feed_chat(s, bad_role, 1) == R1VK_ERROR_INVALID_ARGUMENT);
  const r1vk_chat_message null_content[] = {{"user", nullptr}};
  CHECK(r1vk_session_feed_chat(s, null_content, 1) == R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_sampling sp;
  r1vk_sampling_init(&sp);
  sp.top_p = 0.0f;
  CHECK(r1vk_session_set_sampling(s, &sp) == R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.max_tokens = 0;
  CAPI_OK(r1vk_session_feed_chat(s, kQuestion, 1));
  CHECK(r1vk_session_generate(s, &go, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  go.max_tokens = 5;
  go.stop_string_count = 1;
  CHECK(r1vk_session_generate(s, &go, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  int64_t pos = 0;
  CAPI_OK(r1vk_session_position(s, &pos, nullptr));
  CHECK(pos > 0);

  set_greedy(s);
  CAPI_OK(r1vk_session_reset(s));
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.answer.find("-61238") != std::string::npos);
  r1vk_session_destroy(s);
}

TEST_CASE("load progress is reported and returning 0 cancels the load") {
  r1vk_context* ctx = nullptr;
  CAPI_OK(r1vk_context_create(nullptr, &ctx));
  struct Seen {
    std::vector<float> fractions;
    std::vector<r1vk_load_stage> stages;
    int stop_after = -1;
  } seen;
  auto on_progress = [](float f, r1vk_load_stage st, void* user) -> int {
    auto* s = static_cast<Seen*>(user);
    s->fractions.push_back(f);
    s->stages.push_back(st);
    return s->stop_after < 0 || static_cast<int>(s->fractions.size()) < s->stop_after;
  };
  r1vk_model_options mo;
  r1vk_model_options_init(&mo);
  mo.progress = on_progress;
  mo.progress_user_data = &seen;
  r1vk_model* model = nullptr;
  CAPI_OK(r1vk_model_load(ctx, plan_path().c_str(), &mo, &model));
  REQUIRE(seen.stages.size() >= 3);
  CHECK(seen.stages.front() == R1VK_LOAD_OPENING);
  CHECK(seen.stages.back() == R1VK_LOAD_DONE);
  for (size_t i = 1; i < seen.fractions.size(); ++i) CHECK(seen.fractions[i] >= seen.fractions[i - 1]);
  r1vk_model_destroy(model);

  seen = Seen{};
  seen.stop_after = 3;  // cancel during the upload
  model = nullptr;
  CHECK(r1vk_model_load(ctx, plan_path().c_str(), &mo, &model) == R1VK_ERROR_CANCELLED);
  CHECK(model == nullptr);
  CHECK(seen.fractions.size() == 3);
  r1vk_memory_usage usage;
  CAPI_OK(r1vk_context_memory_usage(ctx, &usage));
  CHECK(usage.used_bytes == 0);  // the cancelled load released what it had allocated
  r1vk_context_destroy(ctx);
}

TEST_CASE("the on-disk pipeline cache is written when the context is destroyed; a bad file is replaced") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("r1vk_capi_pc_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "pc.bin";
  // A Vulkan pipeline cache starts with its header length (32 for VK_PIPELINE_CACHE_HEADER_VERSION_ONE) and version 1.
  auto header_ok = [&file] {
    std::ifstream in(file, std::ios::binary);
    uint32_t h[2] = {};
    return in.read(reinterpret_cast<char*>(h), sizeof(h)) && h[0] >= 32 && h[1] == 1;
  };
  for (bool garbage_first : {false, true}) {
    CAPTURE(garbage_first);
    if (garbage_first) std::ofstream(file, std::ios::binary | std::ios::trunc) << "not a pipeline cache, long enough to be checked";
    r1vk_context_options co;
    r1vk_context_options_init(&co);
    const std::string path = file.string();
    co.pipeline_cache_path = path.c_str();
    r1vk_context* c = nullptr;
    CAPI_OK(r1vk_context_create(&co, &c));
    r1vk_model_options mo;
    r1vk_model_options_init(&mo);
    r1vk_model* m = nullptr;
    CAPI_OK(r1vk_model_load(c, capi_test::plan_path().c_str(), &mo, &m));
    r1vk_model_destroy(m);
    r1vk_context_destroy(c);
    CHECK(fs::exists(file));
    CHECK(header_ok());
  }
  fs::remove_all(dir);
}

TEST_CASE("handles can be destroyed in any order") {
  r1vk_context* ctx = nullptr;
  CAPI_OK(r1vk_context_create(nullptr, &ctx));
  r1vk_model* model = nullptr;
  CAPI_OK(r1vk_model_load(ctx, plan_path().c_str(), nullptr, &model));
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(model, &s));
  r1vk_context_destroy(ctx);  // the model keeps it alive
  r1vk_model_destroy(model);  // the session keeps it alive
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c, 8) == R1VK_FINISH_LENGTH);
  CHECK(c.tokens.size() == 8);
  r1vk_session_destroy(s);
}

TEST_CASE("raw tokens of the rendered template give the same reply as the chat messages") {
  Loaded l;
  load(l);
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  set_greedy(s);
  Collected chat;
  REQUIRE(ask(s, chat) == R1VK_FINISH_EOS);

  const std::string prompt =
      "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C><\xEF\xBD\x9CUser\xEF\xBD\x9C>What is 31415 - 92653?"
      "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n";
  std::vector<int32_t> ids(256);
  size_t n = 0;
  CAPI_OK(r1vk_tokenize(l.model, prompt.data(), prompt.size(), 1, ids.data(), ids.size(), &n));
  ids.resize(n);
  CAPI_OK(r1vk_session_reset(s));
  CAPI_OK(r1vk_session_feed_tokens(s, ids.data(), ids.size()));
  Collected raw;
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.on_token = collect;
  go.user_data = &raw;
  CAPI_OK(r1vk_session_generate(s, &go, nullptr));
  CHECK(raw.tokens == chat.tokens);
  CHECK(raw.reasoning == chat.reasoning);  // the fed "<think>" opened the reasoning
  CHECK(raw.answer == chat.answer);
  r1vk_session_destroy(s);
}
