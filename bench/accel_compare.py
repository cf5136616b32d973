#!/usr/bin/env python3
"""Compares llmcap probe's GPU figures with the reference run (bench/accel_ref.cu,
and PyTorch when it is there) made in the same run: device copy bandwidth
within 10%, FP16 matrix throughput within 15% (issue 7's targets).
Usage: accel_compare.py probe.json ref.json [torch.json]"""
import json
import sys


def main():
    probe = json.load(open(sys.argv[1]))
    ref = json.load(open(sys.argv[2]))
    torch = None
    if len(sys.argv) > 3:
        try:
            torch = json.load(open(sys.argv[3]))
        except (OSError, ValueError):
            torch = None
    gpus = [a for a in probe.get("accelerators", []) if a.get("backend") == "cuda"]
    if not gpus:
        print("FAIL: the probe found no CUDA GPU:", probe.get("accelerators_note"))
        return 1
    g = gpus[0]
    ok = True
    rows = []

    def row(what, mine, theirs, tol, who):
        nonlocal ok
        if mine is None or theirs is None:
            rows.append((what, mine, theirs, None, "MISSING", who))
            ok = False
            return
        d = mine / theirs - 1
        good = abs(d) <= tol
        ok = ok and good
        rows.append((what, mine, theirs, d, "ok" if good else "FAIL", who))

    row("device copy GB/s (r+w)", g.get("bandwidth_gbps"), ref.get("copy_gbps_best"), 0.10,
        "cudaMemcpy D2D 1 GiB")
    row("FP16 matrix TFLOPS", g.get("fp16_tflops"), ref.get("fp16_tflops_best"), 0.15,
        "cublasGemmEx 8192^3")
    if torch:
        row("device copy GB/s (r+w)", g.get("bandwidth_gbps"), torch.get("copy_gbps"), 0.10,
            "torch copy_ 1 GiB")
        row("FP16 matrix TFLOPS", g.get("fp16_tflops"), torch.get("fp16_tflops"), 0.15,
            "torch.matmul fp16 8192^3")
    print(f"GPU: {g['name']} (cc {g.get('compute_capability')}, {g.get('compute_units')} SMs,"
          f" {g.get('memory_bytes')} bytes)")
    print(f"probe method: {g.get('method')}")
    for k in ("bandwidth_gbps", "read_gbps", "spec_bandwidth_gbps", "h2d_gbps", "d2h_gbps",
              "h2d_pageable_gbps", "d2h_pageable_gbps", "fp16_tflops", "launch_us"):
        print(f"  {k:22s} {g.get(k)}")
    print(f"{'figure':26s} {'probe':>10s} {'reference':>10s} {'diff':>8s}  verdict  reference")
    for what, mine, theirs, d, verdict, who in rows:
        ds = f"{d * 100:+.1f}%" if d is not None else "-"
        print(f"{what:26s} {mine if mine is None else round(mine, 1)!s:>10s} "
              f"{theirs if theirs is None else round(theirs, 1)!s:>10s} {ds:>8s}  {verdict:7s}  {who}")
    chk = ref.get("gemm_check", {})
    print(f"reference GEMM element check: got {chk.get('got')} ref {chk.get('ref')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
