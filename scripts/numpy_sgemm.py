#!/usr/bin/python3
"""OpenBLAS sgemm through NumPy on the shape of BenchmarkMatmul: C = x @ W.T + b, x [m, k], W [n, k].

  OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/numpy_sgemm.py 128 1024 4096

Prints the median of 20 runs after a warm-up, in the units `go test -bench Matmul` reports (GFLOP/s =
2·m·k·n per second). OpenBLAS mis-detects this CPU: set OPENBLAS_CORETYPE in the timing command only.

With a fourth argument B, as BenchmarkEvaluate's direct product runs (seed: 128 1024 4096 100; down:
128 4096 1024 25), it times B products of m rows through one W, one after another, and then one
product of all B·m rows (medians of 7, bias not added):

  OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/numpy_sgemm.py 128 1024 4096 100
"""
import statistics
import sys
import time

import numpy as np


def median_time(f, runs):
    f()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


m, k, n = (int(a) for a in sys.argv[1:4])
batches = int(sys.argv[4]) if len(sys.argv) > 4 else 0
rng = np.random.default_rng(1)
w = rng.uniform(-1, 1, (n, k)).astype(np.float32) / np.sqrt(k)
if batches:
    xs = [rng.standard_normal((m, k), dtype=np.float32) for _ in range(batches)]
    c = np.empty((m, n), dtype=np.float32)
    whole = np.concatenate(xs)
    cw = np.empty((m * batches, n), dtype=np.float32)

    def one_by_one():
        for x in xs:
            np.matmul(x, w.T, out=c)

    flops = 2 * m * batches * k * n
    for name, f in (("one batch at a time", one_by_one), ("one product", lambda: np.matmul(whole, w.T, out=cw))):
        med = median_time(f, 7)
        print(f"numpy sgemm {batches}x{m}x{k}x{n} {name}: median_s={med:.4f} gflops={flops / med / 1e9:.1f} numpy={np.__version__}")
    sys.exit()
x = rng.standard_normal((m, k), dtype=np.float32)
b = rng.uniform(-1, 1, n).astype(np.float32) / np.sqrt(k)
c = np.empty((m, n), dtype=np.float32)


def product():
    np.matmul(x, w.T, out=c)
    np.add(c, b, out=c)


med = median_time(product, 20)
print(f"numpy sgemm {m}x{k}x{n} median_s={med:.5f} gflops={2 * m * k * n / med / 1e9:.1f} numpy={np.__version__}")
