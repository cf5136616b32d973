#!/bin/sh
# Times llama.cpp's llama-bench on synthetic GGUF files written by `llmcap
# synth`, for the shipped engine profiles (issue 10). One machine, one
# backend per run:
#
#   scripts/engine-bench.sh cpu    # here: llama.cpp's CPU backend, 1 and all threads
#   scripts/engine-bench.sh cuda   # a machine with an NVIDIA GPU: -ngl 99
#
# llama.cpp is built from the source inside PyPI llama-cpp-python (its
# vendor/llama.cpp), unpacked from $LLAMA_SRC (a .tar.gz of that folder;
# default .llamacpp/llamacpp-src.tar.gz), unless $LLAMA_BENCH names a built
# llama-bench. Outputs go to $OUT (default build/engine-bench): one
# llama-bench -o json file per model, lb__MODEL__TYPE__LAYERS.json, and
# hardware.json (the machine as `llmcap probe --json` describes it).
# bench/engine_profile.py turns them into a run record and a profile.
#
# Models: SmolLM2-135M's shape at 30 and 4 layers (the fixed costs per
# token and per layer), Llama-3.2-1B and Llama-3.1-8B shapes in Q4_0, Q8_0
# and F16. $SETS limits them ("small" skips the 8B files).
set -eu
cd "$(dirname "$0")/.."
BACKEND=${1:-cpu}
OUT=${OUT:-build/engine-bench}
MODELS=${MODELS:-build/engine-models}
LLAMA_SRC=${LLAMA_SRC:-.llamacpp/llamacpp-src.tar.gz}
SETS=${SETS:-full}
REPS=${REPS:-3}
mkdir -p "$OUT" "$MODELS"
NPROC=$(nproc)

make -j"$NPROC" llmcap >/dev/null

if [ -z "${LLAMA_BENCH:-}" ]; then
	B=build/llamacpp-$BACKEND
	if [ ! -x "$B/bin/llama-bench" ]; then
		[ -f "$LLAMA_SRC" ] || { echo "no llama.cpp source at $LLAMA_SRC (see the header of $0)"; exit 2; }
		mkdir -p build/llamacpp-src
		tar xzf "$LLAMA_SRC" -C build/llamacpp-src
		EXTRA=""
		if [ "$BACKEND" = cuda ]; then
			EXTRA="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH:-90}"
		fi
		t0=$(date +%s)
		# shellcheck disable=SC2086
		cmake -S build/llamacpp-src/llama.cpp -B "$B" -DCMAKE_BUILD_TYPE=Release \
			-DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
			-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF \
			-DLLAMA_BUILD_COMMIT="${LLAMA_COMMIT:-0c1e57098bba}" -DLLAMA_BUILD_NUMBER=0 \
			$EXTRA > "$OUT/cmake.log" 2>&1 || { tail -20 "$OUT/cmake.log"; exit 1; }
		cmake --build "$B" --target llama-bench -j"$NPROC" > "$OUT/build.log" 2>&1 ||
			{ tail -30 "$OUT/build.log"; exit 1; }
		echo "llama-bench built in $(( $(date +%s) - t0 )) s"
	fi
	LLAMA_BENCH=$B/bin/llama-bench
fi

./llmcap probe --json --out "$OUT/probe.json" > /dev/null 2> "$OUT/probe.err" ||
	{ cat "$OUT/probe.err"; exit 1; }
python3 -c "import json,sys; json.dump(json.load(open(sys.argv[1]))['hardware'], open(sys.argv[2],'w'), indent=1)" \
	"$OUT/probe.json" "$OUT/hardware.json"

# model type layers
LIST="smollm2-135m Q4_0 30
smollm2-135m Q4_0 4
llama-3.2-1b Q4_0 16
llama-3.2-1b Q8_0 16
llama-3.2-1b F16 16"
if [ "$SETS" = full ]; then
	LIST="$LIST
llama-3.1-8b Q4_0 32
llama-3.1-8b Q8_0 32
llama-3.1-8b F16 32"
fi

if [ "$BACKEND" = cpu ]; then
	ALL=$(./llmcap probe --cached --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['cpu']['cores'])")
	SMALL_T="1,$ALL"
	BIG_T="$ALL"
	NGL=0
else
	SMALL_T=$NPROC
	BIG_T=$NPROC
	NGL=99
fi

echo "$LIST" | while read -r m q l; do
	f="$MODELS/$m.$q.L$l.gguf"
	[ -f "$f" ] || ./llmcap synth --model "$m" --quant "$q" --layers "$l" --out "$f" > /dev/null
	th=$SMALL_T
	case "$m" in llama-3.1-8b) th=$BIG_T ;; esac
	o="$OUT/lb__${m}__${q}__${l}.json"
	t0=$(date +%s)
	"$LLAMA_BENCH" -m "$f" -p 512 -n 128 -r "$REPS" -t "$th" -ngl "$NGL" -o json > "$o.tmp" 2> "$o.err" ||
		{ echo "llama-bench failed on $f:"; tail -5 "$o.err"; rm -f "$o.tmp"; continue; }
	mv "$o.tmp" "$o"
	python3 - "$o" "$m" "$q" "$l" "$(( $(date +%s) - t0 ))" <<'EOF'
import json, sys
tests = json.load(open(sys.argv[1]))
row = " ".join("%s%s t%d %.1f" % ("pp" if t["n_prompt"] else "tg", t["n_prompt"] or t["n_gen"],
        t["n_threads"], t["avg_ts"]) for t in tests)
print("%-14s %-5s L%-3s %s  (%s s)" % (sys.argv[2], sys.argv[3], sys.argv[4], row, sys.argv[5]))
EOF
done
