"""Formats BenchmarkForward lines (go test -bench output on stdin) as the
README's latency table: one row per shape and T, one column per variant
(dense, pruned0.2, ...), the median µs of the runs (-count), and each pruned
variant's time over its dense one in parentheses. The README gives the
command that feeds it.
"""
import re
import statistics
import sys

LINE = re.compile(r"^BenchmarkForward/(\d+x\d+)/T(\d+)/([\w.-]+)/(\w+)-\d+\s+\d+\s+([\d.]+) ns/op")


def main():
    times, shapes, variants, kernels = {}, [], [], set()
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        shape, t, variant, kernel, ns = m.group(1), int(m.group(2)), m.group(3), m.group(4), float(m.group(5))
        kernels.add(kernel)
        if shape not in shapes:
            shapes.append(shape)
        if variant not in variants:
            variants.append(variant)
        times.setdefault((shape, t, variant), []).append(ns / 1e3)
    if len(kernels) != 1:
        sys.exit(f"want the lines of one kernel, got {sorted(kernels)}")
    print("| in×out | T | " + " | ".join(f"{v} µs" for v in variants) + " |")
    print("| --- | ---: |" + " ---: |" * len(variants))
    for shape in shapes:
        for t in sorted({k[1] for k in times if k[0] == shape}):
            cells = []
            for v in variants:
                got = times.get((shape, t, v))
                if not got:
                    cells.append("")
                    continue
                us = statistics.median(got)
                dense = times.get((shape, t, re.sub(r"^pruned[\d.]+", "dense", v)))
                ratio = f" ({us / statistics.median(dense):.2f})" if dense and not v.startswith("dense") else ""
                cells.append(f"{us:.0f}{ratio}" if us >= 10 else f"{us:.1f}{ratio}")
            print(f"| {shape.replace('x', '×')} | {t} | " + " | ".join(cells) + " |")


main()
