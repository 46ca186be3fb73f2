#!/usr/bin/env bash
# r1vk chat through a real terminal (tmux): an answer, /reset, Ctrl-C in the middle of an answer
# stopping only that answer, and /exit. Usage: chat_pty.sh path/to/r1vk
set -euo pipefail
r1vk=$1
sock="r1vk-chat-test-$$"
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; }
trap cleanup EXIT

pane() { tmux -L "$sock" capture-pane -p -t chat; }
wait_for() {  # pattern, seconds
  for _ in $(seq 1 $(( ${2:-60} * 10 ))); do
    if pane | grep -qE "$1"; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for: $1"; pane; exit 1
}
send() { tmux -L "$sock" send-keys -t chat "$@"; }

# The token delay slows each streamed piece so Ctrl-C lands mid-answer.
tmux -L "$sock" new-session -d -s chat -x 160 -y 60 \
  "R1VK_CHAT_TOKEN_DELAY_MS=40 $r1vk chat --temperature 0; echo CHAT-EXITED-\$?; sleep 30"
wait_for '^>$' 120
send 'What is 12 + 34?' Enter
wait_for '^46' 120
send '/reset' Enter
wait_for 'conversation reset'
send 'What is 123456 + 654321?' Enter
wait_for '^1: ' 60
send C-c
wait_for 'stopped' 60
# Still alive: another turn works (after a reset: the demo model was trained on single turns),
# then /exit ends with status 0.
send '/reset' Enter
wait_for 'conversation reset.*' 30
send 'What is 2 + 2?' Enter
wait_for '^4$' 120
send '/exit' Enter
wait_for 'CHAT-EXITED-0' 30
echo "chat through a terminal: ok"
