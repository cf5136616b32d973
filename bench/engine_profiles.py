#!/usr/bin/env python3
"""Writes model_db/data/engines.json (llmcap.engines/1): the measured
profiles fitted by `llmcap calibrate --engine llama.cpp --from RECORD --out
FILE` (one per record under bench/engine-data/), and the profiles of the
backends we cannot run, derived from the nearest measured one with the
reasoning written into each.

    ./llmcap calibrate --engine llama.cpp --from bench/engine-data/h100/record.json --out /tmp/cuda.json
    ./llmcap calibrate --engine llama.cpp --from bench/engine-data/cpu/record.json --out /tmp/cpu.json
    python3 bench/engine_profiles.py /tmp/cpu.json /tmp/cuda.json \
        bench/cuda-data/h100/llmcap-cuda-profile.json > model_db/data/engines.json

The last is llmcap's own CUDA profile (bench/llmcap_gpu_profile.py makes it
from `llmcap calibrate --device gpu` on the H100); any file of
llmcap.engines/1 profiles may be given.
"""
import copy
import json
import sys

DERIVED = {
    "metal": (
        "derived (not measured: no Apple machine here) from the llama.cpp cuda profile "
        "measured on the H100. Decode in both backends is one bandwidth-bound matrix-vector "
        "kernel per weight matrix per token, so the same share of memory bandwidth is assumed "
        "per tensor type; prefill takes the same share of the GPU's FP16 peak (Apple GPUs have "
        "no tensor cores: their FP16 peak is the SIMD rate the Metal kernels use); the fixed "
        "costs per token and per layer are the CUDA ones (one kernel per graph node in both). "
        "Band widened to 40%."),
    "vulkan": (
        "derived (not measured: no Vulkan GPU here) from the llama.cpp cuda profile measured on "
        "the H100: the Vulkan backend dispatches one compute shader per graph node as CUDA "
        "launches one kernel, and its matrix-vector shaders are bandwidth-bound the same way, so "
        "the same shares of bandwidth and FP16 peak and the same fixed costs are assumed. "
        "Band widened to 40%."),
    "rocm": (
        "derived (not measured: no AMD GPU here) from the llama.cpp cuda profile measured on the "
        "H100: llama.cpp's ROCm backend is the same ggml-cuda source compiled with HIP, so the "
        "same shares of bandwidth and FP16 peak and the same fixed costs are assumed. Band "
        "widened to 40%."),
}


def main():
    measured = []
    for path in sys.argv[1:]:
        measured += json.load(open(path))["profiles"]
    by = {(p["engine"], p["backend"]): p for p in measured}
    out = list(measured)
    cuda = by.get(("llama.cpp", "cuda"))
    if cuda:
        for backend, how in DERIVED.items():
            d = copy.deepcopy(cuda)
            for k in ("machine", "when", "engine_version", "fingerprint", "runs", "max_err"):
                d.pop(k, None)
            d["backend"] = backend
            d["status"] = "derived"
            d["band"] = max(0.4, cuda["band"])
            d["how"] = how
            out.append(d)
    json.dump({"schema": "llmcap.engines/1", "profiles": out}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
