#!/usr/bin/python3
"""OpenBLAS sgemm through NumPy on the shape of BenchmarkMatmul: C = x @ W.T + b, x [m, k], W [n, k].

  OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/numpy_sgemm.py 128 1024 4096

Prints the median of 20 runs after a warm-up, in the units `go test -bench Matmul` reports (GFLOP/s =
2·m·k·n per second). OpenBLAS mis-detects this CPU: set OPENBLAS_CORETYPE in the timing command only.
"""
import statistics
import sys
import time

import numpy as np

m, k, n = (int(a) for a in sys.argv[1:4])
rng = np.random.default_rng(1)
x = rng.standard_normal((m, k), dtype=np.float32)
w = rng.uniform(-1, 1, (n, k)).astype(np.float32) / np.sqrt(k)
b = rng.uniform(-1, 1, n).astype(np.float32) / np.sqrt(k)
c = np.empty((m, n), dtype=np.float32)
np.matmul(x, w.T, out=c)
times = []
for _ in range(20):
    t = time.perf_counter()
    np.matmul(x, w.T, out=c)
    c += b
    times.append(time.perf_counter() - t)
med = statistics.median(times)
print(f"numpy sgemm {m}x{k}x{n} median_s={med:.5f} gflops={2 * m * k * n / med / 1e9:.1f} numpy={np.__version__}")
