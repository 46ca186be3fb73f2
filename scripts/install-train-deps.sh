#!/usr/bin/env bash
# Installs the Debian 12 packages the demo-model trainer (tools/demo_model) needs, only when some
# are missing. Not part of CI: the trained model is committed under models/r1vk-demo.
# libopenblas0-pthread replaces Debian's reference BLAS (the libblas.so.3 alternative) with
# OpenBLAS; PyTorch's CPU matmuls are about 8x faster with it.
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" python3-torch python3-numpy libopenblas0-pthread
