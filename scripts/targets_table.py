"""Formats issue 14's targets from go test -bench output on stdin: rounds of
BenchmarkPeak (20000x), BenchmarkEvaluate/{seed,down}, BenchmarkEvaluateAuto/seed
and BenchmarkSweepOverAuto/seed, as the closing notes and README's table report
them. Each fraction is taken over the highest BenchmarkPeak of the whole input
for its kernel (the true peak: no kernel exceeds it), the median over the
rounds with the range in brackets. The README's Benchmarks section gives the
command that feeds it.
"""
import re
import statistics
import sys

# The seed's Gram floor: forming G = xᵀx of every batch, tokens·in² flops
# (100 batches of 128 tokens, in = 1024: internal/seed.Seed).
SEED_GRAM_FLOPS = 100 * 128 * 1024 * 1024

LINE = re.compile(r"^Benchmark(\w+)/([\w.-]+?)(?:/(\w+))?-\d+\s+\d+\s+([\d.]+) ns/op(.*)$")


def metric(rest, unit):
    m = re.search(r"([\d.]+) " + re.escape(unit) + r"(?:\s|$)", rest)
    return float(m.group(1)) if m else None


def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main():
    peak, rows = {}, {}
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        bench, first, second, ns, rest = m.group(1), m.group(2), m.group(3), float(m.group(4)), m.group(5)
        if bench == "Peak":
            peak[first] = max(peak.get(first, 0), metric(rest, "GFLOP/s") or 0)
            continue
        if second is None:
            continue
        key = (bench, first, second)
        if bench == "Evaluate" and first in ("seed", "down"):
            rows.setdefault(key, []).append((metric(rest, "GFLOP/s"), ns))
        elif bench == "EvaluateAuto" and first == "seed":
            rows.setdefault(key, []).append((SEED_GRAM_FLOPS / ns, ns))  # GFLOP/s of the floor
        elif bench == "SweepOverAuto" and first == "seed":
            rows.setdefault(key, []).append((metric(rest, "sweep/auto"), ns))
    if not peak:
        sys.exit("no BenchmarkPeak lines: the fractions need the run's peak")
    kernels = sorted({k[2] for k in rows})
    targets = [
        ("Evaluate", "seed", "`Evaluate/seed` ≥ 0.88 of the peak"),
        ("Evaluate", "down", "`Evaluate/down` ≥ 0.85"),
        ("EvaluateAuto", "seed", "`EvaluateAuto/seed` `floor-fraction` ≥ 0.6"),
        ("SweepOverAuto", "seed", "`Sweep/seed` ≤ 1.3 × `EvaluateAuto/seed`"),
    ]
    print("peaks (GFLOP/s): " + ", ".join(f"{k} {peak[k]:.1f}" for k in sorted(peak)))
    print("| target | " + " | ".join(kernels) + " |")
    print("| --- |" + " --- |" * len(kernels))
    for bench, shape, name in targets:
        cells = []
        for k in kernels:
            got = rows.get((bench, shape, k))
            if not got or (bench != "SweepOverAuto" and k not in peak):
                cells.append("")
                continue
            ms = statistics.median(ns for _, ns in got) / 1e6
            if bench == "SweepOverAuto":
                cells.append(f"{spread([r for r, _ in got], '{:.3f}')}, {len(got)} runs")
                continue
            cells.append(f"{spread([g / peak[k] for g, _ in got], '{:.3f}')}, {ms:.1f} ms")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
