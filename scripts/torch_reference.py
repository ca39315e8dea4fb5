#!/usr/bin/python3
"""PyTorch reference for chanprune's pruning metrics (Model-Optimizer's evaluate_importance_scores).

For a linear layer y = x @ W.T + b, prune the k = int(in * ratio) input channels with the lowest
scores (ties to the lower channel index), recompute y' with those channels of x zeroed, and report the
unweighted means over batches of rmse_b = sqrt(mean((y'-y)^2)) and
cos_b = (y.y') / (max(|y|,1e-8) * max(|y'|,1e-8)), plus k. Two full products per batch, float32.

Run with Debian's interpreter (apt-get install -y python3-torch python3-numpy), not pyenv's python3:

  # check against a conformance case (prints JSON: this script's result next to case.json's "torch")
  /usr/bin/python3 scripts/torch_reference.py --conformance testdata/conformance/no_bias

  # time one shape: seed | down | small | token
  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 scripts/torch_reference.py --bench seed --threads 2
  # the same on a GPU (any torch with CUDA; the data are moved there before the clock starts)
  python3 scripts/torch_reference.py --bench seed --device cuda

torch must use OpenBLAS through Debian's libblas.so.3 alternative (apt-get install -y libopenblas0-openmp);
with only the reference libblas3 that python3-torch pulls in, timings are meaningless.
On this CPU OpenBLAS mis-detects the core type, so the timing command must set OPENBLAS_CORETYPE=SkylakeX
in the environment (it is deliberately not set inside this script).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def evaluate(W, b, batches, scores, ratio):
    """Returns (mean rmse, mean cosine, k); W [out,in], b [out] or None, batches [..., in], float32,
    all on one device."""
    n_in = W.shape[1]
    k = int(n_in * ratio)
    # Lowest scores first; a stable sort sends ties to the lower channel index.
    pruned = torch.argsort(scores.cpu(), stable=True)[:k].to(W.device)
    rmses, coss = [], []
    with torch.inference_mode():
        for x in batches:
            y = F.linear(x, W, b)
            x_pruned = x.clone()
            x_pruned[..., pruned] = 0
            y_p = F.linear(x_pruned, W, b)
            rmse = torch.sqrt(torch.mean((y_p - y) ** 2))
            # torch >= 1.12 computes exactly (y.y') / (max(|y|,eps) * max(|y'|,eps)) here; this op
            # reproduces case.json's "torch" values more closely than a hand-written (y*y').sum()/...
            cos = F.cosine_similarity(y.flatten(), y_p.flatten(), dim=0, eps=1e-8)
            rmses.append(rmse.item())
            coss.append(cos.item())
    return sum(rmses) / len(rmses), sum(coss) / len(coss), k


def conformance(case_dir):
    load = lambda name: torch.from_numpy(np.load(os.path.join(case_dir, name)))
    case = json.load(open(os.path.join(case_dir, "case.json")))
    b = load("b.npy") if os.path.exists(os.path.join(case_dir, "b.npy")) else None
    batches = [load(f"acts_{i}.npy") for i in range(case["batches"])]
    rmse, cos, k = evaluate(load("W.npy"), b, batches, load("scores.npy"), case["ratio"])
    got = {"rmse": rmse, "cosine_similarity": cos, "num_pruned": k}
    want = case["torch"]
    rel = {key: abs(got[key] - want[key]) / max(abs(want[key]), 1e-30) for key in got}
    print(json.dumps({"case": os.path.basename(os.path.normpath(case_dir)),
                      "script": got, "torch": want, "rel_diff": rel}))
    return max(rel.values())


# name: (in, out, number of batches, batch shape without the channel dim, ratio)
SHAPES = {
    "seed": (1024, 4096, 100, (16, 8), 0.2),
    "down": (4096, 1024, 25, (16, 8), 0.2),
    "small": (256, 256, 100, (16, 8), 0.2),
    "token": (1024, 4096, 1000, (1,), 0.2),
}


def bench(shape, threads, device):
    n_in, n_out, n_batches, lead, ratio = SHAPES[shape]
    torch.set_num_threads(threads)
    # For the record: torch version, thread setting, which libblas.so.3 is loaded (the
    # Debian alternative: reference BLAS is ~50x slower than OpenBLAS), OPENBLAS_CORETYPE.
    info = torch.__config__.parallel_info().splitlines()
    blas = [l.split()[-1] for l in open("/proc/self/maps") if "libblas.so" in l or "libopenblas" in l]
    print(f"torch {torch.__version__}; {info[0]} {info[1].strip()}; blas={blas[0] if blas else '?'}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    g = torch.Generator().manual_seed(0)
    bound = 1 / math.sqrt(n_in)  # nn.Linear's default init range
    W = (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound
    b = (torch.rand(n_out, generator=g) * 2 - 1) * bound
    scale = torch.exp(torch.randn(n_in, generator=g))  # per-channel log-normal scale
    batches = [torch.randn(*lead, n_in, generator=g) * scale for _ in range(n_batches)]
    scores = torch.rand(n_in, generator=g)
    # On a GPU the data are moved there first and are not part of the time; evaluate's .item()
    # calls synchronise every batch, as Model-Optimizer's loop does.
    W, b, scores = W.to(device), b.to(device), scores.to(device)
    batches = [x.to(device) for x in batches]

    evaluate(W, b, batches, scores, ratio)  # warm-up
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        evaluate(W, b, batches, scores, ratio)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    tokens = sum(x.numel() // n_in for x in batches)
    gflops = 2 * tokens * n_in * n_out / median / 1e9  # useful flops: one product per batch
    print(f"torch {shape} device={device} threads={threads} median_s={median:.4f} gflops={gflops:.2f} "
          f"runs_s={','.join(f'{t:.4f}' for t in times)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--conformance", metavar="DIR", help="case folder with W.npy, scores.npy, acts_*.npy, case.json")
    mode.add_argument("--bench", choices=sorted(SHAPES), help="time one benchmark shape")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads for --bench (default 2)")
    p.add_argument("--device", default="cpu", help="torch device for --bench: cpu (default) or cuda")
    args = p.parse_args()
    if args.conformance:
        sys.exit(0 if conformance(args.conformance) <= 1e-6 else 1)
    bench(args.bench, args.threads, args.device)


if __name__ == "__main__":
    main()
