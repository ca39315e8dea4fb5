//go:build !purego && !noasm && gc

package chanprune

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every function of kernel_amd64.s belongs to one family of the kernel
// table and requires only extensions its family is dispatched on (else
// SIGILL), or is scalar code the families share; the family requires no
// extension none of its functions needs (else a kernel left unused on CPUs
// that could run it).
func TestDispatchMatchesRequires(t *testing.T) {
	src, err := os.ReadFile("kernel_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?m)^TEXT ·(\w+)\(SB\)`)
	requiresLine := regexp.MustCompile(`(?m)^// Requires: (.*)$`)
	funcs := text.FindAllStringSubmatchIndex(string(src), -1)
	if len(funcs) == 0 {
		t.Fatal("no TEXT lines in kernel_amd64.s")
	}
	used := map[string][]string{} // family → its functions' extensions
	for i, f := range funcs {
		name := string(src[f[2]:f[3]])
		// avo writes the Requires line just above the TEXT line.
		start := 0
		if i > 0 {
			start = funcs[i-1][1]
		}
		var requires []string
		if m := requiresLine.FindAllStringSubmatch(string(src[start:f[0]]), -1); len(m) > 0 {
			requires = strings.Split(m[len(m)-1][1], ", ")
		}
		spec, ok := familyOf(name)
		if !ok && len(requires) > 0 {
			t.Errorf("%s requires %v, and no kernel family of the table names it", name, requires)
			continue
		}
		if !ok { // scalar, shared by the families (packRows)
			continue
		}
		for _, r := range requires {
			if !slices.Contains(spec.requires, r) {
				t.Errorf("%s requires %s; its family %s is dispatched on %v", name, r, spec.kernel.name, spec.requires)
			}
		}
		used[spec.kernel.name] = append(used[spec.kernel.name], requires...)
	}
	for _, s := range kernelTable {
		for _, r := range s.requires {
			if !slices.Contains(used[s.kernel.name], r) {
				t.Errorf("family %s is dispatched on %s, which none of its functions requires", s.kernel.name, r)
			}
		}
	}
}

// familyOf returns the row of the kernel table whose name, in capitals,
// the function's name holds (evalAVX2_6x16 is avx2's); it must be one row.
func familyOf(fn string) (kernelSpec, bool) {
	var found []kernelSpec
	for _, s := range kernelTable {
		if strings.Contains(fn, strings.ToUpper(s.kernel.name)) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return kernelSpec{}, false
	}
	return found[0], true
}
