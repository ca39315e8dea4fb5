package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// allocBrute is allocate's answer found by trying every choice, written
// from the report's JSON alone: the least summed objective of the choices
// (ratio 0 or a point of scores and compensation, a missing one none) that
// prune at least budget·Σ in·out, and the best uniform ratio.
func allocBrute(t *testing.T, report []byte, scores, compensation, objective string, budget float64) (best float64, feasible bool, uniform *uniformJSON) {
	t.Helper()
	var rep struct {
		Layers []struct {
			In, Out   int
			OutputRMS float64 `json:"output_rms"`
			Points    []map[string]any
		}
	}
	if err := json.Unmarshal(report, &rep); err != nil {
		t.Fatal(err)
	}
	type opt struct {
		ratio float64
		w     int
		c     float64
	}
	var layers [][]opt
	total := 0
	for _, l := range rep.Layers {
		total += l.In * l.Out
		opts := []opt{{0, 0, 0}}
		for _, p := range l.Points {
			comp, _ := p["compensation"].(string)
			if comp == "" {
				comp = "none"
			}
			if p["scores"] != scores || comp != compensation {
				continue
			}
			c := 1 - p["cosine_similarity"].(float64)
			if objective == "rel-rmse" {
				c = p["rmse"].(float64) / l.OutputRMS
			}
			opts = append(opts, opt{p["ratio"].(float64), int(p["num_pruned"].(float64)) * l.Out, c})
		}
		layers = append(layers, opts)
	}
	need := budget * float64(total)
	best = math.Inf(1)
	var walk func(i, w int, c float64)
	walk = func(i, w int, c float64) {
		if i == len(layers) {
			if float64(w) >= need && c < best {
				best, feasible = c, true
			}
			return
		}
		for _, o := range layers[i] {
			walk(i+1, w+o.w, c+o.c)
		}
	}
	walk(0, 0, 0)
	for _, r := range layers[0] {
		u := uniformJSON{Ratio: r.ratio}
		every := true
		for _, l := range layers {
			i := slices.IndexFunc(l, func(o opt) bool { return o.ratio == r.ratio })
			if i < 0 {
				every = false
				break
			}
			u.PrunedParams += int64(l[i].w)
			u.Objective += l[i].c
		}
		if every && float64(u.PrunedParams) >= need && (uniform == nil || u.Objective < uniform.Objective) {
			uniform = &u
		}
	}
	return best, feasible, uniform
}

func TestAllocateEqualsBruteForce(t *testing.T) {
	manifest, names := newShardFixture(t)
	code, report, stderr := runCLI(t, "report", "--format", "json", manifest)
	if code != 0 {
		t.Fatalf("report: %s", stderr)
	}
	path := writeBytes(t, t.TempDir(), "report.json", []byte(report))
	for _, objective := range []string{"rel-rmse", "one-minus-cos"} {
		for _, scores := range []string{"a", "s2"} {
			for _, budget := range []string{"0", "0.05", "2e-1", "1/3", "0.5", "0.6", "0.75"} {
				var f float64
				if n, d, ok := strings.Cut(budget, "/"); ok {
					f = float64(n[0]-'0') / float64(d[0]-'0')
				} else {
					f = mustFloat(t, budget)
				}
				want, feasible, uniform := allocBrute(t, []byte(report), scores, "none", objective, f)
				code, stdout, stderr := runCLI(t, "allocate", "--budget", budget, "--scores", scores, "--objective", objective, "--format", "json", path)
				what := objective + " " + scores + " budget " + budget
				if !feasible {
					if code != 1 || !strings.Contains(stderr, "the grid prunes at most") {
						t.Errorf("%s: exit %d, %q: want the most the grid allows", what, code, stderr)
					}
					continue
				}
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", what, code, stderr)
				}
				var keys map[string]json.RawMessage
				var got allocationJSON
				if json.Unmarshal([]byte(stdout), &keys) != nil || json.Unmarshal([]byte(stdout), &got) != nil {
					t.Fatalf("%s: %s", what, stdout)
				}
				if k := slices.Sorted(func(yield func(string) bool) {
					for k := range keys {
						yield(k)
					}
				}); !slices.Equal(k, []string{"budget", "layers", "objective", "pruned_params", "total_params", "uniform"}) {
					t.Errorf("%s: fields %v", what, k)
				}
				var sumW int64
				var sumC float64
				for i, l := range got.Layers {
					if l.Name != names[i] || l.PrunedParams != int64(l.NumPruned)*[]int64{5, 4}[i%2] {
						t.Errorf("%s: layer %d: %+v", what, i, l)
					}
					sumW, sumC = sumW+l.PrunedParams, sumC+l.Objective
				}
				if !within(got.Objective-want, 1e-9) || !within(sumC-got.Objective, 1e-12) || sumW != got.PrunedParams ||
					float64(got.PrunedParams) < f*float64(got.TotalParams) || got.TotalParams != 4*30+3*32 {
					t.Errorf("%s: %+v, want objective %v", what, got, want)
				}
				if (uniform == nil) != (got.Uniform == nil) || uniform != nil && (uniform.Ratio != got.Uniform.Ratio || !within(uniform.Objective-got.Uniform.Objective, 1e-12)) {
					t.Errorf("%s: uniform %+v, want %+v", what, got.Uniform, uniform)
				}
			}
		}
	}
	code, stdout, _ := runCLI(t, "allocate", "--budget", "0.3", "--scores", "a", path)
	for _, want := range []string{"weights pruned", "model.layers.6.mlp.down_proj", "best uniform ratio 0.5"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("text: exit %d, lacks %q:\n%s", code, want, stdout)
		}
	}
}

func mustFloat(t *testing.T, s string) float64 {
	var f float64
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// --compensate chooses the points of its mode, a point without one being
// none; refusals name what is wrong in one line.
func TestAllocateCompensateAndRefusals(t *testing.T) {
	dir := t.TempDir()
	report := `{"layers": [
	  {"name": "l0", "in": 4, "out": 2, "output_rms": 2, "points": [
	    {"scores": "a", "ratio": 0.5, "num_pruned": 2, "rmse": 1, "cosine_similarity": 0.9},
	    {"scores": "a", "ratio": 0.5, "num_pruned": 2, "rmse": 0.2, "cosine_similarity": 0.99, "compensation": "ls"},
	    {"scores": "a", "ratio": 0.75, "num_pruned": 3, "rmse": 0.4, "cosine_similarity": 0.98, "compensation": "ls"}]},
	  {"name": "l1", "in": 4, "out": 2, "output_rms": 1, "points": [
	    {"scores": "a", "ratio": 0.5, "num_pruned": 2, "rmse": 0.3, "cosine_similarity": 0.95, "compensation": "none"},
	    {"scores": "a", "ratio": 0.5, "num_pruned": 2, "rmse": 0.25, "cosine_similarity": 0.96, "compensation": "ls"}]}]}`
	path := writeBytes(t, dir, "r.json", []byte(report))
	for _, mode := range []string{"none", "ls"} {
		want, _, _ := allocBrute(t, []byte(report), "a", mode, "rel-rmse", 0.25)
		code, stdout, stderr := runCLI(t, "allocate", "--budget", "0.25", "--scores", "a", "--compensate", mode, "--format", "json", path)
		var got allocationJSON
		if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil || !within(got.Objective-want, 1e-12) {
			t.Errorf("--compensate %s: exit %d %s: %s, want objective %v", mode, code, stderr, stdout, want)
		}
	}
	if _, stdout, _ := runCLI(t, "allocate", "--budget", "0.25", "--scores", "a", "--compensate", "ls", "--format", "json", path); !strings.Contains(stdout, `"objective": 0.1,`) {
		t.Errorf("--compensate ls: want l0 at 0.5 with ls (0.2/2):\n%s", stdout)
	}
	old := writeBytes(t, dir, "old.json", []byte(strings.ReplaceAll(report, `"output_rms": `, `"x": `)))
	noRMSE := writeBytes(t, dir, "normse.json", []byte(strings.Replace(report, `"rmse": 1,`, ``, 1)))
	noCos := writeBytes(t, dir, "nocos.json", []byte(strings.Replace(report, `"cosine_similarity": 0.9}`, `"cosine_similarity": null}`, 1)))
	negative := writeBytes(t, dir, "negative.json", []byte(strings.Replace(report, `"rmse": 1,`, `"rmse": -1,`, 1)))
	huge := writeBytes(t, dir, "huge.json", []byte(strings.NewReplacer(`"rmse": 1,`, `"rmse": 1.5e308,`, `"rmse": 0.3,`, `"rmse": 1.5e308,`).Replace(report)))
	for _, c := range []struct{ args, want string }{
		{"--budget 0.8 --scores a " + path, "the grid prunes at most 8 of the 16 weights (0.5)"},
		{"--budget 1.5 --scores a " + path, `--budget "1.5": want a fraction in [0, 1]`},
		{"--budget x --scores a " + path, "want a fraction"},
		{"--budget 1e-999999999 --scores a " + path, "want a fraction"},
		{"--budget 0x1p-3 --scores a " + path, "want a fraction"},
		{"--budget 1/0 --scores a " + path, "want a fraction"},
		{"--budget 0.1 --scores b " + path, `no layer has points of --scores "b" with compensation "none" (its score sets: a)`},
		{"--budget 0.1 --scores a --objective mse " + path, "--objective"},
		{"--budget 0.1 " + path, "--scores NAME is required"},
		{"--budget 0.1 --scores a " + old, `layer "l0" has no output_rms`},
		{"--budget 0.1 --scores a " + noRMSE, `layer "l0": a@0.5 has no rmse`},
		{"--budget 0.1 --scores a --objective one-minus-cos " + noCos, `layer "l0": a@0.5 has no cosine_similarity`},
		{"--budget 0.1 --scores a " + negative, `layer "l0": a@0.5: rmse -1 is negative`},
		{"--budget 0.5 --scores a " + huge, "objectives sum past float64's range"},
		{"--budget 0.1 --scores a " + filepath.Join(dir, "none.json"), "none.json"},
		{"--budget 0.1 --scores a " + writeBytes(t, dir, "bad.json", []byte("{")), "not a report's JSON"},
		{"--budget 0.1 --scores a " + writeBytes(t, dir, "part.json", []byte(`{"shard": "0/2", `+report[1:])), "a part (shard 0/2) of a sharded report: join the parts with merge"},
	} {
		code, _, stderr := runCLI(t, append([]string{"allocate"}, strings.Fields(c.args)...)...)
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("allocate %s: exit %d, %q: want one line with %q", c.args, code, stderr, c.want)
		}
	}
	// Layers without the points asked for stay unpruned, with a warning.
	code, stdout, stderr := runCLI(t, "allocate", "--budget", "0.1", "--scores", "a", "--compensate", "ls", "--format", "json",
		writeBytes(t, dir, "some.json", []byte(strings.Replace(report, `"compensation": "ls"}]}]}`, `"compensation": "x"}]}]}`, 1))))
	if code != 0 || !strings.Contains(stderr, "1 of 2 layers have no points") || !strings.Contains(stdout, `"name": "l1",
      "ratio": 0,`) {
		t.Errorf("exit %d, %q:\n%s", code, stderr, stdout)
	}
}
