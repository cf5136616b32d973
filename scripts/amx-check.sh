#!/bin/sh
# Prefill on AMX tiles against the AVX-512 VNNI tile, on a machine whose
# CPU has AMX (written for the lent GPU machine's Xeon host):
#
#   scripts/amx-check.sh
#
# builds llmcap's library, its CLI and the kernel tests without CUDA into
# $BUILD (default build/amx, so a CUDA build in build/ and ./llmcap are
# left as they are; the binary is $BUILD/llmcap), runs test_kernels_mm and
# test_kernels (test_products_amx asks for the tiles itself where the CPU
# and Linux allow them), the prefill microbenchmark (LLMCAP_KERN_BENCH=1:
# 4096 x 4096 x 128 tokens, AMX against the VNNI tile alternating, 5
# rounds, at 1 thread, half the cores and all), then
# `llmcap verify` on one synthetic file of $MODEL (llama-3.2-1b) per type ($TYPES,
# default Q4_0 Q8_0 Q4_K), prompt $PROMPT (512), generate 8, $RUNS runs (5),
# at 1 thread and one per core, without AMX (the default) then with it
# (LLMCAP_AMX=1), in a private
# cache (XDG_CACHE_HOME under $OUT). Outputs in $OUT (default
# build/amx-check): build.log, cpu.txt, test_*.txt, bench.txt,
# verify-TYPE-THREADS-{vnni,amx}.json, and summary.txt (the verify
# medians, printed at the end).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build/amx-check}
B=${BUILD:-build/amx}
TYPES=${TYPES:-Q4_0 Q8_0 Q4_K}
MODEL=${MODEL:-llama-3.2-1b}
PROMPT=${PROMPT:-512}
RUNS=${RUNS:-5}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
J=$(nproc)
CLI_OBJ=$(for f in cli/*.c; do printf '%s/%s.o ' "$B" "${f%.c}"; done)
make -j"$J" NVCC= BUILD="$B" "$B/libllmcap.a" $CLI_OBJ "$B/tests/test_kernels_mm" \
	"$B/tests/test_kernels" >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
# shellcheck disable=SC2086
${CC:-cc} -pthread -o "$B/llmcap" $CLI_OBJ "$B/libllmcap.a" \
	$(pkg-config --libs hwloc libcpuid libcjson ncursesw liburing) -lpthread -lm -ldl >>"$OUT/build.log" 2>&1 ||
	{ tail -30 "$OUT/build.log"; exit 1; }
export XDG_CACHE_HOME="$OUT/cache"
mkdir -p "$XDG_CACHE_HOME"
{
	grep -m1 "model name" /proc/cpuinfo
	echo "amx flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep '^amx' | tr '\n' ' ')"
	echo "kernel: $(uname -r), $J CPUs"
} >"$OUT/cpu.txt"
cat "$OUT/cpu.txt"
for t in test_kernels_mm test_kernels; do
	"$B/tests/$t" >"$OUT/$t.txt" 2>&1
	echo "$t: rc $? ($(grep -c '^\[       OK' "$OUT/$t.txt") ok, $(grep -c '^\[  SKIPPED' "$OUT/$t.txt") skipped lines)"
done
grep -A2 "RUN.*test_products_\(best\|amx\)" "$OUT/test_kernels_mm.txt"
LLMCAP_KERN_BENCH=1 "$B/tests/test_kernels_mm" >"$OUT/bench.txt" 2>&1
grep "matmul\|matvec" "$OUT/bench.txt"
: >"$OUT/summary.txt"
for q in $TYPES; do
	f="$OUT/$MODEL-$q.gguf"
	"$B/llmcap" verify --model "$MODEL" --quant "$q" --prompt 16 --gen 1 --runs 1 --save-gguf "$f" \
		>"$OUT/verify-$q-write.txt" 2>&1 || { tail -5 "$OUT/verify-$q-write.txt"; continue; }
	for th in 1 "$J"; do
		for mode in vnni amx; do
			v="$OUT/verify-$q-$th-$mode.json"
			amx=0
			[ "$mode" = amx ] && amx=1
			LLMCAP_AMX=$amx "$B/llmcap" verify --gguf "$f" --prompt "$PROMPT" --gen 8 --runs "$RUNS" \
				--threads "$th" --json >"$v" 2>"$v.err"
			python3 - "$v" "$q" "$th" "$mode" >>"$OUT/summary.txt" <<'EOF'
import json, sys
p, q, th, mode = sys.argv[1:]
try:
    d = json.load(open(p))
except Exception as e:
    print(f"{q} threads {th} {mode}: no result ({e})")
    sys.exit(0)
m = d.get("measured", {})
def f(x):
    return "%.1f" % x if isinstance(x, (int, float)) else str(x)
print(f"{q} threads {th:>2} {mode:4}: prefill {f(m.get('prefill_tps'))} tok/s "
      f"({f(m.get('prefill_tps_min'))} - {f(m.get('prefill_tps_max'))}), decode {f(m.get('decode_tps'))}; "
      f"kernels [{d.get('kernel_features')}], batch types [{d.get('prefill_batch_types')}]")
EOF
			tail -1 "$OUT/summary.txt"
		done
	done
	rm -f "$f"
done
