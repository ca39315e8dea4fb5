package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/tensorfile"
)

// Every file a command writes goes through one atomicfile.Set: its outputs
// are declared before any work, checked against each other and against
// every file the command reads (inputs.refuse), staged, and renamed
// together once all are written.

// addOutput declares path, the value of flag, in outs; an empty path is
// no output and gives nil.
func addOutput(outs *atomicfile.Set, flag, path string) (*atomicfile.Output, error) {
	if path == "" {
		return nil, nil
	}
	return outs.Add(flag, path)
}

// tensorExts are the name extensions of the tensor formats the tool reads
// and writes.
var tensorExts = []string{".npy", ".npz", ".safetensors"}

// addTensorOutput is addOutput for a tensor file written as ext (".npy" or
// ".safetensors"), refusing a name with another tensor format's extension:
// numpy and safetensors go by the name, and would refuse the file. Other
// names (none, /dev/stdout) are taken as given.
func addTensorOutput(outs *atomicfile.Set, flag, path, ext string) (*atomicfile.Output, error) {
	if have := strings.ToLower(filepath.Ext(path)); have != ext && slices.Contains(tensorExts, have) {
		return nil, fmt.Errorf("%s %s: writes a %s file, not %s: give it a %s name", flag, clip.Value(path), ext, have, ext)
	}
	return addOutput(outs, flag, path)
}

// inputs are the tensor references a command reads, each with the flag
// that names it in messages.
type inputs []struct{ flag, ref string }

// add lists refs (empty ones skipped), read as flag.
func (in *inputs) add(flag string, refs ...string) {
	for _, r := range refs {
		if r != "" {
			*in = append(*in, struct{ flag, ref string }{flag, r})
		}
	}
}

// refuse refuses an output of outs that is the file of one of the inputs.
func (in inputs) refuse(outs *atomicfile.Set) error {
	for _, r := range in {
		if err := outs.Input(r.flag, tensorfile.ParseRef(r.ref).Path); err != nil {
			return err
		}
	}
	return nil
}
