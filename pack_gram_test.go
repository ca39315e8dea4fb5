package chanprune

import (
	"math"
	"testing"
)

// packGuard is how many entries past each panel buffer checkPackGram
// watches for a write that packGramFunc must not make.
const packGuard = 40

// checkPackGram packs row t of a block of rows rows (in channels, bits
// from next) with kern.packGram into panel buffers filled with a sentinel
// and holds both buffers, guards included, to packGramFunc's definition
// bit for bit: every whole panel's row t is the row's channels, every
// other entry the sentinel, and x is left as it was.
func checkPackGram(t *testing.T, kern *kernel, in, rows, row int, next func() uint32) {
	t.Helper()
	x := make([]float32, in)
	for i := range x {
		x[i] = math.Float32frombits(next()) // NaN payloads included: a copy keeps them
	}
	xWas := append([]float32(nil), x...)
	const sentinel = 0x7fc0dead
	mr, nr := kern.mr, kern.nr
	bufA := make([]float32, rows*panels(in, mr)*mr+packGuard)
	bufW := make([]float32, rows*panels(in, nr)*nr+packGuard)
	for _, b := range [][]float32{bufA, bufW} {
		for i := range b {
			b[i] = math.Float32frombits(sentinel)
		}
	}
	kern.packGram(bufA[row*mr:len(bufA)-packGuard], bufW[row*nr:len(bufW)-packGuard], x, rows)
	for _, l := range []struct {
		name  string
		buf   []float32
		width int
	}{{"a", bufA, mr}, {"w", bufW, nr}} {
		for i, v := range l.buf {
			want := uint32(sentinel)
			if p, c := i/(rows*l.width), i%(rows*l.width); p < in/l.width && c/l.width == row {
				want = math.Float32bits(x[p*l.width+c%l.width])
			}
			if got := math.Float32bits(v); got != want {
				t.Fatalf("in %d, rows %d, row %d: %s[%d] = %#08x, want %#08x", in, rows, row, l.name, i, got, want)
			}
		}
	}
	if !sameBits(x, xWas) {
		t.Fatalf("in %d: packGram changed x", in)
	}
}

// TestPackGramKernels: every kernel's packGram writes exactly the whole
// panels' rows, for widths around each panel width and the rows and row
// positions of a block, first, middle and last.
func TestPackGramKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(211)
		for in := 1; in < 3*kern.nr+2; in++ {
			for _, rows := range []int{1, 2, 7, gramRows} {
				for _, row := range []int{0, rows / 2, rows - 1} {
					checkPackGram(t, kern, in, rows, row, r.Uint32)
				}
			}
		}
		checkPackGram(t, kern, 1024, gramRows, 101, r.Uint32)
	})
}

// FuzzPackGram holds every kernel's packGram to packGramFunc's definition
// on widths, block rows and row positions decoded from the input.
func FuzzPackGram(f *testing.F) {
	for _, sh := range [][3]uint16{{1, 1, 0}, {6, 1, 0}, {14, 3, 2}, {31, 5, 4}, {100, 9, 3}, {1024, 2, 1}} {
		f.Add(sh[0], sh[1], sh[2], []byte{0x3f, 0x80, 0, 1, 0xff, 0xc0, 0x12, 0x34})
	}
	f.Fuzz(func(t *testing.T, in, rows, row uint16, data []byte) {
		forEachKernel(t, func(t *testing.T, kern *kernel) {
			bits := &fuzzFloats{data: data}
			n, blk := 1+int(in)%1100, 1+int(rows)%gramRows
			checkPackGram(t, kern, n, blk, int(row)%blk, func() uint32 { return uint32(bits.bits(4)) })
		})
	})
}

// BenchmarkPackGram packs one seed-sized batch (128 tokens of 1024
// channels) into a gramBuilder's two panel layouts on one core, as fuse
// does before the gemm; SetBytes counts the batch once.
func BenchmarkPackGram(b *testing.B) {
	ForEachKernelB(b, "128x1024", func(b *testing.B, k KernelInfo) {
		const in, rows = 1024, 128
		x := make([]float32, in*rows)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		gb := newGramBuilder(k.kernel, in)
		gb.scratch(rows, 1)
		gb.call.x = x
		b.SetBytes(int64(4 * len(x)))
		for b.Loop() {
			gb.pack.do(panels(rows, packSpan), 1, (*gramBuilder).packRows, gb)
		}
	})
}
