package main

import (
	"strings"
	"testing"
)

// Values far longer than a line, in arguments and in manifests: each error
// is one line that quotes them cut, not whole.
func TestLongValuesCutInErrors(t *testing.T) {
	f := newFixture(t)
	dir, layers := newReportFixture(t)
	long := strings.Repeat("x", 100<<10) // under the kernel's 128 KiB limit on one argument
	huge := strings.Repeat("y", 1<<20)
	l0 := layers[0]
	manifest := func(name, old, new string) string {
		return writeBytes(t, dir, name, []byte(`{"layers": [`+strings.Replace(l0.json(), old, new, 1)+"]}"))
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"weight path", []string{"eval", "--weight", dir + "/" + long, "--scores", f.s, "--ratio", "0.5", f.x0}},
		{"batch key", f.args("0.5", f.x0+"#"+long)},
		{"bias path", append(f.args("0.5", f.x0), "--bias", long)},
		{"manifest weight", []string{"report", manifest("weight.json", "l0/W.npy", huge)}},
		{"manifest field", []string{"report", manifest("field.json", `"weight"`, `"`+huge+`"`)}},
		{"manifest method", []string{"report", manifest("method.json", `"ratios"`, `"method": "`+huge+`", "ratios"`)}},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 1 || !errLine.MatchString(stderr) || len(stderr) > 1000 || !strings.Contains(stderr, "bytes)") {
			t.Errorf("%s: exit %d, %d bytes of stderr: %.300q…; want one line quoting the value cut", tc.name, code, len(stderr), stderr)
		}
	}
}
