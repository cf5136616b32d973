#!/usr/bin/env python3
"""make bench: how long `llmcap fit` takes for the whole catalog.

The issue's target: every catalog model x quantization predicted in under
50 ms. Runs `llmcap fit` 7 times on each of three machines (a CPU-only
catalog desktop, a GPU desktop where split placements are searched, and a
unified-memory Mac), reads the time the predictions took (printed by fit
itself) and the wall time of the whole process (catalog parsing and output
included), and prints medians and the ratio to the target.
"""
import re
import statistics
import subprocess
import sys
import time

TARGET_MS = 50.0
MACHINES = ["desktop-9950x-ddr5-5600-64g", "rtx4090-7950x-64g", "mbp16-m4max-48g"]


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else "./llmcap"
    ok = True
    print("llmcap fit: whole catalog, median of 7 runs (target %.0f ms)" % TARGET_MS)
    print("  %-30s %12s %14s %10s %8s" % ("machine", "predictions", "predict ms", "wall ms", "ratio"))
    for hw in MACHINES:
        pred, wall, n = [], [], 0
        for _ in range(7):
            t = time.perf_counter()
            out = subprocess.run([exe, "fit", "--hw", hw], capture_output=True, text=True)
            wall.append((time.perf_counter() - t) * 1000)
            if out.returncode != 0:
                print("  %s: llmcap fit failed: %s" % (hw, out.stderr.strip()))
                return 1
            m = re.search(r"(\d+) predictions in ([0-9.]+) ms", out.stdout)
            if not m:
                print("  %s: no timing line in the output" % hw)
                return 1
            n = int(m.group(1))
            pred.append(float(m.group(2)))
        mp, mw = statistics.median(pred), statistics.median(wall)
        ratio = mw / TARGET_MS
        ok &= mw <= TARGET_MS
        print("  %-30s %12d %14.2f %10.1f %7.2fx" % (hw, n, mp, mw, ratio))
    print("  ratio = median wall time of the whole process / %.0f ms target: %s"
          % (TARGET_MS, "met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
