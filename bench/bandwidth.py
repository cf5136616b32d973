#!/usr/bin/env python3
"""make bench: llmcap's memory bandwidth beside independent references.

Runs, interleaved in rounds so that noise from other users of the machine
hits both alike:
  - llmcap probe --quick --json (our read/copy/triad, one thread and all cores)
  - likwid-bench (Debian `likwid`): load/copy/stream kernels at the widest
    SIMD width the CPU has, on a working set the size of ours
  - sysbench memory (Debian `sysbench`): sequential reads, 1 GiB blocks
Prints each figure's median over the rounds, the ratio of llmcap's all-core
read to the best reference read, and the spread of llmcap's quick runs.
Exit 0 when the checks hold (read >= 95% of the best reference, quick runs
within 5%), 1 otherwise. Figures are GB/s (1e9 bytes/s).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def sh(cmd, timeout=120):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def ensure_tools():
    missing = [p for p, exe in (("likwid", "likwid-bench"), ("sysbench", "sysbench"))
               if shutil.which(exe) is None]
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"bench: installing references: apt-get install -y {' '.join(missing)}",
              file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=False)
    for p, exe in (("likwid", "likwid-bench"), ("sysbench", "sysbench")):
        if shutil.which(exe) is None:
            print(f"bench: {exe} not found; that reference is skipped "
                  f"(install with: apt-get install -y {p})", file=sys.stderr)


def llmcap_probe(binary, env):
    r = subprocess.run([binary, "probe", "--quick", "--json"], capture_output=True, text=True,
                       timeout=120, env=env)
    rc, out, err = r.returncode, r.stdout, r.stderr
    if rc != 0:
        raise SystemExit(f"bench: llmcap probe failed (exit {rc}): {err.strip()}")
    return json.loads(out)


def likwid(kernel, size_bytes, threads):
    # -w S0:<size>:<threads>: threads on socket 0, working set split among them
    size_kb = max(1, size_bytes // 1024)
    rc, out, err = sh(["likwid-bench", "-t", kernel, "-w", f"S0:{size_kb}kB:{threads}"])
    if rc != 0:
        return None
    for line in out.splitlines():
        if line.startswith("MByte/s:"):
            return float(line.split()[1]) / 1000.0   # likwid MByte = 1e6 bytes
    return None


def sysbench_read(threads):
    rc, out, err = sh(["sysbench", "memory", "--memory-block-size=1G",
                       "--memory-total-size=32G", "--memory-oper=read",
                       f"--threads={threads}", "run"])
    if rc != 0:
        return None
    for line in out.splitlines():
        if "MiB/sec" in line and "transferred" in line:
            mib = float(line.split("(")[1].split()[0])
            return mib * 1048576 / 1e9
    return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x):
    return f"{x:8.1f}" if x is not None else "       -"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "./llmcap"
    ensure_tools()
    import tempfile
    cache = tempfile.mkdtemp(prefix="llmcap-bench-")   # leave the user's cache alone
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    try:
        return run(binary, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def run(binary, env):
    first = llmcap_probe(binary, env)
    isa = set(first["cpu"]["isa"])
    width = "avx512" if "avx512f" in isa else "avx" if "avx" in isa else "sse"
    bw = first["memory"]["bandwidth"]
    threads = bw["threads"]
    arrays = bw["read"]["array_bytes"]
    print(f"bench: {first['cpu']['brand']}, {threads} cores, llmcap kernel '{bw['read']['kernel']}', "
          f"{arrays / 2**20:.0f} MiB per array; likwid kernels *_{width}; {ROUNDS} rounds")

    ours = {k: [] for k in ("read", "copy", "triad", "read1", "copy1", "triad1", "read_med")}
    ref = {k: [] for k in ("likwid load", "likwid copy", "likwid stream", "likwid load 1t",
                           "sysbench read")}
    have_likwid = shutil.which("likwid-bench") is not None
    have_sysbench = shutil.which("sysbench") is not None
    for r in range(ROUNDS):
        j = first if r == 0 else llmcap_probe(binary, env)
        b = j["memory"]["bandwidth"]
        ours["read_med"].append(b["read"]["stat"]["median"])
        for k in ("read", "copy", "triad"):
            ours[k].append(b[f"{k}_gbps"])
            ours[k + "1"].append(b["single_thread"][f"{k}_gbps"])
        if have_likwid:
            ref["likwid load"].append(likwid(f"load_{width}", arrays, threads))
            ref["likwid copy"].append(likwid(f"copy_{width}", 2 * arrays, threads))
            ref["likwid stream"].append(likwid(f"stream_{width}", 3 * arrays, threads))
            ref["likwid load 1t"].append(likwid(f"load_{width}", arrays, 1))
        if have_sysbench:
            ref["sysbench read"].append(sysbench_read(threads))
        print(f"  round {r + 1}: llmcap read {b['read_gbps']:.1f}  "
              + "  ".join(f"{k} {v[-1]:.1f}" for k, v in ref.items() if v and v[-1] is not None),
              flush=True)

    print("\nmedians over rounds, GB/s (llmcap: best pass of each run; likwid: its run average)")
    print(f"  {'figure':28s} {'llmcap':>8s} {'reference':>10s}  ratio")
    pairs = [("read, all cores", "read", "likwid load"),
             ("copy, all cores", "copy", "likwid copy"),
             ("triad, all cores", "triad", "likwid stream"),
             ("read, one thread", "read1", "likwid load 1t")]
    for name, o, rk in pairs:
        a, b = med(ours[o]), med(ref[rk])
        ratio = f"{a / b:6.2f}" if a and b else "     -"
        print(f"  {name:28s} {fmt(a)} {fmt(b)}   {ratio}  ({rk})")
    a, b = med(ours["read_med"]), med(ref["likwid load"])
    if a and b:
        print(f"  {'read, all cores, median pass':28s} {fmt(a)} {fmt(b)}   {a / b:6.2f}  (likwid load)")
    sb = med(ref["sysbench read"])
    print(f"  {'sysbench read, all cores':28s} {'':8s} {fmt(sb)}")

    read = med(ours["read"])
    refs = [x for x in (med(ref["likwid load"]), sb) if x]
    ok = True
    if refs:
        best = max(refs)
        ratio = read / best
        verdict = "ok" if ratio >= 0.95 else "BELOW TARGET"
        ok &= ratio >= 0.95
        print(f"\nall-core read: llmcap {read:.1f} GB/s = {ratio * 100:.0f}% of the best reference "
              f"({best:.1f} GB/s); target >= 95%: {verdict}")
    else:
        print("\nno reference tool ran; ratio not computed")
    def spread_of(xs):
        xs = [x for x in xs if x is not None]
        return (max(xs) - min(xs)) / statistics.median(xs) if len(xs) > 1 else None

    spread = spread_of(ours["read"])
    print(f"llmcap probe --quick, {ROUNDS} runs, all-core read: "
          + ", ".join(f"{x:.1f}" for x in ours["read"])
          + f" GB/s; spread (max-min)/median {spread * 100:.1f}%; target <= 5%: "
          + ("ok" if spread <= 0.05 else "ABOVE TARGET"))
    ok &= spread <= 0.05
    for k in ("likwid load", "sysbench read"):
        sp = spread_of(ref[k])
        if sp is not None:
            print(f"  same rounds, {k}: " + ", ".join(f"{x:.1f}" for x in ref[k] if x is not None)
                  + f" GB/s; spread {sp * 100:.1f}% (the machine's own run-to-run noise)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
