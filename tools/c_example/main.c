/* r1vk-c-example: embedding r1vk from plain C11.
 *
 *   r1vk-c-example PLAN [QUESTION]
 *
 * Loads a compiled plan (r1vk compile models/r1vk-demo -o demo.r1vk), asks QUESTION in a chat and
 * streams the reply through the token callback, reasoning and answer apart; then runs a second
 * reply with the non-blocking loop a game's frame loop would use (submit a step, poll each frame,
 * do other work meanwhile). Exits 0 on success, 1 on an r1vk error, 2 on bad usage. */
#include <r1vk/r1vk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(r1vk_status status, const char* what) {
  if (status == R1VK_OK) return 1;
  fprintf(stderr, "r1vk-c-example: %s failed: %s: %s\n", what, r1vk_status_name(status), r1vk_last_error());
  return 0;
}

static int print_progress(float fraction, r1vk_load_stage stage, void* user_data) {
  (void)user_data;
  if (stage == R1VK_LOAD_DONE) fprintf(stderr, "loaded\n");
  else if (stage == R1VK_LOAD_UPLOADING && fraction >= 1.0f) fprintf(stderr, "weights uploaded\n");
  return 1; /* 0 would cancel the load */
}

/* Streams the reply as it comes: the reasoning in brackets, then the answer. */
static int on_token(const r1vk_token_event* event, void* user_data) {
  int* in_answer = (int*)user_data;
  const char* answer = event->answer;
  size_t answer_length = event->answer_length;
  fwrite(event->reasoning, 1, event->reasoning_length, stdout);
  if (!*in_answer) { /* the answer starts after the blank line that follows </think> */
    while (answer_length > 0 && (*answer == '\n' || *answer == ' ')) ++answer, --answer_length;
    if (answer_length > 0) {
      fputs("]\nanswer: ", stdout);
      *in_answer = 1;
    }
  }
  fwrite(answer, 1, answer_length, stdout);
  fflush(stdout);
  return 1; /* 0 would stop the generation */
}

static const char* finish_name(r1vk_finish_reason r) {
  switch (r) {
    case R1VK_FINISH_EOS: return "end of reply";
    case R1VK_FINISH_LENGTH: return "token limit";
    case R1VK_FINISH_CONTEXT_FULL: return "context full";
    case R1VK_FINISH_CANCELLED: return "cancelled";
    case R1VK_FINISH_STOP_STRING: return "stop string";
    case R1VK_FINISH_CALLBACK: return "stopped by callback";
  }
  return "?";
}

/* The blocking path: one call generates the whole reply, streaming through on_token. */
static int blocking_reply(r1vk_session* session, const r1vk_chat_message* chat, size_t count) {
  int in_answer = 0;
  r1vk_generate_options options;
  r1vk_generate_result result;
  if (!check(r1vk_session_feed_chat(session, chat, count), "feeding the chat")) return 0;
  r1vk_generate_options_init(&options);
  r1vk_generate_result_init(&result);
  options.max_tokens = 200;
  options.on_token = on_token;
  options.user_data = &in_answer;
  fputs("reasoning: [", stdout);
  if (!check(r1vk_session_generate(session, &options, &result), "generating")) return 0;
  printf("\n(%lld tokens, %s, %.1f tokens/s)\n", (long long)result.generated_tokens, finish_name(result.finish),
         result.seconds > 0 ? (double)result.generated_tokens / result.seconds : 0.0);
  return 1;
}

/* The non-blocking path: the "frame loop" never waits for the device. */
static int frame_loop_reply(r1vk_session* session, const r1vk_model* model, const r1vk_chat_message* chat, size_t count) {
  r1vk_model_info info;
  int32_t tokens[160];
  size_t n = 0;
  long frames = 0;
  char text[2048];
  size_t length = 0;
  r1vk_model_info_init(&info);
  if (!check(r1vk_model_get_info(model, &info), "model info")) return 0;
  if (!check(r1vk_session_reset(session), "reset")) return 0;
  if (!check(r1vk_session_feed_chat(session, chat, count), "feeding the chat")) return 0;
  if (!check(r1vk_session_last_token(session, &tokens[n]), "last token")) return 0;
  while (tokens[n] != info.eos_token && n + 1 < sizeof tokens / sizeof tokens[0]) {
    int ready = 0;
    ++n;
    if (!check(r1vk_session_submit_step(session), "submitting a step")) return 0;
    while (!ready) {
      ++frames; /* a real loop would render a frame here */
      if (!check(r1vk_session_poll(session, &tokens[n], &ready), "polling")) return 0;
    }
  }
  if (!check(r1vk_detokenize(model, tokens, n, text, sizeof text, &length), "detokenizing")) return 0;
  printf("frame loop: %zu tokens over %ld polls: %s\n", n, frames, text);
  return 1;
}

int main(int argc, char** argv) {
  const char* question = argc > 2 ? argv[2] : "What is 1234 + 5678?";
  r1vk_context* context = NULL;
  r1vk_model* model = NULL;
  r1vk_session* session = NULL;
  r1vk_context_options context_options;
  r1vk_model_options model_options;
  r1vk_sampling sampling;
  r1vk_chat_message chat[1];
  int ok = 0;

  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    fprintf(stderr, "usage: r1vk-c-example PLAN [QUESTION]\n  PLAN: a plan file from `r1vk compile models/r1vk-demo -o demo.r1vk`\n");
    return argc < 2 ? 2 : 0;
  }
  if ((r1vk_api_version() >> 16) != R1VK_API_VERSION_MAJOR) {
    fprintf(stderr, "r1vk-c-example: libr1vk has API version %u.%u, this program was built for %d.%d\n", r1vk_api_version() >> 16,
            r1vk_api_version() & 0xffff, R1VK_API_VERSION_MAJOR, R1VK_API_VERSION_MINOR);
    return 1;
  }
  r1vk_context_options_init(&context_options);
  r1vk_model_options_init(&model_options);
  model_options.progress = print_progress;
  chat[0].role = "user";
  chat[0].content = question;

  if (check(r1vk_context_create(&context_options, &context), "creating the context") &&
      check(r1vk_model_load(context, argv[1], &model_options, &model), "loading the model") &&
      check(r1vk_session_create(model, &session), "creating a session")) {
    r1vk_sampling_init(&sampling);
    sampling.temperature = 0.0f; /* greedy: the demo model is an arithmetic reasoner */
    printf("library: r1vk %s (API %u.%u)\ndevice: %s\nquestion: %s\n", r1vk_version_string(), r1vk_api_version() >> 16,
           r1vk_api_version() & 0xffff, r1vk_context_device_name(context), question);
    ok = check(r1vk_session_set_sampling(session, &sampling), "setting sampling") && blocking_reply(session, chat, 1) &&
         frame_loop_reply(session, model, chat, 1);
  }
  r1vk_session_destroy(session);
  r1vk_model_destroy(model);
  r1vk_context_destroy(context);
  return ok ? 0 : 1;
}
