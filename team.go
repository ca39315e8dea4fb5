package chanprune

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A team runs one short call in a loop on each of its workers, each a
// goroutine locked to its own OS thread, so that a measurement sees the
// machine run continuously rather than goroutines starting and waiting for
// the slowest (which counts scheduling noise as lost work). Until start is
// set the calls are a warm-up (clock ramp, caches, page faults) and go
// uncounted; after it each worker counts its own calls until stop, or until
// it has made limit of them when limit > 0. MeasurePeak, MeasureBandwidth
// and BenchmarkPeak all measure through a team.
type team struct {
	calls       []paddedCount
	start, stop atomic.Bool
	done        sync.WaitGroup
}

// paddedCount keeps each worker's counter on its own cache line.
type paddedCount struct {
	n atomic.Uint64
	_ [56]byte
}

// newTeam starts n workers running call(worker).
func newTeam(n int, limit uint64, call func(worker int)) *team {
	t := &team{calls: make([]paddedCount, n)}
	t.done.Add(n)
	for w := range n {
		go func() {
			defer t.done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !t.start.Load() && !t.stop.Load() {
				call(w)
			}
			c := &t.calls[w].n
			for !t.stop.Load() && (limit == 0 || c.Load() < limit) {
				call(w)
				c.Add(1)
			}
		}()
	}
	return t
}

// total is the number of counted calls of all workers so far.
func (t *team) total() uint64 {
	var s uint64
	for i := range t.calls {
		s += t.calls[i].n.Load()
	}
	return s
}

// finish stops the workers and waits for them.
func (t *team) finish() {
	t.stop.Store(true)
	t.done.Wait()
}

// measureWindows is how many windows a measurement takes the best of: a
// peak is a maximum, and a shared machine only ever lowers it.
const measureWindows = 5

// maxMeasureWorkers bounds a measurement's workers: each holds an OS
// thread, and Go ends a program that passes 10000 threads
// (runtime/debug.SetMaxThreads).
const maxMeasureWorkers = 4096

// checkMeasure refuses a measurement's worker count outside 1 to
// maxMeasureWorkers and a window that can hold no call (the best window
// would be a rate of 0).
func checkMeasure(workers int, d time.Duration) error {
	if workers < 1 || workers > maxMeasureWorkers {
		return fmt.Errorf("%d workers: want 1 to %d: %w", workers, maxMeasureWorkers, ErrOption)
	}
	if d <= 0 {
		return fmt.Errorf("window %v: want a positive duration: %w", d, ErrOption)
	}
	return nil
}

// bestRate runs call on workers goroutines continuously: a warm-up of half
// a window, then measureWindows windows of d, and returns the best window's
// calls per second over all workers. The counts are read while the workers
// run, so each window is off by at most one call per worker at each edge;
// calls of a few microseconds make that negligible.
func bestRate(workers int, d time.Duration, call func(worker int)) float64 {
	t := newTeam(max(workers, 1), 0, call)
	defer t.finish()
	time.Sleep(d / 2)
	t.start.Store(true)
	best := 0.0
	from, at := t.total(), time.Now()
	for range measureWindows {
		time.Sleep(d)
		n, now := t.total(), time.Now()
		best = max(best, float64(n-from)/now.Sub(at).Seconds())
		from, at = n, now
	}
	return best
}
