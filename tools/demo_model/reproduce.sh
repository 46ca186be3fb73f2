#!/usr/bin/env bash
# Retrains the demo model from its seed and rebuilds models/r1vk-demo and the golden logits.
# One CPU thread (results are deterministic for a given BLAS; see models/r1vk-demo/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/install-train-deps.sh"
py=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p "$root/build/demo_model"
ckpt="$root/build/demo_model/ckpt.pt"
nice $py "$root/tools/demo_model/train.py" --seed 1234 --steps 3000 --out "$ckpt" \
  | tee "$root/build/demo_model/train.log"
$py "$root/tools/demo_model/export.py" --ckpt "$ckpt" --out "$root/models/r1vk-demo"
$py "$root/tools/demo_model/evaluate.py" --model "$root/models/r1vk-demo" --ckpt "$ckpt" \
  --json "$root/build/demo_model/eval.json"
$py "$root/tools/demo_model/golden.py" --model "$root/models/r1vk-demo" \
  --out "$root/tests/data/demo_logits"
