"""Load a .safetensors file the way PyTorch's safetensors package does, for
Debian, which does not package it: json for the header, torch.frombuffer
for the data. It checks what safetensors' own loader checks (the header's
size, JSON with string metadata, data offsets that tile the data in order
with no gap or overlap, sizes that match dtype and shape) and prints the
tensors as JSON: {"metadata": {...}, "tensors": {name: {"dtype", "shape",
"values"}}}. With --x X.json ([tokens, in_features] as a JSON list) it
also serves the pruned layer of a file chanprune prune --out wrote, with
torch: "y" = F.linear(x[:, keep], weight, bias), in float32.

    /usr/bin/python3 scripts/load_safetensors.py pruned.safetensors [--x x.json]
"""
import argparse
import json
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2), "I64": (torch.int64, 8)}


def load(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100 << 20 or 8 + n > len(data):
        sys.exit(f"{path}: header of {n} bytes")
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        sys.exit(f"{path}: metadata is not string to string")
    body = data[8 + n :]
    end = 0
    tensors = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = e["data_offsets"]
        dtype, size = DTYPES[e["dtype"]]
        count = 1
        for d in e["shape"]:
            count *= d
        if begin != end or stop - begin != count * size:
            sys.exit(f"{path}: {name} at {begin}..{stop}, want {end}..{end + count * size}")
        end = stop
        raw = bytearray(body[begin:stop])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(e["shape"])
    if end != len(body):
        sys.exit(f"{path}: {len(body) - end} bytes after the last tensor")
    return meta, tensors


def main():
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--x", help="JSON [tokens, in_features]: serve each file's pruned layer (weight, keep) on it")
    a = p.parse_args()
    x = torch.tensor(json.load(open(a.x)), dtype=torch.float32) if a.x else None
    results = []
    for path in a.files:
        meta, tensors = load(path)
        out = {"metadata": meta, "tensors": {}}
        for name, t in tensors.items():
            values = t.tolist() if t.dtype == torch.int64 else t.float().flatten().tolist()
            out["tensors"][name] = {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "values": values}
        if x is not None and "weight" in tensors:
            assert x.shape[1] == int(meta["in_features"])
            bias = tensors["bias"].float() if "bias" in tensors else None
            y = torch.nn.functional.linear(x.index_select(-1, tensors["keep"]), tensors["weight"].float(), bias)
            out["y"] = y.flatten().tolist()
        results.append(out)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
