package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// --stacked arrays whose leading dimensions sum past math.MaxInt (tiny
// files of empty batches): refused with one line, where the wrapped count
// gave metrics over a subset or "no batches observed".
func TestStackedBatchCountOverflowCLI(t *testing.T) {
	f := newFixture(t)
	huge := writeBytes(t, f.dir, "huge.npy", rawNpy(fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 0), }", math.MaxInt/8), nil))
	batches := []string{f.x0}
	for range 9 {
		batches = append(batches, huge)
	}
	args := append([]string{"eval", "--stacked", "--weight", f.w, "--scores", f.s, "--ratio", "0.5"}, batches...)
	code, stdout, stderr := runCLI(t, args...)
	if code != 1 || !errLine.MatchString(stderr) || !strings.Contains(stderr, "overflow the batch count") || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit 1 and one line on the batch count", code, stderr, stdout)
	}
}
