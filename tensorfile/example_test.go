package tensorfile_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/chanprune/chanprune/tensorfile"
)

// Read one tensor of a container by its FILE#KEY reference, and list the
// others.
func Example() {
	const file = "../testdata/tensors/layer.safetensors"
	keys, err := tensorfile.Keys(file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("keys:", keys)

	w, err := tensorfile.Read(tensorfile.ParseRef(file + "#weight"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("weight:", w.Shape, w.Data[:6])

	_, err = tensorfile.Read(tensorfile.Ref{Path: file, Key: "ids"})
	fmt.Println("ids is int64:", errors.Is(err, tensorfile.ErrDtype))
	// Output:
	// keys: [acts bias ids scores weight]
	// weight: [5 6] [-3 -2 -1 0 1 2]
	// ids is int64: true
}

// Read activation batches one at a time into one buffer, so memory holds
// a single batch however many there are.
func ExampleOpenBatches() {
	b, err := tensorfile.OpenBatches([]string{"../testdata/tensors/acts.npz"}, false)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	var buf []float32
	for i := range b.Len() {
		x, err := b.Read(i, buf)
		if err != nil {
			log.Fatal(err)
		}
		buf = x.Data
		fmt.Println(b.Name(i), x.Shape)
	}
	// Output:
	// ../testdata/tensors/acts.npz#batch_1 [2 3 6]
	// ../testdata/tensors/acts.npz#batch_2 [4 6]
	// ../testdata/tensors/acts.npz#batch_10 [4 6]
}
