#!/bin/sh
# Times versions of the GEMV kernels against each other in one run, on a
# machine with an NVIDIA GPU and nvcc, after `make llmcap` (it links
# against build/libllmcap.a and build/tools/embed):
#
#   scripts/cuda-gemv-ab.sh NAME=FILE[@NVCC FLAGS] NAME=DIR[@NVCC FLAGS] ...
#
# Each version is a gemv.cu (FILE; -Ikernels/cuda finds common.cuh and
# abi.h, so it must keep their layouts) compiled for this GPU only
# ($AB_ARCH, default sm_90) with its flags, embedded into a copy of
# build/libllmcap.a, and linked with bench/cuda_gemv.c. A DIR is a tree
# like the repository's (DIR/kernels/cuda/gemv.cu, and where a version
# changes the weights' device layout, DIR/kernels/cuda/ops.cu and
# DIR/kernels/kern_cuda.c, which then replace the library's; DIR's
# headers come before the repository's): "." is the working tree. Then $ROUNDS
# rounds (default 2) run every version in turn with $GEMV_ARGS (default
# --quick), so drift hits all alike; the table last gives each version's
# median GB/s over the rounds and its share of the copy bandwidth.
# $AB_ENVS: environments to run each version under, space-separated,
# "-" for none (default "-"); the k-th (k > 0) shows as NAME+k.
# Outputs in $OUT (default build/ab): NAME/ptxas.txt (registers, spills),
# NAME-ROUND.txt. Never changes GPU settings.
set -eu
cd "$(dirname "$0")/.."
OUT=${OUT:-build/ab}
ARCH=${AB_ARCH:-sm_90}
ROUNDS=${ROUNDS:-2}
GEMV_ARGS=${GEMV_ARGS:---quick}
W=build/ab-work
mkdir -p "$OUT" "$W"
LIBS="$(pkg-config --libs hwloc libcpuid libcjson ncursesw liburing) -lpthread -lm -ldl"
names=""
for v in "$@"; do
	name=${v%%=*}
	rest=${v#*=}
	file=${rest%%@*}
	flags=""
	case $rest in *@*) flags=${rest#*@} ;; esac
	names="$names $name"
	d=$W/$name
	mkdir -p "$d" "$OUT/$name"
	inc=""
	if [ -d "$file" ]; then
		inc="-I$file/kernels/cuda -I$file"
		file=$file/kernels/cuda/gemv.cu
	fi
	(
		nvcc -fatbin -O3 -gencode "arch=compute_${ARCH#sm_},code=$ARCH" $inc -Ikernels/cuda -Xptxas -v $flags \
			-o "$d/gemv.fatbin" "$file" > "$OUT/$name/ptxas.txt" 2>&1 &&
		build/tools/embed kern_cuda_gemv "$d/gemv.fatbin" "$d/cuda_gemv.c" &&
		cc -c -O2 -o "$d/cuda_gemv.o" "$d/cuda_gemv.c" &&
		cp build/libllmcap.a "$d/lib.a" && ar r "$d/lib.a" "$d/cuda_gemv.o" &&
		if [ -n "$inc" ] && [ -f "${file%/gemv.cu}/ops.cu" ]; then
			nvcc -fatbin -O3 -gencode "arch=compute_${ARCH#sm_},code=$ARCH" $inc -Ikernels/cuda \
				-o "$d/ops.fatbin" "${file%/gemv.cu}/ops.cu" >> "$OUT/$name/ptxas.txt" 2>&1 &&
			build/tools/embed kern_cuda_ops "$d/ops.fatbin" "$d/cuda_ops.c" &&
			cc -c -O2 -o "$d/cuda_ops.o" "$d/cuda_ops.c" && ar r "$d/lib.a" "$d/cuda_ops.o"
		fi &&
		if [ -n "$inc" ] && [ -f "${file%/cuda/gemv.cu}/kern_cuda.c" ]; then
			# shellcheck disable=SC2086
			cc -c -std=c11 -O2 $inc -I. -D_GNU_SOURCE $(pkg-config --cflags hwloc libcpuid libcjson) \
				-o "$d/kern_cuda.o" "${file%/cuda/gemv.cu}/kern_cuda.c" >> "$OUT/$name/ptxas.txt" 2>&1 &&
			ar r "$d/lib.a" "$d/kern_cuda.o"
		fi &&
		cc -std=c11 -O2 -I. -D_GNU_SOURCE -o "$d/cuda_gemv" bench/cuda_gemv.c "$d/lib.a" $LIBS
	) || { echo "$name: build failed"; tail -20 "$OUT/$name/ptxas.txt"; exit 1; } &
done
wait
for n in $names; do
	test -x "$W/$n/cuda_gemv" || { echo "$n: not built"; exit 1; }
	# registers and spills of the one-token kernels
	echo "$n: $(grep -A3 -E "Compiling entry function 'kcu_gemv_[a-z0-9_K]+_1'" "$OUT/$n/ptxas.txt" | grep -v "Function properties" |
		grep -oE "kcu_gemv_[a-z0-9_K]+_1|Used [0-9]+ registers|[0-9]+ bytes spill stores" |
		sed -e 's/kcu_gemv_//' -e 's/Used //' -e 's/ registers/r/' -e 's/ bytes spill stores/B-spill/' |
		paste -sd' ')"
done
cols=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	k=0
	for e in ${AB_ENVS:--}; do
		for n in $names; do
			col=$n
			[ $k -gt 0 ] && col=$n+$k
			[ $r -eq 1 ] && cols="$cols $col"
			# shellcheck disable=SC2086
			if [ "$e" = - ]; then
				"$W/$n/cuda_gemv" $GEMV_ARGS > "$OUT/$col-$r.txt" 2>&1
			else
				env "$e" "$W/$n/cuda_gemv" $GEMV_ARGS > "$OUT/$col-$r.txt" 2>&1
			fi || { cat "$OUT/$col-$r.txt"; exit 1; }
		done
		k=$((k + 1))
	done
	r=$((r + 1))
done
python3 - "$OUT" $cols <<'EOF'
import glob, re, statistics, sys
out, names = sys.argv[1], sys.argv[2:]
res, copy = {}, {}
for n in names:
    for f in sorted(glob.glob("%s/%s-[0-9]*.txt" % (out, n))):
        for l in open(f):
            if l.startswith("device-to-device"):
                copy.setdefault(n, []).append(float(l.split(":")[1].split()[0]))
            m = re.match(r"^([a-zA-Z0-9_]+) +(\d+x\d+) +\S+ +\S+ +(\d+) ", l)
            if m:
                res.setdefault((m.group(1), m.group(2)), {}).setdefault(n, []).append(float(m.group(3)))
print("copy GB/s (median of rounds): " + ", ".join("%s %.0f" % (n, statistics.median(copy[n])) for n in names))
print("%-5s %-13s " % ("type", "shape") + " ".join("%13s" % n for n in names))
for (t, s), d in res.items():
    cells = []
    for n in names:
        if n in d:
            g = statistics.median(d[n])
            cells.append("%5.0f %5.1f%% " % (g, 100 * g / statistics.median(copy[n])))
        else:
            cells.append("%13s" % "-")
    print("%-5s %-13s " % (t, s) + " ".join(cells))
EOF
