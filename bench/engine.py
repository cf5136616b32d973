#!/usr/bin/env python3
"""Engine profiles against llama-bench (issue 10), for `make bench`.

For every recorded run set (bench/engine-data/*/record.json: llama-bench
pp512 / tg128 on synthetic GGUF files, timed on a named machine) this runs
`llmcap plan --engine llama.cpp` on the same synthetic file (written by
`llmcap synth` into build/engine-models when missing; files over 4 GB only
with --all) and the record's machine (its llmcap.hardware/1 description),
and prints predicted, measured and the ratio. Target: within 10%.

With --measure (needs llama-bench on PATH or $LLAMA_BENCH) it first times
llama-bench on this machine's files again in this run, so the comparison is
with figures measured in the same session.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLMCAP = os.path.join(ROOT, "llmcap")
MODELS = os.path.join(ROOT, "build", "engine-models")


def synth(model, qtype, layers, allow_big):
    path = os.path.join(MODELS, "%s.%s.L%d.gguf" % (model, qtype, layers))
    if os.path.exists(path):
        return path
    if not allow_big and model == "llama-3.1-8b":
        return None
    os.makedirs(MODELS, exist_ok=True)
    subprocess.run([LLMCAP, "synth", "--model", model, "--quant", qtype, "--layers", str(layers),
                    "--out", path], check=True, stdout=subprocess.DEVNULL)
    return path


def plan(path, hw, run):
    args = [LLMCAP, "plan", "--model", path, "--hw", hw, "--engine", "llama.cpp", "--json",
            "--ctx", str(max(16, run["n_prompt"] + run["n_gen"] + 1))]
    if run["gpu_layers"] <= 0:
        args += ["--gpu-layers", "0"]
    if run["n_prompt"]:
        args += ["--prompt", str(run["n_prompt"]), "--gen", "1"]
    else:
        args += ["--prompt", "1", "--gen", str(run["n_gen"])]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    p = json.loads(out)
    return p["prefill_tps"] if run["n_prompt"] else p["decode_tps"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="also write the 8B files (~30 GB)")
    ap.add_argument("--measure", action="store_true", help="re-time llama-bench here first")
    args = ap.parse_args()
    worst = 0.0
    for rec_path in sorted(glob.glob(os.path.join(ROOT, "bench", "engine-data", "*", "record.json"))):
        rec = json.load(open(rec_path))
        runs = rec["runs"]
        top = max(r["threads"] for r in runs)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            hw = dict(rec["hardware"])
            hw["id"] = "bench-machine"
            json.dump(hw, f)
            hw_path = f.name
        where = rec["machine"]
        if args.measure and rec["backend"] == "cpu":
            lb = os.environ.get("LLAMA_BENCH") or "llama-bench"
            fresh = []
            for r in runs:
                if r["threads"] != top:
                    continue
                path = synth(r["model"], r["type"], r["layers"], args.all)
                if not path:
                    continue
                t = ["-p", str(r["n_prompt"]), "-n", "0"] if r["n_prompt"] else ["-p", "0", "-n", str(r["n_gen"])]
                out = subprocess.run([lb, "-m", path, "-r", "3", "-t", str(top), "-o", "json"] + t,
                                     check=True, capture_output=True, text=True).stdout
                r2 = dict(r)
                r2["tps"] = [x for x in json.loads(out) if x["n_prompt"] == r["n_prompt"]][0]["avg_ts"]
                fresh.append(r2)
            runs = fresh
            where += " (llama-bench re-timed in this run)"
        print("\n%s, %s %s (%s)" % (where, rec["engine"], rec["backend"], rec.get("when", "")))
        print("  %-14s %-5s %6s %-6s %11s %11s %7s" % ("model shape", "type", "layers", "test",
                                                    "llama-bench", "plan", "ratio"))
        for r in runs:
            if r["threads"] != top:
                continue
            path = synth(r["model"], r["type"], r["layers"], args.all)
            test = ("pp%d" % r["n_prompt"]) if r["n_prompt"] else ("tg%d" % r["n_gen"])
            if not path:
                print("  %-14s %-5s %6d %-6s %11.1f %11s %7s" % (r["model"], r["type"], r["layers"], test,
                                                              r["tps"], "(--all)", ""))
                continue
            pred = plan(path, hw_path, r)
            ratio = pred / r["tps"]
            if r["model"] != "smollm2-135m":
                worst = max(worst, abs(ratio - 1))
            print("  %-14s %-5s %6d %-6s %11.1f %11.1f %7.3f" % (r["model"], r["type"], r["layers"], test,
                                                              r["tps"], pred, ratio))
        os.unlink(hw_path)
    print("\nlargest |plan / llama-bench - 1| on the 1B and 8B files: %.1f%% (target 10%%)" % (100 * worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
