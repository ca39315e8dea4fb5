package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"github.com/chanprune/chanprune"
)

// eval reads its batches in groups (observeBatches): with more rows than a
// group holds on this machine, batches of several sizes, each batch's
// metrics are those of the library's stream fed one batch at a time, bit
// for bit, in order, on both methods.
func TestEvalGroupsEqualObserve(t *testing.T) {
	f := newFixture(t)
	const in = 6
	// 3 batches of 5 rows, 1 of 3 and 2 of 7, again and again: past two
	// groups' rows, and a group boundary inside every run of sizes.
	sizes := []int{5, 5, 5, 3, 7, 7}
	rows := 0
	var batches [][]float32
	for i := 0; rows <= 2*groupRows*runtime.GOMAXPROCS(0)+1; i++ {
		n := sizes[i%len(sizes)]
		batches = append(batches, fill(n*in, func(j int) float32 { return float32((j*7+i*3)%11) - 5 }))
		rows += n
	}
	var files []string
	for i, x := range batches {
		files = append(files, writeNpy(t, f.dir, fmt.Sprintf("x%03d.npy", i), []int{len(x) / in, in}, x))
	}
	layer, err := loadLayer(f.w, f.b)
	if err != nil {
		t.Fatal(err)
	}
	scores := []chanprune.ScoreSet{{Name: "s", Scores: []float32{3, 1, 4, 1, 5, 9}}}
	for _, method := range []string{"direct", "gram"} {
		code, stdout, stderr := runCLI(t, append([]string{"eval", "--format", "json", "--quiet", "--method", method,
			"--weight", f.w, "--bias", f.b, "--scores", f.s, "--ratio", "0.5"}, files...)...)
		var got evalJSON
		if code != 0 || json.Unmarshal([]byte(stdout), &got) != nil {
			t.Fatalf("%s: exit %d, stderr %q", method, code, stderr)
		}
		m, err := chanprune.ParseMethod(method)
		if err != nil {
			t.Fatal(err)
		}
		e, err := chanprune.NewEvaluator(layer, chanprune.WithMethod(m))
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.NewStream(scores, []float64{0.5})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range batches {
			if err := s.Observe(x); err != nil {
				t.Fatal(err)
			}
		}
		want, err := s.Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got.PerBatch) != len(batches) {
			t.Fatalf("%s: %d batches, want %d", method, len(got.PerBatch), len(batches))
		}
		for i, b := range want[0].PerBatch {
			g := got.PerBatch[i]
			if g.File != files[i] || g.Tokens != b.Tokens || g.RMSE != b.RMSE || g.CosineSimilarity != b.CosineSimilarity {
				t.Errorf("%s, batch %d: %s, %d tokens, rmse %v, cosine %v; want %s, %d, %v, %v", method, i,
					g.File, g.Tokens, g.RMSE, g.CosineSimilarity, files[i], b.Tokens, b.RMSE, b.CosineSimilarity)
			}
		}
	}
}

// trimBuffers keeps the first buffer whatever its size and the next ones
// while they hold at most the limit in all, and releases the rest.
func TestTrimBuffers(t *testing.T) {
	bufs := [][]float32{make([]float32, 100), make([]float32, 0, 4), make([]float32, 3), make([]float32, 5), nil, make([]float32, 1)}
	got := trimBuffers(bufs, 8)
	if len(got) != 3 || cap(got[0]) != 100 || cap(got[1]) != 4 || cap(got[2]) != 3 {
		t.Errorf("kept %d buffers, want the first 3 (100, 4, 3)", len(got))
	}
	if bufs[3] != nil || bufs[5] != nil {
		t.Error("the buffers past the limit are still referenced")
	}
	if got := trimBuffers(bufs[:3], 7); len(got) != 3 {
		t.Errorf("within the limit: kept %d of 3", len(got))
	}
}
