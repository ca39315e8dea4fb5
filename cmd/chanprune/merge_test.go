package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// newShardFixture writes a manifest of seven layers over the report
// fixture's files, the third on a grid of its own (so that the summary
// warns of uneven grids), and returns its path.
func newShardFixture(t *testing.T) (manifest string, names []string) {
	dir, base := newReportFixture(t)
	var layers []reportLayer
	for i := range 7 {
		l := base[i%2]
		l.name = fmt.Sprintf("model.layers.%d.mlp.down_proj", i)
		if i == 2 {
			l.ratios = []float64{0.5}
		}
		layers, names = append(layers, l), append(names, l.name)
	}
	manifest, _ = writeManifests(t, dir, layers)
	return manifest, names
}

// writeParts runs report --shard i/n with flags for every i and gives the
// parts' paths, in reverse order (merge takes them in any).
func writeParts(t *testing.T, manifest string, n int, flags ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var parts []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("part-%d-of-%d.json", i, n))
		args := append([]string{"report", "--shard", fmt.Sprintf("%d/%d", i, n), "--out", p, manifest}, flags...)
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("shard %d/%d: exit %d: %s", i, n, code, stderr)
		}
		parts = append(parts, p)
	}
	slices.Reverse(parts)
	return parts
}

// merge of every shard count 1..5 prints what the unsharded report
// prints: text and csv byte for byte, JSON equal after parsing, the same
// warning, the same plot.
func TestMergeEqualsUnsharded(t *testing.T) {
	manifest, _ := newShardFixture(t)
	plots := t.TempDir()
	want := map[string][2]string{} // format → stdout, stderr
	for _, format := range []string{"text", "csv", "json"} {
		args := []string{"report", "--format", format, manifest}
		if format == "text" {
			args = append(args, "--plot", filepath.Join(plots, "whole.svg"))
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || !strings.Contains(stderr, "grids differ") {
			t.Fatalf("report --format %s: exit %d, stderr %q: want the uneven-grids warning", format, code, stderr)
		}
		want[format] = [2]string{stdout, stderr}
	}
	wholePlot, err := os.ReadFile(filepath.Join(plots, "whole.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 5; n++ {
		parts := writeParts(t, manifest, n)
		for _, format := range []string{"text", "csv", "json"} {
			args := append([]string{"merge", "--format", format}, parts...)
			plot := filepath.Join(plots, fmt.Sprintf("merged-%d.svg", n))
			if format == "text" {
				args = append(args, "--plot", plot)
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != 0 || stderr != want[format][1] {
				t.Fatalf("%d shards, %s: exit %d, stderr %q, want %q", n, format, code, stderr, want[format][1])
			}
			if format == "json" {
				var got, whole any
				if json.Unmarshal([]byte(stdout), &got) != nil || json.Unmarshal([]byte(want[format][0]), &whole) != nil || !reflect.DeepEqual(got, whole) {
					t.Errorf("%d shards: merged JSON differs:\n%s\nunsharded:\n%s", n, stdout, want[format][0])
				}
			} else if stdout != want[format][0] {
				t.Errorf("%d shards: merged %s differs:\n%s\nunsharded:\n%s", n, format, stdout, want[format][0])
			}
			if format == "text" {
				if got, err := os.ReadFile(plot); err != nil || string(got) != string(wholePlot) {
					t.Errorf("%d shards: the merged plot differs from the unsharded one (%v)", n, err)
				}
			}
		}
	}
}

// Parts of different N that together hold every layer once merge too.
func TestMergeMixedCounts(t *testing.T) {
	manifest, _ := newShardFixture(t)
	halves, quarters := writeParts(t, manifest, 2), writeParts(t, manifest, 4) // reversed
	// 0/2 holds the even layers, 1/4 and 3/4 the odd ones.
	code, merged, stderr := runCLI(t, "merge", "--format", "csv", quarters[0], halves[1], quarters[2])
	_, whole, _ := runCLI(t, "report", "--format", "csv", manifest)
	if code != 0 || merged != whole {
		t.Errorf("exit %d, %s:\n%s\nunsharded:\n%s", code, stderr, merged, whole)
	}
}

// A part holds the shard's layers, their indices and the manifest's hash.
func TestReportShardPart(t *testing.T) {
	manifest, names := newShardFixture(t)
	code, stdout, stderr := runCLI(t, "report", "--shard", "1/3", manifest)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var p reportPart
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if p.Shard != "1/3" || p.ManifestSHA256 != manifestSum(raw) || !slices.Equal(p.ManifestLayers, names) ||
		!slices.Equal(p.LayerIndices, []int{1, 4}) || len(p.Layers) != 2 || p.Layers[1].Name != names[4] {
		t.Errorf("part %+v", p)
	}
	// More shards than layers: the last parts are empty, and still parts.
	code, stdout, _ = runCLI(t, "report", "--shard", "8/9", "--format", "json", manifest)
	if code != 0 || !strings.Contains(stdout, `"layer_indices": [],`) || !strings.Contains(stdout, `"layers": []`) {
		t.Errorf("shard 8/9 of 7 layers: exit %d:\n%s", code, stdout)
	}
	for _, c := range []struct{ args, want string }{
		{"--shard 3/3", "--shard"}, {"--shard 1", "I/N"}, {"--shard -1/2", "I/N"}, {"--shard 0/0", "I/N"},
		{"--shard 0/2 --format csv", "give --format to merge"}, {"--shard 0/2 --plot p.svg", "give --plot to merge"},
	} {
		code, _, stderr := runCLI(t, append(append([]string{"report"}, strings.Fields(c.args)...), manifest)...)
		if code != 1 || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("report %s: exit %d, stderr %q: want one line with %q", c.args, code, stderr, c.want)
		}
	}
}

// merge refuses, in one line each: parts of different manifests or
// options, a layer in two parts, layers in none (named), and files that
// are not parts.
func TestMergeRefusals(t *testing.T) {
	manifest, _ := newShardFixture(t)
	thirds := writeParts(t, manifest, 3) // 2/3, 1/3, 0/3
	halves := writeParts(t, manifest, 2)
	// The same layers in a manifest of other bytes.
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	other := writeBytes(t, filepath.Dir(manifest), "other.json", append(raw, '\n'))
	otherParts := writeParts(t, other, 3)
	repaired := writeParts(t, manifest, 3, "--compensate", "none,bias")
	grouped := writeParts(t, manifest, 3, "--group-size", "2")
	dir := t.TempDir()
	code, full, _ := runCLI(t, "report", "--format", "json", manifest)
	if code != 0 {
		t.Fatal("report failed")
	}
	fullReport := writeBytes(t, dir, "full.json", []byte(full))
	notJSON := writeBytes(t, dir, "notes.txt", []byte("shard 0/1\n"))
	partRaw, err := os.ReadFile(thirds[2])
	if err != nil {
		t.Fatal(err)
	}
	moved := writeBytes(t, dir, "moved.json", []byte(strings.Replace(string(partRaw), `"layer_indices": [
    0,`, `"layer_indices": [
    1,`, 1)))
	for _, c := range []struct {
		name  string
		parts []string
		want  []string
	}{
		{"different manifests", []string{thirds[0], thirds[1], otherParts[2]}, []string{"different manifests", "SHA-256"}},
		{"different --compensate", []string{thirds[0], thirds[1], repaired[2]}, []string{"different options", "(--compensate none --group-size 1 and --compensate none,bias --group-size 1)"}},
		{"different --group-size", []string{grouped[0], thirds[1], thirds[2]}, []string{"different options", "(--compensate none --group-size 2 --group-reduce mean and --compensate none --group-size 1)"}},
		{"a layer twice", []string{thirds[2], thirds[1], thirds[0], halves[1]}, []string{`"model.layers.0.mlp.down_proj"`, "in two parts", halves[1]}},
		{"the same part twice", []string{thirds[0], thirds[0], thirds[1], thirds[2]}, []string{"in two parts"}},
		{"layers missing", []string{thirds[0], thirds[2]}, []string{"2 layers of 7 missing", `"model.layers.1.mlp.down_proj", "model.layers.4.mlp.down_proj"`, "no part of shard 1/3"}},
		{"only shard 0/2", []string{halves[1]}, []string{`"model.layers.5.mlp.down_proj"`, "no part of shard 1/2"}},
		{"a full report", []string{fullReport}, []string{"full.json: not a part that report --shard I/N writes", "summary"}},
		{"not JSON", []string{notJSON}, []string{"notes.txt: not a part"}},
		{"indices that do not fit", []string{moved}, []string{"moved.json: not a part", "layer_indices[0] = 1"}},
		{"no parts", nil, []string{"want the PART files"}},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"merge"}, c.parts...)...)
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q: want exit 1 and one line", c.name, code, stdout, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: %q lacks %q", c.name, stderr, w)
			}
		}
	}
}
