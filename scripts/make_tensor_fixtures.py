"""Writes the tensor-file fixtures of testdata/tensors/ with the real libraries.

Run with Debian's interpreter, which has numpy and torch (see README.md):

    /usr/bin/python3 scripts/make_tensor_fixtures.py

The values are those of cmd/chanprune's newFixture (a layer of in 6, out 5;
scores; batches x0 [2, 3, 6], x1 [4, 6] and x2 [4, 6]), all exact in float16
and bfloat16, so a test can compare a container's result with the .npy one.

walk_*.safetensors (a layer with a bias) and walk_nobias_*.safetensors (a
Llama-style down_proj, which has none) are what the README walk-through's
snippet writes for two small models, batch-first; TestReadmeWalkthrough runs
the README's commands on both.

.npz files come from np.savez and np.savez_compressed, .pt files from
torch.save. The safetensors package is not in Debian, so where it is missing
write_safetensors below writes that format itself, following its specification
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


def save_file(tensors, path):
    """safetensors.torch.save_file where the package is installed, else
    write_safetensors, which writes the same format."""
    try:
        from safetensors.torch import save_file as save
    except ImportError:
        write_safetensors(path, tensors, {"format": "pt"})
    else:
        save(tensors, path, metadata={"format": "pt"})


def walkthrough(prefix, model, layer, calibration_batches):
    """The README walk-through's snippet: a forward hook collects the layer's
    inputs, batch-first as the module sees them ([batch, seq, in]), in
    bfloat16; the layer's bias is saved only when it has one."""
    acts = {}

    def hook(module, inputs, output):
        acts[f"batch_{len(acts)}"] = inputs[0].detach().to(torch.bfloat16).cpu().contiguous()

    handle = layer.register_forward_hook(hook)
    with torch.no_grad():
        for batch in calibration_batches:
            model(**batch)
    handle.remove()
    save_file(acts, os.path.join(OUT, prefix + "acts.safetensors"))
    tensors = {"weight": layer.weight.detach().contiguous()}
    if layer.bias is not None:
        tensors["bias"] = layer.bias.detach().contiguous()
    save_file(tensors, os.path.join(OUT, prefix + "layer.safetensors"))


class LlamaMLP(torch.nn.Module):
    """Llama's MLP: down_proj(silu(gate_proj(x)) * up_proj(x)), no biases."""

    def __init__(self, hidden, intermediate):
        super().__init__()
        self.gate_proj = torch.nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = torch.nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = torch.nn.Linear(intermediate, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(torch.nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class TinyLlama(torch.nn.Module):
    """One residual MLP block, reached as model.model.layers[0].mlp, as in
    Hugging Face's Llama."""

    def __init__(self, hidden, intermediate):
        super().__init__()
        self.model = torch.nn.Module()
        self.model.layers = torch.nn.ModuleList([torch.nn.Module()])
        self.model.layers[0].mlp = LlamaMLP(hidden, intermediate)

    def forward(self, inputs_embeds):
        return inputs_embeds + self.model.layers[0].mlp(inputs_embeds)


def walkthroughs():
    """walk_*: a biased Linear(16, 12) after Linear(8, 16) and a ReLU, three
    batches [4, 5, 16]. walk_nobias_*: a bias-free down_proj(24 -> 8) of a
    Llama-style MLP, batches [2, 5, 24], [2, 7, 24], [3, 4, 24]."""
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 12))
    batches = [{"inputs_embeds": torch.randn(4, 5, 8)} for _ in range(3)]
    walkthrough("walk_", lambda inputs_embeds: mlp(inputs_embeds), mlp[2], batches)

    torch.manual_seed(1)
    model = TinyLlama(8, 24)
    batches = [{"inputs_embeds": torch.randn(b, s, 8)} for b, s in [(2, 5), (2, 7), (3, 4)]]
    walkthrough("walk_nobias_", model, model.model.layers[0].mlp.down_proj, batches)


def main():
    os.makedirs(OUT, exist_ok=True)
    walkthroughs()
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
