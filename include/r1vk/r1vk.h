/* r1vk.h: the C embedding API of r1vk (DeepSeek-R1 family inference on Vulkan).
 *
 * A stable C ABI (C99 and C++): opaque handles, status codes, plain structs. No Vulkan header is
 * needed; Vulkan handles a host shares are passed as void pointers. The guide is docs/c_api.md.
 *
 * Conventions
 *  - Every function that can fail returns r1vk_status; R1VK_OK is 0. The text of the last failure
 *    on the calling thread is r1vk_last_error(). Nothing aborts or throws across this boundary;
 *    NULL where an object is needed is R1VK_ERROR_INVALID_ARGUMENT.
 *  - Output handles are set to NULL first, so a failed create leaves NULL.
 *  - Structs that may grow start with `struct_size`; fill them with the matching *_init function,
 *    which sets struct_size and the defaults, then change the fields you need.
 *  - Handles may be destroyed in any order: a session keeps its model alive and a model its
 *    context until the last of them is destroyed. Destroying NULL does nothing.
 *  - Threads: calls on the objects of one context are serialised by the context (each call takes
 *    its lock), so any thread may call, one call running at a time. r1vk_session_cancel and
 *    r1vk_session_poll never wait for that lock. Callbacks (load progress, tokens) run on the
 *    calling thread with the lock held: from them, call only r1vk_session_cancel.
 */
#ifndef R1VK_R1VK_H_
#define R1VK_R1VK_H_

#include <stddef.h>
#include <stdint.h>

#include <r1vk/version.h> /* R1VK_VERSION_* (generated from the build's project version) */

#if defined(_WIN32)
#if defined(R1VK_BUILDING_LIBRARY)
#define R1VK_EXPORT __declspec(dllexport)
#else
#define R1VK_EXPORT __declspec(dllimport)
#endif
#else
#define R1VK_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ---------------------------------------------------------------------------- */

/* Major changes break the ABI (the major is the soname's: libr1vk.so.1); minor ones only add
 * functions, flags or trailing struct fields. 1.1 added r1vk_version, r1vk_version_string and
 * R1VK_TOKENIZE_ADD_SPECIAL; 1.2 r1vk_session_options, r1vk_session_options_init,
 * r1vk_session_create_with_options and r1vk_session_draft_stats (MTP speculative decoding); 1.3
 * r1vk_batch_create_with_options (MTP drafts in batches, on by default from 1.3); 1.4
 * r1vk_model_options.reserve_sessions and reserve_draft_tokens. */
#define R1VK_API_VERSION_MAJOR 1
#define R1VK_API_VERSION_MINOR 4
#define R1VK_API_VERSION ((R1VK_API_VERSION_MAJOR << 16) | R1VK_API_VERSION_MINOR)

/* The R1VK_API_VERSION the library was built with; compare the major part with your header's. */
R1VK_EXPORT uint32_t r1vk_api_version(void);

/* The release the library was built from: its R1VK_VERSION (major << 16 | minor << 8 | patch)
 * and its R1VK_VERSION_STRING ("0.1.0", static storage). For messages and bug reports; whether
 * the library fits your header is r1vk_api_version's question. */
R1VK_EXPORT uint32_t r1vk_version(void);
R1VK_EXPORT const char* r1vk_version_string(void);

/* ---- Status ------------------------------------------------------------------------------ */

typedef enum r1vk_status {
  R1VK_OK = 0,
  R1VK_ERROR_INVALID_ARGUMENT = 1, /* NULL handle, bad value, call out of order */
  R1VK_ERROR_NOT_FOUND = 2,        /* missing file or device */
  R1VK_ERROR_IO = 3,
  R1VK_ERROR_CORRUPT_DATA = 4,     /* malformed plan file */
  R1VK_ERROR_UNSUPPORTED = 5,      /* e.g. a device without a required feature */
  R1VK_ERROR_OUT_OF_RANGE = 6,     /* a size beyond a limit */
  R1VK_ERROR_OUT_OF_MEMORY = 7,
  R1VK_ERROR_VULKAN = 8,           /* a Vulkan call failed; after VK_ERROR_DEVICE_LOST the context
                                      is unusable: destroy it (docs/c_api.md, Errors) */
  R1VK_ERROR_CANCELLED = 9,        /* the progress callback asked to stop */
  R1VK_ERROR_INTERNAL = 10,
  R1VK_ERROR_OUT_OF_BUDGET = 11,   /* the context's memory budget would be exceeded */
  R1VK_ERROR_CONTEXT_FULL = 12,    /* the session's context is full: reset it */
  R1VK_ERROR_BUSY = 13,            /* a submitted step has not been polled to completion */
  R1VK_ERROR_BUFFER_TOO_SMALL = 14 /* an output buffer is too small; the needed size is returned */
} r1vk_status;

/* A constant name such as "R1VK_ERROR_CONTEXT_FULL"; never NULL. */
R1VK_EXPORT const char* r1vk_status_name(r1vk_status status);
/* Message of the last failed call on this thread ("" if none); valid until this thread's next
 * r1vk call. It names what failed: the file, the missing feature, the budget, ... */
R1VK_EXPORT const char* r1vk_last_error(void);

/* ---- Context: one Vulkan device ---------------------------------------------------------- */

typedef struct r1vk_context r1vk_context;

typedef struct r1vk_context_options {
  uint32_t struct_size;
  int32_t device_index;          /* -1: the best device (discrete > integrated > CPU) */
  int32_t validation;            /* nonzero: Khronos validation layer (also R1VK_VALIDATION=1) */
  /* Device memory r1vk may hold; 0 = no limit. Model loads place routed experts that do not
   * fit in host memory (docs/offload.md). */
  uint64_t memory_budget_bytes;
  /* On-disk pipeline cache file; NULL: the default (~/.cache/r1vk); "": in memory only. */
  const char* pipeline_cache_path;
} r1vk_context_options;

R1VK_EXPORT void r1vk_context_options_init(r1vk_context_options* options);

/* r1vk creates its own instance and device. `options` may be NULL (defaults). */
R1VK_EXPORT r1vk_status r1vk_context_create(const r1vk_context_options* options, r1vk_context** out_context);

/* A device the host created and keeps owning. r1vk never destroys these objects and never calls
 * vkDeviceWaitIdle on them. It submits work only to `queue`, and only from inside r1vk calls;
 * Vulkan requires queue access to be externally synchronised, so a host that submits to the same
 * queue from another thread either sets lock_queue/unlock_queue (called around each of r1vk's
 * vkQueueSubmit calls) or never submits while an r1vk call runs. r1vk calls Vulkan through the
 * loader it links (libvulkan.so.1): the handles must come from that loader. */
typedef struct r1vk_host_device {
  uint32_t struct_size;
  void* instance;                /* VkInstance */
  uint32_t instance_api_version; /* VkApplicationInfo::apiVersion of that instance (>= 1.2) */
  void* physical_device;         /* VkPhysicalDevice */
  void* device;                  /* VkDevice */
  uint32_t queue_family_index;   /* a family with VK_QUEUE_COMPUTE_BIT */
  void* queue;                   /* VkQueue of that family */
  /* The const VkDeviceCreateInfo* the device was created with: r1vk reads the enabled features
   * (pEnabledFeatures and the pNext chain) and extensions from it, as Vulkan has no query for
   * them. Read only during r1vk_context_create_adopted. */
  const void* device_create_info;
  /* Optional PFN_vkGetInstanceProcAddr of the host; when set, r1vk resolves extension entry points
   * (vkCmdPushDescriptorSetKHR) through it. */
  void* get_instance_proc_addr;
  void (*lock_queue)(void* user_data);   /* optional, see above */
  void (*unlock_queue)(void* user_data); /* optional */
  void* queue_lock_user_data;
} r1vk_host_device;

R1VK_EXPORT void r1vk_host_device_init(r1vk_host_device* host);

/* What the host's device must have enabled, one per line: "feature bufferDeviceAddress (Vulkan
 * 1.2)", ..., then the "optional" ones r1vk uses when present (VK_KHR_push_descriptor makes GEMV
 * faster on CPU drivers). A missing required one makes r1vk_context_create_adopted fail with
 * R1VK_ERROR_UNSUPPORTED and a message naming it. */
R1VK_EXPORT const char* r1vk_device_requirements(void);

/* Adopts the host's device. Of `options`, memory_budget_bytes and pipeline_cache_path apply. */
R1VK_EXPORT r1vk_status r1vk_context_create_adopted(const r1vk_host_device* host, const r1vk_context_options* options,
                                                    r1vk_context** out_context);

R1VK_EXPORT void r1vk_context_destroy(r1vk_context* context);

/* The device's name; "" for NULL. Valid while the context lives. */
R1VK_EXPORT const char* r1vk_context_device_name(const r1vk_context* context);

typedef struct r1vk_memory_usage {
  uint64_t allocated_bytes; /* device memory held (what the budget limits) */
  uint64_t used_bytes;      /* of that, bytes in live buffers */
  uint64_t budget_bytes;    /* 0 = no limit */
} r1vk_memory_usage;

R1VK_EXPORT r1vk_status r1vk_context_memory_usage(const r1vk_context* context, r1vk_memory_usage* out_usage);

/* ---- Model: a compiled plan on the device ------------------------------------------------ */

typedef struct r1vk_model r1vk_model;

typedef enum r1vk_load_stage {
  R1VK_LOAD_OPENING = 0,   /* reading and checking the plan file */
  R1VK_LOAD_UPLOADING = 1, /* copying weights to the device */
  R1VK_LOAD_DONE = 2
} r1vk_load_stage;

/* fraction in [0, 1]. Return 0 to cancel the load (it then fails with R1VK_ERROR_CANCELLED). */
typedef int (*r1vk_progress_callback)(float fraction, r1vk_load_stage stage, void* user_data);

typedef struct r1vk_model_options {
  uint32_t struct_size;
  int64_t context_length; /* tokens per session; 0 = what the plan was compiled for */
  r1vk_progress_callback progress; /* optional */
  void* progress_user_data;
  /* Optional expert-counts file (r1vk bench --save-expert-counts) ranking routed experts
   * hot-first for the device-memory budget; NULL or "": by index. */
  const char* expert_counts_path;
  /* Under a device-memory budget the load fills what the non-expert weights leave with routed
   * experts, after keeping room for the sessions this host will create: `reserve_sessions`
   * sessions (each r1vk_session_create, or one r1vk_batch_create of that many) verifying
   * `reserve_draft_tokens` MTP drafts per step (-1: the default; see r1vk_session_options).
   * 0 sessions = 1. Without a budget these change nothing. (API 1.4: a caller built against
   * an older header passes a smaller struct_size and gets the defaults.) */
  uint32_t reserve_sessions;
  int32_t reserve_draft_tokens;
} r1vk_model_options;

R1VK_EXPORT void r1vk_model_options_init(r1vk_model_options* options);

/* `path`: a plan file made by `r1vk compile` (a checkpoint directory is refused: compile it).
 * The plan must embed a tokenizer. `options` may be NULL. */
R1VK_EXPORT r1vk_status r1vk_model_load(r1vk_context* context, const char* path, const r1vk_model_options* options,
                                        r1vk_model** out_model);
R1VK_EXPORT void r1vk_model_destroy(r1vk_model* model);

typedef struct r1vk_model_info {
  uint32_t struct_size;
  const char* architecture;   /* e.g. "deepseek_v3"; valid while the model lives */
  const char* name;           /* the plan's model name; may be "" */
  int64_t vocab_size;
  int64_t context_length;     /* tokens per session, as loaded */
  int64_t max_context_length; /* what the plan was compiled for */
  int64_t layers;
  int32_t bos_token;          /* -1 when the tokenizer has none */
  int32_t eos_token;
  uint64_t weight_bytes;      /* device memory of the weights */
  uint64_t host_weight_bytes; /* routed experts placed in host memory (read over the bus) */
  uint64_t routed_experts;    /* routed experts of every MoE layer, all told */
  uint64_t routed_experts_on_device;
} r1vk_model_info;

R1VK_EXPORT void r1vk_model_info_init(r1vk_model_info* info);
R1VK_EXPORT r1vk_status r1vk_model_get_info(const r1vk_model* model, r1vk_model_info* out_info);

/* Flags of r1vk_tokenize, OR-ed. */
#define R1VK_TOKENIZE_PARSE_SPECIAL 1 /* recognise special strings such as "<｜User｜>" in the text */
/* Add the BOS / EOS the model's tokenizer_config.json asks for (add_bos_token, add_eos_token), as
 * Hugging Face's tokenizer(text) does: for raw text fed as a whole prompt, not for pieces. */
#define R1VK_TOKENIZE_ADD_SPECIAL 2

/* Text -> token ids. `flags`: R1VK_TOKENIZE_* (1 keeps its old meaning, parse_special).
 * Writes at most `capacity` ids; *out_count is the full count (R1VK_ERROR_BUFFER_TOO_SMALL when it
 * exceeds capacity: call again with a bigger buffer). */
R1VK_EXPORT r1vk_status r1vk_tokenize(const r1vk_model* model, const char* text, size_t text_length, int flags,
                                      int32_t* out_tokens, size_t capacity, size_t* out_count);
/* Token ids -> UTF-8 text (special tokens included), NUL-terminated. An id outside the model's
 * vocabulary is R1VK_ERROR_INVALID_ARGUMENT; one of its padding rows (past the tokenizer's ids)
 * stands for no text, as in Hugging Face's decode. Generation never samples those ids, and decodes
 * them to nothing when a fed prompt holds them. *out_length is the text's
 * length without the NUL; when length + 1 exceeds `capacity` the call returns
 * R1VK_ERROR_BUFFER_TOO_SMALL having written only what fits (no NUL): call again with more room. */
R1VK_EXPORT r1vk_status r1vk_detokenize(const r1vk_model* model, const int32_t* tokens, size_t count, char* out_text,
                                        size_t capacity, size_t* out_length);

/* ---- Session: one conversation, with its own KV cache -------------------------------------- */

typedef struct r1vk_session r1vk_session;

R1VK_EXPORT r1vk_status r1vk_session_create(r1vk_model* model, r1vk_session** out_session);

typedef struct r1vk_session_options {
  uint32_t struct_size;
  /* MTP speculative decoding (docs/speculative.md): -1 (default) on when the plan has an MTP
   * program (1 draft per step), 0 off, N = 1..8 on with N drafts per step (N > 1: the MTP module
   * applied to its own output; R1VK_ERROR_INVALID_ARGUMENT when the plan has no MTP program or
   * 1 + N exceeds its step's rows). The tokens are the same either way, greedy or sampled with the
   * same seed. r1vk_session_create uses the default. */
  int32_t draft_tokens;
} r1vk_session_options;

R1VK_EXPORT void r1vk_session_options_init(r1vk_session_options* options);
R1VK_EXPORT r1vk_status r1vk_session_create_with_options(r1vk_model* model, const r1vk_session_options* options,
                                                         r1vk_session** out_session);
/* MTP drafts the session's steps verified and accepted so far (both 0 without MTP). For a session
 * of a batch, the counts of the whole batch (all its sessions' steps). */
R1VK_EXPORT r1vk_status r1vk_session_draft_stats(const r1vk_session* session, uint64_t* out_proposed, uint64_t* out_accepted);
/* Waits for a submitted step to finish first. */
R1VK_EXPORT void r1vk_session_destroy(r1vk_session* session);

typedef struct r1vk_sampling {
  uint32_t struct_size;
  float temperature; /* <= 0: greedy. Default 0.6 (DeepSeek's recommendation) */
  float top_p;       /* default 0.95 */
  uint32_t top_k;    /* 0 = off */
  uint32_t seed;     /* same seed, same prompt: same tokens */
} r1vk_sampling;

R1VK_EXPORT void r1vk_sampling_init(r1vk_sampling* sampling);
/* Used by every later feed, step and generate of the session. temperature must be finite and >= 0,
 * top_p finite and in (0, 1]; NaN or infinities are R1VK_ERROR_INVALID_ARGUMENT, with the same
 * message `r1vk run` gives. */
R1VK_EXPORT r1vk_status r1vk_session_set_sampling(r1vk_session* session, const r1vk_sampling* sampling);

/* Runs `tokens` at the current position and samples the next token (r1vk_session_last_token).
 * Past the context: R1VK_ERROR_CONTEXT_FULL, and the session is unchanged. */
R1VK_EXPORT r1vk_status r1vk_session_feed_tokens(r1vk_session* session, const int32_t* tokens, size_t count);

typedef struct r1vk_chat_message {
  const char* role;    /* "system", "user" or "assistant" */
  const char* content; /* UTF-8; an assistant turn's reasoning is dropped as R1's template does */
} r1vk_chat_message;

/* Renders the whole conversation with the R1 chat template (earlier reasoning dropped), ending
 * with the assistant's opened reasoning, and feeds it. The session reuses the longest prefix of
 * it already in its KV cache, so continuing a chat (the same messages plus the reply and a new
 * user turn) feeds only the new part; a different conversation simply replaces the old one. */
R1VK_EXPORT r1vk_status r1vk_session_feed_chat(r1vk_session* session, const r1vk_chat_message* messages, size_t count);

/* The token sampled last (by a feed, a step or generate); -1 before any feed. */
R1VK_EXPORT r1vk_status r1vk_session_last_token(const r1vk_session* session, int32_t* out_token);
/* Tokens in the KV cache, and the most it holds. */
R1VK_EXPORT r1vk_status r1vk_session_position(const r1vk_session* session, int64_t* out_position,
                                              int64_t* out_context_length);
/* Forgets the conversation (position 0). R1VK_ERROR_BUSY while a step is in flight. */
R1VK_EXPORT r1vk_status r1vk_session_reset(r1vk_session* session);

/* ---- Generation -------------------------------------------------------------------------- */

typedef enum r1vk_finish_reason {
  R1VK_FINISH_EOS = 0,          /* the model ended its reply */
  R1VK_FINISH_LENGTH = 1,       /* max_tokens reached */
  R1VK_FINISH_CONTEXT_FULL = 2, /* the session's context is full */
  R1VK_FINISH_CANCELLED = 3,    /* r1vk_session_cancel */
  R1VK_FINISH_STOP_STRING = 4,  /* a stop string appeared (it is not delivered) */
  R1VK_FINISH_CALLBACK = 5      /* the token callback returned 0 */
} r1vk_finish_reason;

/* One generated token and the text it completed, split into reasoning (between <think> and
 * </think>, tags dropped) and answer. A token may complete no text yet (a partial UTF-8
 * character, or text that could still start a stop string): both lengths are then 0. A token can
 * complete both kinds (the reasoning's end, then the answer's start). Text held back until the
 * end of generation comes in a last event with token -1. The texts are not NUL-terminated and
 * are valid only during the callback. */
typedef struct r1vk_token_event {
  int32_t token;
  const char* reasoning;
  size_t reasoning_length;
  const char* answer;
  size_t answer_length;
} r1vk_token_event;

/* Return 0 to stop generating (R1VK_FINISH_CALLBACK). */
typedef int (*r1vk_token_callback)(const r1vk_token_event* event, void* user_data);

typedef struct r1vk_generate_options {
  uint32_t struct_size;
  int64_t max_tokens;              /* default 2048; at least 1 */
  const char* const* stop_strings; /* optional, `stop_string_count` UTF-8 strings */
  size_t stop_string_count;
  r1vk_token_callback on_token;    /* optional */
  void* user_data;
} r1vk_generate_options;

typedef struct r1vk_generate_result {
  uint32_t struct_size;
  r1vk_finish_reason finish;
  int64_t generated_tokens;
  double seconds;
} r1vk_generate_result;

R1VK_EXPORT void r1vk_generate_options_init(r1vk_generate_options* options);
R1VK_EXPORT void r1vk_generate_result_init(r1vk_generate_result* result);

/* Generates the reply to what was fed (after r1vk_session_feed_chat or _feed_tokens), starting
 * with the token the feed sampled, until a finish reason. `options` and `out_result` may be NULL. */
R1VK_EXPORT r1vk_status r1vk_session_generate(r1vk_session* session, const r1vk_generate_options* options,
                                              r1vk_generate_result* out_result);

/* Thread-safe, never blocks: the running r1vk_session_generate (or, if none runs, the next one)
 * ends with R1VK_FINISH_CANCELLED after its current token. */
R1VK_EXPORT r1vk_status r1vk_session_cancel(r1vk_session* session);

/* ---- Non-blocking decode (for render loops) ---------------------------------------------- */

/* Submits one decode step on the last sampled token and returns at once. R1VK_ERROR_BUSY if a step
 * is already in flight; R1VK_ERROR_CONTEXT_FULL when no position is left. */
R1VK_EXPORT r1vk_status r1vk_session_submit_step(r1vk_session* session);
/* Never blocks: *out_ready = 1 and *out_token = the new token when the step finished, else
 * *out_ready = 0. With no step in flight, reports ready with the last token. */
R1VK_EXPORT r1vk_status r1vk_session_poll(r1vk_session* session, int32_t* out_token, int* out_ready);

/* ---- Batches: several sessions decoded in one step --------------------------------------- */

/* A batch is one executor shared by the sessions created in it: one paged KV cache sized for
 * `max_sessions` full contexts and steps of up to `max_sessions` sessions. r1vk_batch_step decodes
 * one token of each of several sessions in one queue submit, reading the weights once for all of
 * them. Batch sessions are ordinary sessions otherwise (feed, generate, poll one by one), but only
 * one step of the batch runs at a time: while one of them has a step in flight, the others'
 * calls fail with R1VK_ERROR_BUSY or R1VK_ERROR_INVALID_ARGUMENT.
 * max_sessions: 1 .. the plan's prefill chunk (R1VK_ERROR_INVALID_ARGUMENT otherwise). More
 * sessions than max_sessions may be created (most conversations are short): they share the KV
 * cache of max_sessions full contexts, and a feed or step that needs more of its blocks than are
 * free fails with R1VK_ERROR_OUT_OF_RANGE ("KV cache full: ...") and changes no session; reset
 * or destroy sessions to free their blocks.
 * MTP speculative decoding (docs/speculative.md) is on by default when the plan has an MTP
 * program: every session's steps, r1vk_batch_step included, verify its draft; the tokens are the
 * same as without (greedy, or sampled with the same seed). */
typedef struct r1vk_batch r1vk_batch;
R1VK_EXPORT r1vk_status r1vk_batch_create(r1vk_model* model, uint32_t max_sessions, r1vk_batch** out_batch);
/* r1vk_batch_create with `options` for every session of the batch: draft_tokens -1 (what
 * r1vk_batch_create uses) on when the plan has an MTP program, 0 off, N = 1..8 drafts per step
 * (R1VK_ERROR_INVALID_ARGUMENT when the plan has none, or for a struct_size below the 1.2 struct's). */
R1VK_EXPORT r1vk_status r1vk_batch_create_with_options(r1vk_model* model, uint32_t max_sessions,
                                                       const r1vk_session_options* options, r1vk_batch** out_batch);
/* Sessions created in the batch keep its executor alive: destroy them and the batch in any order. */
R1VK_EXPORT void r1vk_batch_destroy(r1vk_batch* batch);
/* A new session in the batch (position 0, default sampling). */
R1VK_EXPORT r1vk_status r1vk_batch_session_create(r1vk_batch* batch, r1vk_session** out_session);
/* One decode step of each of `count` sessions (distinct, all of `batch`, each fed before) in one
 * submit: session i continues from its last sampled token with its own sampling settings, and
 * out_tokens[i] receives its new token (then also r1vk_session_last_token). With MTP a session
 * whose draft was accepted has its next token already: the next call returns it without a row of
 * its own (and without a submit when every session has one). Either way each call advances every
 * session by one token. On an error no session changes: R1VK_ERROR_CONTEXT_FULL when one has no
 * position left, R1VK_ERROR_BUSY when a step is in flight. */
R1VK_EXPORT r1vk_status r1vk_batch_step(r1vk_batch* batch, r1vk_session* const* sessions, size_t count,
                                        int32_t* out_tokens);

#ifdef __cplusplus
}
#endif

#endif /* R1VK_R1VK_H_ */
