package chanprune

import (
	"errors"
	"math"
	"testing"
	"time"
)

// TestReadSumKernels holds every read kernel to readSumGeneric on
// integer-valued data, whose float32 sums are exact in any order, so any
// element skipped, read twice or read past len(x) (the buffer goes on with
// NaN) changes the answer.
func TestReadSumKernels(t *testing.T) {
	forEachKernel(t, func(t *testing.T, kern *kernel) {
		r := newRand(19)
		for _, n := range []int{0, readBlock, 2 * readBlock, 3 * readBlock, 33 * readBlock, 1000 * readBlock} {
			buf := make([]float32, n+readBlock)
			for i := range buf {
				buf[i] = float32(r.IntN(17) - 8)
				if i >= n {
					buf[i] = float32(math.NaN())
				}
			}
			x := buf[:n]
			got, want := kern.readSum(x), readSumGeneric(x)
			if got != want {
				t.Errorf("n=%d: %v, want %v", n, got, want)
			}
		}
	})
}

func TestMeasureBandwidth(t *testing.T) {
	over := maxBandwidthBytes
	over++ // wraps to negative where the limit is math.MaxInt: still refused
	for _, bytes := range []int{-1, 0, 1023, over} {
		if _, err := MeasureBandwidth(bytes, 2, time.Millisecond); !errors.Is(err, ErrShape) {
			t.Errorf("%d bytes: got %v, want ErrShape", bytes, err)
		}
	}
	for _, workers := range []int{-1, 0, maxMeasureWorkers + 1, math.MaxInt/minBandwidthBytes + 1} {
		if _, err := MeasureBandwidth(4096, workers, time.Millisecond); !errors.Is(err, ErrOption) {
			t.Errorf("%d workers: got %v, want ErrOption", workers, err)
		}
	}
	for _, d := range []time.Duration{0, -time.Second} { // no window: no rate, not a rate of 0
		if g, err := MeasureBandwidth(1024, 2, d); !errors.Is(err, ErrOption) {
			t.Errorf("window %v: got %v GB/s, %v, want ErrOption", d, g, err)
		}
	}
	for _, bytes := range []int{1024, 3 << 20} {
		if g, err := MeasureBandwidth(bytes, 2, time.Millisecond); err != nil || !(g > 0) {
			t.Errorf("%d bytes: %v GB/s, %v", bytes, g, err)
		}
	}
}
