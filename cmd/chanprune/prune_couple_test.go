package main

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// mlpBlock is a Llama-style MLP block: down(silu(gate(x)) · up(x)).
type mlpBlock struct{ up, gate, down chanprune.Linear }

// hidden returns the block's intermediate activations for x.
func (m mlpBlock) hidden(t *testing.T, x []float32) []float32 {
	u, g := forward(t, m.up, x), forward(t, m.gate, x)
	for i, v := range g {
		u[i] *= float32(float64(v) / (1 + math.Exp(-float64(v))))
	}
	return u
}

// forward runs the dense layer l on x.
func forward(t *testing.T, l chanprune.Linear, x []float32) []float32 {
	t.Helper()
	layer, err := chanprune.NewLayer(l)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(x)/l.In*l.Out)
	if err := layer.Forward(y, x); err != nil {
		t.Fatal(err)
	}
	return y
}

// linearIn reads the layer NAME.weight, NAME.bias of a block file.
func linearIn(t *testing.T, f *tensorfile.File, name string) chanprune.Linear {
	t.Helper()
	w, err := f.Read(name + ".weight")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Read(name + ".bias")
	if err != nil {
		t.Fatal(err)
	}
	return chanprune.Linear{In: w.Shape[1], Out: w.Shape[0], Weight: w.Data, Bias: b.Data}
}

// TestPruneCoupledBlock prunes the down projection of an MLP block with
// its up and gate projections coupled, replaces the block by the file's,
// and runs both: the new block's output is the pruned output that Evaluate
// measures, and its distance from the old one is Evaluate's RMSE.
func TestPruneCoupledBlock(t *testing.T) {
	f := newFixture(t) // down: W [5, 6], b [5], scores [6] (keep 2, 4, 5 at ratio 0.5)
	wave := func(n int, k float64) []float32 {
		return fill(n, func(i int) float32 { return float32(math.Sin(k * float64(i+1))) })
	}
	w, _ := tensorfile.Read(tensorfile.Ref{Path: f.w})
	b, _ := tensorfile.Read(tensorfile.Ref{Path: f.b})
	before := mlpBlock{
		up:   chanprune.Linear{In: 4, Out: 6, Weight: wave(24, 0.7), Bias: wave(6, 1.3)},
		gate: chanprune.Linear{In: 4, Out: 6, Weight: wave(24, 1.9), Bias: wave(6, 2.3)},
		down: chanprune.Linear{In: 6, Out: 5, Weight: w.Data, Bias: b.Data},
	}
	up := writeNpy(t, f.dir, "up.npy", []int{6, 4}, before.up.Weight)
	gate := writeNpy(t, f.dir, "gate.npy", []int{6, 4}, before.gate.Weight)
	ub := writeNpy(t, f.dir, "ub.npy", []int{6}, before.up.Bias)
	gb := writeNpy(t, f.dir, "gb.npy", []int{6}, before.gate.Bias)
	out := filepath.Join(f.dir, "block.safetensors")
	code, stdout, stderr := runCLI(t, "prune", "--weight", f.w, "--bias", f.b, "--scores", f.s, "--ratio", "0.5",
		"--couple", up+","+gate, "--couple-bias", ub+","+gb, "--out", out)
	want := "kept 3 of 6 input channels (pruned 3 at ratio 0.5): " + out + " (down.weight [5, 3] float32, down.bias [5] float32, " +
		"up.weight [3, 4] float32, up.bias [3] float32, gate.weight [3, 4] float32, gate.bias [3] float32, keep [3] int64)\n"
	if code != 0 || stdout != want {
		t.Fatalf("exit %d: %s\ngot  %q\nwant %q", code, stderr, stdout, want)
	}
	file := openOut(t, out, []string{"down.bias", "down.weight", "gate.bias", "gate.weight", "keep", "up.bias", "up.weight"}, 6)
	readKeepOut(t, file, []int{2, 4, 5})
	after := mlpBlock{up: linearIn(t, file, "up"), gate: linearIn(t, file, "gate"), down: linearIn(t, file, "down")}

	x := fill(3*4, func(i int) float32 { return float32(i%5) - 1.5 }) // 3 tokens
	h := before.hidden(t, x)
	y := forward(t, before.down, h)
	yAfter := forward(t, after.down, after.hidden(t, x))

	scores, _ := tensorfile.Read(tensorfile.Ref{Path: f.s})
	pruned, err := chanprune.CompactByScores(before.down, scores.Data, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	yPruned := make([]float32, len(y))
	if err := pruned.Forward(yPruned, h); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(yAfter, yPruned) {
		t.Fatalf("the pruned block gives %v, the evaluated pruned layer %v", yAfter, yPruned)
	}
	m, err := chanprune.Evaluate(before.down, [][]float32{h}, scores.Data, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for i := range y {
		d := float64(yAfter[i]) - float64(y[i])
		sum += d * d
	}
	if rmse := math.Sqrt(sum / float64(len(y))); !within(rmse-m.RMSE, 1e-5*m.RMSE) || rmse == 0 {
		t.Errorf("the block's output moved by rmse %v, Evaluate says %v", rmse, m.RMSE)
	}
}
