#!/usr/bin/env python3
"""Turns the calibration `llmcap calibrate --device gpu` wrote
(calibration-gpu.json, llmcap.calibration-gpu/1) into llmcap's CUDA engine
profile (llmcap.engines/1, one profile), which bench/engine_profiles.py
puts into model_db/data/engines.json:

    python3 bench/llmcap_gpu_profile.py bench/cuda-data/h100/llmcap-cuda-calibration.json \\
        "NVIDIA H100 80GB HBM3 (lent machine, ...)" "llmcap 655e5c4, ..." \\
        > bench/cuda-data/h100/llmcap-cuda-profile.json

The calibration's factors are already the profile's: per type the share of
the probe's GPU bandwidth decode reaches (each type by its matrix-vector
rate against Q4_0's), the share of the FP16 peak prefill reaches (each
type by its 64-token products against Q4_0's; one share for all in files
of older llmcaps), and the fixed
seconds per layer and per token (decode), per layer and per micro-batch
(prefill), fitted by least squares over six synthetic runs and checked on
two more. Every number comes from the file; none is typed in here.
"""
import json
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: llmcap_gpu_profile.py calibration-gpu.json MACHINE ENGINE_VERSION")
    c = json.load(open(sys.argv[1]))
    if c.get("schema") != "llmcap.calibration-gpu/1":
        sys.exit("%s: not an llmcap.calibration-gpu/1 file" % sys.argv[1])
    fit = [max(abs(r["decode_error_pct"]), abs(r["prefill_error_pct"])) for r in c["fit_runs"]]
    chk = [max(abs(r["decode_error_pct"]), abs(r["prefill_error_pct"])) for r in c.get("residuals", [])]
    max_err = max(fit) / 100
    worst = max(fit + chk) / 100
    when = time.strftime("%Y-%m-%d", time.gmtime(c["created_unix"]))
    types = {}
    for t in c["types"]:
        name = t["type"].upper()
        name = name[:-2] + "_K" if name.endswith("_K") else name   # q4_K -> Q4_K
        # per type where calibrate timed 64-token products of each; else the one share
        mm = t.get("prefill_compute_fraction", c["prefill_compute_fraction"])
        types[name] = {"bw": round(t["decode_bandwidth_fraction"], 4), "mm": round(mm, 5)}
    p = {
        "engine": "llmcap",
        "backend": "cuda",
        "status": "measured",
        "machine": sys.argv[2],
        "when": when,
        "engine_version": sys.argv[3],
        "token_s": round(c["token_s"], 9),
        "layer_s": round(c["layer_s"], 9),
        "prefill_step_s": round(c["prefill_step_s"], 9),
        "prefill_layer_s": round(c["prefill_layer_s"], 9),
        "band": round(max(0.10, 1.5 * worst), 3),
        "runs": len(fit),
        "max_err": round(max_err, 4),
        "types": types,
        "how": ("llmcap's CUDA kernels timed by `llmcap calibrate --device gpu` on %s, %s: "
                "%d synthetic Q4_0 runs (SmolLM2-135M, Llama-3.2-1B, Llama-3.1-8B shapes, two depths "
                "each) fitted by least squares; largest error %.1f%%, %.1f%% on two Llama-3.2-3B checks "
                "the fit did not see. Other types scaled by their matrix-vector and 64-token "
                "product rates (8B FFN shape) against Q4_0's; shares of the probe's %.0f GB/s."
                % (sys.argv[2], when, len(fit), max(fit), max(chk) if chk else float("nan"),
                   c["gpu_bandwidth_gbps"])),
    }
    json.dump({"schema": "llmcap.engines/1", "profiles": [p]}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
