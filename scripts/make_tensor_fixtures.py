"""Writes the tensor-file fixtures of testdata/tensors/ with the real libraries.

Run with Debian's interpreter, which has numpy and torch (see README.md):

    /usr/bin/python3 scripts/make_tensor_fixtures.py

The values are those of cmd/chanprune's newFixture (a layer of in 6, out 5;
scores; batches x0 [2, 3, 6], x1 [4, 6] and x2 [4, 6]), all exact in float16
and bfloat16, so a test can compare a container's result with the .npy one.

.npz files come from np.savez and np.savez_compressed, .pt files from
torch.save. The safetensors package is not in Debian, so write_safetensors
below writes that format itself, following its specification
(https://github.com/huggingface/safetensors#format): an 8-byte little-endian
header length, a JSON header {name: {"dtype", "shape", "data_offsets":
[begin, end]}, "__metadata__": {...}} padded with spaces, then the data.
"""

import collections
import json
import os
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "tensors")


def fill(shape, f):
    n = int(np.prod(shape))
    return np.array([f(i) for i in range(n)], dtype=np.float32).reshape(shape)


W = fill((5, 6), lambda i: i % 7 - 3)
B = fill((5,), lambda i: i / 4)
S = np.array([3, 1, 4, 1, 5, 9], dtype=np.float32)
X0 = fill((2, 3, 6), lambda i: i % 5 - 2)
X1 = fill((4, 6), lambda i: i % 3 - 1)
X2 = fill((4, 6), lambda i: i % 4 - 1.5)


def write_safetensors(path, tensors, metadata):
    """tensors: name -> torch tensor (written C-contiguous, little-endian)."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64"}
    header, data = {"__metadata__": metadata}, b""
    for name, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def walkthrough():
    """The README walk-through on a small model: a forward hook collects a
    Linear layer's inputs in bfloat16, saved to safetensors with the layer's
    weight and bias (write_safetensors stands in for
    safetensors.torch.save_file, which is not in Debian)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 12))
    layer = model[2]
    acts = {}

    def hook(module, inputs, output):
        acts[f"batch_{len(acts)}"] = inputs[0].detach().to(torch.bfloat16).cpu().contiguous()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 5, 8))
    handle.remove()
    write_safetensors(os.path.join(OUT, "walk_acts.safetensors"), acts, {"format": "pt"})
    write_safetensors(os.path.join(OUT, "walk_layer.safetensors"), {
        "weight": layer.weight.detach().contiguous(), "bias": layer.bias.detach().contiguous(),
    }, {"format": "pt"})


def main():
    os.makedirs(OUT, exist_ok=True)
    walkthrough()
    t = torch.from_numpy

    # .npz: the batches under names whose natural order (batch_1, batch_2,
    # batch_10) is not their lexical one; the layer, with a Fortran-order copy.
    np.savez(os.path.join(OUT, "acts.npz"), batch_2=X1, batch_10=X2, batch_1=X0)
    np.savez_compressed(os.path.join(OUT, "acts_compressed.npz"), batch_2=X1, batch_10=X2, batch_1=X0)
    np.savez(os.path.join(OUT, "layer.npz"), weight=W, bias=B, scores=S, weight_f=np.asfortranarray(W))

    # .safetensors: the layer in three dtypes, the batches x1, x2 stacked in
    # bfloat16, and an int64 tensor to be refused.
    write_safetensors(os.path.join(OUT, "layer.safetensors"), {
        "weight": t(W), "bias": t(B).to(torch.bfloat16), "scores": t(S).to(torch.float16),
        "acts": t(np.stack([X1, X2])).to(torch.bfloat16), "ids": torch.arange(3),
    }, {"format": "pt"})

    # .pt like Model-Optimizer's rank_0.pth: scores per layer name, whose
    # dots are not levels.
    torch.save({
        "decoder.layers.0.mlp.linear_fc2": {"score": t(S)},
        "decoder.layers.1.mlp.linear_fc2": {"score": t(S).to(torch.bfloat16)},
    }, os.path.join(OUT, "rank_0.pth"))
    # The layer: a transposed (strided) float32 weight, float64 bias, float16 scores.
    torch.save(collections.OrderedDict([
        ("weight", t(np.ascontiguousarray(W.T)).t()),
        ("bias", t(B).double()),
        ("scores", t(S).half()),
    ]), os.path.join(OUT, "layer.pt"))
    # A list of batches: float32; float16 at an offset in its storage; bfloat16.
    x1_at_offset = torch.cat([torch.zeros(1, 6), t(X1)]).half()[1:]
    torch.save([t(X0), x1_at_offset, t(X2).to(torch.bfloat16)], os.path.join(OUT, "acts.pt"))
    # A dict of batches, in insertion order (not sorted): x1, then x0.
    torch.save({"b": t(X1), "a": t(X0)}, os.path.join(OUT, "acts_dict.pt"))
    # Stacked batches: one array [2, 4, 6] whose rows are x1 and x2.
    torch.save(t(np.stack([X1, X2])).half(), os.path.join(OUT, "stacked.pt"))
    np.save(os.path.join(OUT, "stacked.npy"), np.stack([X1, X2]).astype(">f4"))

    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, name)):6d}  {name}")


if __name__ == "__main__":
    main()
