package chanprune_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/tensorfile"
)

// An MLP block y = down(ReLU(up(x))) of width 4 and 6 hidden channels,
// with half of the down projection's input channels pruned and the same
// rows of the up projection removed (coupled pruning), each projection
// written to a pruned-layer file and served from it with LoadLayer. The
// weights are multiples of 1/4, so every sum is exact and the output is
// the same on every kernel.
func ExampleLoadLayer_mlpBlock() {
	up := chanprune.Linear{In: 4, Out: 6, Bias: []float32{0, 0.5, -0.5, 0, 0.25, 0}, Weight: []float32{
		1, 0, -1, 0.5,
		0.25, 0.5, 0, 0,
		0, 1, 1, -0.25,
		-1, 0, 0.5, 1,
		0.5, -0.5, 0.25, 0,
		0, 0.25, 0, 0.75,
	}}
	down := chanprune.Linear{In: 6, Out: 4, Bias: []float32{0.5, 0, 0, -0.5}, Weight: []float32{
		1, 0, 0.5, 0, 0.25, 0,
		0, -1, 0, 0.5, 0, 1,
		0.25, 0, 1, 0, -0.5, 0,
		0, 0.5, 0, -1, 0, 0.25,
	}}
	scores := []float32{0.9, 0.1, 0.8, 0.7, 0.3, 0.2} // of the hidden channels

	dir, err := os.MkdirTemp("", "block")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	pruned, err := chanprune.CompactByScores(down, scores, 0.5)
	if err != nil {
		fmt.Println(err)
		return
	}
	keep := pruned.Kept()
	// The down projection keeps its columns keep; the up projection keeps
	// the rows keep (the hidden channels left) and all of its inputs.
	upRows := chanprune.Linear{In: up.In, Out: len(keep)}
	for _, c := range keep {
		upRows.Weight = append(upRows.Weight, up.Weight[c*up.In:(c+1)*up.In]...)
		upRows.Bias = append(upRows.Bias, up.Bias[c])
	}
	upPath, downPath := filepath.Join(dir, "up.safetensors"), filepath.Join(dir, "down.safetensors")
	if err := writeLayer(upPath, upRows.Weight, upRows.Bias, upRows.Out, []int{0, 1, 2, 3}, up.In); err != nil {
		fmt.Println(err)
		return
	}
	if err := writeLayer(downPath, pruned.Weight(), pruned.Bias(), down.Out, keep, down.In); err != nil {
		fmt.Println(err)
		return
	}

	// The service: load both, then up, ReLU, down on 2 tokens.
	upLayer, err := chanprune.LoadLayer(upPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	downLayer, err := chanprune.LoadLayer(downPath)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{
		1, 2, 3, 4,
		-1, 0.5, 0, 2,
	}
	h := make([]float32, 2*len(keep))
	y := make([]float32, 2*down.Out)
	if err := upLayer.Forward(h, x); err != nil {
		fmt.Println(err)
		return
	}
	relu(h)
	if err := downLayer.ForwardCompact(y, h); err != nil { // h holds the kept hidden channels alone
		fmt.Println(err)
		return
	}

	// The same block unpruned, and the pruned down projection on its
	// full hidden rows (what Evaluate measures as the pruned output).
	hFull, yDense, yPruned := make([]float32, 2*up.Out), make([]float32, 2*down.Out), make([]float32, 2*down.Out)
	denseUp, _ := chanprune.NewLayer(up)
	denseDown, _ := chanprune.NewLayer(down)
	if err := denseUp.Forward(hFull, x); err != nil {
		fmt.Println(err)
		return
	}
	relu(hFull)
	if err := denseDown.Forward(yDense, hFull); err != nil {
		fmt.Println(err)
		return
	}
	if err := pruned.Forward(yPruned, hFull); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kept hidden channels", keep)
	fmt.Println("served block", y)
	fmt.Println("dense block ", yDense)
	fmt.Println("served block is the pruned output:", slices.Equal(y, yPruned))
	// Output:
	// kept hidden channels [0 2 3]
	// served block [2.25 2.25 3.5 -5 0.5 1.5 0 -3.5]
	// dense block  [2.375 4 3.25 -3.25 0.5 2.625 0 -2.84375]
	// served block is the pruned output: true
}

// writeLayer writes a pruned-layer file as prune --out does: weight
// [out, len(keep)], bias [out] (if any), keep and in_features.
func writeLayer(path string, weight, bias []float32, out int, keep []int, in int) error {
	k := make([]int64, len(keep))
	for i, c := range keep {
		k[i] = int64(c)
	}
	tensors := []tensorfile.Tensor{
		{Name: "weight", Shape: []int{out, len(keep)}, Dtype: tensorfile.Float32, Floats: weight},
		{Name: "keep", Shape: []int{len(keep)}, Dtype: tensorfile.Int64, Ints: k},
	}
	if bias != nil {
		tensors = append(tensors, tensorfile.Tensor{Name: "bias", Shape: []int{out}, Dtype: tensorfile.Float32, Floats: bias})
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := tensorfile.WriteSafetensors(f, tensors, map[string]string{chanprune.LayerInFeatures: strconv.Itoa(in)}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// relu sets the negative values of h to zero.
func relu(h []float32) {
	for i, v := range h {
		h[i] = max(v, 0)
	}
}
