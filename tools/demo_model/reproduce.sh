#!/usr/bin/env bash
# Retrains the demo model from its seeds and rebuilds models/r1vk-demo and the golden logits.
# Two stages: 3000 steps on the first reasoning format (v1), then a fine-tune on the current
# one (v2) from those weights; see models/r1vk-demo/README.md. One CPU thread (results are
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
  --steps 1500 --warmup 30 --lr 1e-3 --out "$out/ckpt.pt" | tee "$out/train.log"
$py "$root/tools/demo_model/export.py" --ckpt "$out/ckpt.pt" --out "$root/models/r1vk-demo"
$py "$root/tools/demo_model/export_heldout.py"
$py "$root/tools/demo_model/evaluate.py" --model "$root/models/r1vk-demo" --ckpt "$out/ckpt.pt" \
  --json "$out/eval.json"
$py "$root/tools/demo_model/golden.py" --model "$root/models/r1vk-demo" \
  --out "$root/tests/data/demo_logits"
