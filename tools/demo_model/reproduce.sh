#!/usr/bin/env bash
# Retrains the demo model from its seeds and rebuilds models/r1vk-demo and the golden logits.
# Four stages: 3000 steps on the first reasoning format (v1), a fine-tune on v2 from those
# weights, then two fine-tunes on v3 (the question restated first) with varied phrasings and
# non-arithmetic questions; see models/r1vk-demo/README.md and docs/demo_model.md. One CPU thread (results are
# deterministic for a given BLAS; on a shared 2-core machine two threads were 10x slower).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/install-train-deps.sh"
py=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
out="$root/build/demo_model"
mkdir -p "$out"
nice $py "$root/tools/demo_model/train.py" --format v1 --seed 1234 --steps 3000 \
  --out "$out/ckpt_v1.pt" | tee "$out/train_v1.log"
# stage 2 starts from the stage-1 weights as exported (BF16), as the committed run did
$py "$root/tools/demo_model/export.py" --ckpt "$out/ckpt_v1.pt" --out "$out/v1_model"
nice $py "$root/tools/demo_model/train.py" --format v2 --seed 4321 --init "$out/v1_model" \
  --steps 1500 --warmup 30 --lr 1e-3 --out "$out/ckpt_v2.pt" | tee "$out/train_v2.log"
$py "$root/tools/demo_model/export.py" --ckpt "$out/ckpt_v2.pt" --out "$out/v2_model"
# stage 3 (format v3, phrasings) from the exported v2 weights; stage 4 continues from its
# checkpoint with a lower peak rate and more canonical problems (45 % instead of 30 %)
nice $py "$root/tools/demo_model/train.py" --format v3 --phrasing mixed --seed 3003 --init "$out/v2_model" \
  --steps 1200 --warmup 30 --lr 1e-3 --eval-every 300 --eval-count 60 --log-every 25 \
  --out "$out/ckpt_v3a.pt" | tee "$out/train_v3a.log"
nice $py "$root/tools/demo_model/train.py" --format v3 --phrasing mixed --seed 4004 --init "$out/ckpt_v3a.pt" \
  --steps 2000 --warmup 20 --lr 5e-4 --canonical-frac 0.45 --eval-every 250 --eval-count 60 --log-every 25 \
  --out "$out/ckpt.pt" | tee "$out/train.log"
$py "$root/tools/demo_model/export.py" --ckpt "$out/ckpt.pt" --out "$root/models/r1vk-demo"
$py "$root/tools/demo_model/export_heldout.py"
$py "$root/tools/demo_model/evaluate.py" --model "$root/models/r1vk-demo" --ckpt "$out/ckpt.pt" \
  --json "$out/eval.json"
$py "$root/tools/demo_model/golden.py" --model "$root/models/r1vk-demo" \
  --out "$root/tests/data/demo_logits"
