#!/usr/bin/env python3
"""A second reference through PyTorch (when installed): a 1 GiB device copy
(GB/s, read + write counted) and an 8192^3 FP16 matmul, CUDA events, best of
several after warm-up, random data. Prints one JSON object."""
import json

import torch

e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
src = torch.randn(1 << 28, device="cuda")          # 1 GiB of float32
dst = torch.empty_like(src)
best = 0.0
for i in range(22):
    e0.record(); dst.copy_(src); e1.record(); e1.synchronize()
    if i >= 2:
        best = max(best, 2 * src.numel() * 4 / (e0.elapsed_time(e1) / 1e3) / 1e9)
del src, dst
n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.float16)
b = torch.randn(n, n, device="cuda", dtype=torch.float16)
tf = 0.0
for i in range(14):
    e0.record(); c = a @ b; e1.record(); e1.synchronize()
    if i >= 2:
        tf = max(tf, 2 * n ** 3 / (e0.elapsed_time(e1) / 1e3) / 1e12)
print(json.dumps({"copy_gbps": best, "fp16_tflops": tf, "torch": torch.__version__}))
