package main

import (
	"go/token"
	"go/types"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
)

// The kernels' Go signatures name the package's own type sums (kernel.go),
// so that the stubs are exactly evalFunc and gemmFunc. Without Package(),
// avo resolves signature expressions in the universe scope only; instead of
// loading the library (which would make this module depend on it), the
// signatures are parsed in a stand-in package that declares just sums as
// kernel.go does: an alias of [4]float64 holding Σd², Σy·y', Σy², Σy'² in
// that order. A stub that names the package's own types prints them
// unqualified.

// libPath is the import path of the package the stubs belong to.
const libPath = "github.com/chanprune/chanprune"

// lib is the stand-in for package chanprune.
var lib = func() *types.Package {
	pkg := types.NewPackage(libPath, "chanprune")
	obj := types.NewTypeName(token.NoPos, pkg, "sums", nil)
	types.NewAlias(obj, types.NewArray(types.Typ[types.Float64], 4))
	pkg.Scope().Insert(obj)
	pkg.MarkComplete()
	return pkg
}()

// Signatures of the kernel kinds (see evalFunc, gemmFunc, gemmAccFunc,
// lowerSplitFunc and the others in kernel.go).
const (
	evalSig    = "func(a, w []float32, idx []int32, nk int, bias []float32, m int, s *sums, pf []float32, pfStep int)"
	gemmSig    = "func(a, w []float32, k int, bias, c []float32, ldc, m, n int)"
	gemmAccSig = "func(a, w []float32, k int, c []float32, ldc, m, n int)"
	peakSig    = "func(n int)"
	gemv32Sig  = "func(x []float32, ldx int, w []float32, depth int, bias, c []float32, ldc, n int)"
	gemv16Sig  = "func(x []float32, ldx int, w []uint16, depth int, bias, c []float32, ldc, n int)"
	widen16Sig = "func(dst []float32, src []uint16)"

	lowerSplitSig     = "func(h, g []float32, rank []int32, below int32, col []float64) float64"
	lowerSplitSetsSig = "func(h, g []float32, ranks []int32, below []int32, cols []float64, stride int, sums []float64)"
	readSumSig        = "func(x []float32) float32"
	contractSig       = "func(h, g []float32, mask, hd, gd []float64, fg, fh float64, s *sums)"
	contractSplitSig  = "func(h, g []float32, hd, gd []float64, fg, fh float64, colV, colW []float64, s *sums)"
	sweepSplitSig     = "func(h, g []float32, hd, gd []float64, f []float64, colV, colW []float64, s []sums, ranks []int32, below []int32, cols []float64, stride int, sums []float64, ldh, ldg, lead, shift int)"
	dot4Sig           = "func(a, b0, b1, b2, b3 []float64, s *[4]float64)"
	axpy4Sig          = "func(x []float64, s *[4]float64, y0, y1, y2, y3 []float64)"
	widenAddSig       = "func(dst []float64, src []float32)"
	packGramSig       = "func(a, w, x []float32, rows int)"
	columnSumsSig     = "func(panel []float32, s, q []float64)"
	moveAddSig        = "func(dst, src []float64)"
	packRowsSig       = "func(dst, x []float32, in, mr int, perm []int32, rows int)"
)

// signature parses expr in the stand-in package; it panics on a malformed
// expression, which is a bug in this program.
func signature(expr string) *gotypes.Signature {
	s, err := gotypes.ParseSignatureInPackage(lib, expr)
	if err != nil {
		panic(err)
	}
	return s
}

// leafFunction starts a NOSPLIT, noescape assembly function name of
// signature sig with the doc comment doc, one line each.
func leafFunction(c *build.Context, name, sig string, doc ...string) {
	c.Function(name)
	c.Attributes(attr.NOSPLIT)
	c.Signature(signature(sig))
	c.Pragma("noescape")
	c.Doc(doc...)
}
