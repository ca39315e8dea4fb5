package chanprune

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The solves' kernels, dot4 and axpy4 (kernel.go), are held to the generic
// arithmetic, dot64 and axpy64, bit for bit: every kernel must add in the
// same order with the same roundings, so a lstsq repair does not depend on
// the CPU.

// solveLengths are the vector lengths the tests take: every length up to
// five blocks of 8, and long ones with and without a partial block.
var solveLengths = func() []int {
	var n []int
	for i := range 41 {
		n = append(n, i)
	}
	return append(n, 1000, 1023, 1031)
}()

// solvePad is the NaN-filled room around each vector of a test case: a
// kernel that reads past the end of a vector it sums gets a NaN, one that
// writes past a vector it updates changes a NaN's bits.
const solvePad = 5

// padSentinel is the NaN around the vectors, with a payload of its own.
var padSentinel = math.Float64frombits(0x7ff8_dead_beef_0001)

// padded returns vals copied into a buffer with solvePad sentinels on
// either side, and the vector within it. The vector starts at an odd
// entry, so it is not 16-byte aligned when the buffer is.
func padded(vals []float64, extra int) (buf, v []float64) {
	buf = make([]float64, solvePad+len(vals)+extra+solvePad)
	for i := range buf {
		buf[i] = padSentinel
	}
	copy(buf[solvePad:], vals)
	return buf, buf[solvePad : solvePad+len(vals)]
}

// mixedValues returns n values of both signs over 41 binades.
func mixedValues(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*r.Float64() - 1) * math.Ldexp(1, r.IntN(41)-20)
	}
	return v
}

// cancelling sets b so that each odd term a[i]·b[i] nearly cancels the
// term before it, with a relative difference of about 2⁻⁴⁰: a dot product
// of a and b is then mostly rounding error, whose bits depend on the order
// the terms are added in.
func cancelling(r *rand.Rand, a, b []float64) {
	for i := 1; i < len(a); i += 2 {
		if a[i] != 0 {
			b[i] = -a[i-1] * b[i-1] / a[i] * (1 + (2*r.Float64()-1)*0x1p-40)
		}
	}
}

// solveCase is a case for dot4 and axpy4: a (or x) of n entries, and four
// vectors b_k (or y_k) three entries longer, in their padded buffers; b_3
// nearly cancels against a.
type solveCase struct {
	aBuf, a []float64
	bBuf, b [4][]float64
}

func newSolveCase(n int, next func(n int) []float64) *solveCase {
	c := new(solveCase)
	av := next(n)
	var bv [4][]float64
	for k := range bv {
		bv[k] = next(n + 3)
	}
	cancelling(rand.New(rand.NewPCG(uint64(n), 7)), av, bv[3])
	c.aBuf, c.a = padded(av, 0)
	for k := range bv {
		c.bBuf[k], c.b[k] = padded(bv[k], 0)
	}
	return c
}

// sameBits64 reports whether x and y hold the same float64 bits.
func sameBits64(x, y []float64) bool {
	return slices.EqualFunc(x, y, func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) })
}

// clones returns copies of the four buffers.
func clones(bufs [4][]float64) (c [4][]float64) {
	for k := range bufs {
		c[k] = append([]float64(nil), bufs[k]...)
	}
	return c
}

// checkDot4 runs kern's dot4 on c and holds each sum to dot64 bit for bit,
// and a and the b_k to what they were.
func checkDot4(t *testing.T, kern *kernel, c *solveCase) {
	t.Helper()
	aWas, bWas := append([]float64(nil), c.aBuf...), clones(c.bBuf)
	s := [4]float64{padSentinel, padSentinel, padSentinel, padSentinel}
	kern.dot4(c.a, c.b[0], c.b[1], c.b[2], c.b[3], &s)
	for k := range s {
		if want := dot64(c.a, c.b[k]); math.Float64bits(s[k]) != math.Float64bits(want) {
			t.Fatalf("n = %d: s[%d] = %v (%#016x), dot64 gives %v (%#016x)",
				len(c.a), k, s[k], math.Float64bits(s[k]), want, math.Float64bits(want))
		}
	}
	if !sameBits64(c.aBuf, aWas) {
		t.Fatalf("n = %d: dot4 changed a or the memory around it", len(c.a))
	}
	for k := range bWas {
		if !sameBits64(c.bBuf[k], bWas[k]) {
			t.Fatalf("n = %d: dot4 changed b%d or the memory around it", len(c.a), k)
		}
	}
}

// checkAxpy4 runs kern's axpy4 with x = a, y_k = b_k and s on c and holds
// each y_k's whole buffer to axpy64's result bit for bit: the entries past
// len(x) and around the vectors stay as they were, as do x and s.
func checkAxpy4(t *testing.T, kern *kernel, c *solveCase, s [4]float64) {
	t.Helper()
	xWas, want := append([]float64(nil), c.aBuf...), clones(c.bBuf)
	for k := range want {
		axpy64(s[k], c.a, want[k][solvePad:])
	}
	sWas := s
	kern.axpy4(c.a, &s, c.b[0], c.b[1], c.b[2], c.b[3])
	for k := range want {
		if !sameBits64(c.bBuf[k], want[k]) {
			for i := range want[k] {
				if g, w := c.bBuf[k][i], want[k][i]; math.Float64bits(g) != math.Float64bits(w) {
					t.Fatalf("n = %d: y%d buffer entry %d (entry %d of y%d) = %v, axpy64 gives %v",
						len(c.a), k, i, i-solvePad, k, g, w)
				}
			}
		}
	}
	if !sameBits64(c.aBuf, xWas) || s != sWas {
		t.Fatalf("n = %d: axpy4 changed x, s or the memory around x", len(c.a))
	}
}

func TestDot4Kernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(157)
		for _, n := range solveLengths {
			checkDot4(t, kern, newSolveCase(n, func(n int) []float64 { return mixedValues(r, n) }))
		}
	})
}

func TestAxpy4Kernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(158)
		for _, n := range solveLengths {
			c := newSolveCase(n, func(n int) []float64 { return mixedValues(r, n) })
			s := [4]float64(mixedValues(r, 4))
			s[n%4] = 0
			checkAxpy4(t, kern, c, s)
		}
	})
}

// next64 turns the next eight bytes into a finite float64: sign and
// mantissa are the raw bits, the exponent is brought within 2^±16 so that
// sums cancel and round but never overflow, and an exponent byte of 0
// gives a zero.
func (f *fuzzFloats) next64() float64 {
	bits := f.bits(8)
	e := bits >> 52 & 0xff
	bits &^= 0x7ff << 52
	if e != 0 {
		bits |= uint64(1023+int(int8(e))%17) << 52
	}
	return math.Float64frombits(bits)
}

// vector64 returns the next n values of next64.
func (f *fuzzFloats) vector64(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = f.next64()
	}
	return v
}

// FuzzDot4 holds every kernel's dot4, and its axpy4 on the same vectors,
// to the generic arithmetic bit for bit, on lengths and values decoded
// from the input.
func FuzzDot4(f *testing.F) {
	for _, n := range []uint16{0, 1, 7, 8, 9, 16, 23, 100} {
		f.Add(n, []byte{0x3f, 0xf0, 0, 1, 0xbf, 0x7f, 0xff, 0xff, 0x80})
	}
	f.Fuzz(func(t *testing.T, n uint16, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			vals := &fuzzFloats{data: data}
			c := newSolveCase(int(n)%300, vals.vector64)
			checkDot4(t, kern, c)
			checkAxpy4(t, kern, c, [4]float64(vals.vector64(4)))
		})
	})
}
