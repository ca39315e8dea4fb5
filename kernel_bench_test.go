package chanprune

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkPeak measures the machine's FMA limit for each instruction set:
// independent register-only FMAs on every core, as MeasurePeak does. The
// benchmark's own goroutine is one of the GOMAXPROCS workers, each locked
// to an OS thread: it warms up for 50 ms while the others spin on the loop
// too, starts the timer and the others at once, and then every worker runs
// b.N calls of the loop (peakCall iterations) without pause. No goroutine
// starts inside the timed part; still, a call lasts microseconds, so a few
// of them (-benchtime=3x) measure a thread's wake-up: use 200x or more.
// Read the other benchmarks' GFLOP/s as a fraction of it.
func BenchmarkPeak(b *testing.B) {
	ForEachKernelB(b, "", func(b *testing.B, k KernelInfo) {
		if k.kernel.peak == nil {
			b.Skipf("kernel %s has no peak loop", k.Name)
		}
		call := func(int) { k.kernel.peak(peakCall) }
		procs := runtime.GOMAXPROCS(0)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		others := newTeam(procs-1, uint64(b.N), call)
		for warm := time.Now(); time.Since(warm) < 50*time.Millisecond; {
			call(0)
		}
		b.ResetTimer()
		others.start.Store(true)
		for range b.N {
			call(0)
		}
		others.done.Wait()
		b.StopTimer()
		flops := float64(k.kernel.peakFlops) * peakCall * float64(procs) * float64(b.N)
		b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkMatmul times the dense product C = x·Wᵀ + b ([m, k]·[k, n]) with
// the weight packed once, on all cores: the serving path's core. It
// executes the 2·m·k·n flops GFLOP/s counts, so it reports peak-fraction;
// with m < MemoryBoundRows it is bound by reading the packed weight
// (4·k·n bytes) and reports bw-fraction instead.
func BenchmarkMatmul(b *testing.B) {
	for _, sh := range [][3]int{{128, 1024, 4096}, {128, 4096, 1024}, {1, 1024, 4096}} {
		m, k, n := sh[0], sh[1], sh[2]
		r := newRand(14)
		l := randLayer(r, k, n, true)
		x := randBatches(r, k, m)[0]
		channels := make([]int32, k)
		for c := range channels {
			channels[c] = int32(c)
		}
		ForEachKernelB(b, fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B, kern KernelInfo) {
			p := newProduct(kern.kernel, l.Weight, l.Bias, channels, k, n)
			c := make([]float32, m*n)
			b.SetBytes(int64(4 * (m*k + m*n)))
			b.ReportAllocs()
			for b.Loop() {
				p.run(c, x, runtime.GOMAXPROCS(0))
			}
			flops := 2 * float64(m*k*n)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if m < MemoryBoundRows {
				ReportBandwidthFraction(b, 4*k*n)
			} else {
				ReportPeakFraction(b, kern.Name, flops)
			}
		})
	}
}

// splitBenchLen is the row length of the split kernels' benchmarks: a
// row of a 1024-channel layer's upper triangle, from its start.
const splitBenchLen = 1024

// BenchmarkLowerSplitKernel times one kernel's lowerSplit on a row of
// splitBenchLen entries on one core, half of them ranked below: bytes are
// those read and written (h, g, rank, col in and out: 28 an entry).
func BenchmarkLowerSplitKernel(b *testing.B) {
	const n = splitBenchLen
	ForEachKernelB(b, "", func(b *testing.B, k KernelInfo) {
		r := newRand(47)
		c := newLowerSplitCase(r, n, n/2, func() float32 { return float32(r.NormFloat64()) })
		b.SetBytes(28 * n)
		for b.Loop() {
			k.kernel.lowerSplit(c.h, c.g, c.rank, c.below, c.col)
		}
		reportGentries(b, n)
	})
}

// BenchmarkLowerSplitSetsKernel times one kernel's lowerSplitSets on
// splitBenchSets score sets of a row of splitBenchLen entries on one core
// (sets/…), and the same sets as one lowerSplit call each (each/…,
// kernel.lowerSplitEach): bytes as for BenchmarkLowerSplitKernel, each
// set's. The sets lie setStride(splitBenchLen) apart, as the sweep lays
// out a 1024-channel layer's.
func BenchmarkLowerSplitSetsKernel(b *testing.B) {
	const n, sets = splitBenchLen, splitBenchSets
	for _, way := range []string{"sets", "each"} {
		ForEachKernelB(b, way, func(b *testing.B, k KernelInfo) {
			r := newRand(47)
			c := benchSetsCase(r, func() float32 { return float32(r.NormFloat64()) })
			split := k.kernel.lowerSplitSets
			if way == "each" {
				split = k.kernel.lowerSplitEach
			}
			b.SetBytes(28 * n * sets)
			for b.Loop() {
				split(c.h, c.g, c.ranks, c.below, c.cols, c.stride, c.sums)
			}
			reportGentries(b, n*sets)
		})
	}
}

// splitBenchSets is the number of score sets of BenchmarkLowerSplitSetsKernel,
// as many as BenchmarkSweep's.
const splitBenchSets = 5

// benchSetsCase returns splitBenchSets score sets of a row of
// splitBenchLen entries, setStride(splitBenchLen) apart as the sweep lays
// out a 1024-channel layer's, set t's below at (t+1)/(sets+1) of the row.
func benchSetsCase(r *rand.Rand, gen func() float32) *lowerSplitSetsCase {
	const n, sets = splitBenchLen, splitBenchSets
	return newLowerSplitSetsCase(r, n, setStride(n)-n, sets, func(t int) int32 { return int32(n * (t + 1) / (sets + 1)) }, gen)
}

// reportGentries reports Gentries/s: entries an op, per second, in 10⁹.
func reportGentries(b *testing.B, entries int) {
	b.ReportMetric(float64(entries)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gentries/s")
}

// BenchmarkContractSplitKernel times one kernel's contractSplit on a row
// of splitBenchLen entries on one core: bytes are those read and written
// (h, g and the diagonals, colV and colW in and out: 48 an entry).
func BenchmarkContractSplitKernel(b *testing.B) {
	const n = splitBenchLen
	ForEachKernelB(b, "", func(b *testing.B, k KernelInfo) {
		r := newRand(53)
		h, g, hd, gd := splitRow(n, func() float32 { return float32(r.NormFloat64()) })
		colV, colW := make([]float64, n), make([]float64, n)
		b.SetBytes(48 * n)
		var s sums
		for b.Loop() {
			k.kernel.contractSplit(h, g, hd, gd, 0.75, 1.5, colV, colW, &s)
		}
		reportGentries(b, n)
	})
}

// BenchmarkSweepSplitKernel times one kernel's sweepSplit (fused/…) on a
// row of splitBenchLen entries and splitBenchSets score sets on one core,
// and the same as its contractSplitRow and lowerSplitSets, one call each
// (apart/…, kernel.sweepSplitEach): bytes are those of
// BenchmarkContractSplitKernel and of BenchmarkLowerSplitSetsKernel
// together; Gentries/s counts the row's entries. The sets lie
// setStride(splitBenchLen) apart, as the sweep lays out a 1024-channel
// layer's. The sweep's segments are at most a strip (256 columns) long,
// their column sums in L1 where this row's are in L2, so that column
// traffic costs more here than there (BENCHMARKS.md, the sweep's profile).
func BenchmarkSweepSplitKernel(b *testing.B) {
	const n, sets = splitBenchLen, splitBenchSets
	for _, way := range []string{"fused", "apart"} {
		ForEachKernelB(b, way, func(b *testing.B, k KernelInfo) {
			r := newRand(73)
			normal := func() float32 { return float32(r.NormFloat64()) }
			c := benchSetsCase(r, normal)
			_, _, hd, gd := splitRow(n, normal)
			colV, colW := make([]float64, n), make([]float64, n)
			split := k.kernel.sweepSplit
			if way == "apart" {
				split = k.kernel.sweepSplitEach
			}
			b.SetBytes((48 + 28*sets) * n)
			f, s := []float64{0.75, 1.5}, make([]sums, 1)
			for b.Loop() {
				split(c.h, c.g, hd, gd, f, colV, colW, s, c.ranks, c.below, c.cols, c.stride, c.sums, 0, 0, 0, 0)
			}
			reportGentries(b, n)
		})
	}
}

// BenchmarkSweepSplitStrip times one kernel's sweepSplit as the sweep
// calls it on a strip of a 1024-channel layer's triangle (gram_sweep.go):
// a tile row of the kernel's Gram tiles (mr rows) over
// splitBenchStripCols columns in one call, the rows of H 1024 entries
// apart, splitBenchSets score sets, the strip's column sums in L1.
// whole/… are rows right of the diagonal (lead 0); cut/… rows the
// diagonal cuts, each leaving out one entry more than the one before from
// a lead of 5. Gentries/s counts the entries the rows keep.
func BenchmarkSweepSplitStrip(b *testing.B) {
	const in, n, sets = splitBenchLen, splitBenchStripCols, splitBenchSets
	for _, way := range []struct {
		name        string
		lead, shift int
	}{{"whole", 0, 0}, {"cut", 5, 1}} {
		ForEachKernelB(b, way.name, func(b *testing.B, k KernelInfo) {
			rows := k.kernel.mr
			r := newRand(83)
			normal := func() float32 { return float32(r.NormFloat64()) }
			h, g := make([]float32, rows*in), make([]float32, rows*n)
			for i := range h {
				h[i] = normal()
			}
			for i := range g {
				g[i] = normal()
			}
			_, _, hd, gd := splitRow(n, normal)
			stride := setStride(n)
			ranks, cols := make([]int32, sets*stride), make([]float64, sets*stride)
			for i := range ranks {
				ranks[i] = int32(r.IntN(in))
			}
			below, setSums := make([]int32, rows*sets), make([]float64, rows*sets)
			for i := range below {
				below[i] = int32(r.IntN(in))
			}
			f, s := make([]float64, 2*rows), make([]sums, rows)
			for i := range f {
				f[i] = 0.5
			}
			colV, colW := make([]float64, n), make([]float64, n)
			for b.Loop() {
				k.kernel.sweepSplit(h[:n], g[:n], hd, gd, f, colV, colW, s, ranks, below[:sets], cols, stride, setSums[:sets], in, n, way.lead, way.shift)
			}
			kept := rows*n - rows*way.lead - way.shift*rows*(rows-1)/2
			reportGentries(b, kept)
		})
	}
}

// splitBenchStripCols is the strip width of BenchmarkSweepSplitStrip, the
// sweep's (gramBuilder.stripWidth).
const splitBenchStripCols = 256
