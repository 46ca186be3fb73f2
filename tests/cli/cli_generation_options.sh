#!/usr/bin/env bash
# The generating commands' options: one validation (api::validate_generation_options) for run and
# chat with the same messages, NaN and infinities included; the llama.cpp spellings of the shared
# flags; MTP speculative decoding on and off; --raw prompts (and tokenize --special) following
# tokenizer_config.json's add_bos_token; and sampling on a model whose vocabulary is padded past its tokenizer.
# Usage: cli_generation_options.sh path/to/r1vk path/to/models/r1vk-demo path/to/unpacked/tokenizers
set -uo pipefail
r1vk=$1
demo=$2
tokenizers=$3
source "$(dirname "$0")/expect.sh"

# --- One validation, the same message in run and chat (checked before the model loads).
bad() {  # expected message, flags...
  local want=$1; shift
  expect_exit 2 "$want" "$r1vk" run "$demo" -p hi "$@"
  local from_run; from_run=$("$r1vk" run "$demo" -p hi "$@" 2>&1)
  local from_chat; from_chat=$("$r1vk" chat "$demo" "$@" < /dev/null 2>&1); local code=$?
  [ "$code" -eq 2 ] || fail "chat $* exited $code: $from_chat"
  [ "$from_run" = "$from_chat" ] || fail "run and chat differ for $*: '$from_run' vs '$from_chat'"
}
bad 'temperature must be a finite number >= 0 \(0: greedy\), got nan' --temperature nan
bad 'temperature must be a finite number >= 0 \(0: greedy\), got inf' --temperature inf
bad 'temperature must be a finite number >= 0 \(0: greedy\), got -1' --temperature -1
bad 'mtp-min-acceptance: must be in \[0, 1\], got nan' --mtp-min-acceptance nan
bad 'mtp-min-acceptance: must be in \[0, 1\], got 1.5' --mtp-min-acceptance 1.5
bad 'top_p must be in \(0, 1\] \(1: off\), got 0' --top-p 0
bad 'top_p must be in \(0, 1\] \(1: off\), got 1.5' --top-p 1.5
bad 'top_p must be in \(0, 1\] \(1: off\), got nan' --top-p nan
bad 'max_tokens must be at least 1, got 0' --max-tokens 0
bad 'max_tokens must be at least 1, got -3' --n-predict -3
bad 'max_tokens must be at least 1, got 0' -n 0

# --- llama.cpp spellings: listed in --help, and the same run as the long spellings.
for cmd in run chat; do
  help=$("$r1vk" $cmd --help 2>&1)
  for spelling in '--temperature,--temp' '-s,--seed' '-n,--max-tokens,--n-predict' '-m,--model' '-c,--ctx,--ctx-size'; do
    grep -qF -- "$spelling" <<<"$help" || fail "$cmd --help does not list $spelling: $help"
  done
done
for cmd in ppl eval logits bench info tokenize compile bench-tokenizer; do
  grep -qF -- '-m,--model' <<<"$("$r1vk" $cmd --help 2>&1)" || fail "$cmd --help does not list -m,--model"
done
for cmd in ppl eval logits compile; do
  grep -qF -- '-c,--ctx,--ctx-size' <<<"$("$r1vk" $cmd --help 2>&1)" || fail "$cmd --help does not list -c,--ctx,--ctx-size"
done
grep -qF -- '-n,--max-tokens,--n-predict' <<<"$("$r1vk" eval --help 2>&1)" || fail "eval --help does not list -n"
grep -qF -- '-s,--seed' <<<"$("$r1vk" gen-checkpoint --help 2>&1)" || fail "gen-checkpoint --help does not list -s"
events() { grep -v '"type":"done"' | sed 's/"generation_tokens_per_second":[^,}]*//'; }
long=$("$r1vk" run "$demo" -p "What is 12 + 30?" --temperature 0.8 --seed 7 --max-tokens 12 --ctx 128 --json 2>&1 | events)
short=$("$r1vk" run -m "$demo" -p "What is 12 + 30?" --temp 0.8 -s 7 -n 12 -c 128 --json 2>&1 | events)
[ -n "$long" ] && [ "$long" = "$short" ] || fail "the llama.cpp spellings run differently: '$long' vs '$short'"
expect_exit 0 '"generated_tokens":2,' "$r1vk" run -m "$demo" -p "What is 12 + 30?" --n-predict 2 --ctx-size 128 --json
expect_exit 0 'tokens scored' "$r1vk" ppl -m "$demo" --file "$demo/README.md" -c 64 --weights f16

# --- MTP speculative decoding: on by default for the demo (it has an MTP layer), the same tokens
# as --no-mtp, greedy and sampled with a seed (docs/speculative.md).
for cmd in run chat eval; do
  help=$("$r1vk" $cmd --help 2>&1)
  for flag in '--no-mtp' '--draft'; do
    grep -qF -- "$flag" <<<"$help" || fail "$cmd --help does not list $flag"
  done
done
for t in 0 0.8; do
  with=$("$r1vk" run "$demo" -p "What is 4512 + 873?" --temperature $t --seed 7 --max-tokens 60 --ctx 128 --json 2>&1 | events)
  without=$("$r1vk" run "$demo" -p "What is 4512 + 873?" --temperature $t --seed 7 --max-tokens 60 --ctx 128 --json --no-mtp 2>&1 | events)
  [ -n "$with" ] && [ "$with" = "$without" ] || fail "temperature $t: MTP changed the text: '$with' vs '$without'"
done
expect_exit 0 '"mtp_drafts_accepted":[1-9]' "$r1vk" run "$demo" -p "What is 4512 + 873?" --temperature 0 --ctx 128 --json
expect_exit 0 '"mtp_drafts":0,' "$r1vk" run "$demo" -p "What is 4512 + 873?" --temperature 0 --ctx 128 --json --no-mtp
expect_exit 0 '"mtp_drafts":0,' "$r1vk" run "$demo" -p "What is 4512 + 873?" --temperature 0 --ctx 128 --json --draft 0
expect_exit 2 'draft' "$r1vk" run "$demo" -p hi --draft 9

# --- Raw text follows tokenizer_config.json: the demo's (like R1's) says add_bos_token: true.
plain=$("$r1vk" tokenize "$demo" --text "What is 2 + 3?") || fail "tokenize: $plain"
n_plain=$(echo "$plain" | tr ',' '\n' | wc -l)
expect_exit 0 "\"prompt_tokens\":$((n_plain + 1))," "$r1vk" run "$demo" --raw -p "What is 2 + 3?" --json --max-tokens 1
expect_exit 0 "^0,$plain\$" "$r1vk" tokenize "$demo" --text "What is 2 + 3?" --special
# The real tokenizers' own configs: R1 adds BOS (id 0); Qwen3 says add_bos_token: false and has none.
expect_exit 0 '^0,19923$' "$r1vk" tokenize "$tokenizers/deepseek_r1" --text "Hello" --special
qwen=$("$r1vk" tokenize "$tokenizers/qwen3" --text "Hello") || fail "qwen3 tokenize: $qwen"
expect_exit 0 "^$qwen\$" "$r1vk" tokenize "$tokenizers/qwen3" --text "Hello" --special
grep -q 'add_bos_token' <<<"$("$r1vk" run --help 2>&1)" || fail "run --help does not say --raw follows add_bos_token"

# --- A vocabulary padded past the tokenizer (tiny-qwen2: more logits rows than token ids):
# sampling never picks a padding id, so generation never stops on one, whatever the seed.
expect_exit 0 'wrote' "$r1vk" gen-checkpoint --preset tiny-qwen2 -o "$work/qwen2"
for seed in 1 2 3 4 5 6; do
  expect_exit 0 'finish' "$r1vk" run "$work/qwen2" -p "Hello there" --temperature 1 --top-p 1 --seed $seed --max-tokens 24 --weights f32
done
expect_exit 0 'finish' "$r1vk" run "$work/qwen2" --raw -p "Hello there" --temperature 1.5 --top-p 1 --seed 9 --max-tokens 24 --weights f32
echo "generation options: ok"
