package main

import (
	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/tensorfile"
)

// Every file a command writes goes through one atomicfile.Set: its outputs
// are declared before any work, checked against each other and against
// every file the command reads (refuseInputs), staged, and renamed
// together once all are written.

// addOutput declares path, the value of flag, in outs; an empty path is
// no output and gives nil.
func addOutput(outs *atomicfile.Set, flag, path string) (*atomicfile.Output, error) {
	if path == "" {
		return nil, nil
	}
	return outs.Add(flag, path)
}

// refuseInputs refuses an output of outs that is the file of one of the
// tensor references refs (empty ones skipped), read as flag.
func refuseInputs(outs *atomicfile.Set, flag string, refs ...string) error {
	for _, r := range refs {
		if r == "" {
			continue
		}
		if err := outs.Input(flag, tensorfile.ParseRef(r).Path); err != nil {
			return err
		}
	}
	return nil
}
