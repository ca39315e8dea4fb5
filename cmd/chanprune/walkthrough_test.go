package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// walkFixtures are the files the README walk-through's Python snippet wrote
// for two small models, by the names under testdata/tensors that stand for
// walk_acts.safetensors and walk_layer.safetensors.
var walkFixtures = []struct {
	name, acts, layer string
	bias              bool
}{
	{"bias", "walk_acts.safetensors", "walk_layer.safetensors", true},
	{"no bias", "walk_nobias_acts.safetensors", "walk_nobias_layer.safetensors", false},
}

// TestReadmeWalkthrough runs the README walk-through's commands, as written
// there, on a layer with a bias and on a bias-free one (Llama's down_proj),
// both with batch-first activations. A command naming the bias must run on
// the first and stop with one clear line on the second.
func TestReadmeWalkthrough(t *testing.T) {
	commands := readmeWalkthrough(t)
	var scores, sweeps, biased int
	for _, args := range commands {
		switch {
		case args[0] == "score":
			scores++
			// The fixtures are batch-first, as a Hugging Face hook saves
			// them: l2norm, which averages over the sequence, must be told.
			if slices.Contains(args, "l2norm") && !strings.Contains(strings.Join(args, " "), "--layout batch-first") {
				t.Errorf("walk-through: chanprune %s: l2norm on batch-first activations without --layout batch-first", strings.Join(args, " "))
			}
		case args[0] == "sweep" && namesBias(args):
			biased++
		case args[0] == "sweep":
			sweeps++
		}
	}
	if scores == 0 || sweeps != 1 || biased != 1 {
		t.Fatalf("walk-through has %d score commands, %d sweeps without a bias and %d with one: want scores and one sweep of each", scores, sweeps, biased)
	}
	for _, f := range walkFixtures {
		t.Run(f.name, func(t *testing.T) {
			tensors := filepath.Join("..", "..", "testdata", "tensors")
			checkBatchFirst(t, filepath.Join(tensors, f.acts))
			// Run them in a folder holding the two files, as a user would.
			dir := t.TempDir()
			copyFile(t, filepath.Join(tensors, f.acts), filepath.Join(dir, "walk_acts.safetensors"))
			copyFile(t, filepath.Join(tensors, f.layer), filepath.Join(dir, "walk_layer.safetensors"))
			t.Chdir(dir)
			byBias := map[bool][]pointJSON{}
			for _, args := range commands {
				if namesBias(args) && !f.bias {
					code, _, stderr := runCLI(t, args...)
					if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `"bias"`) || !strings.Contains(stderr, "weight") {
						t.Fatalf("chanprune %s on a bias-free layer: exit %d, want 1 and a line naming the missing bias and the tensors there are: %q", strings.Join(args, " "), code, stderr)
					}
					continue
				}
				if code, _, stderr := runCLI(t, args...); code != 0 {
					t.Fatalf("chanprune %s: exit %d: %s", strings.Join(args, " "), code, stderr)
				}
				if args[0] != "sweep" {
					continue
				}
				png, err := os.ReadFile("sweep.png")
				if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
					t.Fatalf("sweep.png: %v", err)
				}
				byBias[namesBias(args)] = sweepJSON(t, args)
			}
			if !f.bias {
				return
			}
			// The bias changes every output, so the cosine; the rmse of
			// y'−y has none of it.
			without, with := byBias[false], byBias[true]
			for i := range with {
				if with[i].RMSE != without[i].RMSE || with[i].CosineSimilarity == without[i].CosineSimilarity {
					t.Errorf("%s at %g: with the bias rmse %g, cosine %g; without %g, %g: want the same rmse and another cosine",
						with[i].Scores, with[i].Ratio, with[i].RMSE, with[i].CosineSimilarity, without[i].RMSE, without[i].CosineSimilarity)
				}
			}
		})
	}
}

// readmeWalkthrough returns the arguments of each `chanprune` command in
// README.md's walk-through section, continuation lines joined.
func readmeWalkthrough(t *testing.T) [][]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("## Walk-through"))
	if start < 0 {
		t.Fatal("README has no walk-through")
	}
	section := string(readme[start:])
	section = section[:strings.Index(section[3:], "\n## ")+3]
	section = strings.ReplaceAll(section, "\\\n", " ")
	var commands [][]string
	for _, line := range regexp.MustCompile(`(?m)^    chanprune (.*)$`).FindAllStringSubmatch(section, -1) {
		commands = append(commands, strings.Fields(line[1]))
	}
	return commands
}

func namesBias(args []string) bool { return slices.Contains(args, "--bias") }

// sweepJSON runs a sweep command again with --format json and checks that it
// has every score set at every ratio.
func sweepJSON(t *testing.T, args []string) []pointJSON {
	t.Helper()
	code, stdout, stderr := runCLI(t, append(slices.Clip(args), "--format", "json")...)
	var points []pointJSON
	if code != 0 || json.Unmarshal([]byte(stdout), &points) != nil {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	sets := strings.Count(strings.Join(args, " "), "--scores ")
	ratios := strings.Count(args[slices.Index(args, "--ratios")+1], ",") + 1
	if len(points) != sets*ratios {
		t.Fatalf("%d points, want %d score sets × %d ratios", len(points), sets, ratios)
	}
	return points
}

// checkBatchFirst checks that every tensor of a safetensors file is a batch
// as a Hugging Face module sees it, [batch, seq, in] with batch and seq over
// 1, so that the walk-through runs where the two axes can be told apart.
func checkBatchFirst(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	delete(header, "__metadata__")
	for name, raw := range header {
		var tensor struct{ Shape []int }
		if err := json.Unmarshal(raw, &tensor); err != nil {
			t.Fatalf("%s#%s: %v", path, name, err)
		}
		if s := tensor.Shape; len(s) != 3 || s[0] < 2 || s[1] < 2 {
			t.Errorf("%s#%s: shape %v, want [batch, seq, in] with batch, seq > 1", path, name, s)
		}
	}
	if len(header) == 0 {
		t.Errorf("%s has no batches", path)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
