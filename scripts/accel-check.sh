#!/bin/sh
# Builds llmcap and the reference program on a machine with an NVIDIA GPU,
# runs `llmcap probe --json`, the reference (bench/accel_ref.cu: cudaMemcpy
# D2D and cublasGemmEx, linked normally) and PyTorch when present, all in
# this one run, and compares: device bandwidth within 10%, FP16 within 15%.
# Results go to $OUT (default build/accel-check).
set -eu
cd "$(dirname "$0")/.."
OUT=${OUT:-build/accel-check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv || true
make -j"$(nproc)" llmcap
nvcc -O2 -arch=native -o build/accel_ref bench/accel_ref.cu -lcublas
./llmcap probe --json --out "$OUT/probe.json" > /dev/null 2> "$OUT/probe.err" || { cat "$OUT/probe.err"; exit 1; }
./llmcap probe --cached > "$OUT/probe.txt" 2>&1 || true
sed -n '/^Accelerators/,/^Warnings/p' "$OUT/probe.txt"
./llmcap probe --quick --json > "$OUT/probe-quick.json" 2> /dev/null || true
./build/accel_ref > "$OUT/ref.json"
python3 bench/accel_torch.py > "$OUT/torch.json" 2> "$OUT/torch.err" || echo "no PyTorch reference"
python3 bench/accel_compare.py "$OUT/probe.json" "$OUT/ref.json" "$OUT/torch.json"
