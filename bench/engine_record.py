#!/usr/bin/env python3
"""Turns the outputs of scripts/engine-bench.sh (one llama-bench -o json
file per synthetic model, lb__MODEL__TYPE__LAYERS.json, and hardware.json)
into a run record, llmcap.enginebench/1, that `llmcap calibrate --engine
llama.cpp --from RECORD` fits.

    python3 bench/engine_record.py DIR --backend cuda --machine "..." \
        --engine-version "..." > record.json
"""
import argparse
import glob
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--engine", default="llama.cpp")
    ap.add_argument("--backend", required=True, choices=["cpu", "cuda", "metal", "vulkan", "rocm"])
    ap.add_argument("--machine", required=True)
    ap.add_argument("--engine-version", default="")
    args = ap.parse_args()

    hw = json.load(open(os.path.join(args.dir, "hardware.json")))
    if hw.get("id") == "this":
        hw["id"] = "bench-machine"
    runs, when, version = [], "", args.engine_version
    for path in sorted(glob.glob(os.path.join(args.dir, "lb__*.json"))):
        name = os.path.basename(path)[len("lb__"):-len(".json")]
        model, qtype, layers = name.split("__")
        for t in json.load(open(path)):
            if t["n_prompt"] and t["n_gen"]:
                continue
            when = when or t.get("test_time", "")[:10]
            if not version and t.get("build_commit"):
                version = "llama.cpp %s" % t["build_commit"]
            runs.append({
                "model": model, "type": qtype, "layers": int(layers),
                "n_prompt": t["n_prompt"], "n_gen": t["n_gen"],
                "threads": t["n_threads"], "gpu_layers": t["n_gpu_layers"],
                "tps": round(t["avg_ts"], 3), "tps_sd": round(t["stddev_ts"], 3),
            })
    if not runs:
        sys.exit("no lb__*.json files in %s" % args.dir)
    json.dump({
        "schema": "llmcap.enginebench/1", "engine": args.engine, "backend": args.backend,
        "machine": args.machine, "when": when, "engine_version": version,
        "hardware": hw, "runs": runs,
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
