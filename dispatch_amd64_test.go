//go:build !purego && !noasm && gc

package chanprune

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// Dispatch must check exactly the features avo lists for every function of
// a kernel family, no fewer (SIGILL) and no more (a kernel left unused).
func TestDispatchMatchesRequires(t *testing.T) {
	src, err := os.ReadFile("kernel_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?m)^TEXT ·(\w+)\(SB\)`)
	requires := regexp.MustCompile(`(?m)^// Requires: (.*)$`)
	funcs := text.FindAllStringSubmatchIndex(string(src), -1)
	for i, f := range funcs {
		name := string(src[f[2]:f[3]])
		// avo writes the Requires line just above the TEXT line.
		start := 0
		if i > 0 {
			start = funcs[i-1][1]
		}
		var want []string
		if m := requires.FindAllStringSubmatch(string(src[start:f[0]]), -1); len(m) > 0 {
			want = strings.Split(m[len(m)-1][1], ", ")
		}
		family := "avx2"
		if strings.Contains(name, "AVX512") {
			family = "avx512"
		}
		var got []string
		for _, id := range amd64Requires[family] {
			got = append(got, avoName(id))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: dispatch checks %v, the kernel requires %v", name, got, want)
		}
	}
	if len(funcs) == 0 {
		t.Fatal("no TEXT lines in kernel_amd64.s")
	}
}

// avoName spells a cpuid feature as avo's Requires lines do.
func avoName(id cpuid.FeatureID) string {
	if id == cpuid.FMA3 {
		return "FMA3"
	}
	return id.String()
}
