package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Manifests built to exhaust the parser: refused with one line, in bounded
// memory and stack.
func TestReportHostileManifests(t *testing.T) {
	dir := t.TempDir()
	deep := strings.Repeat("[", maxManifestBytes-100) // four million levels overflowed the stack
	for _, tc := range []struct{ name, file, text, mention string }{
		{"deep JSON", "deep.json", `{"layers": ` + deep, "nested more than 64 levels"},
		{"deep JSON in a string is fine", "str.json", `{"layers": "` + deep + `"}`, "want a non-empty list of layers"},
		{"deep YAML", "deep.yaml", "layers: " + deep, "deep.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBytes(t, dir, tc.file, []byte(tc.text))
			code, stdout, stderr := runCLI(t, "report", path)
			if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, tc.mention) || stdout != "" {
				t.Errorf("exit %d, stderr %.200q, stdout %.200q; want exit 1 and one line naming %q", code, stderr, stdout, tc.mention)
			}
		})
	}
	// Past the cap, refused by its size before it is read: the file is
	// sparse, so the test writes nothing.
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"layers": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxManifestBytes+1); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "report", big)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "more than the 4 MiB") {
		t.Errorf("a manifest past the size cap: exit %d, %q", code, stderr)
	}
}

// Each step of a layer's parsing (decode, validate, check the files) and
// the order of its checks, by the exact message of each refusal: these are
// the messages parseLayer gave before it was split into those steps.
func TestManifestLayerMessages(t *testing.T) {
	dir := t.TempDir()
	writeNpy(t, dir, "W.npy", []int{2, 3}, make([]float32, 6))
	writeNpy(t, dir, "s.npy", []int{3}, make([]float32, 3))
	writeNpy(t, dir, "x.npy", []int{4, 3}, make([]float32, 12))
	writeBytes(t, dir, "m.txt", []byte("hello"))
	for _, tc := range []struct{ name, manifest, want string }{
		{"not a map", "layers: [5]",
			"layer 1: want a map with the fields name, weight, bias, scores, batches, ratios, method, stacked, layout, group_size, group_reduce"},
		{"no name", "layers: [{weight: W.npy}]",
			"layer 1: name is required"},
		{"empty name", "layers: [{name: \"\", weight: W.npy}]",
			"layer 1: name: want a non-empty name"},
		{"name not a string", "layers: [{name: [1], weight: W.npy}]",
			"layer 1: name: a list: want a string"},
		{"unknown field", "layers: [{name: l0, wieght: W.npy}]",
			"layer \"l0\": unknown field \"wieght\" (want name, weight, bias, scores, batches, ratios, method, stacked, layout, group_size, group_reduce)"},
		{"field twice", "layers: [{name: l0, weight: W.npy, weight: W.npy}]",
			"layer \"l0\": field \"weight\" given twice"},
		{"missing weight", "layers: [{name: l0, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": weight is required"},
		{"missing ratios", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy]}]",
			"layer \"l0\": ratios is required"},
		{"null bias is absent", "layers: [{name: l0, weight: W.npy, bias: null, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}]",
			""},
		{"empty weight", "layers: [{name: l0, weight: \"\", scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": weight: empty file reference"},
		{"bias a list", "layers: [{name: l0, weight: W.npy, bias: [b.npy], scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": bias: a list: want a string"},
		{"scores a string", "layers: [{name: l0, weight: W.npy, scores: s.npy, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": scores: want a map of NAME: FILE, or a list of such one-entry maps"},
		{"scores twice", "layers: [{name: l0, weight: W.npy, scores: [{a: s.npy}, {a: s.npy}], batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": scores: score set \"a\" given twice"},
		{"batches empty", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [], ratios: [0.5]}]",
			"layer \"l0\": batches: want a non-empty list of file references"},
		{"batch not a string", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy, 3], ratios: [0.5]}]",
			"layer \"l0\": batches[1]: 3: want a string"},
		{"ratios a map", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: {a: 1}}]",
			"layer \"l0\": ratios: want a non-empty list of numbers in [0, 1]"},
		{"ratio a string", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5, \"0.75\"]}]",
			"layer \"l0\": ratios[1]: \"0.75\": want a number in [0, 1]"},
		{"ratio above one", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5, 1.5]}]",
			"layer \"l0\": ratios[1]: \"1.5\": want a number in [0, 1]"},
		{"ratio twice", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5, 0.50]}]",
			"layer \"l0\": ratios: 0.5 given twice"},
		{"method unknown", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], method: fast}]",
			"layer \"l0\": method: \"fast\": want auto, direct or gram"},
		{"method a number", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], method: 1}]",
			"layer \"l0\": method: 1: want a string"},
		{"stacked a string", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], stacked: \"yes\"}]",
			"layer \"l0\": stacked: \"yes\": want true or false"},
		{"layout unknown", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], layout: bsh}]",
			"layer \"l0\": layout: \"bsh\": want seq-first or batch-first"},
		{"layout a list", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], layout: [batch-first]}]",
			"layer \"l0\": layout: a list: want a string"},
		{"layout batch-first", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], layout: batch-first}]",
			""},
		{"layout seq-first", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5], layout: seq-first}]",
			""},
		{"weight missing file", "layers: [{name: l0, weight: nope.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": weight DIR/nope.npy: no such file or directory"},
		{"score missing file", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy, b: nope.npy}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": scores b DIR/nope.npy: no such file or directory"},
		{"score not a tensor file", "layers: [{name: l0, weight: W.npy, scores: {a: m.txt}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": scores a DIR/m.txt: tensorfile: malformed file: not a .npy, .npz, .safetensors or torch.save file"},
		{"batch missing file", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy, nope.npy], ratios: [0.5]}]",
			"layer \"l0\": batches[1] DIR/nope.npy: no such file or directory"},
		{"batch bad key", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy#k], ratios: [0.5]}]",
			"layer \"l0\": batches: DIR/x.npy#k: tensorfile: no such tensor \"k\": a .npy file holds one array and takes no #KEY"},
		{"two errors, the first wins", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [], ratios: [], method: fast}]",
			"layer \"l0\": batches: want a non-empty list of file references"},
		{"name twice", "layers: [{name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}, {name: l0, weight: W.npy, scores: {a: s.npy}, batches: [x.npy], ratios: [0.5]}]",
			"layer \"l0\": name also given to layer 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, err := yamlNode([]byte(tc.manifest))
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseManifest(root, dir)
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "DIR/")
			}
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
