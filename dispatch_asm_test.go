//go:build (amd64 || arm64) && !purego && !noasm && gc

package chanprune

import "testing"

// Dispatch must know how to check every extension the kernel table names;
// one it cannot check would leave that kernel unused on every CPU.
func TestKernelTableFeatures(t *testing.T) {
	for _, s := range kernelTable {
		if len(s.requires) == 0 {
			t.Errorf("%s: the table names no extensions", s.kernel.name)
		}
		for _, r := range s.requires {
			if _, ok := isaFeatures[r]; !ok {
				t.Errorf("%s requires %s, which dispatch has no cpuid feature for", s.kernel.name, r)
			}
		}
	}
}
