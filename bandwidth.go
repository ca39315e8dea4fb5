package chanprune

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of MeasureBandwidth's buffer: one readBlock (512 bytes) a worker
// at least, and at most 16 GiB, far past any cache (less where int is 32
// bits).
const (
	minBandwidthBytes = 4 * readBlock
	maxBandwidthBytes = min(16<<30, math.MaxInt)
)

// bandwidthChunk is the float32 elements of one call of the read kernel in
// a measurement (64 KiB): a few microseconds, short against any window, and
// small enough that its sum of ones is exact in float32.
const bandwidthChunk = 16 << 10

// MeasureBandwidth measures how fast workers goroutines (1 to 4096,
// locked to OS threads) stream a buffer of about the given size from
// memory, in GB/s (10⁹ bytes a second) summed over the workers: each reads
// its own contiguous share again and again with the read kernel of the
// default kernel (the widest loads this CPU has), for a warm-up of half a
// window and then 5 windows of d (positive), and the best window is
// reported. A buffer well inside a core's L2 measures that cache; one far
// past the last-level cache measures DRAM. The buffer is allocated and
// written first (so every page is real memory, not the shared zero page)
// and freed on return; the size is rounded down to a whole number of
// 512-byte blocks a worker.
//
// The package does not call it: it is exported for benchmarks and tools
// that report their rates as fractions of the bandwidth (bw-fraction).
func MeasureBandwidth(bytes, workers int, d time.Duration) (float64, error) {
	k, err := selectKernel("")
	if err != nil {
		return 0, err
	}
	if err := checkMeasure(workers, d); err != nil {
		return 0, fmt.Errorf("MeasureBandwidth: %w", err)
	}
	if bytes/workers < minBandwidthBytes || bytes > maxBandwidthBytes {
		return 0, fmt.Errorf("MeasureBandwidth: a buffer of %d bytes for %d workers: want %d bytes a worker to %d in all: %w",
			bytes, workers, minBandwidthBytes, maxBandwidthBytes, ErrShape)
	}
	share := bytes / 4 / workers / readBlock * readBlock
	chunk := min(share, bandwidthChunk)
	share -= share % chunk
	buf := make([]float32, share*workers)
	fillOnes(buf, workers)

	type cursor struct {
		next int
		_    [56]byte
	}
	cursors := make([]cursor, workers)
	var wrong atomic.Bool
	calls := bestRate(workers, d, func(w int) {
		c := &cursors[w]
		x := buf[w*share+c.next : w*share+c.next+chunk]
		if k.readSum(x) != float32(chunk) {
			wrong.Store(true)
		}
		c.next = (c.next + chunk) % share
	})
	if wrong.Load() {
		return 0, fmt.Errorf("MeasureBandwidth: kernel %s: the read kernel's sum of ones is wrong: %w", k.name, ErrKernel)
	}
	return calls * float64(4*chunk) / 1e9, nil
}

// fillOnes sets every element of buf to 1, in workers parallel parts.
func fillOnes(buf []float32, workers int) {
	var wg sync.WaitGroup
	part := (len(buf) + workers - 1) / workers
	for lo := 0; lo < len(buf); lo += part {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range buf[lo:min(lo+part, len(buf))] {
				buf[lo+i] = 1
			}
		}()
	}
	wg.Wait()
}
