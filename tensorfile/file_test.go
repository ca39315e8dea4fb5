package tensorfile

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestFile(t *testing.T) {
	f, err := Open("../testdata/tensors/layer.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m := f.Metadata(); len(m) != 1 || m["format"] != "pt" {
		t.Errorf("metadata %v, want format: pt", m)
	}
	for key, want := range map[string]Dtype{"weight": Float32, "bias": BFloat16, "scores": Float16} {
		if a, err := f.Read(key); err != nil || a.Dtype != want {
			t.Errorf("%s: %v, dtype %v, want %v", key, err, a.Dtype, want)
		}
	}
	if shape, ids, err := f.ReadInt64("ids"); err != nil || !slices.Equal(shape, []int{3}) || len(ids) != 3 {
		t.Errorf("ids: %v %v %v", shape, ids, err)
	}
	if _, _, err := f.ReadInt64("nope"); !errors.Is(err, ErrKey) {
		t.Errorf("missing key: %v, want ErrKey", err)
	}

	n, err := Open("../testdata/tensors/stacked.npy")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.Metadata() != nil || n.Keys() != nil {
		t.Errorf("a .npy file has metadata %v, keys %v", n.Metadata(), n.Keys())
	}
	if a, err := n.Read(""); err != nil || a.Dtype == unsupported {
		t.Errorf("npy: %v, dtype %v", err, a.Dtype)
	}
}

// TestMetadataNotStrings reads a header whose metadata is not string to
// string: its tensors are read, the metadata is dropped.
func TestMetadataNotStrings(t *testing.T) {
	b := safetensorsBytes(`{"__metadata__":{"n":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4))
	r, err := openAt(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &File{r}
	if m := f.Metadata(); m != nil {
		t.Errorf("metadata %v, want none", m)
	}
	if a, err := f.Read("a"); err != nil || len(a.Data) != 1 {
		t.Errorf("a: %v", err)
	}
}
