#!/usr/bin/env python3
"""make bench: llmcap's storage probe beside fio, same filesystem, same run.

Interleaved rounds of
  - llmcap probe --storage --path DIR --json   (its own temporary file)
  - fio (Debian `fio`) on its own 1 GiB file in DIR with the same patterns:
    sequential 4 MiB reads at queue depth 32 and random 4 KiB reads at QD32,
    O_DIRECT, io_uring (the engine llmcap reports; psync threads otherwise)
Prints the medians and their ratios; targets: within 10% of fio for both.
DIR: $BENCH_STORAGE_DIR, else $TMPDIR, else /tmp. fio's file is removed.
Exit 0 when both targets hold, 1 otherwise.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def ensure_fio():
    if shutil.which("fio"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing the reference: apt-get install -y fio", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "fio"], env=env, check=False)
    if shutil.which("fio"):
        return True
    print("bench: fio not found (install with: apt-get install -y fio); storage reference skipped",
          file=sys.stderr)
    return False


def llmcap_storage(binary, directory, env):
    r = subprocess.run([binary, "probe", "--storage", "--path", directory, "--json"],
                       capture_output=True, text=True, timeout=120, env=env)
    if r.returncode != 0:
        raise SystemExit(f"bench: llmcap probe --storage failed (exit {r.returncode}): "
                         f"{r.stderr.strip()}")
    j = json.loads(r.stdout)
    for st in j["storage"]:
        if os.path.realpath(st["path"]) == os.path.realpath(directory):
            return st
    raise SystemExit("bench: llmcap's profile has no storage entry for " + directory)


def fio(engine, directory, fname, rw, bs, seconds=3):
    cmd = ["fio", "--name=ref", f"--filename={os.path.join(directory, fname)}",
           "--size=1G", f"--rw={rw}", f"--bs={bs}", "--iodepth=32", f"--ioengine={engine}",
           "--direct=1", f"--runtime={seconds}", "--time_based", "--output-format=json",
           "--invalidate=1"]
    if engine == "psync":
        cmd[cmd.index("--iodepth=32")] = "--numjobs=32"
        cmd.append("--group_reporting")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if r.returncode != 0:
        return None
    job = json.loads(r.stdout)["jobs"][0]["read"]
    return job["bw_bytes"] / 1e9, job["iops"]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "./llmcap"
    if not ensure_fio():
        return 0
    directory = os.environ.get("BENCH_STORAGE_DIR") or os.environ.get("TMPDIR") or "/tmp"
    cache = tempfile.mkdtemp(prefix="llmcap-bench-")
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    fname = f".llmcap-bench-fio-{os.getpid()}"
    try:
        ours_seq, ours_iops, fio_seq, fio_iops = [], [], [], []
        engine = None
        for r in range(ROUNDS):
            st = llmcap_storage(binary, directory, env)
            if engine is None:
                engine = "io_uring" if "io_uring" in st["engine"] else "psync"
                print(f"bench: storage in {directory} ({st['fs_type']} on "
                      f"{st['device'] or 'no block device'}); llmcap engine '{st['engine']}', "
                      f"cold reads: {st['cold_method']}; fio --ioengine={engine} --direct=1; "
                      f"{ROUNDS} rounds")
            ours_seq.append(st["seq_read_gbps"])
            ours_iops.append(st["rand4k_read_iops"])
            s = fio(engine, directory, fname, "read", "4M")
            q = fio(engine, directory, fname, "randread", "4k")
            fio_seq.append(s[0] if s else None)
            fio_iops.append(q[1] if q else None)
            print(f"  round {r + 1}: llmcap seq {ours_seq[-1]:.2f} GB/s, rand4k "
                  f"{ours_iops[-1]:.0f} IOPS; fio seq "
                  + (f"{fio_seq[-1]:.2f} GB/s" if fio_seq[-1] else "failed")
                  + ", rand4k " + (f"{fio_iops[-1]:.0f} IOPS" if fio_iops[-1] else "failed"),
                  flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        try:
            os.unlink(os.path.join(directory, fname))
        except FileNotFoundError:
            pass

    ok = True
    print("\nmedians over rounds (cold, O_DIRECT, queue depth 32)")
    for name, a, b, unit in (("sequential 4 MiB", med(ours_seq), med(fio_seq), "GB/s"),
                             ("random 4 KiB", med(ours_iops), med(fio_iops), "IOPS")):
        if a is None or b is None:
            print(f"  {name:18s} not compared (a run failed)")
            ok = False
            continue
        ratio = a / b
        good = abs(ratio - 1) <= 0.10
        ok &= good
        fa = f"{a:.2f}" if unit == "GB/s" else f"{a:.0f}"
        fb = f"{b:.2f}" if unit == "GB/s" else f"{b:.0f}"
        print(f"  {name:18s} llmcap {fa:>9s} {unit}  fio {fb:>9s} {unit}  ratio {ratio:.2f}  "
              f"target within 10%: {'ok' if good else 'OUTSIDE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
